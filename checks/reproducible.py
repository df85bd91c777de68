"""Two executions give the same glued numbers: compare the values myst-nb glued in two runs of the book.

Every number in the book's prose is glued (myst-nb ``glue``). This script reads what two executions
of the book glued and compares every value: text (numbers, tables, Markdown) exactly, figures by the
SHA-256 of their PNG. A few values are measurements of time (seconds per epoch, the backward/forward
time ratio) or are derived from one; they are listed in ``TIMINGS`` with the reason, must exist in
both, and are not compared. Anything else that differs fails the check, and so does a name glued on
one side only.

Either side may be

- a book build's ``_build`` directory (or its ``jupyter_execute``): each build writes what a chapter
  glued to ``jupyter_execute/<chapter>.glue.json``;
- a directory of executed notebooks (``<chapter>.ipynb``, as ``checks/binder.py`` writes them): every
  output whose metadata has ``scrapbook.name`` is a glue, and its MIME keys carry the prefix in
  ``scrapbook.mime_prefix`` (``application/papermill.record/``), which is removed, as myst-nb does
  when it writes the ``.glue.json``.

A directory with any ``*.glue.json`` is read as a build (a build's own ``.ipynb`` files have their
glue outputs removed). A glue belongs to the chapter named by its file (``lab.glue.json``,
``lab.ipynb``); ``--chapter`` compares only the glues of the chapters named, for when only some
chapters were run.

Usage::

    python checks/reproducible.py A B [--chapter lab ...] [--rtol 0] [--json glued.json]

for example ``_build _build/second/_build`` (two cold builds, ``make reproducible``) or ``_build``
and a directory of notebooks that ``checks/binder.py --keep`` left. ``--json`` writes the comparison
(each value of both sides, keyed by ``chapter/name``) for inspection. ``checks/binder.py --compare``
uses the functions here to compare the notebooks it executed with a build.

The tolerance is zero: on the CPU two executions must be bitwise identical, because each experiment
trains seeded on one thread and nothing in the arithmetic depends on timing or on the order in
which parallel runs finish. On a GPU bitwise identity is not promised (cuBLAS may choose different
kernels, and atomic adds in some backward passes reorder sums), so a comparison of two GPU builds
needs ``--rtol`` (a relative tolerance for values that are single numbers; tables and figures are
still compared exactly). No GPU build has been compared yet, so no GPU tolerance is claimed here.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import hashlib
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path

# Glued names (regular expressions, matched in full) that hold wall-clock measurements.
TIMINGS = {
    r"activations_total_seconds": "wall time of the activation runs",
    r"losses_mnist_seconds": "wall time of the loss runs",
    r"pytorch_(epoch|dataloader)_seconds": "wall time of one epoch, two data pipelines",
    r"pytorch_.*speedup.*|pytorch_(loader|memory)_(step|fetch)_ms": "CPU time of a training step or a fetch, two data pipelines",
    r"minibatch_epoch_s_b\d+": "mean seconds per epoch at a batch size",
    r"lab_batch_sec_\w+": "seconds per epoch of the batch-size runs",
    r"lab_best_seconds": "wall time of the best model's runs",
    r"lab_table_\w+": "a table of runs with each run's wall time (its seconds column)",
    r"minibatch_fastest": "which batch size reached 90% first in wall-clock seconds",
    r"autograd_ratio_\w+": "measured time of the backward pass over that of the forward pass",
}

Glue = dict[str, str]  # {MIME type: value}; a PNG as "sha256:<hex digest>"


def _values(data: dict[str, str | list[str]], prefix: str = "") -> Glue:
    """One glued output's data in a comparable form: ``prefix`` removed, lines joined, PNGs hashed."""
    entry = {}
    for mime, value in data.items():
        mime = mime.removeprefix(prefix)
        value = "".join(value) if isinstance(value, list) else value
        if mime.startswith("image/"):
            value = "sha256:" + hashlib.sha256(base64.b64decode(value)).hexdigest()
        entry[mime] = value
    return entry


def glue_file(path: Path) -> dict[str, Glue]:
    """``{name: glue}`` from a ``<chapter>.glue.json`` that myst-nb wrote (prefixes already removed)."""
    return {name: _values(output.get("data", {})) for name, output in json.loads(path.read_text()).items()}


def notebook(path: Path) -> dict[str, Glue]:
    """``{name: glue}`` from an executed ``.ipynb``: its outputs with ``scrapbook`` metadata.

    A name glued twice keeps its last value, as myst-nb does (and warns, which fails the build).
    """
    values = {}
    for cell in json.loads(path.read_text())["cells"]:
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook")
            if scrapbook:
                values[scrapbook["name"]] = _values(output.get("data", {}), scrapbook.get("mime_prefix", ""))
    return values


