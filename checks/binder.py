"""Run every chapter the way a reader's Binder session would, in an environment made only from binder/.

1. Copies the repository (tracked and untracked files that git does not ignore) into a temporary
   directory, as Binder clones it.
2. Creates a virtual environment with the Python that ``binder/runtime.txt`` names, installs
   ``binder/requirements.txt`` from the repository root (as repo2docker does) and runs
   ``binder/postBuild`` there. Nothing of the build's own environment is used.
3. Converts every chapter of the table of contents from MyST Markdown to ``.ipynb`` with that
   environment's jupytext and executes it top to bottom with nbclient, in the chapter's directory,
   with an empty home directory: no experiment cache, progress bars on, as a reader sees them,
   and the book's published results out of reach (``ANNLIB_RESULTS_URL`` names a loopback port
   where nothing listens): every chapter must train what it needs from nothing, and at least one
   must show that it asked for them and went on (annlib.published's warning).

4. With ``--compare BUILD`` (the ``_build`` of a book built on this machine: another CPU rounds
   differently), compares every value the chapters glued with the build's, as
   ``checks/reproducible.py`` compares two builds: bitwise on the CPU, timings listed and not
   compared, a name glued on one side only a failure. This run has no experiment cache, so it is a
   second, independent execution of the book: the build's numbers must come out of it again. With
   ``--chapter``, only the chapters run are compared.

Fails if the environment cannot be built, any cell raises, a hidden (``remove-cell``) cell shows the
reader anything in Jupyter (``checks/cells.py``), or (with ``--compare``) any glued value differs. Usage::

    python3 checks/binder.py [--keep] [--chapter lab ...] [--compare _build]

``--keep`` leaves the temporary directory (and the executed notebooks in it) for inspection.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import cells  # checks/cells.py, beside this file
import reproducible  # checks/reproducible.py, beside this file

REPO = Path(__file__).resolve().parents[1]

# Runs inside the Binder environment: convert with jupytext, execute with nbclient.
RUNNER = r"""
import sys, time
import jupytext, nbclient
from pathlib import Path

for path in map(Path, sys.argv[1:]):
    notebook = jupytext.read(path)
    ipynb = path.with_suffix(".ipynb")
    start = time.perf_counter()
    client = nbclient.NotebookClient(notebook, timeout=1800, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as error:
        jupytext.write(notebook, ipynb)
        print(f"FAILED {path.name}: a cell raised\n{error}", flush=True)
        sys.exit(1)
    jupytext.write(notebook, ipynb)
    cells = sum(cell.cell_type == "code" for cell in notebook.cells)
    print(f"{path.name}: {cells} code cells ran in {time.perf_counter() - start:.0f} s", flush=True)
"""


UNREACHABLE = "published results at"  # annlib.published's warning: "... cannot be reached (...): training here"


def closed_port() -> int:
    """A loopback port where nothing listens: one that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(command: list[str], **kwargs) -> None:
    print("+", " ".join(map(str, command)), flush=True)
    subprocess.run(command, check=True, **kwargs)


def copy_repository(target: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file() or source.is_symlink():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name, follow_symlinks=False)


def python_for_runtime(repo: Path) -> str:
    runtime = (repo / "binder" / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", runtime)
    if not match:
        raise SystemExit(f"binder/runtime.txt says {runtime!r}; expected python-X.Y")
    python = shutil.which(f"python{match[1]}")
    if python is None:
        raise SystemExit(f"binder/runtime.txt asks for Python {match[1]}, and python{match[1]} is not on PATH")
    return python


def chapters(repo: Path) -> list[str]:
    """Files of the table of contents, in order (``file:`` entries and the root)."""
    toc = (repo / "_toc.yml").read_text()
    names = re.findall(r"^\s*(?:root|-\s*file)\s*:\s*(\S+)", toc, flags=re.M)
    return [n.removesuffix(".md") for n in names
            if "kernelspec:" in (repo / "book" / f"{n.removesuffix('.md')}.md").read_text()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--chapter", nargs="*", help="run only these chapters (file stems in book/)")
    parser.add_argument("--compare", type=Path, metavar="BUILD",
                        help="compare the chapters' glued values with those of this _build directory")
    args = parser.parse_args()
    build = reproducible.chapters(args.compare) if args.compare else None  # a wrong path fails now, not after the run

    work = Path(tempfile.mkdtemp(prefix="annlib-binder-"))
    repo, venv, home = work / "repo", work / "env", work / "home"
    home.mkdir()
    copy_repository(repo)
    names = args.chapter or chapters(repo)
    start = time.perf_counter()
    try:
        run([python_for_runtime(repo), "-m", "venv", str(venv)])
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("ANNLIB_", "TQDM_", "VIRTUAL_ENV", "PYTHON", "JUPYTER"))}
        env.update(HOME=str(home), PATH=f"{venv / 'bin'}:{env['PATH']}", VIRTUAL_ENV=str(venv),
                   PYTHONUNBUFFERED="1", ANNLIB_RESULTS_URL=f"http://127.0.0.1:{closed_port()}/_results/")
        run([str(venv / "bin" / "python"), "-m", "pip", "install", "--upgrade", "pip"], cwd=repo, env=env)
        run([str(venv / "bin" / "python"), "-m", "pip", "install", "-r", "binder/requirements.txt"],
            cwd=repo, env=env)
        run(["bash", "binder/postBuild"], cwd=repo, env=env)
        built = time.perf_counter()
        print(f"binder environment built in {built - start:.0f} s; running {len(names)} chapters", flush=True)
        run([str(venv / "bin" / "python"), "-c", RUNNER, *(str(repo / "book" / f"{n}.md") for n in names)],
            cwd=repo / "book", env=env)
        print(f"binder check: {len(names)} chapters ran top to bottom in the binder/ environment "
              f"({time.perf_counter() - built:.0f} s after {built - start:.0f} s of set-up)")
        shown = [line for n in names for line in cells.problems(repo / "book" / f"{n}.ipynb")]
        if shown:
            raise SystemExit("binder check failed: hidden cells show a reader output in Jupyter:\n" + "\n".join(shown))
        print(f"binder check: the hidden cells of {len(names)} chapters show a reader nothing")
        asked = [n for n in names if UNREACHABLE in (repo / "book" / f"{n}.ipynb").read_text()]
        print(f"binder check: {len(asked)} chapters asked for the published results, found them out of reach and "
              f"trained instead: {', '.join(asked)}")
        if not asked and not args.chapter:
            raise SystemExit("binder check failed: no chapter asked for the book's published results")
        if build is not None:
            executed = {name: reproducible.notebook(repo / "book" / f"{name}.ipynb") for name in names}
            result = reproducible.compare(build, executed, labels=(str(args.compare), "the binder run"),
                                          only=names)
            print(result.summary("binder check", f"both {args.compare} and the binder run"))
            if result.problems:
                raise SystemExit(f"binder check failed: {len(result.problems)} glued values of the binder run "
                                 f"differ from {args.compare}'s or exist on one side only (DIFFERS above)")
    except subprocess.CalledProcessError as error:
        raise SystemExit(f"binder check failed: {' '.join(map(str, error.cmd))[:200]} exited {error.returncode}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
