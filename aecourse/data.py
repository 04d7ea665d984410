"""Data for the course: MNIST as tensors, and the first chapter's toy data.

MNIST is loaded once into a single float tensor on the training device and
batches are slices of it. This skips torchvision's per-image PIL transform,
which on two CPU cores is a cost of the same order as chapter 2's training step
(chapter 2's run measures both: the transform per batch of 32, a training step per batch);
slicing a tensor costs nearly nothing.

Where the files come from:

* ``AECOURSE_DATA`` set: a folder holding ``MNIST/raw/`` (the four original
  files). Nothing is downloaded; tests and CI use this.
* otherwise: torchvision downloads MNIST once into :func:`default_data_root`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from aecourse.settings import user_cache_dir

DATA_ENV = "AECOURSE_DATA"
PIXELS = 28 * 28


class DataUnavailableError(RuntimeError):
    """MNIST is neither on disk nor downloadable; the message says what to do."""


def default_data_root() -> Path:
    """Where downloads go when ``AECOURSE_DATA`` is unset (a per-user cache)."""
    return user_cache_dir()


def data_root() -> Path:
    """The folder that holds (or will hold) ``MNIST/raw``."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else default_data_root()


@dataclass
class MNISTSplit:
    """One MNIST split held as tensors.

    Attributes:
        images: ``(N, 1, 28, 28)`` float32 pixels in ``[0, 1]``.
        labels: ``(N,)`` int64 digit labels.
    """

    images: Tensor
    labels: Tensor

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def flat(self) -> Tensor:
        """The images as ``(N, 784)`` rows, the input of a fully connected model."""
        return self.images.reshape(len(self), PIXELS)

    def to(self, device: torch.device | str) -> MNISTSplit:
        return MNISTSplit(self.images.to(device), self.labels.to(device))


def load_mnist(
    train: bool = True,
    *,
    subset: int | None = None,
    device: torch.device | str = "cpu",
    seed: int = 0,
) -> MNISTSplit:
    """Load an MNIST split as tensors on ``device``.

    Args:
        train: the 60,000 training digits (True) or the 10,000 test digits.
        subset: keep this many digits, drawn at random with ``seed`` (fast mode).
        device: where the tensors live; batches are then sliced there.
        seed: fixes which digits a subset keeps, so fast runs repeat.

    Raises:
        DataUnavailableError: no files and no way to download them.
    """
    root = data_root()
    from_env = bool(os.environ.get(DATA_ENV))
    try:
        from torchvision.datasets import MNIST

        dataset = MNIST(root=str(root), train=train, download=not from_env)
    except (RuntimeError, OSError) as error:  # torchvision: "Dataset not found", URLError
        raise DataUnavailableError(_missing_message(root, from_env, error)) from None
    images = dataset.data.to(torch.float32).div_(255.0).unsqueeze(1)
    labels = dataset.targets.to(torch.int64)
    if subset is not None and subset < len(labels):
        keep = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))[:subset]
        images, labels = images[keep], labels[keep]
    return MNISTSplit(images.to(device), labels.to(device))


def _missing_message(root: Path, from_env: bool, error: BaseException) -> str:
    if from_env:
        return (
            f"MNIST was not found under {DATA_ENV}={root}. That folder must hold "
            "MNIST/raw/ with the four original files (train-images-idx3-ubyte, ...). "
            f"Point {DATA_ENV} at such a folder, or unset it to let torchvision "
            f"download MNIST into {default_data_root()}."
        )
    return (
        f"MNIST is not in {root} and torchvision's download failed ({error}). "
        "Connect to the internet and run again, or download the four MNIST files "
        f"elsewhere and set {DATA_ENV} to the folder that holds MNIST/raw/."
    )


def batches(
    *tensors: Tensor,
    batch_size: int,
    shuffle: bool = True,
    generator: torch.Generator | None = None,
) -> Iterator[tuple[Tensor, ...]]:
    """Yield aligned mini-batches sliced from tensors that share their first axis.

    The replacement for a DataLoader when the data already sits in memory:
    one random permutation per epoch, then plain indexing.
    """
    if not tensors:
        raise ValueError("batches() needs at least one tensor")
    n = tensors[0].shape[0]
    if any(t.shape[0] != n for t in tensors):
        sizes = [t.shape[0] for t in tensors]
        raise ValueError(f"tensors must share their first dimension, got sizes {sizes}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    order = order.to(tensors[0].device)
    for start in range(0, n, batch_size):
        index = order[start : start + batch_size]
        yield tuple(t[index] for t in tensors)


def correlated_2d(n: int = 100, *, generator: torch.Generator | None = None) -> Tensor:
    """The first chapter's toy data: ``n`` points in 2-D along a tilted line.

    Built as the seed question builds it: uniform noise, then
    ``x[:, 0] = x0 + x1`` and ``x[:, 1] = 0.5 * x[:, 0] + x1`` (the second line
    uses the new first column), which puts most of the variance on one axis.
    """
    x = torch.rand(n, 2, generator=generator)
    x[:, 0] = x[:, 0] + x[:, 1]
    x[:, 1] = 0.5 * x[:, 0] + x[:, 1]
    return x


def _download(root: str) -> None:
    """``python -m aecourse.data DIR``: fetch MNIST into DIR for AECOURSE_DATA."""
    from torchvision.datasets import MNIST

    for train in (True, False):
        MNIST(root=root, train=train, download=True)
    print(f"MNIST is in {Path(root) / 'MNIST' / 'raw'}; now export {DATA_ENV}={root}")


if __name__ == "__main__":
    import sys

    _download(sys.argv[1] if len(sys.argv) > 1 else str(default_data_root()))
