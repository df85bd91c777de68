"""Every chapter as a notebook: an "Open in Colab" launch entry and an ``.ipynb`` download.

The chapters are MyST Markdown, which Colab cannot open and plain Jupyter opens as text. This
module makes one ``.ipynb`` per chapter from its ``.md`` (the ``.md`` stays the only source):

- with jupytext, without outputs, cell tags kept (``remove-cell`` and friends mean nothing in
  Jupyter), the kernelspec ``python3``, and Colab's request for a GPU runtime;
- with an install cell first (:func:`install_cell_source`) that, in Colab only, installs annlib
  from the commit the notebook was made from and keeps Colab's own torch and torchvision;
- with ``from myst_nb import glue`` replaced by ``from annlib.notebook import glue``, which is
  myst-nb's where that is installed and works without it (Colab has no myst-nb).

As a Sphinx extension it writes the notebooks beside the HTML (``_notebooks/<chapter>.ipynb``,
the download menu's ``.ipynb``) and adds "Colab" to the launch menu of every chapter, after
Binder. Colab opens notebooks from a GitHub repository, not from any web address, so its link
names ``<chapter>.ipynb`` on the branch :data:`BRANCH`, which the publishing workflow
(``.github/workflows/book.yml``, job ``colab``) fills with these same files on every push to
main. ``checks/colab.py`` and ``tests/test_colab.py`` use the same functions.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

COLAB = "https://colab.research.google.com"
BRANCH = "colab"              # the branch the workflow writes the notebooks to, one per chapter at its root
NOTEBOOKS = "_notebooks"      # the folder beside the HTML that holds the downloads
INSTALL_ID = "install-annlib"  # the install cell's id and tag
INSTALL_ENV = "ANNLIB_COLAB_INSTALL"  # set: the install cell installs this (a path or a requirement) anywhere
GLUE_IMPORT = "from myst_nb import glue"
GLUE_FALLBACK = "from annlib.notebook import glue"

_INSTALL_CELL = '''\
# Colab: install annlib (the book's companion package) at the commit this notebook was made from,
# keeping Colab's own torch and torchvision (pip is asked for exactly the installed versions).
# Anywhere else (Binder, your own Jupyter with annlib installed) this cell does nothing.
def _install_annlib(requirement):
    import importlib, importlib.metadata, os, subprocess, sys
    source = os.environ.get("{env}")
    if not source and "google.colab" in sys.modules:
        source = requirement
    if not source:
        return
    keep = []
    for name in ("torch", "torchvision"):
        try:
            keep.append(f"{{name}}=={{importlib.metadata.version(name)}}")
        except importlib.metadata.PackageNotFoundError:
            pass
    print(f"Installing {{source}} ...", flush=True)
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", source, *keep],
                         capture_output=True, text=True)
    if pip.returncode:
        raise RuntimeError(f"pip could not install annlib and keep {{', '.join(keep)}}:\\n{{pip.stderr[-3000:]}}")
    importlib.invalidate_caches()
    print(f"annlib {{importlib.metadata.version('annlib')}} installed;", *keep, "kept")


_install_annlib({requirement!r})
del _install_annlib'''


def github_repo(repo_url: str) -> tuple[str, str]:
    """``(owner, name)`` of a ``https://github.com/owner/name`` URL (Colab opens only GitHub's)."""
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", repo_url)
    if not match:
        raise ValueError(f"repository.url must be https://github.com/<owner>/<name> for Colab links, got {repo_url!r}")
    return match[1], match[2]


def colab_url(repo_url: str, chapter: str, *, branch: str = BRANCH) -> str:
    """Colab's address of ``<chapter>.ipynb`` at the root of ``branch`` of the repository."""
    owner, name = github_repo(repo_url)
    return f"{COLAB}/github/{owner}/{name}/blob/{branch}/{chapter}.ipynb"


def install_requirement(repo_url: str, revision: str) -> str:
    """pip's requirement for annlib from the repository at ``revision`` (a commit or a branch)."""
    owner, name = github_repo(repo_url)
    return f"annlib @ git+https://github.com/{owner}/{name}@{revision}"


def install_cell_source(requirement: str) -> str:
    """The first cell of every notebook: installs ``requirement`` in Colab, or ``$ANNLIB_COLAB_INSTALL``
    wherever that is set (``checks/colab.py`` points it at a checkout); does nothing otherwise."""
    return _INSTALL_CELL.format(requirement=requirement, env=INSTALL_ENV)


def build_revision(root: Path, default: str) -> str:
    """The commit being built: ``$GITHUB_SHA`` in the workflow, else ``git rev-parse HEAD`` in
    ``root`` (any folder of the repository), else ``default`` (a branch) where there is no git."""
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"]
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True,
                              text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return default


def chapters(toc: Path, book: Path) -> list[str]:
    """The files of the table of contents that hold code cells, in order (the chapters that get a
    notebook; the introduction, glossary and references have no code)."""
    import yaml

    entries = yaml.safe_load(Path(toc).read_text())
    names = [entries["root"]] + [chapter["file"] for part in entries.get("parts", [])
                                 for chapter in part.get("chapters", [])]
    names = [name.removesuffix(".md") for name in names]
    return [name for name in names if "```{code-cell}" in (Path(book) / f"{name}.md").read_text(encoding="utf-8")]


