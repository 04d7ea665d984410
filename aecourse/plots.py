"""Figures the chapters share: loss curves and originals over reconstructions.

Each function draws on an ``ax`` (a new figure when none is given) and
returns it, so a notebook can combine panels and end the cell with
``plt.show()`` instead of printing an object's address.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator
from torch import Tensor
from torchvision.utils import make_grid

from aecourse.train import evaluating

IMAGE_SIDE = 28


def plot_losses(
    curves: Mapping[str, Sequence[float]],
    *,
    xlabel: str = "epoch",
    ylabel: str = "loss",
    log: bool = False,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Draw one line per named loss curve, x counted from 1."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for name, values in curves.items():
        ax.plot(range(1, len(values) + 1), list(values), label=name)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    if len(curves) > 1:
        ax.legend()
    ax.grid(alpha=0.3)
    return ax


def _as_images(x: Tensor) -> Tensor:
    """``(N, 784)`` or ``(N, 28, 28)`` or ``(N, 1, 28, 28)`` -> ``(N, 1, 28, 28)`` on the CPU."""
    x = x.detach().to("cpu", torch.float32)
    if x.ndim == 2 and x.shape[1] == IMAGE_SIDE * IMAGE_SIDE:
        return x.reshape(-1, 1, IMAGE_SIDE, IMAGE_SIDE)
    if x.ndim == 3:
        return x.unsqueeze(1)
    if x.ndim == 4 and x.shape[1] == 1:
        return x
    raise ValueError(f"expected MNIST-shaped images, got shape {tuple(x.shape)}")


def show_images(images: Tensor, *, nrow: int = 10, title: str | None = None, ax: Axes | None = None) -> Axes:
    """A grid of gray images, 0 black and 1 white, on a fixed scale."""
    grid = make_grid(_as_images(images).clamp(0, 1), nrow=nrow, padding=2, pad_value=0.5)
    if ax is None:
        rows = (grid.shape[1]) / (IMAGE_SIDE + 2)
        _, ax = plt.subplots(figsize=(nrow * 0.6, rows * 0.6 + 0.4))
    ax.imshow(grid[0].numpy(), cmap="gray", vmin=0.0, vmax=1.0)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def show_reconstructions(
    originals: Tensor, reconstructions: Tensor, *, n: int = 10, title: str | None = None, ax: Axes | None = None
) -> Axes:
    """Originals in the top row, their reconstructions underneath, in gray."""
    top, bottom = _as_images(originals[:n]), _as_images(reconstructions[:n])
    if top.shape != bottom.shape:
        raise ValueError(f"originals {tuple(top.shape)} and reconstructions {tuple(bottom.shape)} differ in shape")
    ax = show_images(torch.cat([top, bottom]), nrow=top.shape[0], ax=ax, title=title)
    return ax


# Ten digit classes need ten distinguishable colours: Okabe-Ito's eight
# colour-blind-safe hues plus black and grey, and a marker per class so the
# classes stay apart in grayscale too.
DIGIT_COLOURS = (
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2",
    "#D55E00", "#CC79A7", "#000000", "#999999", "#882255",
)
DIGIT_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "<", ">")


def plot_latent_scatter(
    codes: Tensor, labels: Tensor, *, title: str | None = None, ax: Axes | None = None, size: float = 4.0
) -> Axes:
    """Scatter 2-D codes ``(N, 2)``, one colour and marker per digit label.

    Colours come from a colour-blind-safe palette, and each cluster also carries
    its digit as a label at its median, so the figure reads in grayscale too.
    """
    codes, labels = codes.detach().cpu(), labels.detach().cpu()
    if codes.ndim != 2 or codes.shape[1] != 2:
        raise ValueError(f"expected 2-D codes of shape (N, 2), got {tuple(codes.shape)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5.5))
    for digit in range(10):
        chosen = codes[labels == digit]
        ax.scatter(chosen[:, 0], chosen[:, 1], s=size, c=DIGIT_COLOURS[digit],
                   marker=DIGIT_MARKERS[digit], label=str(digit), alpha=0.7, linewidths=0)
        if len(chosen):  # name the cluster too (text draws above points), so it reads without colour
            x, y = chosen.median(dim=0).values.tolist()
            ax.text(x, y, str(digit), ha="center", va="center", fontsize=13, weight="bold",
                    path_effects=[patheffects.withStroke(linewidth=3, foreground="white")])
    ax.legend(title="digit", markerscale=3, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.set_xlabel("code 1")
    ax.set_ylabel("code 2")
    if title:
        ax.set_title(title)
    return ax


def show_latent_grid(
    decoder: torch.nn.Module,
    *,
    low: tuple[float, float],
    high: tuple[float, float],
    n: int = 15,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Decode an ``n x n`` grid of 2-D codes spanning ``low``..``high``.

    Row 0 is the top of the picture, so the second code grows upwards as in
    a scatter plot of the same codes.
    """
    device = next(decoder.parameters()).device
    first = torch.linspace(low[0], high[0], n)
    second = torch.linspace(high[1], low[1], n)
    grid = torch.stack(torch.meshgrid(second, first, indexing="ij"), dim=-1).reshape(-1, 2).flip(1)
    with evaluating(decoder):
        images = decoder(grid.to(device))
    return show_images(images, nrow=n, title=title, ax=ax)


def show_filters(weights: Tensor, *, nrow: int = 10, title: str | None = None, ax: Axes | None = None) -> Axes:
    """Rows of a first layer's weights, ``(units, 784)``, as 28x28 images.

    Weights have no fixed range, so each filter is scaled on its own so that zero is
    mid-grey and its largest magnitude is black or white: the pattern shows, whatever
    the unit's overall size (which an L2 penalty, for one, changes a hundredfold).
    """
    w = weights.detach().to("cpu", torch.float32)
    if w.ndim != 2 or w.shape[1] != IMAGE_SIDE * IMAGE_SIDE:
        raise ValueError(f"expected one filter of 784 weights per row, got shape {tuple(w.shape)}")
    scale = w.abs().amax(dim=1, keepdim=True).clamp_min(torch.finfo(w.dtype).tiny)
    return show_images(0.5 + 0.5 * w / scale, nrow=nrow, title=title, ax=ax)
