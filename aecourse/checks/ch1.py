"""Checks for chapter 1: the linear autoencoder.

The chapter's exercises build on each other: the learning-rate sweep reruns the
student's own ``train_raw``, and the divergence check computes its answer with
the reference loop. So the loop check accepts exactly the loops that give the
reference's losses from the same seed (parameters drawn in the stated order,
plain SGD, mean squared error), and explains any other loop by replaying the
known variants; a loop it cannot explain is described, not guessed at.
"""

from __future__ import annotations

import copy
import itertools
import math
import numbers
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from aecourse.checks.core import Wrong, as_number, exercise_check, probe_devices
from aecourse.data import correlated_2d
from aecourse.pca import fit_pca

_TOY_SEED = 0
DIVERGENCE_GRID = (0.05, 0.1, 0.2, 0.3, 0.5)
_NAMES = ("w_encoder", "w_decoder", "b_encoder", "b_decoder")


def _toy(seed: int = _TOY_SEED, n: int = 100) -> Tensor:
    return correlated_2d(n, generator=torch.Generator().manual_seed(seed))


def reference_train_raw(x: Tensor, steps: int, lr: float, *, order: Sequence[str] = _NAMES,
                        optimizer: str = "SGD", zero_grad: bool = True, reduction: str = "mean",
                        zero_biases: bool = False) -> list[float]:
    """The chapter's loop; or, with one option changed, a variant a student may have written.

    The parameters are drawn with ``torch.randn`` in ``order`` from the global
    generator, so the same seed and the same order give the same start.
    """
    d = x.shape[1]
    shapes = {"w_encoder": (d, 1), "w_decoder": (1, d), "b_encoder": (1,), "b_decoder": (1, d)}
    params = {}
    for name in order:
        if zero_biases and name.startswith("b_"):
            params[name] = torch.zeros(shapes[name], requires_grad=True)
        else:
            params[name] = torch.randn(shapes[name], requires_grad=True)
    w_e, w_d, b_e, b_d = (params[name] for name in _NAMES)
    make = torch.optim.Adam if optimizer == "Adam" else torch.optim.SGD
    opt = make([w_e, w_d, b_e, b_d], lr=lr)
    losses = []
    for _ in range(steps):
        squared = ((x @ w_e + b_e) @ w_d + b_d - x) ** 2
        loss = squared.mean() if reduction == "mean" else squared.sum()
        if zero_grad:
            opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def _seeded(train: Callable[..., list[float]], x: Tensor, steps: int, lr: float, **options) -> list[float]:
    torch.manual_seed(_TOY_SEED)
    return train(x.clone(), steps, lr, **options)


def _matches(got: Sequence[float], want: Sequence[float]) -> bool:
    return len(got) == len(want) and all(
        math.isclose(g, w, rel_tol=1e-3, abs_tol=1e-7) or (math.isnan(g) and math.isnan(w)) for g, w in zip(got, want)
    )


def _explain_loop(got: list[float], x: Tensor, steps: int, lr: float) -> str:
    """Why ``got`` differs from the reference: a cause only where its replay matches."""
    want = _seeded(reference_train_raw, x, steps, lr)
    if _matches(got, [v / len(x) for v in want]):
        return (f"each loss is the chapter's divided by the number of points ({len(x)}), the question's "
                "epoch_loss: the mean squared error is already a mean, and with one full batch per step the "
                "step's loss is the epoch's loss. Record loss.item() itself.")
    if _matches(got, _seeded(reference_train_raw, x, steps, lr, optimizer="Adam")):
        return ("the losses are Adam's: use plain torch.optim.SGD. The sweep below is about SGD's step size, "
                "and with Adam your own sweep would diverge at other rates than the chapter's.")
    if _matches(got, _seeded(reference_train_raw, x, steps, lr, zero_grad=False)):
        return "gradients piled up across steps: call optimizer.zero_grad() before loss.backward() in every step."
    if _matches(got, _seeded(reference_train_raw, x, steps, lr, reduction="sum")):
        return "the loss is the sum of the squared errors: take the mean over all entries (as nn.MSELoss does)."
    if _matches(got, _seeded(reference_train_raw, x, steps, lr, zero_biases=True)):
        return ("the biases start at zero: draw all four parameters with torch.randn, as the exercise says, so that "
                "the same seed gives the chapter's start and your sweep the chapter's numbers.")
    for order in itertools.permutations(_NAMES):
        if order != _NAMES and _matches(got, _seeded(reference_train_raw, x, steps, lr, order=order)):
            return (f"the parameters were drawn in the order {', '.join(order)}: from the same seed that is another "
                    f"start, and your learning-rate sweep would diverge at other rates than the check of that "
                    f"exercise computes. Draw them in the order {', '.join(_NAMES)}.")
    for other in (0.1, 0.01):
        if other != lr and _matches(got, _seeded(reference_train_raw, x, steps, other)):
            return f"the loop ignores lr: called with lr={lr}, it trained at {other}."
    first = next(i for i, (g, w) in enumerate(zip(got, want)) if not _matches([g], [w]))
    return (f"called after torch.manual_seed(0) with steps={steps}, lr={lr}, the loss at step {first + 1} is "
            f"{got[first]:.6g}; the chapter's loop gives {want[first]:.6g} from that seed.")