def chapters(path: Path) -> dict[str, dict[str, Glue]]:
    """``{chapter: {name: glue}}`` of a build (``_build`` or its ``jupyter_execute``) or of a
    directory of executed notebooks; the chapter is the file's path below it, without suffix."""
    root = path / "jupyter_execute" if (path / "jupyter_execute").is_dir() else path
    if files := sorted(root.glob("**/*.glue.json")):
        return {f.relative_to(root).as_posix().removesuffix(".glue.json"): glue_file(f) for f in files}
    if root == path and (files := sorted(f for f in path.glob("**/*.ipynb") if ".ipynb_checkpoints" not in f.parts)):
        return {f.relative_to(path).with_suffix("").as_posix(): notebook(f) for f in files}
    if root != path:
        raise SystemExit(f"{root} has no *.glue.json: is {path} a built book's _build?")
    raise SystemExit(f"{path} has no *.glue.json and no executed *.ipynb: "
                     f"is it a built book's _build or a directory of executed notebooks?")


def timing_reason(name: str) -> str | None:
    return next((reason for pattern, reason in TIMINGS.items() if re.fullmatch(pattern, name)), None)


def _close(x: Glue, y: Glue, rtol: float) -> bool:
    if x == y:
        return True
    try:
        a, b = float(x["text/plain"]), float(y["text/plain"])
    except (KeyError, ValueError):
        return False
    return x.keys() == y.keys() == {"text/plain"} and abs(a - b) <= rtol * max(abs(a), abs(b))


@dataclasses.dataclass
class Comparison:
    """What ``compare`` found: glues keyed by ``(chapter, name)``, and the verdict lines."""

    a: dict[tuple[str, str], Glue]
    b: dict[tuple[str, str], Glue]
    rtol: float
    same: int = 0
    timings: list[str] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)

    def summary(self, label: str, sides: str) -> str:
        """The verdict: one summary line, then a line per timing and per problem."""
        within = f" within rtol={self.rtol:g}" if self.rtol else ""
        lines = [f"{label}: {len(self.a.keys() & self.b.keys())} glued values in {sides}; {self.same} identical"
                 + f"{within}, {len(self.timings)} timings not compared, {len(self.problems)} problems"]
        lines += [f"  timing  {line}" for line in self.timings]
        lines += [f"  DIFFERS {line}" for line in self.problems]
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {f"{chapter}/{name}": {"a": self.a.get((chapter, name)), "b": self.b.get((chapter, name)),
                                      "timing": timing_reason(name)}
                for chapter, name in sorted(self.a.keys() | self.b.keys())}


def compare(a: dict[str, dict[str, Glue]], b: dict[str, dict[str, Glue]], *,
            labels: tuple[str, str] = ("A", "B"), rtol: float = 0.0, only: Iterable[str] | None = None) -> Comparison:
    """Compare two ``chapters`` results, named ``labels`` in the verdict; ``only`` restricts both to
    those chapters (None: all), and a chapter it names that neither side has is a problem."""
    keep = None if only is None else set(only)
    a_, b_ = ({(chapter, name): glue for chapter, glues in side.items() if keep is None or chapter in keep
               for name, glue in glues.items()} for side in (a, b))
    result = Comparison(a_, b_, rtol)
    result.problems += [f"chapter {chapter} is in neither {labels[0]} nor {labels[1]}"
                        for chapter in sorted((keep or set()) - a.keys() - b.keys())]
    result.problems += [f"only in {labels[0]}: {name} ({chapter})" for chapter, name in sorted(a_.keys() - b_.keys())]
    result.problems += [f"only in {labels[1]}: {name} ({chapter})" for chapter, name in sorted(b_.keys() - a_.keys())]
    for key in sorted(a_.keys() & b_.keys()):
        name, x, y = key[1], a_[key], b_[key]
        if (reason := timing_reason(name)) is not None:
            result.timings.append(f"{name} ({reason}): {x.get('text/plain')} vs {y.get('text/plain')}")
        elif _close(x, y, rtol):
            result.same += 1
        else:
            mimes = [m for m in sorted(x.keys() | y.keys()) if x.get(m) != y.get(m)]
            result.problems.append(f"{name} differs in {mimes}: {str(x.get(mimes[0]))[:80]!r} vs "
                                   f"{str(y.get(mimes[0]))[:80]!r}")
    if result.same == 0:  # a comparison of nothing (or of timings only) proves nothing
        result.problems.append(f"no glued value was compared: {labels[0]} and {labels[1]} have none in common "
                               f"but timings" + (f" in the chapters {sorted(keep)}" if keep is not None else ""))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="a _build directory or a directory of executed notebooks")
    parser.add_argument("b", type=Path, help="the same, for the other execution")
    parser.add_argument("--chapter", nargs="+", help="compare only these chapters' glues (file stems)")
    parser.add_argument("--rtol", type=float, default=0.0,
                        help="relative tolerance for single numbers (default 0: bitwise identical)")
    parser.add_argument("--json", type=Path, help="write both sides' values here")
    args = parser.parse_args()

    result = compare(chapters(args.a), chapters(args.b), labels=(str(args.a), str(args.b)),
                     rtol=args.rtol, only=args.chapter)
    if args.json:
        args.json.write_text(json.dumps(result.to_json(), indent=1))
    print(result.summary("reproducible", "both"))
    sys.exit(1 if result.problems else 0)


if __name__ == "__main__":
    main()
