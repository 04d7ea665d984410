"""The memory probe shows what keeping loss tensors costs."""

import torch
from torch import nn

from aecourse.memory import resident_megabytes


def test_keeping_loss_tensors_holds_memory_that_floats_do_not():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 784), nn.Sigmoid())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.rand(64, 784)

    def run(keep_tensors: bool) -> float:
        kept = []
        before = resident_megabytes()
        for _ in range(400):
            loss = nn.functional.mse_loss(model(x), x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            kept.append(loss if keep_tensors else loss.item())
        return resident_megabytes() - before

    run(False)  # warm the allocator up
    floats = run(False)
    tensors = run(True)
    assert tensors > floats + 20, (floats, tensors)
