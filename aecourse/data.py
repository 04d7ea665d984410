"""Data for the course: MNIST as tensors, and the first chapter's toy data.

MNIST is loaded once into a single float tensor on the training device and
batches are slices of it. This skips torchvision's per-image PIL transform,
which on two CPU cores is a cost of the same order as chapter 2's training step
(chapter 2's run measures both: the transform per batch of 32, a training step per batch);
slicing a tensor costs nearly nothing.

Where the files come from:

* ``AECOURSE_DATA`` set: a folder holding ``MNIST/raw/`` (the four original
  files). Nothing is downloaded, and nothing there is ever deleted; tests and CI use this.
* otherwise: torchvision downloads MNIST once into :func:`default_data_root`.

Before use, each of the four files is checked (:func:`damaged_files`): its exact
size and its IDX header (magic number and dimensions). torchvision publishes
checksums of the ``.gz`` archives only, and checks those itself when it downloads;
an extracted file that a cut-short download or extraction left truncated, an
empty file, or a file of another kind (an HTML error page, the labels in place of
the images) fails this check. In the cache, such a file is deleted and fetched
again; offline, or under ``AECOURSE_DATA``, the error names the file, its size
and the fix. torchvision alone would see the file, never fetch it again, and fail
on every run.
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from aecourse.settings import user_cache_dir

DATA_ENV = "AECOURSE_DATA"
PIXELS = 28 * 28

# The four original files: exact size in bytes, and the IDX header they start with
# (magic number, then each dimension as a big-endian uint32; 2051 images, 2049 labels).
MNIST_FILES: dict[str, tuple[int, tuple[int, ...]]] = {
    "train-images-idx3-ubyte": (47_040_016, (2051, 60_000, 28, 28)),
    "train-labels-idx1-ubyte": (60_008, (2049, 60_000)),
    "t10k-images-idx3-ubyte": (7_840_016, (2051, 10_000, 28, 28)),
    "t10k-labels-idx1-ubyte": (10_008, (2049, 10_000)),
}
FETCH_COMMAND = "python -m aecourse.data"


class DataUnavailableError(RuntimeError):
    """MNIST is neither on disk nor downloadable; the message says what to do."""


def default_data_root() -> Path:
    """Where downloads go when ``AECOURSE_DATA`` is unset (a per-user cache)."""
    return user_cache_dir()


def data_root() -> Path:
    """The folder that holds (or will hold) ``MNIST/raw``."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else default_data_root()


@dataclass(frozen=True)
class DamagedFile:
    """An MNIST file that is not the original: where it is, its size, and what is wrong."""

    path: Path
    size: int
    problem: str

    def __str__(self) -> str:
        return f"{self.path} ({self.size:,} bytes: {self.problem})"


def _problem(path: Path, size: int, header: tuple[int, ...]) -> str | None:
    """What is wrong with the file at ``path`` (None if nothing): size first, then the header."""
    expected = MNIST_FILES[path.name][0]
    if size == 0:
        return f"empty, the original has {expected:,}"
    if size != expected:
        return f"{'truncated' if size < expected else 'too long'}, the original has {expected:,}"
    with path.open("rb") as handle:
        found = struct.unpack(f">{len(header)}I", handle.read(4 * len(header)))
    if found != header:
        return f"the right size but not this MNIST file (IDX header {found}, expected {header})"
    return None


def damaged_files(root: Path) -> list[DamagedFile]:
    """The files among the four under ``root/MNIST/raw`` that are there but not the originals."""
    damaged = []
    for name, (_, header) in MNIST_FILES.items():
        path = root / "MNIST" / "raw" / name
        if path.is_file():
            size = path.stat().st_size
            problem = _problem(path, size, header)
            if problem:
                damaged.append(DamagedFile(path, size, problem))
    return damaged


def missing_files(root: Path) -> list[str]:
    """The names among the four that ``root/MNIST/raw`` does not hold."""
    return [name for name in MNIST_FILES if not (root / "MNIST" / "raw" / name).is_file()]


def _fetch(root: Path) -> None:
    """torchvision's download of the four files into ``root/MNIST/raw`` (it checks the archives' MD5)."""
    from torchvision.datasets import MNIST

    for train in (True, False):
        MNIST(root=str(root), train=train, download=True)


