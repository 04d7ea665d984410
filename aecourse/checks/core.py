"""The machinery every exercise check shares."""

from __future__ import annotations

import contextlib
import copy
import functools
import random
import sysconfig
import textwrap
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten, tree_map

from aecourse.device import get_device, mps_available

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


def raised_in_answer(error: BaseException) -> bool:
    """True if the traceback of ``error`` passes through the student's code."""
    return any(_is_students(frame.f_code.co_filename) for frame, _ in traceback.walk_tb(error.__traceback__))


_raised_in_answer = raised_in_answer  # the name the chapters' checks first imported


@contextlib.contextmanager
def _other_random_streams_kept() -> Iterator[None]:
    """Restore, afterwards, the random streams ``fork_rng`` does not cover: NumPy's, Python's
    (``seed_everything`` seeds both, and an answer may draw from them) and, on a Mac, MPS's
    (``fork_rng`` forks it only on recent PyTorch)."""
    numpy_state, python_state = np.random.get_state(), random.getstate()
    mps_state = torch.mps.get_rng_state() if mps_available() else None
    try:
        yield
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
        if mps_state is not None:
            torch.mps.set_rng_state(mps_state)


@dataclass(frozen=True)
class Exercise:
    """What the course knows of one exercise: its label (as the book numbers it), the title its
    check's verdicts carry, the chapter module its check lives in, and the stronger hint a
    student may ask for with ``check.hint(label)``."""

    label: str
    title: str
    chapter: str
    hint: str | None


#: Every exercise whose check has been defined, by label, in the order the checks are defined
#: (each chapter module defines its checks in the order of the chapter's exercises; a test says so).
EXERCISES: dict[str, Exercise] = {}
#: The last verdict of each exercise's check in this kernel, by label: what ``progress`` reports.
VERDICTS: dict[str, CheckResult] = {}


