"""Chapter 3 checks: each passes a correct answer and rejects typical wrong ones with a hint."""

import math

import pytest

import torch
from torch import nn

from aecourse.checks import ch3
from verdicts import assert_accepted, assert_rejected
from aecourse.tf1 import variance_scaling_


# -- the manual forward pass ---------------------------------------------------------

def good_forward(x, kernels, biases):
    h = x
    for i, (w, b) in enumerate(zip(kernels, biases)):
        h = h @ w + b
        h = torch.sigmoid(h) if i == len(kernels) - 1 else torch.relu(h)
    return h


def relu_everywhere(x, kernels, biases):
    h = x
    for w, b in zip(kernels, biases):
        h = torch.relu(h @ w + b)
    return h


def no_bias(x, kernels, biases):
    h = x
    for i, w in enumerate(kernels):
        h = h @ w
        h = torch.sigmoid(h) if i == len(kernels) - 1 else torch.relu(h)
    return h


def torch_layout(x, kernels, biases):
    h = x
    for i, (w, b) in enumerate(zip(kernels, biases)):
        h = h @ w.T + b
        h = torch.sigmoid(h) if i == len(kernels) - 1 else torch.relu(h)
    return h


def four_layers_only(x, kernels, biases):
    w1, w2, w3, w4 = kernels
    b1, b2, b3, b4 = biases
    h = torch.relu(x @ w1 + b1)
    h = torch.relu(h @ w2 + b2)
    h = torch.relu(h @ w3 + b3)
    return torch.sigmoid(h @ w4 + b4)


def test_manual_forward_accepts_the_solution():
    assert_accepted(ch3.manual_forward(good_forward))


def test_manual_forward_names_the_relu_output():
    assert_rejected(ch3.manual_forward(relu_everywhere), "Sigmoid")


def test_manual_forward_names_the_missing_bias():
    assert_rejected(ch3.manual_forward(no_bias), "bias")


def test_manual_forward_reports_the_shape_error_of_a_torch_layout():
    assert_rejected(ch3.manual_forward(torch_layout), "raised")


def test_manual_forward_wants_any_depth():
    result = ch3.manual_forward(four_layers_only)
    assert not result.passed


def test_manual_forward_stub_is_not_done():
    result = ch3.manual_forward(...)
    assert not result.passed and result.message.startswith("Not done yet")


# -- the initializer -----------------------------------------------------------------

def good_init(shape, generator=None):
    fan_in = shape[0]
    std = math.sqrt(1.0 / fan_in) / 0.87962566103423978
    return nn.init.trunc_normal_(torch.empty(shape), 0.0, std, -2 * std, 2 * std, generator=generator)


def uncorrected_init(shape, generator=None):
    std = math.sqrt(1.0 / shape[0])
    return nn.init.trunc_normal_(torch.empty(shape), 0.0, std, -2 * std, 2 * std, generator=generator)


def fan_out_init(shape, generator=None):
    std = math.sqrt(1.0 / shape[1]) / 0.87962566103423978
    return nn.init.trunc_normal_(torch.empty(shape), 0.0, std, -2 * std, 2 * std, generator=generator)


def untruncated_init(shape, generator=None):
    return torch.randn(shape, generator=generator) / math.sqrt(shape[0])


def uniform_init(shape, generator=None):
    limit = math.sqrt(3.0 / shape[0])
    return torch.empty(shape).uniform_(-limit, limit, generator=generator)


def test_init_accepts_the_solution_and_the_package_version():
    assert_accepted(ch3.variance_scaling(good_init))
    packaged = lambda shape, generator=None: variance_scaling_(torch.empty(shape), layout="tf", generator=generator)  # noqa: E731
    assert_accepted(ch3.variance_scaling(packaged))


def test_init_names_the_missing_correction():
    assert_rejected(ch3.variance_scaling(uncorrected_init), "0.8796")


