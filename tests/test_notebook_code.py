"""tools/notebook_code.py: a notebook's ``export`` cells run in order, the names asked for come back,
and every way it can fail says what went wrong and where."""

import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from notebook_code import NotebookCellError, defined_names, from_notebook  # noqa: E402


def write_notebook(path: Path, cells: list[tuple[str, list[str]]]) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# A chapter")]
    notebook.cells += [nbformat.v4.new_code_cell(text, metadata={"tags": cell_tags}) for text, cell_tags in cells]
    nbformat.write(notebook, path)
    return path


@pytest.fixture
def chapter(tmp_path: Path) -> Path:
    return write_notebook(tmp_path / "99_chapter.ipynb", [
        ("SCALE = base * 2", ["export"]),
        ("class Model:\n    scale = SCALE", ["export", "nbval-ignore-output"]),
        ("class Hidden:\n    pass", []),  # not exported: never run
        ("def double(x):\n    return Model.scale * x", ["export"]),
    ])


def test_runs_the_export_cells_in_order_in_the_namespace_given(chapter: Path) -> None:
    namespace = {"base": 3}
    Model, double = from_notebook(chapter, "Model", "double", namespace=namespace)
    assert Model.scale == 6 and double(2) == 12
    assert "Hidden" not in namespace and namespace["SCALE"] == 6
    assert from_notebook(chapter, "Model", namespace={"base": 1}).scale == 2  # one name: the object itself


def test_no_such_notebook_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no notebook .*missing.ipynb"):
        from_notebook(tmp_path / "missing.ipynb", "Model")
    with pytest.raises(FileNotFoundError, match="the chapters: 01_"):
        from_notebook("99_no_such_chapter", "Model")


def test_a_name_no_export_cell_defines_is_a_clear_error_and_nothing_runs(chapter: Path) -> None:
    namespace = {"base": 1}
    with pytest.raises(LookupError, match="no cell tagged 'export' in 99_chapter.ipynb defines Hidden"):
        from_notebook(chapter, "Model", "Hidden", namespace=namespace)
    assert "Model" not in namespace


def test_a_failing_cell_is_named(chapter: Path) -> None:
    with pytest.raises(NotebookCellError, match=r"99_chapter.ipynb, cell 1 .*NameError: name 'base'"):
        from_notebook(chapter, "Model", namespace={})


def test_defined_names_are_the_top_level_bindings() -> None:
    text = "import torch.nn as nn\nfrom math import pi\nA, (b, c) = 1, (2, 3)\nclass K:\n    inner = 1\ndef f():\n    local = 2"
    assert defined_names(text) == {"nn", "pi", "A", "b", "c", "K", "f"}
