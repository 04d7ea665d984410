"""Reuse a definition that lives in a chapter notebook, without copying it.

A chapter's model class stays in its notebook, where students read it. Tests
and benchmarks that need the very same class run that one cell instead of
keeping a copy that could drift from what the book teaches.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def define_from_notebook(notebook: str | Path, name: str, namespace: dict[str, Any]) -> Any:
    """Run the code cell of ``notebook`` that defines ``name`` (``class name`` or
    ``def name``) in ``namespace``, which supplies what the cell uses, and return it."""
    cells = json.loads(Path(notebook).read_text())["cells"]
    heads = (f"class {name}(", f"class {name}:", f"def {name}(")
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and any(head in source for head in heads):
            exec(compile(source, f"{Path(notebook).name}:{name}", "exec"), namespace)  # noqa: S102 - the course's own notebook
            return namespace[name]
    raise LookupError(f"no code cell in {notebook} defines {name}")
