"""Checks for chapter 5: the variational autoencoder."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from aecourse.checks.core import Wrong, as_indices, as_number, backpropagate, exercise_check, check_device, probe_devices
from aecourse.device import cpu_float64
from aecourse.vae import bernoulli_nll, kl_to_standard_normal


def _tensor_result(got: object, what: str) -> Tensor:
    """``got`` as a one-number tensor, or a :class:`Wrong` that says what it is instead."""
    if isinstance(got, tuple) and got:
        got = got[0]
    if not isinstance(got, Tensor):
        raise Wrong(
            f"{what} must be a tensor, got a {type(got).__name__}: .item() or float() cuts the graph, "
            "and nothing could train through it."
        )
    if got.numel() != 1:
        raise Wrong(f"{what} must be one number, summed over images and dimensions; got shape {tuple(got.shape)}.")
    return got


def _close(got: Tensor, want: Tensor, rel: float = 1e-4) -> bool:
    return torch.allclose(got, want, rtol=rel, atol=1e-6)


@exercise_check("the reparameterisation", label="ex-ch5-reparam")
def reparameterize(answer: Callable[[Tensor, Tensor], Tensor], *, device: torch.device | str | None = None) -> str:
    """``answer(mu, logvar)`` returns ``mu + exp(logvar / 2) * eps`` with fresh ``eps ~ N(0, I)``.

    Two latent dimensions with different means and spreads, 100,000 rows: the
    noise is tested per dimension, across dimensions (independent?) and across
    calls (fresh?). Tolerances are five standard errors of that sample size.
    """
    where = check_device(device)
    torch.manual_seed(0)
    n = 100_000
    sigma = torch.tensor([3.0, 0.5])
    mu = torch.tensor([2.0, -1.0]).repeat(n, 1).to(where).requires_grad_()
    logvar = (2 * sigma.log()).repeat(n, 1).to(where).requires_grad_()
    z = answer(mu, logvar)
    if not isinstance(z, Tensor) or z.shape != mu.shape:
        got = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
        raise Wrong(f"z must have the shape of mu, {tuple(mu.shape)}; got {got}.")
    noise = (z.detach() - mu.detach()).cpu()
    if float(noise.abs().max()) < 1e-6:
        raise Wrong("z equals mu: add noise, eps * sigma with eps = torch.randn_like(mu).")
    if float(noise.std(dim=0).max()) < 1e-6:
        raise Wrong("every row got the same noise: draw eps with the shape of mu (torch.randn_like(mu)), not one row for all.")
    spread = noise.std(dim=0)
    if _close(spread, sigma**2, rel=0.05):
        raise Wrong("the spread is sigma^2, the variance: logvar is log sigma^2, so sigma = exp(logvar / 2).")
    eps = noise / sigma
    se = 1 / math.sqrt(n)
    means, stds = eps.mean(dim=0), eps.std(dim=0)
    if float(means.abs().max()) > 5 * se or float((stds - 1).abs().max()) > 5 * se / math.sqrt(2):
        shown = ", ".join(f"mean {float(m):.3f} and std {float(d):.3f}" for m, d in zip(z.detach().mean(0), z.detach().std(0)))
        said = (f"for mu = (2, -1) and sigma = (3, 0.5) the two dimensions of z have {shown}; "
                "expected mean 2 and std 3, then mean -1 and std 0.5.")
        if float((means.abs() / stds.clamp_min(1e-6)).max()) > 5 * se:  # off-centre by more than its own noise
            raise Wrong(f"{said} The noise is not centred on mu: z = mu + sigma * eps, with eps of mean 0.")
        raise Wrong(f"{said} The spread is wrong: z = mu + sigma * eps, with sigma = exp(logvar / 2) and "
                    "eps standard normal (torch.randn_like(mu)).")
    correlation = float(torch.corrcoef(eps.T)[0, 1])
    if abs(correlation) > 5 * se:
        raise Wrong(f"the two latent dimensions share their noise (correlation {correlation:.2f}): "
                    "draw eps with the shape of mu, not (n, 1).")
    again = answer(mu, logvar)
    if isinstance(again, Tensor) and torch.equal(again.detach(), z.detach()):
        raise Wrong("two calls gave the same z: the noise must be fresh on every call (do not seed inside the function).")
    if z.grad_fn is None:
        raise Wrong("no gradient reaches mu and logvar: build z from them with + and *, not by sampling (torch.normal, or Normal(...).sample()).")
    backpropagate(z.sum(), "the sample")
    if (mu.grad is None or not mu.grad.any()) and (logvar.grad is None or not logvar.grad.any()):
        raise Wrong("no gradient reaches mu and logvar: a sampler such as torch.normal(mu, sigma) or "
                    "Normal(mu, sigma).sample() cuts the path; build z = mu + sigma * eps with + and *.")
    if mu.grad is None or not torch.allclose(mu.grad, torch.ones_like(mu)):
        raise Wrong("dz/dmu should be 1: add mu itself, unscaled, and keep it in the graph.")
    if logvar.grad is None or not torch.allclose(logvar.grad.cpu(), 0.5 * noise, atol=1e-5):
        raise Wrong("the gradient does not reach logvar as it should (dz/dlogvar = eps * sigma / 2): "
                    "compute sigma from logvar inside the graph, z = mu + exp(logvar / 2) * eps.")
    probe_mu, probe_logvar = torch.zeros(4, 3, requires_grad=True), torch.zeros(4, 3, requires_grad=True)
    probe_devices(lambda: answer(probe_mu, probe_logvar), "the sample")
    return ("means (2, -1) and spreads (3, 0.5) as mu and logvar ask, noise fresh on every call and "
            "independent across dimensions, and the gradient reaches both mu and logvar.")


def _posterior(seed: int, n: int = 6, k: int = 4) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, generator=g), torch.randn(n, k, generator=g)


@exercise_check("the KL term", label="ex-ch5-kl")
def kl_divergence(answer: Callable[[Tensor, Tensor], Tensor], *, device: torch.device | str | None = None) -> str:
    """``answer(mu, logvar)``: KL(q || N(0, I)) summed over latents and batch, as a
    tensor whose gradient reaches ``mu`` and ``logvar`` (it is part of the loss).

    Any correct closed form passes (the exercise asks the student to derive one); a
    wrong one is named only where a known slip of the derivation reproduces it.
    """
    where = check_device(device)
    zero = _tensor_result(answer(torch.zeros(3, 2, device=where), torch.zeros(3, 2, device=where)), "the KL")
    if float(zero.detach()) != 0.0:
        hint = (" Here the -1 is missing: E_q[(z - mu)^2 / (2 sigma^2)] = 1/2 for every dimension."
                if math.isclose(float(zero.detach()), 0.5 * 6) else "")
        raise Wrong(f"the KL of N(0, I) to itself must be 0; for a 3 x 2 posterior equal to the prior, your "
                    f"answer gave {float(zero.detach()):.4f}.{hint}")
    first = None
    for seed, n, k in [(1, 6, 4), (5, 3, 7)]:
        mu, logvar = (t.to(where).requires_grad_() for t in _posterior(seed, n, k))
        got_tensor = _tensor_result(answer(mu, logvar), "the KL")
        m, lv = mu.detach().cpu(), logvar.detach().cpu()
        want_tensor = kl_to_standard_normal(m, lv)
        got, want = float(got_tensor.detach()), float(want_tensor)
        first = want if first is None else first
        if math.isclose(got, -want, rel_tol=1e-4):
            raise Wrong("the sign is flipped: a KL divergence is never negative.")
        if any(math.isclose(got, want / d, rel_tol=1e-4) for d in (mu.numel(), n, k)):
            raise Wrong("sum over latents and images, as the reconstruction term does (reduction='sum'); don't average.")
        if not math.isclose(got, want, rel_tol=1e-4):
            said = f"for a {n} x {k} posterior got {got:.4f}, expected {want:.4f}."
            slips = {
                "logvar is log sigma^2, not log sigma: sigma^2 = exp(logvar).":
                    0.5 * (m**2 + (2 * lv).exp() - 1 - 2 * lv).sum(),
                "E_q[z^2] is mu^2 + sigma^2: the mu^2 term is missing.": 0.5 * (lv.exp() - 1 - lv).sum(),
                "the -1 is missing: E_q[(z - mu)^2 / (2 sigma^2)] = 1/2 for every dimension.":
                    0.5 * (m**2 + lv.exp() - lv).sum(),
                "the factor 1/2 is missing: every term of the log densities carries it.":
                    (m**2 + lv.exp() - 1 - lv).sum(),
                "sigma appears where sigma^2 belongs: E_q[z^2] = mu^2 + sigma^2, with sigma^2 = exp(logvar).":
                    0.5 * (m**2 + (0.5 * lv).exp() - 1 - lv).sum(),
                "that is KL(p || q), the other direction: the VAE needs KL(q || p), an expectation under q.":
                    0.5 * ((m**2 + 1) / lv.exp() - 1 + lv).sum(),
            }
            for hint, value in slips.items():
                if math.isclose(got, float(value), rel_tol=1e-4):
                    raise Wrong(f"{said} {hint}")
            raise Wrong(f"{said} It must be 0 at mu = 0, logvar = 0, and grow as mu moves away from 0 or sigma "
                        "from 1.")
        if got_tensor.grad_fn is None:
            raise Wrong("the value is right, but it carries no gradient (detached, or computed under no_grad): "
                        "the KL is part of the loss, and training needs its gradient.")
        backpropagate(got_tensor, "the KL")
        if mu.grad is None or logvar.grad is None or not (
            _close(mu.grad.cpu(), m) and _close(logvar.grad.cpu(), 0.5 * (lv.exp() - 1))
        ):
            raise Wrong("the value is right, but its gradient does not reach both mu and logvar as the formula's "
                        "would: compute it from mu and logvar themselves, inside the graph.")
    probe_mu, probe_logvar = _posterior(7)
    probe_devices(lambda: answer(probe_mu, probe_logvar), "the KL")
    return f"{first:.4f} on a test posterior, and 0 for the prior itself."


@exercise_check("the VAE loss", label="ex-ch5-loss")
def vae_loss(answer: Callable[..., Tensor], *, device: torch.device | str | None = None) -> str:
    """``answer(logits, x, mu, logvar, beta=1.0)``: summed Bernoulli NLL (from logits) +
    beta * KL, a tensor whose gradient reaches logits, mu and logvar."""
    g = torch.Generator().manual_seed(2)
    x = torch.rand(4, 1, 28, 28, generator=g)
    logits = 3 * torch.randn(4, 1, 28, 28, generator=g)
    logits[0, 0, 0, :4] = torch.tensor([-120.0, 120.0, -120.0, 120.0])  # saturated pixels
    x[0, 0, 0, :4] = torch.tensor([1.0, 0.0, 1.0, 0.0])
    mu, logvar = _posterior(3, n=4, k=8)
    recon, kl = bernoulli_nll(logits, x), kl_to_standard_normal(mu, logvar)
    where = check_device(device)
    x_there = x.to(where)
    for beta in (1.0, 4.0, None):
        inputs = [t.clone().to(where).requires_grad_() for t in (logits, mu, logvar)]
        try:
            raw = (answer(inputs[0], x_there, inputs[1], inputs[2]) if beta is None
                   else answer(inputs[0], x_there, inputs[1], inputs[2], beta))
        except TypeError as error:
            if beta is None and "beta" in str(error):
                raise Wrong("give beta a default of 1.0: the training loop calls vae_loss(logits, x, mu, logvar).") from None
            raise
        beta = 1.0 if beta is None else beta
        total = _tensor_result(raw, "the loss")
        got, want = float(total.detach()), float(recon + beta * kl)
        if not math.isclose(got, want, rel_tol=1e-5):
            if math.isclose(got, float(recon + kl), rel_tol=1e-5):
                raise Wrong("beta is ignored: multiply the KL term by beta.")
            probs = float(F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum") + beta * kl)
            if math.isclose(got, probs, rel_tol=1e-5):
                raise Wrong("that is BCE on probabilities: saturated pixels are clamped at 100 nats. Use F.binary_cross_entropy_with_logits.")
            if math.isclose(got, float(recon) / x.numel() + beta * float(kl), rel_tol=1e-4):
                raise Wrong("the reconstruction term is averaged over pixels: use reduction='sum', as the KL is a sum.")
            swapped = float(F.binary_cross_entropy_with_logits(x, logits, reduction="sum") + beta * kl)
            if math.isclose(got, swapped, rel_tol=1e-5):
                raise Wrong("the arguments of binary_cross_entropy_with_logits are swapped: the logits come first, the images (targets) second.")
            raise Wrong(f"for beta = {beta} got {got:.2f}, expected {want:.2f} (summed BCE from logits + beta * KL).")
        if total.grad_fn is None:
            raise Wrong("the value is right, but it carries no gradient: return the tensor itself, not a detached copy.")
        backpropagate(total, "the loss")
        expected = (torch.sigmoid(logits) - x, beta * mu, beta * 0.5 * (logvar.exp() - 1))
        if any(t.grad is None or not _close(t.grad.cpu(), e) for t, e in zip(inputs, expected)):
            raise Wrong("the value is right, but its gradient does not reach the logits, mu and logvar as it should: "
                        "build the loss from those tensors, inside the graph.")
    probe_inputs = [t.clone().requires_grad_() for t in (logits, mu, logvar)]
    probe_devices(lambda: answer(probe_inputs[0], x, probe_inputs[1], probe_inputs[2]), "the loss")
    return "summed BCE on logits plus beta times the KL, exact even where the Sigmoid saturates."


class _FakeVAE(nn.Module):
    """Records what the sampler asks of it: codes, mode and grad state."""

    latent_dim = 5

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(4.0))
        self.seen: list[tuple[Tensor, bool, bool]] = []

    def decode(self, z: Tensor) -> Tensor:
        with torch.inference_mode(False):  # a plain copy, even of a tensor made under inference_mode
            codes = torch.tensor(z.detach().cpu().tolist())
        self.seen.append((codes, self.training, torch.is_grad_enabled()))
        return (self.scale * z[:, :1]).reshape(-1, 1, 1, 1).expand(-1, 1, 28, 28)


class _ProbeVAE(nn.Module):
    """A decoder for the device probe: it only multiplies the codes by its own parameter."""

    latent_dim = 5

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(5))

    def decode(self, z: Tensor) -> Tensor:
        return (z * self.scale)[:, :1].reshape(-1, 1, 1, 1).expand(-1, 1, 28, 28)


@exercise_check("sampling from the prior", label="ex-ch5-sample")
def sample_prior(answer: Callable[[nn.Module, int], Tensor], *, device: torch.device | str | None = None) -> str:
    """``answer(model, n)``: n images from z ~ N(0, I), decoded in eval mode without a graph
    and passed through a Sigmoid. Decoding in chunks, under ``torch.inference_mode()``,
    or on the model's device are all fine: every chunk is judged, in order."""
    where = check_device(device)
    for n in (4000, 7):
        model = _FakeVAE().to(where)
        model.train()
        torch.manual_seed(0)
        images = answer(model, n)
        if not model.seen:
            raise Wrong("call model.decode(z) on codes z drawn from the prior.")
        z = torch.cat([codes for codes, _, _ in model.seen])
        if z.shape != (n, model.latent_dim):
            raise Wrong(f"for n = {n} the codes decoded had shape {tuple(z.shape)}; draw z of shape (n, model.latent_dim) = ({n}, 5).")
        if any(training for _, training, _ in model.seen):
            raise Wrong("the model was in training mode: call model.eval() before decoding.")
        if any(grad for _, _, grad in model.seen):
            raise Wrong("decoding built a graph: wrap it in torch.no_grad() (or torch.inference_mode()).")
        if not isinstance(images, Tensor) or images.shape != (n, 1, 28, 28):
            got = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
            raise Wrong(f"for n = {n} return images of shape ({n}, 1, 28, 28); got {got}.")
        with torch.no_grad():
            decoded = torch.sigmoid(_FakeVAE().decode(z))  # a fresh copy: the student's model keeps its record
        images = images.detach().cpu()
        if not torch.allclose(images, decoded, atol=1e-6):
            if torch.allclose(images, torch.sigmoid(decoded), atol=1e-6) or float(images.min()) < 0:
                raise Wrong("decode returns logits: pass them through torch.sigmoid once to get pixel values in [0, 1].")
            raise Wrong("the images are not torch.sigmoid(model.decode(z)) of the codes that were decoded.")
        if n < 100:
            continue
        se = 1 / math.sqrt(n)
        means, stds = z.mean(dim=0), z.std(dim=0)
        if float(means.abs().max()) > 5 * se or float((stds - 1).abs().max()) > 5 * se / math.sqrt(2) + 0.01:
            raise Wrong(f"z has means {[round(float(m), 2) for m in means]} and stds {[round(float(d), 2) for d in stds]} "
                        "per dimension: the prior is N(0, I), torch.randn.")
        correlation = torch.corrcoef(z.T) - torch.eye(model.latent_dim)
        if float(correlation.abs().max()) > 5 * se:
            raise Wrong(f"the latent dimensions are correlated (up to {float(correlation.abs().max()):.2f}): draw each "
                        "of the n x latent_dim numbers independently, torch.randn(n, model.latent_dim).")
    probe_model = _ProbeVAE()
    probe_devices(lambda: answer(probe_model, 3), "sampling")
    return "codes from N(0, I), decoded in eval mode without a graph, Sigmoid applied."


