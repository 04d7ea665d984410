"""Chapter 3 checks: each passes correct answers written many ways and rejects typical wrong
ones with a message that names what it reproduced."""

import math

import pytest

import torch
from torch import nn

from aecourse.checks import ch3
from aecourse.checks.core import EXERCISES, VERDICTS
from aecourse.tf1 import TRUNCATED_NORMAL_STD, variance_scaling_
from answers_ch3 import ANSWERS
from student_answers import define
from verdicts import assert_accepted, assert_rejected

#: What the notebook has defined when each exercise comes (besides its imports).
NOTEBOOK_NAMES = {"TRUNCATED_NORMAL_STD": TRUNCATED_NORMAL_STD}
#: Each exercise's check and the name its answer defines.
CHECKS = {
    "ex-ch3-truncated": (ch3.truncated_std, "truncated_std"),
    "ex-ch3-init": (ch3.variance_scaling, "tf1_variance_scaling"),
    "ex-ch3-forward": (ch3.manual_forward, "forward"),
    "ex-ch3-tied-count": (ch3.tied_parameter_count, "tied_parameter_count"),
    "ex-ch3-port": (ch3.port_layer, "port_layer"),
}


def judge(label, source):
    check, name = CHECKS[label]
    return check(define(source, **NOTEBOOK_NAMES)[name])


# -- the answers file: every correct answer passes, every wrong one is rejected for its cause --

def test_the_answers_file_covers_every_exercise_of_the_chapter():
    chapter = [label for label, e in EXERCISES.items() if e.chapter == ch3.__name__]
    assert chapter == list(CHECKS) == list(ANSWERS)  # checks defined in the notebook's order
    for label, answers in ANSWERS.items():
        assert len(answers["correct"]) >= 2 and len(answers["wrong"]) >= 5, label


@pytest.mark.parametrize("label, index", [(label, i) for label, a in ANSWERS.items() for i in range(len(a["correct"]))])
def test_a_correct_answer_passes(label, index):
    assert_accepted(judge(label, ANSWERS[label]["correct"][index]))


@pytest.mark.parametrize("label, index", [(label, i) for label, a in ANSWERS.items() for i in range(len(a["wrong"]))])
def test_a_wrong_answer_is_rejected_for_its_cause(label, index):
    source, words = ANSWERS[label]["wrong"][index]
    assert_rejected(judge(label, source), words)


def test_every_exercise_offers_a_hint_only_when_asked():
    for label in CHECKS:
        assert EXERCISES[label].hint, label
        assert f"Hint for {label}" in repr(ch3.hint(label))


def test_progress_reports_the_checks_verdicts():
    ch3.tied_parameter_count(lambda s: 0)
    assert "ex-ch3-tied-count" in repr(ch3.progress()) and not VERDICTS["ex-ch3-tied-count"].passed
    ch3.tied_parameter_count(lambda s: sum(a * b + a + b for a, b in zip(s, s[1:])))
    assert VERDICTS["ex-ch3-tied-count"].passed


def test_a_stub_is_not_done():
    for check, _ in CHECKS.values():
        result = check(...)
        assert not result.passed and result.message.startswith("Not done yet")


# -- the truncated spread: the whole range of a the exercise names ------------------------

def std_closed_form(a):
    phi = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    mass = math.erf(a / math.sqrt(2))
    return math.sqrt(1 - 2 * a * phi / mass)


def test_truncated_std_is_judged_beyond_a_3_and_below_a_half():
    assert max(ch3.TRUNCATION_POINTS) > 3 and min(ch3.TRUNCATION_POINTS) < 0.5

    def saturates_past_3(a):  # right at every a the old check tried (0.5 to 3)
        return std_closed_form(min(a, 3.0))

    def breaks_on_narrow_cuts(a):  # an expansion in 1/a, good only for wide cuts
        return std_closed_form(max(a, 0.4))

    assert_rejected(ch3.truncated_std(saturates_past_3), "for a = 5.0")
    assert_rejected(ch3.truncated_std(breaks_on_narrow_cuts), "for a = 0.05")


