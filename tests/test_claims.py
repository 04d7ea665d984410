"""Every number the prose quotes from a run is glued from that run.

A typed "0.0173" goes stale the day a notebook is re-run; ``{glue:text}`key```
shows what the stored run produced. The rule, applied to each chapter's Markdown
and to the book's own pages (outside math, inline code and glue roles; on a page,
each table row counts as its own paragraph):

* a decimal with three or more significant digits, any percentage, and any time or
  memory size ("71 s", "127.5 MB": a run measured them) must be glued,
* unless the code of the same notebook types that very number (a setting such as a
  threshold of 1.005 is the code's, not a result), or its paragraph names where it
  comes from: a citation (``{cite``) or a benchmark of the repository (``benchmarks/``).

Numbers with one or two significant digits (a learning rate of 0.01, a 2-D toy) pass:
they are settings far more often than results; the glue test cannot tell, and says so.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from aecourse.glue import glued_values

sys.path.insert(0, str(Path(__file__).resolve().parent))
from book_layout import load_notebook  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0*.ipynb"))
GLUE_ROLE = re.compile(r"\{glue(?::text)?\}`(?P<key>[^`:]+)(?::[^`]*)?`")
NUMBER = re.compile(r"(?<![\w.\\])(?P<number>\d+(?:,\d{3})*(?:\.\d+)?)(?P<percent>\s?%)?(?![\w]|\.\d)")
MEASURED_UNIT = re.compile(r"\s?(?:s|ms|min|minutes|MB|GB|KB)\b")
VERSION_OF = re.compile(r"(?:Python|PyTorch|torch|torchvision|NumPy|matplotlib|ipywidgets|myst-nb|version)\s*$")
HIDDEN = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$|`[^`]*`|\{[a-z:]+\}`[^`]*`|\]\([^)]*\)", re.DOTALL)


def _significant_digits(number: str) -> int:
    digits = number.replace(",", "").replace(".", "").lstrip("0")
    return len(digits)


PAGES = sorted((ROOT / "book").glob("*.md"))
PAGE_GLUE = re.compile(r"\{glue(?::text)?\}`/(?P<notebook>notebooks/[^`:]+\.ipynb)::(?P<key>[^`:]+)(?::[^`]*)?`")


def paragraphs(markdown: str) -> list[str]:
    """Blank-line separated paragraphs, with each row of a table a paragraph of its own.

    A table row says where its own number comes from; one row naming a benchmark must
    not excuse its neighbours. A table's caption (the paragraph just before it) may
    name the source of all its rows: each row then carries that caption's source.
    """
    found = []
    caption = ""
    for block in markdown.split("\n\n"):
        lines = block.split("\n")
        if lines and all(line.lstrip().startswith("|") for line in lines if line.strip()):
            sources = " ".join(source for source in ("{cite", "benchmarks/") if source in caption)
            found += [f"{line} {sources}".rstrip() for line in lines]
        else:
            found.append(block)
            caption = block
    return found


def quoted_numbers(markdown: str, typed_by_code: str) -> list[str]:
    """The numbers of ``markdown`` that should be glued but are typed."""
    found = []
    for paragraph in paragraphs(markdown):
        if "{cite" in paragraph or "benchmarks/" in paragraph:
            continue
        visible = HIDDEN.sub(" ", paragraph)
        for match in NUMBER.finditer(visible):
            number = match["number"]
            if VERSION_OF.search(visible[: match.start()]):
                continue  # "Python 3.10", "NumPy 1.26" (a dotted 2.14.1 never matches)
            is_decimal = "." in number
            is_measured = bool(MEASURED_UNIT.match(visible, match.end()))
            if not match["percent"] and not is_measured and not (is_decimal and _significant_digits(number) >= 3):
                continue
            if re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", typed_by_code):
                continue
            found.append(number + (match["percent"] or ""))
    return found


def _cells(path: Path) -> list[dict]:
    return load_notebook(path)["cells"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_numbers_quoted_from_a_run_are_glued(path):
    cells = _cells(path)
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    typed = {i: quoted_numbers("".join(c["source"]), code) for i, c in enumerate(cells) if c["cell_type"] == "markdown"}
    typed = {i: numbers for i, numbers in typed.items() if numbers}
    assert not typed, f"typed numbers that should be glued (cell: numbers): {typed}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_glued_quote_has_a_stored_value(path):
    notebook = load_notebook(path)
    stored = glued_values(notebook)
    quoted = {m["key"] for c in notebook["cells"] if c["cell_type"] == "markdown" for m in GLUE_ROLE.finditer("".join(c["source"]))}
    assert quoted, f"{path.name} quotes no glued value"
    assert quoted <= set(stored), f"quoted but never glued: {sorted(quoted - set(stored))}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_glue_only_in_cells_nbval_does_not_compare(path):
    """Glued values differ between fast and full runs, and are no text nbval could compare."""
    for cell in _cells(path):
        if cell["cell_type"] == "code" and "glue(" in "".join(cell["source"]):
            assert "nbval-ignore-output" in cell["metadata"].get("tags", []), "".join(cell["source"])[:80]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_fast_mode_notes_only_in_cells_nbval_does_not_compare(path):
    """A fast-mode note prints in fast mode only: the stored full run has no such line to compare."""
    for cell in _cells(path):
        if cell["cell_type"] == "code" and "note_if_fast(" in "".join(cell["source"]):
            assert "nbval-ignore-output" in cell["metadata"].get("tags", []), "".join(cell["source"])[:80]


def test_fast_mode_says_beside_a_glued_number_that_it_is_not_the_texts(monkeypatch, capsys):
    import importlib

    glue_module = importlib.import_module("aecourse.glue")

    monkeypatch.setenv("AECOURSE_FAST", "1")
    monkeypatch.setattr(glue_module, "_noted_cells", set())
    glue_module._note_fast_mode_once_per_cell()
    assert "shortened run" in capsys.readouterr().out
    monkeypatch.setenv("AECOURSE_FAST", "0")
    glue_module._note_fast_mode_once_per_cell()
    assert capsys.readouterr().out == ""


def _all_code() -> str:
    return "\n".join("".join(c["source"]) for path in NOTEBOOKS for c in _cells(path) if c["cell_type"] == "code")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_numbers_on_the_book_pages_are_glued(page):
    """The results page and its neighbours quote runs through ``{glue:text}`/notebooks/...::key```."""
    code = _all_code()
    typed = [(line, numbers) for line in paragraphs(page.read_text()) if (numbers := quoted_numbers(line, code))]
    assert not typed, f"{page.name}: typed numbers that should be glued (paragraph start: numbers): " + "; ".join(
        f"{line.strip()[:60]!r}: {numbers}" for line, numbers in typed)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_every_glued_quote_on_a_page_has_a_stored_value(page):
    stored = {}
    for match in PAGE_GLUE.finditer(page.read_text()):
        path = ROOT / match["notebook"]
        assert path.is_file(), f"{page.name} quotes {match['notebook']}, which does not exist"
        if path not in stored:
            stored[path] = glued_values(load_notebook(path))
        assert match["key"] in stored[path], f"{page.name} quotes {match['key']!r}, which {path.name} never glues"


def test_the_rule_catches_what_it_should():
    """The checker itself: a typed result is caught; settings, citations and glue are not."""
    code = "if ratio <= 1.005:\n    lr = 0.01"
    assert quoted_numbers("The test MSE is 0.0173, 12 % better.", code) == ["0.0173", "12 %"]
    assert quoted_numbers("Within 0.5 % of the optimum (ratio 1.005), at lr 0.01.", code) == ["0.5 %"]
    assert quoted_numbers("It reaches {glue:text}`mse:.4f` here, $x = 0.123$, `0.456`.", code) == []
    assert quoted_numbers("Their autoencoder reaches 3.00 per image {cite:p}`hinton2006`.", code) == []
    assert quoted_numbers("It took 71 s and 1.5 min and grew by 12 MB, in 3 steps.", code) == ["71", "1.5", "12"]
    assert quoted_numbers("Python 3.10 or newer; PyTorch 2.14.1 with NumPy 1.26.4; 2.3.0 / 0.18.0.", code) == []
    table = "| run | MSE |\n| --- | --- |\n| ours | 0.0173 |\n| theirs, `benchmarks/x.txt` | 0.0191 |"
    assert quoted_numbers(table, code) == ["0.0173"]
    assert quoted_numbers("Measured by `benchmarks/x.py`:\n\n" + table, code) == []


def test_glue_stores_what_the_book_and_the_generator_read():
    """``aecourse.glue`` writes myst-nb's record format; ``glued_values`` and the generator read it back."""
    import importlib.util
    import sys

    import torch
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from aecourse.glue import GLUE_PREFIX, glue

    InteractiveShell.instance()
    with capture_output() as captured:
        returned = glue("mse", torch.tensor(0.0173))
    assert returned is None  # a cell ending with glue(...) must not print the value as its result
    (shown,) = captured.outputs
    assert shown.metadata["scrapbook"] == {"name": "mse", "mime_prefix": GLUE_PREFIX}
    assert float(shown.data[GLUE_PREFIX + "text/plain"]) == pytest.approx(0.0173)  # a number, not "tensor(...)"
    notebook = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "display_data", "data": shown.data, "metadata": shown.metadata}]}]}
    assert set(glued_values(notebook)) == {"mse"}

    spec = importlib.util.spec_from_file_location("generator", ROOT / "tools" / "make_student_notebooks.py")
    generator = importlib.util.module_from_spec(spec)
    sys.modules["generator"] = generator
    spec.loader.exec_module(generator)
    assert generator.plain_glue("error {glue:text}`mse:.3f`, {glue:text}`mse:.0%`", glued_values(notebook)) == "error 0.017, 2%"
    with pytest.raises(ValueError, match="no cell glues"):
        generator.plain_glue("{glue:text}`missing`", glued_values(notebook))


