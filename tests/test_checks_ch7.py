"""Chapter 7 checks: each passes a correct answer and rejects typical wrong ones, naming the cause.

The answers a student might write live in ``tests/answers_ch7.py``, shared with the student-path
test; here every one of them is judged, beside cases that need more than a cell's source.
"""

import pytest
import torch

from answers_ch7 import ANSWERS
from aecourse.checks import ch7
from student_answers import answer_params, assert_answers_cover_the_checks, define
from verdicts import assert_accepted, assert_rejected

#: label -> (the check, the names the exercise declares)
EXERCISES = {
    "ex-ch7-topk": (ch7.topk_activation, ["topk_activation"]),
    "ex-ch7-rescale": (ch7.rescale, ["reconstruction_factor", "penalty_factor"]),
    "ex-ch7-fve": (ch7.fraction_of_variance_explained, ["fraction_of_variance_explained"]),
    "ex-ch7-density": (ch7.firing_frequency, ["firing_frequency"]),
    "ex-ch7-double-k": (ch7.double_k, ["l0_at_32", "fve_moves"]),
}


def judge(label, source):
    check, names = EXERCISES[label]
    namespace = define(source)
    return check(*(namespace[name] for name in names))


def test_every_exercise_has_enough_answers_and_the_checks_come_in_the_chapters_order():
    assert_answers_cover_the_checks(ANSWERS, EXERCISES, ch7)


CORRECT, WRONG = answer_params(ANSWERS)


@pytest.mark.parametrize("label, source", CORRECT)
def test_a_correct_answer_passes(label, source):
    assert_accepted(judge(label, source))


@pytest.mark.parametrize("label, source, words", WRONG)
def test_a_wrong_answer_is_rejected_with_its_cause(label, source, words):
    assert_rejected(judge(label, source), words)


def test_the_first_rejection_names_what_the_student_sees_and_code_waits_for_the_hint():
    """A first message names no PyTorch function to call; the hint, asked for, may."""
    for label, answers in ANSWERS.items():
        for source, _ in answers["wrong"]:
            message = judge(label, source).message
            for code in (".topk(", "scatter", "zeros_like", "F.relu", ".mean(dim=0)"):
                assert code not in message, f"{label}: {message}"
    assert "scatter" in repr(ch7.hint("ex-ch7-topk"))


def test_a_stub_reads_not_done_and_progress_counts_the_chapter():
    assert ch7.topk_activation(...).message.startswith("Not done yet")
    assert "ex-ch7-double-k" in repr(ch7.progress())


def test_topk_leaves_its_input_as_it_found_it():
    def in_place(pre, k):
        values, indices = pre.topk(k, dim=1)
        pre.data.zero_()
        return torch.zeros_like(pre).scatter(1, indices, values.relu())

    assert_rejected(ch7.topk_activation(in_place), "changed what it was given")


def test_a_fve_that_returns_a_zero_d_tensor_passes():
    def tensor_fve(x, x_hat):
        return 1 - ((x - x_hat) ** 2).sum() / ((x - x.mean(0)) ** 2).sum()

    assert_accepted(ch7.fraction_of_variance_explained(tensor_fve))
