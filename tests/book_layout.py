"""Where the tests find the course: its pages in the book's order, and its notebooks, read with nbformat.

One definition for the test modules that need them (``test_notebooks.py`` checks
that every chapter is in the table of contents, the browser test opens each page
in this order).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent


def toc_files(root: Path = ROOT) -> list[str]:
    """Every page ``_toc.yml`` lists, in the book's order: its root, then each part's chapters
    (paths from the repository root, without the suffix, as ``_toc.yml`` writes them)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def load_notebook(path: Path) -> nbformat.NotebookNode:
    """The notebook at ``path`` as nbformat reads it (version 4; each source one string)."""
    return nbformat.read(path, as_version=4)
