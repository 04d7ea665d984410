"""Which device to train on, and how to make a run repeat itself.

The same notebook runs on a two-core CPU and on a Colab GPU, so no notebook
names a device: it asks :func:`get_device`.
"""

from __future__ import annotations

import os
import random
import sys

import torch
from torch import Tensor

from aecourse.versioning import __version__

DEVICE_ENV = "AECOURSE_DEVICE"


def get_device() -> torch.device:
    """CUDA if available, then Apple's MPS, then the CPU.

    ``AECOURSE_DEVICE=cpu`` (or any torch device string) overrides the choice,
    e.g. to reproduce a CPU run's numbers on a machine that has a GPU.
    """
    forced = os.environ.get(DEVICE_ENV)
    if forced:
        return torch.device(forced)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def mps_available() -> bool:
    """True on a Mac whose torch can use Apple's GPU through MPS."""
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def synchronize(device: torch.device | str) -> None:
    """Wait until every kernel queued on ``device`` has finished.

    CUDA and MPS run asynchronously: a call returns as soon as its kernels are
    queued, so a timer stopped without waiting measures the queueing, not the
    work. On the CPU work is done when the call returns, and this does nothing.
    """
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def cpu_float64(x: Tensor) -> Tensor:
    """``x`` detached, on the CPU, in float64: the one way the course computes in double.

    Apple's MPS has no float64 at all (``.double()`` on an MPS tensor raises),
    and most GPUs run it many times slower than float32. The few computations
    that want double precision (PCA's eigendecomposition, angles between
    subspaces, entropy floors) are small, so they move to the CPU first.
    """
    return x.detach().to("cpu").to(torch.float64)


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy (if present) and torch; return a CPU generator.

    After this call two CPU runs of the same code print identical numbers.
    GPU kernels may still differ in the last digits (some CUDA reductions are
    not deterministic), which is why the course quotes CPU numbers.
    The returned generator is for code that wants its own random stream
    (shuffling, subsets) independent of how many random numbers a model used.
    """
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:  # pragma: no cover - numpy ships with matplotlib
        pass
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


def in_colab() -> bool:
    """True inside a Google Colab kernel."""
    return "google.colab" in sys.modules


def runtime_report(device: torch.device | None = None) -> str:
    """One line on what this kernel runs with, plus a hint for Colab CPU runtimes."""
    from aecourse.settings import mode_name

    device = device or get_device()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    line = (
        f"aecourse {__version__} | torch {torch.__version__} | device: {name} | "
        f"mode: {mode_name()}"
    )
    if in_colab() and device.type == "cpu":
        line += (
            "\nThis Colab runtime has no GPU. For faster training choose "
            "Runtime > Change runtime type > T4 GPU, then run the notebook again."
        )
    return line
