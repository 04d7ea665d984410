"""The checkpoints kept for chapter 5 fit the model the notebook defines.

The model's class lives in the notebook, where students read it; this test
executes that very cell (tagged ``export``, see ``tools/notebook_code.py``), so
a change to the model without retraining fails here with the checkpoint's own
clear error rather than in a reader's Colab session.
"""

import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from aecourse.checkpoint import bundled_checkpoint, load_checkpoint
from aecourse.vae import reparameterize

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from notebook_code import from_notebook  # noqa: E402


def notebook_namespace() -> dict:
    """What chapter 5's exported cells use and do not import themselves."""
    return {"torch": torch, "nn": torch.nn, "F": F, "reparameterize": reparameterize}


def notebook_model_class():
    return from_notebook("05_conv_vae", "ConvVAE", namespace=notebook_namespace())


@pytest.mark.parametrize(("name", "latent_dim"), [("ch5_conv_vae.pt", 32), ("ch5_conv_vae_2d.pt", 2)])
def test_kept_checkpoint_loads_into_the_notebooks_model(name, latent_dim):
    model = notebook_model_class()(latent_dim=latent_dim)
    extra = load_checkpoint(bundled_checkpoint(name), model)
    curves = extra["curves"]
    assert len(curves["neg_elbo"]) == len(curves["kl"]) >= 1
    assert all(kl > 1.0 for kl in curves["kl"]), "KL near 0 would mean posterior collapse"
    model.eval()
    with torch.no_grad():
        logits, mu, logvar = model(torch.rand(4, 1, 28, 28))
    assert logits.shape == (4, 1, 28, 28) and mu.shape == (4, latent_dim)


@pytest.mark.parametrize(("name", "latent_dim"), [("ch5_conv_vae.pt", 32), ("ch5_conv_vae_2d.pt", 2)])
def test_shipped_weights_reproduce_their_stored_test_score(name, latent_dim, use_mnist):
    """The shipped weights, evaluated on the 10,000 test digits now, score what training stored.

    Each evaluation draws a fresh z per image, so the two scores differ by sampling noise.
    Bounded by three standard errors of the mean over images (a generous bound: only z
    differs between the runs, not the images); a wrong or stale checkpoint misses by far more.
    """
    from aecourse.data import load_mnist
    from aecourse.vae import bernoulli_nll, kl_to_standard_normal

    model = notebook_model_class()(latent_dim=latent_dim)
    stored = load_checkpoint(bundled_checkpoint(name), model)["curves"]["neg_elbo"][-1]
    test = load_mnist(train=False)
    model.eval()
    torch.manual_seed(0)
    with torch.no_grad():
        scores = []
        for batch in test.images.split(1000):
            logits, mu, logvar = model(batch)
            scores += [float(bernoulli_nll(l, x) + kl_to_standard_normal(m, v))
                       for l, x, m, v in zip(logits, batch, mu.unsqueeze(1), logvar.unsqueeze(1))]
    scores = torch.tensor(scores)
    standard_error = float(scores.std()) / len(scores) ** 0.5
    assert abs(float(scores.mean()) - stored) < 3 * standard_error, (
        f"{name}: test -ELBO {float(scores.mean()):.2f} now, {stored:.2f} stored (standard error {standard_error:.2f})"
    )


def test_kept_checkpoint_is_small():
    assert bundled_checkpoint("ch5_conv_vae.pt").stat().st_size < 6_000_000


def test_a_name_no_cell_defines_is_a_clear_error():
    with pytest.raises(LookupError, match="defines NoSuchModel"):
        from_notebook("05_conv_vae", "NoSuchModel", namespace={})


def test_the_plain_2d_autoencoder_reproduces_its_stored_test_score(use_mnist):
    """The deterministic 2-D autoencoder of the PCA/AE/VAE comparison: its shipped weights load
    into the notebook's ``ConvAE`` and give back the test BCE its training stored (no sampling,
    so up to float32 summation order)."""
    from aecourse.data import load_mnist

    model = from_notebook("05_conv_vae", "ConvAE", namespace=notebook_namespace())(latent_dim=2)
    stored = load_checkpoint(bundled_checkpoint("ch5_conv_ae_2d.pt"), model)["curves"]["reconstruction"][-1]
    test = load_mnist(train=False)
    model.eval()
    with torch.no_grad():
        total = sum(F.binary_cross_entropy_with_logits(model(chunk), chunk, reduction="sum").item()
                    for chunk in test.images.split(1000))
    assert total / len(test.images) == pytest.approx(stored, rel=1e-4)


def test_the_binarised_model_scores_its_stored_test_loss_on_the_fixed_binary_test_set(use_mnist):
    """The weights of the honest-likelihood section: trained on dynamically binarised MNIST, they
    score on the test set binarised once with seed 2016 what training stored (one z per image,
    so within three standard errors), and far better there than on grey pixels, which a
    Bernoulli decoder was not trained to describe."""
    from aecourse.data import load_mnist
    from aecourse.likelihood import binarize
    from aecourse.vae import bernoulli_nll, kl_to_standard_normal

    model = notebook_model_class()(latent_dim=32)
    kept = load_checkpoint(bundled_checkpoint("ch5_conv_vae_binarized.pt"), model)
    stored = kept["curves"]["test_neg_elbo"][-1]
    assert "binaris" in kept["recipe"] and "2016" in kept["test_set"]
    images = load_mnist(train=False).images
    binary = binarize(images, torch.Generator().manual_seed(2016))
    model.eval()
    torch.manual_seed(0)
    with torch.no_grad():
        scores = []
        for batch in binary.split(1000):
            logits, mu, logvar = model(batch)
            scores += [float(bernoulli_nll(l, x) + kl_to_standard_normal(m, v))
                       for l, x, m, v in zip(logits, batch, mu.unsqueeze(1), logvar.unsqueeze(1))]
    scores = torch.tensor(scores)
    standard_error = float(scores.std()) / len(scores) ** 0.5
    assert abs(float(scores.mean()) - stored) < 3 * standard_error, (float(scores.mean()), stored)
    assert float(scores.mean()) < 100, "a VAE trained on binary MNIST scores below 100 nats per image"
    assert bundled_checkpoint("ch5_conv_vae_binarized.pt").stat().st_size < 6_000_000
