"""Committed notebooks carry no per-cell execution timestamps.

``jupyter execute`` writes start and end times into every cell's metadata, so each
re-run would be a diff of every cell. ``make notebooks-clean`` strips them with
nb-clean; this test runs ``nb-clean check`` with the same flags, read from the
Makefile so the two cannot drift apart.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def nb_clean_flags() -> list[str]:
    makefile = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    match = re.search(r"^NB_CLEAN_FLAGS\s*:=\s*(.+)$", makefile, re.MULTILINE)
    assert match, "the Makefile defines no NB_CLEAN_FLAGS"
    return match.group(1).split()


def nb_clean() -> str:
    found = shutil.which("nb-clean", path=str(Path(sys.executable).parent)) or shutil.which("nb-clean")
    if found is None:
        pytest.fail("nb-clean is missing: `make setup` installs requirements.txt (nb-clean==5.0.0)")
    return found


def test_the_flags_keep_what_the_book_needs():
    flags = nb_clean_flags()
    kept = {flags[i + 1] for i, flag in enumerate(flags) if flag == "--preserve-cell-metadata-field"}
    assert {"tags", "mystnb"} <= kept, "tags (nbval, solutions) and mystnb (alt text) must survive cleaning"
    assert {"--preserve-cell-outputs", "--preserve-execution-counts"} <= set(flags)


def test_committed_notebooks_are_clean():
    result = subprocess.run([nb_clean(), "check", *nb_clean_flags(), str(ROOT / "notebooks")],
                            capture_output=True, text=True)
    assert result.returncode == 0, f"run `make notebooks-clean`:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"


def test_the_check_catches_a_timestamp(tmp_path):
    notebook = tmp_path / "stamped.ipynb"
    shutil.copy(ROOT / "notebooks" / "01_linear_autoencoder.ipynb", notebook)
    subprocess.run([nb_clean(), "clean", *nb_clean_flags(), str(notebook)], check=True)
    text = notebook.read_text()
    stamped = text.replace('"metadata": {', '"metadata": {"execution": {"iopub.status.busy": "2026-01-01T00:00:00Z"}, ', 1)
    notebook.write_text(stamped)
    result = subprocess.run([nb_clean(), "check", *nb_clean_flags(), str(notebook)], capture_output=True, text=True)
    assert result.returncode != 0
