"""The VAE's loss pieces against values computed by hand."""

import math

import pytest
import torch
import torch.nn.functional as F

from aecourse.vae import bce_floor, bernoulli_nll, evaluate_vae, kl_to_standard_normal, reparameterize, vae_loss


def test_kl_is_zero_for_the_prior_itself():
    assert float(kl_to_standard_normal(torch.zeros(5, 3), torch.zeros(5, 3))) == 0.0


def test_kl_matches_a_hand_computed_value():
    # one image, two latents: mu = (1, 0), sigma^2 = (1, e)
    # 0.5 * [(1 + 1 - 1 - 0) + (0 + e - 1 - 1)] = 0.5 * (e - 1)
    mu = torch.tensor([[1.0, 0.0]])
    logvar = torch.tensor([[0.0, 1.0]])
    assert math.isclose(float(kl_to_standard_normal(mu, logvar)), 0.5 * (math.e - 1), rel_tol=1e-6)


def test_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    torch.testing.assert_close(kl_to_standard_normal(mu, logvar), torch.distributions.kl_divergence(q, p).sum())


def test_bernoulli_nll_by_hand():
    # logits 0 -> p = 0.5: each pixel costs log 2, whatever its value
    x = torch.tensor([[0.0, 1.0, 0.3]])
    assert math.isclose(float(bernoulli_nll(torch.zeros(1, 3), x)), 3 * math.log(2), rel_tol=1e-6)
    # one pixel, x = 1, logit 2: -log sigmoid(2) = log(1 + e^-2)
    assert math.isclose(float(bernoulli_nll(torch.tensor([2.0]), torch.tensor([1.0]))), math.log1p(math.exp(-2)), rel_tol=1e-6)


def test_logits_stay_finite_where_probabilities_saturate():
    logits = torch.tensor([-120.0, 120.0])
    x = torch.tensor([1.0, 0.0])  # confidently wrong
    assert math.isclose(float(bernoulli_nll(logits, x)), 240.0, rel_tol=1e-6)
    # the probability form clamps log(0) at -100 per pixel and so under-reports the error
    assert float(F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum")) == pytest.approx(200.0)


def test_vae_loss_is_reconstruction_plus_beta_kl():
    g = torch.Generator().manual_seed(1)
    logits, x = torch.randn(2, 1, 4, 4, generator=g), torch.rand(2, 1, 4, 4, generator=g)
    mu, logvar = torch.randn(2, 3, generator=g), torch.randn(2, 3, generator=g)
    parts = vae_loss(logits, x, mu, logvar, beta=4.0)
    torch.testing.assert_close(parts.total, parts.reconstruction + 4.0 * parts.kl)
    torch.testing.assert_close(parts.reconstruction, bernoulli_nll(logits, x))


def test_shape_mismatch_is_named():
    with pytest.raises(ValueError, match="one shape"):
        bernoulli_nll(torch.zeros(2, 784), torch.zeros(2, 1, 28, 28))
    with pytest.raises(ValueError, match="one shape"):
        reparameterize(torch.zeros(2, 3), torch.zeros(2, 4))


def test_reparameterize_has_the_right_moments_and_gradients():
    mu = torch.full((200_000, 1), 2.0, requires_grad=True)
    logvar = torch.full((200_000, 1), math.log(9.0), requires_grad=True)
    z = reparameterize(mu, logvar, generator=torch.Generator().manual_seed(0))
    assert abs(float(z.detach().mean()) - 2.0) < 0.02 and abs(float(z.detach().std()) - 3.0) < 0.02
    z.sum().backward()
    assert mu.grad is not None and logvar.grad is not None


def test_bce_floor_is_zero_for_binary_and_positive_for_grey():
    assert bce_floor(torch.tensor([[0.0, 1.0, 1.0]])) == pytest.approx(0.0, abs=1e-6)
    assert bce_floor(torch.tensor([[0.5, 0.5]])) == pytest.approx(2 * math.log(2), rel=1e-6)


def test_bce_floor_of_mnist_test_set_is_45_5(mnist_dir, monkeypatch):
    monkeypatch.setenv("AECOURSE_DATA", str(mnist_dir))
    from aecourse.data import load_mnist

    assert bce_floor(load_mnist(train=False).images) == pytest.approx(45.5, abs=0.05)


class _Perfect(torch.nn.Module):
    """Decodes every image to itself (as logits) with a prior-matching posterior."""

    def forward(self, x):
        p = x.clamp(1e-6, 1 - 1e-6)
        return torch.log(p) - torch.log1p(-p), torch.zeros(x.shape[0], 2), torch.zeros(x.shape[0], 2)


def test_evaluate_vae_reports_nats_per_image():
    x = torch.tensor([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]])
    result = evaluate_vae(_Perfect(), x, batch_size=2)
    assert result["kl"] == 0.0
    assert result["reconstruction"] == pytest.approx(2 * math.log(2), rel=1e-5)
    assert result["neg_elbo"] == pytest.approx(result["reconstruction"])