# -- diagnosing: which latent dimensions the model uses -------------------------------

def _codes(variances: list[float], n: int, seed: int) -> Tensor:
    """Posterior means of ``n`` images whose spread across images is ``variances`` per dimension,
    each dimension with a mean far from 0 (so a test on the mean, not the spread, shows)."""
    g = torch.Generator().manual_seed(seed)
    spread = torch.tensor(variances).sqrt()
    offset = torch.linspace(-1.5, 1.5, len(variances))
    return offset + spread * torch.randn(n, len(variances), generator=g)


@exercise_check("the active latent dimensions", label="ex-ch5-active")
def active_dims(answer: Callable[[Tensor], object], *, device: torch.device | str | None = None) -> str:
    """``answer(mu)``: the dimensions whose posterior mean varies across images, variance above 0.01.

    ``mu`` is ``(N, latent_dim)``, one row per image. Accepted: sorted indices as a
    list or tensor, or a boolean mask. The spreads are chosen far from the threshold
    on either side, so a population (1/N) or sample (1/(N-1)) variance both pass.
    """
    where = check_device(device)
    cases = (([0.5, 0.001, 0.05, 0.004, 2.0, 0.0], 3000, 0), ([0.0002, 0.3, 0.0001], 500, 1), ([0.002] * 4, 800, 2))
    for variances, n, seed in cases:
        mu = _codes(variances, n, seed)
        k = len(variances)
        got_raw = answer(mu.clone().to(where))
        got = as_indices(got_raw, mask_length=k)
        if got is None:
            raise Wrong(f"return the indices of the active dimensions (a list or a tensor of ints), or a boolean "
                        f"mask of length latent_dim; got {type(got_raw).__name__}"
                        f"{' of floats' if isinstance(got_raw, Tensor) and got_raw.is_floating_point() else ''}.")
        want = [d for d in range(k) if float(mu[:, d].var()) > 0.01]
        if sorted(got) == want:
            continue
        if any(not 0 <= i < k for i in got):
            raise Wrong(f"for codes of {n} images x {k} dimensions your answer gave {len(got)} indices, some outside "
                        f"0..{k - 1}: the variance was taken across dimensions (dim=1), one number per image; take "
                        "it over images (dim=0), one number per dimension.")
        said = (f"for codes whose spread across {n} images is {variances} per dimension, the active dimensions are "
                f"{want}; your answer gave {sorted(got)}.")
        known = {
            "That tests the mean of each dimension, not how much it varies from image to image: take the "
            "variance over images (dim=0).": [d for d in range(k) if abs(float(mu[:, d].mean())) > 0.01],
            "That tests the standard deviation against 0.01: the threshold is on the variance.":
                [d for d in range(k) if float(mu[:, d].std()) > 0.01],
            "Those are the inactive dimensions: active means variance above the threshold.":
                [d for d in range(k) if float(mu[:, d].var()) <= 0.01],
        }
        for hint, value in known.items():
            if sorted(got) == value:
                raise Wrong(f"{said} {hint}")
        raise Wrong(said)
    probe_mu = _codes([0.5, 0.001], 50, 3)
    probe_devices(lambda: answer(probe_mu), "the diagnosis")
    return "the dimensions whose mean code varies across images (variance above 0.01), as Burda et al. define activity."


