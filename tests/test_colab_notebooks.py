"""Colab versions (notebooks/colab/): generated, never stale, plain Markdown, solutions folded away;
and the widget state every generated notebook needs to draw its stored widgets (the slider
explorers; progress bars are text).

Each check lives in ``notebook_checks.py`` and is also run on the notebook that
the old tool wrote or the old launch button opened, to show that it fails there.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_student_notebooks as generator  # noqa: E402
from book_layout import load_notebook as load  # noqa: E402
from notebook_checks import (  # noqa: E402
    is_hidden, missing_widget_models, raw_myst, shown_solutions, solutions, source)

SOLVED = sorted((ROOT / "notebooks").glob("*.ipynb"))
COLAB = ROOT / "notebooks" / "colab"
GENERATED = [ROOT / "notebooks" / folder / p.name for folder in ("student", "colab") for p in SOLVED]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
ids = lambda p: p.name  # noqa: E731


def test_every_chapter_has_a_colab_version():
    assert [p.name for p in SOLVED] == sorted(p.name for p in COLAB.glob("*.ipynb"))


def test_colab_versions_are_up_to_date():
    """Regenerating gives the committed Colab versions byte for byte (run the tool if this fails)."""
    planned = {path: text for path, text in generator.planned_files().items() if path.parent == COLAB}
    assert sorted(planned) == sorted(COLAB / p.name for p in SOLVED)
    stale = [path.name for path, text in planned.items() if not path.is_file() or path.read_text() != text]
    assert stale == [], "run: .venv/bin/python tools/make_student_notebooks.py"


@pytest.mark.parametrize("path", GENERATED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_generated_notebook_says_it_is_generated_and_from_what(path):
    assert load(path)["metadata"]["aecourse"]["generated_from"] == f"notebooks/{path.name}"


@pytest.mark.parametrize("path", SOLVED, ids=ids)
def test_colab_version_has_no_raw_myst(path):
    assert raw_myst(load(COLAB / path.name)) == []


@pytest.mark.parametrize("path", SOLVED, ids=ids)
def test_the_raw_myst_check_fails_on_what_the_old_button_opened(path):
    assert raw_myst(load(path)), "the solved notebook has exercise boxes, so the check must find them"


@pytest.mark.parametrize("path", SOLVED, ids=ids)
def test_each_solution_is_folded_with_its_outputs_kept(path):
    """Every solution cell: a '#@title Solution to exercise <label>' line, Colab's form view and
    Jupyter's hidden source; under the title, the solved code and the solved run's outputs."""
    solved, colab = load(path), load(COLAB / path.name)
    folded = solutions(colab)
    assert len(folded) == len(solutions(solved)) >= 3
    for cell, original in zip(folded, solutions(solved)):
        assert is_hidden(cell), source(cell)[:120]
        title, code = source(cell).split("\n", 1)
        assert title.startswith("#@title Solution to exercise ex-")
        assert code == source(original) and cell["outputs"] == original["outputs"]


@pytest.mark.parametrize("path", SOLVED, ids=ids)
def test_no_solution_code_is_shown_unfolded(path):
    solved = load(path)
    assert shown_solutions(load(COLAB / path.name), solved) == []
    assert shown_solutions(solved, solved), "the check must catch the solved notebook's open solutions"


@pytest.mark.parametrize("path", SOLVED, ids=ids)
def test_everything_else_is_kept(path):
    """Same code cells in the same order with the same outputs and counts 1..n; only the
    solutions' title lines and metadata differ."""
    solved, colab = load(path), load(COLAB / path.name)
    code = [c for c in solved["cells"] if c["cell_type"] == "code"]
    kept = [c for c in colab["cells"] if c["cell_type"] == "code"]
    assert [c["execution_count"] for c in kept] == list(range(1, len(code) + 1))
    for cell, original in zip(kept, code, strict=True):
        text = source(cell).split("\n", 1)[1] if is_hidden(cell) else source(cell)
        assert (text, cell["outputs"], cell["id"]) == (source(original), original["outputs"], original["id"])


@pytest.mark.parametrize("path", SOLVED, ids=ids)
def test_link_cell_opens_the_exercise_version_in_colab(path):
    links = [c for c in load(COLAB / path.name)["cells"] if "exercise-links" in c["metadata"].get("tags", [])]
    assert len(links) == 1
    assert f"]({generator.colab_url(CONFIG, f'notebooks/student/{path.name}')})" in source(links[0])
    student = load(ROOT / "notebooks" / "student" / path.name)
    back = next(c for c in student["cells"] if "exercise-links" in c["metadata"].get("tags", []))
    assert f"]({generator.colab_url(CONFIG, f'notebooks/colab/{path.name}')})" in source(back)


