"""Answers a student might write for chapter 5's exercises (see ``tests/student_answers.py``).

For each exercise: correct answers written unlike the worked solution, and typical wrong ones
with the words the check's message must contain. The first of each kind is pasted into the
exercise version by ``tests/test_student_path.py``; every one is judged by ``tests/test_checks_ch5.py``.
"""

ANSWERS = {
    "ex-ch5-reparam": {
        "correct": [
            """\
def reparameterize(mu, logvar):
    std = logvar.mul(0.5).exp()
    return mu + std * torch.randn(mu.shape, device=mu.device, dtype=mu.dtype)
""",
            """\
def reparameterize(mu, logvar):
    return torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).rsample()
""",
            """\
def reparameterize(mu, logvar):
    noise = torch.normal(0.0, 1.0, size=mu.shape, device=mu.device)
    return torch.sqrt(torch.exp(logvar)) * noise + mu
""",
        ],
        "wrong": [
            ("""\
def reparameterize(mu, logvar):
    return mu + torch.exp(logvar) * torch.randn_like(mu)
""", "sigma = exp(logvar / 2)"),
            ("""\
def reparameterize(mu, logvar):
    return mu
""", "no noise"),
            ("""\
def reparameterize(mu, logvar):
    return torch.normal(mu, torch.exp(0.5 * logvar))
""", "no gradient"),
            ("""\
def reparameterize(mu, logvar):
    return mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape[0], 1, device=mu.device)
""", "share their noise"),
            ("""\
def reparameterize(mu, logvar):
    return mu + torch.exp(0.5 * logvar) * torch.randn(1, mu.shape[1], device=mu.device)
""", "every row of z - mu is the same"),
            ("""\
def reparameterize(mu, logvar):
    torch.manual_seed(0)
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
""", "fresh on every call"),
            ("""\
def reparameterize(mu, logvar):
    return mu + torch.exp(0.5 * logvar) * torch.rand_like(mu)
""", "not centred on mu"),
            ("""\
def reparameterize(mu, logvar):
    return mu + torch.exp(0.5 * logvar).detach() * torch.randn_like(mu)
""", "gradient does not reach logvar"),
        ],
    },
    "ex-ch5-kl": {
        "correct": [
            """\
def kl_divergence(mu, logvar, prior_std=1.0):
    sigma = torch.exp(0.5 * logvar)
    per_dimension = torch.log(prior_std / sigma) + (sigma**2 + mu**2) / (2 * prior_std**2) - 0.5
    return per_dimension.sum()
""",
            """\
def kl_divergence(mu, logvar, prior_std=1.0):
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), prior_std * torch.ones_like(mu))
    return torch.distributions.kl_divergence(q, p).sum()
""",
            """\
def kl_divergence(mu, logvar, prior_std=1.0):
    # the KL to N(0, s^2) is the KL to N(0, 1) of the codes divided by s
    m = mu / prior_std
    lv = logvar - 2 * math.log(prior_std)
    return 0.5 * torch.sum(m**2 + lv.exp() - 1 - lv)
""",
            """\
def kl_divergence(mu, logvar, prior_std=1.0):
    return -0.5 * torch.sum(1 + logvar - math.log(prior_std**2) - (mu.pow(2) + logvar.exp()) / prior_std**2)
""",
        ],
        "wrong": [
            ("""\
def kl_divergence(mu, logvar, prior_std=1.0):
    return 0.5 * torch.sum((mu**2 + logvar.exp()) / prior_std**2 - 1 - logvar)
""", "log s term"),
            ("""\
def kl_divergence(mu, logvar, prior_std=1.0):
    return 0.5 * torch.sum(mu**2 + logvar.exp() - 1 - logvar)
""", "ignores prior_std"),
            ("""\
def kl_divergence(mu, logvar, prior_std=1.0):
    return 0.5 * torch.sum(mu**2 + logvar.exp() / prior_std**2 - 1 - logvar + math.log(prior_std**2))
""", "mu^2 is not divided by s^2"),
            ("""\
def kl_divergence(mu, logvar, prior_std=1.0):
    return 0.5 * torch.sum((mu**2 + logvar.exp()) / prior_std - 1 - logvar + math.log(prior_std**2))
""", "divided by s where"),
            ("""\
def kl_divergence(mu, logvar, prior_std=1.0):
    prior_var = prior_std  # the variance s^2
    return 0.5 * torch.sum((mu**2 + logvar.exp()) / prior_var - 1 - logvar + math.log(prior_var))
""", "reads it as the variance"),
            ("""\
def kl_divergence(mu, logvar, prior_std=1.0):
    s2 = prior_std**2
    return 0.5 * torch.mean((mu**2 + logvar.exp()) / s2 - 1 - logvar + math.log(s2))
""", "summed over latents and images"),
            ("""\
def kl_divergence(mu, logvar, prior_std):
    s2 = prior_std**2
    return 0.5 * torch.sum((mu**2 + logvar.exp()) / s2 - 1 - logvar + math.log(s2))
""", "default of 1.0"),
            ("""\
def kl_divergence(mu, logvar):
    return 0.5 * torch.sum(mu**2 + logvar.exp() - 1 - logvar)
""", "third argument"),
            ("""\
def kl_divergence(mu, logvar, prior_std=1.0):
    s2 = prior_std**2
    return 0.5 * torch.sum((mu**2 + logvar.exp()) / s2 - 1 - logvar + math.log(s2)).item()
""", "must be a tensor"),
            ("""\
def kl_divergence(mu, logvar, prior_std=1.0):
    s2 = prior_std**2
    return -0.5 * torch.sum((mu**2 + logvar.exp()) / s2 - 1 - logvar + math.log(s2))
""", "sign is flipped"),
            ("""\
def kl_divergence(mu, logvar, prior_std=1.0):
    s2 = prior_std**2
    return 0.5 * torch.sum((mu**2 + (2 * logvar).exp()) / s2 - 1 - 2 * logvar + math.log(s2))
""", "not log sigma"),
            ("""\
def kl_divergence(mu, logvar, prior_std=1.0):
    s2 = prior_std**2
    return 0.5 * torch.sum((mu**2 + s2) / logvar.exp() - 1 + logvar - math.log(s2))
""", "other direction"),
            ("""\
def kl_divergence(mu, logvar, prior_std=1.0):
    s2 = prior_std**2
    return 0.5 * torch.sum((mu**2 + logvar.exp()) / s2 - logvar + math.log(s2))
""", "the -1 is missing"),
        ],
    },
    "ex-ch5-loss": {
        "correct": [
            """\
def vae_loss(logits, x, mu, logvar, beta=1.0):
    reconstruction = (F.softplus(logits) - x * logits).sum()  # -log p(x|z), Bernoulli, from logits
    return reconstruction + beta * kl_divergence(mu, logvar)
""",
            """\
def vae_loss(logits, x, mu, logvar, beta=1.0):
    log_px = x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)
    kl = 0.5 * torch.sum(mu**2 + logvar.exp() - 1 - logvar)
    return -log_px.sum() + beta * kl
""",
            """\
def vae_loss(logits, x, mu, logvar, beta=1.0):
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    kl = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu, (0.5 * logvar).exp()), torch.distributions.Normal(0.0, 1.0)).sum(1)
    return (bce + beta * kl).sum()
""",
        ],
        "wrong": [
            ("""\
def vae_loss(logits, x, mu, logvar, beta=1.0):
    reconstruction = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum")
    return reconstruction + beta * kl_divergence(mu, logvar)
""", "100 nats"),
            ("""\
def vae_loss(logits, x, mu, logvar, beta=1.0):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="sum") + kl_divergence(mu, logvar)
""", "beta does not weigh"),
            ("""\
def vae_loss(logits, x, mu, logvar, beta=1.0):
    return F.binary_cross_entropy_with_logits(logits, x) + beta * kl_divergence(mu, logvar)
""", "averaged over pixels"),
            ("""\
def vae_loss(logits, x, mu, logvar, beta=1.0):
    return F.binary_cross_entropy_with_logits(x, logits, reduction="sum") + beta * kl_divergence(mu, logvar)
""", "swapped"),
            ("""\
def vae_loss(logits, x, mu, logvar, beta):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="sum") + beta * kl_divergence(mu, logvar)
""", "default of 1.0"),
            ("""\
def vae_loss(logits, x, mu, logvar, beta=1.0):
    loss = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") + beta * kl_divergence(mu, logvar)
    return loss.item()
""", "must be a tensor"),
            ("""\
def vae_loss(logits, x, mu, logvar, beta=1.0):
    reconstruction = F.mse_loss(torch.sigmoid(logits), x, reduction="sum")
    return reconstruction + beta * kl_divergence(mu, logvar)
""", "Bernoulli negative log-likelihood"),
            ("""\
def vae_loss(logits, x, mu, logvar, beta=1.0):
    reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kl = kl_divergence(mu, logvar)
    return reconstruction + beta * kl, reconstruction, kl
""", "must be one tensor"),
            ("""\
def vae_loss(logits, x, mu, logvar, beta=1.0):
    loss = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") + beta * kl_divergence(mu, logvar)
    return loss.detach()
""", "carries no gradient"),
        ],
    },
    "ex-ch5-active": {
        "correct": [
            """\
def active_from_logvar(logvar):
    mean_sigma2 = torch.exp(logvar).mean(0)
    return [d for d in range(logvar.shape[1]) if mean_sigma2[d] < 0.99]
""",
            """\
def active_from_logvar(logvar):
    return 1 - logvar.exp().mean(dim=0) > 0.01  # a mask: Var(mu) = 1 - E[sigma^2]
""",
            """\
def active_from_logvar(logvar):
    variance_of_means = 1 - logvar.exp().mean(0)
    return torch.where(variance_of_means > 0.01)[0].tolist()
""",
            """\
def active_from_logvar(logvar):
    sigma2 = np.exp(logvar.detach().cpu().numpy())
    return np.flatnonzero(1.0 - sigma2.mean(axis=0) > 0.01)
""",
        ],
        "wrong": [
            ("""\
def active_from_logvar(logvar):
    sigma = logvar.mul(0.5).exp()
    return (sigma.mean(0) < 0.99).nonzero().flatten()
""", "the test on sigma"),
            ("""\
def active_from_logvar(logvar):
    return (logvar.exp().mean(0) >= 0.99).nonzero().flatten()
""", "inactive dimensions"),
            ("""\
def active_from_logvar(logvar):
    return (logvar.mean(0) < 0).nonzero().flatten()
""", "active as soon as"),
            ("""\
def active_from_logvar(logvar):
    return (logvar.exp().mean(0) > 0.01).nonzero().flatten()
""", "compares sigma^2 itself with 0.01"),
            ("""\
def active_from_logvar(logvar):
    return (logvar.var(0) > 0.01).nonzero().flatten()
""", "varies from image to image"),
            ("""\
def active_from_logvar(logvar):
    return (logvar[0].exp() < 0.99).nonzero().flatten()
""", "first image"),
            ("""\
def active_from_logvar(logvar):
    return (logvar.exp().mean(1) < 0.99).nonzero().flatten()
""", "per dimension"),
            ("""\
def active_from_logvar(logvar):
    return 1 - logvar.exp().mean(0)
""", "of floats"),
            ("""\
def active_from_logvar(logvar):
    return ((2 * logvar).exp().mean(0) < 0.99).nonzero().flatten()
""", "log sigma; it is log sigma^2"),
        ],
    },
    "ex-ch5-iwae": {
        "correct": [
            """\
def importance_log_likelihood(model, x, k):
    model.eval()
    with torch.no_grad():
        mu, logvar = model.encode(x)
        std = torch.exp(0.5 * logvar)
        z = mu + std * torch.randn(k, *mu.shape, device=mu.device)  # (k, n, d)
        n = x.shape[0]
        logits = model.decode(z.reshape(k * n, -1)).reshape(k, *x.shape)
        log_px_z = -F.binary_cross_entropy_with_logits(
            logits, x.expand(k, *x.shape), reduction="none").flatten(2).sum(-1)
        log_pz = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
        log_q = torch.distributions.Normal(mu, std).log_prob(z).sum(-1)
        log_w = log_px_z + log_pz - log_q
        top = log_w.max(dim=0).values
        return top + torch.log(torch.exp(log_w - top).mean(0))
""",
            """\
def importance_log_likelihood(model, x, k):
    model.eval()
    out = []
    with torch.inference_mode():
        for image in x.split(1):
            mu, logvar = model.encode(image)
            q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
            z = q.sample((k,)).reshape(k, -1)
            logits = model.decode(z)
            log_px_z = -F.binary_cross_entropy_with_logits(
                logits, image.expand_as(logits), reduction="none").sum((1, 2, 3))
            log_prior = -0.5 * (z**2 + math.log(2 * math.pi)).sum(-1)
            log_w = log_px_z + log_prior - q.log_prob(z).sum(-1)
            out.append(torch.logsumexp(log_w, 0) - math.log(k))
    return torch.stack(out)
""",
            """\
def importance_log_likelihood(model, x, k):
    model.eval()
    with torch.no_grad():
        mu, logvar = model.encode(x)
        eps = torch.randn(k, *mu.shape, device=mu.device)
        z = mu + torch.exp(0.5 * logvar) * eps
        log_q = -0.5 * (eps**2 + logvar + math.log(2 * math.pi)).sum(-1)
        log_prior = -0.5 * (z**2 + math.log(2 * math.pi)).sum(-1)
        logits = model.decode(z.flatten(0, 1)).view(k, *x.shape)
        log_px_z = (x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)).flatten(2).sum(-1)
        return (torch.logsumexp(log_px_z + log_prior - log_q, dim=0) - math.log(k)).tolist()
""",
        ],
        "wrong": [
            ("""\
def importance_log_likelihood(model, x, k):
    model.eval()
    with torch.no_grad():
        mu, logvar = model.encode(x)
        eps = torch.randn(k, *mu.shape, device=mu.device)
        z = mu + torch.exp(0.5 * logvar) * eps
        log_q = -0.5 * (eps**2 + logvar + math.log(2 * math.pi)).sum(-1)
        log_prior = -0.5 * (z**2 + math.log(2 * math.pi)).sum(-1)
        logits = model.decode(z.flatten(0, 1)).view(k, *x.shape)
        log_px_z = -F.binary_cross_entropy_with_logits(
            logits, x.expand_as(logits), reduction="none").flatten(2).sum(-1)
        return torch.logsumexp(log_px_z + log_prior - log_q, dim=0)
""", "not divided by k"),
            ("""\
def importance_log_likelihood(model, x, k):
    model.eval()
    with torch.no_grad():
        mu, logvar = model.encode(x)
        eps = torch.randn(k, *mu.shape, device=mu.device)
        z = mu + torch.exp(0.5 * logvar) * eps
        log_q = -0.5 * (eps**2 + logvar + math.log(2 * math.pi)).sum(-1)
        log_prior = -0.5 * (z**2 + math.log(2 * math.pi)).sum(-1)
        logits = model.decode(z.flatten(0, 1)).view(k, *x.shape)
        log_px_z = -F.binary_cross_entropy_with_logits(
            logits, x.expand_as(logits), reduction="none").flatten(2).sum(-1)
        return torch.log(torch.exp(log_px_z + log_prior - log_q).mean(0))
""", "log 0 = -inf"),
            ("""\
def importance_log_likelihood(model, x, k):
    model.eval()
    with torch.no_grad():
        mu, logvar = model.encode(x)
        eps = torch.randn(k, *mu.shape, device=mu.device)
        z = mu + torch.exp(0.5 * logvar) * eps
        log_q = -0.5 * (eps**2 + logvar + math.log(2 * math.pi)).sum(-1)
        log_prior = -0.5 * (z**2 + math.log(2 * math.pi)).sum(-1)
        logits = model.decode(z.flatten(0, 1)).view(k, *x.shape)
        log_px_z = -F.binary_cross_entropy_with_logits(
            logits, x.expand_as(logits), reduction="none").flatten(2).sum(-1)
        return (log_px_z + log_prior - log_q).mean(0)
""", "That is the ELBO"),
            ("""\
def importance_log_likelihood(model, x, k):
    model.eval()
    with torch.no_grad():
        mu, logvar = model.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn(k, *mu.shape, device=mu.device)
        log_prior = -0.5 * (z**2 + math.log(2 * math.pi)).sum(-1)
        logits = model.decode(z.flatten(0, 1)).view(k, *x.shape)
        log_px_z = -F.binary_cross_entropy_with_logits(
            logits, x.expand_as(logits), reduction="none").flatten(2).sum(-1)
        return torch.logsumexp(log_px_z + log_prior, dim=0) - math.log(k)
""", "- log q(z|x) term is missing"),
            ("""\
def importance_log_likelihood(model, x, k):
    model.eval()
    with torch.no_grad():
        n = x.shape[0]
        z = torch.randn(k * n, model.latent_dim, device=x.device)
        logits = model.decode(z).view(k, *x.shape)
        log_px_z = -F.binary_cross_entropy_with_logits(
            logits, x.expand_as(logits), reduction="none").flatten(2).sum(-1)
        return torch.logsumexp(log_px_z, dim=0) - math.log(k)
""", "draws from the prior"),
            ("""\
def importance_log_likelihood(model, x, k):
    with torch.no_grad():
        mu, logvar = model.encode(x)
        eps = torch.randn(k, *mu.shape, device=mu.device)
        z = mu + torch.exp(0.5 * logvar) * eps
        log_q = -0.5 * (eps**2 + logvar + math.log(2 * math.pi)).sum(-1)
        log_prior = -0.5 * (z**2 + math.log(2 * math.pi)).sum(-1)
        logits = model.decode(z.flatten(0, 1)).view(k, *x.shape)
        log_px_z = -F.binary_cross_entropy_with_logits(
            logits, x.expand_as(logits), reduction="none").flatten(2).sum(-1)
        return torch.logsumexp(log_px_z + log_prior - log_q, dim=0) - math.log(k)
""", "training mode"),
            ("""\
def importance_log_likelihood(model, x, k):
    model.eval()
    mu, logvar = model.encode(x)
    eps = torch.randn(k, *mu.shape, device=mu.device)
    z = mu + torch.exp(0.5 * logvar) * eps
    log_q = -0.5 * (eps**2 + logvar + math.log(2 * math.pi)).sum(-1)
    log_prior = -0.5 * (z**2 + math.log(2 * math.pi)).sum(-1)
    logits = model.decode(z.flatten(0, 1)).view(k, *x.shape)
    log_px_z = -F.binary_cross_entropy_with_logits(
        logits, x.expand_as(logits), reduction="none").flatten(2).sum(-1)
    return (torch.logsumexp(log_px_z + log_prior - log_q, dim=0) - math.log(k)).detach()
""", "built a graph"),
            ("""\
def importance_log_likelihood(model, x, k):
    from aecourse.likelihood import vae_log_likelihood
    return vae_log_likelihood(model, x, k)
""", "course's own vae_log_likelihood"),
            ("""\
def importance_log_likelihood(model, x, k):
    model.eval()
    with torch.no_grad():
        mu, logvar = model.encode(x)
        eps = torch.randn(k, *mu.shape, device=mu.device)
        z = mu + torch.exp(0.5 * logvar) * eps
        log_q = -0.5 * (eps**2 + logvar + math.log(2 * math.pi)).sum(-1)
        log_prior = -0.5 * (z**2 + math.log(2 * math.pi)).sum(-1)
        logits = model.decode(z.flatten(0, 1)).view(k, *x.shape)
        log_px_z = -F.binary_cross_entropy_with_logits(
            logits, x.expand_as(logits), reduction="none").flatten(2).sum(-1)
        return (torch.logsumexp(log_px_z + log_prior - log_q, dim=0) - math.log(k)).mean()
""", "per image"),
        ],
    },
    "ex-ch5-sample": {
        "correct": [
            """\
@torch.no_grad()
def sample_prior(model, n):
    model.eval()
    p = next(model.parameters())
    z = torch.distributions.Normal(torch.zeros(n, model.latent_dim, device=p.device), 1.0).sample()
    return torch.sigmoid(model.decode(z))
""",
            """\
def sample_prior(model, n):
    model.eval()
    where = next(model.parameters()).device
    with torch.inference_mode():
        return model.decode(torch.randn(n, model.latent_dim, device=where)).sigmoid()
""",
            """\
def sample_prior(model, n):
    was_training = model.training
    model.eval()
    where = next(model.parameters()).device
    with torch.no_grad():
        parts = [torch.sigmoid(model.decode(torch.randn(len(chunk), model.latent_dim, device=where)))
                 for chunk in torch.arange(n).split(1000)]
    model.train(was_training)
    return torch.cat(parts)
""",
        ],
        "wrong": [
            ("""\
@torch.no_grad()
def sample_prior(model, n):
    z = torch.randn(n, model.latent_dim, device=next(model.parameters()).device)
    return torch.sigmoid(model.decode(z))
""", "training mode"),
            ("""\
@torch.no_grad()
def sample_prior(model, n):
    model.eval()
    return model.decode(torch.randn(n, model.latent_dim, device=next(model.parameters()).device))
""", "outside [0, 1]"),
            ("""\
def sample_prior(model, n):
    model.eval()
    return torch.sigmoid(model.decode(torch.randn(n, model.latent_dim, device=next(model.parameters()).device)))
""", "built a graph"),
            ("""\
@torch.no_grad()
def sample_prior(model, n):
    model.eval()
    z = torch.randn(n, model.latent_dim, device=next(model.parameters()).device)
    return torch.sigmoid(torch.sigmoid(model.decode(z)))
""", "applied twice"),
            ("""\
@torch.no_grad()
def sample_prior(model, n):
    model.eval()
    z = torch.rand(n, model.latent_dim, device=next(model.parameters()).device)
    return torch.sigmoid(model.decode(z))
""", "mean 0 and standard deviation 1"),
            ("""\
@torch.no_grad()
def sample_prior(model, n):
    model.eval()
    z = torch.randn(64, model.latent_dim, device=next(model.parameters()).device)
    return torch.sigmoid(model.decode(z))
""", "for n = 4000"),
            ("""\
@torch.no_grad()
def sample_prior(model, n):
    model.eval()
    z = torch.randn(n, 1, device=next(model.parameters()).device).expand(n, model.latent_dim)
    return torch.sigmoid(model.decode(z))
""", "correlated"),
        ],
    },
    "ex-ch5-beta": {
        "correct": [
            "more_active_beta = 0.2\nlowest_neg_elbo_beta = 1\n",
            "more_active_beta = 1 / 5  # KL is cheapest there\nlowest_neg_elbo_beta = 1.0\n",
            "more_active_beta = np.float64(0.2)\nlowest_neg_elbo_beta = torch.tensor(1.0)\n",
            "more_active_beta = 0.2\nlowest_neg_elbo_beta = 0.2  # a short run can end this way\n",
        ],
        "wrong": [
            ("more_active_beta = 5.0\nlowest_neg_elbo_beta = 1.0\n", "switches more dimensions off"),
            ("more_active_beta = 0.2\nlowest_neg_elbo_beta = 5\n", "overprices"),
            ("more_active_beta = '0.2'\nlowest_neg_elbo_beta = 1.0\n", "must be a number"),
            ("more_active_beta = 1.0\nlowest_neg_elbo_beta = 1.0\n", "one of the values of beta it compares"),
            ("more_active_beta = 5\nlowest_neg_elbo_beta = 5\n", "switches more dimensions off"),
        ],
    },
}
