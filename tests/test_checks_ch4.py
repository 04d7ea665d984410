"""Chapter 4 checks: each passes a correct answer and rejects typical wrong ones with a hint."""

import math

import torch
import torch.nn.functional as F

from aecourse.checks import ch4


def good_reparameterize(mu, logvar):
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def test_reparameterize_accepts_the_solution():
    assert ch4.reparameterize(good_reparameterize).passed


def test_reparameterize_rejects_std_as_variance():
    result = ch4.reparameterize(lambda mu, logvar: mu + torch.exp(logvar) * torch.randn_like(mu))
    assert not result.passed and "sigma = exp(logvar / 2)" in result.message


def test_reparameterize_rejects_no_noise():
    result = ch4.reparameterize(lambda mu, logvar: mu)
    assert not result.passed and "noise" in result.message


def test_reparameterize_rejects_sampling_without_a_path_for_gradients():
    result = ch4.reparameterize(lambda mu, logvar: torch.normal(mu.detach(), torch.exp(0.5 * logvar.detach())))
    assert not result.passed and "gradient" in result.message


def good_kl(mu, logvar):
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def test_kl_accepts_the_solution():
    assert ch4.kl_divergence(good_kl).passed


def test_kl_rejects_flipped_sign_and_mean():
    flipped = ch4.kl_divergence(lambda mu, logvar: 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()))
    assert not flipped.passed and "sign" in flipped.message
    mean = ch4.kl_divergence(lambda mu, logvar: -0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp()))
    assert not mean.passed and "sum" in mean.message


def test_kl_rejects_logvar_read_as_sigma():
    result = ch4.kl_divergence(lambda mu, s: 0.5 * torch.sum(mu**2 + s**2 - 1 - torch.log(s**2 + 1e-12)))
    assert not result.passed


def good_loss(logits, x, mu, logvar, beta=1.0):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="sum") + beta * good_kl(mu, logvar)


def test_loss_accepts_the_solution():
    assert ch4.vae_loss(good_loss).passed


def test_loss_names_probabilities_and_missing_beta_and_mean():
    probs = ch4.vae_loss(lambda l, x, mu, lv, beta=1.0: F.binary_cross_entropy(torch.sigmoid(l), x, reduction="sum") + beta * good_kl(mu, lv))
    assert not probs.passed and "with_logits" in probs.message
    no_beta = ch4.vae_loss(lambda l, x, mu, lv, beta=1.0: good_loss(l, x, mu, lv))
    assert not no_beta.passed and "beta" in no_beta.message
    mean = ch4.vae_loss(lambda l, x, mu, lv, beta=1.0: F.binary_cross_entropy_with_logits(l, x) + beta * good_kl(mu, lv))
    assert not mean.passed and "reduction='sum'" in mean.message


@torch.no_grad()
def good_sampler(model, n):
    model.eval()
    z = torch.randn(n, model.latent_dim)
    return torch.sigmoid(model.decode(z))


def test_sampler_accepts_the_solution():
    assert ch4.sample_prior(good_sampler).passed


def test_sampler_rejects_train_mode_logits_and_wrong_prior():
    @torch.no_grad()
    def train_mode(model, n):
        return torch.sigmoid(model.decode(torch.randn(n, model.latent_dim)))

    assert "eval" in ch4.sample_prior(train_mode).message

    @torch.no_grad()
    def logits(model, n):
        model.eval()
        return model.decode(torch.randn(n, model.latent_dim))

    assert "sigmoid" in ch4.sample_prior(logits).message

    @torch.no_grad()
    def uniform(model, n):
        model.eval()
        return torch.sigmoid(model.decode(torch.rand(n, model.latent_dim)))

    assert "N(0, I)" in ch4.sample_prior(uniform).message


def test_sampler_rejects_a_graph():
    def with_grad(model, n):
        model.eval()
        return torch.sigmoid(model.decode(torch.randn(n, model.latent_dim)))

    result = ch4.sample_prior(with_grad)
    assert not result.passed and "no_grad" in result.message
