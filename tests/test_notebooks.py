"""The notebook contract: what every committed chapter notebook must satisfy.

nbval (run by the same test command) re-executes each notebook in fast mode
and compares the cells not tagged ``nbval-ignore-output``; these tests check
the rest of the contract on the stored files themselves.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from book_layout import ROOT, load_notebook, toc_files  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
IGNORE_TAG = "nbval-ignore-output"


def code_cells(notebook: dict) -> list[dict]:
    return [c for c in notebook["cells"] if c["cell_type"] == "code"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def text_of(cell: dict) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            parts.append("".join(output["text"]))
        elif "data" in output:
            parts.append("".join(output["data"].get("text/plain", "")))
    return "".join(parts)


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "no notebooks found in notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_in_the_table_of_contents(path: Path) -> None:
    assert f"notebooks/{path.stem}" in toc_files()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_cell_pins_aecourse_without_touching_torch(path: Path) -> None:
    """The install cell pins the release the notebook was run with, and checks it at import."""
    import aecourse

    first = code_cells(load_notebook(path))[0]
    text = source(first)
    assert "colab-setup" in tags(first)
    assert f'AECOURSE_VERSION = "{aecourse.__version__}"' in text, "run python tools/sync_repository.py"
    assert 'git+{REPO_URL}@v{AECOURSE_VERSION}' in text, "install the pinned release tag, never main"
    assert "aecourse.require_version(AECOURSE_VERSION, REPO_URL)" in text
    assert not re.search(r"pip install[^\n]*\btorch", text), "the setup cell must not (re)install torch"
    assert "runtime_report()" in text, "the setup cell prints the device (and the Colab GPU hint)"
    assert f"aecourse {aecourse.__version__} |" in text_of(first), "the stored run used this release"


def test_repository_url_is_synced_from_config() -> None:
    """_config.yml is the one place naming the repository; notebooks and pyproject follow it."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "sync_repository.py"), "--check"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, f"run python tools/sync_repository.py:\n{result.stdout}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_come_from_one_full_top_to_bottom_run(path: Path) -> None:
    cells = code_cells(load_notebook(path))
    counts = [c["execution_count"] for c in cells]
    assert counts == list(range(1, len(cells) + 1)), f"execution counts {counts}"
    errors = [o for c in cells for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, f"stored error output: {errors[0]['ename']}"
    assert "mode: full" in text_of(cells[0]), "stored outputs must come from a full-mode run"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_compared_cells_have_only_stable_text_output(path: Path) -> None:
    """A cell nbval compares must not print progress bars, widgets or figures."""
    for cell in code_cells(load_notebook(path)):
        if IGNORE_TAG in tags(cell):
            continue
        for output in cell["outputs"]:
            kinds = set(output.get("data", {})) - {"text/plain"}
            assert not kinds, f"cell {cell['execution_count']} shows {kinds}: tag it {IGNORE_TAG}"
            assert output.get("name") != "stderr", f"cell {cell['execution_count']} writes to stderr: tag it {IGNORE_TAG}"


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_book_shows_no_stored_widget(path: Path) -> None:
    """Progress is printed as text (``aecourse.train.fit`` uses ``tqdm.std``), and a widget's
    output (the slider explorers) is tagged ``remove-output`` with a static figure after it:
    the book serves no widget manager, so a widget view it would publish draws nothing."""
    for cell in code_cells(load_notebook(path)):
        if "remove-output" in tags(cell):
            continue
        shown = [o for o in cell["outputs"] if WIDGET_VIEW in o.get("data", {})]
        assert not shown, (f"cell {cell['execution_count']} stores a widget the book would show: re-run the "
                           f"notebook (make run-notebook NB=notebooks/{path.name}) for text progress, or tag "
                           "the cell remove-output and draw a static figure after it (tag widget-static)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_device_is_hard_coded(path: Path) -> None:
    """Only a cell tagged 'tutorial-flaw' may call .cuda(), to show it fail, and it must catch the error."""
    for cell in code_cells(load_notebook(path)):
        hard_coded = re.search(r"\.cuda\(|device\s*=\s*['\"]cuda", source(cell))
        if "tutorial-flaw" in tags(cell):
            assert "except" in source(cell), f"a flaw demo must catch its own error:\n{source(cell)}"
        else:
            assert not hard_coded, source(cell)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_exercise_has_a_hidden_solution_and_a_passing_check(path: Path) -> None:
    """Convention: {exercise} box, gated dropdown solution cell(s) tagged 'solution', then a check."""
    cells = load_notebook(path)["cells"]
    labels = [m for c in cells if c["cell_type"] == "markdown"
              for m in re.findall(r"```\{exercise\}[^\n]*\n:label: (\S+)", source(c))]
    assert len(labels) >= 3, f"{path.name} has {len(labels)} exercises, the course wants at least 3"
    for label in labels:
        start = next(i for i, c in enumerate(cells) if f"{{solution-start}} {label}" in source(c))
        assert ":class: dropdown" in source(cells[start]), f"{label}: the solution must fold away"
        end = next(i for i in range(start, len(cells)) if "{solution-end}" in source(cells[i]))
        inside = [c for c in cells[start + 1:end] if c["cell_type"] == "code"]
        assert inside and all("solution" in tags(c) for c in inside), f"{label}: tag solution cells 'solution'"
        after = next(c for c in cells[end:] if c["cell_type"] == "code")
        assert source(after).lstrip().startswith("check."), f"{label}: a check cell must follow the solution"
        assert text_of(after).startswith("Correct"), f"{label}: the stored check must pass: {text_of(after)!r}"


# -- code that tests and benchmarks reuse: cells tagged ``export`` (tools/notebook_code.py) --

sys.path.insert(0, str(ROOT / "tools"))
import notebook_code  # noqa: E402

LOADER_TESTS = ROOT / "tests" / "test_notebook_code.py"  # the loader's own tests, on notebooks they write


def loader_calls() -> list[tuple[str, ast.Call]]:
    """Every ``from_notebook(...)`` call in tests/ and benchmarks/ (``file:line``, call), but those
    inside a ``pytest.raises`` block (a test of the loader's errors) and those in the loader's own tests."""
    found = []
    for path in sorted((ROOT / "tests").glob("*.py")) + sorted((ROOT / "benchmarks").glob("*.py")):
        if path == LOADER_TESTS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        expected_to_fail = {id(node) for block in ast.walk(tree) if isinstance(block, ast.With)
                            and any(isinstance(item.context_expr, ast.Call)
                                    and ast.unparse(item.context_expr.func).endswith("raises") for item in block.items)
                            for node in ast.walk(block)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and ast.unparse(node.func).split(".")[-1] == "from_notebook"
                    and id(node) not in expected_to_fail):
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", node))
    return found


def exported_names(path: Path) -> set[str]:
    return set().union(*(notebook_code.defined_names(text) for _, text in notebook_code.exported_cells(path)))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_exported_cell_defines_something_and_is_no_solution(path: Path) -> None:
    for cell in code_cells(load_notebook(path)):
        if notebook_code.EXPORT_TAG in tags(cell):
            assert notebook_code.defined_names(source(cell)), f"{path.name}: an export cell defines no name:\n{source(cell)}"
            assert "solution" not in tags(cell), (
                f"{path.name}: an export cell must not be a solution (the student version stubs it):\n{source(cell)}")


def test_every_name_a_test_or_benchmark_asks_for_is_exported() -> None:
    calls = loader_calls()
    assert calls, "no from_notebook call found in tests/ or benchmarks/: is the scan broken?"
    for where, call in calls:
        arguments = call.args
        assert arguments and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in arguments), (
            f"{where}: name the chapter and the names as string literals, so that this test can check them")
        chapter, *names = (a.value for a in arguments)
        path = notebook_code.notebook_path(chapter)
        missing = set(names) - exported_names(path)
        assert names and not missing, f"{where}: no cell tagged export in {path.name} defines {sorted(missing)}"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if notebook_code.exported_cells(p)], ids=lambda p: p.name)
def test_generated_versions_keep_exported_code_as_it_is(path: Path) -> None:
    """The student and Colab versions copy an export cell unchanged (its tag too, which no one there reads);
    the loader reads only the solved notebooks in notebooks/."""
    import yaml

    import make_student_notebooks as generator

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    solved = load_notebook(path)
    exported = {c["id"]: source(c) for c in code_cells(solved) if notebook_code.EXPORT_TAG in tags(c)}
    for version in (generator.student_version, generator.colab_version):
        cells = {c.get("id"): c for c in version(solved, config, path.name)["cells"]}
        for cell_id, text in exported.items():
            assert cell_id in cells and source(cells[cell_id]) == text, f"{version.__name__} changes export cell {cell_id}"
            assert tags(cells[cell_id]) == tags(next(c for c in solved["cells"] if c.get("id") == cell_id))
