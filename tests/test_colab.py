"""The chapters as notebooks for Colab and for download (book/_ext/annlib_colab.py), their links, and
the workflow that publishes them. checks/colab.py runs the notebooks in a Colab-like environment."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import types
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book" / "_ext"))
sys.path.insert(0, str(REPO / "checks"))
import annlib_colab  # noqa: E402
import colab as colab_check  # noqa: E402  (checks/colab.py)

CONFIG = yaml.safe_load((REPO / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"]
COMMIT = "0123456789abcdef0123456789abcdef01234567"
REQUIREMENT = f"annlib @ git+{REPO_URL}@{COMMIT}"


def toc_files() -> list[str]:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    return [toc["root"]] + [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]


def chapters_with_code() -> list[str]:
    return [name for name in toc_files() if "```{code-cell}" in (REPO / "book" / f"{name}.md").read_text()]


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("notebooks")
    paths = annlib_colab.write_notebooks(REPO / "_toc.yml", REPO / "book", out, requirement=REQUIREMENT)
    return {path.stem: path for path in paths}


@pytest.fixture(scope="module")
def notebooks(written) -> dict[str, nbformat.NotebookNode]:
    return {name: nbformat.read(path, as_version=4) for name, path in written.items()}


def test_one_notebook_per_chapter_with_code_in_toc_order(written):
    assert list(written) == chapters_with_code()
    assert {"pytorch", "lab"} <= set(written)
    assert not {"intro", "glossary", "references"} & set(written)   # no code: no notebook
    assert all(path.name == f"{name}.ipynb" for name, path in written.items())


def test_every_notebook_is_valid_with_the_install_cell_first_and_no_outputs(notebooks, written):
    for name, notebook in notebooks.items():
        nbformat.validate(notebook)
        first = notebook.cells[0]
        assert first.cell_type == "code" and first.id == annlib_colab.INSTALL_ID, name
        assert first.metadata["tags"] == [annlib_colab.INSTALL_ID], name
        assert first.source == annlib_colab.install_cell_source(REQUIREMENT), name
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, name
        assert notebook.metadata["kernelspec"]["name"] == "python3"
        assert "jupytext" not in notebook.metadata   # the .md's text_representation means nothing here
        assert notebook.metadata["accelerator"] == "GPU"
        assert colab_check.notebook_problems(written[name]) == []   # as checks/colab.py sees it


def test_the_cells_after_the_install_cell_are_the_chapters_own(notebooks):
    for name, notebook in notebooks.items():
        chapter = jupytext.read(REPO / "book" / f"{name}.md")
        assert len(notebook.cells) == len(chapter.cells) + 1
        for ours, theirs in zip(notebook.cells[1:], chapter.cells):
            assert ours.cell_type == theirs.cell_type and ours.metadata == theirs.metadata, name
            expected = theirs.source.replace(annlib_colab.GLUE_IMPORT, annlib_colab.GLUE_FALLBACK)
            assert ours.source == expected, name
        code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
        assert "myst_nb" not in code
        if "glue(" in code:
            assert annlib_colab.GLUE_FALLBACK in code, name
        tags = [cell.metadata.get("tags") for cell in chapter.cells if cell.metadata.get("tags")]
        assert [cell.metadata.get("tags") for cell in notebook.cells[1:] if cell.metadata.get("tags")] == tags


def test_the_notebooks_are_the_same_bytes_each_time(written, tmp_path):
    again = annlib_colab.write_notebooks(REPO / "_toc.yml", REPO / "book", tmp_path, requirement=REQUIREMENT)
    assert {p.stem: p.read_bytes() for p in again} == {name: p.read_bytes() for name, p in written.items()}


def test_a_chapter_that_uses_myst_nb_otherwise_is_refused(tmp_path):
    source = tmp_path / "odd.md"
    source.write_text((REPO / "book" / "pytorch.md").read_text().replace(
        "import torchvision\n", "import torchvision\nimport myst_nb\n", 1))
    with pytest.raises(ValueError, match="uses myst_nb"):
        annlib_colab.notebook(source, requirement=REQUIREMENT)


def test_colab_urls_name_each_chapters_notebook_on_the_published_branch():
    owner, repo = REPO_URL.removeprefix("https://github.com/").split("/")
    for name in chapters_with_code():
        assert annlib_colab.colab_url(REPO_URL, name) == \
            f"https://colab.research.google.com/github/{owner}/{repo}/blob/colab/{name}.ipynb"
    assert annlib_colab.colab_url(REPO_URL + ".git", "lab", branch="b") == \
        f"https://colab.research.google.com/github/{owner}/{repo}/blob/b/lab.ipynb"
    assert annlib_colab.install_requirement(REPO_URL, COMMIT) == REQUIREMENT
    for url in ("https://gitlab.com/a/b", "http://github.com/a/b", "https://github.com/a"):
        with pytest.raises(ValueError, match="repository.url must be"):
            annlib_colab.colab_url(url, "lab")


def test_the_build_revision_is_the_workflows_commit_else_gits(monkeypatch, tmp_path):
    monkeypatch.setenv("GITHUB_SHA", COMMIT)
    assert annlib_colab.build_revision(tmp_path, "main") == COMMIT
    monkeypatch.delenv("GITHUB_SHA")
    assert annlib_colab.build_revision(tmp_path, "main") == "main"   # not a repository
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True)
    if head.returncode == 0:
        assert annlib_colab.build_revision(REPO / "book", "main") == head.stdout.strip()


# The install cell, run as Colab and as anywhere else would run it (pip replaced by a recorder).

class Calls(list):
    """pip's command lines; ``returncode[0]`` is what each call returns."""
    returncode: list


