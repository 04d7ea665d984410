"""Checks for chapter 6: discrete codes, the vector-quantised autoencoder."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
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
from aecourse.vq import perplexity as _perplexity


# -- the quantiser -----------------------------------------------------------------------

def _quantise_problem(where: torch.device) -> tuple[Tensor, Tensor]:
    """Vectors and a codebook whose nearest entry differs from the entry of largest dot
    product (the entries have different lengths), on ``where``."""
    g = torch.Generator().manual_seed(6)
    codebook = torch.randn(12, 3, generator=g) * torch.linspace(0.3, 3.0, 12).unsqueeze(1)
    z = torch.randn(40, 3, generator=g) * 1.5
    return z.to(where), codebook.to(where)


def _nearest(z: Tensor, codebook: Tensor) -> Tensor:
    return torch.cdist(cpu_float64(z), cpu_float64(codebook)).argmin(dim=1)


@exercise_check(
    "the quantiser", label="ex-ch6-quantise",
    hint="torch.cdist(z, codebook) gives all the (N, K) distances; .argmin(dim=1) picks each row's nearest entry; "
         "codebook[indices] looks the entries up. The straight-through line is z + (chosen - z).detach(): its "
         "value is chosen, its gradient goes to z unchanged, and the detached bracket sends the codebook nothing.",
)
def quantise(answer: Callable[[Tensor, Tensor], object], *, device: torch.device | str | None = None) -> str:
    """``answer(z, codebook)`` returns ``(z_q, indices)``: each row's nearest entry (Euclidean), its
    number, and a straight-through gradient to ``z`` only."""
    where = check_device(device)
    z, codebook = _quantise_problem(where)
    z.requires_grad_()
    codebook.requires_grad_()
    with left_as_found(z=z, codebook=codebook):
        got = answer(z, codebook)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise Wrong(f"return two things, (z_q, indices); got {type(got).__name__}"
                    + (f" of {len(got)} things." if isinstance(got, (tuple, list)) else "."))
    z_q, indices = got
    if not isinstance(indices, Tensor) or not isinstance(z_q, Tensor):
        raise Wrong("z_q and indices must both be tensors.")
    if isinstance(z_q, Tensor) and z_q.dim() == 1 and indices.dim() == 2:
        raise Wrong("the two are swapped: return (z_q, indices), the vectors first.")
    if indices.shape != (z.shape[0],):
        raise Wrong(f"for 40 vectors indices must have shape (40,), one number per row of z; got "
                    f"{tuple(indices.shape)}. (A shape of (12,) would be one number per codebook entry: the "
                    "nearest entry is found along each row of the distances.)")
    if indices.dtype.is_floating_point or indices.dtype == torch.bool:
        raise Wrong(f"indices must be integers, the numbers of the chosen entries; got dtype {indices.dtype}.")
    want = _nearest(z, codebook)
    got_idx = indices.detach().long().cpu()
    if not torch.equal(got_idx, want):
        distances = torch.cdist(cpu_float64(z), cpu_float64(codebook))
        if torch.equal(got_idx, distances.argmax(dim=1)):
            raise Wrong("your indices name each row's farthest entry, where the nearest was asked for.")
        dots = cpu_float64(z) @ cpu_float64(codebook).T
        if torch.equal(got_idx, dots.argmax(dim=1)):
            raise Wrong("your indices name the entry with the largest dot product with each row. That is the "
                        "nearest only when all entries have the same length; here they differ, so use the "
                        "distance.")
        wrong = int((got_idx != want).sum())
        raise Wrong(f"{wrong} of the 40 rows got an entry that is not their nearest in Euclidean distance.")
    if z_q.shape != z.shape:
        raise Wrong(f"z_q must have the shape of z, {tuple(z.shape)}; got {tuple(z_q.shape)}.")
    chosen = codebook.detach()[want.to(where)]
    if not torch.allclose(z_q.detach(), chosen, atol=1e-5):
        if torch.allclose(z_q.detach(), z.detach(), atol=1e-5):
            raise Wrong("z_q equals z: its value must be the chosen codebook entries, so that the decoder sees "
                        "only codebook vectors.")
        raise Wrong("the indices are right, but z_q does not hold the entries they name.")
    if z_q.grad_fn is None:
        raise Wrong("z_q carries no gradient: the decoder's gradient would never reach z, and the encoder "
                    "could not learn.")
    weights = torch.randn(z.shape, generator=torch.Generator().manual_seed(1)).to(where)
    backpropagate((z_q * weights).sum(), "z_q")
    if z.grad is None or not z.grad.any():
        if codebook.grad is not None and codebook.grad.any():
            raise Wrong("the gradient of z_q goes to the codebook, not to z: the encoder could not learn. The "
                        "straight-through copy passes it to z.")
        raise Wrong("no gradient reaches z from z_q: the encoder could not learn.")
    if not torch.allclose(z.grad, weights, atol=1e-5):
        raise Wrong("a gradient reaches z, but not unchanged: the straight-through estimator copies the "
                    "gradient of z_q onto z as it is.")
    if codebook.grad is not None and codebook.grad.abs().max() > 1e-8:
        raise Wrong("the codebook also gets a gradient through z_q. The straight-through copy should send it "
                    "nothing: the codebook learns from its own loss.")
    probe_z, probe_codebook = _quantise_problem(torch.device("cpu"))
    probe_devices(lambda: answer(probe_z, probe_codebook), "the quantiser")
    return ("each row gets its nearest entry; z_q has the entries' values and passes its gradient "
            "to z unchanged, and nothing to the codebook.")


# -- perplexity ------------------------------------------------------------------------------

def _float(got: object, what: str) -> float:
    number = as_number(got) if not isinstance(got, Tensor) else (float(got) if got.numel() == 1 else None)
    if number is None:
        raise Wrong(f"{what} must be one number; got {type(got).__name__}.")
    return number


@exercise_check(
    "perplexity from code counts", label="ex-ch6-perplexity",
    hint="p = counts / counts.sum(); keep only p > 0; the entropy is -(p * p.log()).sum() in nats, and the "
         "perplexity is its exp (or, with log2, 2 to its power).",
)
def perplexity_from_counts(answer: Callable[[Tensor], object]) -> str:
    """``answer(counts)`` returns exp(entropy) of counts / counts.sum(), with 0 log 0 = 0."""
    cases = [
        torch.tensor([5.0, 5.0, 5.0, 5.0, 0.0, 0.0, 0.0, 0.0]),  # 4 codes used equally, 4 dead
        torch.tensor([90.0, 4.0, 3.0, 2.0, 1.0, 0.0]),  # one code dominates
        torch.tensor([3, 1, 1, 1, 2, 0, 7, 1]),  # integer counts
    ]
    for counts in cases:
        with left_as_found(counts=counts):
            raw = answer(counts.clone())
        got = _float(raw, "the perplexity")
        want = _perplexity(counts)
        shown = "[" + ", ".join(f"{int(c)}" for c in counts.tolist()) + "]"
        said = f"for counts {shown} your answer is {got:.4g}, expected {want:.4g}."
        if math.isnan(got):
            raise Wrong(f"{said} A code counted 0 times gives 0 * log 0, which is nan in floating point: leave "
                        "those codes out (0 log 0 counts as 0).")
        if math.isclose(got, want, rel_tol=1e-4):
            continue
        p = cpu_float64(counts) / counts.sum()
        q = p[p > 0]
        entropy_nats = float(-(q * q.log()).sum())
        if math.isclose(got, entropy_nats, rel_tol=1e-4) or math.isclose(got, entropy_nats / math.log(2), rel_tol=1e-4):
            raise Wrong(f"{said} That is the entropy itself; the perplexity is its exponential, a number of codes.")
        if math.isclose(got, math.exp(entropy_nats / math.log(2)), rel_tol=1e-4):
            raise Wrong(f"{said} The entropy was taken in bits (log2) and then exp: the base of the power must "
                        "match the base of the log.")
        if math.isclose(got, float((counts > 0).sum()), rel_tol=1e-6):
            raise Wrong(f"{said} That is the number of codes used; the perplexity also weighs how evenly they "
                        "are used.")
        if math.isclose(got, float(1 / (q * q).sum()), rel_tol=1e-4):
            raise Wrong(f"{said} That is 1 / sum(p^2), another 'effective number' of codes; the perplexity is "
                        "exp of the entropy.")
        raw_counts = cpu_float64(counts)[counts > 0]
        if math.isclose(got, math.exp(float(-(raw_counts * raw_counts.log()).sum())), rel_tol=1e-4) or \
                math.isinf(got) or got < 1 - 1e-6:
            raise Wrong(f"{said} The counts must first be turned into frequencies that sum to 1.")
        raise Wrong(f"{said} The perplexity is exp(-sum p log p) over the frequencies p of the codes.")
    return "exp of the entropy of the code frequencies, with unused codes left out."


# -- the dead code's gradient ----------------------------------------------------------------

@exercise_check(
    "the gradient of a dead code", label="ex-ch6-dead",
    hint="Write the codebook loss as a sum over the batch's vectors, each with the entry it chose. Does a dead "
         "entry appear in any term? Then follow the reconstruction's gradient backwards through "
         "z + (e - z).detach(): which tensors does it reach?",
)
def dead_code(codebook_grad: object, reconstruction_grad: object) -> str:
    """Both gradients are exactly zero."""
    values = {}
    for name, got in (("codebook_grad", codebook_grad), ("reconstruction_grad", reconstruction_grad)):
        number = as_number(got) if not isinstance(got, Tensor) else (float(got) if got.numel() == 1 else None)
        if number is None:
            raise Wrong(f"{name} must be a number, the size of a gradient; got {type(got).__name__} {got!r}.")
        values[name] = number
    if values["codebook_grad"] < 0 or values["reconstruction_grad"] < 0:
        raise Wrong("a size of a gradient is never negative.")
    if values["codebook_grad"] != 0:
        raise Wrong("codebook_grad is not 0. The codebook loss sums the squared distances of the vectors to the "
                    "entries they chose. A dead entry was chosen by no vector, so it appears in no term of that "
                    "sum, and its gradient is exactly 0.")
    if values["reconstruction_grad"] != 0:
        raise Wrong("reconstruction_grad is not 0. The reconstruction reaches the quantiser through the "
                    "straight-through line, whose detached bracket passes nothing to any entry, dead or alive. "
                    "Only the codebook loss moves the codebook.")
    return ("both are exactly 0: a dead entry appears in no term of the codebook loss, and the straight-through "
            "copy passes the codebook nothing. Nothing moves the entry itself; it can come back only if "
            "the encoder's vectors drift towards it. The next cell measures the gradients, and the naive run "
            "below shows how often that happens.")


# -- the uniform code length ----------------------------------------------------------------

@exercise_check(
    "the uniform code length", label="ex-ch6-uniform",
    hint="One position names one of K = 64 codes: log2(64) bits. Count the positions of the grid.",
)
def uniform_code_length(uniform_bits_per_image: object) -> str:
    """49 * log2(64) = 294 bits."""
    got = _float(uniform_bits_per_image, "uniform_bits_per_image")
    want = 49 * math.log2(64)
    if math.isclose(got, want, rel_tol=1e-3):
        return ("49 positions of log2(64) = 6 bits: 294 bits per image. The prior below will charge less.")
    if math.isclose(got, 6, rel_tol=1e-3):
        raise Wrong("6 bits is the length of one position; a grid has 7 x 7 of them.")
    if math.isclose(got, 49 * math.log(64), rel_tol=1e-3):
        raise Wrong(f"{got:.1f} is 49 x ln 64, the length in nats; in bits the log is base 2.")
    if math.isclose(got, 49 * 64, rel_tol=1e-3) or math.isclose(got, 64**49, rel_tol=1e-3):
        raise Wrong(f"{got:.4g} counts codes, not bits: each position takes log2 of the number of codes it could be.")
    if math.isclose(got, 7 * 6, rel_tol=1e-3):
        raise Wrong("42 bits is one row of 7 positions; the grid has 7 rows.")
    if math.isclose(got, 49 * 4 * 32, rel_tol=1e-3) or math.isclose(got, 49 * 32, rel_tol=1e-3):
        raise Wrong("that counts float32 numbers; a code names an entry by its number, log2(64) bits, not by "
                    "the entry's values.")
    raise Wrong(f"{got:g} bits is not it: count the bits of one position, then the positions.")


# -- where the student stands ----------------------------------------------------------------

from aecourse.checks.core import Note, show_hint as hint  # noqa: E402  check.hint("ex-ch6-...")
from aecourse.checks.core import progress as _progress  # noqa: E402


def progress() -> Note:
    """Which of this chapter's exercises pass in this kernel, from their checks' last verdicts:
    the chapter's last cell shows it."""
    return _progress(__name__)
