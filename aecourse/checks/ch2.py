"""Checks for chapter 2: the deep MLP autoencoder."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from aecourse.checks.core import Wrong, check
from aecourse.train import evaluate


def _tiny_autoencoder() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 3), nn.ReLU(), nn.Linear(3, 6), nn.Sigmoid())


def _reference_step(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn, batch: Tensor) -> float:
    loss = loss_fn(model(batch), batch)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


@check("the training step")
def training_step(step: Callable[[nn.Module, torch.optim.Optimizer, Callable, Tensor], float]) -> str:
    """``step(model, optimizer, loss_fn, batch)`` does one update and returns a float."""
    batches = torch.rand(3, 8, 6, generator=torch.Generator().manual_seed(1))
    theirs, ours = _tiny_autoencoder(), _tiny_autoencoder()
    their_opt = torch.optim.SGD(theirs.parameters(), lr=0.5)
    our_opt = torch.optim.SGD(ours.parameters(), lr=0.5)
    before = [p.detach().clone() for p in theirs.parameters()]
    for i, batch in enumerate(batches):
        got = step(theirs, their_opt, nn.MSELoss(), batch)
        want = _reference_step(ours, our_opt, nn.MSELoss(), batch)
        if isinstance(got, Tensor):
            raise Wrong("return loss.item(), a float: a loss tensor keeps its graph alive.")
        if i == 0 and all(torch.equal(a, b) for a, b in zip(before, theirs.parameters())):
            raise Wrong("the parameters did not change: call optimizer.step() after loss.backward().")
        if not isinstance(got, float) or not math.isclose(got, want, rel_tol=1e-5):
            raise Wrong(f"step {i + 1} returned {got!r}, expected the batch loss {want:.6f} computed before the update.")
        if not all(torch.allclose(a, b, atol=1e-6) for a, b in zip(theirs.parameters(), ours.parameters())):
            hint = ("gradients piled up across steps: call optimizer.zero_grad() before loss.backward()."
                    if i > 0 else "the update differs from one SGD step on the batch's loss.")
            raise Wrong(f"after step {i + 1} the parameters differ from the expected ones; {hint}")
    return "three steps gave exactly the expected losses and parameters."


class _Recorder(nn.Module):
    """A model whose output depends on train/eval mode and that logs grad mode."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)
        self.dropout = nn.Dropout(0.5)
        self.grad_modes: list[bool] = []

    def forward(self, x: Tensor) -> Tensor:
        self.grad_modes.append(torch.is_grad_enabled())
        return torch.sigmoid(self.dropout(self.linear(x)))


@check("the test-set MSE")
def test_mse(answer: Callable[[nn.Module, Tensor], float]) -> str:
    """``answer(model, x)`` returns the mean squared error per pixel, in eval mode, without grad."""
    torch.manual_seed(0)
    model = _Recorder()
    x = torch.rand(1003, 4, generator=torch.Generator().manual_seed(2))
    model.train()
    got = answer(model, x)
    if isinstance(got, Tensor):
        raise Wrong("return a float (.item()), not a tensor.")
    if model.grad_modes and any(model.grad_modes):
        raise Wrong("the forward pass built a graph: wrap the evaluation in torch.no_grad().")
    want = evaluate(model, x, nn.MSELoss())
    if not math.isclose(float(got), want, rel_tol=1e-5):
        raise Wrong(f"got {float(got):.6f}, expected {want:.6f}. Call model.eval() first (dropout and batch norm act differently in training), and average over every pixel of every image.")
    if not model.training:
        raise Wrong("the value is right, but the model was left in eval mode: call model.train() before training resumes.")
    return f"{want:.6f}, measured in eval mode under no_grad."


@check("the decoder built from the encoder's sizes")
def make_decoder(answer: Callable[[Sequence[int]], nn.Module]) -> str:
    """``answer(sizes)`` mirrors an encoder's layer sizes with ReLU between and Sigmoid out."""
    for sizes in ([784, 128, 64, 36, 18, 9], [10, 7, 3]):
        decoder = answer(sizes)
        linears = [m for m in decoder.modules() if isinstance(m, nn.Linear)]
        shapes = [(m.in_features, m.out_features) for m in linears]
        mirror = list(zip(sizes[::-1][:-1], sizes[::-1][1:]))
        if shapes != mirror:
            raise Wrong(f"for sizes {sizes} the linear layers map {shapes}; expected {mirror}.")
        layers = [m for m in decoder.modules() if not isinstance(m, nn.Sequential)]
        if not isinstance(layers[-1], nn.Sigmoid):
            raise Wrong("end with nn.Sigmoid(): pixels lie in [0, 1].")
        relus = sum(isinstance(m, nn.ReLU) for m in layers)
        if relus != len(linears) - 1:
            raise Wrong(f"expected a ReLU after each linear layer but the last ({len(linears) - 1}), found {relus}.")
        out = decoder(torch.randn(5, sizes[-1]))
        if out.shape != (5, sizes[0]):
            raise Wrong(f"decoding 5 codes gave shape {tuple(out.shape)}, expected (5, {sizes[0]}).")
    return "9-18-36-64-128-784 with ReLU between and Sigmoid out, and it generalises to other sizes."
