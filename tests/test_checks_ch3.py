"""Chapter 3 checks: each passes a correct answer and rejects typical wrong ones with a hint."""

import math

import torch
from torch import nn

from aecourse.checks import ch3
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
    assert ch3.manual_forward(good_forward).passed


def test_manual_forward_names_the_relu_output():
    result = ch3.manual_forward(relu_everywhere)
    assert not result.passed and "Sigmoid" in result.message


def test_manual_forward_names_the_missing_bias():
    result = ch3.manual_forward(no_bias)
    assert not result.passed and "bias" in result.message


def test_manual_forward_reports_the_shape_error_of_a_torch_layout():
    result = ch3.manual_forward(torch_layout)
    assert not result.passed and "raised" in result.message


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
    assert ch3.variance_scaling(good_init).passed
    packaged = lambda shape, generator=None: variance_scaling_(torch.empty(shape), layout="tf", generator=generator)  # noqa: E731
    assert ch3.variance_scaling(packaged).passed


def test_init_names_the_missing_correction():
    result = ch3.variance_scaling(uncorrected_init)
    assert not result.passed and "0.8796" in result.message


def test_init_names_fan_out():
    result = ch3.variance_scaling(fan_out_init)
    assert not result.passed and "fan_in" in result.message


def test_init_rejects_an_untruncated_normal():
    result = ch3.variance_scaling(untruncated_init)
    assert not result.passed and "truncates" in result.message


def test_init_rejects_a_uniform_of_the_same_variance():
    result = ch3.variance_scaling(uniform_init)
    assert not result.passed and "uniform" in result.message


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
    assert ch3.port_layer(good_port).passed


def test_port_names_the_transpose():
    result = ch3.port_layer(untransposed_port)
    assert not result.passed and "transposed" in result.message


def test_port_names_the_missing_sigmoid():
    result = ch3.port_layer(no_sigmoid_port)
    assert not result.passed and "sigmoid" in result.message


def test_port_rejects_plain_tensors_that_cannot_train():
    result = ch3.port_layer(FrozenPort)
    assert not result.passed and "parameters" in result.message


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
    result = ch3.variance_scaling(redraw_by_hand)
    assert result.passed, result.message


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
        result = ch3.variance_scaling(answer)
        assert not result.passed and expected in result.message, (expected, result.message)


def test_manual_forward_handles_a_single_layer():
    def hard_coded_relu_first(x, kernels, biases):
        h = torch.relu(x @ kernels[0] + biases[0])
        for kernel, bias in zip(kernels[1:-1], biases[1:-1]):
            h = torch.relu(h @ kernel + bias)
        return torch.sigmoid(h @ kernels[-1] + biases[-1])

    result = ch3.manual_forward(hard_coded_relu_first)  # with one layer it multiplies by the kernel twice
    assert not result.passed and "running your answer raised RuntimeError" in result.message


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
        result = ch3.port_layer(answer)
        assert not result.passed and expected in result.message, (expected, result.message)
