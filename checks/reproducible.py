"""Two cold builds give the same glued numbers: compare the values myst-nb glued in two builds.

Every number in the book's prose is glued (myst-nb ``glue``), and each build writes what it glued
to ``_build/jupyter_execute/<chapter>.glue.json``. This script reads those files from two build
directories and compares every glued value: text (numbers, tables, Markdown) exactly, figures by
the SHA-256 of their PNG. A few values are measurements of time (seconds per epoch, the
backward/forward time ratio) or are derived from one; they are listed in ``TIMINGS`` with the reason, must exist in both
builds, and are not compared. Anything else that differs fails the check.

Usage::

    python checks/reproducible.py BUILD_A BUILD_B [--rtol 0] [--json glued.json]

``BUILD_A`` and ``BUILD_B`` are ``_build`` directories of two cold builds (see ``make reproducible``);
``--json`` writes the comparison (each value of both builds) for inspection.

The tolerance is zero: on the CPU two builds must be bitwise identical, because each experiment
trains seeded on one thread and nothing in the arithmetic depends on timing or on the order in
which parallel runs finish. On a GPU bitwise identity is not promised (cuBLAS may choose different
kernels, and atomic adds in some backward passes reorder sums), so a comparison of two GPU builds
needs ``--rtol`` (a relative tolerance for values that are single numbers; tables and figures are
still compared exactly). No GPU build has been compared yet, so no GPU tolerance is claimed here.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import sys
from pathlib import Path

# Glued names (regular expressions, matched in full) that hold wall-clock measurements.
TIMINGS = {
    r"activations_total_seconds": "wall time of the activation runs",
    r"losses_mnist_seconds": "wall time of the loss runs",
    r"pytorch_(epoch|dataloader)_seconds|pytorch_.*speedup.*": "wall time of one epoch, two data pipelines",
    r"minibatch_epoch_s_b\d+": "mean seconds per epoch at a batch size",
    r"lab_batch_sec_\w+": "seconds per epoch of the batch-size runs",
    r"lab_best_seconds": "wall time of the best model's runs",
    r"minibatch_fastest": "which batch size reached 90% first in wall-clock seconds",
    r"autograd_ratio_\w+": "measured time of the backward pass over that of the forward pass",
}


def glued(build: Path) -> dict[str, dict[str, str]]:
    """``{name: {mime type: value}}`` of every glued output of a build; PNGs as their SHA-256."""
    values: dict[str, dict[str, str]] = {}
    files = sorted((build / "jupyter_execute").glob("**/*.glue.json"))
    if not files:
        raise SystemExit(f"{build}/jupyter_execute has no *.glue.json: is {build} a built book's _build?")
    for path in files:
        for name, output in json.loads(path.read_text()).items():
            entry = {}
            for mime, value in output.get("data", {}).items():
                value = "".join(value) if isinstance(value, list) else value
                if mime.startswith("image/"):
                    value = "sha256:" + hashlib.sha256(base64.b64decode(value)).hexdigest()
                entry[mime] = value
            values[name] = entry
    return values


def _close(x: dict[str, str], y: dict[str, str], rtol: float) -> bool:
    if x == y:
        return True
    try:
        a, b = float(x["text/plain"]), float(y["text/plain"])
    except (KeyError, ValueError):
        return False
    return x.keys() == y.keys() == {"text/plain"} and abs(a - b) <= rtol * max(abs(a), abs(b))


def timing_reason(name: str) -> str | None:
    return next((reason for pattern, reason in TIMINGS.items() if re.fullmatch(pattern, name)), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_a", type=Path)
    parser.add_argument("build_b", type=Path)
    parser.add_argument("--rtol", type=float, default=0.0,
                        help="relative tolerance for single numbers (default 0: bitwise identical)")
    parser.add_argument("--json", type=Path, help="write both builds' values here")
    args = parser.parse_args()

    a, b = glued(args.build_a), glued(args.build_b)
    problems = [f"only in {args.build_a}: {name}" for name in sorted(a.keys() - b.keys())]
    problems += [f"only in {args.build_b}: {name}" for name in sorted(b.keys() - a.keys())]
    same, timings = 0, []
    for name in sorted(a.keys() & b.keys()):
        if (reason := timing_reason(name)) is not None:
            timings.append(f"{name} ({reason}): {a[name].get('text/plain')} vs {b[name].get('text/plain')}")
        elif _close(a[name], b[name], args.rtol):
            same += 1
        else:
            mimes = [m for m in sorted(a[name].keys() | b[name].keys()) if a[name].get(m) != b[name].get(m)]
            problems.append(f"{name} differs in {mimes}: {str(a[name].get(mimes[0]))[:80]!r} vs "
                            f"{str(b[name].get(mimes[0]))[:80]!r}")
    if args.json:
        args.json.write_text(json.dumps({name: {"a": a.get(name), "b": b.get(name), "timing": timing_reason(name)}
                                         for name in sorted(a.keys() | b.keys())}, indent=1))
    print(f"reproducible: {len(a.keys() & b.keys())} glued values in both builds; {same} identical"
          f"{f' within rtol={args.rtol:g}' if args.rtol else ''}, "
          f"{len(timings)} timings not compared, {len(problems)} problems")
    for line in timings:
        print(f"  timing  {line}")
    for line in problems:
        print(f"  DIFFERS {line}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
