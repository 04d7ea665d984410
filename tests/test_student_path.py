"""The student's path: each exercise version completed as a student completes it, then run.

For every chapter the exercise version (``notebooks/student/``) is filled in the way a
student fills it in: each stub cell, and only a stub cell, is replaced by an answer that
defines the names the exercise declares. Then the notebook runs top to bottom in fast
mode, in a real kernel, cell by cell, as a student presses Shift-Enter. Three passes:

* ``solved``: the worked answers (the solved notebook's solution cells);
* ``other``: a correct answer written differently, the first ``"correct"`` source of the
  exercise in ``tests/answers_chN.py`` (the check tests judge the same sources);
* ``wrong``: a typical wrong answer, the first ``"wrong"`` source there. Its check must
  reject it with the words the answers file names. The notebook then carries on with the
  wrong answer in place, as ``book/exercises.md`` says it does; a cell that cannot use it
  may stop, but with an error raised in the student's or the notebook's code, never a
  traceback through the course's package. The test then does what the page tells the
  student to do: it fixes the answer, runs the exercise's cells again and runs on.

In the first two passes every check must say "Correct", no cell may fail, and the
chapter's last cell (``check.progress()``) must count every exercise as passed. The
Colab solved versions (``notebooks/colab/``) run top to bottom too, with the same demands.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
SOLVED = sorted((ROOT / "notebooks").glob("*.ipynb"))
STUB_TAG = "exercise-stub"
STUB_LABEL = re.compile(r"^# Exercise (?P<label>ex-[\w-]+):")
CHECK_CELL = re.compile(r"^check\.(?!progress\b|hint\b)\w+\(")
PACKAGE_FRAME = re.compile(r"aecourse[/\\](?!checks[/\\]core\.py)[\w/\\]+\.py")
CELL_TIMEOUT = 300


def chapter_of(path: Path) -> str:
    return f"ch{int(path.name[:2])}"


def answers_for(path: Path) -> dict:
    """``ANSWERS`` of the chapter's answers file: label -> {"correct": [...], "wrong": [(src, words), ...]}."""
    return importlib.import_module(f"answers_{chapter_of(path)}").ANSWERS


def text_of(cell) -> str:
    """What a cell printed or showed as text: streams, results, errors."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif output.get("output_type") in ("execute_result", "display_data"):
            parts.append(output.get("data", {}).get("text/plain", ""))
        elif output.get("output_type") == "error":
            parts.append(f"{output.get('ename')}: {output.get('evalue')}")
    return "".join(parts)


def stubs(notebook) -> dict[int, str]:
    """Cell index -> exercise label, for every stub cell of an exercise version."""
    found = {}
    for index, cell in enumerate(notebook.cells):
        if STUB_TAG in cell.metadata.get("tags", []):
            match = STUB_LABEL.match(cell.source)
            assert match, f"stub cell {index} does not start by naming its exercise: {cell.source[:80]!r}"
            found[index] = match["label"]
    return found


def solutions(path: Path) -> list[str]:
    solved = nbformat.read(path, as_version=4)
    return [c.source for c in solved.cells if "solution" in c.metadata.get("tags", [])]


def check_cells(notebook, labels: dict[int, str]) -> dict[int, str]:
    """Cell index -> the label of the exercise whose check it is (the last stub before it);
    ``labels`` are the notebook's stubs, read before any was filled in."""
    found, label = {}, None
    for index, cell in enumerate(notebook.cells):
        label = labels.get(index, label)
        if cell.cell_type == "code" and CHECK_CELL.match(cell.source):
            found[index] = label
    return found


class Student:
    """A kernel running one notebook cell by cell, with the notebook's folder as its working directory."""

    def __init__(self, notebook, monkeypatch, mnist_dir) -> None:
        monkeypatch.setenv("AECOURSE_FAST", "1")
        monkeypatch.setenv("AECOURSE_DATA", str(mnist_dir))
        monkeypatch.setenv("MPLBACKEND", "Agg")
        self.notebook = notebook
        self.client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT / "notebooks")}})

    def run(self, index: int) -> None:
        cell = self.notebook.cells[index]
        if cell.cell_type == "code":
            self.client.execute_cell(cell, index)


def run_completed(notebook, monkeypatch, mnist_dir) -> None:
    """Run every cell in order; a failing cell fails the test with the error the student would see."""
    student = Student(notebook, monkeypatch, mnist_dir)
    with student.client.setup_kernel():
        for index in range(len(notebook.cells)):
            try:
                student.run(index)
            except CellExecutionError as error:
                pytest.fail(f"cell {index} failed: {error.ename}: {error.evalue}\n"
                            f"{notebook.cells[index].source[:300]}", pytrace=False)


