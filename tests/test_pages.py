"""checks/pages.py on small pages shaped like the book's: what passes, and each thing that fails."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("bs4")
CHECK = Path(__file__).resolve().parents[1] / "checks" / "pages.py"
spec = importlib.util.spec_from_file_location("checks_pages", CHECK)
pages = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pages)

OBJECTIVES = '<div class="admonition tip objectives"><p class="admonition-title">What you will be able to do</p></div>'
FIGURES = ('<figure><figcaption><span class="caption-number">Fig. 3.1 </span></figcaption></figure>'
           '<figure><figcaption><span class="caption-number">Fig. 3.2 </span></figcaption></figure>')
CELL = '<div class="cell {tags} docutils container"><div class="cell_input docutils container">{code}</div></div>'


def _page(tmp_path, body, name="losses"):
    path = tmp_path / f"{name}.html"
    path.write_text(f"<html><body><main><section id='t'><h1>Title</h1>{body}</section></main></body></html>")
    return path


def _sections(*titles, inside=""):
    return "".join(f'<section id="s{i}"><h2>3.{i}. {t}</h2>{inside if i == 1 else ""}</section>'
                   for i, t in enumerate(titles, start=1))


GOOD = OBJECTIVES + _sections("Losses", "Summary", "Exercises", inside=FIGURES + CELL.format(tags="", code="x = 1"))


def test_a_page_that_follows_the_conventions_passes(tmp_path):
    assert pages.problems(_page(tmp_path, GOOD), 3) == []


@pytest.mark.parametrize("body, expected", [
    (_sections("Losses", "Summary"), "no objectives box"),
    (_sections("Losses", inside=OBJECTIVES) + _sections("Summary"), "inside a section"),
    (OBJECTIVES + _sections("Losses", "Exercises"), "no Summary"),
    (OBJECTIVES + _sections("Summary", "Losses"), "after the Summary"),
    (OBJECTIVES + _sections("Losses", "Summary", inside=CELL.format(tags="", code="glue('x', 1)")), "calls glue"),
    (OBJECTIVES + _sections("Losses", "Summary", inside=FIGURES.replace("3.2", "3.3")), "Fig. 3.3 where 3.2"),
    (OBJECTIVES + _sections("Losses", "Summary", inside=FIGURES.replace("3.", "9.")), "Fig. 9.1 where 3.1"),
])
def test_each_departure_fails(tmp_path, body, expected):
    found = pages.problems(_page(tmp_path, body), 3)
    assert any(expected in line for line in found), found


def test_folded_code_may_glue(tmp_path):
    body = OBJECTIVES + _sections("Losses", "Summary", inside=CELL.format(tags="tag_hide-input", code="glue('x', 1)"))
    assert pages.problems(_page(tmp_path, body), 3) == []


def test_the_lab_needs_six_prompts_each_before_its_answer(tmp_path):
    prompt = '<div class="admonition hint predict"><p>?</p></div>'
    answer = '<details class="sd-dropdown answer"><summary>Answer</summary></details>'
    good = GOOD + (prompt + answer) * 6
    assert pages.problems(_page(tmp_path, good, "lab"), 3) == []
    assert "5 prediction prompts" in pages.problems(_page(tmp_path, GOOD + (prompt + answer) * 5, "lab"), 3)[0]
    swapped = GOOD + answer + prompt + (prompt + answer) * 5
    assert any("before its prediction" in line for line in pages.problems(_page(tmp_path, swapped, "lab"), 3))
