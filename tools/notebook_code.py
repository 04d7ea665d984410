"""Reuse code that lives in a chapter notebook, without copying it.

A chapter's model class stays in its notebook, where students read it. A code
cell whose definitions other files reuse carries the cell tag ``export`` (as
nbdev and d2l mark theirs); tests and benchmarks get those definitions from
:func:`from_notebook`, which runs exactly the notebook's ``export`` cells, in
the notebook's order, in a namespace the caller supplies, and hands back the
names asked for. No copy can drift from what the book teaches.

``tests/test_notebooks.py`` keeps the contract: every ``export`` cell defines
something, and every name a test or benchmark asks for (the string literals of
its ``from_notebook`` calls) is defined by an ``export`` cell of that notebook.

This module is not part of the installed ``aecourse`` package: students never
need it. ``tools/`` is not a package; a user puts it on ``sys.path``:

    sys.path.insert(0, str(ROOT / "tools"))
    from notebook_code import from_notebook

    ConvVAE = from_notebook("05_conv_vae", "ConvVAE",
                            namespace={"torch": torch, "nn": nn, "reparameterize": reparameterize})
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
EXPORT_TAG = "export"


class NotebookCellError(RuntimeError):
    """An ``export`` cell raised while it ran; the message names the notebook and the cell."""


def notebook_path(notebook: str | Path) -> Path:
    """The chapter notebook ``notebook`` names: a stem (``"05_conv_vae"``), a file name, or a path.
    Raises :class:`FileNotFoundError`, listing the chapters there are, when there is none."""
    path = Path(notebook)
    if not path.suffix:
        path = path.with_suffix(".ipynb")
    if len(path.parts) == 1:
        path = NOTEBOOKS / path
    if not path.is_file():
        chapters = ", ".join(p.stem for p in sorted(NOTEBOOKS.glob("*.ipynb")))
        raise FileNotFoundError(f"no notebook {path} (the chapters: {chapters})")
    return path


def exported_cells(notebook: str | Path) -> list[tuple[int, str]]:
    """``(index, source)`` of each code cell tagged ``export``, in the notebook's order
    (``index`` counts every cell from 0, as nbformat lists them)."""
    cells = nbformat.read(notebook_path(notebook), as_version=4).cells
    return [(i, cell.source) for i, cell in enumerate(cells)
            if cell.cell_type == "code" and EXPORT_TAG in cell.get("metadata", {}).get("tags", [])]


def defined_names(source: str) -> set[str]:
    """The names a cell binds at its top level: classes, functions, assigned names, imports."""
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        else:
            targets = (node.targets if isinstance(node, ast.Assign)
                       else [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def from_notebook(notebook: str | Path, *names: str, namespace: dict[str, Any] | None = None) -> Any:
    """Run the ``export`` cells of ``notebook`` in ``namespace`` and return ``names`` from it:
    the object itself for one name, a tuple for several.

    ``namespace`` supplies what the cells use and do not import themselves (``torch``, ``nn``,
    a helper from ``aecourse``); it is filled in place. Before anything runs, each name must be
    defined by an ``export`` cell (else :class:`LookupError`); a cell that raises while it runs
    raises :class:`NotebookCellError` naming the notebook and the cell.
    """
    if not names:
        raise TypeError("from_notebook needs at least one name")
    path = notebook_path(notebook)
    cells = exported_cells(path)
    exported = set().union(*(defined_names(source) for _, source in cells))
    missing = [name for name in names if name not in exported]
    if missing:
        raise LookupError(f"no cell tagged {EXPORT_TAG!r} in {path.name} defines {', '.join(missing)}"
                          f" (they define: {', '.join(sorted(exported)) or 'nothing'})")
    namespace = {} if namespace is None else namespace
    namespace.setdefault("__name__", f"notebooks.{path.stem}")
    for index, source in cells:
        where = f"{path.name}, cell {index} (tagged {EXPORT_TAG!r})"
        try:
            exec(compile(source, f"<{where}>", "exec"), namespace)  # noqa: S102 - the course's own notebook
        except Exception as error:
            raise NotebookCellError(f"{where} failed: {type(error).__name__}: {error}") from error
    found = tuple(namespace[name] for name in names)
    return found[0] if len(found) == 1 else found
