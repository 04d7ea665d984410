"""Checks for chapter 3: from TensorFlow 1 to PyTorch."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from aecourse.checks.core import Wrong, check
from aecourse.tf1 import TRUNCATED_NORMAL_STD


def _tf_layers(sizes: Sequence[int], seed: int) -> tuple[list[Tensor], list[Tensor]]:
    """Random TF-layout kernels ``[in, out]`` and non-zero biases for ``sizes``."""
    g = torch.Generator().manual_seed(seed)
    kernels = [torch.randn(a, b, generator=g) / math.sqrt(a) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [0.1 * torch.randn(b, generator=g) for b in sizes[1:]]
    return kernels, biases


def _reference_forward(x: Tensor, kernels: Sequence[Tensor], biases: Sequence[Tensor]) -> Tensor:
    h = x
    for i, (w, b) in enumerate(zip(kernels, biases)):
        h = h @ w + b
        h = torch.sigmoid(h) if i == len(kernels) - 1 else torch.relu(h)
    return h


@check("the manual forward pass")
def manual_forward(answer: Callable[[Tensor, list[Tensor], list[Tensor]], Tensor]) -> str:
    """``answer(x, kernels, biases)``: ReLU after every layer but the last, Sigmoid after it."""
    for sizes in ([12, 6, 3, 6, 12], [5, 4, 5], [6, 3]):
        kernels, biases = _tf_layers(sizes, seed=len(sizes))
        x = torch.rand(7, sizes[0], generator=torch.Generator().manual_seed(3))
        got = answer(x, kernels, biases)
        want = _reference_forward(x, kernels, biases)
        if not isinstance(got, Tensor) or got.shape != want.shape:
            shape = tuple(got.shape) if isinstance(got, Tensor) else type(got).__name__
            raise Wrong(f"for layer sizes {sizes} expected an output of shape {tuple(want.shape)}, got {shape}.")
        if torch.allclose(got, want, atol=1e-6):
            continue
        no_bias = _reference_forward(x, kernels, [torch.zeros_like(b) for b in biases])
        relu_out = x
        for w, b in zip(kernels, biases):
            relu_out = torch.relu(relu_out @ w + b)
        if torch.allclose(got, no_bias, atol=1e-6):
            raise Wrong("the biases are missing: each layer is x @ W + b.")
        if torch.allclose(got, relu_out, atol=1e-6):
            raise Wrong("that is the seed's ReLU on the output layer; the last layer takes a Sigmoid.")
        raise Wrong(f"for layer sizes {sizes} the output differs from x @ W + b with ReLU between and Sigmoid last (largest gap {float((got - want).abs().max()):.3g}).")
    return "x @ W + b layer by layer, ReLU between, Sigmoid at the output, for any number of layers."


# For a standard normal truncated at +-2: the share of draws within +-1.
_INNER_SHARE = math.erf(1 / math.sqrt(2)) / math.erf(2 / math.sqrt(2))


@check("TF1's variance_scaling_initializer")
def variance_scaling(answer: Callable[..., Tensor]) -> str:
    """``answer(shape, generator=g)`` draws a TF-layout ``[in, out]`` kernel like TF1's default.

    400,000 draws per shape: every tolerance is five standard errors of that
    sample size (about 0.6 % on the spread), and the shape of the distribution
    is tested too (its share within one corrected standard deviation, and no
    pile-up at the bound), so a wrong truncation cannot pass on its spread alone.
    """
    for shape in ((1000, 400), (250, 1600)):
        fan_in = shape[0]
        w = answer(shape, generator=torch.Generator().manual_seed(0))
        if not isinstance(w, Tensor) or tuple(w.shape) != shape:
            got = tuple(w.shape) if isinstance(w, Tensor) else type(w).__name__
            raise Wrong(f"asked for a kernel of shape {shape}, got {got}.")
        w = w.detach()
        n = w.numel()
        target = 1 / math.sqrt(fan_in)
        std_tolerance = 5 / math.sqrt(2 * n)  # relative: five standard errors of a sample std
        std = float(w.std())
        bound = 2 * target / TRUNCATED_NORMAL_STD
        if abs(float(w.mean())) > 5 * target / math.sqrt(n):
            raise Wrong(f"the mean is {float(w.mean()):.3g}; draws should centre on 0.")
        if math.isclose(std, 1 / math.sqrt(shape[1]), rel_tol=std_tolerance) and not math.isclose(std, target, rel_tol=std_tolerance):
            raise Wrong(f"for shape {shape} the std is {std:.4f} = 1/sqrt(fan_out); TF1's default mode is fan_in, the first dimension of an [in, out] kernel.")
        if math.isclose(std, target * TRUNCATED_NORMAL_STD, rel_tol=std_tolerance):
            raise Wrong(f"the std is {std:.4f}, 0.88 times the target {target:.4f}: truncation shrinks the spread, so divide the std by 0.8796 before truncating.")
        if float(w.abs().max()) > bound * 1.0001:
            raise Wrong(f"a draw of {float(w.abs().max()):.4f} lies beyond two (corrected) standard deviations ({bound:.4f}); TF1 truncates there.")
        at_bound = float((w.abs() >= bound * (1 - 1e-4)).float().mean())
        if at_bound > 0.001:
            raise Wrong(f"{at_bound:.1%} of the draws sit exactly on the bound {bound:.4f}: that is clamping. "
                        "TF1 draws again for values beyond the bound (a truncated normal, nn.init.trunc_normal_).")
        if not math.isclose(std, target, rel_tol=std_tolerance):
            raise Wrong(f"for shape {shape} the std is {std:.4f}; TF1's default gives sqrt(1 / fan_in) = {target:.4f} "
                        f"(this many draws pin it to within {std_tolerance:.1%}).")
        if float(w.abs().max()) < 0.9 * bound:
            raise Wrong(f"no draw comes near the truncation bound {bound:.4f}: this looks like a uniform or narrower distribution, not a truncated normal.")
        inner = float((w.abs() < bound / 2).float().mean())
        if abs(inner - _INNER_SHARE) > 5 * math.sqrt(_INNER_SHARE * (1 - _INNER_SHARE) / n):
            raise Wrong(f"{inner:.1%} of the draws lie within one corrected standard deviation, where a normal "
                        f"truncated at two holds {_INNER_SHARE:.1%}: the spread is right but the shape is not TF1's.")
        again = answer(shape, generator=torch.Generator().manual_seed(0))
        other = answer(shape, generator=torch.Generator().manual_seed(1))
        if not (isinstance(again, Tensor) and torch.equal(again.detach(), w)) or (isinstance(other, Tensor) and torch.equal(other.detach(), w)):
            raise Wrong("draw with the generator passed in (generator=generator): the same generator seed must give "
                        "the same kernel, and another seed another kernel.")
    return "std sqrt(1/fan_in) after truncation at two corrected standard deviations, as TF1 draws it."


@check("porting a TF1 layer")
def port_layer(answer: Callable[[Tensor, Tensor], nn.Module]) -> str:
    """``answer(kernel, bias)`` returns a module computing ``sigmoid(x @ kernel + bias)``."""
    kernels, biases = _tf_layers([20, 7], seed=5)
    kernel, bias = kernels[0], biases[0]
    module = answer(kernel.clone(), bias.clone())
    if not isinstance(module, nn.Module):
        raise Wrong(f"return an nn.Module (for example nn.Sequential), not {type(module).__name__}.")
    params = list(module.parameters())
    if not params:
        raise Wrong("the module has no parameters, so it could not be trained further: keep W and b as parameters (nn.Linear does).")
    x = torch.rand(9, 20, generator=torch.Generator().manual_seed(4))
    want = torch.sigmoid(x @ kernel + bias)
    with torch.no_grad():
        got = module(x)
    if got.shape != want.shape:
        raise Wrong(f"9 inputs of 20 features gave shape {tuple(got.shape)}, expected {tuple(want.shape)}.")
    if torch.allclose(got, torch.sigmoid(x @ kernel), atol=1e-6):
        raise Wrong("the bias is missing.")
    if torch.allclose(got, x @ kernel + bias, atol=1e-6):
        raise Wrong("the sigmoid is missing.")
    if not torch.allclose(got, want, atol=1e-6):
        raise Wrong("the outputs differ from TF1's: nn.Linear.weight is [out, in], so it takes the kernel transposed.")
    if not all(p.requires_grad for p in params):
        raise Wrong("the outputs are right, but some parameters are frozen (requires_grad is False): copy the values "
                    "in under torch.no_grad() and leave the parameters trainable.")
    module.zero_grad()
    out = module(x)
    if out.requires_grad:
        out.sum().backward()
    if not out.requires_grad or any(p.grad is None or float(p.grad.abs().sum()) == 0 for p in params):
        raise Wrong("the outputs are right, but the gradient does not reach every parameter: compute the output from "
                    "the module's own weight and bias, not from the kernel and bias passed in.")
    return "the module reproduces tf.nn.sigmoid(tf.matmul(X, W) + b) and its parameters can be trained."
