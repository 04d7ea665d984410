"""Checks for chapter 5: the variational autoencoder."""

from __future__ import annotations

import contextlib
import inspect
import math
import sys
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from aecourse.checks.core import (
    Wrong,
    as_indices,
    as_number,
    backpropagate,
    check_device,
    exercise_check,
    left_as_found,
    probe_devices,
)
from aecourse.device import cpu_float64
from aecourse.vae import bernoulli_nll, kl_to_standard_normal


def _tensor_result(got: object, what: str) -> Tensor:
    """``got`` as a one-number tensor, or a :class:`Wrong` that says what it is instead."""
    if isinstance(got, (tuple, list)):
        raise Wrong(f"{what} must be one tensor, not a {type(got).__name__} of {len(got)} things: the chapter's "
                    "code adds it, scales it and calls .backward() on it.")
    if not isinstance(got, Tensor):
        raise Wrong(
            f"{what} must be a tensor, got a {type(got).__name__}: a Python number carries no gradient, "
            "and nothing could train through it."
        )
    if got.numel() != 1:
        raise Wrong(f"{what} must be one number, summed over images and dimensions; got shape {tuple(got.shape)}.")
    return got


def _close(got: Tensor, want: Tensor, rel: float = 1e-4) -> bool:
    return torch.allclose(got, want, rtol=rel, atol=1e-6)


def _accepts(answer: Callable[..., object], count: int) -> bool | None:
    """Whether ``answer`` can be called with ``count`` positional arguments (None: cannot tell)."""
    try:
        inspect.signature(answer).bind(*range(count))
    except TypeError:
        return False
    except ValueError:  # no signature to read (some builtins)
        return None
    return True


@contextlib.contextmanager
def _inputs_kept(**tensors: Tensor) -> Iterator[None]:
    """Reject an answer that writes into the tensors it was given (values, dtype, shape, device).

    Like :func:`~aecourse.checks.core.left_as_found`, but it writes a tensor back only when the
    answer changed it: these inputs are saved for the backward pass the check runs next, and
    even an identical write-back would bump their version, so that backward would fail.
    """
    before = {name: (t.detach().clone(), t.dtype, t.shape, t.device) for name, t in tensors.items()}
    yield
    for name, t in tensors.items():
        saved, dtype, shape, where = before[name]
        if t.dtype != dtype or t.shape != shape or t.device != where or not torch.equal(t.detach(), saved):
            with torch.no_grad():
                t.data = saved
            raise Wrong(f"your answer changed the values of {name} in place (an in-place operation such as add_, "
                        "mul_, clamp_, x[...] = or x += wrote into the tensor it was given). It must leave its "
                        "arguments as it found them.")


# -- the reparameterisation ---------------------------------------------------------------

@exercise_check(
    "the reparameterisation", label="ex-ch5-reparam",
    hint="z = mu + sigma * eps, where sigma = exp(logvar / 2) is computed from logvar inside the graph and "
         "eps is standard normal noise with the shape of mu, drawn afresh on every call (torch.randn_like(mu)). "
         "A sampler such as torch.normal(mu, sigma) or Normal(mu, sigma).sample() gives the right numbers but "
         "no gradient.",
)
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
    with _inputs_kept(mu=mu, logvar=logvar):
        z = answer(mu, logvar)
    if not isinstance(z, Tensor) or z.shape != mu.shape:
        got = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
        raise Wrong(f"z must have the shape of mu, {tuple(mu.shape)}; got {got}.")
    noise = (z.detach() - mu.detach()).cpu()
    if float(noise.abs().max()) < 1e-6:
        raise Wrong("z equals mu: it has no noise in it, so for sigma = (3, 0.5) it does not spread around mu at all.")
    if float(noise.std(dim=0).max()) < 1e-6:
        raise Wrong("every row of z - mu is the same: all the images share one draw of the noise, where each "
                    "needs a sample of its own.")
    spread = noise.std(dim=0)
    if _close(spread, sigma**2, rel=0.05):
        raise Wrong("for sigma = (3, 0.5) the two dimensions of z spread by 9 and 0.25 around mu, sigma squared: "
                    "logvar is log sigma^2, so the spread it asks for is sigma = exp(logvar / 2).")
    eps = noise / sigma
    se = 1 / math.sqrt(n)
    means, stds = eps.mean(dim=0), eps.std(dim=0)
    if float(means.abs().max()) > 5 * se or float((stds - 1).abs().max()) > 5 * se / math.sqrt(2):
        shown = ", ".join(f"mean {float(m):.3f} and std {float(d):.3f}" for m, d in zip(z.detach().mean(0), z.detach().std(0)))
        said = (f"for mu = (2, -1) and sigma = (3, 0.5) the two dimensions of z have {shown}; "
                "expected mean 2 and std 3, then mean -1 and std 0.5.")
        if float((means.abs() / stds.clamp_min(1e-6)).max()) > 5 * se:  # off-centre by more than its own noise
            raise Wrong(f"{said} The samples are not centred on mu: the noise must have mean 0.")
        raise Wrong(f"{said} The spread is wrong: the noise must be standard normal, scaled by sigma.")
    correlation = float(torch.corrcoef(eps.T)[0, 1])
    if abs(correlation) > 5 * se:
        raise Wrong(f"the two latent dimensions share their noise (correlation {correlation:.2f}): each entry of z "
                    "needs a draw of its own.")
    with _inputs_kept(mu=mu, logvar=logvar):
        again = answer(mu, logvar)
    if isinstance(again, Tensor) and torch.equal(again.detach(), z.detach()):
        raise Wrong("two calls gave the same z: the noise must be fresh on every call.")
    if z.grad_fn is None:
        raise Wrong("z carries no gradient: when the loss back-propagates, nothing reaches mu and logvar, so the "
                    "encoder could not learn.")
    backpropagate(z.sum(), "the sample")
    if (mu.grad is None or not mu.grad.any()) and (logvar.grad is None or not logvar.grad.any()):
        raise Wrong("no gradient reaches mu and logvar: z has the right numbers, but it was sampled in a way that "
                    "cuts the path from z back to them, so the encoder could not learn.")
    if mu.grad is None or not torch.allclose(mu.grad, torch.ones_like(mu)):
        raise Wrong("dz/dmu should be 1: moving mu by a step should move z by the same step, and here it does not.")
    if logvar.grad is None or not torch.allclose(logvar.grad.cpu(), 0.5 * noise, atol=1e-5):
        raise Wrong("the gradient does not reach logvar as it should (dz/dlogvar = eps * sigma / 2): z changes "
                    "with logvar, but not through sigma = exp(logvar / 2).")
    probe_mu, probe_logvar = torch.zeros(4, 3, requires_grad=True), torch.zeros(4, 3, requires_grad=True)
    probe_devices(lambda: answer(probe_mu, probe_logvar), "the sample")
    return ("means (2, -1) and spreads (3, 0.5) as mu and logvar ask, noise fresh on every call and "
            "independent across dimensions, and the gradient reaches both mu and logvar.")


