"""Shared fixtures: where MNIST lives, and a way to cut the network off.

Tests never download anything. The real MNIST files are read from the
folder named by ``AECOURSE_DATA`` (it must hold ``MNIST/raw``); a test that
needs them fails, rather than skips, when that variable is unset.
"""

import os
import socket
import urllib.error
import urllib.request
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: no windows, no display needed

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: runs on a CUDA GPU; skipped, with the reason shown, where there is none")
    config.addinivalue_line("markers", "mps: runs on Apple's MPS; skipped, with the reason shown, where there is none")


def _device_param(name: str):
    import torch

    from aecourse.device import mps_available

    if name == "cuda":
        reason = "no CUDA device on this machine (torch.cuda.is_available() is False)"
        return pytest.param(name, marks=[pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason=reason)])
    if name == "mps":
        reason = "no Apple MPS device on this machine (torch.backends.mps.is_available() is False)"
        return pytest.param(name, marks=[pytest.mark.mps, pytest.mark.skipif(not mps_available(), reason=reason)])
    return pytest.param(name)


@pytest.fixture(params=[_device_param(name) for name in ("cpu", "cuda", "mps")])
def device(request):
    """Each device a reader may run on: the CPU always; CUDA and MPS where present.

    Where one is missing, pytest's summary (run with -ra) lists the skip and
    its reason: never a silent pass. ``-m cuda`` or ``-m mps`` selects them.
    """
    import torch

    return torch.device(request.param)


@pytest.fixture(scope="session")
def mnist_dir():
    """The folder holding ``MNIST/raw`` with the four original files, from ``AECOURSE_DATA``."""
    value = os.environ.get("AECOURSE_DATA")
    if not value:
        pytest.fail(
            "AECOURSE_DATA is not set. Set AECOURSE_DATA to a folder holding MNIST/raw "
            "(the four original MNIST files); the tests never download MNIST.",
            pytrace=False,
        )
    root = Path(value).expanduser().resolve()
    raw = root / "MNIST" / "raw"
    missing = [name for name in MNIST_FILES if not (raw / name).is_file()]
    if missing:
        pytest.fail(
            f"AECOURSE_DATA={value} does not hold MNIST/raw with the four MNIST files "
            f"(missing: {', '.join(missing)}). Set AECOURSE_DATA to a folder holding MNIST/raw.",
            pytrace=False,
        )
    return root


@pytest.fixture
def use_mnist(mnist_dir, monkeypatch):
    """Point ``AECOURSE_DATA`` at the real MNIST folder for one test; return that folder."""
    monkeypatch.setenv("AECOURSE_DATA", str(mnist_dir))
    return mnist_dir


class NetworkBlocked(urllib.error.URLError):
    """Raised by every attempt to reach the network while ``no_network`` is active.

    A ``URLError`` (hence an ``OSError``), like a real failed download.
    """


@pytest.fixture
def no_network(monkeypatch):
    """Make every name lookup, socket connection and urlopen fail; return the list of attempts."""
    attempts = []

    def refuse(what):
        def blocked(*args, **kwargs):
            attempts.append(what)
            raise NetworkBlocked(f"network access blocked by the test ({what})")

        return blocked

    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(urllib.request, "urlopen", refuse("urlopen"))
    return attempts


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every matplotlib figure a test opened."""
    yield
    plt.close("all")
