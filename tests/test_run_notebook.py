"""tools/run_notebook.py: a re-run stores each text progress bar as its final line only."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import notebook_io  # noqa: E402
import run_notebook  # noqa: E402


def test_a_text_progress_bar_is_stored_as_its_last_line(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(
        "from tqdm import tqdm\nprint('start')\nfor _ in tqdm(range(3), desc='epochs', mininterval=0):\n    pass\n")]
    path = tmp_path / "bar.ipynb"
    notebook_io.write(path, notebook)
    run_notebook.run(path)
    outputs = notebook_io.read(path).cells[0].outputs
    stderr = [o.text for o in outputs if o.get("name") == "stderr"]
    assert len(stderr) == 1 and "\r" not in stderr[0], stderr
    assert stderr[0].startswith("epochs: 100%") and stderr[0].count("\n") == 1, stderr
    assert [o.text for o in outputs if o.get("name") == "stdout"] == ["start\n"]
