"""How much memory the Python process holds, to make leaks visible.

Chapter 2 uses it to show what ``losses.append(loss)`` costs: a loss tensor
that still has a ``grad_fn`` keeps its backward graph reachable, and with it
tensors of every layer, once per training step. ``loss.item()`` keeps a float.
"""

from __future__ import annotations

import gc

import psutil


def resident_megabytes() -> float:
    """The process's resident memory in MB, after a garbage collection."""
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20
