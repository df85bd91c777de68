"""The chapters keep the book's teaching conventions (issue 17), read from their MyST source.

- Every chapter opens with what the reader will be able to do (an admonition of class
  ``objectives``, 3 to 5 items, before the first section) and ends with a ``Summary`` section (only
  ``Exercises`` may follow it) whose items carry the chapter's own glued numbers.
- A code cell a reader sees (no ``remove-*``/``hide-*`` tag) holds the reader's code: no ``glue``,
  no assertions, no table styling, no figure code (folded with ``hide-input`` in every chapter).
  Bookkeeping lives in hidden or folded cells.
- Prose refers to figures, tables and exercises with ``{numref}``/``{ref}``, not typed numbers,
  which go stale when a figure is added (they are numbered per chapter).
- The lab asks before it tells: each of its six questions has a prediction prompt, then a cell to
  change and run, then the answer folded in a dropdown.

That hidden cells show a Jupyter reader nothing is checked on executed notebooks by
``checks/cells.py`` (the binder check runs it on every chapter).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")

BOOK = Path(__file__).resolve().parent.parent / "book"
CHAPTERS = ["pytorch", "activations", "losses", "optimizers", "autograd", "minibatch",
            "regularization", "lab", "climate"]
HIDING = {"remove-cell", "remove-input", "hide-input", "hide-cell"}
BOOKKEEPING = {"glue(": "a glue call", "assert ": "an assertion", ".style": "table styling",
               "from myst_nb": "myst-nb's import", "plt.subplots(": "figure code (fold it: hide-input)"}
OBJECTIVES = re.compile(r"^(:{3,})\{admonition\}[^\n]*\n:class:[^\n]*\bobjectives\b[^\n]*\n(.*?)^\1\s*$", re.M | re.S)
ITEM = re.compile(r"^- ", re.M)
TYPED_NUMBER = re.compile(r"\b(?:Fig\.|Figure|Table|Exercise|Equation|Eq\.)\s+\d+(?:\.\d+)?\b")


def _source(chapter: str) -> str:
    return (BOOK / f"{chapter}.md").read_text()


def _sections(text: str) -> list[tuple[str, str]]:
    """(title, body) of each ``## `` section, in order, outside code cells and fences."""
    prose = _prose(text)
    parts = re.split(r"^## +(.+)$", prose, flags=re.M)
    return list(zip(parts[1::2], parts[2::2]))


def _prose(text: str) -> str:
    """The Markdown without code cells (whose comments may start with ``#``)."""
    return re.sub(r"^```\{code-cell\}.*?^```\s*$", "", text, flags=re.M | re.S)


def test_the_list_is_the_table_of_contents():
    toc = (BOOK.parent / "_toc.yml").read_text()
    assert re.findall(r"^\s*-\s*file:\s*(\S+)", toc, flags=re.M)[:len(CHAPTERS)] == CHAPTERS


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_objectives_open_the_chapter(chapter):
    text = _prose(_source(chapter))
    match = OBJECTIVES.search(text)
    assert match, f"{chapter}.md has no admonition of class 'objectives'"
    first_section = re.search(r"^## ", text, flags=re.M)
    assert first_section is None or match.start() < first_section.start(), \
        f"{chapter}.md: the objectives come after the first section"
    items = len(ITEM.findall(match.group(2)))
    assert 3 <= items <= 5, f"{chapter}.md lists {items} objectives; 3 to 5 say what a reader will be able to do"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_a_summary_with_glued_numbers_ends_the_chapter(chapter):
    titles = [title.strip() for title, _ in _sections(_source(chapter))]
    assert "Summary" in titles, f"{chapter}.md has no '## Summary'"
    after = titles[titles.index("Summary") + 1:]
    assert after in ([], ["Exercises"]), f"{chapter}.md: sections after the summary: {after}"
    body = dict(_sections(_source(chapter)))["Summary"]
    assert len(ITEM.findall(body)) >= 3, f"{chapter}.md: the summary has fewer than three items"
    assert "{glue" in body, f"{chapter}.md: the summary states no glued number of the chapter's run"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_visible_code_cells_hold_only_the_readers_code(chapter):
    notebook = jupytext.reads(_source(chapter), fmt="md:myst")
    found = []
    for cell in notebook.cells:
        if cell.cell_type != "code" or HIDING & set(cell.metadata.get("tags", [])):
            continue
        for needle, what in BOOKKEEPING.items():
            if needle in cell.source:
                found.append(f"{what} in the visible cell starting {cell.source.strip().splitlines()[0][:60]!r}")
    assert not found, f"{chapter}.md:\n" + "\n".join(found)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_prose_refers_to_numbered_things_by_reference(chapter):
    typed = TYPED_NUMBER.findall(_prose(_source(chapter)))
    assert not typed, f"{chapter}.md types numbers that {{numref}} should make: {typed}"


def test_the_lab_asks_before_it_tells():
    source = _source("lab")
    questions = [(title, body) for title, body in _sections(source) if re.match(r"\d\.", title)]
    assert len(questions) == 6, [title for title, _ in questions]
    raw = dict(zip(*[iter(re.split(r"^## +(.+)$", source, flags=re.M)[1:])] * 2))
    for title, body in questions:
        predict = re.search(r"\{admonition\}[^\n]*\n:class:[^\n]*\bpredict\b", body)
        answer = re.search(r"\{dropdown\}[^\n]*\n(?::[\w-]+:[^\n]*\n)*?:class-container:[^\n]*\banswer\b", body)
        assert predict, f"lab question {title!r} does not ask for a prediction"
        assert answer, f"lab question {title!r} does not fold its answer in a dropdown"
        assert predict.start() < answer.start(), f"lab question {title!r} answers before it asks"
        cells = re.findall(r"^```\{code-cell\}[^\n]*\n(?::tags: \[([^\]]*)\]\n)?", raw[title], flags=re.M)
        runnable = [tags for tags in cells if not HIDING & {t.strip() for t in tags.split(",")}]
        assert runnable, f"lab question {title!r} gives the reader no cell to change and run"
