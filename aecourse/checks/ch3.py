"""Checks for chapter 3: from TensorFlow 1 to PyTorch.

The checks come in the order of the chapter's exercises. Each first names what the
student can see (a number that is off, outputs that match another reading of the
weights); the code-level advice is each exercise's ``hint``, shown only by
``check.hint(label)``. Every check calls the answer inside
:func:`~aecourse.checks.core.left_as_found` (and, for lists of tensors, which
that cannot compare, :func:`_lists_kept`), so an answer that changes what it was
given is rejected with that cause.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from aecourse.checks.core import (
    ExerciseNotDone,
    Wrong,
    _raised_in_answer,
    as_number,
    backpropagate,
    check_device,
    exercise_check,
    is_device_mismatch,
    left_as_found,
    probe_devices,
)
from aecourse.device import cpu_float64
from aecourse.tf1 import TRUNCATED_NORMAL_STD, variance_scaling_


def _error_line(error: BaseException) -> str:
    return traceback.format_exception_only(type(error), error)[-1].strip()


def _call(answer: Callable[..., Any], where: str, *args: Any, **kwargs: Any) -> Any:
    """``answer(*args, **kwargs)``; an error raised in the student's code is reported with
    ``where`` (which case of the check it was), every other error left to the core."""
    try:
        return answer(*args, **kwargs)
    except (ExerciseNotDone, Wrong):
        raise
    except Exception as error:
        if is_device_mismatch(error) or not _raised_in_answer(error):
            raise
        raise Wrong(f"{where}, running your answer raised {_error_line(error)}") from None


@contextlib.contextmanager
def _lists_kept(**lists: list) -> Iterator[None]:
    """Reject an answer that adds, removes or replaces items of a list it was given (a list
    of tensors, which ``left_as_found`` cannot compare), and put the items back either way."""
    before = {name: list(items) for name, items in lists.items()}
    changed: list[str] = []
    try:
        yield
    finally:
        for name, items in lists.items():
            if len(items) != len(before[name]) or any(a is not b for a, b in zip(items, before[name])):
                changed.append(name)
            items[:] = before[name]
    if changed:
        raise Wrong(f"your answer changed the list {changed[0]} it was given (it removed, added or replaced "
                    "items), so the caller's list is no longer the network it passed in. It must leave its "
                    "arguments as it found them.")


@contextlib.contextmanager
def _calls_of(function: Callable[..., Any]) -> Iterator[list[bool]]:
    """Record, in the list yielded, whether ``function`` (undecorated) ran inside the block."""
    code = inspect.unwrap(function).__code__
    seen: list[bool] = []
    previous = sys.getprofile()

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code is code:
            seen.append(True)

    sys.setprofile(profile)
    try:
        yield seen
    finally:
        sys.setprofile(previous)


# -- deriving the truncated normal's spread ------------------------------------------

def _truncated_std(a: float) -> float:
    """The standard deviation of N(0, 1) truncated to [-a, a]: sqrt(1 - 2 a phi(a) / (2 Phi(a) - 1))."""
    mass = math.erf(a / math.sqrt(2))
    density = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    return math.sqrt(1 - 2 * a * density / mass)


#: The exercise allows any a > 0: the check tries narrow cuts (where the spread is about
#: a / sqrt(3)), TF1's 2, and wide ones (where it tends to 1).
TRUNCATION_POINTS = (2.0, 1.0, 3.0, 0.5, 5.0, 0.05, 8.0)
#: Relative: a closed form, a numerical integral, or ten million random draws (five
#: standard errors of their spread are 0.11 %) are all well inside it.
TRUNCATED_TOLERANCE = 5e-3


@exercise_check(
    "the spread of a truncated normal", label="ex-ch3-truncated",
    hint="The truncated density is phi(t) / (2 Phi(a) - 1) on [-a, a], with phi the standard normal density "
         "and 2 Phi(a) - 1 = erf(a / sqrt(2)) the mass left inside. Its variance is the integral of t^2 times "
         "that density over [-a, a] (the mean is 0). Integrating t^2 phi(t) by parts gives "
         "(2 Phi(a) - 1) - 2 a phi(a). Numerically: integrate t^2 phi(t) and phi(t) over a fine grid of "
         "[-a, a] and take the ratio; do not cut the grid at a fixed width.",
)
def truncated_std(answer: Callable[[float], float]) -> str:
    """``answer(a)``: the standard deviation of a standard normal truncated to [-a, a], for any a > 0.

    ``a`` runs from 0.05 to 8 (:data:`TRUNCATION_POINTS`). Any route passes: the closed
    form, numerical integration, or enough random draws; any real number type comes
    back as a number (float, NumPy scalar, one-element tensor of any dtype).
    """
    said_at_2 = None
    for a in TRUNCATION_POINTS:
        returned = _call(answer, f"for a = {a}", a)
        got = as_number(returned)
        if got is None:
            raise Wrong(f"truncated_std({a}) returned a {type(returned).__name__}, not one number.")
        want = _truncated_std(a)
        if math.isclose(got, want, rel_tol=TRUNCATED_TOLERANCE):
            said_at_2 = got if a == 2.0 else said_at_2
            continue
        said = f"for a = {a} the standard deviation is {want:.4f}; your answer gave {got:.4f}."
        mass = math.erf(a / math.sqrt(2))
        density = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
        known = {
            "That is the variance, the square of the standard deviation.": want**2,
            "That is the probability mass inside [-a, a], not a spread.": mass,
            "That is the square root of the second moment of phi over [-a, a] before it is divided by the "
            "mass inside: the truncated density is phi / (2 Phi(a) - 1), not phi.":
                math.sqrt(max(1 - 2 * a * density, 0.0)),
            "That is the untruncated standard deviation: cutting off the tails makes it smaller.": 1.0,
        }
        for cause, value in known.items():
            if math.isclose(got, value, rel_tol=TRUNCATED_TOLERANCE):
                raise Wrong(f"{said} {cause}")
        if a != 2.0 and math.isclose(got, TRUNCATED_NORMAL_STD, rel_tol=TRUNCATED_TOLERANCE):
            raise Wrong(f"{said} That is the value for a = 2, whatever a is.")
        if a > 3.0 and math.isclose(got, _truncated_std(3.0), rel_tol=TRUNCATED_TOLERANCE):
            raise Wrong(f"{said} That is the value for a = 3: past a = 3 your answer stops following a.")
        raise Wrong(said)
    return (f"{said_at_2:.8f} at a = 2 (TF1's constant is {TRUNCATED_NORMAL_STD:.8f}), and right for "
            f"every a from {min(TRUNCATION_POINTS)} to {max(TRUNCATION_POINTS):g}.")


# -- TF1's initializer ---------------------------------------------------------------

# For a standard normal truncated at +-2: the share of draws within +-1.
_INNER_SHARE = math.erf(1 / math.sqrt(2)) / math.erf(2 / math.sqrt(2))


def _as_kernel(value: Any) -> Tensor | None:
    """What the answer returned, as a tensor (a NumPy array is read as one), or None."""
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    return cpu_float64(value) if isinstance(value, Tensor) else None


@exercise_check(
    "TF1's variance_scaling_initializer", label="ex-ch3-init",
    hint="fan_in is the first dimension of a TF1 kernel [in, out]. The target standard deviation is "
         "sqrt(1 / fan_in); a normal truncated at two of its standard deviations has only 0.8796 of its "
         "spread, so draw from a normal whose standard deviation is the target divided by 0.8796 and cut it "
         "at two of those (wider) standard deviations, redrawing what falls outside. nn.init.trunc_normal_ "
         "takes a mean, a standard deviation, the two cut-off points and a generator.",
)
def variance_scaling(answer: Callable[..., Tensor]) -> str:
    """``answer(shape, generator=g)`` draws a TF-layout ``[in, out]`` kernel like TF1's default.

    400,000 draws per shape: every tolerance is five standard errors of that
    sample size (about 0.6 % on the spread), and the shape of the distribution
    is tested too (its share within one corrected standard deviation, and no
    pile-up at the bound), so a wrong truncation cannot pass on its spread alone.
    A tensor of any float dtype or a NumPy array passes. Calling the course's own
    ``aecourse.tf1.variance_scaling_`` does not: it is the answer.
    """
    for shape in ((1000, 400), (250, 1600)):
        fan_in = shape[0]
        with _calls_of(variance_scaling_) as shortcut:
            returned = _call(answer, f"for shape {shape}", shape, generator=torch.Generator().manual_seed(0))
        if shortcut:
            raise Wrong("your answer calls the course's own aecourse.tf1.variance_scaling_, which draws TF1's "
                        "kernel for you: the exercise asks you to draw it yourself.")
        w = _as_kernel(returned)
        if w is None or tuple(w.shape) != shape:
            got = tuple(w.shape) if w is not None else type(returned).__name__
            raise Wrong(f"asked for a kernel of shape {shape}, got {got}.")
        n = w.numel()
        target = 1 / math.sqrt(fan_in)
        std_tolerance = 5 / math.sqrt(2 * n)  # relative: five standard errors of a sample std
        std = float(w.std())
        bound = 2 * target / TRUNCATED_NORMAL_STD
        if abs(float(w.mean())) > 5 * target / math.sqrt(n):
            raise Wrong(f"for shape {shape} the draws have mean {float(w.mean()):.3g}; TF1's centre on 0.")
        if math.isclose(std, 1 / math.sqrt(shape[1]), rel_tol=std_tolerance) and not math.isclose(std, target, rel_tol=std_tolerance):
            raise Wrong(f"for shape {shape} the draws' standard deviation is {std:.4f} = 1/sqrt({shape[1]}), "
                        f"read from the second dimension; TF1's default reads fan_in, {fan_in} here, and gives "
                        f"{target:.4f}.")
        if math.isclose(std, target * TRUNCATED_NORMAL_STD, rel_tol=std_tolerance):
            raise Wrong(f"for shape {shape} the draws' standard deviation is {std:.4f}, 0.88 times TF1's "
                        f"{target:.4f}: the spread that cutting the tails takes away is not given back.")
        if float(w.abs().max()) > bound * 1.0001:
            raise Wrong(f"for shape {shape} a draw of {float(w.abs().max()):.4f} lies beyond {bound:.4f}, two "
                        "(corrected) standard deviations out, where TF1's kernels stop.")
        at_bound = float((w.abs() >= bound * (1 - 1e-4)).float().mean())
        if at_bound > 0.001:
            raise Wrong(f"for shape {shape}, {at_bound:.1%} of the draws sit exactly on the bound {bound:.4f}: "
                        "values beyond the cut are moved onto it, where TF1 draws them again.")
        if not math.isclose(std, target, rel_tol=std_tolerance):
            raise Wrong(f"for shape {shape} the draws' standard deviation is {std:.4f}; TF1's default gives "
                        f"sqrt(1 / fan_in) = {target:.4f} (this many draws pin it to within {std_tolerance:.1%}).")
        if float(w.abs().max()) < 0.9 * bound:
            raise Wrong(f"for shape {shape} no draw comes near the truncation bound {bound:.4f}: this looks like "
                        "a uniform or narrower distribution, not a truncated normal.")
        inner = float((w.abs() < bound / 2).float().mean())
        if abs(inner - _INNER_SHARE) > 5 * math.sqrt(_INNER_SHARE * (1 - _INNER_SHARE) / n):
            raise Wrong(f"{inner:.1%} of the draws lie within one corrected standard deviation, where a normal "
                        f"truncated at two holds {_INNER_SHARE:.1%}: the spread is right but the shape is not TF1's.")
        again = _as_kernel(_call(answer, f"for shape {shape}", shape, generator=torch.Generator().manual_seed(0)))
        other = _as_kernel(_call(answer, f"for shape {shape}", shape, generator=torch.Generator().manual_seed(1)))
        if again is None or not torch.equal(again, w):
            raise Wrong("two generators seeded alike gave different kernels: the draws do not all come from the "
                        "generator passed in.")
        if other is not None and torch.equal(other, w):
            raise Wrong("generators seeded differently gave the same kernel: the draws do not come from the "
                        "generator passed in.")
    return "std sqrt(1/fan_in) after truncation at two corrected standard deviations, as TF1 draws it."


# -- the manual forward pass ---------------------------------------------------------

def _tf_layers(sizes: Sequence[int], seed: int) -> tuple[list[Tensor], list[Tensor]]:
    """Random TF-layout kernels ``[in, out]`` and non-zero biases for ``sizes``."""
    g = torch.Generator().manual_seed(seed)
    kernels = [torch.randn(a, b, generator=g) / math.sqrt(a) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [0.1 * torch.randn(b, generator=g) for b in sizes[1:]]
    return kernels, biases


def _reference_forward(x: Tensor, kernels: Sequence[Tensor], biases: Sequence[Tensor], last=torch.sigmoid) -> Tensor:
    h = x
    for i, (w, b) in enumerate(zip(kernels, biases)):
        h = h @ w + b
        h = last(h) if i == len(kernels) - 1 else torch.relu(h)
    return h


@exercise_check(
    "the manual forward pass", label="ex-ch3-forward",
    hint="Loop over the (kernel, bias) pairs: h = h @ kernel + bias, then the layer's activation, a ReLU "
         "for every pair but the last, which takes the Sigmoid. TF-layout kernels need no transpose, and "
         "the loop must not assume a number of layers.",
)
def manual_forward(answer: Callable[[Tensor, list[Tensor], list[Tensor]], Tensor], *,
                   device: torch.device | str | None = None) -> str:
    """``answer(x, kernels, biases)``: ReLU after every layer but the last, Sigmoid after it.

    The answer gets the check's own lists and tensors, on the notebook's device; one
    that changes them (pops from a list, writes into a tensor) is rejected for it.
    """
    where = check_device(device)
    for sizes in ([12, 6, 3, 6, 12], [5, 4, 5], [6, 3]):
        kernels, biases = _tf_layers(sizes, seed=len(sizes))
        kernels, biases = [k.to(where) for k in kernels], [b.to(where) for b in biases]
        x = torch.rand(7, sizes[0], generator=torch.Generator().manual_seed(3)).to(where)
        want = _reference_forward(x, kernels, biases)
        depth = f"for {len(kernels)} layer{'s' if len(kernels) > 1 else ''} of widths {sizes}"
        given_kernels, given_biases = list(kernels), list(biases)
        tensors = {f"kernels[{i}]": k for i, k in enumerate(kernels)}
        tensors |= {f"biases[{i}]": b for i, b in enumerate(biases)}
        with _lists_kept(kernels=given_kernels, biases=given_biases), left_as_found(x=x, **tensors):
            got = _call(answer, depth, x, given_kernels, given_biases)
        if not isinstance(got, Tensor) or got.shape != want.shape:
            shape = tuple(got.shape) if isinstance(got, Tensor) else type(got).__name__
            raise Wrong(f"{depth} the output should have shape {tuple(want.shape)}; your answer gave {shape}.")
        got = got.detach().to(want.dtype)
        if torch.allclose(got, want, atol=1e-5):
            continue
        no_bias = _reference_forward(x, kernels, [torch.zeros_like(b) for b in biases])
        if torch.allclose(got, no_bias, atol=1e-5):
            raise Wrong(f"{depth} your outputs are the network's with every bias left out.")
        if torch.allclose(got, _reference_forward(x, kernels, biases, last=torch.relu), atol=1e-5):
            raise Wrong(f"{depth} your outputs are the network's with a ReLU after the last layer too; its "
                        "outputs should lie in (0, 1), from a Sigmoid.")
        if torch.allclose(got, _reference_forward(x, kernels, biases, last=lambda h: h), atol=1e-5):
            raise Wrong(f"{depth} your outputs are the network's before the last layer's Sigmoid.")
        raise Wrong(f"{depth} your outputs differ from the network's (largest gap "
                    f"{float((got - want).abs().max()):.3g}).")
    probe_kernels, probe_biases = _tf_layers([4, 3, 4], seed=9)
    probe_x = torch.rand(2, 4)
    probe_devices(lambda: answer(probe_x, list(probe_kernels), list(probe_biases)), "the forward pass")
    return "x @ W + b layer by layer, ReLU between, Sigmoid at the output, for any number of layers."


# -- predicting a tied network's size ----------------------------------------------

def _tied_count(sizes: Sequence[int]) -> int:
    kernels = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return kernels + sum(sizes[1:]) + sum(sizes[:-1])


@exercise_check(
    "the size of a tied autoencoder", label="ex-ch3-tied-count",
    hint="Encoder layer i maps sizes[i] numbers to sizes[i + 1]: a kernel of sizes[i] * sizes[i + 1] weights "
         "and a bias of sizes[i + 1]. The tied decoder owns no kernels; its layers map back, from sizes[i + 1] "
         "to sizes[i], so each has a bias of sizes[i].",
)
def tied_parameter_count(answer: Callable[[Sequence[int]], int]) -> str:
    """``answer(sizes)``: the parameters of a tied autoencoder with encoder widths ``sizes``
    (kernels shared, transposed, by the decoder; every layer with its own bias).

    Any whole number passes: an int, a whole float, a NumPy or one-element tensor value.
    A slip is named only if it reproduces the answer for all three sets of widths:
    for 784-392-196 alone, some slips give the same count.
    """
    cases = ([784, 392, 196], [10, 4], [6, 5, 3, 2])
    got = []
    for sizes in cases:
        given = list(sizes)
        with left_as_found(sizes=given):
            value = _call(answer, f"for encoder widths {sizes}", given)
        number = as_number(value)
        if number is None or not math.isfinite(number) or number != int(number):
            raise Wrong(f"for encoder widths {sizes} your answer returned {value!r}, not a whole number.")
        got.append(int(number))
    want = [_tied_count(sizes) for sizes in cases]
    if got == want:
        return f"{want[0]:,} for 784-392-196, and right for other widths."
    kernels = [sum(a * b for a, b in zip(s[:-1], s[1:])) for s in cases]
    slips = {
        "That counts the decoder's kernels too: tied, it has none of its own.":
            [w + k for w, k in zip(want, kernels)],
        "That is the count without the decoder's biases.": [w - sum(s[:-1]) for w, s in zip(want, cases)],
        "That is the count without the encoder's biases.": [w - sum(s[1:]) for w, s in zip(want, cases)],
        "That counts the kernels only, no biases.": kernels,
        "That gives the decoder one bias too many, as wide as the code: a decoder layer's bias is as wide "
        "as what it outputs.": [w + s[-1] for w, s in zip(want, cases)],
        "That gives the decoder's layers the encoder's bias widths: a decoder layer's bias is as wide as what "
        "it outputs, and the decoder outputs the encoder's input widths.":
            [w - sum(s[:-1]) + sum(s[1:]) for w, s in zip(want, cases)],
    }
    first = next(i for i, (g, w) in enumerate(zip(got, want)) if g != w)
    said = (f"for encoder widths {cases[first]} a tied autoencoder has {want[first]:,} parameters; "
            f"your answer gave {got[first]:,}.")
    for cause, values in slips.items():
        if got == values:
            raise Wrong(f"{said} {cause}")
    raise Wrong(said)


# -- porting a layer whose kernel's layout is not recorded ---------------------------

#: (inputs, outputs, layout the file stored the kernel in): both layouts, layers that
#: shrink and layers that grow, and square ones, where only the saved outputs tell.
PORT_CASES = ((20, 7, "tf"), (20, 7, "torch"), (7, 20, "torch"), (7, 20, "tf"), (12, 12, "torch"), (12, 12, "tf"))
_LAYOUT = {"tf": "[in, out]", "torch": "[out, in]"}


def _port_case(n_in: int, n_out: int, layout: str, seed: int, where: torch.device) -> dict[str, Tensor]:
    """A layer ``sigmoid(x @ W + b)`` with ``W`` ``[in, out]``; its file's kernel in ``layout``;
    saved inputs and the outputs computed as ``nn.Linear`` computes them; fresh inputs to test on."""
    g = torch.Generator().manual_seed(seed)
    w = 2 * torch.randn(n_in, n_out, generator=g) / math.sqrt(n_in)
    b = 0.5 * torch.randn(n_out, generator=g)
    x_saved, x_new = torch.rand(16, n_in, generator=g), torch.rand(9, n_in, generator=g)
    y_saved = torch.sigmoid(F.linear(x_saved, w.T.contiguous(), b))
    kernel = w.clone() if layout == "tf" else w.T.contiguous()
    case = {"w": w, "b": b, "kernel": kernel, "x_saved": x_saved, "y_saved": y_saved, "x_new": x_new}
    return {name: t.to(where) for name, t in case.items()}


@exercise_check(
    "porting a layer of unknown layout", label="ex-ch3-port",
    hint="The bias has one number per output, so a kernel dimension of another length must be the inputs "
         "(and x_saved has one column per input). When inputs and outputs are equally many, both readings fit "
         "every shape; build the layer both ways and keep the one whose outputs on x_saved match y_saved "
         "(torch.allclose). nn.Linear's weight is [out, in]: a kernel stored [in, out] goes in transposed "
         "(.T, never .reshape), copied under torch.no_grad() so that it stays a trainable parameter.",
)
def port_layer(answer: Callable[[Tensor, Tensor, Tensor, Tensor], nn.Module], *,
               device: torch.device | str | None = None) -> str:
    """``answer(kernel, bias, x_saved, y_saved)`` returns a module computing the TF1 layer
    ``sigmoid(x @ W + b)``, where the file's ``kernel`` holds ``W`` as ``[in, out]`` or as
    ``[out, in]`` and nothing says which.

    Six layers (:data:`PORT_CASES`): each layout, layers that shrink and that grow (a rule
    "the larger side is the input" fails), and square ones, where both readings fit every
    shape and only ``y_saved`` tells them apart. The module is judged on inputs it has not
    seen, after moving it to the notebook's device as a notebook would; its weight and bias
    must be parameters a gradient reaches. The tensors passed in must come back unchanged.
    """
    where = check_device(device)
    for seed, (n_in, n_out, layout) in enumerate(PORT_CASES):
        case = _port_case(n_in, n_out, layout, seed, where)
        what = (f"for a layer with {n_in} inputs and {n_out} outputs whose kernel was stored "
                f"{_LAYOUT[layout]} (shape {tuple(case['kernel'].shape)})")
        given = {name: case[name] for name in ("kernel", "x_saved", "y_saved")} | {"bias": case["b"]}
        with left_as_found(**given):
            module = _call(answer, what, given["kernel"], given["bias"], given["x_saved"], given["y_saved"])
        if not isinstance(module, nn.Module):
            raise Wrong(f"{what}, your answer returned a {type(module).__name__}, not an nn.Module.")
        module = module.to(where)
        x, w, b = case["x_new"], case["w"], case["b"]
        try:
            with torch.no_grad():
                got = module(x)
        except (ExerciseNotDone, Wrong):
            raise
        except Exception as error:
            if is_device_mismatch(error):
                raise
            raise Wrong(f"{what}, your module could not run on a batch of shape {tuple(x.shape)} "
                        f"(9 inputs of {n_in} numbers): {_error_line(error)}") from None
        want = torch.sigmoid(x @ w + b)
        if not isinstance(got, Tensor) or got.shape != want.shape:
            shape = tuple(got.shape) if isinstance(got, Tensor) else type(got).__name__
            raise Wrong(f"{what}, a batch of shape {tuple(x.shape)} gave {shape}; the layer outputs "
                        f"{tuple(want.shape)}.")
        got = got.detach().to(want.dtype)
        if torch.allclose(got, want, atol=1e-5):
            continue
        readings = {}
        if n_in == n_out:
            other = _LAYOUT["tf" if layout == "torch" else "torch"]
            readings[f"your module reads the kernel as {other}, and this file stored it {_LAYOUT[layout]}: its "
                     "outputs on x_saved are not y_saved."] = torch.sigmoid(x @ w.T + b)
        else:
            kernel = case["kernel"]
            for scrambled in (kernel.reshape(n_in, n_out), kernel.reshape(n_out, n_in).T):
                if not torch.equal(scrambled, w):
                    readings["your module's outputs are those of the kernel's numbers reshaped into the other "
                             "layout: a reshape keeps the numbers in their stored order, so most weights end up "
                             "joining other inputs to other outputs."] = torch.sigmoid(x @ scrambled + b)
        readings |= {
            "your module's outputs are the layer's without its bias.": torch.sigmoid(x @ w),
            "your module's outputs are the layer's values before the sigmoid.": x @ w + b,
            "your module's outputs are a ReLU of the layer's values; the TF1 layer applies a sigmoid.":
                torch.relu(x @ w + b),
        }
        for cause, value in readings.items():
            if torch.allclose(got, value, atol=1e-5):
                raise Wrong(f"{what}, {cause}")
        raise Wrong(f"{what}, your module's outputs differ from the layer's (largest gap "
                    f"{float((got - want).abs().max()):.3g}).")
    params = [p for p in module.parameters() if p.requires_grad]
    module.zero_grad()
    out = module(x)
    if out.requires_grad:
        backpropagate(out.sum(), "the layer's output")
    reached = sum(p.numel() for p in params if p.grad is not None and float(p.grad.abs().sum()) > 0)
    if reached < n_in * n_out + n_out:
        raise Wrong(f"the outputs are right, but a gradient reaches only {reached} of the layer's "
                    f"{n_in * n_out + n_out} weights and biases: they are not all parameters the module "
                    "trains (plain tensors, frozen parameters, or parameters the output is not computed from).")
    return ("both layouts, shrinking, growing and square layers: the module computes the TF1 layer, and "
            "its weights are trainable parameters.")


# -- where the student stands --------------------------------------------------------------

from aecourse.checks.core import Note, show_hint as hint  # noqa: E402  check.hint("ex-ch3-...")
from aecourse.checks.core import progress as _progress  # noqa: E402


def progress() -> Note:
    """Which of this chapter's exercises pass in this kernel, from their checks' last verdicts:
    the chapter's last cell shows it."""
    return _progress(__name__)