def assert_every_check_correct(notebook, labels: dict[int, str]) -> None:
    checks = check_cells(notebook, labels)
    assert checks, "no check cell ran"
    for index, label in checks.items():
        said = text_of(notebook.cells[index])
        assert said.startswith("Correct"), f"{label} (cell {index}): {said[:400]}"
    last = notebook.cells[-1]
    assert last.source.strip() == "check.progress()", "the chapter's last cell must show where the student stands"
    said = text_of(last)
    count = len(set(checks.values()))
    assert said.startswith(f"{count} of {count} exercises pass"), said


@pytest.mark.parametrize("path", SOLVED, ids=lambda p: p.name)
@pytest.mark.parametrize("kind", ["solved", "other"])
def test_a_completed_exercise_version_runs_top_to_bottom_and_every_check_passes(path, kind, monkeypatch, mnist_dir):
    notebook = nbformat.read(ROOT / "notebooks" / "student" / path.name, as_version=4)
    labels = stubs(notebook)
    if kind == "solved":
        worked = solutions(path)
        assert len(worked) == len(labels)
        filled = dict(zip(labels, worked))
    else:
        answers = answers_for(path)
        assert set(answers) == set(labels.values()), "tests/answers_chN.py must answer every exercise of the chapter"
        filled = {index: answers[label]["correct"][0] for index, label in labels.items()}
    for index, answer in filled.items():
        notebook.cells[index].source = answer
    run_completed(notebook, monkeypatch, mnist_dir)
    assert_every_check_correct(notebook, labels)


@pytest.mark.parametrize("path", SOLVED, ids=lambda p: p.name)
def test_the_colab_solved_version_runs_top_to_bottom_and_every_check_passes(path, monkeypatch, mnist_dir):
    notebook = nbformat.read(ROOT / "notebooks" / "colab" / path.name, as_version=4)
    run_completed(notebook, monkeypatch, mnist_dir)
    checks = [c for c in notebook.cells if c.cell_type == "code" and CHECK_CELL.match(c.source)]
    assert checks
    for cell in checks:
        assert text_of(cell).startswith("Correct"), text_of(cell)[:400]
    assert text_of(notebook.cells[-1]).startswith(f"{len(checks)} of {len(checks)} exercises pass")


def course_frames(error: CellExecutionError) -> list[str]:
    """The files of the course's package that the error's traceback passes through (the checks'
    own machinery aside, which reports a wrong answer and never raises at the student)."""
    return sorted(set(PACKAGE_FRAME.findall(re.sub(r"\x1b\[[0-9;]*m", "", str(error)))))


@pytest.mark.parametrize("path", SOLVED, ids=lambda p: p.name)
def test_a_wrong_answer_is_rejected_and_the_notebook_carries_on_as_the_exercise_page_says(path, monkeypatch, mnist_dir):
    notebook = nbformat.read(ROOT / "notebooks" / "student" / path.name, as_version=4)
    answers, labels = answers_for(path), stubs(notebook)
    checks = check_cells(notebook, labels)
    right = {index: answers[label]["correct"][0] for index, label in labels.items()}
    wrong = {index: answers[label]["wrong"][0] for index, label in labels.items()}
    for index, (source, _) in wrong.items():
        notebook.cells[index].source = source
    still_wrong = set(wrong)  # stub cells holding the wrong answer
    rejected: set[str] = set()
    stops: list[str] = []
    student = Student(notebook, monkeypatch, mnist_dir)
    with student.client.setup_kernel():
        index = 0
        while index < len(notebook.cells):
            try:
                student.run(index)
            except CellExecutionError as error:
                frames = course_frames(error)
                assert not frames, (f"with wrong answers in place, cell {index} failed with a traceback through "
                                    f"the course's package ({', '.join(frames)}): {error.ename}: {error.evalue}")
                assert any(stub < index for stub in still_wrong), (
                    f"cell {index} failed with every answer above it right: {error.ename}: {error.evalue}")
                stops.append(f"cell {index}: {error.ename}")
                # What exercises.md tells the student: fix the answer, run its cell and its check, run on.
                # (Every wrong answer above the failing cell is fixed; those below it are still to be met.)
                above = sorted(stub for stub in still_wrong if stub < index)
                for stub in above:
                    notebook.cells[stub].source = right[stub]
                    still_wrong.discard(stub)
                index = above[0]
                continue
            if index in checks and checks[index] not in rejected:
                label = checks[index]
                stub = max(i for i in labels if i < index)
                if stub in still_wrong:
                    said = " ".join(text_of(notebook.cells[index]).split())  # the notebook wraps a verdict at 78 columns
                    words = " ".join(wrong[stub][1].split())
                    assert said.startswith("Not yet"), f"{label}: a wrong answer got {said[:300]!r}"
                    assert words in said, f"{label}: rejected without naming {words!r}: {said[:400]}"
                    rejected.add(label)
            index += 1
    assert rejected == set(labels.values()), f"checks never run on their wrong answer: {set(labels.values()) - rejected}"
