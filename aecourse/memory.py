"""How much memory training holds on a device, to make leaks visible.

Chapter 2 uses it to show what ``losses.append(loss)`` costs: a loss tensor
that still has a ``grad_fn`` keeps its backward graph reachable, and with it
tensors of every layer, once per training step. ``loss.item()`` keeps a float.

Those tensors live where the model runs, so the memory to watch depends on
the device: on the CPU it is the process's resident memory; on a GPU the
process's resident memory barely moves (the tensors sit in GPU memory), and
what grows is the memory PyTorch has allocated on that GPU.

The process's resident memory also counts what the allocator keeps after
tensors die, so it cannot tell a leak of tensors from allocator slack, and it
varies from run to run. :class:`SavedTensors` and :func:`tensor_megabytes`
count the tensors themselves, exactly, on any device.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterable
from types import TracebackType

import psutil
import torch
from torch import nn

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


class SavedTensors:
    """Records the tensors autograd saves for backward while active, to count the living ones later.

    A weak reference per saved tensor: it does not keep the tensor alive, so after a
    loop :meth:`alive` lists exactly the saved tensors something still holds (a kept
    loss's graph, say), and none that ``backward()`` freed. Parameters and the
    tensors named in ``ignore`` (the batch, alive anyway) are left out.

    Use: ``with SavedTensors(ignore=[batch]) as saved: ...`` then ``saved.alive()``.
    """

    def __init__(self, ignore: Iterable[torch.Tensor] = ()) -> None:
        self._ignored = {id(t) for t in ignore}
        self._refs: list[weakref.ref[torch.Tensor]] = []
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack)

    def _pack(self, tensor: torch.Tensor) -> torch.Tensor:
        if id(tensor) not in self._ignored and not isinstance(tensor, nn.Parameter):
            self._refs.append(weakref.ref(tensor))
        return tensor

    @staticmethod
    def _unpack(tensor: torch.Tensor) -> torch.Tensor:
        return tensor

    def __enter__(self) -> SavedTensors:
        self._hooks.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._hooks.__exit__(kind, error, traceback)

    def alive(self) -> list[torch.Tensor]:
        """The saved tensors still alive, after a garbage collection."""
        gc.collect()
        return [tensor for ref in self._refs if (tensor := ref()) is not None]


def tensor_megabytes(objects: Iterable[object]) -> float:
    """MB of the distinct storages behind the tensors among ``objects``; anything else counts 0.

    Counts storages, not tensors: a view, a ``detach()`` or a scalar whose storage
    is larger than itself is charged for the whole storage it keeps alive, and two
    tensors sharing one storage are charged once.
    """
    storages: dict[tuple[str, int], int] = {}
    for item in objects:
        if isinstance(item, torch.Tensor):
            storage = item.untyped_storage()
            storages[(str(item.device), storage.data_ptr())] = storage.nbytes()
    return sum(storages.values()) / 2**20
