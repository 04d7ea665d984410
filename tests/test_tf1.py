"""TF1's variance-scaling initializer and kernel layout, reproduced for torch."""

import math

import pytest
import torch
from torch import nn

from aecourse.tf1 import TRUNCATED_NORMAL_STD, fans, linear_from_tf, variance_scaling_


def draw(shape, **kwargs):
    return variance_scaling_(torch.empty(shape), generator=torch.Generator().manual_seed(0), **kwargs)


def test_truncated_normal_constant_is_the_std_of_a_normal_cut_at_two_sigma():
    z = torch.distributions.Normal(0.0, 1.0)
    a = torch.tensor(2.0, dtype=torch.float64)
    mass = 2 * z.cdf(a.float()).double() - 1
    density = torch.exp(-a**2 / 2) / math.sqrt(2 * math.pi)
    variance = 1 - 2 * a * density / mass
    assert math.isclose(math.sqrt(float(variance)), TRUNCATED_NORMAL_STD, rel_tol=1e-6)


@pytest.mark.parametrize("shape", [(392, 784), (784, 392), (196, 392)])
def test_default_matches_tf1_statistics(shape):
    """scale 1, fan_in, truncated normal: std sqrt(1/fan_in), nothing past 2 corrected sigmas."""
    w = draw(shape)
    fan_in = shape[1]  # torch layout [out, in]
    target = 1 / math.sqrt(fan_in)
    assert abs(float(w.mean())) < 0.02 * target
    assert math.isclose(float(w.std()), target, rel_tol=0.02)
    assert float(w.abs().max()) <= 2 * target / TRUNCATED_NORMAL_STD + 1e-7
    # A truncated normal reaches close to its bounds; a uniform of equal variance would not.
    assert float(w.abs().max()) > 0.95 * 2 * target / TRUNCATED_NORMAL_STD


def test_without_the_correction_the_std_would_be_12_percent_low():
    w = draw((400, 1000))
    plain = torch.nn.init.trunc_normal_(torch.empty(400, 1000), 0, 1 / math.sqrt(1000), -2 / math.sqrt(1000), 2 / math.sqrt(1000))
    assert math.isclose(float(plain.std()) / float(w.std()), TRUNCATED_NORMAL_STD, rel_tol=0.02)


def test_tf_layout_reads_fan_in_from_the_first_dimension():
    assert fans((784, 392), "tf") == (784, 392)
    assert fans((392, 784), "torch") == (784, 392)
    w = draw((784, 392), layout="tf")
    assert math.isclose(float(w.std()), 1 / math.sqrt(784), rel_tol=0.02)


@pytest.mark.parametrize(
    ("mode", "n"), [("fan_in", 300), ("fan_out", 900), ("fan_avg", 600)]
)
def test_modes_and_scale(mode, n):
    w = draw((900, 300), mode=mode, scale=2.0)
    assert math.isclose(float(w.std()), math.sqrt(2.0 / n), rel_tol=0.02)


def test_same_as_kaiming_normal_linear_in_variance_but_bounded():
    kaiming = nn.init.kaiming_normal_(torch.empty(392, 784), nonlinearity="linear")
    ours = draw((392, 784))
    assert math.isclose(float(kaiming.std()), float(ours.std()), rel_tol=0.03)
    assert float(kaiming.abs().max()) > float(ours.abs().max())


def test_rejects_non_matrix_and_unknown_distribution():
    with pytest.raises(ValueError, match="2-D"):
        variance_scaling_(torch.empty(3, 4, 5))
    with pytest.raises(ValueError, match="unknown distribution"):
        variance_scaling_(torch.empty(3, 4), distribution="cauchy")


def test_linear_from_tf_computes_matmul_plus_bias():
    g = torch.Generator().manual_seed(1)
    kernel, bias, x = torch.randn(6, 4, generator=g), torch.randn(4, generator=g), torch.randn(5, 6, generator=g)
    linear = linear_from_tf(kernel, bias)
    assert linear.weight.shape == (4, 6)
    torch.testing.assert_close(linear(x), x @ kernel + bias)


def test_linear_from_tf_names_the_expected_shapes():
    with pytest.raises(ValueError, match=r"\[in, out\]"):
        linear_from_tf(torch.randn(6, 4), torch.randn(6))


def test_manual_and_linear_autoencoders_agree_after_copying_transposed_weights():
    """The chapter's claim: the seed's four layers as raw parameters equal nn.Linear layers."""
    sizes = [784, 392, 196, 392, 784]
    g = torch.Generator().manual_seed(0)
    kernels = [variance_scaling_(torch.empty(a, b), layout="tf", generator=g) for a, b in zip(sizes, sizes[1:])]
    biases = [0.01 * torch.randn(b, generator=g) for b in sizes[1:]]
    x = torch.rand(32, 784, generator=g)
    manual = x
    for w, b in zip(kernels, biases):
        manual = torch.relu(manual @ w + b)
    layers = []
    for w, b in zip(kernels, biases):
        layers += [linear_from_tf(w, b), nn.ReLU()]
    torch.testing.assert_close(nn.Sequential(*layers)(x), manual)  # float32 defaults, as the chapter uses


def test_uncorrected_truncation_reproduces_early_tf1_releases():
    """Before mid-2018, TF1 cut the tails without correcting: the variance shrinks by 0.8796 squared."""
    corrected = variance_scaling_(torch.empty(200, 2000), generator=torch.Generator().manual_seed(0))
    uncorrected = variance_scaling_(torch.empty(200, 2000), generator=torch.Generator().manual_seed(0),
                                        corrected=False)
    n = corrected.numel()
    tolerance = 5 * math.sqrt(2 / n)  # five standard errors of a variance estimate, relative
    assert abs(corrected.var().item() * 2000 - 1) < tolerance
    assert abs(uncorrected.var().item() * 2000 / TRUNCATED_NORMAL_STD**2 - 1) < tolerance
    assert uncorrected.abs().max() <= 2 * math.sqrt(1 / 2000) + 1e-6  # cut at two uncorrected standard deviations