def test_init_names_fan_out():
    assert_rejected(ch3.variance_scaling(fan_out_init), "fan_in")


def test_init_rejects_an_untruncated_normal():
    assert_rejected(ch3.variance_scaling(untruncated_init), "truncates")


def test_init_rejects_a_uniform_of_the_same_variance():
    assert_rejected(ch3.variance_scaling(uniform_init), "uniform")


# -- porting a TF1 layer -------------------------------------------------------------

def good_port(kernel, bias):
    linear = nn.Linear(kernel.shape[0], kernel.shape[1])
    with torch.no_grad():
        linear.weight.copy_(kernel.T)
        linear.bias.copy_(bias)
    return nn.Sequential(linear, nn.Sigmoid())


def untransposed_port(kernel, bias):
    linear = nn.Linear(kernel.shape[0], kernel.shape[1])
    with torch.no_grad():
        linear.weight.copy_(kernel.reshape(kernel.shape[1], kernel.shape[0]))
        linear.bias.copy_(bias)
    return nn.Sequential(linear, nn.Sigmoid())


def no_sigmoid_port(kernel, bias):
    return good_port(kernel, bias)[0]


class FrozenPort(nn.Module):
    def __init__(self, kernel, bias):
        super().__init__()
        self.kernel, self.bias = kernel, bias

    def forward(self, x):
        return torch.sigmoid(x @ self.kernel + self.bias)


def test_port_accepts_the_solution():
    assert_accepted(ch3.port_layer(good_port))


def test_port_names_the_transpose():
    assert_rejected(ch3.port_layer(untransposed_port), "transposed")


def test_port_names_the_missing_sigmoid():
    assert_rejected(ch3.port_layer(no_sigmoid_port), "sigmoid")


def test_port_rejects_plain_tensors_that_cannot_train():
    assert_rejected(ch3.port_layer(FrozenPort), "parameters")


# -- answers a student could write: correct ones written differently, and wrong ones --

def redraw_by_hand(shape, generator=None):
    """TF1's own algorithm, written out: draw, redraw what falls beyond 2, then scale."""
    std = math.sqrt(1 / shape[0]) / 0.87962566103423978
    w = torch.randn(shape, generator=generator)
    beyond = w.abs() > 2
    while beyond.any():
        w[beyond] = torch.randn(int(beyond.sum()), generator=generator)
        beyond = w.abs() > 2
    return w * std


def test_init_accepts_tf1s_algorithm_written_by_hand():
    assert_accepted(ch3.variance_scaling(redraw_by_hand))


def test_init_rejects_wrong_truncations_with_the_right_spread():
    def clamped(shape, generator=None):
        bound = 2 * math.sqrt(1 / shape[0]) / 0.87962566103423978
        return (0.96 * bound / 2 * torch.randn(shape, generator=generator)).clamp(-bound, bound)

    def bound_not_corrected(shape, generator=None):
        target = math.sqrt(1 / shape[0])
        std = target / 0.87962566103423978
        return torch.nn.init.trunc_normal_(torch.empty(shape), 0.0, std, -2 * target, 2 * target, generator=generator)

    def beta_shaped(shape, generator=None):
        """Right std, right bound, no pile-up, but not a truncated normal."""
        bound = 2 * math.sqrt(1 / shape[0]) / 0.87962566103423978
        a = ((bound / math.sqrt(1 / shape[0])) ** 2 - 1) / 2
        torch.manual_seed(int(torch.randint(0, 2**31, (1,), generator=generator)))
        u = torch.distributions.Beta(torch.tensor(a), torch.tensor(a)).sample(shape)
        return bound * (2 * u - 1)

    def ignores_the_generator(shape, generator=None):
        return good_init(shape)

    cases = {"clamping": clamped, "the std is": bound_not_corrected, "the shape is not TF1's": beta_shaped,
             "generator passed in": ignores_the_generator}
    for expected, answer in cases.items():
        assert_rejected(ch3.variance_scaling(answer), expected)


