"""Chapter 6 checks: each passes a correct answer and rejects typical wrong ones, naming the cause.

The answers a student might write live in ``tests/answers_ch6.py``, shared with the student-path
test; here every one of them is judged, beside cases that need more than a cell's source.
"""

import pytest
import torch

from answers_ch6 import ANSWERS
from aecourse.checks import ch6
from student_answers import answer_params, assert_answers_cover_the_checks, define
from verdicts import assert_accepted, assert_rejected

#: label -> (the check, the names the exercise declares)
EXERCISES = {
    "ex-ch6-quantise": (ch6.quantise, ["quantise"]),
    "ex-ch6-perplexity": (ch6.perplexity_from_counts, ["perplexity_from_counts"]),
    "ex-ch6-dead": (ch6.dead_code, ["codebook_grad", "reconstruction_grad"]),
    "ex-ch6-uniform": (ch6.uniform_code_length, ["uniform_bits_per_image"]),
}


def judge(label, source):
    check, names = EXERCISES[label]
    namespace = define(source)
    return check(*(namespace[name] for name in names))


def test_every_exercise_has_enough_answers_and_the_checks_come_in_the_chapters_order():
    assert_answers_cover_the_checks(ANSWERS, EXERCISES, ch6)


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
            for code in ("torch.cdist", ".argmin(", ".detach()", "p.log()"):
                assert code not in message, f"{label}: {message}"
    assert "torch.cdist" in repr(ch6.hint("ex-ch6-quantise"))
    assert "exp" in repr(ch6.hint("ex-ch6-perplexity"))


# -- more of each exercise: what a cell's source alone cannot show ---------------------

def test_quantise_rejects_an_answer_that_writes_into_z():
    def in_place(z, codebook):
        indices = torch.cdist(z, codebook).argmin(dim=1)
        with torch.no_grad():
            z.mul_(1.0001)
        return z + (codebook[indices] - z).detach(), indices

    assert_rejected(ch6.quantise(in_place), "changed what it was given")


def test_quantise_on_a_gpu_runtime_must_not_make_tensors_on_the_cpu():
    def cpu_codes(z, codebook):
        indices = torch.cdist(z, codebook).argmin(dim=1)
        nothing = torch.zeros(z.shape)  # made where no device is named: the CPU, on any runtime
        return z + (codebook[indices] - z).detach() + nothing, indices

    assert_rejected(ch6.quantise(cpu_codes), "two devices")


def test_quantise_accepts_int32_indices_and_a_list_result():
    def int32(z, codebook):
        indices = torch.cdist(z, codebook).argmin(dim=1)
        return [z + (codebook[indices] - z).detach(), indices.int()]

    assert_accepted(ch6.quantise(int32))


def test_quantise_runs_on_every_device(device):
    def good(z, codebook):
        indices = torch.cdist(z, codebook).argmin(dim=1)
        return z + (codebook[indices] - z).detach(), indices

    assert_accepted(ch6.quantise(good, device=device))


def test_perplexity_accepts_a_tensor_result():
    assert_accepted(ch6.perplexity_from_counts(
        lambda c: torch.exp(-torch.special.xlogy(c / c.sum(), c / c.sum()).sum())))


def test_the_stubs_read_not_done():
    assert ch6.quantise(...).message.startswith("Not done yet")
    assert ch6.uniform_code_length(...).message.startswith("Not done yet")
