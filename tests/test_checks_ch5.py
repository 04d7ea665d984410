"""Chapter 5 checks: each passes a correct answer and rejects typical wrong ones with a hint."""

import math

import pytest
import torch
import torch.nn.functional as F

from aecourse.checks import ch5
from verdicts import assert_accepted, assert_rejected


def good_reparameterize(mu, logvar):
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def test_reparameterize_accepts_the_solution():
    assert_accepted(ch5.reparameterize(good_reparameterize))


def test_reparameterize_rejects_std_as_variance():
    assert_rejected(ch5.reparameterize(lambda mu, logvar: mu + torch.exp(logvar) * torch.randn_like(mu)), "sigma = exp(logvar / 2)")


def test_reparameterize_rejects_no_noise():
    assert_rejected(ch5.reparameterize(lambda mu, logvar: mu), "noise")


def test_reparameterize_rejects_sampling_without_a_path_for_gradients():
    detached = lambda mu, logvar: torch.normal(mu.detach(), torch.exp(0.5 * logvar.detach()))  # noqa: E731
    assert_rejected(ch5.reparameterize(detached), "gradient")


def good_kl(mu, logvar):
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def test_kl_accepts_the_solution():
    assert_accepted(ch5.kl_divergence(good_kl))


def test_kl_rejects_flipped_sign_and_mean():
    flipped = ch5.kl_divergence(lambda mu, logvar: 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()))
    assert not flipped.passed and "sign" in flipped.message
    mean = ch5.kl_divergence(lambda mu, logvar: -0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp()))
    assert not mean.passed and "sum" in mean.message


def test_kl_rejects_logvar_read_as_sigma():
    result = ch5.kl_divergence(lambda mu, s: 0.5 * torch.sum(mu**2 + s**2 - 1 - torch.log(s**2 + 1e-12)))
    assert not result.passed


def good_loss(logits, x, mu, logvar, beta=1.0):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="sum") + beta * good_kl(mu, logvar)


def test_loss_accepts_the_solution():
    assert_accepted(ch5.vae_loss(good_loss))


def test_loss_names_probabilities_and_missing_beta_and_mean():
    probs = ch5.vae_loss(lambda l, x, mu, lv, beta=1.0: F.binary_cross_entropy(torch.sigmoid(l), x, reduction="sum") + beta * good_kl(mu, lv))
    assert not probs.passed and "with_logits" in probs.message
    no_beta = ch5.vae_loss(lambda l, x, mu, lv, beta=1.0: good_loss(l, x, mu, lv))
    assert not no_beta.passed and "beta" in no_beta.message
    mean = ch5.vae_loss(lambda l, x, mu, lv, beta=1.0: F.binary_cross_entropy_with_logits(l, x) + beta * good_kl(mu, lv))
    assert not mean.passed and "reduction='sum'" in mean.message


@torch.no_grad()
def good_sampler(model, n):
    model.eval()
    z = torch.randn(n, model.latent_dim, device=next(model.parameters()).device)
    return torch.sigmoid(model.decode(z))


def test_sampler_accepts_the_solution():
    assert_accepted(ch5.sample_prior(good_sampler))


def test_sampler_rejects_train_mode_logits_and_wrong_prior():
    @torch.no_grad()
    def train_mode(model, n):
        return torch.sigmoid(model.decode(torch.randn(n, model.latent_dim)))

    assert "eval" in ch5.sample_prior(train_mode).message

    @torch.no_grad()
    def logits(model, n):
        model.eval()
        return model.decode(torch.randn(n, model.latent_dim))

    assert "sigmoid" in ch5.sample_prior(logits).message

    @torch.no_grad()
    def uniform(model, n):
        model.eval()
        return torch.sigmoid(model.decode(torch.rand(n, model.latent_dim)))

    assert "N(0, I)" in ch5.sample_prior(uniform).message


def test_sampler_rejects_a_graph():
    def with_grad(model, n):
        model.eval()
        return torch.sigmoid(model.decode(torch.randn(n, model.latent_dim)))

    assert_rejected(ch5.sample_prior(with_grad), "no_grad")


