"""Plumbing for chapter 6's discrete codes: counting codes, code lengths, sampling a code grid.

The chapter writes the parts worth learning in the notebook: the quantiser, the losses, the
masked convolution and the prior. What is here only keeps score, so that the same counting
serves every model of the chapter and the tests can pin it down:

* :func:`code_usage` says how many of a codebook's ``K`` entries a set of codes uses and how
  evenly: a collapsed codebook uses few, and its *perplexity* (the number of equally likely
  codes that would have the same entropy) is far below ``K``.
* :func:`uniform_bits` is the length of a code that spends the same number of bits on every
  position, ``positions * log2(K)``: the rate of a code no prior knows anything about.
* :func:`code_length_bits` measures what a prior over code grids charges for each grid, its
  cross-entropy in bits, the rate a prior buys back below the uniform length.
* :func:`sample_code_grid` draws grids from such a prior one position at a time, in the raster
  order the prior was trained in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from aecourse.device import cpu_float64
from aecourse.train import evaluating

__all__ = ["CodeUsage", "code_counts", "perplexity", "code_usage", "uniform_bits", "code_length_bits",
           "sample_code_grid"]


def code_counts(indices: Tensor, codebook_size: int) -> Tensor:
    """How often each of the ``codebook_size`` codes occurs in ``indices`` (any shape of ints).

    Returns a float64 tensor of length ``codebook_size`` on the CPU: counts are summed over
    many batches and then turned into probabilities, where float32 would round a count above
    2**24 (a few hundred thousand images of 49 codes).
    """
    flat = indices.detach().flatten().long().cpu()
    if flat.numel() and (int(flat.min()) < 0 or int(flat.max()) >= codebook_size):
        raise ValueError(f"code indices must lie in [0, {codebook_size}); got {int(flat.min())} to {int(flat.max())}")
    return cpu_float64(torch.bincount(flat, minlength=codebook_size))


def perplexity(counts: Tensor) -> float:
    """``exp`` of the entropy of the distribution that ``counts`` gives, in nats (so base-free).

    It reads as a number of codes: ``K`` codes used equally give ``K``; one code used always
    gives 1. Codes with a count of 0 contribute nothing (0 log 0 = 0), so unused codes do not
    make the result NaN.
    """
    counts = cpu_float64(counts).flatten()
    total = counts.sum()
    if total <= 0:
        raise ValueError("perplexity needs at least one counted code")
    p = counts[counts > 0] / total
    return math.exp(float(-(p * p.log()).sum()))


@dataclass(frozen=True)
class CodeUsage:
    """How a set of codes uses a codebook of ``size`` entries.

    ``used`` codes occur at least once, ``dead`` never (``used + dead == size``);
    ``perplexity`` is as :func:`perplexity` defines it.
    """

    size: int
    used: int
    dead: int
    perplexity: float

    @property
    def used_fraction(self) -> float:
        """The share of the codebook that occurs at least once."""
        return self.used / self.size


def code_usage(indices: Tensor, codebook_size: int) -> CodeUsage:
    """Usage of a codebook of ``codebook_size`` entries by the codes ``indices`` (any shape)."""
    counts = code_counts(indices, codebook_size)
    used = int((counts > 0).sum())
    return CodeUsage(codebook_size, used, codebook_size - used, perplexity(counts))


def uniform_bits(codebook_size: int, positions: int = 49) -> float:
    """Bits per image of a code that spends ``log2(codebook_size)`` bits on each of ``positions``
    positions: what the code costs when every code is taken as equally likely everywhere."""
    return positions * math.log2(codebook_size)


def code_length_bits(prior: nn.Module, codes: Tensor, *, batch_size: int = 1000) -> Tensor:
    """What ``prior`` charges for each grid of ``codes``, in bits: ``-log2 p(codes)`` per grid.

    ``prior(codes)`` must return logits of shape ``(N, K, H, W)`` for integer codes ``(N, H, W)``
    and be autoregressive (each position's logits see only earlier positions), so that the
    sum of the per-position cross-entropies is the log-probability of the whole grid. Runs
    under :func:`~aecourse.train.evaluating` (eval mode, no graph). Returns ``(N,)`` on the
    codes' device.
    """
    lengths = []
    with evaluating(prior):
        for chunk in codes.split(batch_size):
            nats = F.cross_entropy(prior(chunk), chunk, reduction="none").flatten(1).sum(1)
            lengths.append(nats / math.log(2))
    return torch.cat(lengths)


def sample_code_grid(prior: nn.Module, n: int, codebook_size: int, *, height: int = 7, width: int = 7,
                     generator: torch.Generator | None = None, device: torch.device | str | None = None,
                     temperature: float = 1.0) -> Tensor:
    """``n`` code grids ``(n, height, width)`` drawn from an autoregressive ``prior``, in raster order.

    Each position is drawn from the prior's distribution given the positions above and to the
    left, which are already drawn: ``height * width`` passes of the prior, each reading only
    the one position it fills. Positions not yet drawn hold 0; a correctly masked prior never
    reads them. ``temperature`` divides the logits (1 samples the prior itself). Draws from
    ``generator`` (on the CPU) so a seed fixes the samples on any device.
    """
    if device is None:
        device = next(prior.parameters()).device
    codes = torch.zeros(n, height, width, dtype=torch.long, device=device)
    with evaluating(prior):
        for row in range(height):
            for column in range(width):
                logits = prior(codes)[:, :, row, column] / temperature
                probabilities = torch.softmax(cpu_float64(logits), dim=1)  # float64 on the CPU only (MPS has none)
                drawn = torch.multinomial(probabilities, 1, generator=generator).flatten()
                codes[:, row, column] = drawn.to(device)
    return codes
