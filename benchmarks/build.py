"""Book build times from a fresh clone: cold, then after each kind of edit an author makes.

Clones the committed HEAD of this repository into a temporary directory and, with the
``jupyter-book`` of the current environment, measures:

1. a cold ``jupyter-book build book`` (no execution cache, no experiment cache);
2. a rebuild after editing a docstring in ``annlib/train.py`` (nothing should re-execute);
3. a rebuild after a code edit in ``annlib/plotting.py``, which training does not use (every
   chapter re-executes; every experiment should come from the cache);
4. a rebuild after editing only prose in one chapter;
5. a rebuild after editing one code cell of one chapter (that chapter alone re-executes).

For each it prints the wall time, which notebooks were executed and how many experiments ran
(new entries in the build's experiment cache). Usage::

    .venv/bin/python benchmarks/build.py [--chapter pytorch] [--keep] [--built CLONE]

``--built CLONE`` skips the clone and the cold build and edits CLONE, a clone whose book is
already built (e.g. the one CI or ``--keep`` left); its working tree is changed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def build(clone: Path, label: str) -> float:
    cache = clone / "_build" / ".annlib_cache"
    before = set(cache.glob("*.json")) if cache.exists() else set()
    env = {k: v for k, v in os.environ.items() if k not in ("ANNLIB_CACHE_DIR", "ANNLIB_NO_CACHE")}
    env["PYTHONPATH"] = str(clone)  # the clone's annlib, not the one installed in this environment
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    start = time.perf_counter()
    done = subprocess.run([str(jupyter_book), "build", "book", "-W", "-n", "--keep-going"], cwd=clone,
                          env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")
        raise SystemExit(f"{label}: the build failed")
    executed = sorted(set(re.findall(r"book/(\w+)\.md: Executed notebook in ([\d.]+) seconds", done.stdout)))
    after = set(cache.glob("*.json")) if cache.exists() else set()
    runs = ", ".join(f"{name} ({float(s):.0f} s)" for name, s in executed) or "none"
    print(f"{label}: {seconds:.1f} s; notebooks executed: {runs}; experiments run: {len(after - before)}")
    return seconds


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if old not in text:
        raise SystemExit(f"cannot find {old!r} in {path}")
    path.write_text(text.replace(old, new, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapter", default="pytorch", help="the chapter to edit (file stem in book/)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone")
    parser.add_argument("--built", type=Path, help="an already built clone to edit, instead of a cold build")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="annlib-build-"))
    clone = args.built.resolve() if args.built else tmp / "book-clone"
    if not args.built:
        subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(clone)], check=True)
    chapter = clone / "book" / f"{args.chapter}.md"
    try:
        if not args.built:
            build(clone, "cold build")
        edit(clone / "annlib" / "train.py", "Train ``model`` with ``optimizer``", "Fit ``model`` with ``optimizer``")
        build(clone, "after a docstring edit in annlib/train.py")
        plotting = clone / "annlib" / "plotting.py"
        plotting.write_text(plotting.read_text() + "\n_EDITED = True  # a code edit that changes no result\n")
        build(clone, "after a code edit in annlib/plotting.py")
        lines = chapter.read_text().splitlines()
        prose = next(line for line in lines[20:] if line and line[0].isalpha())
        edit(chapter, prose, prose + " (edited)")
        build(clone, f"after a prose edit in {args.chapter}")
        edit(chapter, "```{code-cell} ipython3\n", "```{code-cell} ipython3\n# edited\n")
        build(clone, f"after a code edit in {args.chapter}")
    finally:
        if args.keep or args.built:
            print(f"clone kept in {clone}")
        if not args.keep:
            shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