# -- the KL term, to a prior of any spread -----------------------------------------------

def _posterior(seed: int, n: int = 6, k: int = 4) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, generator=g), torch.randn(n, k, generator=g)


def _kl_to(mu: Tensor, logvar: Tensor, s: float) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, s^2)), summed, in float64: the check's own reference."""
    m, lv = cpu_float64(mu), cpu_float64(logvar)
    return 0.5 * (m.pow(2) / s**2 + lv.exp() / s**2 - 1 - lv + 2 * math.log(s)).sum()


def _kl_slips(m: Tensor, lv: Tensor, s: float) -> dict[str, Tensor]:
    """What the usual slips of the derivation give, for q = N(m, exp(lv)) and p = N(0, s^2): each
    keyed by the sentence that names it (reproduced, so the sentence is true of an answer matching it)."""
    m, lv = cpu_float64(m), cpu_float64(lv)
    v, s2, log_s2 = lv.exp(), s**2, 2 * math.log(s)
    slips = {
        "logvar is log sigma^2, not log sigma: sigma^2 = exp(logvar).":
            0.5 * (m**2 / s2 + (2 * lv).exp() / s2 - 1 - 2 * lv + log_s2),
        "E_q[z^2] is mu^2 + sigma^2: the mu^2 term is missing.": 0.5 * (v / s2 - 1 - lv + log_s2),
        "the -1 is missing: E_q[(z - mu)^2 / (2 sigma^2)] = 1/2 for every dimension.":
            0.5 * (m**2 / s2 + v / s2 - lv + log_s2),
        "the factor 1/2 is missing: every term of the log densities carries it.":
            (m**2 / s2 + v / s2 - 1 - lv + log_s2),
        "sigma appears where sigma^2 belongs: E_q[z^2] = mu^2 + sigma^2, with sigma^2 = exp(logvar).":
            0.5 * (m**2 / s2 + (0.5 * lv).exp() / s2 - 1 - lv + log_s2),
        "that is KL(p || q), the other direction: the VAE needs KL(q || p), an expectation under q.":
            0.5 * ((m**2 + s2) / v - 1 + lv - log_s2),
    }
    if s != 1.0:  # an answer judged here has passed s = 1: only a slip in the prior's spread is left
        slips = {
            "the prior's log-density has a log s term (from its normaliser, 1 / (s sqrt(2 pi))), and it is "
            "missing here.": 0.5 * (m**2 / s2 + v / s2 - 1 - lv),
            "the log s term has the wrong factor: -log p(z) holds log s once, and the 1/2 in front of the sum "
            "turns log s^2 into it.": 0.5 * (m**2 / s2 + v / s2 - 1 - lv + math.log(s)),
            "mu^2 is not divided by s^2: E_q[z^2] = mu^2 + sigma^2, and the prior divides all of it by 2 s^2.":
                0.5 * (m**2 + v / s2 - 1 - lv + log_s2),
            "sigma^2 is not divided by s^2: E_q[z^2] = mu^2 + sigma^2, and the prior divides all of it by 2 s^2.":
                0.5 * (m**2 / s2 + v - 1 - lv + log_s2),
            "the squares are divided by s where the prior's variance s^2 belongs.":
                0.5 * (m**2 / s + v / s - 1 - lv + log_s2),
            "prior_std is the prior's standard deviation s; your answer reads it as the variance s^2.":
                0.5 * (m**2 / s + v / s - 1 - lv + math.log(s)),
            "that ignores prior_std: it is the KL to N(0, 1) whatever the prior's spread.":
                0.5 * (m**2 + v - 1 - lv),
        }
    return {hint: value.sum() for hint, value in slips.items()}


