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