# -- answers a student could write: correct ones written differently, and wrong ones --

def test_reparameterize_accepts_correct_variants():
    variants = [
        lambda mu, logvar: mu + logvar.mul(0.5).exp() * torch.randn(mu.shape, device=mu.device),
        lambda mu, logvar: mu + logvar.mul(0.5).exp() * torch.randn(mu.shape).to(mu),
        lambda mu, logvar: torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).rsample(),
        lambda mu, logvar: mu + torch.sqrt(torch.exp(logvar)) * torch.normal(0.0, 1.0, size=mu.shape, device=mu.device),
    ]
    for answer in variants:
        assert_accepted(ch5.reparameterize(answer))


def test_reparameterize_rejects_shared_reseeded_and_cut_noise():
    cases = {
        "share their noise": lambda mu, logvar: mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape[0], 1),
        "every row got the same noise": lambda mu, logvar: mu + torch.exp(0.5 * logvar) * torch.randn(1, mu.shape[1]),
        "fresh on every call": lambda mu, logvar: mu + torch.exp(0.5 * logvar) * torch.randn(
            mu.shape, generator=torch.Generator().manual_seed(0)),
        "spread is wrong": lambda mu, logvar: mu + torch.exp(0.5 * logvar) * (torch.rand_like(mu) - 0.5),
        "The spread is wrong": lambda mu, logvar: mu + torch.randn_like(mu) * torch.exp(-0.5 * logvar),
        "not centred on mu": lambda mu, logvar: mu + torch.exp(0.5 * logvar) * torch.rand_like(mu),
        "cuts the path": lambda mu, logvar: torch.normal(mu, torch.exp(0.5 * logvar)),
        "gradient does not reach logvar": lambda mu, logvar: mu + torch.exp(0.5 * logvar).detach() * torch.randn_like(mu),
        "dz/dmu should be 1": lambda mu, logvar: mu.detach() + torch.exp(0.5 * logvar) * torch.randn_like(mu),
        "sigma = exp(logvar / 2)": lambda mu, logvar: mu + torch.exp(logvar) * torch.randn_like(mu),
    }
    for expected, answer in cases.items():
        assert_rejected(ch5.reparameterize(answer), expected)


def test_kl_accepts_correct_variants():
    variants = [
        lambda mu, logvar: 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(),
        lambda mu, logvar: torch.distributions.kl_divergence(
            torch.distributions.Normal(mu, (0.5 * logvar).exp()), torch.distributions.Normal(0.0, 1.0)).sum(),
        lambda mu, logvar: (0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)).sum(dim=1).sum(),
    ]
    for answer in variants:
        assert_accepted(ch5.kl_divergence(answer))


def test_kl_rejects_detached_item_per_image_and_half_formulas():
    def formula(mu, logvar):
        return 0.5 * torch.sum(mu.pow(2) + logvar.exp() - 1 - logvar)

    cases = {
        "must be a tensor": lambda mu, logvar: formula(mu, logvar).item(),
        "carries no gradient": lambda mu, logvar: formula(mu, logvar).detach(),
        "must be one number": lambda mu, logvar: 0.5 * torch.sum(mu.pow(2) + logvar.exp() - 1 - logvar, dim=1),
        "sign is flipped": lambda mu, logvar: -formula(mu, logvar),
        "don't average": lambda mu, logvar: 0.5 * torch.mean(mu.pow(2) + logvar.exp() - 1 - logvar),
        "to itself must be 0": lambda mu, logvar: 0.5 * torch.sum(mu.pow(2) + logvar.exp() - logvar),  # forgot the -1
        "expected": lambda mu, logvar: 0.5 * torch.sum(mu.pow(2) + (2 * logvar).exp() - 1 - 2 * logvar),  # logvar read as log sigma
        "does not reach both mu and logvar": lambda mu, logvar: formula(mu.detach(), logvar) + 0 * mu.sum(),
    }
    for expected, answer in cases.items():
        assert_rejected(ch5.kl_divergence(answer), expected)


