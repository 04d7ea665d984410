"""Student notebooks: generated from the solved ones, never stale, and stopping clearly at a stub."""

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_student_notebooks as generator  # noqa: E402
from book_layout import load_notebook  # noqa: E402

SOLVED = sorted((ROOT / "notebooks").glob("*.ipynb"))


def code_sources(notebook: dict) -> list[str]:
    return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]


def test_every_chapter_has_a_student_notebook():
    assert [p.name for p in SOLVED] == sorted(p.name for p in (ROOT / "notebooks" / "student").glob("*.ipynb"))


def test_generated_files_are_up_to_date():
    """Regenerating must give the committed files byte for byte (run the tool if this fails)."""
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "make_student_notebooks.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", SOLVED, ids=lambda p: p.name)
def test_execution_counts_are_the_solved_runs_one_to_n(path):
    """The kept outputs come from the solved notebook's one top-to-bottom run; so do the counts."""
    student = load_notebook(ROOT / "notebooks" / "student" / path.name)
    counts = [c["execution_count"] for c in student["cells"] if c["cell_type"] == "code"]
    assert counts == list(range(1, len(counts) + 1))


@pytest.mark.parametrize("path", SOLVED, ids=lambda p: p.name)
def test_no_solution_survives_and_pasting_them_back_restores_the_solved_code(path):
    solved = load_notebook(path)
    student = load_notebook(ROOT / "notebooks" / "student" / path.name)
    solutions = [c for c in solved["cells"] if "solution" in c["metadata"].get("tags", [])]
    stubs = [c for c in student["cells"] if "exercise-stub" in c["metadata"].get("tags", [])]
    assert len(stubs) == len(solutions) >= 3
    for stub, solution in zip(stubs, solutions):
        assert "".join(solution["source"]) not in "".join(stub["source"])
        assert not stub["outputs"]
        stub["source"] = solution["source"]  # the student pastes the answer in
    assert code_sources(student) == code_sources(solved)


def test_stub_of_a_value_answer_and_a_function():
    solution = 'def double(x):\n    """Twice x."""\n    return 2 * x\n\nanswer = double(2)\n'
    stub = generator.stub_for(solution, ["double", "answer"], "ex-1")
    namespace: dict = {}
    exec(stub, namespace)
    assert namespace["answer"] is Ellipsis
    with pytest.raises(NotImplementedError, match="exercise ex-1 is not done yet: write double"):
        namespace["double"](3)
    assert '"""Twice x."""' in stub and "return 2 * x" not in stub


def test_plain_exercise_keeps_the_task_and_drops_the_solution_fence():
    markdown = ("Intro.\n\n```{exercise}\n:label: ex-a\n\nWrite `f`.\n```\n\n"
                "```{solution-start} ex-a\n:class: dropdown\n```")
    assert generator.plain_exercise(markdown) == "Intro.\n\n> **Exercise.** Write `f`.\n"


@pytest.mark.parametrize("path", SOLVED, ids=lambda p: p.name)
def test_running_the_student_notebook_untouched_stops_only_at_an_unfinished_exercise(path, mnist_dir, monkeypatch):
    """Top to bottom with every stub untouched: checks say "Not done yet", and if a later
    cell needs an unwritten answer the run stops with ExerciseNotDone, nothing else."""
    monkeypatch.setenv("AECOURSE_FAST", "1")
    monkeypatch.setenv("AECOURSE_DATA", str(mnist_dir))
    notebook = nbformat.read(ROOT / "notebooks" / "student" / path.name, as_version=4)
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    try:
        client.execute()
    except CellExecutionError as error:
        assert error.ename == "ExerciseNotDone", f"stopped with {error.ename}: {error.evalue}"
    checks = [c for c in notebook.cells if c.cell_type == "code" and c.source.startswith("check.") and c.outputs]
    assert checks, "the run stopped before the first check"
    for cell in checks:
        text = "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in cell.outputs)
        assert text.startswith("Not done yet"), text


def test_citations_and_page_links_become_plain_text():
    text = "A VAE {cite:p}`kingma2014`, see the {doc}`results\npage <../book/results>`."
    cited = generator.citations()
    assert cited["kingma2014"] == "Kingma and Welling, 2014"
    assert generator.plain_roles(text, cited) == "A VAE (Kingma and Welling, 2014), see the results page (in the book)."


@pytest.mark.parametrize("path", SOLVED, ids=lambda p: p.name)
def test_student_markdown_has_no_myst_syntax_colab_would_show_raw(path):
    student = load_notebook(ROOT / "notebooks" / "student" / path.name)
    for cell in student["cells"]:
        if cell["cell_type"] == "markdown":
            text = "".join(cell["source"])
            assert not re.search(r"\{(cite|doc|ref|numref|exercise|solution)[^}]*\}", text), text[:200]
