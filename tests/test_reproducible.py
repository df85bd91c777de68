"""checks/reproducible.py: the comparison of two builds' glued values fails on any real difference."""

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

CHECK = Path(__file__).resolve().parents[1] / "checks" / "reproducible.py"
PNG = base64.b64encode(b"\x89PNG fake figure").decode()


def build(root: Path, values: dict) -> Path:
    out = root / "jupyter_execute"
    out.mkdir(parents=True)
    glue = {name: {"output_type": "display_data", "metadata": {"scrapbook": {"name": name}}, "data": data}
            for name, data in values.items()}
    (out / "chapter.glue.json").write_text(json.dumps(glue))
    return root


BASE = {
    "lab_test_acc": {"text/plain": "98.95"},
    "lab_fig": {"text/plain": "<Figure size 640x480 with 1 Axes>", "image/png": PNG},
    "lab_best_seconds": {"text/plain": "205.1"},
}


def compare(tmp_path, changes, *options):
    a = build(tmp_path / "a", BASE)
    b = build(tmp_path / "b", {**BASE, **changes})
    return subprocess.run([sys.executable, str(CHECK), str(a), str(b), *options], capture_output=True, text=True)


@pytest.mark.parametrize("changes, options, ok, says", [
    ({}, (), True, "3 glued values in both builds; 2 identical, 1 timings not compared, 0 problems"),
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
