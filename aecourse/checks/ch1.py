"""Checks for chapter 1: the linear autoencoder.

The first exercise asks for predictions: the loss curves of the chapter's loop with
its three calls (``zero_grad``, ``backward``, ``step``) in other orders. Its check runs
each order itself, from the notebook's start, and judges a prediction by what that run
records; a wrong one is answered with a fact of the run that contradicts it. The
learning-rate exercise is judged by the same loop, run by the check.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
import re
from collections.abc import Callable, Iterator, Sequence

import torch
from torch import Tensor, nn

from aecourse import pca as _pca
from aecourse.checks.core import Wrong, as_number, exercise_check, left_as_found, probe_devices
from aecourse.data import correlated_2d


def _load_forward_mode_quietly() -> None:
    """Load PyTorch's forward-mode decompositions now, with their deprecation warning silenced.

    The sharpness exercise invites ``torch.func.hessian``, which makes dual tensors; the
    first dual tensor of a process imports ``torch._decomp.decompositions_for_jvp``, and
    that module compiles itself with ``torch.jit.script``, which warns that it is deprecated
    (a DeprecationWarning in PyTorch 2.11, Colab's, and a FutureWarning from 2.14). The warning is about PyTorch's own internals, a student can do
    nothing about it, and it would print above the check's verdict. Importing the module
    here, once, inside ``catch_warnings``, leaves every other warning as it was.
    """
    import warnings

    with warnings.catch_warnings():
        for category in (DeprecationWarning, FutureWarning):
            warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.* is deprecated", category=category)
        try:
            from torch._decomp import decompositions_for_jvp  # noqa: F401
        except ImportError:  # a PyTorch without it has nothing to load
            pass


_load_forward_mode_quietly()

_TOY_SEED = 0
DIVERGENCE_GRID = (0.05, 0.1, 0.2, 0.3, 0.5)
MENDED = ("zero_grad", "backward", "step")


def _toy(seed: int = _TOY_SEED, n: int = 100) -> Tensor:
    return correlated_2d(n, generator=torch.Generator().manual_seed(seed))


def _train_raw(x: Tensor, steps: int, lr: float, calls: Sequence[str] = MENDED) -> list[float]:
    """The chapter's ``train_raw``, its three calls made in the order ``calls`` (one left out
    of ``calls`` is not made). The parameters are drawn with ``torch.randn`` from the global
    generator in the chapter's order, so the same seed gives the chapter's start."""
    d = x.shape[1]
    w_e = torch.randn(d, 1, requires_grad=True)
    w_d = torch.randn(1, d, requires_grad=True)
    b_e = torch.randn(1, requires_grad=True)
    b_d = torch.randn(1, d, requires_grad=True)
    opt = torch.optim.SGD([w_e, w_d, b_e, b_d], lr=lr)
    losses = []
    for _ in range(steps):
        loss = (((x @ w_e + b_e) @ w_d + b_d - x) ** 2).mean()
        for call in calls:
            if call == "zero_grad":
                opt.zero_grad()
            elif call == "backward":
                loss.backward()
            else:
                opt.step()
        losses.append(loss.item())
    return losses


def _matches(got: Sequence[float], want: Sequence[float]) -> bool:
    return len(got) == len(want) and all(
        math.isclose(g, w, rel_tol=1e-3, abs_tol=1e-7) or (math.isnan(g) and math.isnan(w)) for g, w in zip(got, want)
    )


# -- predicting the loss curves of three orders of the step's calls ---------------------

#: The shapes a loss curve may take, as the exercise lists them.
CURVES = {
    "a": "the mended loop's curve, the same loss at every step",
    "b": "flat: the first loss, repeated at every step",
    "c": "falls at every step, but more slowly than the mended loop",
    "d": "falls at every step, and faster than the mended loop",
    "e": "does not settle: it goes up and down, far above the mended loop (it may even overflow to inf or nan)",
}
#: The orders the exercise asks about, by the name of the answer that predicts each.
ORDERS = {
    "curve_swapped": ("backward", "zero_grad", "step"),
    "curve_no_zero_grad": ("backward", "step"),
    "curve_zero_grad_last": ("backward", "step", "zero_grad"),
}
#: The run the exercise describes: the mended loop's.
LOOP_RUN = dict(steps=1000, lr=0.01)


@functools.lru_cache(maxsize=None)
def _run(calls: tuple[str, ...]) -> tuple[float, ...]:
    """The losses of the loop with ``calls`` in this order, run as the exercise says (kept: a
    second check in the same kernel need not train again)."""
    with torch.random.fork_rng():
        torch.manual_seed(_TOY_SEED)
        return tuple(_train_raw(_toy(), LOOP_RUN["steps"], LOOP_RUN["lr"], calls))


def _rises(curve: Sequence[float]) -> int:
    return sum(later > earlier for earlier, later in zip(curve, curve[1:]))


def _first_overflow(curve: Sequence[float]) -> int | None:
    return next((i for i, v in enumerate(curve) if not math.isfinite(v)), None)


def _shape(curve: list[float], mended: list[float]) -> str | None:
    """The letter of :data:`CURVES` that describes ``curve``, or None if none does."""
    if _matches(curve, mended):
        return "a"
    if all(v == curve[0] for v in curve):
        return "b"
    rises, overflow = _rises(curve), _first_overflow(curve)
    if rises == 0 and overflow is None:
        if all(c >= m for c, m in zip(curve, mended)) and curve[-1] > mended[-1]:
            return "c"
        if all(c <= m for c, m in zip(curve[1:], mended[1:])) and curve[-1] < mended[-1]:
            return "d"
    if rises >= len(curve) // 10 and (overflow is not None or curve[-1] > 2 * mended[-1]):
        return "e"
    return None


def _refute(chosen: str, curve: list[float], mended: list[float]) -> str:
    """A fact of the run ``curve`` that contradicts the shape ``chosen``."""
    rises, overflow, n = _rises(curve), _first_overflow(curve), len(curve)
    if chosen == "a":
        i = next(i for i, (c, m) in enumerate(zip(curve, mended)) if not _matches([c], [m]))
        return f"at step {i + 1} it records a loss of {curve[i]:.4g}, where the mended loop records {mended[i]:.4g}"
    if chosen == "b":
        i = next(i for i, v in enumerate(curve) if v != curve[0])
        return f"its loss moves: step 1 records {curve[0]:.4g}, step {i + 1} records {curve[i]:.4g}"
    if chosen in ("c", "d"):
        if overflow is not None:
            return f"its loss overflows to {curve[overflow]} at step {overflow + 1}"
        if rises:
            return f"its loss goes up at {rises} of its {n - 1} steps"
        if all(v == curve[0] for v in curve):
            return f"its loss never falls below its first value, {curve[0]:.4g}"
        if chosen == "c":
            return "it falls no more slowly than the mended loop: at no step is its loss above the mended loop's"
        return "it falls no faster than the mended loop: at no step is its loss below the mended loop's"
    # chosen == "e"
    if rises == 0:
        return (f"its loss never goes up, and it ends at {curve[-1]:.4g} after {n} steps"
                if overflow is None else f"its loss never goes up before it overflows at step {overflow + 1}")
    return f"its loss ends at {curve[-1]:.4g}, no more than twice the mended loop's {mended[-1]:.4g}"


def _letter(value: object, name: str) -> str:
    """The shape letter ``value`` names: "b", "B", "(b)", "b)", "b: flat ...", or a shape's text."""
    if isinstance(value, str):
        words = " ".join(value.replace("`", "").split()).lower().strip(" .\"'")
        for letter, text in CURVES.items():
            if words in (text.lower(), text.lower().split(":")[0]):
                return letter
        words = re.sub(r"^(?:option|shape|answer|curve)\s+", "", words)  # "option b", "shape (b)"
        match = re.fullmatch(r"[(\[]?([a-e])[)\].:]?(?:\s.*)?", words)  # "b", "(b)", "b)", "b: flat", "(b) flat"
        if match:
            return match[1]
    shown = repr(value) if isinstance(value, str) else f"a {type(value).__name__}"
    raise Wrong(f'{name} should be one of the letters "a" to "e", as a string (say "a"); got {shown}.')


