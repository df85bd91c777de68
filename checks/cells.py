"""Hidden cells print nothing into the notebook a reader runs.

A cell tagged ``remove-cell`` is gone from the HTML, but Jupyter (Binder, a local JupyterLab)
ignores tags: there every cell shows its outputs. Such a cell may leave only what Jupyter does not
draw: myst-nb's glue records (mime types ``application/papermill.record/...``). It may also show a
progress bar (a tqdm widget, or tqdm's text on stderr where widgets are missing) and warnings on
stderr, which tell a reader that hidden work is going on and would fail the book's build anyway
(``stderr_output: warn`` with ``-W``). What it must not leave is a print (stdout), the value of a
last expression, or a figure, table or text shown with ``display``.

``checks/binder.py`` runs this on every chapter it executes. Usage on executed notebooks::

    python3 checks/cells.py run-lab.ipynb [more.ipynb ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

GLUE = "application/papermill.record/"
WIDGET = "application/vnd.jupyter.widget-view+json"
HIDDEN = "remove-cell"


def _shown(output: dict) -> str | None:
    """What a reader would see of one output of a hidden cell, or None if nothing."""
    kind = output.get("output_type")
    if kind == "stream":
        return None if output.get("name") == "stderr" else f"prints {''.join(output.get('text', ''))[:80]!r}"
    if kind == "error":
        return None                               # the run itself fails on it
    keys = set(output.get("data", {}))
    if kind == "display_data" and (all(k.startswith(GLUE) for k in keys) or WIDGET in keys):
        return None
    return f"{kind} of {sorted(keys)}"


def problems(path: Path) -> list[str]:
    """One line per output that a hidden cell of this executed notebook shows a Jupyter reader."""
    notebook = json.loads(Path(path).read_text())
    found = []
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code" or HIDDEN not in cell.get("metadata", {}).get("tags", []):
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        lines = [line for line in source.splitlines() if line.strip()]
        first = next((line for line in lines if not line.lstrip().startswith("#")), lines[0] if lines else "")
        for output in cell.get("outputs", []):
            shown = _shown(output)
            if shown:
                found.append(f"{Path(path).name}: hidden cell {index} ({first.strip()[:60]!r}) {shown}")
    return found


def main(paths: list[str]) -> int:
    if not paths:
        print(__doc__)
        return 2
    found = [line for path in paths for line in problems(Path(path))]
    print("\n".join(found) or f"cells check: the hidden cells of {len(paths)} notebooks show a reader nothing")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