# -- an honest likelihood: importance-weighted estimates of log p(x) -------------------

_GRID = 2001  # points of the encoder's grid over z in [-6, 6]; the check's exact values use a finer one


class _LikelihoodVAE(nn.Module):
    """A VAE shaped like the chapter's, small enough that its log p(x) is known exactly.

    One latent dimension, z ~ N(0, 1), and 784 Bernoulli pixels with logits
    ``a * z + c`` (``decode`` returns them as ``(m, 1, 28, 28)``), so p(x) is a 1-D
    integral. ``encode`` returns a Gaussian q(z|x) that is deliberately imperfect: the
    exact posterior's mean moved up by 1.5 posterior standard deviations, its variance
    four times too large (the posterior is computed on a grid). With it the ELBO is
    about 1.7 nats below log p(x), and importance weighting closes the gap. Records the
    mode and grad state of every call and the first two moments of the decoded codes.
    """

    latent_dim = 1

    def __init__(self, a: Tensor, c: Tensor) -> None:
        super().__init__()
        self.a, self.c = nn.Parameter(a.clone()), nn.Parameter(c.clone())
        self.register_buffer("grid", torch.linspace(-6.0, 6.0, _GRID))
        self.states: list[tuple[bool, bool]] = []
        self.codes = [0, 0.0, 0.0]  # count, sum, sum of squares

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        self.states.append((self.training, torch.is_grad_enabled()))
        with torch.no_grad():
            logits = self.grid[:, None] * self.a + self.c  # (grid, 784)
            log_joint = x.flatten(1) @ logits.T - F.softplus(logits).sum(1) - 0.5 * self.grid**2
            posterior = torch.softmax(log_joint, dim=1)
            mean = posterior @ self.grid
            var = (posterior @ self.grid**2 - mean**2).clamp_min(1e-6)
        mu = (mean + 1.5 * var.sqrt()).unsqueeze(1) + 0 * self.a[0]  # in the graph, as an encoder's output is
        return mu, torch.log(4 * var).unsqueeze(1) + 0 * self.a[0]

    def decode(self, z: Tensor) -> Tensor:
        if z.ndim != 2 or z.shape[1] != 1:
            raise ValueError(f"decode takes codes of shape (m, latent_dim) = (m, 1), like the chapter's ConvVAE; "
                             f"got {tuple(z.shape)}")
        self.states.append((self.training, torch.is_grad_enabled()))
        flat = z.detach().flatten()
        self.codes[0] += flat.numel()
        self.codes[1] += float(flat.sum())
        self.codes[2] += float(flat.pow(2).sum())
        return (z * self.a + self.c).reshape(-1, 1, 28, 28)


