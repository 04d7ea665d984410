"""The importance-weighted log-likelihood, on a model whose log p(x) is known exactly.

The model is linear-Gaussian: z ~ N(0, I_d), x | z ~ N(W z + b, s^2 I_D), so
x ~ N(b, W W^T + s^2 I) in closed form. W has orthogonal columns, which makes
the exact posterior p(z|x) a *diagonal* Gaussian, one a VAE's encoder can
output. With it every weight p(x, z) / q(z|x) equals p(x), so the estimate is
exact for every k; with a deliberately wrong q the estimate must climb towards
log p(x) from below as k grows.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import MultivariateNormal, Normal

from aecourse.likelihood import (bernoulli_log_likelihood, binarize, iwae_log_likelihood, mean_and_standard_error,
                                 vae_log_likelihood)


class LinearGaussian:
    def __init__(self, D=6, scales=(2.0, 1.0, 0.5), s=0.5, seed=0, dtype=torch.float64):
        g = torch.Generator().manual_seed(seed)
        q, _ = torch.linalg.qr(torch.randn(D, len(scales), generator=g, dtype=torch.float64))
        self.scales = torch.tensor(scales, dtype=torch.float64)
        self.W = (q * self.scales).to(dtype)  # W^T W = diag(scales^2)
        self.b = torch.randn(D, generator=g, dtype=torch.float64).to(dtype)
        self.s, self.D, self.d = s, D, len(scales)
        self.post_var = (1 / (1 + self.scales**2 / s**2)).to(dtype)

    def sample(self, n, seed=1):
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.d, generator=g, dtype=self.W.dtype)
        return z @ self.W.T + self.b + self.s * torch.randn(n, self.D, generator=g, dtype=self.W.dtype)

    def exact_encode(self, x):
        mu = ((x - self.b) @ self.W) / self.s**2 * self.post_var
        return mu, self.post_var.log().expand_as(mu)

    def wrong_encode(self, x):  # shifted by half a posterior std, twice as wide
        mu, logvar = self.exact_encode(x)
        return mu + 0.5 * (0.5 * logvar).exp(), logvar + math.log(2.0)

    def log_likelihood(self, x, z):
        return Normal(z @ self.W.T + self.b, self.s).log_prob(x).sum(-1)

    def exact_log_px(self, x):
        W, b = self.W.double(), self.b.double()
        cov = W @ W.T + self.s**2 * torch.eye(self.D, dtype=torch.float64)
        return MultivariateNormal(b, cov).log_prob(x.double())

    def elbo(self, x, encode):
        """E_q[log p(x|z)] - KL(q || N(0, I)), in closed form."""
        mu, logvar = encode(x)
        residual = (x - mu @ self.W.T - self.b).pow(2).sum(-1) + (logvar.exp() * self.W.pow(2).sum(0)).sum(-1)
        expected = -0.5 * self.D * math.log(2 * math.pi * self.s**2) - residual / (2 * self.s**2)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(-1)
        return expected - kl


def estimate(model, x, k, encode=None, seed=0, **kwargs):
    return iwae_log_likelihood(encode or model.wrong_encode, model.log_likelihood, x, k,
                               generator=torch.Generator().manual_seed(seed), **kwargs)


def test_the_test_model_is_what_it_claims():
    """Bayes' rule at any z: log p(x) = log p(x|z) + log p(z) - log p(z|x), with our posterior."""
    model = LinearGaussian()
    x = model.sample(5)
    mu, logvar = model.exact_encode(x)
    z = mu + 0.3
    via_bayes = (model.log_likelihood(x, z) + Normal(0.0, 1.0).log_prob(z).sum(-1)
                 - Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1))
    torch.testing.assert_close(via_bayes, model.exact_log_px(x), rtol=0, atol=1e-10)


@pytest.mark.parametrize("k", [1, 7, 100])
def test_exact_posterior_gives_the_exact_log_likelihood_for_every_k(k):
    model = LinearGaussian()
    x = model.sample(20)
    got = estimate(model, x, k, encode=model.exact_encode)
    assert got.shape == (20,) and got.dtype == torch.float64
    torch.testing.assert_close(got, model.exact_log_px(x), rtol=0, atol=1e-9)


def test_wrong_q_rises_with_k_towards_the_exact_value_from_below():
    model = LinearGaussian()
    x = model.sample(400)
    exact = float(model.exact_log_px(x).mean())
    stats = {k: mean_and_standard_error(estimate(model, x, k)) for k in (1, 10, 1000, 5000)}
    (m1, se1), (m10, _), (m1000, se1000), (m5000, _) = (stats[k] for k in (1, 10, 1000, 5000))
    elbo = float(model.elbo(x, model.wrong_encode).mean())
    assert abs(m1 - elbo) < 4 * se1, f"k = 1 must estimate the ELBO {elbo:.4f}; got {m1:.4f} +- {se1:.4f}"
    assert exact - elbo > 0.3  # the wrong q leaves a gap worth closing
    assert m1 < m10 < m1000 <= exact + 3 * se1000, (m1, m10, m1000, exact)
    assert abs(m5000 - exact) < 0.01, (m5000, exact)
    per_image = estimate(model, x, 5000) - model.exact_log_px(x)
    assert float(per_image.abs().max()) < 0.1  # not only on average: every image converges


