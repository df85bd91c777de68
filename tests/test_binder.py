"""The reader's environments agree with the build: Binder, the launch buttons, the publishing workflow.

These read the repository's configuration files; checks/binder.py runs the chapters in the
environment these files make, and checks/browser.py loads the built pages.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def toc_files() -> list[str]:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc["parts"]:
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def test_binder_installs_the_build_pins_and_annlib():
    # The same constraints file as the Makefile, and annlib with the book's extra: nothing else,
    # so the two environments cannot drift apart.
    assert requirement_lines(REPO / "binder" / "requirements.txt") == ["-c ../constraints.txt", "-e .[book]"]
    pinned = requirement_lines(REPO / "constraints.txt")
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[\w.]+", line) for line in pinned), pinned
    for package in ["torch", "torchvision", "numpy", "matplotlib", "jupytext", "myst-nb", "ipykernel"]:
        assert any(line.startswith(f"{package}==") for line in pinned), f"{package} is not pinned"


def test_binder_python_is_the_one_the_workflow_builds_with():
    runtime = (REPO / "binder" / "runtime.txt").read_text().strip()
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "book.yml").read_text())
    setup = [step for step in workflow["jobs"]["build"]["steps"] if step.get("uses", "").startswith("actions/setup-python")]
    assert runtime == f"python-{setup[0]['with']['python-version']}"


def test_post_build_opens_chapters_as_notebooks_and_fetches_mnist():
    post_build = REPO / "binder" / "postBuild"
    assert post_build.stat().st_mode & 0o111, "postBuild must be executable"
    text = post_build.read_text()
    assert "jupytext-config set-default-viewer markdown myst" in text
    assert "python -m annlib.data" in text


@pytest.mark.parametrize("name", toc_files())
def test_every_page_opens_as_a_notebook_on_the_python3_kernel(name):
    text = (REPO / "book" / f"{name}.md").read_text()
    if not text.startswith("---"):  # a page of prose only (the intro, the bibliography)
        assert "```{code-cell}" not in text
        return
    front = yaml.safe_load(text.split("---")[1])
    assert front["jupytext"]["text_representation"]["format_name"] == "myst"
    assert front["kernelspec"]["name"] == "python3"


def test_launch_buttons_and_live_code_use_the_one_repository_url():
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", config["repository"]["url"])
    assert config["repository"]["path_to_book"] == "book"
    buttons = config["launch_buttons"]
    assert buttons["binderhub_url"] == "https://mybinder.org"
    assert buttons["notebook_interface"] == "jupyterlab"
    assert buttons["thebe"] is True