@exercise_check("the mended training loop", label="ex-ch1-loop")
def mended_loop(train: Callable[[Tensor, int, float], list[float]]) -> str:
    """``train(x, steps, lr)`` must give the chapter loop's float losses, call after call.

    Three calls with other data, step counts and rates: an answer that ignores
    ``steps`` or ``lr``, or works only for one call, cannot match all three.
    """
    calls = ((_toy(), 500, 0.1), (_toy(), 37, 0.05), (_toy(seed=3, n=40), 120, 0.2))
    for x, steps, lr in calls:
        losses = _seeded(train, x, steps, lr)
        if not isinstance(losses, (list, tuple)) or len(losses) != steps:
            size = len(losses) if hasattr(losses, "__len__") else "?"
            raise Wrong(f"return a list with one loss per step; train(x, {steps}, {lr}) returned "
                        f"{type(losses).__name__} of length {size}.")
        if any(isinstance(v, Tensor) for v in losses):
            raise Wrong("the losses are tensors; store loss.item() so that each step's graph can be freed.")
        if not all(isinstance(v, numbers.Real) for v in losses):
            raise Wrong(f"the losses must be Python floats (loss.item()); found {type(losses[0]).__name__}.")
        losses = [float(v) for v in losses]
        if steps > 1 and max(losses) - min(losses) < 1e-12:
            raise Wrong("the loss never moved. Hand the optimizer the four parameter tensors (created with "
                        "requires_grad=True), and recompute the reconstruction from them inside the loop.")
        if not _matches(losses, _seeded(reference_train_raw, x, steps, lr)):
            raise Wrong(_explain_loop(losses, x, steps, lr))
    return ("from seed 0 your loop gives the chapter's losses, step for step, for three step counts and "
            "rates (0.05, 0.1, 0.2) and two data sets; the sweep below can rely on it.")


@exercise_check("the PCA reconstruction error by SVD", label="ex-ch1-pca")
def pca_error(answer: Callable[[Tensor, int], float]) -> str:
    """``answer(x, k)`` must equal the rank-k PCA mean squared error per entry, for several data sets."""
    generator = torch.Generator().manual_seed(1)
    wide = torch.randn(200, 6, generator=generator) @ torch.randn(6, 6, generator=generator) + 3.0
    narrow = torch.randn(50, 4, generator=generator) * torch.tensor([5.0, 2.0, 1.0, 0.3]) - 1.0
    for x, ks in ((wide, (1, 3, 6)), (narrow, (2,)), (_toy(), (1,))):
        for k in ks:
            expected = fit_pca(x).error(x, k)
            returned = answer(x.clone(), k)
            got = as_number(returned)
            if got is None:
                raise Wrong(f"return one number; pca_error(x, {k}) returned a {type(returned).__name__}.")
            if not math.isclose(got, expected, rel_tol=1e-3, abs_tol=1e-7):
                raise Wrong(_explain_pca(got, expected, x, k))
    return "it matches the eigendecomposition-based PCA for three data sets and k from 1 to 6."


