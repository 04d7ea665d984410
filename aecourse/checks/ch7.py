"""Checks for chapter 7: sparse autoencoders that explain a network."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from aecourse.checks.core import (
    Wrong,
    as_number,
    backpropagate,
    check_device,
    exercise_check,
    left_as_found,
    probe_devices,
)
from aecourse.device import cpu_float64
from aecourse.sae import fraction_of_variance_explained as _reference_fve


def _pre_activations(seed: int, n: int = 40, m: int = 24) -> Tensor:
    """Pre-activations with both signs, and rows whose top entries are negative."""
    g = torch.Generator().manual_seed(seed)
    pre = torch.randn(n, m, generator=g)
    pre[:3] -= 5.0  # every entry of these rows is negative: their codes must all be 0
    pre[3, :2] = torch.tensor([0.3, -0.2]) - 4.0  # a row with a single positive entry, of few
    pre[3, 2:] = -6.0 + torch.rand(m - 2, generator=g)
    pre[3, 0] = 0.5
    return pre


def _topk_reference(pre: Tensor, k: int, *, dim: int = 1, largest: bool = True, relu: bool = True) -> Tensor:
    values, indices = pre.topk(k, dim=dim, largest=largest)
    return torch.zeros_like(pre).scatter(dim, indices, F.relu(values) if relu else values)


def _by_size(pre: Tensor, k: int, relu: bool) -> Tensor:
    """The k entries of each row largest in absolute value, in their places: a usual slip."""
    indices = pre.abs().topk(k, dim=1).indices
    values = pre.gather(1, indices)
    return torch.zeros_like(pre).scatter(1, indices, F.relu(values) if relu else values)


@exercise_check(
    "the TopK activation", label="ex-ch7-topk",
    hint="pre.topk(k, dim=1) gives the k largest values of each row and their column indices; "
         "torch.zeros_like(pre).scatter(1, indices, F.relu(values)) puts the clipped values back in "
         "their columns and zeros everywhere else.",
)
def topk_activation(answer: Callable[[Tensor, int], Tensor], *, device: torch.device | str | None = None) -> str:
    """``answer(pre, k)``: the k largest entries of each row of ``pre`` (N, m), clipped at zero, in
    their places; zeros elsewhere; a gradient that reaches the kept entries."""
    where = check_device(device)
    for seed, k in ((0, 5), (1, 1), (2, 24)):
        pre = _pre_activations(seed).to(where).requires_grad_()
        with left_as_found(pre=pre):
            got = answer(pre, k)
        if not isinstance(got, Tensor):
            raise Wrong(f"topk_activation must return a tensor, got a {type(got).__name__}.")
        want = _topk_reference(pre.detach().cpu(), k)
        said = f"for 40 rows of 24 pre-activations and k = {k}"
        if got.shape != pre.shape:
            extra = (" That is the k values alone: the codes must keep each value in its own column, with "
                     "zeros in the others." if got.shape == (pre.shape[0], k) else "")
            raise Wrong(f"{said} the codes must have the shape of pre, {tuple(pre.shape)}; got "
                        f"{tuple(got.shape)}.{extra}")
        values = got.detach().cpu().float()
        if torch.allclose(values, want, atol=1e-6):
            pass
        elif k < pre.shape[1] and torch.allclose(values, _topk_reference(pre.detach().cpu(), k, relu=False), atol=1e-6):
            raise Wrong(f"{said} some codes are negative: rows whose k largest pre-activations are below zero "
                        "keep them as they are. Codes are never negative: a kept entry below zero becomes 0.")
        elif torch.allclose(values, _topk_reference(pre.detach().cpu(), k, largest=False), atol=1e-6):
            raise Wrong(f"{said} your codes keep the k smallest pre-activations of each row; TopK keeps the k "
                        "largest.")
        elif k < pre.shape[0] and torch.allclose(values, _topk_reference(pre.detach().cpu(), k, dim=0), atol=1e-6):
            raise Wrong(f"{said} your codes keep the k largest entries of each column (over the inputs of the "
                        "batch); each row is one input, and each must keep its own k.")
        elif k < pre.shape[1] and any(torch.allclose(values, _by_size(pre.detach().cpu(), k, relu), atol=1e-6)
                                      for relu in (True, False)):
            raise Wrong(f"{said} your codes keep the k entries largest in size (absolute value), so a large "
                        "negative pre-activation can push out a positive one. TopK ranks the signed values.")
        else:
            per_row = (values != 0).sum(dim=1)
            most = int(per_row.max())
            if most > k:
                raise Wrong(f"{said} a row of your codes has {most} nonzero entries; at most k = {k} may be.")
            raise Wrong(f"{said} your codes differ from the k largest pre-activations of each row, clipped at 0, "
                        "in their own columns.")
        if got.grad_fn is None:
            raise Wrong("the values are right, but they carry no gradient: the encoder behind them could not learn.")
        backpropagate(got.sum(), "the codes")
        if pre.grad is None or not torch.allclose(pre.grad.cpu(), (want > 0).float()):
            raise Wrong("the values are right, but the gradient does not reach exactly the kept positive entries: "
                        "they must be computed from pre inside the graph.")
    probe = _pre_activations(3)
    probe_devices(lambda: answer(probe, 3), "the codes")
    return ("the k largest entries of each row, clipped at 0, in their own columns, with a gradient to each kept "
            "positive entry. Every input has at most k active latents, whatever the pre-activations.")


# -- rescaling: why the decoder's columns need unit norm -----------------------------------

@exercise_check(
    "rescaling the dictionary", label="ex-ch7-rescale",
    hint="Write the reconstruction as a sum of f_i d_i. With f_i / c and c d_i each term is the same. "
         "The L1 penalty is lambda times the sum of the f_i, and each f_i is divided by c.",
)
def rescale(reconstruction_factor: object, penalty_factor: object) -> str:
    """The factors by which the reconstruction error and the L1 penalty change when every decoder
    column is multiplied by 10 and every code divided by 10: 1 and 0.1."""
    values = {}
    for name, got in (("reconstruction_factor", reconstruction_factor), ("penalty_factor", penalty_factor)):
        number = as_number(got)
        if number is None:
            raise Wrong(f"{name} must be a number (the factor by which that part of the loss is multiplied), "
                        f"got {got!r}.")
        values[name] = number
    r, p = values["reconstruction_factor"], values["penalty_factor"]
    if not math.isclose(r, 1.0, rel_tol=1e-6):
        raise Wrong(f"reconstruction_factor = {r:g}, but the reconstruction is unchanged: each term f_i d_i "
                    "becomes (f_i / 10)(10 d_i), the same vector, so its error is the same (a factor of 1).")
    if math.isclose(p, 0.1, rel_tol=1e-6):
        return ("the reconstruction does not change, and the penalty falls tenfold. Repeat the trick and the "
                "penalty goes to 0 with the same codes' pattern: that is why the chapter renormalises the "
                "decoder's columns after every step.")
    if math.isclose(p, 10.0, rel_tol=1e-6):
        raise Wrong("penalty_factor = 10, but the codes are divided by 10, not multiplied: the penalty sums "
                    "the codes.")
    if math.isclose(p, 1.0, rel_tol=1e-6):
        raise Wrong("penalty_factor = 1, but the L1 penalty sums the codes f_i, not the decoder's columns, and "
                    "every code was divided by 10.")
    if math.isclose(p, 0.01, rel_tol=1e-6):
        raise Wrong("penalty_factor = 0.01, but the L1 penalty is linear in the codes: it sums |f_i|, not "
                    "f_i squared.")
    raise Wrong(f"penalty_factor = {p:g}: the L1 penalty is lambda times the sum of the codes, and each code "
                "was divided by 10.")


# -- fraction of variance explained -------------------------------------------------------

def _fve_cases(where: torch.device) -> list[tuple[Tensor, Tensor, str]]:
    g = torch.Generator().manual_seed(7)
    n, d = 2000, 6
    spread = torch.tensor([3.0, 1.0, 0.5, 0.2, 2.0, 0.1])
    x = 5.0 + spread * torch.randn(n, d, generator=g)  # far from zero on average, unequal spreads
    good = x + 0.3 * torch.randn(n, d, generator=g)
    mean_only = x.mean(dim=0).expand_as(x).clone()
    scaled = 100 * x
    return [
        (x.to(where), good.to(where), "activations with a mean of 5 and a close reconstruction"),
        (x.to(where), mean_only.to(where), "a reconstruction that is the mean row everywhere"),
        (scaled.to(where), (100 * good).to(where), "the same activations times 100"),
    ]


@exercise_check(
    "the fraction of variance explained", label="ex-ch7-fve",
    hint="error = ((x - x_hat) ** 2).sum(); total = ((x - x.mean(dim=0)) ** 2).sum(); return 1 - error / total. "
         "The mean is over the rows (dim=0): each dimension's own mean.",
)
def fraction_of_variance_explained(answer: Callable[[Tensor, Tensor], object], *,
                                   device: torch.device | str | None = None) -> str:
    """``answer(x, x_hat)``: 1 - sum of squared errors / sum of squared deviations of x from its mean
    row, as one number; judged on data with a large mean, unequal spreads and two scales."""
    where = check_device(device)
    for x, x_hat, what in _fve_cases(where):
        with left_as_found(x=x, x_hat=x_hat):
            got_raw = answer(x, x_hat)
        if isinstance(got_raw, Tensor) and got_raw.numel() != 1:
            raise Wrong(f"your answer returned a tensor of shape {tuple(got_raw.shape)}: the FVE is one number "
                        "for the whole batch, summed over rows and dimensions.")
        got = as_number(got_raw)
        if got is None:
            raise Wrong(f"your answer must return one number, got a {type(got_raw).__name__}.")
        want = _reference_fve(x, x_hat)
        if math.isclose(got, want, abs_tol=2e-4):
            continue
        xd, hd = cpu_float64(x), cpu_float64(x_hat)
        error = (xd - hd).pow(2)
        deviation = (xd - xd.mean(dim=0)).pow(2)
        said = f"for {what}, your answer gave {round(got, 4) + 0.0:.4f}; expected {round(want, 4) + 0.0:.4f}."
        slips = {
            "it divides by the squared size of x, not by its squared deviation from the mean row. An SAE that "
            "outputs the mean row would then score high; the FVE scores it 0.": float(1 - error.sum() / xd.pow(2).sum()),
            "that is the share left unexplained, 1 minus the FVE.": float(error.sum() / deviation.sum()),
            "it averages one ratio per dimension; the FVE divides the total squared error by the total "
            "variance, so a dimension that varies more counts more.":
                float((1 - error.sum(dim=0) / deviation.sum(dim=0)).mean()),
            "it measures the spread of x_hat, not of x: the FVE divides by the activations' own variance.":
                float(1 - error.sum() / (hd - hd.mean(dim=0)).pow(2).sum()),
            "the squared error is not divided by the variance of x, so the answer changes with the scale of the "
            "activations.": float(1 - error.mean()),
            "it subtracts the mean of all entries, one number, where each dimension has its own mean (over the "
            "rows, dim=0).": float(1 - error.sum() / (xd - xd.mean()).pow(2).sum()),
        }
        for slip, value in slips.items():
            if math.isclose(got, value, abs_tol=2e-4):
                raise Wrong(f"{said} Here {slip}")
        raise Wrong(f"{said} The FVE is 1 for a perfect reconstruction and 0 for the mean row.")
    g = torch.Generator().manual_seed(8)
    probe = torch.randn(20, 3, generator=g)
    probe_devices(lambda: answer(probe, probe + 0.1), "the FVE")
    return ("1 for a perfect reconstruction, 0 for the mean row, and the same for activations 100 times larger.")


# -- feature density ------------------------------------------------------------------------

def _codes(where: torch.device) -> Tensor:
    g = torch.Generator().manual_seed(11)
    n, m = 500, 30
    density = torch.linspace(0, 0.6, m)
    density[[0, 7]] = 0.0  # two dead latents
    fires = torch.rand(n, m, generator=g) < density
    sizes = torch.rand(n, m, generator=g) * 3
    sizes[:, 5] = 1e-4  # a latent that fires weakly: it still fires
    return (fires * sizes).to(where)


@exercise_check(
    "the feature density", label="ex-ch7-density",
    hint="(codes != 0) is True where a latent fires; .float().mean(dim=0) averages over the inputs (the rows), "
         "one density per latent.",
)
def firing_frequency(answer: Callable[[Tensor], object], *, device: torch.device | str | None = None) -> str:
    """``answer(codes)``: for codes (N, m), the m fractions of rows where each column is nonzero."""
    where = check_device(device)
    codes = _codes(where)
    n, m = codes.shape
    with left_as_found(codes=codes):
        got_raw = answer(codes)
    if isinstance(got_raw, (int, float)) or (isinstance(got_raw, Tensor) and got_raw.numel() == 1):
        raise Wrong(f"your answer returned one number for {m} latents: it must return one density per latent.")
    try:
        got = torch.as_tensor(got_raw.detach().cpu() if isinstance(got_raw, Tensor) else got_raw).float().flatten()
    except (TypeError, ValueError, RuntimeError):
        raise Wrong(f"your answer must return m = {m} densities (a tensor), got a {type(got_raw).__name__}.") from None
    fires = (codes != 0).float().cpu()
    want = fires.mean(dim=0)
    said = f"for {n} inputs and {m} latents"
    if got.shape == (n,):
        raise Wrong(f"{said} your answer returned {n} numbers, one per input (row): it must return one density "
                    "per latent (column).")
    if got.shape != (m,):
        raise Wrong(f"{said} your answer returned {got.numel()} numbers: it must return one density per latent, {m}.")
    if torch.allclose(got, want, atol=1e-6):
        return (f"one density per latent; the {int((want == 0).sum())} dead ones read 0, and a latent that fires "
                "weakly still counts as firing.")
    if torch.allclose(got, fires.sum(dim=0), atol=1e-6):
        raise Wrong(f"{said} your answer counts the inputs each latent fires on; a density is the fraction, the "
                    "count divided by the number of inputs.")
    if torch.allclose(got, codes.cpu().mean(dim=0), atol=1e-6):
        raise Wrong(f"{said} your answer averages the code values; a density counts how often a latent fires, "
                    "whatever its size.")
    if torch.allclose(got, 1 - want, atol=1e-6):
        raise Wrong(f"{said} your answer gives the fraction of inputs on which each latent is silent (zero).")
    if bool((got <= want + 1e-6).all()) and float(got[5]) < float(want[5]) - 1e-6:
        raise Wrong(f"{said} latent 5 fires on {float(want[5]):.0%} of the inputs with tiny values (1e-4), and "
                    f"your answer gives {float(got[5]):.0%}: any nonzero code counts as firing, however small.")
    raise Wrong(f"{said} your densities differ from the fraction of inputs on which each latent is nonzero.")


# -- predicting what doubling k does ---------------------------------------------------------

@exercise_check(
    "doubling k", label="ex-ch7-double-k",
    hint="TopK keeps exactly k codes of each input (all of them, unless some are negative), so L0 = k. "
         "With 32 directions per input the SAE can still use the 16 it had, so it can fit at least as well.",
)
def double_k(l0_at_32: object, fve_moves: object) -> str:
    """The L0 of a TopK SAE with k = 32 (32), and whether its FVE moves up from k = 16's ("up")."""
    l0 = as_number(l0_at_32)
    if l0 is None:
        raise Wrong(f"l0_at_32 must be a number, the mean count of active latents per input; got {l0_at_32!r}.")
    if not isinstance(fve_moves, str) or fve_moves.strip().lower() not in {"up", "down", "same"}:
        raise Wrong(f'fve_moves must be one of "up", "down" or "same"; got {fve_moves!r}.')
    move = fve_moves.strip().lower()
    if math.isclose(l0, 16, abs_tol=0.5):
        raise Wrong("l0_at_32 = 16, the L0 the SAE had at k = 16. L0 counts the active latents per input: "
                    "what does TopK decide about that count, and what changes when k doubles?")
    if math.isclose(l0, 64, abs_tol=0.5):
        raise Wrong("l0_at_32 = 64: L0 counts the active latents per input, not pairs of them, and k = 32 "
                    "keeps k of them: doubling k doubles L0 once, so not 64.")
    if not 30 <= l0 <= 32:
        raise Wrong(f"l0_at_32 = {l0:g}: TopK keeps k codes per input (fewer only where some are negative), so "
                    "with k = 32 L0 is at most 32, and close to it.")
    if move == "down":
        raise Wrong("fve_moves = \"down\": with 32 directions per input the SAE could still use the 16 it had and "
                    "leave the rest at 0, so it can reconstruct at least as well.")
    if move == "same":
        raise Wrong("fve_moves = \"same\": the FVE stays the same only if the extra 16 codes of every input add "
                    "nothing; training uses them to reduce the error.")
    return ("L0 doubles with k, and the reconstruction improves. The sweep below shows how much, and what "
            "each of the two costs.")


# -- where the student stands --------------------------------------------------------------

from aecourse.checks.core import Note, show_hint as hint  # noqa: E402  check.hint("ex-ch7-...")
from aecourse.checks.core import progress as _progress  # noqa: E402


def progress() -> Note:
    """Which of this chapter's exercises pass in this kernel, from their checks' last verdicts:
    the chapter's last cell shows it."""
    return _progress(__name__)
