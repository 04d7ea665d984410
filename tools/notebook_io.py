"""Reading and writing notebooks: nbformat's reader and writer, one format for every file.

``jupyter execute --inplace`` (which re-runs a chapter) writes with nbformat, so
the tools write exactly as it does: ``nbformat.writes`` (indent 1, sorted keys,
non-ASCII kept, multi-line text split into lists of lines) and a final newline.
With one writer, a file one tool wrote is never stale to another's ``--check``.
The book's notebooks, ``notebooks/student/`` and ``notebooks/colab/`` all go
through here: ``tools/sync_repository.py``, ``tools/make_student_notebooks.py``
and ``tools/check_release.py`` import it (``tools/`` is not a package: each
puts its own folder on ``sys.path``, as a script run from anywhere has it).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from pathlib import Path

import nbformat

ENCODING = "utf-8"


def read(path: Path) -> nbformat.NotebookNode:
    """The notebook at ``path``, as nbformat version 4 (a ``dict`` whose sources are strings)."""
    return nbformat.read(path, as_version=4)


def dumps(notebook: Mapping) -> str:
    """The text of ``notebook`` as ``nbformat.write`` writes it; raises on a notebook that is not valid."""
    errors: dict = {}
    text = nbformat.writes(nbformat.from_dict(notebook), capture_validation_error=errors)
    if "ValidationError" in errors:
        raise errors["ValidationError"]
    return text if text.endswith("\n") else text + "\n"


def write(path: Path, notebook: Mapping) -> None:
    """Write ``notebook`` to ``path`` in the one format (see :func:`dumps`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(notebook), encoding=ENCODING)


def book_notebooks(root: Path) -> list[Path]:
    """The chapter notebooks, ``notebooks/*.ipynb``: the ones the book publishes and nbval runs."""
    return sorted((root / "notebooks").glob("*.ipynb"))


def all_notebooks(root: Path) -> list[Path]:
    """The book's notebooks and the generated student and Colab versions."""
    folder = root / "notebooks"
    found = list(folder.glob("*.ipynb")) + list(folder.glob("*/*.ipynb"))
    return sorted(p for p in found if ".ipynb_checkpoints" not in p.parts)


def update(files: Mapping[Path, str], check: bool) -> list[Path]:
    """The paths in ``files`` whose text on disk is not the planned one (missing ones too);
    unless ``check``, each is (re)written with its planned text."""
    stale = [path for path, text in files.items()
             if not path.is_file() or path.read_text(encoding=ENCODING) != text]
    if not check:
        for path in stale:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[path], encoding=ENCODING)
    return stale


def command_line(description: str, planned_files: Callable[[], Mapping[Path, str]], *, root: Path,
                 written: str, fix: str, argv: list[str] | None = None) -> int:
    """The command line the writing tools share: without ``--check``, rewrite each file whose text
    is not ``planned_files()``'s and name it (``written: path``); with ``--check``, change nothing,
    name each such file (``stale: path``) and the command that brings it up to date, and exit 1."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="report stale files, change nothing")
    args = parser.parse_args(argv)
    stale = update(planned_files(), check=args.check)
    for path in stale:
        print(f"{'stale' if args.check else written}: {path.relative_to(root)}")
    if args.check and stale:
        print(f"run: {fix}")
    return 1 if (args.check and stale) else 0
