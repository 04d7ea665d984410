"""A plain training loop: batches, a progress bar, float histories, test loss.

The notebook writes the part worth learning, the *training step* (forward,
loss, ``zero_grad``, ``backward``, ``step``), and hands it to :func:`fit`,
which only repeats it over shuffled batches and keeps score.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from tqdm import tqdm  # text, not a widget: the stored output reads the same in the book, Jupyter and Colab

from aecourse.data import batches

StepFn = Callable[[Tensor], Tensor | float]
LossFn = Callable[[Tensor, Tensor], Tensor]


class DivergenceError(FloatingPointError):
    """The loss became NaN or infinite; the message names the learning rate."""


@dataclass
class History:
    """What a run of :func:`fit` measured, all as plain floats.

    Floats, not tensors: a list of loss *tensors* keeps every step's autograd
    graph alive, and memory grows with every step.
    """

    step_loss: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0


def learning_rates(optimizer: torch.optim.Optimizer | None) -> str:
    """The optimizer's learning rate(s) as text, for error messages."""
    if optimizer is None:
        return "unknown"
    rates = sorted({group["lr"] for group in optimizer.param_groups})
    return ", ".join(f"{lr:g}" for lr in rates)


def check_finite(
    loss: float, *, optimizer: torch.optim.Optimizer | None = None, where: str = ""
) -> float:
    """Return ``loss``, or raise :class:`DivergenceError` if it is NaN or inf."""
    if math.isfinite(loss):
        return loss
    name = type(optimizer).__name__ if optimizer is not None else "the optimizer"
    raise DivergenceError(
        f"the loss became {loss} {where}with {name} at learning rate "
        f"{learning_rates(optimizer)}. The steps overshoot: lower the learning "
        "rate (try a tenth of it) and train again."
    )


@contextlib.contextmanager
def evaluating(model: nn.Module, *, no_grad: bool = True) -> Iterator[nn.Module]:
    """Run the ``with`` block with ``model`` in eval mode, then put every submodule back as it was.

    Eval mode turns dropout off and makes batch norm use its running statistics;
    with ``no_grad`` (the default) the block also runs under ``torch.no_grad()``,
    so no graph is built. On the way out, also when the block raises, each
    submodule gets back its *own* ``training`` flag. ``model.train(was_training)``
    would not do that: it sets every submodule to the model's one flag, which
    wakes a batch-norm layer that was frozen in eval mode, and, for a wrapper
    that shares modules with another model (``nn.Sequential(autoencoder.decoder)``,
    whose own flag is True), puts the shared modules into training mode
    whatever mode they were in::

        with evaluating(model):
            reconstruction = model(x)
    """
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with torch.no_grad() if no_grad else contextlib.nullcontext():
            yield model
    finally:
        for module, training in modes:
            module.training = training  # not .train(): that would reset the children too


def evaluate(model: nn.Module, x: Tensor, loss_fn: LossFn, *, batch_size: int = 1000) -> float:
    """Mean per-sample loss of an autoencoder on ``x`` (target = input).

    Runs under :func:`evaluating`: ``model.eval()`` (dropout off, batch norm
    uses its running statistics) and ``torch.no_grad()`` (no graph is built),
    then every submodule's previous mode back. ``loss_fn`` must average over
    its batch (the default ``reduction='mean'``), so batches are weighted by
    their size.
    """
    total = 0.0
    with evaluating(model):
        for (batch,) in batches(x, batch_size=batch_size, shuffle=False):
            total += float(loss_fn(model(batch), batch)) * batch.shape[0]
    return total / x.shape[0]


def fit(
    step: StepFn,
    train_x: Tensor,
    *,
    epochs: int,
    batch_size: int,
    model: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    test_x: Tensor | None = None,
    loss_fn: LossFn | None = None,
    generator: torch.Generator | None = None,
    progress: bool = True,
    on_epoch_end: Callable[[int], None] | None = None,
) -> History:
    """Run ``step`` on shuffled mini-batches of ``train_x`` for ``epochs`` epochs.

    Args:
        step: the notebook's training step; takes a batch, returns its loss.
        train_x: the training inputs, ``(N, ...)``, already on the device.
        model: put in train mode before each epoch (needed after
            :func:`evaluate`), and evaluated on ``test_x`` after each epoch.
        optimizer: only read, to name its learning rate if the loss diverges.
        test_x, loss_fn: when both given with ``model``, the test loss is
            recorded after every epoch.
        on_epoch_end: called with the epoch number (1, 2, ...) after each
            epoch, e.g. to keep snapshots of reconstructions.

    Returns:
        a :class:`History` of per-step, per-epoch train and per-epoch test losses.
    """
    history = History()
    start = time.perf_counter()
    # stdout, not tqdm's default stderr: a stored stderr stream is drawn as an error (red) in the book
    bar = tqdm(range(epochs), desc="epochs", disable=not progress, file=sys.stdout)
    for epoch in bar:
        if model is not None:
            model.train()
        total, seen = 0.0, 0
        for (batch,) in batches(train_x, batch_size=batch_size, generator=generator):
            out = step(batch)
            loss = out.detach().item() if isinstance(out, Tensor) else float(out)
            check_finite(loss, optimizer=optimizer, where=f"in epoch {epoch + 1} ")
            history.step_loss.append(loss)
            total += loss * batch.shape[0]
            seen += batch.shape[0]
        history.train_loss.append(total / seen)
        postfix = {"train": f"{history.train_loss[-1]:.4g}"}
        if model is not None and test_x is not None and loss_fn is not None:
            history.test_loss.append(evaluate(model, test_x, loss_fn))
            postfix["test"] = f"{history.test_loss[-1]:.4g}"
        bar.set_postfix(postfix)
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1)
    history.seconds = time.perf_counter() - start
    return history


def fused_adam_available(device: torch.device | str) -> bool:
    """True where ``torch.optim.Adam(..., fused=True)`` accepts parameters on ``device``.

    Fused Adam is the same algorithm as the default: the same moments, bias corrections
    and update, equal up to rounding. What differs is how it runs: the default
    (``foreach``) launches one kernel per elementary operation (multiply, add, square
    root, ...) over the list of tensors, each reading and writing all of them; the fused
    one does the whole update of a tensor in a single pass over its memory. On chapter
    2's small network that made training about 1.5 times as fast on a CPU
    (``benchmarks/ch2_recipes.txt``, runs R3 and R6); on chapter 5's convolutional VAE,
    whose time goes to the convolutions, it bought nothing
    (``benchmarks/ch5_profile_step.txt``). It exists for CUDA, and for the CPU
    only from PyTorch 2.4: PyTorch 2.3 refuses it there, so a notebook asks first rather
    than naming a version or a device.
    """
    probe = torch.zeros(1, device=device, requires_grad=True)
    try:
        torch.optim.Adam([probe], fused=True)
    except RuntimeError:
        return False
    return True