def _call_kl(answer: Callable[..., Tensor], mu: Tensor, logvar: Tensor, s: float | None) -> object:
    with _inputs_kept(mu=mu, logvar=logvar):
        return answer(mu, logvar) if s is None else answer(mu, logvar, s)


@exercise_check(
    "the KL term", label="ex-ch5-kl",
    hint="Per dimension, KL = E_q[log q(z) - log p(z)] with log q(z) = -log sigma - log sqrt(2 pi) - "
         "(z - mu)^2 / (2 sigma^2) and log p(z) = -log s - log sqrt(2 pi) - z^2 / (2 s^2). Under q, "
         "E[(z - mu)^2] = sigma^2 and E[z^2] = mu^2 + sigma^2; sigma^2 = exp(logvar). Sum the result over every "
         "entry of mu (latents and images), and keep it a tensor built from mu and logvar.",
)
def kl_divergence(answer: Callable[..., Tensor], *, device: torch.device | str | None = None) -> str:
    """``answer(mu, logvar, prior_std=1.0)``: KL(N(mu, diag exp(logvar)) || N(0, prior_std^2 I)), summed
    over latents and batch, as a tensor whose gradient reaches ``mu`` and ``logvar`` (it is part of the loss).

    Judged at ``prior_std`` left to its default (the chapter's prior N(0, I)) and at 2 and 0.5.
    Any correct closed form passes (the exercise asks the student to derive one); a wrong one is
    named only where a known slip of the derivation reproduces it.
    """
    where = check_device(device)
    if _accepts(answer, 2) is False:
        raise Wrong("give prior_std a default of 1.0: the chapter calls kl_divergence(mu, logvar) for its prior "
                    "N(0, I).")
    if _accepts(answer, 3) is False:
        raise Wrong("kl_divergence must take the prior's standard deviation as a third argument, "
                    "kl_divergence(mu, logvar, prior_std).")
    first = None
    for s in (None, 2.0, 0.5):
        spread = 1.0 if s is None else s
        written = "prior_std left to its default" if s is None else f"prior_std = {s:g}"
        mu0 = torch.zeros(3, 2, device=where)
        logvar0 = torch.full((3, 2), 2 * math.log(spread), device=where)
        zero = _tensor_result(_call_kl(answer, mu0, logvar0, s), "the KL")
        if abs(float(zero.detach())) > 1e-4:
            said = (f"with {written}, for a 3 x 2 posterior equal to the prior (mu = 0, sigma = {spread:g}) your "
                    f"answer gave {float(zero.detach()):.4f}; the KL of a distribution to itself is 0.")
            for hint, value in _kl_slips(mu0.cpu(), logvar0.cpu(), spread).items():
                if math.isclose(float(zero.detach()), float(value), rel_tol=1e-4, abs_tol=1e-5):
                    raise Wrong(f"{said} Here {hint}")
            raise Wrong(said)
        for seed, n, k in [(1, 6, 4), (5, 3, 7)]:
            mu, logvar = (t.to(where).requires_grad_() for t in _posterior(seed, n, k))
            got_tensor = _tensor_result(_call_kl(answer, mu, logvar, s), "the KL")
            m, lv = mu.detach().cpu(), logvar.detach().cpu()
            want = float(_kl_to(m, lv, spread))
            got = float(got_tensor.detach())
            first = want if first is None else first
            said = f"with {written}, for a {n} x {k} posterior your answer gave {got:.4f}, expected {want:.4f}."
            if math.isclose(got, -want, rel_tol=1e-4):
                raise Wrong(f"{said} The sign is flipped: a KL divergence is never negative.")
            if any(math.isclose(got, want / d, rel_tol=1e-4) for d in (mu.numel(), n, k)):
                raise Wrong(f"{said} That is an average: the KL must be summed over latents and images, as the "
                            "reconstruction term is.")
            if not math.isclose(got, want, rel_tol=1e-4):
                for hint, value in _kl_slips(m, lv, spread).items():
                    if math.isclose(got, float(value), rel_tol=1e-4):
                        raise Wrong(f"{said} Here {hint}")
                raise Wrong(f"{said} The KL must be 0 when q is the prior, and grow as mu moves away from 0 or "
                            "sigma away from the prior's spread.")
            if got_tensor.grad_fn is None:
                raise Wrong("the value is right, but it carries no gradient (detached, or computed under no_grad): "
                            "the KL is part of the loss, and training needs its gradient.")
            backpropagate(got_tensor, "the KL")
            if mu.grad is None or logvar.grad is None or not (
                _close(mu.grad.cpu(), m / spread**2) and _close(logvar.grad.cpu(), 0.5 * (lv.exp() / spread**2 - 1))
            ):
                raise Wrong("the value is right, but its gradient does not reach both mu and logvar as the "
                            "formula's would: it must be computed from mu and logvar themselves, inside the graph.")
    probe_mu, probe_logvar = _posterior(7)
    probe_devices(lambda: answer(probe_mu, probe_logvar), "the KL")
    probe_devices(lambda: answer(probe_mu, probe_logvar, 2.0), "the KL")
    return (f"{first:.4f} on a test posterior, 0 for the prior itself, and right for priors N(0, 4) and "
            "N(0, 0.25) too. Your formula depends on mu / s and sigma / s only: a prior N(0, s^2) is N(0, I) "
            "with the codes rescaled by s.")


