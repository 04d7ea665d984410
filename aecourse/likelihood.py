"""An honest likelihood for a VAE: importance-sampled estimates of log p(x) (chapter 5).

The ELBO a VAE is trained on is a *lower bound* on log p(x), lower by
KL(q(z|x) || p(z|x)), so comparing models by their ELBOs compares bounds whose
slack nobody knows. The importance-weighted bound of Burda, Grosse and
Salakhutdinov (2016) closes that gap: with ``z_1..z_k`` drawn from the
encoder's ``q(z|x)`` and weights ``w_i = p(x|z_i) p(z_i) / q(z_i|x)``,

    L_k = log (1/k) sum_i w_i  <=  log p(x)   (in expectation, by Jensen),

``L_1`` is the ELBO, ``E[L_k]`` rises with ``k`` (the mean of k weights is the
mean of k+1 "leave-one-out" means of k, and log is concave), and ``L_k`` tends
to log p(x) as ``k`` grows, since the mean of the weights tends to
``E_q[w] = p(x)`` (the weights are an unbiased estimate of p(x); their log is
not, which is why the bound is below, by about ``Var(w) / (2 k p(x)^2)``).
Burda et al. report ``L_5000`` on dynamically binarised MNIST test images as the
test log-likelihood (in the mid-80s of nats, negative, for their one-layer VAEs).

Conventions, as in :mod:`aecourse.vae`: the decoder returns logits; values are
nats per image.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from aecourse.device import cpu_float64
from aecourse.train import evaluating

Encode = Callable[[Tensor], tuple[Tensor, Tensor]]
LogLikelihood = Callable[[Tensor, Tensor], Tensor]


def _standard_normal(shape: tuple[int, ...], like: Tensor, generator: torch.Generator | None) -> Tensor:
    """``randn`` of ``shape`` on ``like``'s device and dtype, drawn from ``generator``'s stream if given
    (a CPU generator may feed CUDA inputs: the numbers are drawn where it lives, then moved)."""
    device = generator.device if generator is not None else like.device
    return torch.randn(shape, generator=generator, device=device, dtype=like.dtype).to(like.device)


def bernoulli_log_likelihood(logits: Tensor, x: Tensor) -> Tensor:
    """log p(x | z) per image under independent Bernoulli pixels: minus the summed BCE.

    Shapes: ``logits`` and ``x`` are ``(n, ...)``; the result is ``(n,)``.
    From logits, for the reason :func:`aecourse.vae.bernoulli_nll` gives:
    ``log(sigmoid(l))`` would round to ``log 0`` where a pixel saturates.
    """
    if logits.shape != x.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and images {tuple(x.shape)} must have one shape")
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def _log_normal(z: Tensor, mean: Tensor, logvar: Tensor) -> Tensor:
    """log N(z; mean, diag(exp(logvar))), summed over the last dimension."""
    return -0.5 * ((z - mean).pow(2) * torch.exp(-logvar) + logvar + math.log(2 * math.pi)).sum(-1)


def iwae_log_likelihood(encode: Encode, log_likelihood: LogLikelihood, x: Tensor, k: int, *,
                        chunk: int = 64, generator: torch.Generator | None = None) -> Tensor:
    """The k-sample importance-weighted estimate ``L_k`` of log p(x), per image (nats).

    Shapes: ``x`` is ``(n, ...)``; ``encode(x)`` returns ``(mu, logvar)``, each ``(n, d)``,
    the Gaussian ``q(z|x) = N(mu, diag(exp(logvar)))``; ``log_likelihood(x_rep, z)``
    takes ``x_rep`` ``(m, ...)`` and codes ``z`` ``(m, d)`` and returns log p(x|z), ``(m,)``.
    The prior is ``N(0, I)``. The result is ``(n,)``, in ``x``'s dtype and on its device.

    * **Log space.** A weight is ``exp(log w)`` with ``log w`` near log p(x), hundreds of
      nats below zero for a 784-pixel image: ``exp(-500)`` is 0 in float32 (anything below
      about -103 is), so ``log(mean(exp(log w)))`` is ``log 0 = -inf``. ``logsumexp``
      subtracts the largest ``log w`` before exponentiating, so the largest term is
      ``exp(0) = 1`` and nothing underflows that matters; then ``- log k`` turns the sum
      into the mean (without it the estimate is too high by exactly ``log k``).
    * **Chunks.** The decoder sees ``chunk * n`` codes at a time; the running
      ``logsumexp`` over chunks is combined with ``logaddexp``, so memory is bounded by
      the chunk, not by ``k``. The noise ``eps`` (``k x n x d`` numbers, small next to the
      decoder's activations) is drawn up front, so the result does not depend on ``chunk``.
    * No graph is built (``torch.no_grad``). Put the model in eval mode yourself, or use
      :func:`vae_log_likelihood`, which does, and restores every submodule's mode.
    """
    if k < 1 or chunk < 1:
        raise ValueError(f"k ({k}) and chunk ({chunk}) must be positive")
    with torch.no_grad():
        mu, logvar = encode(x)
        if mu.shape != logvar.shape or mu.ndim != 2 or mu.shape[0] != x.shape[0]:
            raise ValueError(f"encode must return mu and logvar of shape (n, d); got {tuple(mu.shape)}, {tuple(logvar.shape)}")
        n, d = mu.shape
        eps = _standard_normal((k, n, d), mu, generator)
        sigma = torch.exp(0.5 * logvar)
        total = torch.full((n,), -math.inf, dtype=mu.dtype, device=mu.device)
        for e in eps.split(chunk):  # e: (c, n, d), the codes of c samples for every image
            c = e.shape[0]
            z = mu + sigma * e
            # log q(z|x) from eps itself: (z - mu) / sigma = eps exactly, no cancellation
            log_q = -0.5 * (e.pow(2) + logvar + math.log(2 * math.pi)).sum(-1)
            log_prior = -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(-1)
            x_rep = x.unsqueeze(0).expand(c, *x.shape).reshape(c * n, *x.shape[1:])
            log_px_z = log_likelihood(x_rep, z.reshape(c * n, d)).reshape(c, n)
            log_w = log_px_z + log_prior - log_q  # (c, n)
            total = torch.logaddexp(total, torch.logsumexp(log_w, dim=0))
        return total - math.log(k)


def vae_log_likelihood(model: nn.Module, x: Tensor, k: int = 5000, *, chunk: int = 50, batch_size: int = 20,
                       generator: torch.Generator | None = None) -> Tensor:
    """``L_k`` per image (nats, shape ``(n,)``) for a model shaped like chapter 5's ``ConvVAE``.

    ``model.encode(x)`` returns ``(mu, logvar)`` and ``model.decode(z)`` returns logits
    of ``x``'s shape; the pixels are Bernoulli (so ``x`` should be binary: see
    :func:`binarize`). Runs under :func:`aecourse.train.evaluating`: eval mode (batch
    norm uses its running statistics, so an image's estimate does not depend on the
    others in its batch), no graph, every submodule's mode restored afterwards.
    ``batch_size`` images at a time, ``chunk`` samples each: the decoder sees
    ``chunk * batch_size`` codes per call.
    """
    parts = []
    with evaluating(model):
        for batch in x.split(batch_size):
            parts.append(iwae_log_likelihood(
                model.encode, lambda images, z: bernoulli_log_likelihood(model.decode(z), images),
                batch, k, chunk=chunk, generator=generator))
    return torch.cat(parts)


def mean_and_standard_error(values: Tensor) -> tuple[float, float]:
    """The mean of per-image estimates and its standard error, ``std / sqrt(n)``.

    The standard error measures how much the mean would move with other test
    images (and other samples); two models whose means differ by less than a
    couple of standard errors are not told apart by this test set.
    """
    v = cpu_float64(values).flatten()
    if v.numel() < 2:
        raise ValueError("a standard error needs at least two values")
    return float(v.mean()), float(v.std() / math.sqrt(v.numel()))


def binarize(images: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Dynamic binarisation: each pixel is 1 with probability its grey value, else 0.

    Shapes: any; the result has ``images``' shape, dtype and device. A Bernoulli decoder
    is a distribution over *binary* images, so its log-likelihood is a probability only
    for binary ones (on grey images "log p(x)" is a cross-entropy, not comparable with
    the literature's numbers). Fresh draws each call (each epoch sees other binary
    images, hence "dynamic"); with a seeded ``generator`` the draw repeats.
    """
    device = generator.device if generator is not None else images.device
    u = torch.rand(images.shape, generator=generator, device=device, dtype=images.dtype).to(images.device)
    return (u < images).to(images.dtype)
