"""The code the book displays with ``{literalinclude}`` exists and says what the prose says.

Each include is read with Sphinx's own reader (so ``:pyobject:``, ``:start-at:``, ``:end-before:``
and friends resolve exactly as in the build): a renamed function or a moved marker fails here, in
seconds, instead of in a 15-minute build. A few includes carry a promise of the paragraph around
them (the autograd chapter says ``evaluate`` switches to eval mode and turns gradients off):
those promises are checked against the displayed lines.
"""

import re
from pathlib import Path

import pytest

code = pytest.importorskip("sphinx.directives.code")
from sphinx.config import Config  # noqa: E402

BOOK = Path(__file__).resolve().parent.parent / "book"
INCLUDE = re.compile(r"^(`{3,}|:{3,})\{literalinclude\}\s+(\S+)\s*\n((?::[\w-]+:.*\n)*)", re.M)

# (chapter, pyobject) -> strings the displayed lines must contain, because the prose says so
PROMISES = {
    ("autograd", "_evaluate"): ["no_grad", "model.eval()", "model.train(was_training)"],
    ("autograd", "evaluate"): ["no_grad", "model.eval()"],
}


def _includes():
    for chapter in sorted(BOOK.glob("*.md")):
        for match in INCLUDE.finditer(chapter.read_text()):
            options = dict(re.match(r":([\w-]+):\s*(.*)", line).groups()
                           for line in match.group(3).splitlines())
            yield pytest.param(chapter, match.group(2), options,
                               id=f"{chapter.stem}:{options.get('pyobject', match.group(2))}")


def _read(chapter, path, options):
    reader_options = {k: v.strip('"') for k, v in options.items()
                      if k in ("pyobject", "start-at", "start-after", "end-at", "end-before", "lines", "dedent")}
    if "dedent" in reader_options:
        reader_options["dedent"] = int(reader_options["dedent"])
    text, _ = code.LiteralIncludeReader(str(chapter.parent / path), reader_options, Config({}, {})).read()
    return text


def test_the_book_has_includes():
    assert len(list(_includes())) >= 10


@pytest.mark.parametrize("chapter, path, options", list(_includes()))
def test_every_include_resolves_to_code(chapter, path, options):
    text = _read(chapter, path, options)
    assert text.strip(), f"{chapter.name}: the include of {path} {options} shows nothing"
    for promise in PROMISES.get((chapter.stem, options.get("pyobject")), []):
        assert promise in text, f"{chapter.name} says the displayed {options['pyobject']} does {promise!r}; it does not show it"


def test_the_autograd_chapter_shows_what_evaluate_does():
    shown = {options.get("pyobject") for chapter, _, options in (p.values for p in _includes())
             if chapter.stem == "autograd"}
    assert shown & {"_evaluate", "evaluate"}, "the autograd chapter no longer shows annlib's evaluation code"
