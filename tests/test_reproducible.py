"""checks/reproducible.py: the comparison of two executions' glued values fails on any real difference.

The glued values come from a build (``jupyter_execute/<chapter>.glue.json``) or from executed
notebooks (``<chapter>.ipynb``, as checks/binder.py writes them); the fixtures below write both in the
formats myst-nb 1.4 and nbformat 4.5 write, from the same values.
"""

import base64
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

CHECKS = Path(__file__).resolve().parents[1] / "checks"
CHECK = CHECKS / "reproducible.py"
PNG = base64.b64encode(b"\x89PNG fake figure").decode()
PREFIX = "application/papermill.record/"  # myst-nb's glue(name, value, display=False)

spec = importlib.util.spec_from_file_location("checks_reproducible", CHECK)
reproducible = sys.modules["checks_reproducible"] = importlib.util.module_from_spec(spec)  # dataclasses look it up
spec.loader.exec_module(reproducible)


def build(root: Path, values: dict, chapter: str = "chapter") -> Path:
    """A ``_build`` whose ``jupyter_execute/<chapter>.glue.json`` is what myst-nb writes for ``values``."""
    out = root / "jupyter_execute"
    out.mkdir(parents=True, exist_ok=True)
    glue = {name: {"output_type": "display_data", "metadata": {"scrapbook": {"name": name, "mime_prefix": PREFIX}},
                   "data": data}
            for name, data in values.items()}
    (out / f"{chapter}.glue.json").write_text(json.dumps(glue))
    return root


def executed(root: Path, values: dict, chapter: str = "chapter", displayed: tuple = ()) -> Path:
    """A directory with ``<chapter>.ipynb`` as nbclient executes and nbformat writes it: each glue a
    ``display_data`` output with prefixed MIME keys (none for ``displayed`` names: ``display=True``),
    multi-line text split into lines, between ordinary outputs that are not glues."""
    root.mkdir(parents=True, exist_ok=True)
    outputs = [{"name": "stderr", "output_type": "stream", "text": ["100%|██████████| 3/3\n"]},
               {"data": {"image/png": PNG, "text/plain": ["<Figure size 640x480 with 1 Axes>"]},
                "metadata": {}, "output_type": "display_data"}]
    for name, data in values.items():
        prefix = "" if name in displayed else PREFIX
        outputs.append({"data": {prefix + mime: value if mime.startswith("image/") else value.splitlines(True)
                                 for mime, value in data.items()},
                        "metadata": {"scrapbook": {"mime_prefix": prefix, "name": name}},
                        "output_type": "display_data"})
    cells = [{"cell_type": "markdown", "id": "intro", "metadata": {}, "source": ["# A chapter"]},
             {"cell_type": "code", "execution_count": 1, "id": "glues", "metadata": {}, "outputs": outputs,
              "source": ["glue(...)"]}]
    notebook = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    (root / f"{chapter}.ipynb").write_text(json.dumps(notebook, indent=1))
    return root


BASE = {
    "lab_test_acc": {"text/plain": "98.95"},
    "lab_fig": {"text/plain": "<Figure size 640x480 with 1 Axes>", "image/png": PNG},
    "lab_best_seconds": {"text/plain": "205.1"},
}
# What the real glues look like besides: Markdown, and a pandas table (multi-line text and HTML).
RICH = {
    **BASE,
    "lab_adam_best": {"text/markdown": "1e-3", "text/plain": "<IPython.core.display.Markdown object>"},
    "lab_table": {"text/plain": "          test accuracy (%)\nAdam               98.95 ± 0.04\n",
                  "text/html": '<div>\n<table border="1" class="dataframe">\n'
                               '  <tr><td>98.95</td></tr>\n</table>\n</div>'},
}


def run(a: Path, b: Path, *options):
    return subprocess.run([sys.executable, str(CHECK), str(a), str(b), *options], capture_output=True, text=True)


def compare(tmp_path, changes, *options):
    a = build(tmp_path / "a", BASE)
    b = build(tmp_path / "b", {**BASE, **changes})
    return run(a, b, *options)


@pytest.mark.parametrize("changes, options, ok, says", [
    ({}, (), True, "3 glued values in both; 2 identical, 1 timings not compared, 0 problems"),
    ({"lab_best_seconds": {"text/plain": "211.7"}}, (), True, "lab_best_seconds (wall time of the best model"),
    ({"lab_test_acc": {"text/plain": "98.94"}}, (), False, "DIFFERS lab_test_acc differs in ['text/plain']"),
    ({"lab_test_acc": {"text/plain": "98.9500001"}}, ("--rtol", "1e-6"), True, "2 identical within rtol=1e-06"),
    ({"lab_test_acc": {"text/plain": "98.96"}}, ("--rtol", "1e-6"), False, "DIFFERS lab_test_acc"),
    ({"lab_fig": {**BASE["lab_fig"], "image/png": base64.b64encode(b"other").decode()}}, (), False,
     "DIFFERS lab_fig differs in ['image/png']"),
    ({"lab_extra": {"text/plain": "1"}}, (), False, "only in"),
], ids=["identical", "timing-differs", "number-differs", "within-rtol", "beyond-rtol", "figure-differs", "extra-name"])
def test_compare(tmp_path, changes, options, ok, says):
    result = compare(tmp_path, changes, *options)
    assert (result.returncode == 0) == ok, result.stdout + result.stderr
    assert says in result.stdout


