"""The machinery every exercise check shares."""

from __future__ import annotations

import functools
import textwrap
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

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


def check(title: str) -> Callable[[F], F]:
    """Turn a body that raises :class:`Wrong` into a check that returns a verdict.

    The body returns the success message. Errors raised by the student's own
    code are reported as such (with the last line of their traceback), not as
    a failure of the check.
    """

    def decorate(body: F) -> F:
        @functools.wraps(body)
        def run(*args: Any, **kwargs: Any) -> CheckResult:
            try:
                if any(is_stub(a) for a in (*args, *kwargs.values())):
                    raise NotDone
                result = CheckResult(True, f"Correct ({title}): {body(*args, **kwargs)}")
            except NotDone:
                result = CheckResult(False, f"Not done yet ({title}): replace the ... in the exercise cell, run it, then run this check again.")
            except NotImplementedError:
                result = CheckResult(False, f"Not done yet ({title}): your code still raises NotImplementedError.")
            except Wrong as reason:
                result = CheckResult(False, f"Not yet ({title}): {reason}")
            except Exception as error:  # the student's code crashed: say where, briefly
                last = traceback.format_exception_only(type(error), error)[-1].strip()
                result = CheckResult(False, f"Not yet ({title}): running your answer raised {last}")
            return result

        return run  # type: ignore[return-value]

    return decorate
