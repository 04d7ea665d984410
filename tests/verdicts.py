"""Assertions on a check's verdict, shared by the check tests."""

from __future__ import annotations

from aecourse.checks import CheckResult


def assert_accepted(result: CheckResult) -> None:
    """The check passed; on failure pytest shows the message the student would read."""
    assert result.passed, result.message


def assert_rejected(result: CheckResult, words: str) -> None:
    """The check rejected the answer, and its message says ``words`` (the cause it names)."""
    assert not result.passed, f"accepted an answer it should reject for {words!r}: {result.message}"
    assert words in result.message, f"rejected, but without naming {words!r}: {result.message}"