def test_a_directory_without_glued_values_is_an_error(tmp_path):
    (tmp_path / "a").mkdir()
    result = subprocess.run([sys.executable, str(CHECK), str(tmp_path / "a"), str(tmp_path / "a")],
                            capture_output=True, text=True)
    assert result.returncode != 0 and "has no *.glue.json" in result.stderr


def test_the_notebook_reader_finds_what_the_glue_json_reader_finds(tmp_path):
    from_glue = reproducible.chapters(build(tmp_path / "build", RICH))
    from_notebook = reproducible.chapters(executed(tmp_path / "notebooks", RICH, displayed=("lab_adam_best",)))
    assert from_notebook == from_glue
    assert set(from_notebook["chapter"]) == set(RICH)  # the two ordinary outputs are not glues
    assert from_notebook["chapter"]["lab_table"]["text/html"] == RICH["lab_table"]["text/html"]  # lines joined
    assert from_notebook["chapter"]["lab_fig"]["image/png"].startswith("sha256:")


def test_a_build_and_executed_notebooks_compare_on_the_command_line(tmp_path):
    result = run(build(tmp_path / "build", RICH), executed(tmp_path / "notebooks", RICH))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 glued values in both; 4 identical, 1 timings not compared, 0 problems" in result.stdout


@pytest.mark.parametrize("changes, says", [
    ({"lab_test_acc": {"text/plain": "98.94"}}, "DIFFERS lab_test_acc differs in ['text/plain']: '98.95' vs '98.94'"),
    ({"lab_table": {**RICH["lab_table"], "text/html": RICH["lab_table"]["text/html"].replace("98.95", "98.96")}},
     "DIFFERS lab_table differs in ['text/html']"),
    ({"lab_fig": {**BASE["lab_fig"], "image/png": base64.b64encode(b"other").decode()}},
     "DIFFERS lab_fig differs in ['image/png']"),
], ids=["number", "table", "figure"])
def test_a_changed_value_in_a_notebook_fails(tmp_path, changes, says):
    result = run(build(tmp_path / "build", RICH), executed(tmp_path / "notebooks", {**RICH, **changes}))
    assert result.returncode == 1, result.stdout + result.stderr
    assert says in result.stdout and "1 problems" in result.stdout


@pytest.mark.parametrize("missing", ["lab_test_acc", "lab_best_seconds"])
def test_a_glue_missing_from_the_notebook_fails_even_a_timing(tmp_path, missing):
    values = {name: data for name, data in RICH.items() if name != missing}
    result = run(build(tmp_path / "build", RICH), executed(tmp_path / "notebooks", values))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"DIFFERS only in {tmp_path / 'build'}: {missing} (chapter)" in result.stdout


def test_a_timing_that_differs_in_a_notebook_passes(tmp_path):
    values = {**RICH, "lab_best_seconds": {"text/plain": "311.4"}}
    result = run(build(tmp_path / "build", RICH), executed(tmp_path / "notebooks", values))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "timing  lab_best_seconds (wall time of the best model's runs): 205.1 vs 311.4" in result.stdout


def test_only_the_chapters_run_are_compared(tmp_path):
    # The build has two chapters; the notebooks directory has one (binder.py --chapter lab).
    build(tmp_path / "build", RICH, chapter="lab")
    build(tmp_path / "build", {"other_acc": {"text/plain": "97.1"}}, chapter="other")
    executed(tmp_path / "notebooks", RICH, chapter="lab")
    result = run(tmp_path / "build", tmp_path / "notebooks", "--chapter", "lab")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 glued values in both" in result.stdout and "other_acc" not in result.stdout
    # Without --chapter, the chapter that was not run is missing on one side, and that fails.
    result = run(tmp_path / "build", tmp_path / "notebooks")
    assert result.returncode == 1 and "only in" in result.stdout and "other_acc (other)" in result.stdout
    # A glue is compared within its own chapter: the same name glued by another chapter does not count.
    executed(tmp_path / "moved", RICH, chapter="other")
    result = run(tmp_path / "build", tmp_path / "moved", "--chapter", "lab")
    assert result.returncode == 1 and "only in" in result.stdout


def test_a_chapter_named_but_in_neither_side_fails(tmp_path):
    result = run(build(tmp_path / "a", BASE), build(tmp_path / "b", BASE), "--chapter", "chapterr")
    assert result.returncode == 1 and "chapter chapterr is in neither" in result.stdout


def test_binder_compare_reads_the_build_before_it_runs_anything(tmp_path):
    # checks/binder.py --compare uses this module; a path that is not a build fails at once, before the
    # environment is built, not after an hour of chapters.
    result = subprocess.run([sys.executable, str(CHECKS / "binder.py"), "--compare", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "has no *.glue.json" in result.stderr
    assert "+ " not in result.stdout  # no command was run


def test_two_sides_without_any_glue_fail_rather_than_compare_nothing(tmp_path):
    # Notebooks that ran but glued nothing (a broken glue, or the wrong chapters) prove nothing.
    result = run(executed(tmp_path / "a", {}), executed(tmp_path / "b", {}))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "0 glued values in both" in result.stdout and "no glued value was compared" in result.stdout


def test_sides_that_share_only_timings_fail_too(tmp_path):
    timing = {"lab_best_seconds": {"text/plain": "205.1"}}
    result = run(executed(tmp_path / "a", timing), executed(tmp_path / "b", timing))
    assert result.returncode == 1 and "no glued value was compared" in result.stdout