def notebook(source: Path, *, requirement: str):
    """The notebook of one MyST Markdown chapter: the install cell, then the chapter's cells
    (outputs none, tags kept, ``glue`` from :mod:`annlib.notebook`), cell ids in order."""
    import jupytext
    import nbformat

    nb = jupytext.read(source, fmt="md:myst")
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = "\n".join(GLUE_FALLBACK if line.strip() == GLUE_IMPORT else line
                                    for line in cell.source.split("\n"))
            if "myst_nb" in cell.source:
                raise ValueError(f"{source}: a code cell uses myst_nb other than by {GLUE_IMPORT!r}, which "
                                 f"Colab cannot run:\n{cell.source}")
            cell.outputs, cell.execution_count = [], None
    install = nbformat.v4.new_code_cell(install_cell_source(requirement), metadata={"tags": [INSTALL_ID]})
    nb.cells.insert(0, install)
    for index, cell in enumerate(nb.cells):
        cell.id = INSTALL_ID if index == 0 else f"cell-{index}"
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "accelerator": "GPU",                                # Colab: ask for a GPU runtime (free tier: T4)
        "colab": {"provenance": [], "gpuType": "T4"},
    }
    nb.nbformat, nb.nbformat_minor = 4, 5
    nbformat.validate(nb)
    return nb


def write_notebooks(toc: Path, book: Path, out: Path, *, requirement: str) -> list[Path]:
    """``out/<chapter>.ipynb`` for every chapter of the table of contents; returns their paths."""
    import nbformat

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in chapters(toc, book):
        path = out / f"{name}.ipynb"
        nbformat.write(notebook(Path(book) / f"{name}.md", requirement=requirement), path)
        written.append(path)
    return written


def add_buttons(header_buttons: list[dict], *, colab: str, download: str | None) -> None:
    """Put "Colab" in the theme's launch menu, after Binder, and make the download menu's ``.ipynb``
    entry ``download`` (the theme's, which is the executed notebook, is replaced; added if absent).
    ``download=None`` leaves the download menu as it is (for a page without one)."""
    entry = {"type": "link", "text": "Colab", "tooltip": "Launch on Colab", "label": "colab-launch-button",
             "icon": "_static/images/logo_colab.png", "url": colab}
    groups = {button.get("label"): button for button in header_buttons if button.get("type") == "group"}
    launch = groups.get("launch-buttons")
    if launch is None:
        header_buttons.append({"type": "group", "tooltip": "Launch interactive content", "icon": "fas fa-rocket",
                               "buttons": [entry], "label": "launch-buttons"})
    else:
        texts = [button.get("text") for button in launch["buttons"]]
        launch["buttons"].insert(texts.index("Binder") + 1 if "Binder" in texts else 0, entry)
    downloads = groups.get("download-buttons")
    if download is None or downloads is None:
        return
    ipynb = {"type": "link", "text": ".ipynb", "icon": "fas fa-code", "label": "download-notebook-button",
             "tooltip": "Download notebook file (runs in Jupyter or Colab)", "url": download}
    buttons = downloads["buttons"]
    labels = [button.get("label") for button in buttons]
    if "download-notebook-button" in labels:
        buttons[labels.index("download-notebook-button")] = ipynb
    else:
        buttons.insert(0, ipynb)


# Sphinx ----------------------------------------------------------------------------------------

def _builder_inited(app) -> None:
    app.annlib_colab = None
    if app.builder.format != "html":
        return
    options, book = app.config.html_theme_options, Path(app.srcdir)
    repo_url = options.get("repository_url", "")
    github_repo(repo_url)  # a repository Colab cannot open fails the build here
    app.annlib_colab = {"repo_url": repo_url, "book": book, "toc": book / "_toc.yml",
                        "chapters": set(chapters(book / "_toc.yml", book)),
                        "revision": build_revision(book, options.get("repository_branch") or "main")}


def _page_context(app, pagename, templatename, context, doctree) -> None:
    settings = getattr(app, "annlib_colab", None)
    if not settings or pagename not in settings["chapters"] or "header_buttons" not in context:
        return
    add_buttons(context["header_buttons"], colab=colab_url(settings["repo_url"], pagename),
                download=context["pathto"](f"{NOTEBOOKS}/{pagename}.ipynb", 1))


def _build_finished(app, exception) -> None:
    settings = getattr(app, "annlib_colab", None)
    if exception is not None or not settings:
        return
    requirement = install_requirement(settings["repo_url"], settings["revision"])
    write_notebooks(settings["toc"], settings["book"], Path(app.outdir) / NOTEBOOKS, requirement=requirement)


def setup(app):
    app.connect("builder-inited", _builder_inited)
    app.connect("html-page-context", _page_context, priority=600)  # after the theme's buttons (501)
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
