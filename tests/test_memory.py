"""The memory probe shows what keeping loss tensors costs.

Measured in a fresh interpreter: inside a long test session the allocator
reuses memory freed by earlier tests, which hides the growth.
"""

import subprocess
import sys

SCRIPT = """
import sys, torch
from torch import nn
from aecourse.memory import resident_megabytes
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 784), nn.Sigmoid())
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
x = torch.rand(64, 784)
def run(keep_tensors):
    kept = []
    before = resident_megabytes()
    for _ in range(400):
        loss = nn.functional.mse_loss(model(x), x)
        optimizer.zero_grad(); loss.backward(); optimizer.step()
        kept.append(loss if keep_tensors else loss.item())
    return resident_megabytes() - before, kept
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
