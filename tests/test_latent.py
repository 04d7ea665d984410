"""Latent-space figures and the explorer widget: shapes, orientation, live redraw."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

from aecourse.plots import DIGIT_COLOURS, DIGIT_MARKERS, plot_latent_scatter, show_latent_grid
from aecourse.widgets import decode_one, latent_explorer


class CodeToImage(nn.Module):
    """Decodes (z0, z1) into an image whose left half is sigmoid(z0), right half sigmoid(z1)."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, z):
        left = torch.sigmoid(z[:, :1]).expand(-1, 14 * 28).reshape(-1, 28, 14)
        right = torch.sigmoid(z[:, 1:2]).expand(-1, 14 * 28).reshape(-1, 28, 14)
        return torch.cat([left, right], dim=2).reshape(-1, 784) + self.dummy


def test_scatter_has_one_series_per_digit_with_distinct_colours_and_markers():
    codes = torch.randn(500, 2)
    labels = torch.arange(500) % 10
    ax = plot_latent_scatter(codes, labels)
    assert len(ax.collections) == 10
    assert len(set(DIGIT_COLOURS)) == 10 and len(set(DIGIT_MARKERS)) == 10
    plt.close("all")


def test_scatter_names_each_cluster_at_its_median_so_it_reads_without_colour():
    labels = torch.arange(100) % 10
    codes = torch.stack([labels.float() * 3, -labels.float()], dim=1)  # digit d sits at (3d, -d)
    ax = plot_latent_scatter(codes, labels)
    placed = {t.get_text(): t.get_position() for t in ax.texts}
    assert placed == {str(d): (3.0 * d, -1.0 * d) for d in range(10)}
    plt.close("all")


def test_scatter_rejects_codes_that_are_not_two_dimensional():
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plot_latent_scatter(torch.randn(5, 3), torch.zeros(5))


def test_latent_grid_puts_the_first_code_left_to_right_and_the_second_bottom_to_top():
    decoder = CodeToImage()
    ax = show_latent_grid(decoder, low=(-6, -6), high=(6, 6), n=3)
    image = ax.get_images()[0].get_array()
    cell = lambda row, col: image[2 + row * 30 : 2 + row * 30 + 28, 2 + col * 30 : 2 + col * 30 + 28]
    # first code grows to the right: left half of the image brightens along a row
    assert cell(0, 0)[:, :14].mean() < 0.1 < 0.9 < cell(0, 2)[:, :14].mean()
    # second code grows upwards: right half is brightest in the top row
    assert cell(2, 0)[:, 14:].mean() < 0.1 < 0.9 < cell(0, 0)[:, 14:].mean()
    plt.close("all")


def test_decode_one_returns_an_image_and_keeps_the_training_mode():
    decoder = CodeToImage()
    decoder.train()
    image = decode_one(decoder, torch.tensor([0.0, 0.0]))
    assert image.shape == (28, 28) and torch.allclose(image, torch.full((28, 28), 0.5))
    assert decoder.training
    assert not image.requires_grad


def test_decoding_through_a_wrapper_leaves_the_wrapped_model_in_its_mode():
    """A fresh nn.Sequential around a model in eval mode is in training mode itself; decoding
    through it must not put the shared decoder into training mode."""
    decoder = CodeToImage()
    decoder.eval()
    wrapper = torch.nn.Sequential(decoder)
    decode_one(wrapper, torch.tensor([0.0, 0.0]))
    show_latent_grid(wrapper, low=(-1, -1), high=(1, 1), n=2)
    plt.close("all")
    assert wrapper.training and not decoder.training


def test_explorer_has_a_slider_per_code_and_redraws_when_one_moves():
    box = latent_explorer(CodeToImage(), torch.tensor([0.5, -1.0]), spread=2.0)
    sliders = box.children[0].children
    assert [s.value for s in sliders] == [0.5, -1.0]
    assert (sliders[0].min, sliders[0].max) == (-1.5, 2.5)
    sliders[1].value = 1.5  # fires the redraw; an error would raise here
    plt.close("all")
