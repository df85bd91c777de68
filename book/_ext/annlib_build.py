"""Sphinx extension for building this book: quiet progress bars, a build-local experiment
cache, re-execution of every chapter when what the chapters depend on changes, and the
experiment results published beside the HTML (``_results/``, see :mod:`annlib.published`).

jupyter-cache decides whether a chapter must re-run by hashing only its code cells (and some
metadata). A change to annlib, to the data or to the installed torch would leave stale outputs
in the HTML, so this extension keeps a fingerprint of those next to the execution cache, and
when the fingerprint changes it clears that cache and marks every chapter as outdated. annlib
counts by its code as Python reads it (``annlib.cache.library_checksum``: docstrings, comments
and formatting left out), so a docstring edit re-executes nothing; a page that shows the edited
code with ``literalinclude`` is still re-read by Sphinx, which tracks included files itself.
"""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)


def _fingerprint() -> str:
    import torch

    from annlib import cache, data

    return "\n".join([f"annlib {cache.library_checksum()}", f"data {data.data_checksum()}",
                      f"torch {torch.__version__}", f"python {platform.python_version()}"])


def _check_fingerprint(app, env, added, changed, removed):
    cache = Path(env.mystnb_config.execution_cache_path)
    stamp = cache / "annlib-fingerprint.txt"
    now = _fingerprint()
    if stamp.is_file() and stamp.read_text() == now:
        return []
    if cache.exists():
        logger.info("annlib, the data or torch changed: clearing %s, re-running every chapter", cache)
        shutil.rmtree(cache)
    cache.mkdir(parents=True)
    stamp.write_text(now)
    return sorted(env.found_docs)


def _drop_repeated_scripts(app, pagename, templatename, context, doctree):
    """Keep one copy of each script a page would load twice.

    sphinx-thebe's and sphinx-togglebutton's inline configuration scripts reach the page twice,
    once with the file name ``None`` and once with ``""`` (so Sphinx does not see them as equal); a
    repeated ``const THEBE_JS_URL`` is a SyntaxError in the browser (checks/browser.py fails on it).
    """
    scripts, seen = [], set()
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", script) or "", getattr(script, "priority", 0),
               tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            scripts.append(script)
    context["script_files"] = scripts


def _publish_results(app, exception):
    """Put the results this build's code looks up (and the weights it kept) in ``_results/``: a
    reader's annlib fetches them from the published book instead of training (annlib.published)."""
    if exception is not None or app.builder.format != "html":
        return
    from annlib import published

    destination = Path(app.outdir) / "_results"
    shutil.rmtree(destination, ignore_errors=True)   # an earlier build's results, of older code, go
    counts = published.publish(os.environ["ANNLIB_CACHE_DIR"], destination)
    logger.info("published %d experiment results and %d networks' weights (%.1f MB) in _results/",
                counts["entries"], counts["weights"], counts["bytes"] / 1e6)


def setup(app):
    # Progress bars are for people at a terminal or a live notebook, not for static pages.
    os.environ.setdefault("TQDM_DISABLE", "1")
    # Experiment results of this build live beside it (a fresh clone runs every experiment);
    # set ANNLIB_CACHE_DIR to share them between builds (as the publishing workflow does).
    os.environ.setdefault("ANNLIB_CACHE_DIR", str(Path(app.outdir).parent / ".annlib_cache"))
    # The build computes every result itself (these are the results it publishes), never fetches
    # them; chapters run their "start every experiment now" cells only here (ANNLIB_BOOK_BUILD).
    os.environ["ANNLIB_NO_FETCH"] = "1"
    os.environ["ANNLIB_BOOK_BUILD"] = "1"
    app.connect("env-get-outdated", _check_fingerprint)
    app.connect("html-page-context", _drop_repeated_scripts)
    app.connect("build-finished", _publish_results)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
