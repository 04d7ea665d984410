"""The machinery every exercise check shares."""

from __future__ import annotations

import functools
import sysconfig
import textwrap
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch

F = TypeVar("F", bound=Callable[..., "CheckResult"])


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check: passed or not, and the message shown."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:  # the notebook shows the message, not the dataclass
        return textwrap.fill(self.message, width=78, subsequent_indent="  ")


class Wrong(Exception):
    """Raised inside a check body to reject an answer with ``message``."""


class ExerciseNotDone(NotImplementedError):
    """Raised by an exercise stub in a student notebook until the student writes it.

    A subclass of NotImplementedError, so a check reports "Not done yet"; and a
    later cell that calls the stub stops the notebook with one line naming the
    exercise, not a traceback through the course's code.
    """

    def __init__(self, label: str, name: str) -> None:
        super().__init__(
            f"exercise {label} is not done yet: write {name} in its cell under the exercise, "
            "run that cell and its check, then run on from there."
        )
        self.label, self.name = label, name

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [f"Stopped: {self}"]


class NotDone(Exception):
    """Raised inside a check body when the answer is still the stub."""


def is_stub(answer: Any) -> bool:
    """True for the placeholders an exercise starts with: ``...`` or ``None``."""
    return answer is Ellipsis or answer is None


_PACKAGE = Path(__file__).resolve().parent.parent
_LIBRARIES = tuple({Path(sysconfig.get_paths()[key]).resolve() for key in ("stdlib", "platstdlib", "purelib", "platlib")})


def _is_students(filename: str) -> bool:
    """True for code the student wrote: a notebook cell or their own file, neither
    this package nor Python's or an installed library's."""
    path = Path(filename).resolve()
    return not any(path.is_relative_to(root) for root in (_PACKAGE, *_LIBRARIES))


def _raised_in_answer(error: BaseException) -> bool:
    """True if the traceback of ``error`` passes through the student's code."""
    return any(_is_students(frame.f_code.co_filename) for frame, _ in traceback.walk_tb(error.__traceback__))


def check(title: str) -> Callable[[F], F]:
    """Turn a body that raises :class:`Wrong` into a check that returns a verdict.

    The body returns the success message. Three things keep a verdict honest:

    * only the stub's own :class:`ExerciseNotDone` (or a ``...`` left in place)
      reads "Not done yet": any other ``NotImplementedError`` is an error in
      the answer (a module whose ``forward`` is misspelled raises one);
    * an error that passed through the student's code is reported as theirs;
      one raised by the check's own code on what the answer returned is said
      to be that, since the check may be at fault;
    * the body runs under ``torch.random.fork_rng``: a check may seed and draw
      as it likes, and the notebook's random stream continues as if it had not run.
    """

    def decorate(body: F) -> F:
        @functools.wraps(body)
        def run(*args: Any, **kwargs: Any) -> CheckResult:
            try:
                if any(is_stub(a) for a in (*args, *kwargs.values())):
                    raise NotDone
                with torch.random.fork_rng():
                    message = body(*args, **kwargs)
                result = CheckResult(True, f"Correct ({title}): {message}")
            except NotDone:
                result = CheckResult(False, f"Not done yet ({title}): replace the ... in the exercise cell, run it, then run this check again.")
            except ExerciseNotDone:
                result = CheckResult(False, f"Not done yet ({title}): the exercise cell still holds its stub; write your answer there, run it, then run this check again.")
            except Wrong as reason:
                result = CheckResult(False, f"Not yet ({title}): {reason}")
            except Exception as error:
                last = traceback.format_exception_only(type(error), error)[-1].strip()
                if _raised_in_answer(error):  # the student's code crashed: say where, briefly
                    result = CheckResult(False, f"Not yet ({title}): running your answer raised {last}")
                else:
                    result = CheckResult(
                        False,
                        f"Not yet ({title}): the check could not use what your answer returned: {last}. "
                        "Look at what your answer returns (its type and shape); if it looks right, "
                        "the check may be at fault: please report it.",
                    )
            return result

        return run  # type: ignore[return-value]

    return decorate
