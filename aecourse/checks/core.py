"""The machinery every exercise check shares."""

from __future__ import annotations

import functools
import sysconfig
import textwrap
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import Tensor
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

from aecourse.device import get_device

F = TypeVar("F", bound=Callable[..., "CheckResult"])


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check: passed or not, and the message shown."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:  # the notebook shows the message, not the dataclass
        return textwrap.fill(self.message, width=78, subsequent_indent="  ")


class Wrong(Exception):
    """Raised inside a check body to reject an answer with ``message``."""


class ExerciseNotDone(NotImplementedError):
    """Raised by an exercise stub in a student notebook until the student writes it.

    A subclass of NotImplementedError, so a check reports "Not done yet"; and a
    later cell that calls the stub stops the notebook with one line naming the
    exercise, not a traceback through the course's code.
    """

    def __init__(self, label: str, name: str) -> None:
        super().__init__(
            f"exercise {label} is not done yet: write {name} in its cell under the exercise, "
            "run that cell and its check, then run on from there."
        )
        self.label, self.name = label, name

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [f"Stopped: {self}"]


class NotDone(Exception):
    """Raised inside a check body when the answer is still the stub."""


def is_stub(answer: Any) -> bool:
    """True for the placeholders an exercise starts with: ``...`` or ``None``."""
    return answer is Ellipsis or answer is None


_PACKAGE = Path(__file__).resolve().parent.parent
_LIBRARIES = tuple({Path(sysconfig.get_paths()[key]).resolve() for key in ("stdlib", "platstdlib", "purelib", "platlib")})


def _is_students(filename: str) -> bool:
    """True for code the student wrote: a notebook cell or their own file, neither
    this package nor Python's or an installed library's."""
    path = Path(filename).resolve()
    return not any(path.is_relative_to(root) for root in (_PACKAGE, *_LIBRARIES))


def _raised_in_answer(error: BaseException) -> bool:
    """True if the traceback of ``error`` passes through the student's code."""
    return any(_is_students(frame.f_code.co_filename) for frame, _ in traceback.walk_tb(error.__traceback__))


def check(title: str) -> Callable[[F], F]:
    """Turn a body that raises :class:`Wrong` into a check that returns a verdict.

    The body returns the success message. Three things keep a verdict honest:

    * only the stub's own :class:`ExerciseNotDone` (or a ``...`` left in place)
      reads "Not done yet": any other ``NotImplementedError`` is an error in
      the answer (a module whose ``forward`` is misspelled raises one);
    * an error that passed through the student's code is reported as theirs;
      one raised by the check's own code on what the answer returned is said
      to be that, since the check may be at fault;
    * the body runs under ``torch.random.fork_rng``: a check may seed and draw
      as it likes, and the notebook's random stream continues as if it had not run.
    """

    def decorate(body: F) -> F:
        @functools.wraps(body)
        def run(*args: Any, **kwargs: Any) -> CheckResult:
            try:
                if any(is_stub(a) for a in args):  # keywords are the check's own options
                    raise NotDone
                with torch.random.fork_rng():
                    message = body(*args, **kwargs)
                result = CheckResult(True, f"Correct ({title}): {message}")
            except NotDone:
                result = CheckResult(False, f"Not done yet ({title}): replace the ... in the exercise cell, run it, then run this check again.")
            except ExerciseNotDone:
                result = CheckResult(False, f"Not done yet ({title}): the exercise cell still holds its stub; write your answer there, run it, then run this check again.")
            except Wrong as reason:
                result = CheckResult(False, f"Not yet ({title}): {reason}")
            except Exception as error:
                last = traceback.format_exception_only(type(error), error)[-1].strip()
                if is_device_mismatch(error):
                    result = CheckResult(False, f"Not yet ({title}): {_MIXED_DEVICES} (The error: {last})")
                elif _raised_in_answer(error):  # the student's code crashed: say where, briefly
                    result = CheckResult(False, f"Not yet ({title}): running your answer raised {last}")
                else:
                    result = CheckResult(
                        False,
                        f"Not yet ({title}): the check could not use what your answer returned: {last}. "
                        "Look at what your answer returns (its type and shape); if it looks right, "
                        "the check may be at fault: please report it.",
                    )
            return result

        return run  # type: ignore[return-value]

    return decorate


# -- devices --------------------------------------------------------------------------

def check_device(device: torch.device | str | None = None) -> torch.device:
    """The device a check runs the student's code on: the notebook's, unless a test names one.

    A check that built its data on the CPU would reject, on a Colab GPU, a correct
    answer that uses the notebook's ``device``; so checks ask the same
    :func:`~aecourse.device.get_device` the notebook asks.
    """
    return torch.device(device) if device is not None else get_device()


_MIXED_DEVICES = (
    "your answer mixes tensors on two devices: it makes a new tensor without saying where "
    "(torch.zeros(...), torch.randn(...), torch.tensor([...]) with no device=), so it lands on "
    "the CPU while the inputs may be on a GPU. Make new tensors where the inputs are: "
    "torch.randn_like(mu), torch.zeros(..., device=x.device), or .to(x.device)."
)


