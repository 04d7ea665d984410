"""Chapter 5 checks: each passes a correct answer and rejects typical wrong ones, naming the cause.

The answers a student might write live in ``tests/answers_ch5.py``, shared with the student-path
test; here every one of them is judged, beside cases that need more than a cell's source.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from answers_ch5 import ANSWERS
from aecourse.checks import ch5
from student_answers import answer_params, assert_answers_cover_the_checks, define
from verdicts import assert_accepted, assert_rejected

# What the exercise cells may use from the notebook's earlier cells.
def good_kl(mu, logvar, prior_std=1.0):
    s2 = prior_std**2
    return 0.5 * torch.sum((mu.pow(2) + logvar.exp()) / s2 - 1 - logvar + math.log(s2))


EARLIER = {"kl_divergence": good_kl}

#: label -> (the check, the names the exercise declares)
EXERCISES = {
    "ex-ch5-reparam": (ch5.reparameterize, ["reparameterize"]),
    "ex-ch5-kl": (ch5.kl_divergence, ["kl_divergence"]),
    "ex-ch5-loss": (ch5.vae_loss, ["vae_loss"]),
    "ex-ch5-active": (ch5.active_from_logvar, ["active_from_logvar"]),
    "ex-ch5-iwae": (ch5.importance_log_likelihood, ["importance_log_likelihood"]),
    "ex-ch5-sample": (ch5.sample_prior, ["sample_prior"]),
    "ex-ch5-beta": (ch5.beta_sweep, ["more_active_beta", "lowest_neg_elbo_beta"]),
}


def judge(label, source):
    check, names = EXERCISES[label]
    namespace = define(source, **EARLIER)
    return check(*(namespace[name] for name in names))


def test_every_exercise_has_enough_answers_and_the_checks_come_in_the_chapters_order():
    assert_answers_cover_the_checks(ANSWERS, EXERCISES, ch5)


CORRECT, WRONG = answer_params(ANSWERS)


@pytest.mark.parametrize("label, source", CORRECT)
def test_a_correct_answer_passes(label, source):
    assert_accepted(judge(label, source))


@pytest.mark.parametrize("label, source, words", WRONG)
def test_a_wrong_answer_is_rejected_with_its_cause(label, source, words):
    assert_rejected(judge(label, source), words)


def test_the_first_rejection_names_what_the_student_sees_and_code_waits_for_the_hint():
    """A first message names no PyTorch function to call; the hint, asked for, may."""
    for label, answers in ANSWERS.items():
        for source, _ in answers["wrong"]:
            message = judge(label, source).message
            for code in ("torch.randn_like", "torch.logsumexp", "binary_cross_entropy_with_logits", "model.eval()",
                         "torch.no_grad()", "torch.sigmoid"):
                assert code not in message, f"{label}: {message}"
    assert "torch.randn_like" in repr(ch5.hint("ex-ch5-reparam"))
    assert "logsumexp" in repr(ch5.hint("ex-ch5-iwae"))


# -- more of each exercise: what a cell's source alone cannot show ---------------------

def test_reparameterize_accepts_a_tensor_made_on_the_inputs_device_in_two_ways():
    for answer in (lambda mu, logvar: mu + logvar.mul(0.5).exp() * torch.randn(mu.shape).to(mu),
                   lambda mu, logvar: mu + logvar.mul(0.5).exp() * torch.randn(mu.shape, device=mu.device)):
        assert_accepted(ch5.reparameterize(answer))


def test_reparameterize_rejects_noise_that_is_not_standard_normal():
    assert_rejected(ch5.reparameterize(lambda mu, logvar: mu + torch.exp(0.5 * logvar) * (torch.rand_like(mu) - 0.5)),
                    "spread is wrong")
    assert_rejected(ch5.reparameterize(lambda mu, logvar: mu + torch.randn_like(mu) * torch.exp(-0.5 * logvar)),
                    "spread is wrong")
    assert_rejected(ch5.reparameterize(lambda mu, logvar: mu.detach() + torch.exp(0.5 * logvar) * torch.randn_like(mu)),
                    "dz/dmu should be 1")


def test_kl_rejects_an_answer_that_writes_into_mu():
    def in_place(mu, logvar, prior_std=1.0):
        with torch.no_grad():
            mu.mul_(1.0001)
        return good_kl(mu, logvar, prior_std)

    assert_rejected(ch5.kl_divergence(in_place), "changed the values of mu in place")


def test_kl_names_the_slips_of_the_standard_case_too():
    cases = {
        "mu^2 term is missing": lambda mu, lv, s=1.0: 0.5 * torch.sum(lv.exp() - 1 - lv),
        "factor 1/2": lambda mu, lv, s=1.0: torch.sum(mu**2 + lv.exp() - 1 - lv),
        "sigma appears where": lambda mu, lv, s=1.0: 0.5 * torch.sum(mu**2 + (0.5 * lv).exp() - 1 - lv),
        "carries no gradient": lambda mu, lv, s=1.0: good_kl(mu, lv, s).detach(),
        "must be one number": lambda mu, lv, s=1.0: 0.5 * torch.sum(mu.pow(2) + lv.exp() - 1 - lv, dim=1),
        "does not reach both mu and logvar": lambda mu, lv, s=1.0: good_kl(mu.detach(), lv, s) + 0 * mu.sum(),
        "wrong factor": lambda mu, lv, s=1.0: 0.5 * torch.sum((mu**2 + lv.exp()) / s**2 - 1 - lv + math.log(s)),
        "sigma^2 is not divided by s^2": lambda mu, lv, s=1.0: 0.5 * torch.sum(
            mu**2 / s**2 + lv.exp() - 1 - lv + math.log(s**2)),
    }
    for words, answer in cases.items():
        assert_rejected(ch5.kl_divergence(answer), words)


def test_kl_accepts_a_scalar_constant_and_a_tensor_prior():
    variants = [
        lambda mu, logvar, prior_std=1.0: good_kl(mu, logvar, prior_std) + 0 * torch.tensor(1.0),
        lambda mu, logvar, prior_std=1.0: torch.distributions.kl_divergence(
            torch.distributions.Normal(mu, (0.5 * logvar).exp()), torch.distributions.Normal(0.0, prior_std)).sum(),
    ]
    for answer in variants:
        assert_accepted(ch5.kl_divergence(answer))


def test_kl_whose_graph_breaks_in_backward_is_the_answers_fault():
    def in_place(mu, logvar, prior_std=1.0):
        t = logvar.exp()
        t.add_(mu**2).sub_(1).sub_(logvar)  # exp saved its output for backward, and this changes it
        return t.sum() / 2

    result = ch5.kl_divergence(in_place)
    assert not result.passed
    assert "in-place" in result.message and "check may be at fault" not in result.message


def test_loss_rejects_an_answer_that_writes_into_the_images():
    def clamps(logits, x, mu, logvar, beta=1.0):
        x.clamp_(1e-6, 1 - 1e-6)
        return F.binary_cross_entropy_with_logits(logits, x, reduction="sum") + beta * good_kl(mu, logvar)

    assert_rejected(ch5.vae_loss(clamps), "changed the values of x in place")


def test_loss_rejects_a_graph_that_misses_mu():
    def misses(logits, x, mu, logvar, beta=1.0):
        return F.binary_cross_entropy_with_logits(logits, x, reduction="sum") + beta * good_kl(mu.detach(), logvar) + 0 * mu.sum()

    assert_rejected(ch5.vae_loss(misses), "does not reach")


def test_active_accepts_every_shape_of_the_same_answer():
    for answer in (lambda lv: (lv.exp().mean(0) < 0.99).cpu().numpy(),
                   lambda lv: list((lv.exp().mean(0) < 0.99).numpy()),
                   lambda lv: torch.where(lv.exp().mean(0) < 0.99),
                   lambda lv: tuple(int(d) for d in (lv.exp().mean(0) < 0.99).nonzero()),
                   lambda lv: (lv.exp().mean(0) < 0.99).nonzero(),  # shape (k, 1)
                   lambda lv: (lv.mean(0).exp() < 0.99).nonzero().flatten(),  # the geometric mean: close enough here
                   lambda lv: (lv.exp().median(0).values < 0.99).nonzero().flatten()):
        assert_accepted(ch5.active_from_logvar(answer))


def test_active_rejects_a_mask_per_image_and_a_cpu_tensor():
    assert_rejected(ch5.active_from_logvar(lambda lv: lv.exp().mean(1) < 0.99), "one verdict per image")
    assert_rejected(ch5.active_from_logvar(
        lambda lv: ((1 - lv.exp().mean(0)) > torch.full((lv.shape[1],), 0.01)).nonzero().flatten()), "two devices")


def test_active_rejects_an_answer_that_writes_into_logvar():
    def in_place(logvar):
        return (1 - logvar.exp_().mean(0) > 0.01).nonzero().flatten()

    assert_rejected(ch5.active_from_logvar(in_place), "changed the values of logvar in place")


def test_the_active_cases_are_built_as_the_docstring_says():
    """Each case's sigma^2 averages 1 - variance exactly, and the first image differs where asked."""
    for variances, spreads, n, seed, first_row in ch5._ACTIVE_CASES:
        s2 = ch5._logvars(variances, spreads, n, seed, first_row).double().exp()
        assert torch.allclose(s2.mean(0), 1 - torch.tensor(variances, dtype=torch.float64), atol=1e-6)
        for d, value in (first_row or {}).items():
            assert math.isclose(float(s2[0, d]), value, rel_tol=1e-6)