@pytest.mark.parametrize("kind", [float, torch.tensor, lambda v: torch.tensor([v], dtype=torch.float32),
                                  lambda v: __import__("numpy").float32(v), lambda v: __import__("numpy").array(v)],
                         ids=["float", "0-d-tensor", "1-element-float32", "numpy-float32", "numpy-0-d"])
def test_truncated_std_accepts_every_number_type(kind):
    assert_accepted(ch3.truncated_std(lambda a: kind(std_closed_form(a))))


def test_truncated_std_says_where_an_answer_crashes():
    def overflows(a):
        return std_closed_form(a) + 0 * math.exp(a ** 4)

    assert_rejected(ch3.truncated_std(overflows), "for a = 8.0, running your answer raised OverflowError")


# -- the initializer --------------------------------------------------------------------------

def good_init(shape, generator=None):
    std = math.sqrt(1.0 / shape[0]) / TRUNCATED_NORMAL_STD
    return nn.init.trunc_normal_(torch.empty(shape), 0.0, std, -2 * std, 2 * std, generator=generator)


def test_init_accepts_a_numpy_kernel():
    assert_accepted(ch3.variance_scaling(lambda shape, generator=None: good_init(shape, generator).numpy()))


def test_init_rejects_the_course_helper_however_it_is_reached():
    import aecourse.tf1

    def via_module(shape, generator=None):
        return aecourse.tf1.variance_scaling_(torch.empty(shape), layout="tf", generator=generator)

    def via_name(shape, generator=None):
        return variance_scaling_(torch.empty(shape[::-1]), generator=generator).T

    for answer in (via_module, via_name):
        assert_rejected(ch3.variance_scaling(answer), "the course's own")


def test_init_rejects_wrong_truncations_with_the_right_spread():
    def bound_not_corrected(shape, generator=None):
        target = math.sqrt(1 / shape[0])
        std = target / TRUNCATED_NORMAL_STD
        return nn.init.trunc_normal_(torch.empty(shape), 0.0, std, -2 * target, 2 * target, generator=generator)

    def beta_shaped(shape, generator=None):
        """Right std, right bound, no pile-up, but not a truncated normal."""
        bound = 2 * math.sqrt(1 / shape[0]) / TRUNCATED_NORMAL_STD
        a = ((bound / math.sqrt(1 / shape[0])) ** 2 - 1) / 2
        torch.manual_seed(int(torch.randint(0, 2**31, (1,), generator=generator)))
        u = torch.distributions.Beta(torch.tensor(a), torch.tensor(a)).sample(shape)
        return bound * (2 * u - 1)

    def same_for_every_seed(shape, generator=None):
        return good_init(shape, torch.Generator().manual_seed(0))

    cases = {"the draws' standard deviation is": bound_not_corrected, "the shape is not TF1's": beta_shaped,
             "seeded differently": same_for_every_seed}
    for expected, answer in cases.items():
        assert_rejected(ch3.variance_scaling(answer), expected)


def test_init_check_leaves_the_global_profiler_as_it_was():
    import sys

    assert_accepted(ch3.variance_scaling(good_init))
    assert sys.getprofile() is None


# -- the manual forward pass ------------------------------------------------------------

def test_manual_forward_rejects_writing_into_the_input():
    def in_place(x, kernels, biases):
        h = x
        for i, (w, b) in enumerate(zip(kernels, biases)):
            h = h @ w + b
            h = torch.sigmoid(h) if i == len(kernels) - 1 else torch.relu(h)
        x.mul_(0)
        return h

    assert_rejected(ch3.manual_forward(in_place), "changed the values of x in place")


def test_manual_forward_handles_a_single_layer():
    def hard_coded_relu_first(x, kernels, biases):
        h = torch.relu(x @ kernels[0] + biases[0])
        for kernel, bias in zip(kernels[1:-1], biases[1:-1]):
            h = torch.relu(h @ kernel + bias)
        return torch.sigmoid(h @ kernels[-1] + biases[-1])

    # with one layer it multiplies by the kernel twice
    assert_rejected(ch3.manual_forward(hard_coded_relu_first), "running your answer raised RuntimeError")


