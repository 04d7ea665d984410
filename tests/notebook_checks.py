"""What a reader of a generated notebook must not run into, as functions that list the problems.

Kept apart from the generator (``tools/make_student_notebooks.py``) so that a
test does not grade the tool by the tool's own rules, and apart from the tests
so that the notebook tests and the browser test share them, and a test can
show that each check fails on the notebook the old tool wrote.
"""

from __future__ import annotations

import re

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# Any MyST role ({cite:p}`...`, {doc}`...`, {ref}`...`) and any directive fence (```{exercise}, :::{note}).
MYST_ROLE = re.compile(r"\{[a-z][\w:-]*\}`")
MYST_FENCE = re.compile(r"^\s*(?:`{3,}|:{3,})\s*\{", re.MULTILINE)
DETAILS = re.compile(r"<details>.*?</details>", re.DOTALL)
TITLE = re.compile(r"#@title Solution to exercise \S+ \(double-click to show the code\)\n")


def source(cell: dict) -> str:
    return "".join(cell["source"])


def solutions(notebook: dict) -> list[dict]:
    return [c for c in notebook["cells"] if "solution" in c["metadata"].get("tags", [])]


def raw_myst(notebook: dict) -> list[str]:
    """Markdown that Jupyter and Colab would show as raw MyST: roles, directive fences, solution fences."""
    problems = []
    for cell in notebook["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        text = source(cell)
        for pattern in (MYST_ROLE, MYST_FENCE, re.compile(r"\{solution-")):
            for match in pattern.finditer(text):
                problems.append(f"cell {cell.get('id')}: {text[match.start():match.start() + 40]!r}")
    return problems


def is_hidden(cell: dict) -> bool:
    """Folded in Colab (a #@title form) and in JupyterLab / Notebook 7 (source_hidden)."""
    metadata = cell["metadata"]
    return (cell["cell_type"] == "code" and metadata.get("cellView") == "form"
            and metadata.get("jupyter", {}).get("source_hidden") is True and TITLE.match(source(cell)) is not None)


def shown_solutions(notebook: dict, solved: dict) -> list[str]:
    """Each of ``solved``'s solution codes that ``notebook`` shows a reader unasked: in a code
    cell that is not hidden, or in Markdown outside a ``<details>`` block."""
    problems = []
    for solution in solutions(solved):
        code = source(solution).strip()
        for cell in notebook["cells"]:
            text = DETAILS.sub("", source(cell)) if cell["cell_type"] == "markdown" else source(cell)
            if code in text and not is_hidden(cell):
                problems.append(f"cell {cell.get('id')} shows the solution {code.splitlines()[0]!r}")
    return problems


def missing_widget_models(notebook: dict) -> list[str]:
    """Models that a widget output shows, or that such a model names (its children, layout,
    style), and that the notebook's widget state lacks: Jupyter would print "Error displaying
    widget: model not found" in the output's place."""
    state = notebook["metadata"].get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    wanted = [output["data"][WIDGET_VIEW]["model_id"] for cell in notebook["cells"]
              for output in cell.get("outputs", []) if WIDGET_VIEW in output.get("data", {})]
    missing, seen = [], set()
    while wanted:
        model_id = wanted.pop()
        if model_id in seen:
            continue
        seen.add(model_id)
        if model_id not in state:
            missing.append(model_id)
        else:
            wanted += re.findall(r"IPY_MODEL_(\w+)", repr(state[model_id]["state"]))
    return missing
