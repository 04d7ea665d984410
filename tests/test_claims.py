"""Every number the prose quotes from a run is glued from that run.

A typed "0.0173" goes stale the day a notebook is re-run; ``{glue:text}`key```
shows what the stored run produced. The rule, applied to each chapter's Markdown
(outside math, inline code and glue roles):

* a decimal with three or more significant digits, or any percentage, must be glued,
* unless the code of the same notebook types that very number (a setting such as a
  threshold of 1.005 is the code's, not a result), or its paragraph names where it
  comes from: a citation (``{cite``) or a benchmark of the repository (``benchmarks/``).

Numbers with one or two significant digits (a learning rate of 0.01, a 2-D toy) pass:
they are settings far more often than results; the glue test cannot tell, and says so.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from aecourse.glue import glued_values

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0*.ipynb"))
GLUE_ROLE = re.compile(r"\{glue(?::text)?\}`(?P<key>[^`:]+)(?::[^`]*)?`")
NUMBER = re.compile(r"(?<![\w.\\])(?P<number>\d+(?:,\d{3})*(?:\.\d+)?)(?P<percent>\s?%)?(?![\w])")
HIDDEN = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$|`[^`]*`|\{[a-z:]+\}`[^`]*`|\]\([^)]*\)", re.DOTALL)


def _significant_digits(number: str) -> int:
    digits = number.replace(",", "").replace(".", "").lstrip("0")
    return len(digits)


def quoted_numbers(markdown: str, typed_by_code: str) -> list[str]:
    """The numbers of ``markdown`` that should be glued but are typed."""
    found = []
    for paragraph in markdown.split("\n\n"):
        if "{cite" in paragraph or "benchmarks/" in paragraph:
            continue
        visible = HIDDEN.sub(" ", paragraph)
        for match in NUMBER.finditer(visible):
            number = match["number"]
            is_decimal = "." in number
            if not match["percent"] and not (is_decimal and _significant_digits(number) >= 3):
                continue
            if re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", typed_by_code):
                continue
            found.append(number + (match["percent"] or ""))
    return found


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_numbers_quoted_from_a_run_are_glued(path):
    cells = _cells(path)
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    typed = {i: quoted_numbers("".join(c["source"]), code) for i, c in enumerate(cells) if c["cell_type"] == "markdown"}
    typed = {i: numbers for i, numbers in typed.items() if numbers}
    assert not typed, f"typed numbers that should be glued (cell: numbers): {typed}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_glued_quote_has_a_stored_value(path):
    notebook = json.loads(path.read_text())
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


def test_the_rule_catches_what_it_should():
    """The checker itself: a typed result is caught; settings, citations and glue are not."""
    code = "if ratio <= 1.005:\n    lr = 0.01"
    assert quoted_numbers("The test MSE is 0.0173, 12 % better.", code) == ["0.0173", "12 %"]
    assert quoted_numbers("Within 0.5 % of the optimum (ratio 1.005), at lr 0.01.", code) == ["0.5 %"]
    assert quoted_numbers("It reaches {glue:text}`mse:.4f` here, $x = 0.123$, `0.456`.", code) == []
    assert quoted_numbers("Their autoencoder reaches 3.00 per image {cite:p}`hinton2006`.", code) == []


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