# -- the loss -----------------------------------------------------------------------------

@exercise_check(
    "the VAE loss", label="ex-ch5-loss",
    hint="F.binary_cross_entropy_with_logits(logits, x, reduction='sum') is the summed Bernoulli negative "
         "log-likelihood, exact for any logit; add beta * kl_divergence(mu, logvar), and return the tensor.",
)
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
            with _inputs_kept(x=x_there):
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
            said = f"for beta = {beta:g} your loss is {got:.2f}, expected {want:.2f}."
            if math.isclose(got, float(recon + kl), rel_tol=1e-5):
                raise Wrong(f"{said} It is the same as for beta = 1: beta does not weigh the KL term.")
            probs = float(F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum") + beta * kl)
            if math.isclose(got, probs, rel_tol=1e-5):
                raise Wrong(f"{said} Four pixels of the test batch have logits of -120 and +120 on the wrong side, "
                            "and your loss charges each 100 nats where the exact cost is 120: that is BCE on "
                            "Sigmoid probabilities, which PyTorch clamps at 100 nats (and whose gradient there is 0).")
            if math.isclose(got, float(recon) / x.numel() + beta * float(kl), rel_tol=1e-4):
                raise Wrong(f"{said} The reconstruction term is averaged over pixels and images, while the KL is a "
                            "sum: it must be summed too.")
            swapped = float(F.binary_cross_entropy_with_logits(x, logits, reduction="sum") + beta * kl)
            if math.isclose(got, swapped, rel_tol=1e-5):
                raise Wrong(f"{said} That is the BCE with the images as logits and the logits as targets: the "
                            "two arguments are swapped.")
            raise Wrong(f"{said} The loss is the Bernoulli negative log-likelihood of x under the logits, summed, "
                        "plus beta times the KL.")
        if total.grad_fn is None:
            raise Wrong("the value is right, but it carries no gradient: nothing could train through a detached copy.")
        backpropagate(total, "the loss")
        expected = (torch.sigmoid(logits) - x, beta * mu, beta * 0.5 * (logvar.exp() - 1))
        if any(t.grad is None or not _close(t.grad.cpu(), e) for t, e in zip(inputs, expected)):
            raise Wrong("the value is right, but its gradient does not reach the logits, mu and logvar as it should: "
                        "the loss must be built from those tensors, inside the graph.")
    probe_inputs = [t.clone().requires_grad_() for t in (logits, mu, logvar)]
    probe_devices(lambda: answer(probe_inputs[0], x, probe_inputs[1], probe_inputs[2]), "the loss")
    return "summed BCE on logits plus beta times the KL, exact even where the Sigmoid saturates."


# -- diagnosing: which latent dimensions the model uses, from the spreads alone ---------

def _logvars(variances: list[float], spreads: list[float], n: int, seed: int,
             first_row: dict[int, float] | None = None) -> Tensor:
    """log sigma^2 of ``n`` images from an encoder whose codes fill the prior: dimension d's mean
    codes vary across images with variance ``variances[d]``, so its sigma^2 averages exactly
    ``1 - variances[d]``; each image's sigma^2 is off that by up to ``spreads[d]`` (relative).
    ``first_row`` sets the first image's sigma^2 in some dimensions (the rest keep the mean)."""
    g = torch.Generator().manual_seed(seed)
    target = 1 - cpu_float64(torch.tensor(variances))  # the check's own data, on the CPU
    u = 2 * cpu_float64(torch.rand(n, len(variances), generator=g)) - 1
    s2 = target * (1 + cpu_float64(torch.tensor(spreads)) * u)
    s2 = s2 * target / s2.mean(0)  # each mean exactly 1 - variance
    for d, value in (first_row or {}).items():
        s2[0, d] = value
        rest = s2[1:, d]
        s2[1:, d] = rest * (target[d] * n - value) / rest.sum()  # the mean stays 1 - variance
    return s2.log().float()


_ACTIVE_CASES = (
    # (variance of the mean codes per dimension, relative spread of sigma^2, images, seed, first image's sigma^2)
    ([0.5, 0.001, 0.05, 0.004, 0.9, 0.0, 0.015, 0.3, 0.995], [0.3, 0.002, 0.02, 0.002, 0.5, 0.01, 0.002, 0.4, 0.3],
     3000, 0, {2: 0.999, 7: 0.995}),
    ([0.0, 0.2, 0.008], [0.01, 0.3, 0.002], 500, 1, {1: 0.999}),
    ([0.002] * 4, [0.002] * 4, 800, 2, None),
)


@exercise_check(
    "the active dimensions, from the spreads alone", label="ex-ch5-active",
    hint="Along dimension d, a code z = mu(x) + sigma(x) * eps spreads for two reasons, and their variances add: "
         "Var(z_d) = Var over images of mu_d(x) + mean over images of sigma_d^2(x). If the codes fill the prior, "
         "Var(z_d) = 1, so the variance of the means is 1 - mean sigma_d^2, with sigma^2 = exp(logvar) averaged "
         "over the images (dim=0). Active: that above 0.01.",
)
def active_from_logvar(answer: Callable[[Tensor], object], *, device: torch.device | str | None = None) -> str:
    """``answer(logvar)``: the dimensions Burda et al.'s test calls active (variance of the mean codes above
    0.01), read from the log-variances alone, for an encoder whose codes fill the prior (each dimension's
    codes have variance 1 over images and draws).

    ``logvar`` is ``(N, latent_dim)``. Accepted: indices as a list, tuple, tensor or array (any order), or a
    boolean mask of length latent_dim. The cases lie far from the threshold, except one dimension of
    variance 0.015 (mean sigma^2 0.985, sigma 0.9925) that tells sigma from sigma^2; each image's sigma^2
    varies, and in some dimensions the first image is unlike the rest.
    """
    where = check_device(device)
    for variances, spreads, n, seed, first_row in _ACTIVE_CASES:
        logvar = _logvars(variances, spreads, n, seed, first_row)
        k = len(variances)
        given = logvar.clone().to(where)
        with left_as_found(logvar=given):
            got_raw = answer(given)
        if isinstance(got_raw, tuple) and all(hasattr(v, "__index__") and not isinstance(v, Tensor) for v in got_raw):
            got_raw = list(got_raw)  # a tuple of indices, not torch.where's 1-tuple of a tensor
        got = as_indices(got_raw, mask_length=k)
        if got is None:
            per_image = (isinstance(got_raw, Tensor) and got_raw.dtype == torch.bool and got_raw.shape == (n,))
            raise Wrong(
                f"for log-variances of {n} images x {k} dimensions your answer returned "
                + (f"a boolean mask of length {n}, one verdict per image; the question is asked per dimension."
                   if per_image else
                   f"a {type(got_raw).__name__}"
                   f"{' of floats' if isinstance(got_raw, Tensor) and got_raw.is_floating_point() else ''}; "
                   "return the indices of the active dimensions (a list or a tensor of ints), or a boolean mask "
                   "of length latent_dim."))
        v = cpu_float64(logvar).exp()
        mean_s2 = v.mean(0)
        want = [d for d in range(k) if 1 - float(mean_s2[d]) > 0.01]
        if sorted(set(got)) == want and len(got) == len(set(got)):
            continue
        if any(not 0 <= i < k for i in got):
            raise Wrong(f"for log-variances of {n} images x {k} dimensions your answer gave indices outside "
                        f"0..{k - 1}: its verdicts are per image, and the question is asked per dimension.")
        shown = ", ".join(f"{float(s):.3f}" for s in mean_s2)
        said = (f"for {n} images whose sigma^2, averaged over the images, is ({shown}) per dimension, the active "
                f"dimensions are {want}; your answer gave {sorted(got)}.")
        lv = cpu_float64(logvar)

        def where_(mask: Tensor) -> list[int]:
            return [d for d in range(k) if bool(mask[d])]

        known = {
            "Those are the inactive dimensions.": where_(mean_s2 >= 0.99),
            "That is the test on sigma, the standard deviation; it is the variances that add up.":
                where_((0.5 * lv).exp().mean(0) < 0.99),
            "That reads logvar as log sigma; it is log sigma^2.": where_((2 * lv).exp().mean(0) < 0.99),
            "That calls a dimension active as soon as its posterior is narrower than the prior at all; a "
            "dimension whose means vary with a variance of 0.01 or less is not active.": where_(mean_s2 < 1 - 1e-9),
            "That calls a dimension active as soon as its log-variance averages below 0; a dimension whose "
            "means vary with a variance of 0.01 or less is not active.": where_(lv.mean(0) < 0),
            "That compares sigma^2 itself with 0.01; the threshold of 0.01 is on the variance of the mean codes.":
                where_(mean_s2 > 0.01),
            "That compares sigma^2 itself with 0.01 (and keeps those below it); the threshold of 0.01 is on the "
            "variance of the mean codes.": where_(mean_s2 < 0.01),
            "That measures how much sigma^2 varies from image to image, which is not what tells an active "
            "dimension from an inactive one.": where_(v.var(0) > 0.01),
            "That measures how much the log-variance varies from image to image, which is not what tells an "
            "active dimension from an inactive one.": where_(lv.var(0) > 0.01),
            "Those are the verdicts of the first image alone: the test is on all the images.":
                where_(v[0] < 0.99),
        }
        for hint, value in known.items():
            if sorted(set(got)) == value:
                raise Wrong(f"{said} {hint}")
        raise Wrong(said)
    probe_logvar = _logvars([0.5, 0.001], [0.1, 0.001], 50, 3)
    probe_devices(lambda: answer(probe_logvar), "the diagnosis")
    return ("the active dimensions of three encoders, found from their spreads alone: an informative "
            "dimension's posterior is narrower than the prior, by exactly the variance its means spend.")


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


_COURSE_ESTIMATORS = ("vae_log_likelihood", "iwae_log_likelihood")


@contextlib.contextmanager
def _course_estimators_watched() -> Iterator[list[str]]:
    """Yield a list that fills with the names of the course's own estimators of L_k
    (:mod:`aecourse.likelihood`) that run inside the block: an answer that calls one has not
    written the estimate the exercise asks for. A student may import them under any name,
    so the watch is on their code objects, through a profile hook, not on the module's names."""
    from aecourse import likelihood

    codes = {getattr(likelihood, name).__code__: name for name in _COURSE_ESTIMATORS}
    seen: list[str] = []
    previous = sys.getprofile()

    def watch(frame, event, arg):  # noqa: ANN001 - sys.setprofile's signature
        if event == "call" and frame.f_code in codes and codes[frame.f_code] not in seen:
            seen.append(codes[frame.f_code])

    sys.setprofile(watch)
    try:
        yield seen
    finally:
        sys.setprofile(previous)


_IWAE_HINT = (
    "Per image, draw k codes z_i = mu + exp(logvar / 2) * eps_i from q(z|x), with mu, logvar = model.encode(x); "
    "log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x), where log p(x|z) is minus the summed BCE of "
    "model.decode(z) against x, and both densities are diagonal Gaussians (N(0, I) and N(mu, exp(logvar))). "
    "Then L_k = torch.logsumexp(log_w, dim=0) - math.log(k): the log of the mean of the weights, taken in log "
    "space. Work inside `with evaluating(model):` (from aecourse.train: eval mode and no graph, the model's "
    "mode restored afterwards)."
)


@exercise_check("the importance-weighted log-likelihood", label="ex-ch5-iwae", hint=_IWAE_HINT)
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
        with _course_estimators_watched() as called, left_as_found(x=x_there):
            returned = answer(model, x_there, k)
        if called:
            raise Wrong(f"your answer calls the course's own {called[0]} (from aecourse.likelihood), which "
                        "computes this very estimate: the exercise asks you to write it yourself.")
        got = _estimates(returned, n, k)
        results[k] = got
        if not model.states:
            raise Wrong("the model was never asked: q(z|x) comes from model.encode(x), and the logits of p(x|z) "
                        "from model.decode(z).")
        if any(training for training, _ in model.states):
            raise Wrong("the model ran in training mode: the chapter's ConvVAE has batch norm, which in training "
                        "mode would normalise with the statistics of the batch of copies of x, and change every "
                        "estimate.")
        if any(grad for _, grad in model.states):
            raise Wrong("the model built a graph (autograd recorded the decoding): with k = 5000 samples a graph "
                        "through the decoder holds thousands of decoded images, for a backward pass that never "
                        "comes.")
        bad = int((~torch.isfinite(got)).sum())
        if bad:
            raise Wrong(f"{said}, with k = {k} your answer gave {bad} estimates that are not finite "
                        f"(e.g. {float(got[~torch.isfinite(got)][0])}). Here log w is about -450, and exp(-450) is 0 "
                        "in float32 (anything below about exp(-103) is), so the log of a mean of exp(log w) is "
                        "log 0 = -inf. The mean of the weights must be taken in log space.")
        count, total, squares = model.codes
        if count >= 100:
            mean = total / count
            std = math.sqrt(max(squares / count - mean**2, 0.0))
            if abs(mean) < 0.3 and 0.7 < std < 1.3:
                centre = float(mu.mean())
                raise Wrong(f"the codes you decoded have mean {mean:.2f} and standard deviation {std:.2f}: they "
                            f"are draws from the prior N(0, 1), while q(z|x) puts these images' codes near "
                            f"{centre:.2f}. From the prior, almost no sample lands where p(x|z) is large once the "
                            "latent has more than a few dimensions: the samples must come from q(z|x), weighted "
                            "by p(z) / q(z|x).")
        if k == 1000:
            diff = got - exact
            off = float(diff.mean())
            if abs(off) < 0.1 and float(diff.abs().max()) < 0.5:
                continue
            shown = f"{said}, your estimates with k = {k} average {float(got.mean()):.2f}; log p(x) averages {float(exact.mean()):.2f}."
            if abs(off - math.log(k)) < 0.15:
                raise Wrong(f"{shown} That is {off:.2f} nats too high, log k = log {k} = {math.log(k):.2f}: the sum "
                            "of the weights is not divided by k, so it is not their mean.")
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
                            "log weights over samples (or using one sample) estimates the ELBO whatever k is; "
                            "L_k is the log of the mean of the weights themselves.")
            raise Wrong(f"{shown} Per image, L_k is the log of the mean of k weights w = p(x|z) p(z) / q(z|x), "
                        "with z drawn from q(z|x).")
        if float(got.mean()) < elbo - 0.3:
            raise Wrong(f"{said}, your estimates with k = {k} average {float(got.mean()):.2f}, below the ELBO of the "
                        f"encoder's q ({elbo:.2f}); with samples from q, weighted by p(z) / q(z|x), the estimate "
                        "is at or above the ELBO on average for every k.")
    probe_model = _ProbeLikelihoodVAE()
    probe_devices(lambda: answer(probe_model, x[:3], 4), "the estimate")
    gap = float((exact - want["elbo"]).mean())
    return (f"with k = 1000 your estimates are within {float((results[1000] - exact).abs().max()):.3f} nats of the "
            f"exact log p(x) of every test image (about {float(exact.mean()):.0f} nats, where exp(log w) underflows), "
            f"{gap:.2f} nats above the ELBO of an imperfect q; k = 10 averages "
            f"{float(results[10].mean() - exact.mean()):+.2f}.")


