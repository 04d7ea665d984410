"""The memory probe shows what keeping loss tensors costs, on the device that holds them.

Measured in a fresh interpreter: inside a long test session the allocator
reuses memory freed by earlier tests, which hides the growth.
"""

import subprocess
import sys

SCRIPT = """
import sys, torch
from torch import nn
from aecourse.memory import device_megabytes
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 784), nn.Sigmoid())
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
x = torch.rand(64, 784)
def run(keep_tensors):
    kept = []
    before = device_megabytes('cpu')
    for _ in range(400):
        loss = nn.functional.mse_loss(model(x), x)
        optimizer.zero_grad(); loss.backward(); optimizer.step()
        kept.append(loss if keep_tensors else loss.item())
    return device_megabytes('cpu') - before, kept
run(False)
floats, _ = run(False)
tensors, kept = run(sys.argv[1] == "tensors")
print(floats, tensors)
"""


def grown(mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[1])


def test_keeping_loss_tensors_holds_memory_that_floats_do_not():
    assert grown("tensors") > grown("floats") + 20


def test_each_device_is_measured_where_its_tensors_live(monkeypatch):
    """CPU: the process; CUDA and MPS: the allocator of that GPU, not the host process."""
    import psutil
    import torch

    from aecourse import memory

    monkeypatch.setattr(memory, "synchronize", lambda device: None)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device=None: 3 * 2**20)
    monkeypatch.setattr(torch.mps, "current_allocated_memory", lambda: 5 * 2**20)
    assert memory.device_megabytes("cuda") == 3.0
    assert memory.device_megabytes(torch.device("cuda", 0)) == 3.0
    assert memory.device_megabytes("mps") == 5.0
    rss = psutil.Process().memory_info().rss / 2**20
    assert abs(memory.device_megabytes("cpu") - rss) < 50
    assert "GPU" in memory.memory_name("cuda") and "process" in memory.memory_name("cpu")


def test_an_unknown_device_is_a_clear_error():
    import pytest

    from aecourse.memory import device_megabytes

    with pytest.raises(ValueError, match="cpu, cuda or mps"):
        device_megabytes("meta")


def _loop(criterion, keep, with_backward=True, steps=20):
    import torch
    from torch import nn

    from aecourse.memory import SavedTensors, tensor_megabytes

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 784), nn.Sigmoid())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.rand(64, 784)
    kept = []
    with SavedTensors(ignore=[x]) as saved:
        for _ in range(steps):
            loss = criterion(model(x), x)
            if with_backward:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            kept.append(keep(loss))
    return tensor_megabytes(saved.alive() + kept) * 2**20


def test_the_tally_counts_what_kept_losses_hold_and_nothing_else():
    """Exact bytes: floats hold nothing; a hand-written mean holds 4 bytes a step after backward;
    a forward pass without backward holds every saved activation."""
    import torch.nn.functional as F

    def by_hand(out, x):
        return ((out - x) ** 2).mean()

    assert _loop(by_hand, lambda loss: loss.item()) == 0
    assert _loop(by_hand, lambda loss: loss) == 20 * 4  # backward freed the saved activations
    forward_only = _loop(by_hand, lambda loss: loss, with_backward=False)
    assert forward_only >= 20 * 64 * (128 + 128 + 784) * 4  # ReLU and Sigmoid outputs, and the difference
    kept_storage = _loop(F.mse_loss, lambda loss: loss.detach())
    assert kept_storage in (20 * 4, 20 * 64 * 784 * 4)  # 4 bytes once pytorch#185647 is fixed


def test_tensor_megabytes_counts_a_shared_storage_once():
    import torch

    from aecourse.memory import tensor_megabytes

    base = torch.zeros(2**18)  # 1 MB
    assert tensor_megabytes([base, base[:10], base.detach(), 3.0, "text"]) == 1.0
