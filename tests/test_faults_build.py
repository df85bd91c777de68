"""Fault injection for the book build: a build killed midway, then started again.

A two-page book with the book's own Sphinx extension (book/_ext/annlib_build.py: the build-local
experiment cache and the fingerprint that re-executes chapters) runs six tiny experiments on
synthetic data. The build is killed (SIGKILL to it and every process it started) once
two results are in the cache; the next build must finish, reuse those two results unchanged, run
the other four, and glue the same numbers a build that was never interrupted gives.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from annlib import data, experiments
from conftest import synthetic_splits

REPO = Path(__file__).resolve().parents[1]
JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"

CHAPTER = """\
---
jupytext:
  text_representation: {{extension: .md, format_name: myst}}
kernelspec: {{display_name: Python 3, language: python, name: python3}}
---
# Six experiments

```{{code-cell}} ipython3
import sys, time
sys.path.insert(0, {tests!r})
from myst_nb import glue
from annlib import data, experiments
from conftest import synthetic_splits
data.mnist_splits = synthetic_splits              # tiny synthetic data instead of MNIST
accuracies = []
for seed in range(6):
    config = experiments.Experiment(epochs=2, hidden=(16,), batch_size=50, seed=seed)
    accuracies.append(experiments.run(config, progress=False).history.val_acc[-1])
    time.sleep({pause})                              # time for the test to kill the build
glue("accuracies", accuracies, display=False)
```

The validation accuracies were {{glue:text}}`accuracies`.
"""


def configs():
    return [experiments.Experiment(epochs=2, hidden=(16,), batch_size=50, seed=seed) for seed in range(6)]


def write_book(root: Path, *, pause: float) -> Path:
    book = root / "book"
    book.mkdir(parents=True)
    (book / "_config.yml").write_text(textwrap.dedent(f"""\
        title: Fault injection
        only_build_toc_files: true
        execute: {{execute_notebooks: cache, timeout: 120, raise_on_error: true, allow_errors: false}}
        sphinx:
          local_extensions: {{annlib_build: {str(REPO / 'book' / '_ext')!r}}}
        """))
    (book / "_toc.yml").write_text("format: jb-book\nroot: chapter\n")
    (book / "chapter.md").write_text(CHAPTER.format(tests=str(REPO / "tests"), pause=pause))
    return book


def build(book: Path, **kwargs) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANNLIB_")}
    return subprocess.Popen([str(JUPYTER_BOOK), "build", str(book), "-W", "-n", "--keep-going"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


def kill_with_descendants(process: subprocess.Popen) -> None:
    """SIGKILL the build and everything it started (the kernel runs in a session of its own)."""
    family = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    for member in family:
        member.send_signal(signal.SIGKILL)
    psutil.wait_procs(family, timeout=10)
    process.wait()


def glued(book: Path) -> list[float]:
    return json.loads((book / "_build" / "jupyter_execute" / "chapter.glue.json").read_text()
                      )["accuracies"]["data"]["text/plain"]


def entries(cache: Path) -> dict[str, bytes]:
    """The cache's entries: every file but the ``.part`` files a killed writer may leave (annlib._files
    documents them; no reader looks at them, and they cannot be told from a writer still at work)."""
    return {p.name: p.read_bytes() for p in cache.iterdir() if not p.name.endswith(".part")} if cache.is_dir() else {}


@pytest.mark.fault
@pytest.mark.skipif(not JUPYTER_BOOK.exists(), reason="jupyter-book is not installed (pip install -e '.[book]')")
def test_a_build_killed_midway_and_started_again(tmp_path, monkeypatch):
    book = write_book(tmp_path, pause=1.0)
    cache = book / "_build" / ".annlib_cache"
    first = build(book)
    deadline = time.monotonic() + 120
    while len(entries(cache)) < 2:
        assert first.poll() is None, f"the build ended before it could be killed:\n{first.stdout.read()}"
        assert time.monotonic() < deadline, "no experiment reached the cache within 120 s"
        time.sleep(0.05)
    kill_with_descendants(first)
    survived = entries(cache)
    assert 2 <= len(survived) < 6 and not [n for n in survived if not n.endswith(".json")]

    second = build(book)
    output = second.communicate(timeout=300)[0]
    assert second.returncode == 0, output
    after = entries(cache)
    assert len(after) == 6 and all(after[name] == content for name, content in survived.items())

    # The numbers equal those of runs that were never interrupted (computed here, without a cache).
    monkeypatch.setattr(data, "mnist_splits", synthetic_splits)
    clean = [experiments.run(c, cache=False, progress=False).history.val_acc[-1] for c in configs()]
    assert glued(book) == repr(clean)
    assert repr(clean[0])[:6] in (book / "_build" / "html" / "chapter.html").read_text()