# -- sampling from the prior ------------------------------------------------------------

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


@exercise_check(
    "sampling from the prior", label="ex-ch5-sample",
    hint="Inside `with evaluating(model):` (from aecourse.train: eval mode and no graph, the mode restored "
         "afterwards), z = torch.randn(n, model.latent_dim, device=...) on the "
         "model's device (next(model.parameters()).device), and return torch.sigmoid(model.decode(z)).",
)
def sample_prior(answer: Callable[[nn.Module, int], Tensor], *, device: torch.device | str | None = None) -> str:
    """``answer(model, n)``: n images from z ~ N(0, I), decoded in eval mode without a graph
    and passed through a Sigmoid. Decoding in chunks, under ``torch.inference_mode()``,
    or on the model's device are all fine: every chunk is judged, in order. The model may be
    left in eval mode or put back in training mode afterwards; its weights must not change."""
    where = check_device(device)
    for n in (4000, 7):
        model = _FakeVAE().to(where)
        model.train()
        torch.manual_seed(0)
        with left_as_found(**{"the model's weights": model.scale}):
            images = answer(model, n)
        if not model.seen:
            raise Wrong("model.decode was never called: the images must be decoded from codes drawn from the prior.")
        z = torch.cat([codes for codes, _, _ in model.seen])
        if z.shape != (n, model.latent_dim):
            raise Wrong(f"for n = {n} the codes decoded had shape {tuple(z.shape)}; n codes of model.latent_dim "
                        f"numbers each, ({n}, 5), were expected.")
        if any(training for _, training, _ in model.seen):
            raise Wrong("the model decoded in training mode: a decoder with batch norm or dropout would then "
                        "behave as in training, and sampling needs eval mode.")
        if any(grad for _, _, grad in model.seen):
            raise Wrong("decoding built a graph (autograd recorded it): memory and work spent for a backward pass "
                        "that never comes.")
        if not isinstance(images, Tensor) or images.shape != (n, 1, 28, 28):
            got = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
            raise Wrong(f"for n = {n} return images of shape ({n}, 1, 28, 28); got {got}.")
        with torch.no_grad():
            decoded = torch.sigmoid(_FakeVAE().decode(z))  # a fresh copy: the student's model keeps its record
        images = images.detach().cpu()
        if not torch.allclose(images, decoded, atol=1e-6):
            if float(images.min()) < 0 or float(images.max()) > 1:
                raise Wrong(f"some pixel values lie outside [0, 1] (from {float(images.min()):.2f} to "
                            f"{float(images.max()):.2f}): decode returns logits, not pixel values.")
            if torch.allclose(images, torch.sigmoid(decoded), atol=1e-6):
                raise Wrong("every pixel value lies between 0.5 and 0.73: the Sigmoid was applied twice, where "
                            "the logits need it once.")
            raise Wrong("the images returned are not the pixel values of the codes that were decoded (the Sigmoid "
                        "of what model.decode returned for them).")
        if n < 100:
            continue
        se = 1 / math.sqrt(n)
        means, stds = z.mean(dim=0), z.std(dim=0)
        if float(means.abs().max()) > 5 * se or float((stds - 1).abs().max()) > 5 * se / math.sqrt(2) + 0.01:
            raise Wrong(f"z has means {[round(float(m), 2) for m in means]} and stds {[round(float(d), 2) for d in stds]} "
                        "per dimension: codes from the prior N(0, I) have mean 0 and standard deviation 1.")
        correlation = torch.corrcoef(z.T) - torch.eye(model.latent_dim)
        if float(correlation.abs().max()) > 5 * se:
            raise Wrong(f"the latent dimensions are correlated (up to {float(correlation.abs().max()):.2f}): under "
                        "N(0, I) each of the n x latent_dim numbers is drawn independently.")
    probe_model = _ProbeVAE()
    probe_devices(lambda: answer(probe_model, 3), "sampling")
    return "codes from N(0, I), decoded in eval mode without a graph, Sigmoid applied."