def _explain_pca(got: float, expected: float, x: Tensor, k: int) -> str:
    said = f"for x of shape {tuple(x.shape)} and k={k} expected {expected:.5f}, got {got:.5f}."
    n, d = x.shape
    centred = x - x.mean(dim=0)
    u, s, vh = torch.linalg.svd(centred, full_matrices=False)
    known = {
        "Subtract the column means before the SVD (and add them back).":
            float(((x - _svd_truncate(x, k)) ** 2).mean()),
        "That is the error summed over each row's entries: average over all N*D entries.": expected * d,
        "That is the total squared error: average it over all N*D entries.": expected * n * d,
        "That divides by N - 1 (torch.cov's unbiased covariance): the error per entry averages over the N "
        "rows, so use the 1/N covariance.": expected * n / (n - 1),
        "vh's rows are the principal directions: keep vh[:k], not vh[:, :k].":
            float(((centred - (u[:, :k] * s[:k]) @ vh[:, :k].T) ** 2).mean()) if k <= d else math.nan,
        "That is the error of the k components kept being thrown away: the reconstruction keeps the top k.":
            float(((centred - (u[:, k:] * s[k:]) @ vh[k:]) ** 2).mean()),
    }
    for hint, value in known.items():
        if math.isclose(got, value, rel_tol=1e-3):
            return f"{said} {hint}"
    return said


def _svd_truncate(x: Tensor, k: int) -> Tensor:
    u, s, vh = torch.linalg.svd(x, full_matrices=False)
    return u[:, :k] @ torch.diag(s[:k]) @ vh[:k]


# -- predicting the rate at which SGD diverges -----------------------------------------

def _quadratic(eigenvalues: Sequence[float], seed: int) -> tuple[Callable[[Tensor], Tensor], Tensor]:
    """0.5 p^T A p + b^T p with A = Q diag(eigenvalues) Q^T, Q a random rotation."""
    generator = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(len(eigenvalues), len(eigenvalues), generator=generator))
    a = q @ torch.diag(torch.tensor(eigenvalues)) @ q.T
    b = torch.randn(len(eigenvalues), generator=generator)
    return (lambda p: 0.5 * p @ a @ p + b @ p), torch.randn(len(eigenvalues), generator=generator)


_TOY_X = _toy()  # drawn once: a loss that drew its data on every call would defeat torch.func.hessian


def _toy_loss(p: Tensor) -> Tensor:
    """The chapter's loss as a function of its 7 parameters packed in one vector."""
    x = _TOY_X
    w_e, w_d, b_e, b_d = p[:2].reshape(2, 1), p[2:4].reshape(1, 2), p[4:5], p[5:7].reshape(1, 2)
    return (((x @ w_e + b_e) @ w_d + b_d - x) ** 2).mean()


def _quartic(p: Tensor) -> Tensor:
    return (p**4).sum() / 4 + p[0] * p[1] - 2 * p[1] * p[2]


def _sharpness_cases() -> list[tuple[str, Callable[[Tensor], Tensor], Tensor]]:
    rotated, p1 = _quadratic([1.0, 4.0, 9.0], seed=0)
    saddle, p2 = _quadratic([-20.0, 3.0, 5.0, 0.5], seed=1)
    return [
        ("a rotated quadratic with Hessian eigenvalues 1, 4, 9", rotated, p1),
        ("a saddle with Hessian eigenvalues -20, 0.5, 3, 5", saddle, p2),
        ("a quartic at (1, 2, -1)", _quartic, torch.tensor([1.0, 2.0, -1.0])),
        ("the chapter's loss at a random point of its 7 parameters", _toy_loss,
         torch.randn(7, generator=torch.Generator().manual_seed(5))),
    ]