def test_manual_forward_accepts_float64_outputs():
    def in_float64(x, kernels, biases):
        h = x.double()
        for i, (w, b) in enumerate(zip(kernels, biases)):
            h = h @ w.double() + b.double()
            h = torch.sigmoid(h) if i == len(kernels) - 1 else torch.relu(h)
        return h

    assert_accepted(ch3.manual_forward(in_float64))


# -- porting a layer of unknown layout --------------------------------------------------------

def test_port_cases_cover_both_layouts_growing_shrinking_and_square_layers():
    cases = set(ch3.PORT_CASES)
    assert {layout for *_, layout in cases} == {"tf", "torch"}
    assert any(i > o for i, o, _ in cases) and any(i < o for i, o, _ in cases)
    assert {(i, layout) for i, o, layout in cases if i == o} == {(12, "tf"), (12, "torch")}


def test_port_rejects_a_module_that_cannot_take_a_batch_without_blaming_the_check():
    def weight_untransposed(kernel, bias, x_saved, y_saved):
        n_in, n_out = x_saved.shape[1], bias.shape[0]
        w = kernel if kernel.shape == (n_in, n_out) else kernel.T
        layer = nn.Linear(n_in, n_out)
        layer.weight = nn.Parameter(w.clone())  # [in, out] where nn.Linear wants [out, in]
        layer.bias = nn.Parameter(bias.clone())
        return nn.Sequential(layer, nn.Sigmoid())

    result = ch3.port_layer(weight_untransposed)
    assert_rejected(result, "your module could not run on a batch")
    assert "check may be at fault" not in result.message


def test_port_rejects_a_function_that_is_not_a_module():
    def plain_function(kernel, bias, x_saved, y_saved):
        w = kernel if kernel.shape == (x_saved.shape[1], bias.shape[0]) else kernel.T
        return lambda x: torch.sigmoid(x @ w + bias)

    assert_rejected(ch3.port_layer(plain_function), "not an nn.Module")


def test_port_rejects_a_module_whose_outputs_ignore_its_parameters():
    class Unconnected(nn.Module):
        def __init__(self, w, b):
            super().__init__()
            self.linear = nn.Linear(*w.shape)
            self.w, self.b = w, b

        def forward(self, x):
            return torch.sigmoid(x @ self.w + self.b)

    def unconnected(kernel, bias, x_saved, y_saved):
        n_in, n_out = x_saved.shape[1], bias.shape[0]
        for w in (kernel, kernel.T):
            if w.shape == (n_in, n_out) and torch.allclose(torch.sigmoid(x_saved @ w + bias), y_saved, atol=1e-5):
                return Unconnected(w, bias)

    assert_rejected(ch3.port_layer(unconnected), "a gradient reaches only 0")


def test_port_accepts_a_module_that_keeps_an_unused_reading():
    class Both(nn.Module):
        def __init__(self, kernel, bias, use_stored):
            super().__init__()
            self.stored = nn.Parameter(kernel.clone())
            self.flipped = nn.Parameter(kernel.T.clone())
            self.bias = nn.Parameter(bias.clone())
            self.use_stored = use_stored

        def forward(self, x):
            return torch.sigmoid(x @ (self.stored if self.use_stored else self.flipped) + self.bias)

    def both(kernel, bias, x_saved, y_saved):
        fits = kernel.shape == (x_saved.shape[1], bias.shape[0])
        works = fits and torch.allclose(torch.sigmoid(x_saved @ kernel + bias), y_saved, atol=1e-5)
        return Both(kernel, bias, works)

    assert_accepted(ch3.port_layer(both))


def test_port_layer_built_on_the_notebooks_device_passes():
    device = torch.device("cpu")

    def on_device(kernel, bias, x_saved, y_saved):
        n_in, n_out = x_saved.shape[1], bias.shape[0]
        for w in (kernel, kernel.T):
            if w.shape == (n_in, n_out) and torch.allclose(torch.sigmoid(x_saved @ w + bias), y_saved, atol=1e-5):
                layer = nn.Linear(n_in, n_out).to(device)
                with torch.no_grad():
                    layer.weight.copy_(w.T)
                    layer.bias.copy_(bias)
                return nn.Sequential(layer, nn.Sigmoid())

    assert_accepted(ch3.port_layer(on_device))