def test_numerically_stable_where_the_naive_mean_of_weights_underflows():
    model = LinearGaussian(D=784, s=0.3, dtype=torch.float32)
    x = model.sample(4) + 2.5 * torch.randn(4, 784, generator=torch.Generator().manual_seed(3))
    exact = model.exact_log_px(x)
    assert float(exact.max()) < -5e3  # around -1e4 nats
    got = estimate(model, x, 200)
    assert got.dtype == torch.float32 and torch.isfinite(got).all()
    torch.testing.assert_close(got.double(), exact, rtol=1e-4, atol=0)
    # the naive estimate on the same weights is -inf: the test above is not vacuous
    mu, logvar = model.wrong_encode(x)
    z = mu + (0.5 * logvar).exp() * torch.randn(200, *mu.shape)
    log_w = (model.log_likelihood(x, z) + Normal(0.0, 1.0).log_prob(z).sum(-1)
             - Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1))
    assert torch.isneginf(torch.log(torch.exp(log_w).mean(0))).all()


def test_chunking_does_not_change_the_estimate():
    model = LinearGaussian()
    x = model.sample(9)
    whole = estimate(model, x, 1000, chunk=1000)
    for chunk in (1, 7, 333):
        torch.testing.assert_close(estimate(model, x, 1000, chunk=chunk), whole, rtol=0, atol=1e-10)


def test_same_seed_same_estimate_other_seed_other_estimate():
    model = LinearGaussian()
    x = model.sample(9)
    assert torch.equal(estimate(model, x, 50, seed=4), estimate(model, x, 50, seed=4))
    assert not torch.equal(estimate(model, x, 50, seed=4), estimate(model, x, 50, seed=5))


def test_bernoulli_log_likelihood_is_minus_the_summed_bce_per_image():
    g = torch.Generator().manual_seed(0)
    logits = 3 * torch.randn(5, 1, 28, 28, generator=g)
    logits[0, 0, 0, :2] = torch.tensor([200.0, -200.0])  # saturated: exact, not log(0)
    x = (torch.rand(5, 1, 28, 28, generator=g) < 0.5).float()
    x[0, 0, 0, :2] = torch.tensor([0.0, 1.0])
    got = bernoulli_log_likelihood(logits, x)
    want = torch.stack([-F.binary_cross_entropy_with_logits(l, xi, reduction="sum") for l, xi in zip(logits, x)])
    assert got.shape == (5,) and torch.isfinite(got).all()
    torch.testing.assert_close(got, want)
    assert float(got[0]) < -400  # the two saturated wrong pixels cost 200 nats each


class TinyBernoulliVAE(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.BatchNorm1d(8), nn.Dropout(0.5))
        self.mu, self.logvar = nn.Linear(8, 2), nn.Linear(8, 2)
        self.decoder = nn.Linear(2, 16)
        self.seen = []

    def encode(self, x):
        self.seen.append((self.training, self.encoder[2].training, torch.is_grad_enabled()))
        h = self.encoder(x)
        return self.mu(h), self.logvar(h)

    def decode(self, z):
        return self.decoder(z).reshape(-1, 1, 4, 4)


def test_vae_helper_runs_in_eval_mode_and_restores_every_submodule():
    model = TinyBernoulliVAE()
    model.train()
    model.encoder[2].eval()  # a frozen batch norm must stay frozen, the rest in training mode
    x = binarize(torch.rand(30, 1, 4, 4, generator=torch.Generator().manual_seed(1)),
                 torch.Generator().manual_seed(2))
    got = vae_log_likelihood(model, x, 100, chunk=30, batch_size=7, generator=torch.Generator().manual_seed(0))
    assert got.shape == (30,) and torch.isfinite(got).all() and float(got.max()) < 0
    assert model.seen and all(seen == (False, False, False) for seen in model.seen)
    assert model.training and model.encoder[0].training and model.encoder[3].training
    assert not model.encoder[2].training
    # it is the estimator with the model's own encode and decode, batch by batch
    model.eval()
    first = iwae_log_likelihood(model.encode, lambda xs, z: bernoulli_log_likelihood(model.decode(z), xs),
                                x[:7], 100, chunk=30, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(got[:7], first)


def test_mean_and_standard_error():
    mean, se = mean_and_standard_error(torch.tensor([1.0, 2.0, 3.0, 6.0]))
    assert mean == pytest.approx(3.0)
    assert se == pytest.approx(math.sqrt(14 / 3) / 2)


def test_binarize_draws_zeros_and_ones_with_the_grey_values_as_probabilities():
    grey = torch.tensor([0.0, 0.2, 0.9, 1.0]).repeat(50_000, 1)
    bits = binarize(grey, torch.Generator().manual_seed(0))
    assert bits.shape == grey.shape and bits.dtype == grey.dtype
    assert set(bits.unique().tolist()) <= {0.0, 1.0}
    freq = bits.mean(0)
    assert freq[0] == 0 and freq[3] == 1
    se = torch.sqrt(torch.tensor([0.2 * 0.8, 0.9 * 0.1]) / 50_000)
    assert ((freq[1:3] - torch.tensor([0.2, 0.9])).abs() < 5 * se).all(), freq
    assert torch.equal(bits, binarize(grey, torch.Generator().manual_seed(0)))  # seeded: repeats
    assert not torch.equal(bits, binarize(grey, torch.Generator().manual_seed(1)))
    assert not torch.equal(binarize(grey), binarize(grey))  # unseeded: fresh draws (dynamic)