@exercise_check("the sharpness of a loss", label="ex-ch1-sharpness")
def sharpness(answer: Callable[[Callable[[Tensor], Tensor], Tensor], float]) -> str:
    """``answer(f, point)``: the largest eigenvalue of the Hessian of ``f`` at ``point``.

    Judged on functions whose answers differ from the tempting wrong ones: a
    rotated quadratic (the largest diagonal entry is not the largest
    eigenvalue), a saddle (the eigenvalue largest in size is negative), a
    non-quadratic function and the chapter's own loss. Within 2 %, so a careful
    finite-difference Hessian passes too.
    """
    for name, f, point in _sharpness_cases():
        hessian = torch.autograd.functional.hessian(f, point.clone())
        values = torch.linalg.eigvalsh(hessian)
        want = float(values[-1])
        given = point.clone()
        returned = answer(f, given)
        if isinstance(returned, Tensor) and returned.ndim > 0:
            raise Wrong(f"return one number (a float, or .item() of a tensor); got a tensor of shape {tuple(returned.shape)}.")
        got = as_number(returned)
        if got is None:
            raise Wrong(f"return one number (a float, or .item() of a tensor); got a {type(returned).__name__}.")
        if not torch.equal(given, point):
            raise Wrong("the answer changed the point it was given: work on a copy (point.clone()).")
        if math.isclose(got, want, rel_tol=0.02, abs_tol=1e-3):
            continue
        said = f"for {name} the largest Hessian eigenvalue is {want:.4g}; your answer gave {got:.4g}."
        known = {
            "That is the eigenvalue largest in size: a negative curvature does not make gradient descent "
            "overshoot; take the largest eigenvalue itself (eigvalsh sorts them in ascending order).":
                float(values[values.abs().argmax()]),
            "That is the largest absolute eigenvalue (what power iteration without a shift finds): a negative "
            "curvature does not make gradient descent overshoot; take the largest eigenvalue itself.":
                float(values.abs().max()),
            "That is the largest diagonal entry of the Hessian: the curvature along one coordinate. Along a "
            "rotated direction it can be larger: take the eigenvalues.": float(hessian.diagonal().max()),
            "That is the trace, the sum of all the eigenvalues: take the largest one.": float(hessian.trace()),
            "That is the smallest eigenvalue: eigvalsh sorts in ascending order, take the last one.": float(values[0]),
            "That is 2 / lambda, the learning rate it predicts: return lambda itself.": 2 / want,
        }
        for hint, value in known.items():
            if math.isclose(got, value, rel_tol=0.02):
                raise Wrong(f"{said} {hint}")
        raise Wrong(said)
    return ("the largest Hessian eigenvalue for a rotated quadratic, a saddle, a quartic and the chapter's loss; "
            "2 / sharpness is the rate beyond which gradient descent overshoots.")


def diverges(lr: float, steps: int = 1000) -> bool:
    """Whether the chapter's loop at ``lr`` blows up on its toy data from seed 0."""
    x = _toy()
    with torch.random.fork_rng():
        torch.manual_seed(_TOY_SEED)
        losses = reference_train_raw(x, steps, lr)
    return any(not math.isfinite(v) or v > 1e6 for v in losses)


@exercise_check("the first learning rate that diverges", label="ex-ch1-lr")
def diverging_lr(answer: float) -> str:
    """``answer`` must be the smallest rate of :data:`DIVERGENCE_GRID` at which SGD diverges.

    Any number type passes (a float32 0.3 is 0.30000001): it is compared with
    the grid's rates, not looked up in it.
    """
    value = as_number(answer)
    if value is None:
        raise Wrong(f"assign one of the rates {DIVERGENCE_GRID} as a number; got a {type(answer).__name__}.")
    matching = [lr for lr in DIVERGENCE_GRID if math.isclose(value, lr, rel_tol=1e-4)]
    if not matching:
        raise Wrong(f"{value:g} is not on the grid: pick one of {DIVERGENCE_GRID}.")
    rate = matching[0]
    first = next(lr for lr in DIVERGENCE_GRID if diverges(lr))
    if rate < first:
        raise Wrong(f"at lr={rate} the chapter's loop still converges within 1000 steps from seed 0. Try larger rates.")
    if rate > first:
        raise Wrong(f"lr={rate} diverges, but a smaller rate on the grid already does.")
    return f"at lr={first} the steps overshoot and the loss grows without bound; at every smaller rate of the grid SGD converges."


# -- a rescaling that changes the weights and not the model ----------------------------