def run_install_cell() -> dict:
    namespace: dict = {}
    exec(annlib_colab.install_cell_source(REQUIREMENT), namespace)
    return namespace


@pytest.fixture
def pip(monkeypatch):
    calls = Calls()
    calls.returncode = [0]

    def fake_run(command, **kwargs):
        calls.append(command)
        return subprocess.CompletedProcess(command, calls.returncode[0], "", "ResolutionImpossible: torch 9.9")

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.delenv(annlib_colab.INSTALL_ENV, raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    return calls


def kept() -> list[str]:
    return [f"{name}=={importlib.metadata.version(name)}" for name in ("torch", "torchvision")]


def test_the_install_cell_does_nothing_outside_colab(pip, capsys):
    namespace = run_install_cell()
    assert pip == [] and capsys.readouterr().out == ""
    assert set(namespace) == {"__builtins__"}   # it leaves no names behind


def test_in_colab_the_install_cell_installs_the_commit_and_keeps_torch(pip, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    run_install_cell()
    assert pip == [[sys.executable, "-m", "pip", "install", "--quiet", REQUIREMENT, *kept()]]
    assert f"{kept()[0]} {kept()[1]} kept" in capsys.readouterr().out


def test_the_check_points_the_install_cell_at_a_checkout(pip, monkeypatch):
    monkeypatch.setenv(annlib_colab.INSTALL_ENV, "/some/checkout")
    run_install_cell()
    assert pip == [[sys.executable, "-m", "pip", "install", "--quiet", "/some/checkout", *kept()]]


def test_an_install_that_would_replace_torch_fails_with_pips_reason(pip, monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    pip.returncode[0] = 1
    with pytest.raises(RuntimeError, match=r"(?s)could not install annlib and keep torch==.*ResolutionImpossible"):
        run_install_cell()


# The Sphinx side: the theme's header buttons, and the built pages as checks/colab.py reads them.

def theme_buttons(with_ipynb: bool = True) -> list[dict]:
    """context["header_buttons"] as sphinx-book-theme 1.3 builds it for a MyST notebook page."""
    downloads = [{"type": "link", "url": "_sources/lab.md", "text": ".md", "label": "download-source-button"},
                 {"type": "javascript", "javascript": "window.print()", "text": ".pdf", "label": "download-pdf-button"}]
    if with_ipynb:
        downloads.insert(0, {"type": "link", "url": "_sources/lab.ipynb", "text": ".ipynb",
                             "label": "download-notebook-button"})
    return [
        {"type": "group", "label": "download-buttons", "buttons": downloads},
        {"type": "javascript", "label": "fullscreen-button"},
        {"type": "group", "label": "launch-buttons", "buttons": [
            {"type": "link", "text": "Binder", "url": "https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/book/lab.md"},
            {"type": "javascript", "text": "Live Code", "label": "launch-thebe"}]},
    ]


def test_colab_goes_after_binder_and_the_ipynb_download_is_the_generated_notebook():
    buttons = theme_buttons()
    annlib_colab.add_buttons(buttons, colab="https://colab/lab.ipynb", download="_notebooks/lab.ipynb")
    launch = buttons[2]["buttons"]
    assert [b["text"] for b in launch] == ["Binder", "Colab", "Live Code"]
    assert launch[1]["url"] == "https://colab/lab.ipynb" and launch[1]["icon"] == "_static/images/logo_colab.png"
    downloads = buttons[0]["buttons"]
    assert [b["text"] for b in downloads] == [".ipynb", ".md", ".pdf"]   # replaced, not added twice
    assert downloads[0]["url"] == "_notebooks/lab.ipynb"


def test_buttons_are_added_where_the_theme_made_none():
    buttons = theme_buttons(with_ipynb=False)
    del buttons[2]
    annlib_colab.add_buttons(buttons, colab="https://colab/lab.ipynb", download="_notebooks/lab.ipynb")
    assert [b["text"] for b in buttons[0]["buttons"]] == [".ipynb", ".md", ".pdf"]
    assert buttons[-1]["label"] == "launch-buttons" and [b["text"] for b in buttons[-1]["buttons"]] == ["Colab"]


def test_the_links_check_finds_a_missing_link_and_a_bad_notebook(tmp_path, written):
    html = tmp_path / "html"
    (html / annlib_colab.NOTEBOOKS).mkdir(parents=True)
    for name in chapters_with_code():
        (html / f"{name}.html").write_text(
            f'<a href="{annlib_colab.colab_url(REPO_URL, name)}" target="_blank">Colab</a>\n'
            f'<li><a href="_notebooks/{name}.ipynb" target="_blank"\n'
            f'   class="btn btn-sm btn-download-notebook-button dropdown-item"\n')
        (html / annlib_colab.NOTEBOOKS / f"{name}.ipynb").write_bytes(written[name].read_bytes())
    (html / "intro.html").write_text("<p>no code</p>")
    assert colab_check.check_links(html) == []
    (html / "pytorch.html").write_text("<p>no links</p>")
    lab = nbformat.read(html / "_notebooks/lab.ipynb", as_version=4)
    code = next(cell for cell in lab.cells[1:] if cell.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", text="stale")]
    nbformat.write(lab, html / "_notebooks/lab.ipynb")
    (html / "glossary.html").write_text(f'<a href="{annlib_colab.colab_url(REPO_URL, "glossary")}">')
    problems = colab_check.check_links(html)
    assert any(p.startswith("pytorch.html: Colab links []") for p in problems)
    assert "lab.html: lab.ipynb: has outputs" in problems
    assert any(p.startswith("glossary.html: a page without code") for p in problems)
    assert len(problems) == 4   # pytorch: no Colab link and no download


def test_the_book_loads_the_extension_and_the_workflow_publishes_the_branch_the_links_name():
    assert CONFIG["sphinx"]["local_extensions"]["annlib_colab"] == "book/_ext"
    assert "colab_url" not in CONFIG["launch_buttons"]   # the theme's own would link the .md
    workflow = yaml.safe_load((REPO / ".github/workflows/book.yml").read_text())
    build, publish = workflow["jobs"]["build"], workflow["jobs"]["colab"]
    upload = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == f"_build/html/{annlib_colab.NOTEBOOKS}/"
    download = next(s for s in publish["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["name"] == upload["with"]["name"]
    assert publish["needs"] == "build" and publish["permissions"] == {"contents": "write"}
    assert publish["if"] == "github.event_name != 'pull_request' && github.ref == 'refs/heads/main'"
    script = "\n".join(s.get("run", "") for s in publish["steps"])
    assert f"HEAD:refs/heads/{annlib_colab.BRANCH}" in script
    assert "make check-colab-links" in "\n".join(s.get("run", "") for s in build["steps"])
