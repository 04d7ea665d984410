"""Chapter 4 compares its convolutional autoencoder with "chapter 2's network": make sure it is.

Chapter 4 writes the fully connected model compactly (``MLPAutoencoder``, a loop over
widths); chapter 2 spells it out layer by layer (``DeepAutoencoder``). Both cells are
tagged ``export``; this test runs them and compares the layers, so a change to either
that breaks the comparison fails here instead of silently in the prose.
"""

import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from notebook_code import from_notebook  # noqa: E402


def layer_shapes(module: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    """Each parameterised or activation layer in order, with its weight's shape."""
    found = []
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            found.append(("Linear", tuple(layer.weight.shape)))
        elif isinstance(layer, (nn.ReLU, nn.Sigmoid)):
            found.append((type(layer).__name__, ()))
    return found


def test_chapter_4s_fully_connected_model_is_chapter_2s():
    MLPAutoencoder = from_notebook("04_conv_denoising_sparse", "MLPAutoencoder", namespace={"nn": nn, "CODE_SIZE": 9})
    DeepAutoencoder = from_notebook("02_deep_autoencoder", "DeepAutoencoder", namespace={"nn": nn})
    ours, theirs = MLPAutoencoder(), DeepAutoencoder()
    assert layer_shapes(ours.encoder) == layer_shapes(theirs.encoder)
    assert layer_shapes(ours.decoder) == layer_shapes(theirs.decoder)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters()) == 224_601


def test_it_takes_images_and_uses_he_initialisation():
    MLPAutoencoder = from_notebook("04_conv_denoising_sparse", "MLPAutoencoder", namespace={"nn": nn, "CODE_SIZE": 9})
    torch.manual_seed(0)
    model = MLPAutoencoder()
    images = torch.rand(5, 1, 28, 28)
    assert model.encoder(images).shape == (5, 9)
    assert model(images).shape == (5, 1, 28, 28)
    first = model.encoder[1]
    assert torch.all(first.bias == 0)
    assert abs(first.weight.std().item() - (2 / 784) ** 0.5) < 0.1 * (2 / 784) ** 0.5  # He: sqrt(2 / fan_in)