def _notebook(cells: list[tuple[str, str, list[str]]]) -> dict:
    """A small solved notebook: (cell type, source, tags) each, a title cell first."""
    made = [{"cell_type": "markdown", "id": "title", "metadata": {}, "source": ["# Title"]}]
    for i, (kind, text, cell_tags) in enumerate(cells):
        cell = {"cell_type": kind, "id": f"c{i}", "metadata": {"tags": cell_tags}, "source": [text]}
        if kind == "code":
            cell.update(execution_count=i + 1, outputs=[])
        made.append(cell)
    return {"cells": made, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_markdown_in_a_solution_dropdown_is_folded_in_colab_and_gone_for_students():
    """The chapters' dropdowns hold one code cell each today; an explanation written into one
    (in the fence's cell or a cell of its own) must not be shown unasked."""
    notebook = _notebook([
        ("markdown", "Intro {cite:p}`kingma2014`.\n\n```{exercise}\n:label: ex-a\n\nWrite `f`.\n```\n\n"
                     "```{solution-start} ex-a\n:class: dropdown\n```\n\nTHE TRICK: double it.", []),
        ("code", "def f(x):\n    return 2 * x", ["solution"]),
        ("markdown", "WHY: twice is double.", []),
        ("markdown", "```{solution-end}\n```\n\nAfter the solution.", []),
        ("code", "check.f(f)", []),
    ])
    notebook["cells"][2]["metadata"]["answers"] = ["f"]  # the solution cell (after the title): the name it answers
    colab = generator.colab_version(notebook, CONFIG, "x.ipynb")
    texts = [source(c) for c in colab["cells"]]
    assert raw_myst(colab) == [] and shown_solutions(colab, notebook) == []
    assert texts[2].startswith("Intro ([Kingma and Welling, 2014](https://arxiv.org/abs/1312.6114)).\n\n"
                               "> **Exercise ex-a.** Write `f`.")
    assert "<details>\n<summary>Solution to exercise ex-a" in texts[2] and texts[2].index("THE TRICK") > texts[2].index("<details>")
    assert texts[4].startswith("<details>") and "WHY" in texts[4]
    assert texts[5] == "After the solution." and texts[6] == "check.f(f)"
    assert is_hidden(colab["cells"][3]) and not is_hidden(colab["cells"][6])
    student = generator.student_version(notebook, CONFIG, "x.ipynb")
    shown = "".join(source(c) for c in student["cells"])
    assert "THE TRICK" not in shown and "WHY" not in shown and "After the solution." in shown


def test_plain_exercise_can_name_the_exercise_by_its_label():
    markdown = "```{exercise}\n:label: ex-a\n\nWrite `f`.\n```"
    assert generator.plain_exercise(markdown, labelled=True) == "> **Exercise ex-a.** Write `f`.\n"


def test_citations_link_to_the_work_where_the_bibliography_says_where():
    links = generator.citation_links()
    assert links["kingma2014"] == "https://arxiv.org/abs/1312.6114"
    assert links["baldi1989"] == "https://doi.org/10.1016/0893-6080(89)90014-2"
    text = generator.plain_roles("{cite:p}`kingma2014, baldi1989`", generator.citations(), links)
    assert text == ("([Kingma and Welling, 2014](https://arxiv.org/abs/1312.6114); "
                    "[Baldi and Hornik, 1989](https://doi.org/10.1016/0893-6080(89)90014-2))")


# -- widget state (student and Colab versions) -----------------------------------------

@pytest.mark.parametrize("path", GENERATED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_widget_output_has_its_model(path):
    notebook = load(path)
    assert missing_widget_models(notebook) == []
    old = copy.deepcopy(notebook)
    old["metadata"].pop("widgets", None)  # what the old tool wrote
    assert bool(missing_widget_models(old)) == bool(generator.widget_views(notebook))


def test_only_the_shown_models_and_what_they_name_are_kept():
    state = {"bar": {"state": {"children": ["IPY_MODEL_part"], "layout": "IPY_MODEL_layout"}},
             "part": {"state": {"layout": "IPY_MODEL_layout"}}, "layout": {"state": {}},
             "cleared": {"state": {"layout": "IPY_MODEL_other"}}, "other": {"state": {}}}
    solved = {"cells": [], "metadata": {"widgets": {generator.WIDGET_STATE: {"state": state, "version_major": 2}}}}
    view = {"output_type": "display_data", "data": {generator.WIDGET_VIEW: {"model_id": "bar"}}, "metadata": {}}
    version = generator.with_widget_state({"cells": [{"cell_type": "code", "outputs": [view]}], "metadata": {}}, solved)
    kept = version["metadata"]["widgets"][generator.WIDGET_STATE]
    assert sorted(kept["state"]) == ["bar", "layout", "part"] and kept["version_major"] == 2
    assert missing_widget_models(version) == []
    none = generator.with_widget_state({"cells": [], "metadata": {"widgets": {}}}, solved)
    assert "widgets" not in none["metadata"], "no widget output, no state"