def test_manual_forward_handles_a_single_layer():
    def hard_coded_relu_first(x, kernels, biases):
        h = torch.relu(x @ kernels[0] + biases[0])
        for kernel, bias in zip(kernels[1:-1], biases[1:-1]):
            h = torch.relu(h @ kernel + bias)
        return torch.sigmoid(h @ kernels[-1] + biases[-1])

    # with one layer it multiplies by the kernel twice
    assert_rejected(ch3.manual_forward(hard_coded_relu_first), "running your answer raised RuntimeError")


def test_port_rejects_frozen_and_unconnected_parameters():
    def frozen(kernel, bias):
        module = good_port(kernel, bias)
        module.requires_grad_(False)
        return module

    class Unconnected(nn.Module):
        def __init__(self, kernel, bias):
            super().__init__()
            self.linear = nn.Linear(*kernel.shape)
            self.kernel, self.bias = kernel, bias

        def forward(self, x):
            return torch.sigmoid(x @ self.kernel + self.bias)

    cases = {"frozen": frozen, "does not reach every parameter": Unconnected}
    for expected, answer in cases.items():
        assert_rejected(ch3.port_layer(answer), expected)


# -- copies and devices ------------------------------------------------------------------

def test_manual_forward_that_pops_from_the_lists_is_judged_on_the_real_layers():
    def popping(x, kernels, biases):
        h = x
        while kernels:
            w, b = kernels.pop(0), biases.pop(0)
            h = h @ w + b
            h = torch.relu(h) if kernels else torch.sigmoid(h)
        return h

    assert_accepted(ch3.manual_forward(popping))


def test_manual_forward_with_a_cpu_tensor_is_rejected():
    def with_zeros(x, kernels, biases):
        h = x
        for i, (w, b) in enumerate(zip(kernels, biases)):
            h = h @ w + b + torch.zeros(w.shape[1])
            h = torch.sigmoid(h) if i == len(kernels) - 1 else torch.relu(h)
        return h

    assert_rejected(ch3.manual_forward(with_zeros), "two devices")


def test_port_layer_built_on_the_notebooks_device_passes():
    device = torch.device("cpu")

    def on_device(kernel, bias):
        layer = nn.Linear(*kernel.shape).to(device)
        with torch.no_grad():
            layer.weight.copy_(kernel.T)
            layer.bias.copy_(bias)
        return nn.Sequential(layer, nn.Sigmoid())

    assert_accepted(ch3.port_layer(on_device))


# -- the truncated normal's spread ---------------------------------------------------------

def std_closed_form(a):
    phi = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    mass = math.erf(a / math.sqrt(2))
    return math.sqrt(1 - 2 * a * phi / mass)


def std_by_integration(a):
    """Correct, another route: the second moment of the truncated density, by the trapezoid rule."""
    t = torch.linspace(-a, a, 200_001, dtype=torch.float64)
    density = torch.exp(-t**2 / 2)
    return torch.sqrt(torch.trapezoid(t**2 * density, t) / torch.trapezoid(density, t))


def std_by_sampling(a):
    """Correct, a third route: ten million draws of nn.init.trunc_normal_."""
    draws = torch.nn.init.trunc_normal_(torch.empty(10_000_000), 0.0, 1.0, -a, a,
                                        generator=torch.Generator().manual_seed(0))
    return draws.std().item()


def std_by_special(a):
    """Correct, written with torch.special and returned as a tensor."""
    a = torch.tensor(a, dtype=torch.float64)
    z = torch.special.erf(a / math.sqrt(2))
    return torch.sqrt(1 - 2 * a * torch.exp(-a**2 / 2) / math.sqrt(2 * math.pi) / z)


@pytest.mark.parametrize("answer", [std_closed_form, std_by_integration, std_by_sampling, std_by_special],
                         ids=["closed-form", "integration", "sampling", "torch-special"])
