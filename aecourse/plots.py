"""Figures the chapters share: loss curves and originals over reconstructions.

Each function draws on an ``ax`` (a new figure when none is given) and
returns it, so a notebook can combine panels and end the cell with
``plt.show()`` instead of printing an object's address.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from torch import Tensor
from torchvision.utils import make_grid

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
