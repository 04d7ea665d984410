"""Checks for chapter 3: from TensorFlow 1 to PyTorch."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from aecourse.checks.core import Wrong, as_number, backpropagate, exercise_check, check_device, probe_devices
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


@exercise_check("the manual forward pass", label="ex-ch3-forward")
def manual_forward(answer: Callable[[Tensor, list[Tensor], list[Tensor]], Tensor], *,
                   device: torch.device | str | None = None) -> str:
    """``answer(x, kernels, biases)``: ReLU after every layer but the last, Sigmoid after it.

    The answer gets copies of the lists (one that pops from them leaves the check's
    intact), on the notebook's device.
    """
    where = check_device(device)
    for sizes in ([12, 6, 3, 6, 12], [5, 4, 5], [6, 3]):
        kernels, biases = _tf_layers(sizes, seed=len(sizes))
        kernels, biases = [k.to(where) for k in kernels], [b.to(where) for b in biases]
        x = torch.rand(7, sizes[0], generator=torch.Generator().manual_seed(3)).to(where)
        got = answer(x.clone(), [k.clone() for k in kernels], [b.clone() for b in biases])
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
    probe_kernels, probe_biases = _tf_layers([4, 3, 4], seed=9)
    probe_x = torch.rand(2, 4)
    probe_devices(lambda: answer(probe_x, probe_kernels, probe_biases), "the forward pass")
    return "x @ W + b layer by layer, ReLU between, Sigmoid at the output, for any number of layers."


# For a standard normal truncated at +-2: the share of draws within +-1.
_INNER_SHARE = math.erf(1 / math.sqrt(2)) / math.erf(2 / math.sqrt(2))


@exercise_check("TF1's variance_scaling_initializer", label="ex-ch3-init")
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


@exercise_check("porting a TF1 layer", label="ex-ch3-port")
def port_layer(answer: Callable[[Tensor, Tensor], nn.Module], *, device: torch.device | str | None = None) -> str:
    """``answer(kernel, bias)`` returns a module computing ``sigmoid(x @ kernel + bias)``.

    The module is moved to the notebook's device before it runs, as a notebook would
    move it: one built on the CPU from device tensors, or on the device, both pass.
    """
    where = check_device(device)
    kernels, biases = _tf_layers([20, 7], seed=5)
    kernel, bias = kernels[0].to(where), biases[0].to(where)
    module = answer(kernel.clone(), bias.clone())
    if not isinstance(module, nn.Module):
        raise Wrong(f"return an nn.Module (for example nn.Sequential), not {type(module).__name__}.")
    module = module.to(where)
    params = list(module.parameters())
    if not params:
        raise Wrong("the module has no parameters, so it could not be trained further: keep W and b as parameters (nn.Linear does).")
    x = torch.rand(9, 20, generator=torch.Generator().manual_seed(4)).to(where)
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
        if torch.allclose(got, torch.relu(x @ kernel + bias), atol=1e-6):
            raise Wrong("the layer ends in a ReLU; TF1's code applies tf.nn.sigmoid: end with nn.Sigmoid().")
        raise Wrong(f"the outputs differ from sigmoid(X @ kernel + bias) (largest gap {float((got - want).abs().max()):.3g}): "
                    "the module must compute with the values passed in, kernel transposed into nn.Linear's "
                    "[out, in] weight and bias into its bias.")
    if not all(p.requires_grad for p in params):
        raise Wrong("the outputs are right, but some parameters are frozen (requires_grad is False): copy the values "
                    "in under torch.no_grad() and leave the parameters trainable.")
    module.zero_grad()
    out = module(x)
    if out.requires_grad:
        backpropagate(out.sum(), "the layer's output")
    if not out.requires_grad or any(p.grad is None or float(p.grad.abs().sum()) == 0 for p in params):
        raise Wrong("the outputs are right, but the gradient does not reach every parameter: compute the output from "
                    "the module's own weight and bias, not from the kernel and bias passed in.")
    return "the module reproduces tf.nn.sigmoid(tf.matmul(X, W) + b) and its parameters can be trained."


# -- deriving the truncated normal's spread ------------------------------------------

def _truncated_std(a: float) -> float:
    """The standard deviation of N(0, 1) truncated to [-a, a]: sqrt(1 - 2 a phi(a) / (2 Phi(a) - 1))."""
    mass = math.erf(a / math.sqrt(2))
    density = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    return math.sqrt(1 - 2 * a * density / mass)


@exercise_check("the spread of a truncated normal", label="ex-ch3-truncated")
def truncated_std(answer: Callable[[float], float]) -> str:
    """``answer(a)``: the standard deviation of a standard normal truncated to [-a, a].

    Any route passes: the closed form, numerical integration, or enough random draws
    (the tolerance, 0.002, is five standard errors of ten million draws).
    """
    for a in (2.0, 1.0, 3.0, 0.5):
        returned = answer(a)
        got = as_number(returned)
        if got is None:
            raise Wrong(f"return one number; truncated_std({a}) returned a {type(returned).__name__}.")
        want = _truncated_std(a)
        if math.isclose(got, want, abs_tol=2e-3):
            continue
        said = f"for a = {a} the standard deviation is {want:.4f}; your answer gave {got:.4f}."
        mass = math.erf(a / math.sqrt(2))
        density = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
        known = {
            "That is the variance: take its square root.": want**2,
            "That is the probability mass inside [-a, a]: the spread is the square root of the second "
            "moment of the truncated density.": mass,
            "That is the square root of 1 - 2 a phi(a), the variance before dividing by the mass: the truncated "
            "density is phi / (2 Phi(a) - 1), so divide the integral by the mass inside.":
                math.sqrt(max(1 - 2 * a * density, 0.0)),
            "That is the untruncated standard deviation: cutting off the tails makes it smaller.": 1.0,
        }
        for hint, value in known.items():
            if math.isclose(got, value, abs_tol=2e-3):
                raise Wrong(f"{said} {hint}")
        if a != 2.0 and math.isclose(got, TRUNCATED_NORMAL_STD, abs_tol=2e-3):
            raise Wrong(f"{said} That is the value for a = 2 only: compute it from a.")
        raise Wrong(said)
    return (f"{_truncated_std(2.0):.8f} at a = 2, TF1's constant {TRUNCATED_NORMAL_STD:.8f}, and right for "
            "a = 0.5, 1 and 3 too.")


# -- predicting a tied network's size ----------------------------------------------

def _tied_count(sizes: Sequence[int]) -> int:
    kernels = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return kernels + sum(sizes[1:]) + sum(sizes[:-1])


@exercise_check("the size of a tied autoencoder", label="ex-ch3-tied-count")
def tied_parameter_count(answer: Callable[[Sequence[int]], int]) -> str:
    """``answer(sizes)``: the parameters of a tied autoencoder with encoder widths ``sizes``
    (kernels shared, transposed, by the decoder; every layer with its own bias).

    A slip is named only if it reproduces the answer for all three sets of widths:
    for 784-392-196 alone, some slips give the same count.
    """
    cases = ([784, 392, 196], [10, 4], [6, 5, 3, 2])
    got = []
    for sizes in cases:
        value = answer(list(sizes))
        if isinstance(value, Tensor) and value.numel() == 1:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or float(value) != int(float(value)):
            raise Wrong(f"return a whole number; for sizes {sizes} got {value!r}.")
        got.append(int(value))
    want = [_tied_count(sizes) for sizes in cases]
    if got == want:
        return f"{want[0]:,} for 784-392-196, and right for other widths."
    kernels = [sum(a * b for a, b in zip(s[:-1], s[1:])) for s in cases]
    slips = {
        "That counts the decoder's kernels too: tied, it reuses the encoder's.":
            [w + k for w, k in zip(want, kernels)],
        "The decoder's biases are missing: every decoder layer keeps its own.":
            [w - sum(s[:-1]) for w, s in zip(want, cases)],
        "The encoder's biases are missing.": [w - sum(s[1:]) for w, s in zip(want, cases)],
        "That counts the kernels only: add a bias per unit of every layer, encoder and decoder.": kernels,
        "That gives the decoder a bias as wide as the code: its layers output the encoder's input widths, "
        "sizes[:-1], so those are its biases.": [w + s[-1] for w, s in zip(want, cases)],
        "The decoder's biases have the encoder's output widths, sizes[1:], here: its layers output the "
        "encoder's input widths, sizes[:-1], so those are its biases.":
            [w - sum(s[:-1]) + sum(s[1:]) for w, s in zip(want, cases)],
    }
    first = next(i for i, (g, w) in enumerate(zip(got, want)) if g != w)
    said = (f"for encoder widths {cases[first]} a tied autoencoder has {want[first]:,} parameters; "
            f"your answer gave {got[first]:,}.")
    for hint, values in slips.items():
        if got == values:
            raise Wrong(f"{said} {hint}")
    raise Wrong(said)


# -- where the student stands --------------------------------------------------------------

from aecourse.checks.core import Note, show_hint as hint  # noqa: E402  check.hint("ex-ch3-...")
from aecourse.checks.core import progress as _progress  # noqa: E402


def progress() -> Note:
    """Which of this chapter's exercises pass in this kernel, from their checks' last verdicts:
    the chapter's last cell shows it."""
    return _progress(__name__)
