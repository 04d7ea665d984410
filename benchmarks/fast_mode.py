"""How long each chapter takes in fast mode, the mode a student on a laptop and CI use.

The target (issue 27): about a minute per chapter on 2 idle CPU cores. Each solved
notebook runs top to bottom, in a fresh kernel, with ``AECOURSE_FAST=1``; the script
prints the wall time of each chapter and its three slowest cells, so that a slow cell
is found by name. Nothing is written back into the notebooks.

    AECOURSE_DATA=../shared/data .venv/bin/python benchmarks/fast_mode.py > benchmarks/fast_mode.txt
    AECOURSE_DATA=../shared/data .venv/bin/python benchmarks/fast_mode.py notebooks/02_deep_autoencoder.ipynb
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 60


def timed_run(path: Path) -> tuple[float, list[tuple[float, int, str]]]:
    """Run ``path`` in fast mode; return its wall time and every code cell's (seconds, index, first line)."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    cells: list[tuple[float, int, str]] = []
    start = time.perf_counter()
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            began = time.perf_counter()
            client.execute_cell(cell, index)
            first = next((line for line in cell.source.splitlines() if line.strip()), "")
            cells.append((time.perf_counter() - began, index, first[:70]))
    return time.perf_counter() - start, cells


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="chapters to time (default: all five)")
    args = parser.parse_args()
    if not os.environ.get("AECOURSE_DATA"):
        parser.error("set AECOURSE_DATA to a folder holding MNIST/raw (this script never downloads)")
    os.environ["AECOURSE_FAST"] = "1"
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    print(f"Fast mode (AECOURSE_FAST=1), each chapter in a fresh kernel, kernel start included.")
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads; nothing else running.")
    print(f"Target: about {TARGET_SECONDS} s a chapter.\n")
    print("| chapter | wall time | slowest cells (seconds, cell index, first line) |")
    print("| --- | --- | --- |")
    for path in paths:
        total, cells = timed_run(path.resolve())
        slowest = "; ".join(f"{s:.1f} s #{i} `{line}`" for s, i, line in sorted(cells, reverse=True)[:3])
        print(f"| {path.name} | {total:.0f} s | {slowest} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