def ensure_mnist(root: Path | None = None, *, from_env: bool | None = None) -> Path:
    """Make sure ``root/MNIST/raw`` holds the four original files; return ``root``.

    ``root`` defaults to :func:`data_root`. Under ``AECOURSE_DATA`` (``from_env``) the
    files are only checked: a missing or damaged one raises, and nothing is written or
    deleted there. In the cache, a damaged file is deleted and the files are fetched
    once; if that fails (offline), the error says what was wrong and what to do.

    Raises:
        DataUnavailableError: one message, naming the file(s) and the fix.
    """
    if from_env is None:
        from_env = bool(os.environ.get(DATA_ENV))
    root = data_root() if root is None else Path(root)
    damaged = damaged_files(root)
    if from_env:
        if damaged:
            raise DataUnavailableError(_damaged_message(root, damaged, from_env=True))
        if missing_files(root):
            raise DataUnavailableError(_missing_message(root, True, None))
        return root
    for file in damaged:  # only the four MNIST files under the cache's MNIST/raw, never anything else
        file.path.unlink()
    if damaged or missing_files(root):
        try:
            _fetch(root)
        except (RuntimeError, OSError) as error:  # torchvision: URLError, "File not found or corrupted"
            message = _damaged_message(root, damaged, error=error) if damaged else _missing_message(root, False, error)
            raise DataUnavailableError(message) from None
        still = damaged_files(root)
        if still or missing_files(root):
            raise DataUnavailableError(
                f"MNIST was fetched into {root / 'MNIST' / 'raw'}, but is still not the original: "
                f"{'; '.join(map(str, still)) or ', '.join(missing_files(root)) + ' missing'}. "
                "Delete that folder and run again."
            )
    return root


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
        DataUnavailableError: no sound files and no way to fetch them (see :func:`ensure_mnist`).
    """
    root = ensure_mnist()
    from torchvision.datasets import MNIST

    dataset = MNIST(root=str(root), train=train, download=False)
    images = dataset.data.to(torch.float32).div_(255.0).unsqueeze(1)
    labels = dataset.targets.to(torch.int64)
    if subset is not None and subset < len(labels):
        keep = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))[:subset]
        images, labels = images[keep], labels[keep]
    return MNISTSplit(images.to(device), labels.to(device))


def _missing_message(root: Path, from_env: bool, error: BaseException | None) -> str:
    if from_env:
        return (
            f"MNIST was not found under {DATA_ENV}={root}. That folder must hold "
            "MNIST/raw/ with the four original files (train-images-idx3-ubyte, ...). "
            f"Point {DATA_ENV} at such a folder, or unset it to let torchvision "
            f"download MNIST into {default_data_root()}."
        )
    return (
        f"MNIST is not in {root} and torchvision's download failed ({_one_line(error)}). "
        "Connect to the internet and run again, or download the four MNIST files "
        f"elsewhere and set {DATA_ENV} to the folder that holds MNIST/raw/."
    )


def _one_line(error: BaseException | None) -> str:
    """torchvision's error on one line (it lists each mirror tried on a line of its own)."""
    return " ".join(str(error).split())


def _damaged_message(root: Path, damaged: list[DamagedFile], *, from_env: bool = False,
                     error: BaseException | None = None) -> str:
    files = "; ".join(map(str, damaged))
    if from_env:
        return (
            f"MNIST under {DATA_ENV}={root} is damaged: {files}. Nothing was changed there. "
            f"Replace it with the original: online, run  {FETCH_COMMAND} {root}  (which fetches the "
            f"damaged file again), or copy it from an intact MNIST/raw/; or unset {DATA_ENV} to use "
            f"the download in {default_data_root()}."
        )
    return (
        f"MNIST in the cache was damaged: {files}. It was deleted, but fetching it again "
        f"failed ({_one_line(error)}). Connect to the internet and run again (it is fetched once), or copy "
        f"the four original files into {root / 'MNIST' / 'raw'}, or set {DATA_ENV} to a folder "
        "that holds them in MNIST/raw/."
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


def main(argv: list[str] | None = None) -> int:
    """The command line; prints one message and returns 2 when MNIST cannot be had.

    * ``python -m aecourse.data DIR``: fetch MNIST into ``DIR/MNIST/raw`` for ``AECOURSE_DATA``
      (a damaged file there is replaced; the default ``DIR`` is the cache).
    * ``python -m aecourse.data --for-tests``: print the folder the tests read, after making sure
      it holds the four original files: ``AECOURSE_DATA``'s if set (only checked), else the cache,
      where MNIST is fetched once (``make test`` calls this, so the tests never download).
    """
    args = sys.argv[1:] if argv is None else argv
    try:
        if args[:1] == ["--for-tests"]:
            print(ensure_mnist().resolve())
            return 0
        root = Path(args[0]).expanduser() if args else default_data_root()
        ensure_mnist(root, from_env=False)
    except DataUnavailableError as error:
        print(f"MNIST: {error}", file=sys.stderr)
        return 2
    print(f"MNIST is in {root / 'MNIST' / 'raw'}; now export {DATA_ENV}={root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
