"""Chapter 6's shipped weights reproduce the numbers its stored run glues, and meet its targets.

The notebook saves the weights of its full run (the fixed VQ model, its prior, the Bernoulli
model and its prior); the course ships those in ``aecourse/checkpoints``. Here they are loaded
into the notebook's own classes (its ``export`` cells, see ``tools/notebook_code.py``) and the
numbers are recomputed from scratch on the MNIST test set: code usage and perplexity with a
plain ``bincount``, the prior's code length with a plain cross-entropy, the bound on
``-log p(x)`` on chapter 5's binarised test digits. Each must match the value the chapter
glues, and the issue's targets: 90 % of codes used, a perplexity of at least K/2, a prior at
least 25 % below the uniform code length.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import nbformat
import pytest
import torch
import torch.nn.functional as F

from aecourse.checkpoint import bundled_checkpoint, load_checkpoint
from aecourse.data import load_mnist
from aecourse.glue import glued_values
from aecourse.likelihood import binarize

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from notebook_code import from_notebook  # noqa: E402

NAMES = ["ch6_vq_fixed.pt", "ch6_vq_prior.pt", "ch6_vq_bernoulli.pt", "ch6_vq_bernoulli_prior.pt"]


def reference_quantise(z, codebook):
    """The exercise's quantiser, written here so the test does not rest on a student's cell."""
    indices = torch.cdist(z, codebook).argmin(dim=1)
    return z + (codebook[indices] - z).detach(), indices


def classes():
    namespace = {"torch": torch, "nn": torch.nn, "F": F, "quantise": reference_quantise}
    return from_notebook("06_vq_vae", "VQAutoencoder", "CodePrior", "K", namespace=namespace)


def glued(name: str) -> float:
    return float(glued_values(nbformat.read(ROOT / "notebooks" / "06_vq_vae.ipynb", as_version=4))[name])


def codes_of(model, images: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return torch.cat([model.quantise_vectors(model.vectors(chunk))[1].view(-1, 7, 7)
                          for chunk in images.split(1000)])


def code_length_nats(prior, codes: torch.Tensor) -> torch.Tensor:
    prior.eval()
    with torch.no_grad():
        return torch.cat([F.cross_entropy(prior(chunk), chunk, reduction="none").flatten(1).sum(1)
                          for chunk in codes.split(1000)])


@pytest.fixture(scope="module")
def test_images(mnist_dir):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AECOURSE_DATA", str(mnist_dir))
        return load_mnist(train=False).images


@pytest.mark.parametrize("name", NAMES)
def test_each_shipped_checkpoint_fits_the_notebooks_class(name):
    VQAutoencoder, CodePrior, K = classes()
    model = VQAutoencoder(normalise=True) if "prior" not in name else CodePrior()
    extra = load_checkpoint(bundled_checkpoint(name), model)
    assert extra["codebook_size"] == K == 64


def test_the_fixed_model_uses_its_codebook_as_the_chapter_says(test_images):
    VQAutoencoder, CodePrior, K = classes()
    model = VQAutoencoder(normalise=True)
    load_checkpoint(bundled_checkpoint("ch6_vq_fixed.pt"), model)
    codes = codes_of(model, test_images)
    counts = torch.bincount(codes.flatten(), minlength=K).double()
    p = counts[counts > 0] / counts.sum()
    perplexity = math.exp(-(p * p.log()).sum().item())
    used = int((counts > 0).sum())
    assert used == int(glued("fixed_used")) and used >= 0.9 * K
    assert perplexity == pytest.approx(glued("fixed_perplexity"), rel=1e-3) and perplexity >= K / 2

    prior = CodePrior()
    load_checkpoint(bundled_checkpoint("ch6_vq_prior.pt"), prior)
    bits = code_length_nats(prior, codes).mean().item() / math.log(2)
    assert bits == pytest.approx(glued("prior_bits"), rel=1e-3)
    assert bits <= 0.75 * 49 * math.log2(K), "the prior must beat the uniform code length by a quarter"


def test_the_bound_recomputes_on_chapter_5s_binarised_digits(test_images):
    VQAutoencoder, CodePrior, K = classes()
    model, prior = VQAutoencoder(normalise=True), CodePrior()
    load_checkpoint(bundled_checkpoint("ch6_vq_bernoulli.pt"), model)
    load_checkpoint(bundled_checkpoint("ch6_vq_bernoulli_prior.pt"), prior)
    binary = binarize(test_images, torch.Generator().manual_seed(2016))
    codes = codes_of(model, binary)
    with torch.no_grad():
        logits = torch.cat([model.decode_indices(chunk) for chunk in codes.split(1000)])
    pixels = F.binary_cross_entropy_with_logits(logits, binary, reduction="none").flatten(1).sum(1)
    bound = (pixels + code_length_nats(prior, codes)).mean().item()
    assert bound == pytest.approx(glued("bound"), rel=1e-3)
