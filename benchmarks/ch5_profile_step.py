"""Where a training step of chapter 5's conv VAE spends its time, and what cheap changes buy.

Profiles steps of the notebook's own ``ConvVAE`` (latent 32, the chapter's batch of 64,
Adam 1e-3, BCE from logits + KL) on random binary images with ``torch.profiler``, then
times the same steps under a few settings that leave the model and what the chapter
teaches unchanged: channels-last memory format, a batch of 128, fused Adam. Prints the
operators that take the most time and the time per image of each setting.

    AECOURSE_DATA=../shared/data .venv/bin/python benchmarks/ch5_profile_step.py

Its output, from an otherwise idle machine, is kept in ``benchmarks/ch5_profile_step.txt``.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

from aecourse.train import fused_adam_available
from aecourse.vae import reparameterize, vae_loss

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))  # tools/ is not a package
from notebook_code import from_notebook  # noqa: E402

ConvVAE = from_notebook("05_conv_vae", "ConvVAE", namespace={"torch": torch, "nn": nn, "reparameterize": reparameterize})


def make_step(batch_size: int, *, channels_last: bool = False, fused: bool = False):
    """A closure running one training step on a fixed random binary batch."""
    torch.manual_seed(0)
    model = ConvVAE()
    x = (torch.rand(batch_size, 1, 28, 28) < 0.2).float()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused or None)

    def step() -> float:
        logits, mu, logvar = model(x)
        loss = vae_loss(logits, x, mu, logvar).total / batch_size
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def ms_per_image(step, batch_size: int, repeats: int = 30) -> float:
    for _ in range(3):  # warm-up: allocator, kernels, Adam's state
        step()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return 1000 * (time.perf_counter() - start) / (repeats * batch_size)


def main() -> None:
    print(f"{platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    step = make_step(64)
    for _ in range(3):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(10):
            step()
    print("10 steps at batch 64, operators by total CPU time:")
    print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=15))
    settings = {
        "batch 64 (the chapter's)": (64, {}),
        "batch 64, channels-last": (64, {"channels_last": True}),
        "batch 64, fused Adam": (64, {"fused": fused_adam_available("cpu")}),
        "batch 128": (128, {}),
    }
    base = None
    for name, (batch_size, options) in settings.items():
        ms = ms_per_image(make_step(batch_size, **options), batch_size)
        base = base or ms
        print(f"{name:28} {ms:6.3f} ms an image, {ms * 60_000 / 1000:5.1f} s an epoch of 60,000 ({base / ms:4.2f}x)")


if __name__ == "__main__":
    main()