def test_truncated_std_accepts(answer):
    assert_accepted(ch3.truncated_std(answer))


@pytest.mark.parametrize("answer, words", [
    (lambda a: std_closed_form(a) ** 2, "square root"),
    (lambda a: math.erf(a / math.sqrt(2)), "probability mass"),
    (lambda a: math.sqrt(1 - 2 * a * math.exp(-a * a / 2) / math.sqrt(2 * math.pi)), "divide the integral"),
    (lambda a: 1.0, "untruncated"),
    (lambda a: 0.87962566, "for a = 2 only"),
    (lambda a: torch.nn.init.trunc_normal_(torch.empty(1000), 0, 1, -a, a, generator=torch.Generator().manual_seed(1)).std().item(),
     "standard deviation is"),
    (lambda a: [std_closed_form(a)], "one number"),
    (lambda a: "0.88", "one number"),
], ids=["variance", "mass", "no-normalisation", "one", "hard-coded", "too-few-draws", "list", "string"])
def test_truncated_std_rejects(answer, words):
    assert_rejected(ch3.truncated_std(answer), words)


# -- the tied network's size ---------------------------------------------------------------

def count_by_formula(sizes):
    return sum(a * b for a, b in zip(sizes, sizes[1:])) + sum(sizes[1:]) + sum(sizes[:-1])


def count_by_building(sizes):
    """Correct, another route: build the tied parameters and count them."""
    params = [torch.empty(a, b) for a, b in zip(sizes, sizes[1:])]
    params += [torch.empty(b) for b in sizes[1:]] + [torch.empty(a) for a in sizes[:-1]]
    return sum(p.numel() for p in params)


@pytest.mark.parametrize("answer", [count_by_formula, count_by_building, lambda s: float(count_by_formula(s))],
                         ids=["formula", "building", "float"])
def test_tied_parameter_count_accepts(answer):
    assert_accepted(ch3.tied_parameter_count(answer))


@pytest.mark.parametrize("answer, words", [
    (lambda s: 2 * sum(a * b for a, b in zip(s, s[1:])) + sum(s[1:]) + sum(s[:-1]), "decoder's kernels"),
    (lambda s: sum(a * b for a, b in zip(s, s[1:])) + sum(s[1:]), "decoder's biases are missing"),
    (lambda s: sum(a * b for a, b in zip(s, s[1:])) + sum(s[:-1]), "encoder's biases are missing"),
    (lambda s: sum(a * b for a, b in zip(s, s[1:])), "kernels only"),
    (lambda s: sum(a * b for a, b in zip(s, s[1:])) + sum(s[1:]) + sum(s), "as wide as the code"),
    (lambda s: 385924, "your answer gave"),
    (lambda s: str(count_by_formula(s)), "whole number"),
], ids=["untied", "no-decoder-biases", "no-encoder-biases", "kernels-only", "code-bias", "hard-coded", "string"])
def test_tied_parameter_count_rejects(answer, words):
    assert_rejected(ch3.tied_parameter_count(answer), words)


def _linear_from(kernel, bias, activation):
    layer = nn.Linear(*kernel.shape)
    with torch.no_grad():
        layer.weight.copy_(kernel.T)
        layer.bias.copy_(bias)
    return nn.Sequential(layer, activation)


@pytest.mark.parametrize("answer, words", [
    (lambda k, b: _linear_from(k, b, nn.ReLU()), "ends in a ReLU"),
    (lambda k, b: nn.Sequential(nn.Linear(*k.shape), nn.Sigmoid()), "largest gap"),  # the values never copied in
], ids=["relu", "fresh-weights"])
def test_port_layer_names_only_what_it_saw(answer, words):
    result = ch3.port_layer(answer)
    assert_rejected(result, words)
    assert "transposed into" in result.message or words == "ends in a ReLU"