class _LinearAE(nn.Module):
    """The chapter's LinearAutoencoder: the check's own copy, with nonzero biases."""

    def __init__(self, d: int, k: int, seed: int) -> None:
        super().__init__()
        self.encoder, self.decoder = nn.Linear(d, k), nn.Linear(k, d)
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=generator) * 2)

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))


def _state(model: nn.Module) -> dict[str, Tensor]:
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


@exercise_check("a rescaled encoder with the same reconstructions", label="ex-ch1-unit")
def unit_encoder(answer: Callable[[nn.Module], nn.Module]) -> str:
    """``answer(model)`` returns a new model whose encoder rows have unit length and whose
    reconstructions equal ``model``'s; ``model`` itself is left as it was."""
    for d, k, seed in ((2, 1, 0), (6, 3, 1), (5, 1, 2)):
        model = _LinearAE(d, k, seed)
        before = _state(model)
        x = torch.randn(20, d, generator=torch.Generator().manual_seed(seed + 10))
        with torch.no_grad():
            want = model(x)
        new = answer(model)
        changed = any(not torch.equal(before[n], v) for n, v in model.state_dict().items())
        if not isinstance(new, nn.Module):
            raise Wrong(f"return a model (an nn.Module); got a {type(new).__name__}.")
        if changed and new is model:
            raise Wrong("the answer rescaled the model it was given and returned it: copy it first "
                        "(copy.deepcopy(model)), so that the original stays as it was.")
        if changed:
            raise Wrong("the answer changed the model it was given: work on a copy (copy.deepcopy(model)).")
        weight = new.encoder.weight.detach()
        norms = weight.norm(dim=1)
        with torch.no_grad():
            got = new(x)
        moved = not torch.allclose(got, want, rtol=1e-4, atol=1e-4)
        if not torch.allclose(norms, torch.ones(k), atol=1e-4):
            if torch.allclose(weight.norm(), torch.tensor(1.0), atol=1e-4):
                raise Wrong(f"with k={k} the whole encoder matrix has length 1, but its rows have lengths "
                            f"{[round(v, 3) for v in norms.tolist()]}: scale each row (each code unit) on its own.")
            raise Wrong(f"the encoder rows have lengths {[round(v, 3) for v in norms.tolist()]}, not 1 (d={d}, k={k}).")
        if moved:
            raise Wrong(_explain_rescale(model, x, got, k))
    return ("each code unit scaled by 1/|w_i| in the encoder (weight and bias) and by |w_i| in the decoder: "
            "new weights, the same model.")


def _explain_rescale(model: nn.Module, x: Tensor, got: Tensor, k: int) -> str:
    """Name the slip only if replaying it gives exactly what the answer gave."""
    norms = model.encoder.weight.detach().norm(dim=1)

    def variant(bias: bool, decoder: str) -> Tensor:
        m = copy.deepcopy(model)
        with torch.no_grad():
            m.encoder.weight /= norms[:, None]
            if bias:
                m.encoder.bias /= norms
            if decoder == "times":
                m.decoder.weight *= norms[None, :]
            elif decoder == "divided":
                m.decoder.weight /= norms[None, :]
            return m(x)

    if torch.allclose(got, variant(bias=True, decoder="none"), atol=1e-4):
        return ("the reconstructions changed: shrinking the code by 1/|w| must be undone in the decoder, whose "
                "columns grow by |w|.")
    if torch.allclose(got, variant(bias=False, decoder="times"), atol=1e-4):
        return "the reconstructions changed: the encoder bias is part of the code, so scale it with the weight."
    if torch.allclose(got, variant(bias=True, decoder="divided"), atol=1e-4):
        return "the reconstructions changed: the decoder must undo the encoder's scaling, so multiply its columns by |w|."
    return "the reconstructions changed: the rescaled model must compute exactly what the original did."


# -- the tied autoencoder -----------------------------------------------------------

