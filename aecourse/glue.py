"""Numbers the prose quotes, stored with the run that produced them.

A sentence that types "0.0173" goes stale the day the notebook is re-run; one
that reads ``{glue:text}`test_mse:.4f``` shows whatever the last run stored.
:func:`glue` stores a value the way ``myst_nb.glue`` does (the book's builder
reads it from the notebook's outputs), without needing myst-nb itself, which
Colab does not have. The Colab and exercise versions get the same numbers
written in by ``tools/make_student_notebooks.py``.
"""

from __future__ import annotations

import ast
#: The MIME prefix myst-nb gives a value glued with ``display=False``.
GLUE_PREFIX = "application/papermill.record/"


def glue(name: str, value: object) -> None:
    """Store ``value`` under ``name`` for the book's ``{glue:text}`` roles; show nothing.

    Returns None, like ``myst_nb.glue``: a cell that ends with a glue call must not
    print the value as its result. Tensors are stored as Python numbers
    (``.item()``): the book formats the stored text with the role's format spec,
    and ``tensor(0.0173)`` is not a number.
    """
    from IPython.core.formatters import format_display_data
    from IPython.display import display

    _note_fast_mode_once_per_cell()

    stored = value.item() if hasattr(value, "item") and getattr(value, "ndim", 1) == 0 else value
    data, metadata = format_display_data(stored)
    metadata["scrapbook"] = {"name": name, "mime_prefix": GLUE_PREFIX}
    display({GLUE_PREFIX + kind: content for kind, content in data.items()}, raw=True, metadata=metadata)


_noted_cells: set[int] = set()


def _note_fast_mode_once_per_cell() -> None:
    """In fast mode, say once in each cell that glues a number that the number is not the
    text's: the prose quotes the full run, and a student's fast run differs (by a lot, for a
    model trained one epoch on a subset)."""
    from aecourse.settings import fast_mode_note, is_fast

    if not is_fast():
        return
    try:
        from IPython import get_ipython

        shell = get_ipython()
        cell = shell.execution_count if shell is not None else None
    except ImportError:
        cell = None
    if cell is not None and cell in _noted_cells:
        return
    if cell is not None:
        _noted_cells.add(cell)
    print(fast_mode_note("The numbers this cell stores for the text"))


def glued_values(notebook: dict) -> dict[str, str]:
    """Every value glued in a notebook's stored outputs: name -> its ``text/plain``."""
    values: dict[str, str] = {}
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            record = output.get("metadata", {}).get("scrapbook")
            text = output.get("data", {}).get(GLUE_PREFIX + "text/plain")
            if record and text is not None:
                values[record["name"]] = "".join(text) if isinstance(text, list) else text
    return values


def format_glued(text: str, spec: str = "") -> str:
    """A glued ``text/plain`` value formatted as the book's ``{glue:text}`key:spec``` shows it.

    The same rules as myst-nb's ``format_plain_text`` (a test compares the two), so that
    the Colab and exercise versions print what the book prints; written out here because
    the tool that makes those versions must also run where myst-nb is not installed.
    """
    try:
        value: object = ast.literal_eval(text)
    except (SyntaxError, ValueError):
        value = text
    if not spec:
        return str(value)
    kind = spec[-1]
    if kind == "s":
        value = str(value)
    elif kind in "bcdoxX":
        value = int(value)  # type: ignore[call-overload]
    elif kind in "eEfFgGn%":
        value = float(value)  # type: ignore[arg-type]
    return format(value, spec)
