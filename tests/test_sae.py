"""``aecourse.sae``: the measuring and the surgery chapter 7 imports, on small known cases."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aecourse import sae


def small_network() -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    hidden = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    return nn.Sequential(hidden, nn.Linear(3, 2)), hidden


def test_collect_activations_reads_the_layer_batch_by_batch_and_leaves_the_model_as_it_was():
    model, hidden = small_network()
    model.train()
    x = torch.randn(10, 4)
    got = sae.collect_activations(model, hidden, x, batch_size=3)
    assert torch.allclose(got, hidden(x))
    assert not got.requires_grad
    assert model.training and hidden.training
    assert not hidden._forward_hooks  # the hook is gone


def test_fve_is_one_for_a_perfect_reconstruction_zero_for_the_mean_and_scale_free():
    x = torch.randn(50, 3) * torch.tensor([1.0, 5.0, 0.1]) + 7
    assert sae.fraction_of_variance_explained(x, x) == pytest.approx(1.0)
    assert sae.fraction_of_variance_explained(x, x.mean(0).expand_as(x)) == pytest.approx(0.0, abs=1e-12)
    noisy = x + 0.3 * torch.randn_like(x)
    assert sae.fraction_of_variance_explained(100 * x, 100 * noisy) == pytest.approx(
        sae.fraction_of_variance_explained(x, noisy))


def test_l0_density_and_dead_latents_count_nonzero_codes():
    codes = torch.tensor([[0.0, 2.0, 0.0, 1e-5], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 3.0, 0.0], [0.0, 4.0, 0.0, 0.0]])
    assert sae.mean_l0(codes) == pytest.approx(5 / 4)
    assert sae.firing_frequency(codes).tolist() == [0.0, 0.75, 0.25, 0.25]
    assert sae.count_dead(codes) == 1


def test_spliced_replaces_the_layer_inside_the_block_only_even_when_it_raises():
    model, hidden = small_network()
    x = torch.randn(5, 4)
    before = model(x)
    with sae.spliced(hidden, torch.zeros_like):
        assert torch.allclose(model(x), model[1].bias.expand(5, 2))
    assert torch.allclose(model(x), before)
    with pytest.raises(RuntimeError), sae.spliced(hidden, torch.zeros_like):
        raise RuntimeError("inside")
    assert not hidden._forward_hooks


def test_loss_recovered_is_one_at_the_original_and_zero_at_the_ablation():
    assert sae.loss_recovered(0.1, 0.1, 2.3) == pytest.approx(1.0)
    assert sae.loss_recovered(0.1, 2.3, 2.3) == pytest.approx(0.0)
    assert sae.loss_recovered(0.1, 0.32, 2.3) == pytest.approx(0.9)


def test_class_purity_reads_the_top_rows_of_each_column():
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    activations = torch.tensor([[9.0, 1.0], [8.0, 9.0], [1.0, 8.0], [0.0, 0.0], [0.0, 7.0], [0.0, 0.0]])
    purity = sae.class_purity(activations, labels, top=2)
    assert purity.tolist() == [1.0, 0.5]
    assert float(sae.class_purity(activations, labels, top=3)[1]) == pytest.approx(1 / 3)
