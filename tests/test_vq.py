"""aecourse.vq: the counting and code-length plumbing of chapter 6."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from aecourse import vq


def test_counts_cover_every_code_and_reject_strangers():
    counts = vq.code_counts(torch.tensor([[0, 2], [2, 2]]), 4)
    assert counts.tolist() == [1, 0, 3, 0] and counts.dtype == torch.float64
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        vq.code_counts(torch.tensor([4]), 4)


def test_perplexity_reads_as_a_number_of_codes():
    assert vq.perplexity(torch.tensor([5.0, 5.0, 5.0, 5.0])) == pytest.approx(4)
    assert vq.perplexity(torch.tensor([7.0, 0.0, 0.0])) == pytest.approx(1)
    assert vq.perplexity(torch.tensor([3, 0, 3, 0])) == pytest.approx(2)  # dead codes add nothing, no nan
    p = torch.tensor([0.5, 0.25, 0.25])
    assert vq.perplexity(p * 100) == pytest.approx(math.exp(-(p * p.log()).sum().item()))
    with pytest.raises(ValueError):
        vq.perplexity(torch.zeros(3))


def test_usage_counts_used_and_dead_codes():
    usage = vq.code_usage(torch.tensor([0, 0, 1, 1, 5]), 8)
    assert (usage.used, usage.dead, usage.size) == (3, 5, 8)
    assert usage.used_fraction == pytest.approx(3 / 8)
    assert 1 < usage.perplexity < 3


def test_the_uniform_code_length_is_positions_times_log2_k():
    assert vq.uniform_bits(64) == pytest.approx(294)
    assert vq.uniform_bits(2, positions=10) == pytest.approx(10)


class ColumnPrior(nn.Module):
    """An autoregressive prior over (N, 1, 2) grids of K = 3 codes: the first position uniform,
    the second a copy of the first with probability close to 1."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))  # a parameter, so that the device can be read
        self.calls = 0

    def forward(self, codes):
        self.calls += 1
        n = codes.shape[0]
        logits = torch.zeros(n, 3, 1, 2, device=codes.device) + self.weight
        logits[:, :, 0, 1] = 20 * F.one_hot(codes[:, 0, 0], 3).float() - 10  # copy the first code
        return logits


def test_code_length_is_the_sum_of_the_positions_cross_entropies_in_bits():
    prior = ColumnPrior()
    codes = torch.tensor([[[0, 0]], [[1, 2]]])
    bits = vq.code_length_bits(prior, codes)
    assert bits.shape == (2,)
    assert bits[0].item() == pytest.approx(math.log2(3), abs=1e-3)  # the copy costs nothing
    assert bits[1].item() > 20  # a broken copy costs a lot
    assert prior.training  # eval mode inside only


def test_sampling_draws_position_by_position_and_follows_the_prior():
    prior = ColumnPrior()
    grids = vq.sample_code_grid(prior, 300, 3, height=1, width=2, generator=torch.Generator().manual_seed(0))
    assert grids.shape == (300, 1, 2) and grids.dtype == torch.long
    assert torch.equal(grids[:, 0, 0], grids[:, 0, 1])  # the second position copied the first
    assert set(grids[:, 0, 0].tolist()) == {0, 1, 2}
    assert prior.calls == 2  # one pass per position
    again = vq.sample_code_grid(prior, 300, 3, height=1, width=2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(grids, again)


def test_sampling_and_code_length_stay_on_the_priors_device(device):
    prior = ColumnPrior().to(device)
    grids = vq.sample_code_grid(prior, 4, 3, height=1, width=2, generator=torch.Generator().manual_seed(0))
    assert grids.device.type == torch.device(device).type
    assert vq.code_length_bits(prior, grids).device.type == torch.device(device).type