def _describe(calls: Sequence[str]) -> str:
    return ", ".join(calls)


@exercise_check("predicting the loss curves of three loops", label="ex-ch1-loop", hint=(
    "Follow what each parameter's .grad holds at the moment optimizer.step() runs. loss.backward() adds "
    "this step's gradient to .grad; optimizer.zero_grad() empties it (sets it to None); optimizer.step() "
    "moves each parameter by -lr times its .grad, and skips a parameter whose .grad is None. Without "
    "zero_grad, the step at step t uses the sum of the gradients of steps 1 to t: does that sum shrink "
    "when the parameters reach the minimum?"))
def loop_order(curve_swapped: str, curve_no_zero_grad: str, curve_zero_grad_last: str) -> str:
    """Each answer is a letter of :data:`CURVES`: the shape of the loss curve of the chapter's
    loop with its calls in the order :data:`ORDERS` gives, run as the mended loop ran
    (:data:`LOOP_RUN`, from ``torch.manual_seed(0)`` on the chapter's data). The check runs
    each order and describes its curve; a wrong prediction is answered with a fact of that
    run which contradicts it."""
    predicted = {"curve_swapped": curve_swapped, "curve_no_zero_grad": curve_no_zero_grad,
                 "curve_zero_grad_last": curve_zero_grad_last}
    letters = {name: _letter(value, name) for name, value in predicted.items()}
    mended = list(_run(MENDED))
    wrong = []
    for name, calls in ORDERS.items():
        curve = list(_run(calls))
        truth = _shape(curve, mended)
        if truth is None:  # the check's own description failed: not the student's fault
            raise RuntimeError(f"the loop {_describe(calls)} gave a curve none of the shapes a-e describes")
        if letters[name] != truth:
            wrong.append(f"{name} ({_describe(calls)}): you predicted ({letters[name]}), but "
                         f"{_refute(letters[name], curve, mended)}")
    if wrong:
        run = f"lr {LOOP_RUN['lr']}, {LOOP_RUN['steps']} steps from torch.manual_seed(0) on x"
        count = "one prediction is" if len(wrong) == 1 else f"{len(wrong)} predictions are"
        raise Wrong(f"{count} not what the loop does when run as the mended loop ran ({run}). "
                    + " ".join(f"{w}." for w in wrong) + " Think again about what .grad holds when step() runs.")
    return ("all three. The order matters only in this: .grad must hold this step's gradient, and only "
            "this step's, when step() runs. The cell below runs the three loops.")


