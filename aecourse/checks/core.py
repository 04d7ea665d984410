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
