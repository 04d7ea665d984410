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