# -- predicting the beta sweep ----------------------------------------------------------

def _beta(got: object, name: str, choices: tuple[float, ...]) -> float:
    """``got`` as one of ``choices``, or a :class:`Wrong` that says what it is instead."""
    number = as_number(got)
    listed = " or ".join(f"{c:g}" for c in choices) if len(choices) == 2 else \
        ", ".join(f"{c:g}" for c in choices[:-1]) + f" or {choices[-1]:g}"
    if number is None:
        raise Wrong(f"{name} must be a number, one of the values of beta the sweep trains ({listed}); "
                    f"got {type(got).__name__} {got!r}.")
    for choice in choices:
        if math.isclose(number, choice, rel_tol=1e-6):
            return choice
    raise Wrong(f"{name} must be one of the values of beta it compares, {listed}; got {number:g}.")


@exercise_check(
    "predicting the beta sweep", label="ex-ch5-beta",
    hint="The loss is reconstruction + beta * KL, so beta is what one nat of KL costs, in nats of reconstruction. "
         "A dimension stays active only while the reconstruction it buys is worth the KL it costs at that price. "
         "The -ELBO is reconstruction + 1 * KL: which run's training loss is exactly that?",
)
def beta_sweep(more_active_beta: object, lowest_neg_elbo_beta: object) -> str:
    """``more_active_beta``: which of beta = 0.2 and beta = 5 keeps more active dimensions;
    ``lowest_neg_elbo_beta``: which of 0.2, 1 and 5 ends with the lowest test -ELBO; 1 is what the theory
    expects at the optimum, and 0.2 is accepted too, since a short run can end that way. Any number
    type is accepted (5, 5.0, a NumPy or 0-d tensor value); a string or another beta is not."""
    more = _beta(more_active_beta, "more_active_beta", (0.2, 5.0))
    lowest = _beta(lowest_neg_elbo_beta, "lowest_neg_elbo_beta", (0.2, 1.0, 5.0))
    if more == 5.0:
        raise Wrong("more_active_beta = 5 is not what a VAE does: with beta = 5 every nat of KL costs five times "
                    "as much as at beta = 1, and a dimension is active only while the reconstruction it buys is "
                    "worth the KL it costs. A higher price switches more dimensions off, not fewer.")
    if lowest == 5.0:
        raise Wrong("lowest_neg_elbo_beta = 5 is not what to expect: the -ELBO counts every nat of KL at the price "
                    "1, while beta = 5 trains on a loss that overprices it, so it gives up more reconstruction "
                    "than the KL it saves is worth on the -ELBO's scale.")
    if lowest == 0.2:
        return ("Accepted, but it is not what the theory expects. Trained to the end, beta = 1 should end lowest: "
                "the -ELBO counts every nat of KL at full price, while beta = 0.2 counts a fifth of it, so it buys "
                "reconstruction with more KL than the -ELBO repays. After a few epochs, though, a run with cheap KL "
                "can still be ahead, so 0.2 is a fair guess for these short runs. Run the sweep to see which this "
                "run shows.")
    return ("beta = 0.2 makes KL cheap, so more dimensions stay worth using; and only beta = 1 trains on the "
            "-ELBO itself, so trained to the end it should end lowest on it. Short runs can differ: run the sweep "
            "to see whether this run agrees.")


# -- where the student stands --------------------------------------------------------------

from aecourse.checks.core import Note, show_hint as hint  # noqa: E402  check.hint("ex-ch5-...")
from aecourse.checks.core import progress as _progress  # noqa: E402


def progress() -> Note:
    """Which of this chapter's exercises pass in this kernel, from their checks' last verdicts:
    the chapter's last cell shows it."""
    return _progress(__name__)