@contextlib.contextmanager
def _course_pca_watched() -> Iterator[list[str]]:
    """Record, while the block runs, every PCA the course's ``aecourse.pca.fit_pca`` builds: an
    answer that calls it computes nothing of its own (the notebook imports it after the exercise)."""
    built: list[str] = []
    original = _pca.PCA.__init__

    def recording(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        built.append("fit_pca")
        original(self, *args, **kwargs)

    _pca.PCA.__init__ = recording  # type: ignore[method-assign]
    try:
        yield built
    finally:
        _pca.PCA.__init__ = original  # type: ignore[method-assign]


@exercise_check("the PCA reconstruction error", label="ex-ch1-pca", hint=(
    "PCA's reconstruction of a row is the mean row plus the row's centred part projected onto the top k "
    "principal directions. Those directions are the right singular vectors of the centred data "
    "(torch.linalg.svd(x - mean, full_matrices=False): the rows of Vh, strongest first), or the "
    "eigenvectors of its 1/N covariance with the largest eigenvalues (torch.linalg.eigh sorts ascending). "
    "The error per entry is then also the sum of the D - k smallest covariance eigenvalues, divided by D."))
def pca_error(answer: Callable[[Tensor, int], float]) -> str:
    """``answer(x, k)`` must equal the rank-k PCA mean squared error per entry, for several data
    sets and every k the exercise allows (1 to D), and leave ``x`` as it was."""
    generator = torch.Generator().manual_seed(1)
    wide = torch.randn(200, 6, generator=generator) @ torch.randn(6, 6, generator=generator) + 3.0
    narrow = torch.randn(50, 4, generator=generator) * torch.tensor([5.0, 2.0, 1.0, 0.3]) - 1.0
    for x, ks in ((wide, (1, 3, 6)), (narrow, (2,)), (_toy(), (1,))):
        for k in ks:
            expected = _pca.fit_pca(x).error(x, k)
            given = x.clone()
            with _course_pca_watched() as built, left_as_found(x=given):
                returned = answer(given, k)
            if built:
                raise Wrong("your answer calls the course's own fit_pca (aecourse.pca), which computes this very "
                            "number: compute it yourself from x.")
            got = as_number(returned)
            if got is None:
                raise Wrong(f"return one number; pca_error(x, {k}) returned a {type(returned).__name__}.")
            if not math.isclose(got, expected, rel_tol=1e-3, abs_tol=1e-7):
                raise Wrong(_explain_pca(got, expected, x, k))
    return "it matches the eigendecomposition-based PCA for three data sets and k from 1 to D."


def _explain_pca(got: float, expected: float, x: Tensor, k: int) -> str:
    """What the answer gave against what PCA gives; a cause only where replaying it gives ``got``."""
    said = f"for x of shape {tuple(x.shape)} and k={k} the error per entry is {expected:.5g}; your answer gave {got:.5g}."
    n, d = x.shape
    centred = x - x.mean(dim=0)
    u, s, vh = torch.linalg.svd(centred, full_matrices=False)
    known = {
        "That is the error of the best rank-k fit through the origin: PCA's fit passes through the mean "
        "of the rows, so it works on the centred data.": float(((x - _svd_truncate(x, k)) ** 2).mean()),
        "That is the error summed over each row's D entries: the exercise asks for the mean over all N*D "
        "entries.": expected * d,
        "That is the total squared error: the exercise asks for the mean over all N*D entries.": expected * n * d,
        "That is N / (N - 1) times the error, what the unbiased covariance (divided by N - 1) gives: the "
        "error per entry averages over the N rows.": expected * n / (n - 1),
        "That is the square root of the error: the exercise asks for the mean squared error.": math.sqrt(expected),
        "That is the error with the first k columns of Vh as directions: the principal directions are its rows.":
            float(((centred - (u[:, :k] * s[:k]) @ vh[:, :k].T) ** 2).mean()) if k <= d else math.nan,
        "That is the variance the k strongest directions hold (per entry), which is also the error of keeping "
        "the D - k weakest directions instead; PCA keeps the k strongest, and its error is what the D - k "
        "weakest hold.": float(((centred - (u[:, k:] * s[k:]) @ vh[k:]) ** 2).mean()),
    }
    for cause, value in known.items():
        if math.isclose(got, value, rel_tol=1e-3, abs_tol=1e-7):
            return f"{said} {cause}"
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


@exercise_check("the sharpness of a loss", label="ex-ch1-sharpness", hint=(
    "torch.autograd.functional.hessian(f, point) returns the (n, n) Hessian; torch.linalg.eigvalsh returns "
    "the eigenvalues of a symmetric matrix in ascending order. The largest eigenvalue is the greatest one, "
    "not the greatest in size: at a saddle the eigenvalue of largest size may be negative. Work on "
    "point.clone() if you need a tensor that requires grad."))
def sharpness(answer: Callable[[Callable[[Tensor], Tensor], Tensor], float]) -> str:
    """``answer(f, point)``: the largest eigenvalue of the Hessian of ``f`` at ``point``.

    Judged on functions whose answers differ from the tempting wrong ones: a
    rotated quadratic (the largest diagonal entry is not the largest
    eigenvalue), a saddle (the eigenvalue largest in size is negative), a
    non-quadratic function and the chapter's own loss. Within 2 %, so a careful
    finite-difference Hessian passes too. ``point`` must come back as it went in.
    """
    for name, f, point in _sharpness_cases():
        hessian = torch.autograd.functional.hessian(f, point.clone())
        values = torch.linalg.eigvalsh(hessian)
        want = float(values[-1])
        given = point.clone()
        with left_as_found(point=given):
            returned = answer(f, given)
        if isinstance(returned, Tensor) and returned.numel() != 1:
            raise Wrong(f"return one number; your answer returned a tensor of shape {tuple(returned.shape)}.")
        got = as_number(returned)
        if got is None:
            raise Wrong(f"return one number; your answer returned a {type(returned).__name__}.")
        if math.isclose(got, want, rel_tol=0.02, abs_tol=1e-3):
            continue
        said = f"for {name} the largest Hessian eigenvalue is {want:.4g}; your answer gave {got:.4g}."
        known = {
            "That is the eigenvalue largest in size, and it is negative: a negative curvature does not make "
            "gradient descent overshoot. The sharpness is the greatest eigenvalue.": float(values[values.abs().argmax()]),
            "That is the largest absolute value of an eigenvalue: a negative curvature does not make gradient "
            "descent overshoot. The sharpness is the greatest eigenvalue itself.": float(values.abs().max()),
            "That is the largest diagonal entry of the Hessian, the curvature along one coordinate axis; "
            "along another direction the curvature can be larger.": float(hessian.diagonal().max()),
            "That is the trace, the sum of all the eigenvalues.": float(hessian.trace()),
            "That is the smallest eigenvalue.": float(values[0]),
            "That is 2 / lambda, the learning rate it predicts, not lambda itself.": 2 / want,
        }
        for cause, value in known.items():
            if math.isclose(got, value, rel_tol=0.02):
                raise Wrong(f"{said} {cause}")
        raise Wrong(said)
    return ("the largest Hessian eigenvalue for a rotated quadratic, a saddle, a quartic and the chapter's loss. "
            "Beyond 1 / sharpness the steps overshoot; beyond 2 / sharpness gradient descent cannot stay at "
            "that minimum.")


@functools.lru_cache(maxsize=None)
def _diverges(lr: float, steps: int = 1000) -> bool:
    """Whether the chapter's loop at ``lr`` blows up on its toy data from seed 0 (private: the
    exercise asks the student to find this out with the notebook's own ``train_raw``)."""
    x = _toy()
    with torch.random.fork_rng():
        torch.manual_seed(_TOY_SEED)
        losses = _train_raw(x, steps, lr)
    return any(not math.isfinite(v) or v > 1e6 for v in losses)


@exercise_check("the first learning rate that diverges", label="ex-ch1-lr", hint=(
    "For each rate of check.DIVERGENCE_GRID, smallest first: torch.manual_seed(0), then train_raw(x, 1000, lr); "
    "the first at which the loss is infinite, NaN or above 1e6 at some step (the check's test) is the answer."))
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
    first = next(lr for lr in DIVERGENCE_GRID if _diverges(lr))
    if rate < first:
        raise Wrong(f"at lr={rate} the chapter's loop still converges within 1000 steps from seed 0. Try larger rates.")
    if rate > first:
        raise Wrong(f"lr={rate} diverges, but a smaller rate on the grid already does.")
    return (f"from seed 0, at lr={first} the loss grows without bound; at every smaller rate of the grid SGD "
            "converges. That is one start: from others, the first rate that blows up can be smaller or larger.")


# -- a rescaling that changes the weights and not the model ----------------------------

class LinearAutoencoder(nn.Module):
    """The chapter's LinearAutoencoder, the check's own copy: the same constructor, so that an
    answer may build a new one with ``type(model)(d, k)``."""

    def __init__(self, d: int, k: int) -> None:
        super().__init__()
        self.encoder = nn.Linear(d, k)
        self.decoder = nn.Linear(k, d)

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))