@pytest.mark.parametrize("more, lowest", [(0.2, 1.0), (0.2, 1), (torch.tensor(0.2), 1.0), (0.2000000001, 1.0)])
def test_beta_accepts_every_number_type(more, lowest):
    assert_accepted(ch5.beta_sweep(more, lowest))


def test_beta_accepts_0_2_for_the_lowest_neg_elbo_but_says_what_theory_expects():
    """A 2-epoch run can end with beta = 0.2 lowest, so that guess passes, with the optimum's argument."""
    result = ch5.beta_sweep(0.2, 0.2)
    assert_accepted(result)
    assert "not what the theory expects" in result.message and "short runs" in result.message


def test_beta_reports_a_stub_as_not_done():
    result = ch5.beta_sweep(..., 1.0)
    assert not result.passed and result.message.startswith("Not done yet")


def test_sampler_accepts_a_model_put_back_in_training_mode_and_rejects_changed_weights():
    def restores(model, n):
        model.eval()
        with torch.no_grad():
            images = torch.sigmoid(model.decode(torch.randn(n, model.latent_dim, device=model.scale.device)))
        model.train()
        return images

    assert_accepted(ch5.sample_prior(restores))

    def rescales(model, n):
        model.eval()
        with torch.no_grad():
            model.scale.mul_(1.0)  # writes the weights, even if with the same values
            model.scale.add_(0.5)
            return torch.sigmoid(model.decode(torch.randn(n, model.latent_dim)))

    assert_rejected(ch5.sample_prior(rescales), "weights")


