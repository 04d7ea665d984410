"""How much memory training holds on a device, to make leaks visible.

Chapter 2 uses it to show what ``losses.append(loss)`` costs: a loss tensor
that still has a ``grad_fn`` keeps its backward graph reachable, and with it
tensors of every layer, once per training step. ``loss.item()`` keeps a float.

Those tensors live where the model runs, so the memory to watch depends on
the device: on the CPU it is the process's resident memory; on a GPU the
process's resident memory barely moves (the tensors sit in GPU memory), and
what grows is the memory PyTorch has allocated on that GPU.
"""

from __future__ import annotations

import gc

import psutil
import torch

from aecourse.device import synchronize


def resident_megabytes() -> float:
    """The process's resident memory in MB, after a garbage collection."""
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


def device_megabytes(device: torch.device | str) -> float:
    """Memory held by tensors on ``device`` in MB, after a garbage collection.

    CUDA and MPS: the bytes PyTorch's allocator has handed out to live tensors
    on that device (not what it has cached for reuse, which never shrinks and
    would hide a leak's growth). CPU: the process's resident memory, the only
    measure there is, which also counts Python objects and the allocator's slack.
    """
    device = torch.device(device)
    gc.collect()
    if device.type == "cuda":
        synchronize(device)
        return torch.cuda.memory_allocated(device) / 2**20
    if device.type == "mps":
        synchronize(device)
        return torch.mps.current_allocated_memory() / 2**20
    if device.type == "cpu":
        return resident_megabytes()
    raise ValueError(f"no memory measure for device type {device.type!r}; use cpu, cuda or mps")


def memory_name(device: torch.device | str) -> str:
    """What :func:`device_megabytes` measures on ``device``, in words, for printing."""
    kind = torch.device(device).type
    return {
        "cuda": "GPU memory held by tensors",
        "mps": "Apple GPU memory held by tensors",
    }.get(kind, "process memory (resident set)")