class _ProbeLikelihoodVAE(nn.Module):
    """For the device probe: encode and decode only multiply by the model's own parameters."""

    latent_dim = 1

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.full((784, 1), 0.01))

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = x.flatten(1) @ self.weight
        return h, 0 * h - 1

    def decode(self, z: Tensor) -> Tensor:
        return (z @ self.weight.T).reshape(-1, 1, 28, 28)


def _likelihood_problem(n: int = 32) -> tuple[Tensor, Tensor, Tensor]:
    """``(a, c, x)``: the model's parameters and ``n`` binary images, drawn from the model at
    codes 1.8..3 with 10% to 25% of their pixels flipped, so that log p(x) is -400 to -500 nats."""
    g = torch.Generator().manual_seed(17)
    a = 1.5 * torch.randn(784, generator=g)
    c = 0.4 * torch.randn(784, generator=g)
    z = torch.linspace(1.8, 3.0, n)
    x = (torch.rand(n, 784, generator=g) < torch.sigmoid(z[:, None] * a + c)).float()
    flip = torch.rand(n, 784, generator=g) < torch.linspace(0.1, 0.25, n)[:, None]
    return a, c, torch.where(flip, 1 - x, x).reshape(n, 1, 28, 28)


def _exact_log_integrals(a: Tensor, c: Tensor, x: Tensor, mu: Tensor, logvar: Tensor) -> dict[str, Tensor]:
    """Per image, by integrating over z on a fine grid (float64, CPU): log p(x), the ELBO of
    q = N(mu, exp(logvar)), and what the estimate tends to with a term of log w left out."""
    a, c, x = cpu_float64(a), cpu_float64(c), cpu_float64(x).flatten(1)
    mu, var = cpu_float64(mu).flatten()[:, None], cpu_float64(logvar).exp().flatten()[:, None]
    grid = torch.linspace(-8.0, 8.0, 4001, dtype=a.dtype)
    log_dz = math.log(float(grid[1] - grid[0]))
    logits = grid[:, None] * a + c
    log_lik = x @ logits.T - F.softplus(logits).sum(1)  # (n, grid): log p(x|z)
    log_prior = -0.5 * (grid**2 + math.log(2 * math.pi))
    log_q = -0.5 * ((grid - mu) ** 2 / var + var.log() + math.log(2 * math.pi))
    q = torch.exp(log_q + log_dz)
    return {
        "exact": torch.logsumexp(log_lik + log_prior, 1) + log_dz,
        "elbo": (q * (log_lik + log_prior - log_q)).sum(1),
        "no_log_q": torch.logsumexp(log_lik + log_prior + log_q, 1) + log_dz,  # log E_q[p(x|z) p(z)]
        "no_log_prior": torch.logsumexp(log_lik, 1) + log_dz,  # log E_q[p(x|z) / q(z|x)]
    }