def test_loss_accepts_a_variant_that_returns_its_parts():
    def with_parts(logits, x, mu, logvar, beta=1.0):
        reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum()
        kl = torch.distributions.kl_divergence(
            torch.distributions.Normal(mu, (0.5 * logvar).exp()), torch.distributions.Normal(0.0, 1.0)).sum()
        return reconstruction + beta * kl, reconstruction, kl

    assert_accepted(ch5.vae_loss(with_parts))


def test_loss_rejects_swapped_detached_item_and_no_default_beta():
    cases = {
        "swapped": lambda l, x, mu, lv, beta=1.0: F.binary_cross_entropy_with_logits(x, l, reduction="sum") + beta * good_kl(mu, lv),
        "must be a tensor": lambda l, x, mu, lv, beta=1.0: good_loss(l, x, mu, lv, beta).item(),
        "carries no gradient": lambda l, x, mu, lv, beta=1.0: good_loss(l, x, mu, lv, beta).detach(),
        "default of 1.0": lambda l, x, mu, lv, beta: good_loss(l, x, mu, lv, beta),
        "does not reach": lambda l, x, mu, lv, beta=1.0: good_loss(l, x, mu.detach(), lv, beta) + 0 * mu.sum(),
    }
    for expected, answer in cases.items():
        assert_rejected(ch5.vae_loss(answer), expected)


def test_sampler_accepts_inference_mode_chunks_and_a_device_variable():
    def inference(model, n):
        model.eval()
        with torch.inference_mode():
            return torch.sigmoid(model.decode(torch.randn(n, model.latent_dim, device=model.scale.device)))

    def chunked(model, n):
        model.eval()
        where = next(model.parameters()).device
        with torch.no_grad():
            parts = [torch.sigmoid(model.decode(torch.randn(len(c), model.latent_dim, device=where)))
                     for c in torch.arange(n).split(1000)]
        return torch.cat(parts)

    def on_models_device(model, n):
        model.eval()
        device = next(model.parameters()).device
        with torch.no_grad():
            return torch.sigmoid(model.decode(torch.randn(n, model.latent_dim, device=device)))

    for answer in (inference, chunked, on_models_device):
        assert_accepted(ch5.sample_prior(answer))


def test_sampler_rejects_ignored_n_shared_noise_and_double_sigmoid():
    @torch.no_grad()
    def fixed_n(model, n):
        model.eval()
        return torch.sigmoid(model.decode(torch.randn(4000, model.latent_dim)))

    @torch.no_grad()
    def shared(model, n):
        model.eval()
        return torch.sigmoid(model.decode(torch.randn(n, 1).expand(n, model.latent_dim)))

    @torch.no_grad()
    def double_sigmoid(model, n):
        model.eval()
        return torch.sigmoid(torch.sigmoid(model.decode(torch.randn(n, model.latent_dim))))

    @torch.no_grad()
    def last_chunk_only(model, n):
        model.eval()
        for chunk in torch.arange(n).split(1000):
            images = torch.sigmoid(model.decode(torch.randn(len(chunk), model.latent_dim)))
        return images

    cases = {"for n = 7": fixed_n, "correlated": shared, "sigmoid once": double_sigmoid,
             "return images of shape (4000, 1, 28, 28)": last_chunk_only}
    for expected, answer in cases.items():
        assert_rejected(ch5.sample_prior(answer), expected)


# -- device faults: CPU tensors that a GPU runtime would refuse to mix -------------------

@pytest.mark.parametrize("check, answer", [
    (ch5.reparameterize, lambda mu, logvar: mu + logvar.mul(0.5).exp() * torch.randn(mu.shape)),
    (ch5.reparameterize, lambda mu, logvar: mu + torch.exp(0.5 * logvar) * torch.normal(0.0, 1.0, size=mu.shape)),
    (ch5.kl_divergence, lambda mu, logvar: 0.5 * torch.sum(mu**2 + logvar.exp() - torch.ones(mu.shape) - logvar)),
    (ch5.vae_loss, lambda logits, x, mu, logvar, beta=1.0: F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
     + beta * 0.5 * torch.sum(mu**2 + logvar.exp() - torch.ones(mu.shape) - logvar)),
    (ch5.sample_prior, torch.no_grad()(lambda model, n: model.eval() and None
                                       or torch.sigmoid(model.decode(torch.randn(n, model.latent_dim))))),
], ids=["randn", "normal", "kl-ones", "loss-ones", "prior-randn"])
def test_answers_that_make_cpu_tensors_are_rejected_on_any_machine(check, answer):
    assert_rejected(check(answer), "two devices")


