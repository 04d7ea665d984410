"""Checks for chapter 4: the variational autoencoder."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from aecourse.checks.core import Wrong, check
from aecourse.vae import bernoulli_nll, kl_to_standard_normal


@check("the reparameterisation")
def reparameterize(answer: Callable[[Tensor, Tensor], Tensor]) -> str:
    """``answer(mu, logvar)`` returns ``mu + exp(logvar / 2) * eps`` with fresh ``eps``."""
    torch.manual_seed(0)
    mu = torch.full((100_000, 2), 2.0, requires_grad=True)
    logvar = torch.full((100_000, 2), math.log(9.0), requires_grad=True)
    z = answer(mu, logvar)
    if not isinstance(z, Tensor) or z.shape != mu.shape:
        got = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
        raise Wrong(f"z must have the shape of mu, {tuple(mu.shape)}; got {got}.")
    mean, std = float(z.detach().mean()), float(z.detach().std())
    if std < 1e-6:
        raise Wrong("z equals mu: add noise, eps * sigma with eps = torch.randn_like(mu).")
    if math.isclose(std, 9.0, rel_tol=0.05):
        raise Wrong("the spread is 9, the variance: logvar is log sigma^2, so sigma = exp(logvar / 2).")
    if not (math.isclose(mean, 2.0, abs_tol=0.05) and math.isclose(std, 3.0, rel_tol=0.03)):
        raise Wrong(f"for mu = 2, sigma^2 = 9 the samples have mean {mean:.2f} and std {std:.2f}; expected 2 and 3.")
    if z.grad_fn is None:
        raise Wrong("no gradient reaches mu and logvar: build z from them with + and *, not by sampling with torch.normal.")
    z.sum().backward()
    if mu.grad is None or logvar.grad is None or float(logvar.grad.abs().sum()) == 0:
        raise Wrong("the gradient does not reach both mu and logvar: z = mu + exp(logvar / 2) * eps.")
    if not torch.allclose(mu.grad, torch.ones_like(mu)):
        raise Wrong("dz/dmu should be 1: add mu itself, unscaled.")
    return "mean 2 and spread 3 for mu = 2, sigma^2 = 9, and the gradient reaches both mu and logvar."


def _posterior(seed: int, n: int = 6, k: int = 4) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, generator=g), torch.randn(n, k, generator=g)


@check("the KL term")
def kl_divergence(answer: Callable[[Tensor, Tensor], Tensor]) -> str:
    """``answer(mu, logvar)``: KL(q || N(0, I)) summed over latents and batch."""
    if float(answer(torch.zeros(3, 2), torch.zeros(3, 2))) != 0.0:
        raise Wrong("the KL of N(0, I) to itself must be 0.")
    mu, logvar = _posterior(1)
    got, want = float(answer(mu, logvar)), float(kl_to_standard_normal(mu, logvar))
    if math.isclose(got, -want, rel_tol=1e-4):
        raise Wrong("the sign is flipped: a KL divergence is never negative.")
    if math.isclose(got, want / mu.numel(), rel_tol=1e-4) or math.isclose(got, want / mu.shape[0], rel_tol=1e-4):
        raise Wrong("sum over latents and images, as the reconstruction term does (reduction='sum'); don't average.")
    if not math.isclose(got, want, rel_tol=1e-4):
        raise Wrong(f"got {got:.4f}, expected {want:.4f}: per dimension 0.5 * (mu^2 + sigma^2 - 1 - log sigma^2), with sigma^2 = exp(logvar).")
    return f"{want:.4f} on a test posterior, and 0 for the prior itself."


@check("the VAE loss")
def vae_loss(answer: Callable[..., Tensor]) -> str:
    """``answer(logits, x, mu, logvar, beta)``: summed Bernoulli NLL (from logits) + beta * KL."""
    g = torch.Generator().manual_seed(2)
    x = torch.rand(4, 1, 28, 28, generator=g)
    logits = 3 * torch.randn(4, 1, 28, 28, generator=g)
    logits[0, 0, 0, :4] = torch.tensor([-120.0, 120.0, -120.0, 120.0])  # saturated pixels
    x[0, 0, 0, :4] = torch.tensor([1.0, 0.0, 1.0, 0.0])
    mu, logvar = _posterior(3, n=4, k=8)
    recon, kl = bernoulli_nll(logits, x), kl_to_standard_normal(mu, logvar)
    for beta in (1.0, 4.0):
        got = answer(logits, x, mu, logvar, beta)
        if isinstance(got, tuple):
            got = got[0]
        got, want = float(got), float(recon + beta * kl)
        if math.isclose(got, want, rel_tol=1e-5):
            continue
        if math.isclose(got, float(recon + kl), rel_tol=1e-5):
            raise Wrong("beta is ignored: multiply the KL term by beta.")
        probs = float(F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum") + beta * kl)
        if math.isclose(got, probs, rel_tol=1e-5):
            raise Wrong("that is BCE on probabilities: saturated pixels are clamped at 100 nats. Use F.binary_cross_entropy_with_logits.")
        if math.isclose(got, float(recon) / x.numel() + beta * float(kl), rel_tol=1e-4):
            raise Wrong("the reconstruction term is averaged over pixels: use reduction='sum', as the KL is a sum.")
        raise Wrong(f"for beta = {beta} got {got:.2f}, expected {want:.2f} (summed BCE from logits + beta * KL).")
    return "summed BCE on logits plus beta times the KL, exact even where the Sigmoid saturates."


class _FakeVAE(nn.Module):
    """Records what the sampler asks of it: codes, mode and grad state."""

    latent_dim = 5

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(4.0))
        self.seen: list[tuple[Tensor, bool, bool]] = []

    def decode(self, z: Tensor) -> Tensor:
        self.seen.append((z.detach().clone(), self.training, torch.is_grad_enabled()))
        return (self.scale * z[:, :1]).reshape(-1, 1, 1, 1).expand(-1, 1, 28, 28)


@check("sampling from the prior")
def sample_prior(answer: Callable[[nn.Module, int], Tensor]) -> str:
    """``answer(model, n)``: n images from z ~ N(0, I), decoded and passed through a Sigmoid."""
    model = _FakeVAE()
    model.train()
    torch.manual_seed(0)
    images = answer(model, 4000)
    if not model.seen:
        raise Wrong("call model.decode(z) on codes z drawn from the prior.")
    z, training, grad = model.seen[-1]
    if z.shape != (4000, model.latent_dim):
        raise Wrong(f"draw z of shape (n, model.latent_dim) = (4000, 5); got {tuple(z.shape)}.")
    if not (abs(float(z.mean())) < 0.05 and math.isclose(float(z.std()), 1.0, rel_tol=0.05)):
        raise Wrong(f"z has mean {float(z.mean()):.2f} and std {float(z.std()):.2f}: the prior is N(0, I), torch.randn.")
    if training:
        raise Wrong("the model was in training mode: call model.eval() before decoding.")
    if grad:
        raise Wrong("decoding built a graph: wrap it in torch.no_grad().")
    if not isinstance(images, Tensor) or images.shape != (4000, 1, 28, 28):
        got = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise Wrong(f"return images of shape (n, 1, 28, 28); got {got}.")
    if not torch.allclose(images, torch.sigmoid(model.decode(z)).detach(), atol=1e-6):
        raise Wrong("decode returns logits: pass them through torch.sigmoid to get pixel values in [0, 1].")
    return "codes from N(0, I), decoded in eval mode without a graph, Sigmoid applied."
