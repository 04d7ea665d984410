"""Chapter 2: which training recipe gets the tutorial's MLP below 0.018?

The architecture stays the tutorial's (784-128-64-36-18-9 and mirror, ReLU,
Sigmoid out, MSE), the chapter's own ``DeepAutoencoder`` class, run from its
notebook cell (tagged ``export``); only the training recipe changes. Each run
prints the test MSE per pixel after every epoch. Quality numbers repeat exactly on a CPU
(seed 0); wall times depend on the machine and on what else runs on it.

    AECOURSE_DATA=../shared/data .venv/bin/python benchmarks/ch2_recipes.py NAME LR BATCH EPOCHS [cos|const|onecycle] [he|default]
        [--fused] [--threads N] [--compile] [--beta2 B]

``onecycle`` is ``torch.optim.lr_scheduler.OneCycleLR`` with LR as its peak (warm-up over the
first 30 % of the steps, then cosine down). After each epoch it prints the test MSE and the
training seconds so far (the test evaluations are not counted), so the time a recipe takes to
reach a given error can be read off.

The recipes compared in the chapter, and their results, are in
benchmarks/ch2_recipes.txt.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch
from torch import nn

from aecourse.data import load_mnist
from aecourse.train import evaluate, fit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))  # tools/ is not a package
from notebook_code import from_notebook  # noqa: E402


def deep_autoencoder_class() -> type[nn.Module]:
    """The tutorial's model, ``DeepAutoencoder``, from the chapter's cell that defines it (tagged
    ``export``; it defines the class and nothing else)."""
    return from_notebook("02_deep_autoencoder", "DeepAutoencoder", namespace={"torch": torch, "nn": nn})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("lr", type=float)
    parser.add_argument("batch_size", type=int)
    parser.add_argument("epochs", type=int)
    parser.add_argument("schedule", nargs="?", default="cos", choices=["cos", "const", "onecycle"])
    parser.add_argument("init", nargs="?", default="default", choices=["default", "he"])
    parser.add_argument("--fused", action="store_true", help="fused Adam (faster on a CPU)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (compile time counts)")
    parser.add_argument("--beta2", type=float, default=0.999, help="Adam's beta2")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    train, test = load_mnist(True), load_mnist(False)
    DeepAutoencoder = deep_autoencoder_class()
    torch.manual_seed(0)
    model = DeepAutoencoder()
    if args.init == "he":
        for layer in model.modules():
            if isinstance(layer, nn.Linear):
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                nn.init.zeros_(layer.bias)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, args.beta2), fused=args.fused or None)
    steps = args.epochs * math.ceil(len(train) / args.batch_size)
    if args.schedule == "cos":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    elif args.schedule == "onecycle":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=steps)
    else:
        scheduler = None
    loss_fn = nn.MSELoss()
    forward = torch.compile(model) if args.compile else model

    def step(batch: torch.Tensor) -> float:
        loss = loss_fn(forward(batch), batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        return loss.item()

    generator = torch.Generator().manual_seed(0)
    curve, trained = [], 0.0
    for epoch in range(args.epochs):  # one epoch per fit call, so that evaluation time is not counted
        history = fit(step, train.flat, epochs=1, batch_size=args.batch_size, model=model,
                      optimizer=optimizer, progress=False, generator=generator)
        trained += history.seconds
        curve.append((evaluate(model, test.flat, loss_fn), trained))
    flags = " ".join(f for f, on in (("fused", args.fused), ("compiled", args.compile)) if on)
    print(f"{args.name}: lr {args.lr:g}, batch {args.batch_size}, {args.epochs} epochs, "
          f"{args.schedule}, {args.init} init{', ' + flags if flags else ''}, beta2 {args.beta2:g}, "
          f"{torch.get_num_threads()} threads -> test MSE {curve[-1][0]:.4f} ({trained:.0f} s of training)", flush=True)
    print("  per epoch (test MSE @ training seconds): " + " ".join(f"{m:.4f}@{t:.0f}" for m, t in curve), flush=True)


if __name__ == "__main__":
    main()
