"""Pins and install metadata: the two places that decide what gets installed."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_requirements_pin_the_torch_pair_that_works_on_cpu() -> None:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    assert "torch==2.14.1" in lines
    assert "torchvision==0.29.1" in lines
    assert any(re.fullmatch(r"jupyter-book>=1,<2", line) for line in lines)


def test_package_metadata_keeps_colabs_torch() -> None:
    """`pip install git+...` in Colab must not replace Colab's torch: lower bounds only."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        name = re.split(r"[<>=!~ ]", requirement, maxsplit=1)[0]
        if name in {"torch", "torchvision"}:
            assert "==" not in requirement and "<" not in requirement, requirement
