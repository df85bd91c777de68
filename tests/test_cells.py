"""checks/cells.py: a hidden cell may leave glue records, progress bars and stderr, nothing a reader sees."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

CHECK = Path(__file__).resolve().parents[1] / "checks" / "cells.py"
spec = importlib.util.spec_from_file_location("checks_cells", CHECK)
cells = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cells)

GLUE = {"output_type": "display_data", "metadata": {},
        "data": {"application/papermill.record/text/plain": "0.5"}}
BAR = {"output_type": "display_data", "metadata": {},
       "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "x"}, "text/plain": "  0%|"}}
WARNING = {"output_type": "stream", "name": "stderr", "text": "UserWarning: ...\n"}
PRINT = {"output_type": "stream", "name": "stdout", "text": "loss 0.25\n"}
VALUE = {"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {"text/plain": "42"}}
FIGURE = {"output_type": "display_data", "metadata": {}, "data": {"image/png": "iVBOR", "text/plain": "<Figure>"}}


def _notebook(tmp_path, outputs, tags=("remove-cell",)):
    cell = {"cell_type": "code", "execution_count": 1, "metadata": {"tags": list(tags)},
            "source": "\n# a comment\nglue('x', 0.5, display=False)", "outputs": outputs}
    path = tmp_path / "chapter.ipynb"
    path.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_glue_records_progress_bars_and_stderr_pass(tmp_path):
    assert cells.problems(_notebook(tmp_path, [GLUE, BAR, WARNING])) == []
    assert cells.main([str(_notebook(tmp_path, [GLUE]))]) == 0


def test_prints_values_and_figures_of_hidden_cells_fail(tmp_path):
    found = cells.problems(_notebook(tmp_path, [GLUE, PRINT, VALUE, FIGURE]))
    assert len(found) == 3, found
    assert "prints 'loss 0.25\\n'" in found[0] and "glue('x'" in found[0]
    assert "execute_result" in found[1] and "image/png" in found[2]
    assert cells.main([str(_notebook(tmp_path, [PRINT]))]) == 1


def test_cells_a_reader_sees_may_show_anything(tmp_path):
    for tags in ((), ("hide-input",), ("remove-input",)):
        assert cells.problems(_notebook(tmp_path, [PRINT, VALUE, FIGURE], tags)) == []