def _estimates(got: object, n: int, k: int) -> Tensor:
    """The answer's result as ``n`` float64 numbers on the CPU, or a :class:`Wrong` that says why not."""
    if isinstance(got, (list, tuple)) and got and all(isinstance(g, Tensor) and g.numel() == 1 for g in got):
        got = torch.stack([g.detach().cpu().reshape(()) for g in got])  # one tensor per image
    elif isinstance(got, (list, tuple)) and got and all(as_number(g) is not None for g in got):
        got = torch.tensor([as_number(g) for g in got])  # .tolist(), or floats one by one
    elif type(got).__module__ == "numpy":
        got = torch.as_tensor(got)
    if not isinstance(got, Tensor) or not got.is_floating_point():
        raise Wrong(f"return one estimate per image, a float tensor of shape (n,); got {type(got).__name__}"
                    f"{' of ' + str(got.dtype) if isinstance(got, Tensor) else ''}.")
    if got.numel() != n:
        what = "one number: per image, please, not their mean or sum" if got.numel() == 1 else f"shape {tuple(got.shape)}"
        raise Wrong(f"for {n} images and k = {k} your answer returned {what}; return one estimate per image, shape ({n},).")
    return cpu_float64(got).flatten()


@exercise_check("the importance-weighted log-likelihood", label="ex-ch5-iwae")
def importance_log_likelihood(answer: Callable[[nn.Module, Tensor, int], Tensor], *,
                              device: torch.device | str | None = None) -> str:
    """``answer(model, x, k)``: per image, ``logsumexp_i(log w_i) - log k`` with ``z_i ~ q(z|x)`` and
    ``log w = log p(x|z) + log p(z) - log q(z|x)``, the model in eval mode, without a graph.

    The model (:class:`_LikelihoodVAE`) has a 1-D latent, so its log p(x) is integrated
    exactly; its images have log p(x) of -400 to -500 nats, where the weights themselves
    underflow in float32. Any stable way of averaging the weights passes (logsumexp, the
    max subtracted by hand, chunks of samples combined with logaddexp); each slip below
    is named by what its estimate tends to, computed on the same grid.
    """
    where = check_device(device)
    a, c, x = _likelihood_problem()
    n = x.shape[0]
    model = _LikelihoodVAE(a, c).to(where)
    x_there = x.to(where)
    with torch.no_grad():
        mu, logvar = model.encode(x_there)
    want = _exact_log_integrals(a, c, x, mu, logvar)
    exact, elbo = want["exact"], float(want["elbo"].mean())
    said = (f"for {n} binary images whose log p(x) is {float(exact.max()):.0f} to {float(exact.min()):.0f} nats "
            f"(integrated exactly: the test model has a 1-D latent)")
    results = {}
    for k in (1000, 10):
        model.train()
        model.states.clear()
        model.codes = [0, 0.0, 0.0]
        torch.manual_seed(k)
        got = _estimates(answer(model, x_there, k), n, k)
        results[k] = got
        if not model.states:
            raise Wrong("call model.encode(x) for q(z|x), and model.decode(z) for the logits of p(x|z).")
        if any(training for training, _ in model.states):
            raise Wrong("the model was in training mode: call model.eval() first (the chapter's ConvVAE has batch "
                        "norm, which in training mode would normalise with the statistics of the batch of copies "
                        "of x, and change every estimate).")
        if any(grad for _, grad in model.states):
            raise Wrong("the model built a graph: wrap the estimate in torch.no_grad() (or torch.inference_mode()). "
                        "With k = 5000 samples a graph through the decoder holds thousands of decoded images.")
        bad = int((~torch.isfinite(got)).sum())
        if bad:
            raise Wrong(f"{said}, with k = {k} your answer gave {bad} estimates that are not finite "
                        f"(e.g. {float(got[~torch.isfinite(got)][0])}). Here log w is about -450, and exp(-450) is 0 "
                        "in float32 (anything below about exp(-103) is), so the log of a mean of exp(log w) is "
                        "log 0 = -inf. Average the weights in log space: torch.logsumexp(log_w, dim=0) - "
                        "math.log(k), which subtracts the largest log w before exponentiating.")
        count, total, squares = model.codes
        if count >= 100:
            mean = total / count
            std = math.sqrt(max(squares / count - mean**2, 0.0))
            if abs(mean) < 0.3 and 0.7 < std < 1.3:
                centre = float(mu.mean())
                raise Wrong(f"the codes you decoded have mean {mean:.2f} and standard deviation {std:.2f}: they "
                            f"are draws from the prior N(0, 1), while q(z|x) puts these images' codes near "
                            f"{centre:.2f}. Draw them from the encoder's q: mu, logvar = model.encode(x), "
                            "z = mu + exp(logvar / 2) * eps, and weight by p(z) / q(z|x). From the prior, almost "
                            "no sample lands where p(x|z) is large once the latent has more than a few dimensions.")
        if k == 1000:
            diff = got - exact
            off = float(diff.mean())
            if abs(off) < 0.1 and float(diff.abs().max()) < 0.5:
                continue
            shown = f"{said}, your estimates with k = {k} average {float(got.mean()):.2f}; log p(x) averages {float(exact.mean()):.2f}."
            if abs(off - math.log(k)) < 0.15:
                raise Wrong(f"{shown} That is {off:.2f} nats too high, log k = log {k} = {math.log(k):.2f}: the sum "
                            "of the weights is not divided by k. torch.logsumexp(log_w, dim=0) - math.log(k) is the "
                            "log of their mean.")
            if abs(float((got - want["no_log_q"]).mean())) < 0.15:
                raise Wrong(f"{shown} That is what log w = log p(x|z) + log p(z) gives: the - log q(z|x) term is "
                            "missing (the density, under N(mu, exp(logvar)), of the z you drew).")
            if abs(float((got - want["no_log_prior"]).mean())) < 0.15:
                raise Wrong(f"{shown} That is what log w = log p(x|z) - log q(z|x) gives: the + log p(z) term, the "
                            "prior N(0, I) density of z, is missing.")
            noise = float((got - want["elbo"]).std()) / math.sqrt(n)
            if abs(float(got.mean()) - elbo) < 4 * noise + 0.15:
                raise Wrong(f"{shown} That is the ELBO of the encoder's q ({elbo:.2f}, within the noise of your "
                            "estimates), not log p(x): averaging the "
                            "log weights over samples (or using one sample) estimates the ELBO whatever k is. Average "
                            "the weights themselves, in log space: torch.logsumexp(log_w, dim=0) - math.log(k).")
            raise Wrong(f"{shown} Per image, log w = log p(x|z) + log p(z) - log q(z|x) with z ~ q(z|x), and the "
                        "estimate is logsumexp over the k samples minus log k.")
        if float(got.mean()) < elbo - 0.3:
            raise Wrong(f"{said}, your estimates with k = {k} average {float(got.mean()):.2f}, below the ELBO of the "
                        f"encoder's q ({elbo:.2f}); with samples from q the estimate is at or above the ELBO on "
                        "average for every k. Draw z from q(z|x) and weight by p(z) / q(z|x).")
    probe_model = _ProbeLikelihoodVAE()
    probe_devices(lambda: answer(probe_model, x[:3], 4), "the estimate")
    gap = float((exact - want["elbo"]).mean())
    return (f"with k = 1000 your estimates are within {float((results[1000] - exact).abs().max()):.3f} nats of the "
            f"exact log p(x) of every test image (about {float(exact.mean()):.0f} nats, where exp(log w) underflows), "
            f"{gap:.2f} nats above the ELBO of an imperfect q; k = 10 averages "
            f"{float(results[10].mean() - exact.mean()):+.2f}.")


# -- where the student stands --------------------------------------------------------------

from aecourse.checks.core import Note, show_hint as hint  # noqa: E402  check.hint("ex-ch5-...")
from aecourse.checks.core import progress as _progress  # noqa: E402


def progress() -> Note:
    """Which of this chapter's exercises pass in this kernel, from their checks' last verdicts:
    the chapter's last cell shows it."""
    return _progress(__name__)
