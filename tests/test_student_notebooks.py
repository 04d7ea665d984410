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


def test_glossary_links_become_their_text():
    text = "Each {term}`nat` is {term}`a unit\nof information <nat>` and {term}`SGD <stochastic gradient descent (SGD)>`."
    assert generator.plain_roles(text, {}) == "Each nat is a unit of information and SGD."


@pytest.mark.parametrize("path", SOLVED, ids=lambda p: p.name)
def test_student_markdown_has_no_myst_syntax_colab_would_show_raw(path):
    student = load_notebook(ROOT / "notebooks" / "student" / path.name)
    for cell in student["cells"]:
        if cell["cell_type"] == "markdown":
            text = "".join(cell["source"])
            assert not re.search(r"\{(cite|doc|ref|numref|term|glue[:a-z]*|exercise|solution)[^}]*\}", text), text[:200]


# -- answers declared, not guessed --------------------------------------------------------

def _solution_cell(source: str, answers=None) -> dict:
    metadata = {"tags": ["solution"]}
    if answers is not None:
        metadata["answers"] = answers
    return {"cell_type": "code", "metadata": metadata, "source": source, "outputs": [], "execution_count": 1}


def test_only_the_declared_answer_becomes_a_stub_and_the_checks_other_arguments_keep_their_values():
    """Chapter 4's anomaly exercise hands the check the chapter's trained model: it is no answer."""
    solution = 'def anomaly_score(model, images):\n    """One score per image."""\n    return model(images)\n'
    names = generator.declared_answers(_solution_cell(solution, ["anomaly_score"]), solution,
                                       "check.anomaly_score(anomaly_score, conv_model, test.images[half:])", "here")
    stub = generator.stub_for(solution, names, "ex-ch4-anomaly")
    assert "conv_model" not in stub and "def anomaly_score(model, images):" in stub


@pytest.mark.parametrize("answers, check, words", [
    (None, "check.f(f)", "declare the names"),
    ([], "check.f(f)", "declare the names"),
    (["g"], "check.f(g)", "does not define them"),
    (["f"], "check.f(model, data)", "is not given them"),
])
def test_an_undeclared_or_wrongly_declared_answer_stops_the_generator_with_a_message(answers, check, words):
    solution = 'def f(x):\n    """Twice x."""\n    return 2 * x\n'
    with pytest.raises(ValueError, match=words):
        generator.declared_answers(_solution_cell(solution, answers), solution, check, "ch0: solution cell 3")


def _exercise_texts(solved: dict) -> dict[str, str]:
    """Each exercise label -> the text of its exercise box."""
    texts = {}
    for cell in solved["cells"]:
        if cell["cell_type"] == "markdown":
            for match in generator.EXERCISE.finditer("".join(cell["source"])):
                label = re.search(r"^:label:\s*(\S+)", match["options"], re.MULTILINE)
                texts[label[1]] = match["body"]
    return texts


@pytest.mark.parametrize("path", SOLVED, ids=lambda p: p.name)
def test_every_stub_leaves_to_write_only_names_its_exercise_asks_for(path):
    """A stub that blanks a name the exercise text never mentions (``conv_model = ...``) cannot be finished."""
    texts = _exercise_texts(load_notebook(path))
    student = load_notebook(ROOT / "notebooks" / "student" / path.name)
    stubs = [c for c in student["cells"] if "exercise-stub" in c["metadata"].get("tags", [])]
    assert stubs
    for stub in stubs:
        text = "".join(stub["source"])
        label = re.match(r"# Exercise (ex-[\w-]+):", text)[1]
        blanked = re.findall(r"^(\w+) = \.\.\.", text, re.MULTILINE)
        written = re.findall(r"^(?:def|class) (\w+)", text, re.MULTILINE)
        for name in blanked + written:
            assert f"`{name}" in texts[label], f"{label}'s stub leaves {name} to write, but its exercise never asks for it"


@pytest.mark.parametrize("path", SOLVED, ids=lambda p: p.name)
def test_every_function_or_class_left_to_write_has_a_docstring_that_states_its_contract(path):
    student = load_notebook(ROOT / "notebooks" / "student" / path.name)
    for stub in (c for c in student["cells"] if "exercise-stub" in c["metadata"].get("tags", [])):
        tree = __import__("ast").parse("".join(stub["source"]))
        for node in tree.body:
            if node.__class__.__name__ in ("FunctionDef", "ClassDef"):
                assert __import__("ast").get_docstring(node), f"{node.name} is left to write with no contract"


@pytest.mark.parametrize("path", SOLVED, ids=lambda p: p.name)
def test_the_chapters_checks_are_defined_in_the_order_of_its_exercises(path):
    """``check.progress()`` lists a chapter's exercises in the order the checks are defined."""
    import importlib

    from aecourse.checks.core import EXERCISES

    module = importlib.import_module(f"aecourse.checks.ch{int(path.name[:2])}")
    in_module = [e.label for e in EXERCISES.values() if e.chapter == module.__name__]
    assert in_module == list(_exercise_texts(load_notebook(path)))