def exercise_check(title: str, *, label: str, hint: str | None = None) -> Callable[[F], F]:
    """Turn a body that raises :class:`Wrong` into a check that returns a verdict.

    ``label`` is the exercise's label in the chapter (``ex-ch4-anomaly``): the verdict is kept
    under it for :func:`progress`, and ``hint`` (a stronger hint than the check's first
    message, which names only what the student can see) is shown by :func:`show_hint` when
    the student asks for it, never unasked.

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
        if label in EXERCISES and EXERCISES[label].chapter != body.__module__:
            raise ValueError(f"two checks claim exercise {label}: in {EXERCISES[label].chapter} and {body.__module__}")
        EXERCISES[label] = Exercise(label, title, body.__module__, hint)
        offer = f" (For a stronger hint: check.hint(\"{label}\").)" if hint else ""

        @functools.wraps(body)
        def run(*args: Any, **kwargs: Any) -> CheckResult:
            result = _verdict(body, title, offer, args, kwargs)
            VERDICTS[label] = result
            return result

        run.label = label  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return decorate


def _verdict(body: Callable[..., str], title: str, offer: str, args: tuple, kwargs: dict) -> CheckResult:
    """Run one check body on ``args`` and say what it found (see :func:`exercise_check`)."""
    if any(is_stub(a) for a in args):  # keywords are the check's own options
        return CheckResult(False, f"Not done yet ({title}): replace the ... in the exercise cell, run it, then run this check again.")
    try:
        with _other_random_streams_kept(), torch.random.fork_rng():
            message = body(*args, **kwargs)
        return CheckResult(True, f"Correct ({title}): {message}")
    except ExerciseNotDone:
        return CheckResult(False, f"Not done yet ({title}): the exercise cell still holds its stub; write your answer there, run it, then run this check again.")
    except Wrong as reason:
        return CheckResult(False, f"Not yet ({title}): {reason}{offer}")
    except Exception as error:
        last = traceback.format_exception_only(type(error), error)[-1].strip()
        if is_device_mismatch(error):
            return CheckResult(False, f"Not yet ({title}): {_MIXED_DEVICES} (The error: {last})")
        if _raised_in_answer(error):  # the student's code crashed: say where, briefly
            return CheckResult(False, f"Not yet ({title}): running your answer raised {last}")
        return CheckResult(
            False,
            f"Not yet ({title}): the check could not use what your answer returned: {last}. "
            "Look at what your answer returns (its type and shape); if it looks right, "
            "the check may be at fault: please report it.",
        )


# -- hints and progress -----------------------------------------------------------------

@dataclass(frozen=True)
class Note:
    """Text a notebook shows as it is (its repr), for ``check.hint`` and ``check.progress``."""

    text: str

    def __repr__(self) -> str:
        return self.text


def show_hint(label: str) -> Note:
    """The stronger hint of exercise ``label``: shown only when a student asks, ``check.hint(label)``."""
    if label not in EXERCISES:
        known = ", ".join(EXERCISES) or "none loaded yet"
        return Note(f"No exercise is labelled {label!r}. The labels are: {known}.")
    exercise = EXERCISES[label]
    if exercise.hint is None:
        return Note(f"Exercise {label} ({exercise.title}) has no hint beyond its check's messages.")
    return Note(textwrap.fill(f"Hint for {label} ({exercise.title}): {exercise.hint}", width=78, subsequent_indent="  "))


def progress(chapter: str) -> Note:
    """Where a student stands in ``chapter`` (a check module's name): each exercise with the
    last verdict its check gave in this kernel, so the list says what has really been checked."""
    rows, done = [], 0
    exercises = [e for e in EXERCISES.values() if e.chapter == chapter]
    for exercise in exercises:
        verdict = VERDICTS.get(exercise.label)
        if verdict is None:
            state = "open     (its check has not run in this session)"
        elif verdict.passed:
            state, done = "passed", done + 1
        elif verdict.message.startswith("Not done yet"):
            state = "open     (still a stub)"
        else:
            state = "not yet  (its check rejected the last answer)"
        rows.append(f"  {exercise.label:<20} {state}")
    head = f"{done} of {len(exercises)} exercises pass in this session:"
    return Note("\n".join([head, *rows]))


# -- arguments an answer must leave as it found them -------------------------------------

def _module_state(module: nn.Module) -> dict[str, Any]:
    return {
        "modes": {name: m.training for name, m in module.named_modules()},
        "tensors": {name: (t.detach().clone(), t.device, t.dtype, t.requires_grad)
                    for name, t in [*module.named_parameters(), *module.named_buffers()]},
    }


def _snapshot(value: Any) -> Any:
    if isinstance(value, nn.Module):
        return _module_state(value)
    if isinstance(value, Tensor):
        return (value.detach().clone(), value.device, value.dtype, value.requires_grad, tuple(value.shape))
    if isinstance(value, (list, dict, set)):
        return copy.deepcopy(value)
    return None


def _module_changes(name: str, module: nn.Module, before: dict[str, Any], contents: bool) -> list[str]:
    after = _module_state(module)
    found = []
    flipped = [n for n, mode in before["modes"].items() if after["modes"].get(n) != mode]
    if flipped:
        was = "training" if before["modes"][flipped[0]] else "evaluation"
        now = "evaluation" if before["modes"][flipped[0]] else "training"
        found.append(f"it switched {name} from {was} mode to {now} mode and left it there "
                     "(put the mode back as you found it)")
    for tensor_name, (saved, device, dtype, _) in before["tensors"].items():
        now = after["tensors"].get(tensor_name)
        if now is None:
            found.append(f"it removed {name}'s {tensor_name}")
            break
        if now[1] != device:
            found.append(f"it moved {name} from {device} to {now[1]} (.to() and .cuda() move a model in place)")
            break
        if now[2] != dtype:
            found.append(f"it changed {name}'s dtype from {dtype} to {now[2]} (.double(), .half() and .to(dtype) "
                         "convert a model in place)")
            break
    if contents and not found:
        changed = [n for n, (saved, *_) in before["tensors"].items() if not torch.equal(after["tensors"][n][0], saved)]
        if changed:
            found.append(f"it changed {name}'s weights ({changed[0]}): the exercise reads the model, it does not train it")
    return found


def _qualified(root: nn.Module, module: nn.Module, key: str) -> str:
    """The name ``root.named_parameters()`` gives ``module``'s tensor ``key``."""
    prefix = next(name for name, m in root.named_modules() if m is module)
    return f"{prefix}.{key}" if prefix else key


def _restore(value: Any, before: Any, contents: bool) -> None:
    """Put ``value`` back as ``before`` saw it: the check leaves the notebook's objects as it found them.
    A model's weights are put back only where ``contents`` says they were not the answer's to change."""
    with torch.no_grad():
        if isinstance(value, nn.Module):
            for name, m in value.named_modules():
                m.training = before["modes"].get(name, m.training)
            saved = before["tensors"]
            now = dict([*value.named_parameters(), *value.named_buffers()])
            if any(n in now and (now[n].device != s[1] or now[n].dtype != s[2]) for n, s in saved.items()):
                home = next(iter(saved.values()))[1]  # a module lives on one device
                try:
                    value.to(device=home)
                except NotImplementedError:  # out of meta, which holds no values: make room, then copy
                    value.to_empty(device=home)
                for module in value.modules():  # each tensor back to its own dtype (int buffers stay int)
                    for store in (module._parameters, module._buffers):
                        for key, tensor in store.items():
                            if tensor is not None and tensor.dtype != saved.get(_qualified(value, module, key), (0, 0, tensor.dtype))[2]:
                                tensor.data = tensor.data.to(saved[_qualified(value, module, key)][2])
                now = dict([*value.named_parameters(), *value.named_buffers()])
            for name, (tensor, *_) in saved.items():
                if name in now and contents:
                    now[name].copy_(tensor)
        elif isinstance(value, Tensor):
            saved = before[0]
            if value.shape == saved.shape and value.dtype == saved.dtype and value.device == saved.device:
                value.copy_(saved)
            else:
                value.data = saved.clone()
            if value.is_leaf:
                value.requires_grad_(before[3])
        elif isinstance(value, list):
            value[:] = before
        elif isinstance(value, (dict, set)):
            value.clear()
            value.update(before)


def _changes(name: str, value: Any, before: Any, contents: bool) -> list[str]:
    if isinstance(value, nn.Module):
        return _module_changes(name, value, before, contents)
    if isinstance(value, Tensor):
        saved, device, dtype, requires_grad, shape = before
        if value.device != device:
            return [f"it moved {name} to {value.device}"]
        if value.dtype != dtype or tuple(value.shape) != shape:
            return [f"it changed {name} in place (its dtype or shape)"]
        if value.is_leaf and value.requires_grad != requires_grad:
            return [f"it switched requires_grad of {name} to {value.requires_grad}"]
        if contents and not torch.equal(value.detach(), saved):
            return [f"it changed the values of {name} in place (an in-place operation such as add_, mul_, "
                    f"clamp_, x[...] = or x += wrote into the tensor it was given)"]
        return []
    if isinstance(value, (list, dict, set)) and contents and not _same(value, before):
        return [f"it changed the {type(value).__name__} {name} it was given"]
    return []


def _same(a: Any, b: Any) -> bool:
    """Equal as an answer's caller would see it: tensors by value, dtype and shape (``==`` on two
    tensors is a tensor, which ``if`` cannot read), containers item by item."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return (isinstance(a, Tensor) and isinstance(b, Tensor) and a.dtype == b.dtype
                and a.shape == b.shape and a.device == b.device and torch.equal(a.detach(), b.detach()))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except (RuntimeError, ValueError, TypeError):
        return a is b


@contextlib.contextmanager
def left_as_found(*, contents: bool = True, **arguments: Any) -> Iterator[None]:
    """Reject an answer that changes what it was given, and put it back either way.

    ``arguments`` names what the answer receives (``model=model, images=images``). After the
    block, each is compared with a copy taken before: a model's train/eval mode (every
    submodule), device, dtype and, where ``contents`` is true, its weights; a tensor's values,
    device, dtype and ``requires_grad``; a list's, dict's or set's items. Anything changed is
    restored (the notebook's model must not leave a check moved or in another mode) and the
    answer rejected with :class:`Wrong`, naming the change. A training step passes
    ``contents=False``: it must change the weights, but nothing else.
    """
    before = {name: _snapshot(value) for name, value in arguments.items()}
    try:
        yield
    finally:
        found: list[str] = []
        for name, value in arguments.items():
            if before[name] is not None:
                changed = _changes(name, value, before[name], contents)
                if changed:  # written back only when changed: a write bumps a tensor's version, and
                    _restore(value, before[name], contents)  # autograd refuses a saved tensor written since
                found += changed
    if found:
        raise Wrong(f"your answer changed what it was given: {found[0]}. It must leave its arguments as it found them.")


# -- reading what answers return ------------------------------------------------------

def as_indices(got: object, mask_length: int | None = None) -> list[int] | None:
    """``got`` as a list of ints, or None if it is not indices.

    Accepted, so that every correct way of writing indices passes: a tensor of ints of
    any shape, ``topk``'s (values, indices), ``torch.where``'s 1-tuple, a NumPy array, a
    list. Where ``mask_length`` is given, a boolean mask of that length (tensor, array or
    list of bools) is read as the indices of its True entries.
    """
    if isinstance(got, tuple) and len(got) == 1:  # torch.where(mask), mask.nonzero(as_tuple=True)
        got = got[0]
    if isinstance(getattr(got, "indices", None), Tensor):  # topk's (values, indices)
        got = got.indices  # type: ignore[union-attr]
    if type(got).__module__ == "numpy" or (isinstance(got, list) and got and type(got[0]).__module__ == "numpy"):
        got = torch.as_tensor(np.asarray(got))
    if isinstance(got, Tensor):
        if got.dtype == torch.bool:
            is_mask = mask_length is not None and got.shape == (mask_length,)
            return [int(i) for i in got.nonzero().flatten().tolist()] if is_mask else None
        return None if got.is_floating_point() else [int(i) for i in got.flatten().tolist()]
    try:
        values = list(got)  # type: ignore[call-overload]
    except TypeError:
        return None
    if mask_length is not None and len(values) == mask_length and all(isinstance(v, bool) for v in values):
        return [i for i, v in enumerate(values) if v]
    if not all(hasattr(v, "__index__") and not isinstance(v, bool) for v in values):
        return None
    return [int(v) for v in values]


def as_number(got: object) -> float | None:
    """``got`` as a float: any real number type (float, int, a NumPy scalar, a one-element
    tensor), or None. A string is not a number here, though ``float("0.88")`` would parse it,
    and neither is a bool."""
    if isinstance(got, (str, bytes, bool)):
        return None
    try:
        return float(got)  # type: ignore[arg-type]
    except (TypeError, ValueError, RuntimeError):
        return None


def backpropagate(value: Tensor, what: str) -> None:
    """``value.backward()``, with a failure of the answer's graph reported as the answer's.

    Autograd raises from the check's own call, so without this the verdict would blame
    the check; the graph it fails on is the answer's (an in-place write to a saved tensor).
    """
    try:
        value.backward()
    except RuntimeError as error:
        first = str(error).splitlines()[0]
        hint = (" An in-place operation (add_, sub_, +=, ...) changed a tensor that autograd had saved for the "
                "backward pass: write it out of place." if "inplace" in first else "")
        raise Wrong(f"the value of {what} is right, but training could not back-propagate through it: {first}.{hint}") from None

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
    torch.zeros, torch.scalar_tensor,
})
_COPIES = frozenset({Tensor.copy_, Tensor.__setitem__})  # cross-device copies are allowed on a GPU too
_INDEXING = frozenset({Tensor.__getitem__, torch.index_select, Tensor.index_select})  # CPU indices into GPU data: fine
_IN_PLACE_ARITHMETIC = frozenset({"__iadd__", "__isub__", "__imul__", "__itruediv__", "__ipow__"})


def _targets_a_device(args: tuple, kwargs: dict) -> bool:
    """True if a ``.to(...)`` call names a device (a device, a string or a tensor), not only a dtype."""
    if "device" in kwargs or "other" in kwargs:
        return True
    return any(isinstance(a, (torch.device, str, Tensor)) for a in args)


class _DefaultDeviceElsewhere(TorchFunctionMode):
    """Plays a GPU runtime on any machine: tensors made with no ``device=`` go to ``meta``.

    On Colab the data lives on ``cuda`` and a bare ``torch.zeros(3)`` on the CPU,
    so mixing them fails. Here the data stays on the CPU and a tensor made with no
    ``device=`` becomes a ``meta`` tensor, which the mode refuses to mix with the
    data just as PyTorch refuses CPU with CUDA. The rules that keep the play
    faithful to CUDA:

    * a zero-dimensional tensor made on the CPU stays there as a "CPU scalar",
      which CUDA lets into its ops as an input, but not as the output of an
      in-place op on GPU data (``total += x.sum()`` with ``total`` a CPU scalar);
    * whatever is computed from CPU-made tensors only is CPU-made too
      (``Normal(0., 1.).sample(shape)`` expands a CPU scalar into a CPU tensor);
    * ``.to(x.device)``, ``.to(x)``, ``.cuda()`` of a ``meta`` tensor give a tensor
      on the data's device; ``.to(dtype)`` and ``.cpu()`` leave it where it is;
    * CPU index tensors may index GPU data, and copies across devices are allowed;
    * ``torch.distributions`` validation is off, since it reads values.

    Values are meaningless under this mode: it answers only "would the devices
    match?". The check's own real run judges the values.
    """

    def __init__(self) -> None:
        super().__init__()
        self.made: list[str] = []  # the factory calls that went to meta, by name
        self._scalars: dict[int, Tensor] = {}  # CPU scalars by id, kept alive so ids stay unique

    def _is_scalar(self, t: Tensor) -> bool:
        return self._scalars.get(id(t)) is t

    def _cpu_made(self, out: Any, name: str) -> Any:
        """``out``, made on the CPU: a scalar is remembered, anything larger goes to meta."""
        if not isinstance(out, Tensor):
            return out
        if out.ndim == 0 and not out.is_meta:
            self._scalars[id(out)] = out
            return out
        self.made.append(name)
        return out if out.is_meta else out.to("meta")

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[override]
        kwargs = kwargs or {}
        name = getattr(func, "__name__", str(func))
        tensors = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, Tensor)]
        if func in _FACTORIES and kwargs.get("device") is None and not tensors:
            return self._cpu_made(func(*args, **kwargs), f"torch.{name}")
        receiver = args[0] if args and isinstance(args[0], Tensor) else None
        if receiver is not None and receiver.is_meta and (
            func is Tensor.cuda or func is Tensor.type_as or (func is Tensor.to and _targets_a_device(args[1:], kwargs))
        ):
            moved = func(torch.zeros(receiver.shape, dtype=receiver.dtype), *args[1:], **kwargs)
            return moved.requires_grad_(receiver.requires_grad) if moved.is_floating_point() else moved
        if receiver is not None and receiver.is_meta and func is Tensor.cpu:
            return receiver
        cpu = [t for t in tensors if t.is_meta or self._is_scalar(t)]
        data = [t for t in tensors if not (t.is_meta or self._is_scalar(t))]
        if func in _INDEXING and receiver is not None and not receiver.is_meta and any(t.is_meta for t in tensors):
            real = [torch.zeros(t.shape, dtype=t.dtype) if t.is_meta else t for t in tensors]
            args, kwargs = _replace_tensors((args, kwargs), tensors, real)
            return func(*args, **kwargs)
        if data and any(t.is_meta for t in cpu) and func not in _COPIES:
            raise RuntimeError("Expected all tensors to be on the same device, but found at least two devices, meta and cpu!")
        if data and receiver is not None and self._is_scalar(receiver) and (
            name in _IN_PLACE_ARITHMETIC or (name.endswith("_") and not name.startswith("_"))
        ) and func not in _COPIES:
            raise RuntimeError("Expected all tensors to be on the same device, but found at least two devices, cpu and cuda!")
        out = func(*args, **kwargs)
        if cpu and not data:  # computed from CPU-made tensors alone: CPU-made as well
            if type(out) in (tuple, list):
                return type(out)(self._cpu_made(o, name) for o in out)
            return self._cpu_made(out, name)  # anything not a tensor comes back as it was
        return out


def _replace_tensors(tree: Any, old: list[Tensor], new: list[Tensor]) -> Any:
    """``tree`` with each tensor of ``old`` (by identity) replaced by its partner in ``new``."""
    pairs = {id(o): n for o, n in zip(old, new)}
    return tree_map(lambda leaf: pairs.get(id(leaf), leaf) if isinstance(leaf, Tensor) else leaf, tree)


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
    validating = torch.distributions.Distribution._validate_args
    torch.distributions.Distribution.set_default_validate_args(False)  # validation reads values
    from_numpy = torch.from_numpy  # PyTorch does not route it through modes: wrapped for the probe
    torch.from_numpy = lambda array: mode._cpu_made(from_numpy(array), "torch.from_numpy")  # type: ignore[assignment]
    try:
        with mode:
            run()
    except Exception as error:  # only a device mismatch is a verdict
        if is_device_mismatch(error):
            made = f" (here: {', '.join(sorted(set(mode.made)))})" if mode.made else ""
            raise Wrong(f"{what}: {_MIXED_DEVICES}{made} On a CPU runtime this passes; on a Colab GPU it stops.") from None
    finally:
        torch.distributions.Distribution.set_default_validate_args(validating)
        torch.from_numpy = from_numpy  # type: ignore[assignment]
