"""Device choice, seeding and the runtime report."""

import sys
import types

import torch
from torch import nn

from aecourse.device import get_device, runtime_report, seed_everything


def _no_accelerators(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def test_get_device_is_cpu_without_accelerators(monkeypatch):
    """With no CUDA and no MPS the training device is the CPU."""
    monkeypatch.delenv("AECOURSE_DEVICE", raising=False)
    _no_accelerators(monkeypatch)
    assert get_device() == torch.device("cpu")


def test_get_device_on_this_machine(monkeypatch):
    """On this CPU-only machine get_device() is the CPU, and tensors can live there."""
    monkeypatch.delenv("AECOURSE_DEVICE", raising=False)
    device = get_device()
    if not torch.cuda.is_available():
        assert device.type in {"cpu", "mps"}
    assert torch.ones(2, device=device).sum().item() == 2.0


def test_get_device_prefers_cuda(monkeypatch):
    """CUDA wins when it is available."""
    monkeypatch.delenv("AECOURSE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device() == torch.device("cuda")


def test_get_device_honours_env(monkeypatch):
    """AECOURSE_DEVICE overrides the automatic choice, even when CUDA is there."""
    monkeypatch.setenv("AECOURSE_DEVICE", "meta")
    assert get_device() == torch.device("meta")
    monkeypatch.setenv("AECOURSE_DEVICE", "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device() == torch.device("cpu")


def _small_training(seed):
    """A few SGD steps of a tiny model on random data; the list of float losses."""
    seed_everything(seed)
    x = torch.randn(32, 5)
    model = nn.Sequential(nn.Linear(5, 3), nn.Tanh(), nn.Linear(3, 5))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(5):
        loss = nn.functional.mse_loss(model(x), x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_same_seed_repeats_bit_for_bit():
    """Two runs after seed_everything(0) print identical losses."""
    first = _small_training(0)
    torch.randn(100)  # disturb the global stream between the runs
    second = _small_training(0)
    assert first == second


def test_different_seed_differs():
    """Another seed gives another run."""
    assert _small_training(0) != _small_training(1)


def test_seed_everything_returns_seeded_generator():
    """The returned generator is its own stream, fixed by the seed."""
    a = torch.rand(4, generator=seed_everything(3))
    b = torch.rand(4, generator=seed_everything(3))
    c = torch.rand(4, generator=seed_everything(4))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_runtime_report_names_device_and_mode(monkeypatch):
    """The report says which device and which run mode the kernel uses."""
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setenv("AECOURSE_FAST", "1")
    line = runtime_report(torch.device("cpu"))
    assert "device: cpu" in line
    assert "mode: fast" in line
    assert "torch " + torch.__version__ in line
    assert "Change runtime type" not in line
    monkeypatch.delenv("AECOURSE_FAST")
    assert "mode: full" in runtime_report(torch.device("cpu"))


def test_runtime_report_default_device(monkeypatch):
    """Without an argument the report names get_device()'s device."""
    monkeypatch.setenv("AECOURSE_DEVICE", "cpu")
    assert "device: cpu" in runtime_report()


def test_runtime_report_hints_colab_gpu(monkeypatch):
    """In Colab on a CPU runtime the report tells how to get a GPU."""
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    line = runtime_report(torch.device("cpu"))
    assert "Runtime > Change runtime type" in line
    assert "device: cpu" in line


def test_runtime_report_no_hint_off_cpu(monkeypatch):
    """In Colab with a non-CPU device there is no hint."""
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    line = runtime_report(torch.device("meta"))
    assert "device: meta" in line
    assert "Change runtime type" not in line