def test_kl_accepts_a_scalar_constant_and_other_closed_forms():
    variants = [
        lambda mu, logvar: 0.5 * torch.sum(mu**2 + logvar.exp() - torch.tensor(1.0) - logvar),
        lambda mu, logvar: torch.distributions.kl_divergence(
            torch.distributions.Normal(mu, (0.5 * logvar).exp()),
            torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(),
        lambda mu, logvar: (0.5 * (mu.square() + logvar.exp()) - 0.5 - 0.5 * logvar).sum(dim=1).sum(),
    ]
    for answer in variants:
        assert_accepted(ch5.kl_divergence(answer))


@pytest.mark.parametrize("answer, words", [
    (lambda mu, lv: 0.5 * torch.sum(mu**2 + (2 * lv).exp() - 1 - 2 * lv), "not log sigma"),
    (lambda mu, lv: 0.5 * torch.sum(lv.exp() - 1 - lv), "mu^2 term is missing"),
    (lambda mu, lv: 0.5 * torch.sum(mu**2 + lv.exp() - lv), "the -1 is missing"),
    (lambda mu, lv: torch.sum(mu**2 + lv.exp() - 1 - lv), "factor 1/2"),
    (lambda mu, lv: 0.5 * torch.sum(mu**2 + (0.5 * lv).exp() - 1 - lv), "sigma appears where"),
    (lambda mu, lv: 0.5 * torch.sum((mu**2 + 1) / lv.exp() - 1 + lv), "other direction"),
], ids=["log-sigma", "no-mu", "no-minus-one", "no-half", "sigma-not-variance", "reverse-kl"])
def test_kl_derivation_slips_are_named(answer, words):
    assert_rejected(ch5.kl_divergence(answer), words)


# -- the active latent dimensions -------------------------------------------------------

@pytest.mark.parametrize("answer", [
    lambda mu: (mu.var(dim=0) > 0.01).nonzero().flatten(),
    lambda mu: mu.var(dim=0) > 0.01,  # a boolean mask
    lambda mu: [d for d in range(mu.shape[1]) if mu[:, d].var(unbiased=False).item() > 0.01],
    lambda mu: torch.where(((mu - mu.mean(0)) ** 2).mean(0) > 0.01)[0].tolist(),
], ids=["indices", "mask", "list-population-variance", "by-hand"])
def test_active_dims_accepts(answer):
    assert_accepted(ch5.active_dims(answer))


@pytest.mark.parametrize("answer, words", [
    (lambda mu: (mu.var(dim=1) > 0.01).nonzero().flatten(), "across dimensions"),
    (lambda mu: (mu.mean(dim=0).abs() > 0.01).nonzero().flatten(), "tests the mean"),
    (lambda mu: (mu.std(dim=0) > 0.01).nonzero().flatten(), "standard deviation"),
    (lambda mu: (mu.var(dim=0) <= 0.01).nonzero().flatten(), "inactive"),
    (lambda mu: mu.var(dim=0), "of floats"),
    (lambda mu: (mu.var(dim=0) > 0.1).nonzero().flatten(), "your answer gave"),
    (lambda mu: (mu.var(dim=0) > torch.full((mu.shape[1],), 0.01)).nonzero().flatten(), "two devices"),
], ids=["wrong-axis", "mean", "std", "inverted", "variances", "threshold", "cpu-tensor"])
def test_active_dims_rejects(answer, words):
    assert_rejected(ch5.active_dims(answer), words)


def test_checks_leave_numpy_and_python_random_streams_alone():
    """An answer that draws from NumPy or random does not move the notebook's streams."""
    import random

    import numpy as np

    def monte_carlo(a):
        draws = np.random.standard_normal(2_000_000)
        random.random()
        kept = draws[np.abs(draws) <= a]
        return float(kept.std())

    from aecourse.checks import ch3

    np.random.seed(5)
    random.seed(5)
    expected = (np.random.rand(), random.random())
    np.random.seed(5)
    random.seed(5)
    ch3.truncated_std(monte_carlo)
    assert (np.random.rand(), random.random()) == expected


def test_worst_digits_and_active_dims_accept_other_shapes_of_the_same_answer():
    from aecourse.checks import ch2

    def column(model, x, n):
        model.eval()
        with torch.no_grad():
            errors = ((model(x) - x) ** 2).mean(1, keepdim=True)
        model.train()
        return errors.topk(n, dim=0).indices  # shape (n, 1)

    def topk_result(model, x, n):
        model.eval()
        with torch.no_grad():
            return ((model(x) - x) ** 2).mean(1).topk(n)  # values and indices

    for answer in (column, topk_result):
        assert_accepted(ch2.worst_digits(answer))
    for answer in (lambda mu: (mu.var(0) > 0.01).cpu().numpy(), lambda mu: list((mu.var(0) > 0.01).numpy()),
                   lambda mu: torch.where(mu.var(0) > 0.01)):
        assert_accepted(ch5.active_dims(answer))


def test_worst_digits_names_a_skipped_partial_batch():
    from aecourse.checks import ch2

    def full_batches_only(model, x, n):
        model.eval()
        with torch.no_grad():
            errors = torch.cat([((b - model(b)) ** 2).mean(1) for b in x[: len(x) // 100 * 100].split(100)])
        return errors.topk(n).indices

    assert_rejected(ch2.worst_digits(full_batches_only), "partial")


def test_kl_whose_graph_breaks_in_backward_is_the_answers_fault():
    def in_place(mu, logvar):
        t = logvar.exp()
        t.add_(mu**2).sub_(1).sub_(logvar)  # exp saved its output for backward, and this changes it
        return t.sum() / 2

    result = ch5.kl_divergence(in_place)
    assert not result.passed
    assert "in-place" in result.message and "check may be at fault" not in result.message


# -- the importance-weighted log-likelihood ---------------------------------------------

def iw_terms(model, x, k, *, device_of_noise=True):
    """log p(x|z), log p(z) and log q(z|x) of k samples per image, each (k, n), written as a student would."""
    mu, logvar = model.encode(x)
    eps = torch.randn(k, *mu.shape, device=mu.device) if device_of_noise else torch.randn(k, *mu.shape)
    z = mu + torch.exp(0.5 * logvar) * eps
    n = x.shape[0]
    logits = model.decode(z.reshape(k * n, -1)).reshape(k, *x.shape)
    log_px_z = -F.binary_cross_entropy_with_logits(logits, x.expand(k, *x.shape), reduction="none").flatten(2).sum(-1)
    log_pz = -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(-1)
    log_q = -0.5 * (eps.pow(2) + logvar + math.log(2 * math.pi)).sum(-1)
    return log_px_z, log_pz, log_q


def iw_answer(combine):
    """An answer that puts the model in eval mode, builds no graph, and combines the three terms."""
    def answer(model, x, k):
        model.eval()
        with torch.no_grad():
            return combine(*iw_terms(model, x, k), k)
    return answer


def iw_by_hand(model, x, k):
    model.eval()
    with torch.no_grad():
        a, b, c = iw_terms(model, x, k)
        log_w = a + b - c
        top = log_w.max(dim=0).values
        return top + torch.log(torch.exp(log_w - top).sum(0)) - math.log(k)


@torch.inference_mode()
def iw_in_chunks_with_distributions(model, x, k, chunk=64):
    """Samples in chunks of 64 combined with logaddexp; densities from torch.distributions; images one by one."""
    model.eval()
    out = []
    for image in x.split(1):
        mu, logvar = model.encode(image)
        q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
        prior = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
        total = torch.tensor(-math.inf, device=x.device)
        for start in range(0, k, chunk):
            c = min(chunk, k - start)
            z = q.sample((c,)).reshape(c, -1)
            logits = model.decode(z)
            log_px_z = -F.binary_cross_entropy_with_logits(logits, image.expand_as(logits), reduction="none").sum((1, 2, 3))
            log_w = log_px_z + prior.log_prob(z).sum(-1) - q.log_prob(z).sum(-1)
            total = torch.logaddexp(total, torch.logsumexp(log_w, 0))
        out.append(total - math.log(k))
    return torch.stack(out)


@pytest.mark.parametrize("answer", [
    iw_answer(lambda a, b, c, k: torch.logsumexp(a + b - c, dim=0) - math.log(k)),
    iw_by_hand,
    iw_in_chunks_with_distributions,
    iw_answer(lambda a, b, c, k: (torch.logsumexp(a + b - c, dim=0) - torch.log(torch.tensor(float(k)))).tolist()),
], ids=["logsumexp", "max-by-hand", "chunks-distributions-per-image", "list-of-numbers"])
def test_importance_log_likelihood_accepts(answer):
    assert_accepted(ch5.importance_log_likelihood(answer))


def iw_from_prior(model, x, k):
    model.eval()
    with torch.no_grad():
        n = x.shape[0]
        z = torch.randn(k * n, 1, device=x.device)
        logits = model.decode(z).reshape(k, *x.shape)
        log_px_z = -F.binary_cross_entropy_with_logits(logits, x.expand(k, *x.shape), reduction="none").flatten(2).sum(-1)
        return torch.logsumexp(log_px_z, dim=0) - math.log(k)


def iw_in_training_mode(model, x, k):
    with torch.no_grad():
        a, b, c = iw_terms(model, x, k)
        return torch.logsumexp(a + b - c, 0) - math.log(k)


def iw_with_a_graph(model, x, k):
    model.eval()
    a, b, c = iw_terms(model, x, k)
    return (torch.logsumexp(a + b - c, 0) - math.log(k)).detach()


@pytest.mark.parametrize("answer, words", [
    (iw_answer(lambda a, b, c, k: torch.log(torch.exp(a + b - c).mean(0))), "log 0 = -inf"),
    (iw_answer(lambda a, b, c, k: torch.logsumexp(a + b - c, 0)), "6.9"),
    (iw_answer(lambda a, b, c, k: torch.logsumexp(a + b - c, 0)), "not divided by k"),
    (iw_from_prior, "draws from the prior"),
    (iw_answer(lambda a, b, c, k: torch.logsumexp(a + b, 0) - math.log(k)), "- log q(z|x) term is missing"),
    (iw_answer(lambda a, b, c, k: torch.logsumexp(a - c, 0) - math.log(k)), "+ log p(z) term"),
    (iw_answer(lambda a, b, c, k: (a + b - c).mean(0)), "That is the ELBO"),
    (iw_answer(lambda a, b, c, k: (a[0] + b[0] - c[0])), "That is the ELBO"),  # one sample, k ignored
    (iw_in_training_mode, "training mode"),
    (iw_with_a_graph, "built a graph"),
    (iw_answer(lambda a, b, c, k: (torch.logsumexp(a + b - c, 0) - math.log(k)).mean()), "per image"),
    (iw_answer(lambda a, b, c, k: torch.logsumexp(a + b - c, 1) - math.log(k)), "shape (32,)"),
], ids=["naive-mean-of-exp", "no-log-k", "no-log-k-says-why", "prior-samples", "no-log-q", "no-log-prior", "elbo",
        "one-sample", "train-mode", "graph", "mean-over-images", "wrong-axis"])
def test_importance_log_likelihood_rejects(answer, words):
    assert_rejected(ch5.importance_log_likelihood(answer), words)


def test_importance_log_likelihood_rejects_noise_made_on_the_cpu():
    def cpu_noise(model, x, k):
        model.eval()
        with torch.no_grad():
            a, b, c = iw_terms(model, x, k, device_of_noise=False)
            return torch.logsumexp(a + b - c, 0) - math.log(k)

    assert_rejected(ch5.importance_log_likelihood(cpu_noise), "two devices")
