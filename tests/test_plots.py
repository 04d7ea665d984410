"""Figures: loss curves and originals-over-reconstructions grids (Agg backend)."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from aecourse import plots
from aecourse.plots import plot_losses, show_images, show_reconstructions

CELL = 28 + 2  # one image plus make_grid's padding


def test_backend_is_agg():
    """The tests draw off-screen."""
    assert matplotlib.get_backend().lower() == "agg"


def _digits(n, seed):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def test_show_reconstructions_layout():
    """Grayscale on a fixed [0, 1] scale; originals in the top row, reconstructions below."""
    originals, reconstructions = _digits(4, 0), _digits(4, 1)
    ax = show_reconstructions(originals, reconstructions.reshape(4, 784), title="ae")
    assert ax.get_title() == "ae"
    image = ax.get_images()[0]
    assert image.get_cmap().name == "gray"
    assert image.get_clim() == (0.0, 1.0)
    grid = np.asarray(image.get_array())
    assert grid.ndim == 2  # one channel: gray, not RGB
    assert grid.shape == (2 * CELL + 2, 4 * CELL + 2)
    for i in range(4):
        cols = slice(2 + i * CELL, 2 + i * CELL + 28)
        np.testing.assert_allclose(grid[2:30, cols], originals[i, 0].numpy(), atol=1e-6)
        np.testing.assert_allclose(grid[2 + CELL : 30 + CELL, cols], reconstructions[i, 0].numpy(), atol=1e-6)


def test_show_reconstructions_keeps_first_n_and_clamps():
    """Only the first n pairs are shown, and values are clipped to [0, 1]."""
    originals = _digits(12, 2) * 3 - 1
    ax = show_reconstructions(originals, originals.reshape(12, 28, 28), n=5)
    grid = np.asarray(ax.get_images()[0].get_array())
    assert grid.shape[1] == 5 * CELL + 2
    assert grid.min() >= 0.0 and grid.max() <= 1.0


def test_show_reconstructions_draws_on_given_axes():
    """An ax passed in is drawn on and returned."""
    _, ax = plt.subplots()
    assert show_reconstructions(_digits(2, 0), _digits(2, 1), ax=ax) is ax


def test_show_reconstructions_rejects_mismatched_shapes():
    """Different numbers of images, or non-MNIST shapes, raise ValueError."""
    with pytest.raises(ValueError, match="differ in shape"):
        show_reconstructions(_digits(5, 0), _digits(3, 1))
    with pytest.raises(ValueError, match="MNIST-shaped"):
        show_reconstructions(_digits(3, 0), torch.rand(3, 100))


def test_show_images_grid():
    """show_images lays images out nrow to a row."""
    ax = show_images(_digits(6, 0), nrow=3)
    grid = np.asarray(ax.get_images()[0].get_array())
    assert grid.shape == (2 * CELL + 2, 3 * CELL + 2)


def test_plot_losses_one_line_per_curve():
    """Each named curve becomes one line, x counted from 1, with a legend."""
    curves = {"train": [3.0, 2.0, 1.5], "test": [3.5, 2.5, 2.0]}
    ax = plot_losses(curves, log=True, title="losses")
    lines = ax.get_lines()
    assert len(lines) == 2
    assert [line.get_label() for line in lines] == ["train", "test"]
    assert list(lines[0].get_xdata()) == [1, 2, 3]
    assert list(lines[1].get_ydata()) == [3.5, 2.5, 2.0]
    assert ax.get_yscale() == "log"
    assert ax.get_legend() is not None
    assert ax.get_title() == "losses"


def test_plot_losses_single_curve():
    """A single curve is drawn without a legend on a linear scale."""
    ax = plot_losses({"step": [1.0, 0.5, 0.25, 0.2]}, xlabel="step")
    assert len(ax.get_lines()) == 1
    assert ax.get_legend() is None
    assert ax.get_yscale() == "linear"
    assert ax.get_xlabel() == "step"


def test_show_filters_puts_zero_at_mid_grey_and_scales_each_filter_alone():
    weights = torch.zeros(2, 784)
    weights[0, 0], weights[0, 1] = 1.0, -1.0  # a strong filter
    weights[1, 0] = 1e-4  # a filter 10,000 times weaker, which must show as strongly
    ax = plots.show_filters(weights, nrow=2)
    grid = ax.get_images()[0].get_array()
    # make_grid pads by 2 pixels; filter 0 starts at (2, 2), filter 1 at (2, 32)
    assert grid[2, 2] == pytest.approx(1.0) and grid[2, 3] == pytest.approx(0.0)
    assert grid[2, 32] == pytest.approx(1.0), "a weak filter is scaled to its own maximum"
    assert grid[10, 10] == pytest.approx(0.5), "zero weight is mid-grey"
    plt.close("all")


def test_show_filters_wants_784_weights_a_row():
    with pytest.raises(ValueError, match="784 weights"):
        plots.show_filters(torch.zeros(3, 100))