@pytest.mark.parametrize("text, spec", [("0.017300", ".4f"), ("0.2399", ".0%"), ("10", "d"), ("10", ""),
                                        ("'abc'", ""), ("abc", "s"), ("1234.5", ",.1f"), ("99.70591", ".2f")])
def test_the_generator_formats_glued_values_as_the_book_does(text, spec):
    """``format_glued`` (which the Colab and exercise versions use) agrees with myst-nb's formatter."""
    variables = pytest.importorskip("myst_nb.core.variables", reason="myst-nb is the book's builder; "
                                    "the oldest-versions environment has no book")
    from aecourse.glue import format_glued

    assert format_glued(text, spec) == variables.format_plain_text(text, spec)


def test_chapter_6_quotes_chapter_4s_stored_conv_mse() -> None:
    """Chapter 6 plots chapter 4's convolutional autoencoder from a constant (chapter 4 ships no
    weights): it must be chapter 4's stored glued ``conv_mse``, to the four places it shows."""
    from aecourse.glue import glued_values
    from notebook_io import read as read_notebook

    source = "\n".join(c.source for c in read_notebook(ROOT / "notebooks" / "06_vq_vae.ipynb").cells
                       if c.cell_type == "code")
    constant = re.search(r"^CH4_CONV_MSE = ([0-9.]+)", source, re.MULTILINE)
    assert constant, "chapter 6 no longer defines CH4_CONV_MSE; drop this test or point it at the new source"
    stored = float(glued_values(read_notebook(ROOT / "notebooks" / "04_conv_denoising_sparse.ipynb"))["conv_mse"])
    assert round(stored, 4) == float(constant[1]), f"chapter 4's stored conv_mse is {stored:.4f}, chapter 6 says {constant[1]}"
