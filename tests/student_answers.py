"""Answers a student might write, shared by the check tests and the student-path test.

Each chapter has a module ``tests/answers_chN.py`` holding ``ANSWERS``: for every exercise
label, the sources of cells a student could put in place of the stub, of two kinds:

* ``"correct"``: at least two correct answers written unlike the worked solution. The check
  tests require each to pass; ``tests/test_student_path.py`` puts the first into the exercise
  version and runs the chapter on it.
* ``"wrong"``: at least five ``(source, words)`` pairs, typical mistakes with the words the
  check's message must contain (the cause it names). The check tests require each to be
  rejected with them; the student-path test puts the first into the exercise version.

A source is a cell: it defines the names the exercise declares (``"answers"`` in the
solution cell's metadata), and it may use what the notebook defined before it. The check
tests run it with :func:`define`.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

#: What every chapter's notebook has imported before its first exercise.
NOTEBOOK_IMPORTS: dict[str, Any] = {"torch": torch, "nn": nn, "F": F, "math": math, "np": np, "copy": copy}


def define(source: str, **names: Any) -> dict[str, Any]:
    """Run ``source`` as a notebook cell would, in a namespace holding the notebook's imports and
    ``names`` (what earlier cells defined); return that namespace, the answer's names in it."""
    namespace: dict[str, Any] = {**NOTEBOOK_IMPORTS, **names}
    exec(compile(source, "<student cell>", "exec"), namespace)  # noqa: S102 - the student's cell
    return namespace


def answer_params(answers: dict[str, dict]) -> tuple[list, list]:
    """The pytest parameters of a chapter's ``ANSWERS``: ``(label, source)`` for each correct
    answer and ``(label, source, words)`` for each wrong one, with ids such as ``ex-ch6-dead-2``."""
    import pytest

    correct = [pytest.param(label, source, id=f"{label}-{i}")
               for label, kinds in answers.items() for i, source in enumerate(kinds["correct"])]
    wrong = [pytest.param(label, source, words, id=f"{label}-{i}")
             for label, kinds in answers.items() for i, (source, words) in enumerate(kinds["wrong"])]
    return correct, wrong


def assert_answers_cover_the_checks(answers: dict[str, dict], exercises: dict[str, Any], chapter: Any) -> None:
    """Every exercise of ``chapter`` (its checks module), in the chapter's order, has an entry in
    ``answers`` with at least two correct answers and five wrong ones, as the module docstring asks."""
    from aecourse.checks import core

    assert list(answers) == list(exercises), "ANSWERS and the test's EXERCISES name different exercises"
    registered = [e.label for e in core.EXERCISES.values() if e.chapter == chapter.__name__]
    assert registered == list(exercises), f"{chapter.__name__} registers {registered}"
    for label, kinds in answers.items():
        assert len(kinds["correct"]) >= 2, f"{label}: fewer than two correct answers"
        assert len(kinds["wrong"]) >= 5, f"{label}: fewer than five wrong answers"
