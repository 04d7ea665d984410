"""Reference pieces of a variational autoencoder (chapter 5).

The notebook writes these itself, as exercises; the versions here are what
the checks compare against, what the benchmark script trains with, and what
the tests pin to hand-computed values.

Conventions: the decoder returns **logits** (pre-Sigmoid values); losses are
**sums** over pixels and latent dimensions and over the batch, so that divided
by the number of images they read as nats per image.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from aecourse.device import cpu_float64
from aecourse.train import evaluating


def reparameterize(mu: Tensor, logvar: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """A sample ``z = mu + sigma * eps`` with ``eps ~ N(0, I)``; gradients flow to mu and logvar.

    Shapes: ``mu``, ``logvar`` and the result are ``(batch, latent)``.
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)} must have one shape")
    device = generator.device if generator is not None else mu.device
    eps = torch.randn(mu.shape, generator=generator, device=device, dtype=mu.dtype).to(mu.device)
    return mu + torch.exp(0.5 * logvar) * eps


def kl_to_standard_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL( N(mu, diag(exp(logvar))) || N(0, I) ), summed over latents and batch.

    Closed form per dimension: ``0.5 * (mu**2 + sigma**2 - 1 - log sigma**2)``.
    """
    return 0.5 * torch.sum(mu.pow(2) + logvar.exp() - 1.0 - logvar)


def bernoulli_nll(logits: Tensor, x: Tensor) -> Tensor:
    """-log p(x | z) under independent Bernoulli pixels, summed (nats).

    Takes logits: ``binary_cross_entropy_with_logits`` computes
    ``softplus(l) - x * l`` without ever forming ``log(sigmoid(l))``, which
    underflows to ``log(0)`` once a Sigmoid saturates in float32.
    """
    if logits.shape != x.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and images {tuple(x.shape)} must have one shape")
    return F.binary_cross_entropy_with_logits(logits, x, reduction="sum")


@dataclass(frozen=True)
class VAELoss:
    """The negative ELBO of a batch and its two parts (all summed over the batch)."""

    total: Tensor
    reconstruction: Tensor
    kl: Tensor


def vae_loss(logits: Tensor, x: Tensor, mu: Tensor, logvar: Tensor, beta: float = 1.0) -> VAELoss:
    """Reconstruction (Bernoulli NLL) + ``beta`` x KL; ``beta=1`` is the negative ELBO."""
    reconstruction = bernoulli_nll(logits, x)
    kl = kl_to_standard_normal(mu, logvar)
    return VAELoss(reconstruction + beta * kl, reconstruction, kl)


def bce_floor(x: Tensor) -> float:
    """The BCE of a *perfect* reconstruction, in nats per image.

    For grey pixels ``0 < x < 1`` the Bernoulli cross-entropy of ``x`` with
    itself is its entropy, which is positive: no model can score below it.
    """
    x = cpu_float64(x)  # xlogy treats 0 * log 0 as 0, the limit, for black and white pixels
    entropy = -(torch.special.xlogy(x, x) + torch.special.xlogy(1 - x, 1 - x))
    return float(entropy.sum() / x.shape[0])


def evaluate_vae(model: nn.Module, x: Tensor, *, batch_size: int = 1000) -> dict[str, float]:
    """Test loss per image in nats: ``reconstruction``, ``kl`` and their sum ``neg_elbo``.

    ``model(x)`` must return ``(logits, mu, logvar)``. Runs under
    :func:`aecourse.train.evaluating` (eval mode: batch norm uses its running
    statistics; no graph; every submodule's mode restored) with one sample of
    ``z`` per image.
    """
    recon = kl = 0.0
    with evaluating(model):
        for start in range(0, x.shape[0], batch_size):
            batch = x[start : start + batch_size]
            logits, mu, logvar = model(batch)
            recon += float(bernoulli_nll(logits, batch))
            kl += float(kl_to_standard_normal(mu, logvar))
    n = x.shape[0]
    return {"reconstruction": recon / n, "kl": kl / n, "neg_elbo": (recon + kl) / n}
