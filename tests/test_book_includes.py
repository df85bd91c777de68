"""The code the book displays with ``{literalinclude}`` exists and says what the prose says.

Each include is read with Sphinx's own reader (so ``:pyobject:``, ``:start-at:``, ``:end-before:``
and friends resolve exactly as in the build): a renamed function or a moved marker fails here, in
seconds, instead of in a 15-minute build. A few includes carry a promise of the paragraph around
them (the autograd chapter says ``evaluate`` switches to eval mode and turns gradients off):
those promises are checked against the displayed lines. And generally: a name the paragraph just
before an include puts in backticks, and that the included object's code uses, must be among the
displayed lines, so an include trimmed to the algorithm (``:start-at:``) cannot cut away what its
paragraph talks about.
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


NAME = re.compile(r"`([A-Za-z_][\w.]*)(?:\(\))?`")


def _includes():
    for chapter in sorted(BOOK.glob("*.md")):
        seen = {}
        for match in INCLUDE.finditer(chapter.read_text()):
            options = dict(re.match(r":([\w-]+):\s*(.*)", line).groups()
                           for line in match.group(3).splitlines())
            name = f"{chapter.stem}:{options.get('pyobject', match.group(2))}"
            seen[name] = seen.get(name, 0) + 1
            yield pytest.param(chapter, match.group(2), options,
                               id=name + (f"#{seen[name]}" if seen[name] > 1 else ""))


def _paragraph_before(chapter, path, options):
    """The prose paragraph that introduces this include (empty when a fence or a cell precedes it)."""
    text = chapter.read_text()
    for match in INCLUDE.finditer(text):
        found = dict(re.match(r":([\w-]+):\s*(.*)", line).groups() for line in match.group(3).splitlines())
        if match.group(2) == path and found == options:
            before = text[:match.start()].rstrip().rsplit("\n\n", 1)[-1]
            return "" if before.lstrip().startswith(("`", ":", "#", "(")) else before
    return ""


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


@pytest.mark.parametrize("chapter, path, options", list(_includes()))
def test_what_the_paragraph_names_is_shown(chapter, path, options):
    shown = _read(chapter, path, options)
    whole = _read(chapter, path, {k: v for k, v in options.items() if k in ("pyobject", "dedent")})
    if shown == whole:
        return
    missing = []
    for dotted in NAME.findall(_paragraph_before(chapter, path, options)):
        word = dotted.rsplit(".", 1)[-1]
        if word in (options.get("pyobject", "").rsplit(".", 1)[-1], Path(path).stem):
            continue                    # the object's or module's own name: its def line may be trimmed away
        if re.search(rf"\b{re.escape(word)}\b", whole) and not re.search(rf"\b{re.escape(word)}\b", shown):
            missing.append(dotted)
    assert not missing, (f"{chapter.name}: the paragraph before the include of {options} names {missing}, "
                         f"which the object uses but the displayed lines do not show")


def test_the_autograd_chapter_shows_what_evaluate_does():
    shown = {options.get("pyobject") for chapter, _, options in (p.values for p in _includes())
             if chapter.stem == "autograd"}
    assert shown & {"_evaluate", "evaluate"}, "the autograd chapter no longer shows annlib's evaluation code"
