"""Sphinx extension for building this book: quiet progress bars, a build-local experiment
cache, and re-execution of every chapter when what the chapters depend on changes.

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


def setup(app):
    # Progress bars are for people at a terminal or a live notebook, not for static pages.
    os.environ.setdefault("TQDM_DISABLE", "1")
    # Experiment results of this build live beside it (a fresh clone runs every experiment);
    # set ANNLIB_CACHE_DIR to share them between builds (as the publishing workflow does).
    os.environ.setdefault("ANNLIB_CACHE_DIR", str(Path(app.outdir).parent / ".annlib_cache"))
    app.connect("env-get-outdated", _check_fingerprint)
    app.connect("html-page-context", _drop_repeated_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
