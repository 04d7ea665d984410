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
