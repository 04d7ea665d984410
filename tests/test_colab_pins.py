"""requirements-colab.txt: Colab's versions, where they come from, and the tool that refreshes them."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import colab_pins  # noqa: E402

FREEZE = """\
# a comment
torch==2.12.0+cu128
torchvision==0.27.0+cu128
numpy==2.1.3
jupyter_kernel_gateway @ git+https://github.com/googlecolab/kernel_gateway@b134e99
typing_extensions==4.16.0
"""
PINS = """\
# Source: googlecolab/backend-info, pip-freeze.gpu.txt at commit a724079 of 2026-08-19
torch==2.11.0
torchvision==0.26.0  # a comment kept
numpy==2.1.3
typing-extensions==4.15.0
pybtex
nb-clean==5.0.0
"""


def test_the_header_names_the_source_and_its_date():
    text = (ROOT / "requirements-colab.txt").read_text()
    source = colab_pins.SOURCE.search(text)
    assert source and re.search(r"commit [0-9a-f]{7,} of \d{4}-\d{2}-\d{2}", source["what"])
    assert "Python 3.13" in text


def test_colabs_versions_of_the_issue_are_pinned():
    pins = colab_pins.pins((ROOT / "requirements-colab.txt").read_text())
    assert {name: pins[name] for name in ("torch", "torchvision", "numpy", "ipywidgets", "matplotlib",
                                          "scikit-learn", "ipykernel", "ipython")} == {
        "torch": "2.11.0", "torchvision": "0.26.0", "numpy": "2.1.3", "ipywidgets": "7.7.1",
        "matplotlib": "3.10.0", "scikit-learn": "1.6.1", "ipykernel": "6.17.1", "ipython": "7.34.0"}


def test_a_freeze_is_read_without_local_tags_or_url_lines():
    assert colab_pins.read_freeze(FREEZE) == {"torch": "2.12.0", "torchvision": "0.27.0", "numpy": "2.1.3",
                                              "typing-extensions": "4.16.0"}


def test_refresh_moves_each_pin_to_colabs_version_and_keeps_the_rest():
    text, moved, gone = colab_pins.refreshed(PINS, colab_pins.read_freeze(FREEZE), "commit 1234567 of 2027-01-04")
    assert moved == ["torch 2.11.0 -> 2.12.0", "torchvision 0.26.0 -> 0.27.0", "typing-extensions 4.15.0 -> 4.16.0"]
    assert gone == ["nb-clean"]
    assert "torchvision==0.27.0  # a comment kept\n" in text and "\npybtex\n" in text
    assert text.startswith("# Source: googlecolab/backend-info, pip-freeze.gpu.txt at commit 1234567 of 2027-01-04\n")


def test_compare_fails_and_names_what_colab_moved(tmp_path, monkeypatch, capsys):
    pins, freeze = tmp_path / "requirements-colab.txt", tmp_path / "pip-freeze.gpu.txt"
    pins.write_text(PINS)
    freeze.write_text(FREEZE)
    monkeypatch.setattr(colab_pins, "PINS", pins)
    assert colab_pins.main(["--compare", str(freeze)]) == 1
    said = capsys.readouterr().out
    assert "Colab moved: torch 2.11.0 -> 2.12.0" in said and "--refresh" in said
    assert pins.read_text() == PINS, "comparing writes nothing"
    assert colab_pins.main(["--refresh", str(freeze)]) == 0
    assert colab_pins.main(["--compare", str(freeze)]) == 0
