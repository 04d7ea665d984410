"""Exercise checks: one module per chapter, one function per exercise.

A check takes what the student wrote (a function, a class, a number), runs it
on data of its own and returns a :class:`CheckResult` that a notebook shows
as ``Correct: ...`` or as what is wrong with a hint. It never raises on a
wrong answer: the student reads the message, edits the cell and runs the
check again; tests assert on ``result.passed``.
"""

from aecourse.checks.core import CheckResult, ExerciseNotDone, exercise_check

__all__ = ["CheckResult", "ExerciseNotDone", "exercise_check"]