def test_sampler_rejects_the_last_chunk_only():
    @torch.no_grad()
    def last_chunk_only(model, n):
        model.eval()
        for chunk in torch.arange(n).split(1000):
            images = torch.sigmoid(model.decode(torch.randn(len(chunk), model.latent_dim)))
        return images

    assert_rejected(ch5.sample_prior(last_chunk_only), "return images of shape (4000, 1, 28, 28)")


# -- device faults: CPU tensors that a GPU runtime would refuse to mix -------------------

@pytest.mark.parametrize("check, answer", [
    (ch5.reparameterize, lambda mu, logvar: mu + logvar.mul(0.5).exp() * torch.randn(mu.shape)),
    (ch5.reparameterize, lambda mu, logvar: mu + torch.exp(0.5 * logvar) * torch.normal(0.0, 1.0, size=mu.shape)),
    (ch5.kl_divergence, lambda mu, logvar, s=1.0: 0.5 * torch.sum(
        (mu**2 + logvar.exp()) / s**2 - torch.ones(mu.shape) - logvar + math.log(s**2))),
    (ch5.vae_loss, lambda logits, x, mu, logvar, beta=1.0: F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
     + beta * 0.5 * torch.sum(mu**2 + logvar.exp() - torch.ones(mu.shape) - logvar)),
    (ch5.sample_prior, torch.no_grad()(lambda model, n: model.eval() and None
                                       or torch.sigmoid(model.decode(torch.randn(n, model.latent_dim))))),
], ids=["randn", "normal", "kl-ones", "loss-ones", "prior-randn"])
def test_answers_that_make_cpu_tensors_are_rejected_on_any_machine(check, answer):
    assert_rejected(check(answer), "two devices")


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