def _random_model(d: int, k: int, seed: int) -> LinearAutoencoder:
    """A LinearAutoencoder with every weight and bias drawn from seed ``seed`` (biases nonzero)."""
    model = LinearAutoencoder(d, k)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 2)
    return model


def _state(model: nn.Module) -> dict[str, Tensor]:
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


@exercise_check("a rescaled encoder with the same reconstructions", label="ex-ch1-unit", hint=(
    "Take A = diag(1 / |w_i|), w_i the i-th row of the encoder's weight: W_e -> A W_e, b_e -> A b_e and "
    "W_d -> W_d A^-1 leave every reconstruction as it was. copy.deepcopy(model) gives a model of your own "
    "to change (under torch.no_grad())."))
def unit_encoder(answer: Callable[[nn.Module], nn.Module]) -> str:
    """``answer(model)`` returns a new model whose encoder rows have unit length and whose
    reconstructions equal ``model``'s; ``model`` itself is left as it was (weights and mode)."""
    for d, k, seed in ((2, 1, 0), (6, 3, 1), (5, 1, 2)):
        model = _random_model(d, k, seed)
        before = _state(model)
        x = torch.randn(20, d, generator=torch.Generator().manual_seed(seed + 10))
        with torch.no_grad():
            want = model(x)
        with left_as_found(model=model):
            new = answer(model)
            changed = any(not torch.equal(before[n], v) for n, v in model.state_dict().items())
            if changed and new is model:
                raise Wrong("the model you were given came back changed: your answer rescaled it and returned it. "
                            "Return a new model, and leave model as it was.")
            if changed:
                raise Wrong("the model you were given came back with other weights: your answer changed it. "
                            "Return a new model, and leave model as it was.")
        if not isinstance(new, nn.Module):
            raise Wrong(f"return a model (an nn.Module); got a {type(new).__name__}.")
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

@exercise_check("the tied linear autoencoder", label="ex-ch1-tied", hint=(
    "Register W = nn.Parameter(torch.randn(k, d) / math.sqrt(d)) and two biases as nn.Parameter; encode "
    "z = x @ W.T + b_encoder, decode z @ W + b_decoder."))
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
                        "to encode and, transposed, to decode.")
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
                raise Wrong("the output does not depend on the encoder bias: it is declared but never added to the code.")
            if linear_right and torch.allclose(offset, b_e[0].reshape(1, k) @ kd, atol=1e-5):
                raise Wrong("the output does not depend on the decoder bias: it is declared but never added to the reconstruction.")
            if linear_right and torch.allclose(offset, torch.zeros(1, d), atol=1e-6):
                raise Wrong("the output depends on neither bias: both are declared, neither is added.")
            raise Wrong(f"for d={d}, k={k} the output is not x W^T W + b_e W + b_d, the tied model's reconstruction "
                        "(encode with W, decode with its transpose, nothing else between).")
        loss = out.pow(2).sum()
        grads = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
        if any(g is None for g in grads):
            raise Wrong("some parameter gets no gradient from the output: the output is not computed from W and both biases.")
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