def is_device_mismatch(error: BaseException) -> bool:
    """True for PyTorch's errors about tensors on two devices (any pair, the probe's meta too)."""
    text = str(error)
    return isinstance(error, RuntimeError) and (
        "same device" in text or "expected device" in text or "found at least two devices" in text
    )


# Functions that make a tensor from nothing: where no device= is given, the tensor
# lands on the default device, which on a Colab GPU is not where the data is.
_FACTORIES = frozenset({
    torch.arange, torch.empty, torch.eye, torch.full, torch.linspace, torch.logspace, torch.normal,
    torch.ones, torch.rand, torch.randint, torch.randn, torch.randperm, torch.tensor, torch.as_tensor,
    torch.zeros,
})
_MOVES = frozenset({Tensor.to, Tensor.cpu, Tensor.cuda, Tensor.type_as})
_COPIES = frozenset({Tensor.copy_, Tensor.__setitem__})  # cross-device copies are allowed on a GPU too


def _mixes_meta(args: tuple, kwargs: dict, scalars: set[int]) -> bool:
    """True if an op gets a ``meta`` tensor together with a tensor that stands for the data.

    Every non-``meta`` tensor stands for the data (on Colab: on the GPU), even a
    zero-dimensional one such as ``x.sum()``, except the zero-dimensional tensors
    made by factories, whose ids are in ``scalars``: those are true CPU scalars.
    Some CPU kernels (``mm``, for one) accept a ``meta`` argument silently instead
    of raising, so the mode checks every op's inputs itself.
    """
    tensors = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, Tensor)]
    return any(t.is_meta for t in tensors) and any(not t.is_meta and id(t) not in scalars for t in tensors)


class _DefaultDeviceElsewhere(TorchFunctionMode):
    """Plays a GPU runtime on any machine: tensors made with no ``device=`` go to ``meta``.

    On Colab the data lives on ``cuda`` and a bare ``torch.zeros(3)`` on the CPU,
    so mixing them fails. Here the data stays on the CPU and a bare factory call
    gives a ``meta`` tensor instead, which PyTorch refuses to mix with the CPU
    just as it refuses CPU with CUDA. Two rules keep the play faithful: a
    zero-dimensional tensor stays on the CPU (PyTorch lets CPU scalars meet
    CUDA tensors), and moving a ``meta`` tensor to the data's device gives a
    tensor there (as ``.to(x.device)`` would on Colab). Values are meaningless
    under this mode: it answers only "would the devices match?".
    """

    def __init__(self) -> None:
        super().__init__()
        self.made: list[str] = []  # the factory calls that went to meta, by name
        self.scalars: set[int] = set()  # ids of the zero-dimensional tensors factories made (kept alive below)
        self._kept: list[Tensor] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[override]
        kwargs = kwargs or {}
        if func in _FACTORIES and kwargs.get("device") is None and not any(isinstance(a, Tensor) for a in args):
            out = func(*args, **kwargs)
            if isinstance(out, Tensor) and out.ndim > 0:
                self.made.append(f"torch.{func.__name__}")
                return out.to("meta")
            if isinstance(out, Tensor):
                self.scalars.add(id(out))
                self._kept.append(out)  # so that its id is not reused while the probe runs
            return out
        if func in _MOVES and args and isinstance(args[0], Tensor) and args[0].is_meta:
            moved = func(torch.zeros(args[0].shape, dtype=args[0].dtype), *args[1:], **kwargs)
            return moved.requires_grad_(args[0].requires_grad) if moved.is_floating_point() else moved
        if func not in _COPIES and _mixes_meta(args, kwargs, self.scalars):
            raise RuntimeError("Expected all tensors to be on the same device, but found at least two devices, meta and cpu!")
        return func(*args, **kwargs)


def probe_devices(run: Callable[[], Any], what: str) -> None:
    """Raise :class:`Wrong` if ``run()`` would mix devices on a GPU runtime, whatever runs this.

    ``run`` calls the answer on CPU inputs under :class:`_DefaultDeviceElsewhere`.
    A device mismatch means the answer made a
    tensor with no ``device=`` and used it with its inputs: it passes on a CPU
    runtime and crashes on a GPU. Anything else the mode cannot run (``.item()``
    of a ``meta`` tensor, say) says nothing about devices and is ignored here;
    the check's real run judges the answer. A result left off the data's device
    is not judged: indices ranked on the CPU, say, are fine.
    """
    mode = _DefaultDeviceElsewhere()
    try:
        with mode:
            run()
    except Exception as error:  # only a device mismatch is a verdict
        if is_device_mismatch(error):
            made = f" (here: {', '.join(sorted(set(mode.made)))})" if mode.made else ""
            raise Wrong(f"{what}: {_MIXED_DEVICES}{made} On a CPU runtime this passes; on a Colab GPU it stops.") from None