@exercise_check("the tied linear autoencoder", label="ex-ch1-tied")
def tied_autoencoder(model_class: type[nn.Module]) -> str:
    """``model_class(d, k)`` shares one (k, d) weight between encoder and decoder and adds both biases.

    The biases are set to random values before the forward pass is compared
    with ``x W^T W + b_e W + b_d``: biases that start at zero would hide a bias
    that is declared but never added.
    """
    for d, k in ((5, 2), (3, 1), (8, 3)):
        torch.manual_seed(0)
        model = model_class(d, k)
        params = dict(model.named_parameters())
        matrices = [p for p in params.values() if p.ndim == 2]
        if len(matrices) != 1:
            raise Wrong(f"found {len(matrices)} weight matrices for d={d}, k={k}; a tied model has one, W, used "
                        "as W in the encoder and W.T in the decoder.")
        w = matrices[0]
        if w.shape not in {(k, d), (d, k)}:
            raise Wrong(f"W has shape {tuple(w.shape)} for d={d}, k={k}; expected ({k}, {d}).")
        b_e = [p for p in params.values() if p.ndim == 1 and p.numel() == k]
        b_d = [p for p in params.values() if p.ndim in (1, 2) and p.numel() == d and p is not w]
        if len(params) != 3 or len(b_e) != 1 or len(b_d) != 1:
            shapes = {name: tuple(p.shape) for name, p in params.items()}
            raise Wrong(f"expected W and two biases, one of {k} numbers (encoder) and one of {d} (decoder), "
                        f"registered as nn.Parameter; found {shapes}.")
        if not all(p.requires_grad for p in params.values()):
            raise Wrong("some parameters cannot be trained (requires_grad is False).")
        if float(w.detach().abs().max()) == 0:
            raise Wrong("W starts at zero: there every gradient of W vanishes too (a saddle point), and training "
                        "cannot leave it. Start W at small random values.")
        with torch.no_grad():
            b_e[0].copy_(torch.randn(b_e[0].shape))
            b_d[0].copy_(torch.randn(b_d[0].shape))
        x = torch.randn(7, d)
        out = model(x)
        if not isinstance(out, Tensor) or out.shape != x.shape:
            got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
            raise Wrong(f"the output has shape {got}, not the input's {tuple(x.shape)}.")
        kd = w if w.shape == (k, d) else w.T
        with torch.no_grad():
            offset = model(torch.zeros(1, d))
            linear = model(torch.eye(d)) - offset
            want_offset = b_e[0].reshape(1, k) @ kd + b_d[0].reshape(1, d)
        linear_right = torch.allclose(linear, kd.T @ kd, atol=1e-5)
        if not linear_right or not torch.allclose(out.detach(), x @ kd.T @ kd + want_offset, atol=1e-4):
            if linear_right and torch.allclose(offset, b_d[0].reshape(1, d), atol=1e-5):
                raise Wrong("the encoder bias is declared but never added: z = x @ W.T + b_encoder.")
            if linear_right and torch.allclose(offset, b_e[0].reshape(1, k) @ kd, atol=1e-5):
                raise Wrong("the decoder bias is declared but never added: x_hat = z @ W + b_decoder.")
            if linear_right and torch.allclose(offset, torch.zeros(1, d), atol=1e-6):
                raise Wrong("neither bias is added: z = x @ W.T + b_encoder, x_hat = z @ W + b_decoder.")
            raise Wrong(f"for d={d}, k={k} the reconstruction is not x W^T W + b_e W + b_d: use the same W to "
                        "encode (x @ W.T + b_encoder) and to decode (z @ W + b_decoder), with nothing else between.")
        loss = out.pow(2).sum()
        grads = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
        if any(g is None for g in grads):
            raise Wrong("some parameter gets no gradient from the output: compute the output from W and both biases.")
        probe_x = torch.ones(2, d)  # made outside the probe: it is the data
        probe_devices(lambda: model(probe_x), "the forward pass")
    return "one matrix W and two biases, both added, for three sizes; the reconstruction is x W^T W + b_e W + b_d."


# -- where the student stands --------------------------------------------------------------

from aecourse.checks.core import Note, show_hint as hint  # noqa: E402  check.hint("ex-ch1-...")
from aecourse.checks.core import progress as _progress  # noqa: E402


def progress() -> Note:
    """Which of this chapter's exercises pass in this kernel, from their checks' last verdicts:
    the chapter's last cell shows it."""
    return _progress(__name__)
