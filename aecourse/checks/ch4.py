"""Checks for chapter 4: convolutional, denoising and sparse autoencoders."""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import Tensor, nn

from aecourse.anomaly import add_defects, detection_auc
from aecourse.checks.core import (
    Wrong,
    backpropagate,
    check_device,
    exercise_check,
    is_device_mismatch,
    left_as_found,
    probe_devices,
)
from aecourse.device import cpu_float64
from aecourse.settings import is_fast
from aecourse.train import evaluating

# -- the size of a convolution's output -------------------------------------------------

# The grid every answer is judged on, and the settings shown first when one is wrong:
# the chapter's own layers, so that a message speaks of sizes the student has seen.
_SIZES, _KERNELS, _STRIDES, _PADDINGS = range(1, 41), range(1, 8), range(1, 5), range(4)
_SHOWCASE = ((28, 3, 2, 1), (28, 3, 1, 1), (28, 4, 2, 1), (7, 3, 2, 1), (28, 5, 1, 0), (28, 3, 2, 0), (27, 4, 3, 0))


@functools.lru_cache(maxsize=1)
def _conv_sides() -> dict[tuple[int, int, int, int], int]:
    """``(size, kernel, stride, padding) -> side``, as ``nn.Conv2d`` really outputs it, wherever
    the output has at least one pixel: measured, so the check holds the answer to PyTorch,
    not to a formula of its own. On the ``meta`` device PyTorch works out the output's
    shape with the same rules and computes nothing: 4,344 layers in a fraction of a second."""
    sides = {}
    with torch.no_grad():
        for kernel in _KERNELS:
            for stride in _STRIDES:
                for padding in _PADDINGS:
                    layer = nn.Conv2d(1, 1, kernel, stride, padding, bias=False, device="meta")
                    for size in _SIZES:
                        if size + 2 * padding >= kernel:
                            image = torch.empty(1, 1, size, size, device="meta")
                            sides[(size, kernel, stride, padding)] = int(layer(image).shape[-1])
    return sides


def _read_size(got: object) -> tuple[int | None, float | None]:
    """``(n, None)`` for an integer answer (an int, a NumPy integer, a one-element integer
    tensor or array); ``(None, x)`` for a real number that is not of an integer type
    (14.0, a float tensor); ``(None, None)`` for anything else, a bool included."""
    if isinstance(got, (bool, np.bool_)):
        return None, None
    if isinstance(got, (int, np.integer)):
        return int(got), None
    if isinstance(got, (float, np.floating)):
        return None, float(got)
    if (isinstance(got, Tensor) and got.numel() == 1) or (isinstance(got, np.ndarray) and got.size == 1):
        kind = str(got.dtype)
        if "bool" in kind or "complex" in kind:
            return None, None
        if "float" in kind:
            return None, float(got.item())
        return int(got.item()), None
    return None, None


def _setting(case: tuple[int, int, int, int]) -> str:
    size, kernel, stride, padding = case
    return f"size {size}, kernel {kernel}, stride {stride}, padding {padding}"


_SIZE_HINT = (
    "Along one side the padded input has size + 2 * padding pixels. The first window starts at its first pixel, "
    "each next one stride pixels further on, and a window is placed only if it ends inside: count those starts. "
    "The first counts one, and each whole stride that still fits adds one; a part of a stride adds nothing "
    "(floor division, //). Check your count by hand on a small case: size 5, kernel 3, stride 2, no padding gives 2."
)


def _settings_called(answer: Callable[..., object], form: str, case: tuple[int, int, int, int]) -> object:
    """``answer`` called for ``case`` the way ``form`` says: every argument by position, by keyword
    (as the chapter's next cell calls it), or with stride and/or padding left to their defaults."""
    size, kernel, stride, padding = case
    if form == "keywords":
        return answer(size, kernel=kernel, stride=stride, padding=padding)
    if form == "defaults":
        return answer(size, kernel)
    if form == "default padding":
        return answer(size, kernel, stride)
    if form == "default stride":
        return answer(size, kernel, padding=padding)
    return answer(size, kernel, stride, padding)


# What each way of leaving arguments out stands for, and which settings it is tried on.
_DEFAULT_FORMS = {
    "defaults": ("conv_output_size({size}, {kernel})", "stride and padding left out",
                 "nn.Conv2d(1, 1, {kernel}), whose defaults are stride 1 and padding 0,",
                 lambda c: c[2] == 1 and c[3] == 0),
    "default padding": ("conv_output_size({size}, {kernel}, {stride})", "padding left out",
                        "nn.Conv2d(1, 1, {kernel}, stride={stride}), padding 0 by default,",
                        lambda c: c[3] == 0),
    "default stride": ("conv_output_size({size}, {kernel}, padding={padding})", "stride left out",
                       "nn.Conv2d(1, 1, {kernel}, padding={padding}), stride 1 by default,",
                       lambda c: c[2] == 1),
}


@exercise_check("the size of a convolution's output", label="ex-ch4-size", hint=_SIZE_HINT)
def conv_output_size(answer: Callable[..., int], *, device: torch.device | str | None = None) -> str:
    """``answer(size, kernel, stride=1, padding=0)``: the side of ``nn.Conv2d``'s output,
    ``(size + 2 * padding - kernel) // stride + 1``, as an int.

    Judged against what ``nn.Conv2d`` outputs on every setting of a grid (sizes 1 to 40,
    kernels 1 to 7, strides 1 to 4, paddings 0 to 3, wherever the output is not empty),
    called four ways on it: every argument by position; by keyword, as the chapter's next
    cell calls it; and with stride, padding or both left out, which must mean nn.Conv2d's
    defaults (stride 1, padding 0). Any correct way passes, ``//``, ``math.floor``,
    ``int()`` of a non-negative quotient, or a Conv2d built and measured. The sides are
    plain arithmetic, the same on every device: ``device`` is accepted, like every
    check's, and not needed.
    """
    del device  # nothing here runs on a device: sizes are integers
    sides = _conv_sides()
    try:
        first = answer(28, 3)
    except TypeError as error:
        if "positional argument" in str(error):
            raise Wrong("called as the chapter calls it for a layer with nn.Conv2d's defaults, conv_output_size(28, "
                        f"3), your function raised TypeError: {error}. The exercise's signature gives stride and "
                        "padding defaults: conv_output_size(size, kernel, stride=1, padding=0).") from None
        raise
    if _read_size(first) == (None, None):
        raise Wrong(f"return the side as an int; for size 28 and kernel 3 your answer returned {first!r} "
                    f"(a {type(first).__name__}).")
    got: dict[tuple[int, int, int, int], int | float] = {}
    floats = []
    for case in sides:
        raw = answer(*case)
        whole, real = _read_size(raw)
        if whole is None and real is None:
            raise Wrong(f"return the side as an int; for {_setting(case)} your answer returned {raw!r} (a "
                        f"{type(raw).__name__}).")
        got[case] = whole if whole is not None else real  # type: ignore[assignment]
        if whole is None:
            floats.append(case)
    if floats:
        case = next((c for c in _SHOWCASE if c in floats), floats[0])
        if all(got[c] == sides[c] for c in sides):
            raise Wrong(f"the sizes are right, but floats (for {_setting(case)}: {got[case]!r}): return an int. "
                        "Layer sizes must be ints: nn.Linear(32 * side * side, ...) refuses a float.")
        quotient = {c: (c[0] + 2 * c[3] - c[1]) / c[2] + 1 for c in sides}
        if all(math.isclose(got[c], quotient[c]) for c in floats):
            shown = next((c for c in (*_SHOWCASE, *sides) if quotient[c] != sides[c]), case)
            raise Wrong(f"you divided with /: for {_setting(shown)} that gives {quotient[shown]:g} pixels, but a "
                        f"window is placed only where it fits whole, so Conv2d outputs {sides[shown]}: return an "
                        "int, rounded down.")
        raise Wrong(f"return an int: for {_setting(case)} your answer returned {got[case]!r}.")
    wrong = [c for c in sides if got[c] != sides[c]]
    if wrong:
        shown = next((c for c in _SHOWCASE if c in wrong), wrong[0])
        said = (f"for {_setting(shown)} nn.Conv2d outputs {sides[shown]}, your answer gave {got[shown]} "
                f"(wrong on {len(wrong):,} of {len(sides):,} settings).")
        slips = {
            "You count one position too few: a kernel that fits exactly once already gives one output pixel.":
                lambda n, k, s, p: (n + 2 * p - k) // s,
            "Your count adds the padding once: it is added on both sides of the image.":
                lambda n, k, s, p: (n + p - k) // s + 1,
            "Your count rounds up: a window that would run past the padded edge is not placed.":
                lambda n, k, s, p: math.ceil((n + 2 * p - k) / s) + 1,
            "Your count rounds to the nearest integer: a window that would run past the padded edge is not "
            "placed.":
                lambda n, k, s, p: round((n + 2 * p - k) / s) + 1,
            "Your count ignores the padding: the padded image has padding pixels more on each side.":
                lambda n, k, s, p: (n - k) // s + 1,
            "Your count ignores the stride: the window moves stride pixels at a time.":
                lambda n, k, s, p: n + 2 * p - k + 1,
        }
        for cause, slip in slips.items():
            if all(got[c] == slip(*c) for c in sides):
                raise Wrong(f"{said} {cause}")
        raise Wrong(f"{said} Count the positions by hand for that setting and compare.")
    try:
        for case in sides:
            raw = _settings_called(answer, "keywords", case)
            if _read_size(raw)[0] != sides[case]:
                raise Wrong(f"by position your sizes are right, but called by keyword as the chapter's next cell "
                            f"calls it, conv_output_size({case[0]}, kernel={case[1]}, stride={case[2]}, "
                            f"padding={case[3]}), it returned {raw!r} where nn.Conv2d outputs {sides[case]}.")
    except TypeError as error:
        raise Wrong("called by keyword as the chapter's next cell calls it, conv_output_size(28, kernel=3, stride=2, "
                    f"padding=1), your function raised TypeError: {error}. Name the parameters as the exercise does: "
                    "size, kernel, stride, padding.") from None
    for form, (call, left_out, layer, applies) in _DEFAULT_FORMS.items():
        cases = [c for c in sides if applies(c)]
        missed = [c for c in cases if _read_size(_settings_called(answer, form, c))[0] != sides[c]]
        if missed:
            shown_first = ((28, 3, 1, 0), (28, 3, 2, 0), (28, 3, 1, 1), *_SHOWCASE)
            case = next((c for c in shown_first if c in missed), missed[0])
            size, kernel, stride, padding = case
            names = dict(size=size, kernel=kernel, stride=stride, padding=padding)
            raw = _settings_called(answer, form, case)
            raise Wrong(f"with every argument given your sizes are right, but with {left_out}, "
                        f"{call.format(**names)} returned {raw!r}, where {layer.format(**names)} outputs "
                        f"{sides[case]} (wrong on {len(missed):,} of the {len(cases):,} settings tried with "
                        f"{left_out}). A default must stand for nn.Conv2d's own.")
    return (f"your sizes match nn.Conv2d on all {len(sides):,} settings tried (sizes 1-40, kernels 1-7, strides "
            "1-4, paddings 0-3), by position, by keyword and with stride and padding left to their defaults. "
            "Kernel 3 with padding 1 keeps the size ('same' padding); with stride 2 it halves it, 28 -> 14 -> 7, "
            "and an odd side rounds up: 7 -> 4, the + 1 counting the first window. A decoder that must come back "
            "to 28 has to retrace exactly these sizes.")


# -- upsampling with even coverage -------------------------------------------------------

def _pair(value: int | tuple[int, ...]) -> str:
    """A layer setting as the student wrote it: ``3`` for (3, 3), ``(3, 5)`` otherwise."""
    if isinstance(value, tuple) and len(set(value)) == 1:
        return str(value[0])
    return str(value)


def _coverage(layer: nn.ConvTranspose2d) -> tuple[float, float]:
    """The least and greatest number of kernel taps an output pixel of ``layer`` receives,
    away from the border, measured: a copy with every weight 1 and bias 0 applied to ones.

    Uneven coverage (least < greatest) builds a checkerboard into the layer: some pixels
    receive more taps than their neighbours, and training has to cancel the pattern. Even
    coverage removes that built-in pattern, at initialisation; it does not stop training from
    learning one (Odena et al., 2016, who recommend resizing, then convolving).
    """
    kernel = layer.kernel_size
    probe = nn.ConvTranspose2d(layer.in_channels, layer.out_channels, kernel, stride=layer.stride,
                               padding=layer.padding, output_padding=layer.output_padding, groups=layer.groups,
                               bias=True, dilation=layer.dilation)
    with torch.no_grad():
        probe.weight.fill_(1.0)
        probe.bias.zero_()
        side = 4 * max(kernel) + 4
        while True:
            out = probe(torch.ones(1, layer.in_channels, side, side))[0, 0]
            inner = out[kernel[0]: out.shape[0] - kernel[0], kernel[1]: out.shape[1] - kernel[1]]
            if inner.shape[0] > 2 * max(layer.stride) and inner.shape[1] > 2 * max(layer.stride):
                return float(inner.min()), float(inner.max())
            side *= 2  # a padding so large it eats the border: measure on a larger input


def _describe(module: nn.Module) -> str:
    """``ConvTranspose2d(kernel 3, stride 2, padding 1)``: the settings that decide its output size."""
    name = type(module).__name__
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        parts = [f"{module.in_channels} -> {module.out_channels} channels", f"kernel {_pair(module.kernel_size)}",
                 f"stride {_pair(module.stride)}", f"padding {_pair(module.padding)}"]
        if isinstance(module, nn.ConvTranspose2d) and any(module.output_padding):
            parts.append(f"output_padding {_pair(module.output_padding)}")
        return f"{name}({', '.join(parts)})"
    if isinstance(module, nn.Upsample):
        return f"{name}(scale_factor={module.scale_factor}, size={module.size})"
    return name


def _layer_name(name: str) -> str:
    """How a message names a submodule: ``layer 0``, ``layer decoder.3``, or the module itself."""
    return f"layer {name}" if name else "the module itself"


@contextlib.contextmanager
def _traced(module: nn.Module) -> Iterator[tuple[list[str], set[int]]]:
    """Record, for each layer of ``module`` that changes the height or width of what passes
    through it, ``"layer 0, Layer(...): 7 x 7 -> 13 x 13"``, in call order; and the ids of
    every layer called (a layer built but never called does not shape the output)."""
    trace: list[str] = []
    called: set[int] = set()

    def record(name: str) -> Callable:
        def hook(layer: nn.Module, args: tuple, out: object) -> None:
            called.add(id(layer))
            first = args[0] if args else None
            if isinstance(first, Tensor) and isinstance(out, Tensor) and first.ndim == 4 and out.ndim == 4 \
                    and first.shape[-2:] != out.shape[-2:]:
                (h, w), (oh, ow) = first.shape[-2:], out.shape[-2:]
                trace.append(f"{_layer_name(name)}, {_describe(layer)}: {h} x {w} -> {oh} x {ow}")
        return hook

    hooks = [m.register_forward_hook(record(name)) for name, m in module.named_modules() if not list(m.children())]
    try:
        yield trace, called
    finally:
        for hook in hooks:
            hook.remove()


def _draft_upsampler() -> nn.Sequential:
    """The chapter's draft upsampler, the notebook's ``draft_upsampler()`` (a test keeps the two
    alike): built here so that a notebook that redefines its own cannot move the answer."""
    return nn.Sequential(
        nn.ConvTranspose2d(32, 16, kernel_size=2, stride=2),  # 7 -> 14
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.ConvTranspose2d(16, 16, kernel_size=3, stride=1, padding=1),  # 14 -> 14
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.ConvTranspose2d(16, 1, kernel_size=5, stride=2, padding=2, output_padding=1),  # 14 -> 28
    )


def _row_counts(layer: nn.ConvTranspose2d, inner: bool = True) -> set[int]:
    """The numbers of stamps the pixels of one output row of ``layer`` receive, measured: a
    one-channel copy along the row with every weight 1, applied to a row of ones (14 pixels,
    the draft's input). ``inner``: away from the border (``kernel`` pixels from each end)."""
    k, s, p, o = layer.kernel_size[1], layer.stride[1], layer.padding[1], layer.output_padding[1]
    probe = nn.ConvTranspose1d(1, 1, k, stride=s, padding=p, output_padding=o, bias=False)
    with torch.no_grad():
        probe.weight.fill_(1.0)
        row = probe(torch.ones(1, 1, 14 if not inner else 8 * k + 8))[0, 0]
    if inner:
        row = row[k: len(row) - k]
    return {int(round(float(v))) for v in row}


def _read_layer(got: object, draft: nn.Sequential) -> int | None:
    """The index into ``draft`` that ``got`` names: an int (negative ones count from the end), a
    string of digits, a one-element list, or a layer configured like one of the draft's; None if
    it names none. An index out of range is returned as it is, for the message."""
    if isinstance(got, (list, tuple)) and len(got) == 1:
        got = got[0]
    if isinstance(got, nn.Module):
        return next((i for i, m in enumerate(draft) if type(m) is type(got) and _describe(m) == _describe(got)), None)
    if isinstance(got, str) and got.strip().lstrip("-").isdigit():
        got = int(got.strip())
    whole, _ = _read_size(got)
    if whole is None:
        return None
    return whole % len(draft) if -len(draft) <= whole < 0 else whole


def _read_counts(got: object) -> list[float] | None:
    """``got`` as a list of numbers: a set, list, tuple, array or tensor of them, or one number."""
    if isinstance(got, (bool, np.bool_, str, bytes, dict)):
        return None
    if isinstance(got, (int, float, np.integer, np.floating)):
        return [float(got)]
    if isinstance(got, (Tensor, np.ndarray)):
        got = got.flatten().tolist()
    try:
        values = list(got)  # type: ignore[call-overload]
    except TypeError:
        return None
    if not values or any(isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating))
                         for v in values):
        return None
    return [float(v) for v in values]


def _judge_diagnosis(uneven_layer: object, stamps: object) -> tuple[int, set[int], bool]:
    """Raise :class:`Wrong` unless ``uneven_layer`` names the draft's uneven layer and ``stamps``
    the counts its rows receive; return the layer's index, the counts, and whether ``stamps``
    gave them in two dimensions."""
    draft = _draft_upsampler()
    index = _read_layer(uneven_layer, draft)
    if index is None:
        raise Wrong(f"uneven_layer must name one layer of draft_upsampler() by its index in the nn.Sequential, an "
                    f"int from 0 to {len(draft) - 1}; it is {uneven_layer!r}.")
    if not 0 <= index < len(draft):
        raise Wrong(f"draft_upsampler() has {len(draft)} layers, indexed 0 to {len(draft) - 1} as nn.Sequential "
                    f"numbers them (draft_upsampler()[0] is the first); uneven_layer is {index}.")
    layer = draft[index]
    culprits = [i for i, m in enumerate(draft) if isinstance(m, nn.ConvTranspose2d) and len(_row_counts(m)) > 1]
    if index not in culprits:
        if not isinstance(layer, nn.ConvTranspose2d):
            raise Wrong(f"layer {index} of the draft is a {type(layer).__name__}: it treats every pixel alike and "
                        "places no stamps, so it cannot make a pattern that repeats every other pixel.")
        counts = _row_counts(layer)
        raise Wrong(f"layer {index}, {_describe(layer)}, covers its output evenly: measured with every weight 1 on "
                    f"an input of ones, every pixel of an output row away from the border receives {counts.pop()} "
                    "stamp(s). The grid comes from another layer.")
    values = _read_counts(stamps)
    if values is None:
        raise Wrong(f"stamps must be the set of counts that occur, a set of ints such as {{7, 8}}; it is {stamps!r}.")
    row, border = _row_counts(layer), _row_counts(layer, inner=False)
    flat = {a * b for a in row for b in row}
    given = set(values)
    said = f"layer {index} is the uneven one, right. For stamps you gave {sorted(set(_plain(v) for v in values))}:"
    if given == {float(c) for c in row}:
        return index, row, False
    two_d = [flat, *({a * b for b in row} for a in row)]  # all pixels, or those of one row, in two dimensions
    if any(given == {float(c) for c in counts} for counts in two_d):
        return index, row, True
    if any(v != int(v) for v in given):
        average = layer.kernel_size[1] / layer.stride[1]
        what = (f" {_plain(average)} is kernel / stride, the average number of stamps per pixel."
                if any(math.isclose(v, average) for v in given) else "")
        raise Wrong(f"{said} a pixel receives a whole number of stamps.{what} Which whole numbers occur, pixel by "
                    "pixel along the row, is what makes the pattern.")
    for counts, where_counted in ((row, "along a row"), (flat, "in two dimensions")):
        scale = max(given) / max(counts)
        if scale > 1 and scale % layer.in_channels == 0 and given == {scale * c for c in counts}:
            raise Wrong(f"{said} those are the layer's counts {where_counted}, each multiplied by {_plain(scale)}. "
                        f"With every weight 1, a stamp adds up all {layer.in_channels} input channels: count "
                        "stamps, not the values they add.")
    if given == {float(layer.kernel_size[1])}:
        raise Wrong(f"{said} {layer.kernel_size[1]} is the kernel's width, how many output pixels one stamp covers "
                    "along a row. The question is the other way round: how many stamps cover one output pixel?")
    if len(given) == 1 and int(next(iter(given))) in row:
        raise Wrong(f"{said} one count alone would mean that every pixel receives the same number of stamps, an "
                    "even coverage; along this layer's rows it is not the same for every pixel.")
    extra = sorted(int(v) for v in given if int(v) in border - row)
    at_border = f" ({', '.join(map(str, extra))} occurs only at the border, where fewer stamps reach.)" if extra else ""
    raise Wrong(f"{said} measured with every weight 1 on an input of ones, the pixels of an output row of layer "
                f"{index}, away from the border, receive other counts.{at_border} Count, for one output pixel, "
                f"the stamps ({layer.kernel_size[1]} pixels wide, placed {layer.stride[1]} pixels apart) that "
                "cover it; then for its neighbour.")


def _plain(value: float) -> int | float:
    """``3`` for 3.0, ``2.5`` for 2.5: a count as the student would write it."""
    return int(value) if float(value).is_integer() else value


_UPSAMPLER_HINT = (
    "A transposed convolution with kernel k and stride s places a stamp k pixels wide every s pixels along a row. "
    "Number the output pixels and mark which stamps cover pixel 10, then pixel 11: the counts differ unless k and s "
    "have a particular relation. Try the draft's layers one by one (copy a layer, set its weights to 1, feed it "
    "ones) if you want to see it. For the design, choose kernel, stride and padding so that the count is the same "
    "for every pixel and the sizes still come out 14 and 28, or resize with nn.Upsample and then use nn.Conv2d."
)


@exercise_check("the checkerboard diagnosed and an even upsampler", label="ex-ch4-upsampler", hint=_UPSAMPLER_HINT)
def upsampler(uneven_layer: object, stamps: object, answer: Callable[[], nn.Module], *,
              device: torch.device | str | None = None) -> str:
    """The diagnosis of the chapter's ``draft_upsampler()`` and a design that replaces it.

    ``uneven_layer``: the index of the draft's layer that covers its output unevenly (6,
    the transposed convolution with kernel 5 and stride 2; -1, "6" and the layer itself
    pass too). ``stamps``: the counts of stamps the pixels of one of its output rows receive
    away from the border, {2, 3} (its two-dimensional counts pass as well: {4, 6, 9} over
    the whole output, {4, 6} or {6, 9} along one of its rows), as a set, list, tuple, array
    or tensor. ``answer()`` returns a new ``nn.Module`` mapping
    ``(N, 32, 7, 7)`` to ``(N, 1, 28, 28)`` logits whose every ``nn.ConvTranspose2d`` covers
    its output evenly.

    Judged by measurement: the module runs on the check's device in eval mode (its modes
    restored afterwards), and each transposed convolution it calls is measured by
    :func:`_coverage`. Any even design passes: kernel 4 stride 2 padding 1, kernel 2
    stride 2, ``nn.Upsample`` or ``F.interpolate`` then ``nn.Conv2d``, with BatchNorm or
    ReLU anywhere; not a Sigmoid at the end (the model adds its own).
    """
    index, row, two_d = _judge_diagnosis(uneven_layer, stamps)
    where = check_device(device)
    module = answer()
    if not isinstance(module, nn.Module):
        raise Wrong(f"make_upsampler() must return an nn.Module (an nn.Sequential, say); it returned a "
                    f"{type(module).__name__}.")
    again = answer()
    if again is module or (isinstance(again, nn.Module)
                           and {id(p) for p in again.parameters()} & {id(p) for p in module.parameters()}):
        raise Wrong("two calls of make_upsampler() returned the same module (or modules sharing weights): every "
                    "ConvAutoencoder built from it would share its upsampler's weights with the others, so "
                    "training one model would change the rest. Build the layers inside the function.")
    trainable = [p for p in module.parameters() if p.requires_grad]
    if not trainable:
        raise Wrong("the module has no trainable parameters: nothing to learn. A resize alone cannot turn 32 feature "
                    "maps into a digit.")
    modes = {m: m.training for m in module.modules()}
    x = torch.rand(3, 32, 7, 7, generator=torch.Generator().manual_seed(0)).to(where)
    try:
        module.to(where).eval()
        with _traced(module) as (trace, called), torch.no_grad():
            try:
                out = module(x)
                louder = module(8 * x)
            except Exception as error:  # the module is the answer: its failure is the answer's
                if is_device_mismatch(error):
                    raise
                first = str(error).splitlines()[0] if str(error) else ""
                raise Wrong(f"feeding it a batch shaped (N, 32, 7, 7), N images of 32 feature maps of 7 x 7 (the "
                            f"encoder's output), raised {type(error).__name__}: {first.rstrip('.')}.") from None
        probe_x = x.cpu()
        module.cpu()  # the notebook builds the module on the CPU, then moves it
        probe_devices(lambda: module(probe_x), "the upsampler's forward pass")
        module.to(where)
    finally:
        for m, mode in modes.items():
            m.training = mode
    if not isinstance(out, Tensor):
        raise Wrong(f"its forward pass must return a tensor; it returned a {type(out).__name__}.")
    shape = tuple(out.shape)
    steps = ("; ".join(trace) + ".") if trace else "none among its layers (a resize inside forward is not traced)."
    if out.ndim != 4 or shape[0] != 3:
        raise Wrong(f"from a batch shaped (3, 32, 7, 7) it returned shape {shape}; expected (3, 1, 28, 28): "
                    "keep the batch and the (N, C, H, W) layout.")
    if shape[-2:] != (28, 28):
        raise Wrong(f"from 7 x 7 it made {shape[2]} x {shape[3]}, not 28 x 28. The layers that change the size: "
                    f"{steps}")
    if shape[1] != 1:
        raise Wrong(f"it returns {shape[1]} channels; a grey MNIST digit has 1: shape (N, 1, 28, 28).")
    if all(bool(((o > 0) & (o < 1)).all()) for o in (out, louder)):
        raise Wrong("every value it returns lies strictly between 0 and 1, even for inputs 8 times larger, as after a "
                    "Sigmoid: the exercise asks for logits, because ConvAutoencoder applies its own Sigmoid after the "
                    "upsampler. Squashed twice, a pixel could never come out darker than 0.5.")
    transposed = [(name, m) for name, m in module.named_modules()
                  if isinstance(m, nn.ConvTranspose2d) and id(m) in called]
    for name, layer in transposed:
        low, high = _coverage(layer)
        if high - low > 1e-6 * max(abs(high), 1.0):
            raise Wrong(f"the diagnosis is right; in your design, {_layer_name(name)} (ConvTranspose2d, kernel "
                        f"{_pair(layer.kernel_size)}, stride {_pair(layer.stride)}) covers its output unevenly: with "
                        f"every weight 1 and an input of ones, away from the border its output varies between "
                        f"{low:g} and {high:g} in a repeating pattern, the checkerboard you diagnosed in the draft.")
    count = sum(p.numel() for p in trainable)
    seen = (f"{sorted(row)} stamps along one direction ({sorted({a * b for a in row for b in row})} in two "
            "dimensions)" if not two_d else
            f"{sorted({a * b for a in row for b in row})} stamps in two dimensions ({sorted(row)} along one direction)")
    diagnosis = (f"The draft's layer {index} places a {_pair(_draft_upsampler()[index].kernel_size)}-wide stamp every "
                 f"{_pair(_draft_upsampler()[index].stride)} pixels, so its output pixels receive {seen}: a grid "
                 "built in from the start.")
    if transposed:
        names = ", ".join(_layer_name(name) for name, _ in transposed)
        how = (f"every transposed convolution ({names}) covers its output evenly: at initialisation every output "
               "pixel receives the same number of stamps, so the layer does not start out drawing a grid. Training "
               "can still learn one: Odena et al. (2016) found that even-coverage transposed convolutions still "
               "produce checkerboard artifacts, and recommend resizing, then convolving.")
    else:
        how = ("it resizes, then convolves: no output pixel receives more stamps than its neighbours, so no grid is "
               "built in, and Odena et al. (2016) found this design the least prone to checkerboard artifacts. The "
               "resize is fixed; the convolutions after it do the learning.")
    return (f"{diagnosis} Your design maps (N, 32, 7, 7) -> (N, 1, 28, 28) with {count:,} trainable parameters, "
            f"and {how}")


# -- masking noise ----------------------------------------------------------------------

def _noisy(answer: Callable[[Tensor, float], Tensor], x: Tensor, fraction: float) -> Tensor:
    """``answer(x, fraction)``, after checking it left ``x`` alone and kept its shape, dtype and device."""
    clean = x.clone()
    got = answer(x, fraction)
    if not torch.equal(x, clean):
        raise Wrong("x was modified in place: return a new tensor; the clean images are the target the "
                    "autoencoder learns to reconstruct, and masking them in place loses it.")
    if not isinstance(got, Tensor):
        raise Wrong(f"return the noisy images as a tensor shaped like x; got a {type(got).__name__}.")
    if got.shape != x.shape:
        raise Wrong(f"for x of shape {tuple(x.shape)} your answer returned shape {tuple(got.shape)}: the noisy "
                    "images must have the shape of x.")
    if got.device != x.device:
        raise Wrong(f"x is on {x.device}, the noisy images on {got.device}: make them where x is.")
    if got.dtype != x.dtype:
        raise Wrong(f"x is {x.dtype}, the noisy images are {got.dtype}: keep x's dtype (a NumPy mask is float64; "
                    "use a boolean mask, or convert with .to(x)); the model's weights are float32.")
    return got


def _judge_masking(got: Tensor, x: Tensor, fraction: float) -> None:
    """Raise :class:`Wrong` unless ``got`` is ``x`` with about ``fraction`` of each image's pixels
    set to 0, independently in every image and at every position, the rest untouched."""
    n, d = x.shape[0], x[0].numel()
    zero = got == 0
    changed = ~zero & ~torch.isclose(got, x, rtol=1e-5, atol=1e-7)
    if bool(changed.any()):
        share = float(changed.float().mean())
        before, after = float(x[changed][0]), float(got[changed][0])
        ratio = got[changed] / x[changed]
        if fraction < 1 and torch.allclose(ratio, torch.full_like(ratio, 1 / (1 - fraction)), rtol=1e-4):
            raise Wrong(f"the pixels kept were multiplied by 1 / (1 - fraction) = {1 / (1 - fraction):.3f}: dropout "
                        "rescales the pixels it keeps; masking noise must leave them as they are. F.dropout and "
                        "nn.Dropout scale up the survivors so that a layer's expected output stays the same; here "
                        "the autoencoder must see the surviving pixels as they were.")
        raise Wrong(f"with fraction = {fraction}, {share:.1%} of the pixels were changed to values other than 0 "
                    f"(e.g. {before:.4f} became {after:.4f}): masking noise sets the chosen pixels to 0 and "
                    "leaves every other pixel exactly as it was; no noise added, no rescaling.")
    flat = zero.reshape(n, d)
    if 0 < fraction < 1:
        if bool((flat == flat[0]).all()):
            raise Wrong("every image got the same mask: the same pixels are zeroed in every image of the batch, as "
                        "when a mask drawn with the shape of one image is broadcast over the batch. Each image must "
                        "lose different pixels.")
        counts = flat.float().sum(dim=1)
        spread, expected = float(counts.std()), math.sqrt(d * fraction * (1 - fraction))
        if spread > 1.5 * expected + 1:
            whole = bool(((counts == 0) | (counts == d)).all())
            cause = ("each image was kept or dropped whole: one draw per image, where each pixel needs its own."
                     if whole else "the pixels of an image are not dropped independently of one another.")
            raise Wrong(f"the number of zeroed pixels varies too much from image to image (standard deviation "
                        f"{spread:.1f} pixels, where independent pixels give {expected:.1f}): {cause}")
    produced = float(flat.float().mean())
    tolerance = 6 * math.sqrt(fraction * (1 - fraction) / (n * d)) + 1 / d  # sampling noise, and round(f * d)
    if abs(produced - fraction) > tolerance:
        said = (f"with fraction = {fraction} your answer set {produced:.3f} of the pixels to 0 (about "
                f"{produced * d:.0f} of each image's {d});")
        if abs(produced - (1 - fraction)) <= tolerance:
            raise Wrong(f"{said} you kept `fraction` of the pixels instead of dropping it: `fraction` is the share "
                        "set to 0.")
        repeated = 1 - (1 - 1 / d) ** round(fraction * d)  # k positions drawn with replacement: some repeat
        if abs(produced - repeated) <= tolerance:
            raise Wrong(f"{said} that is what {round(fraction * d)} positions per image drawn with replacement give: "
                        "some repeat, so fewer distinct pixels are zeroed.")
        raise Wrong(f"{said} expected {fraction}. Each pixel is dropped with probability fraction, or exactly "
                    "round(fraction * d) pixels per image.")
    if 0 < fraction < 1:
        per_position = flat.float().mean(dim=0)
        position_tolerance = 6 * math.sqrt(fraction * (1 - fraction) / n) + 1 / n
        if float((per_position - fraction).abs().max()) > position_tolerance:
            most, least = int(per_position.argmax()), int(per_position.argmin())
            raise Wrong(f"some pixel positions are masked more often than others (position {most} of each image in "
                        f"{float(per_position[most]):.0%} of the images, position {least} in "
                        f"{float(per_position[least]):.0%}; with fraction = {fraction}, every position should be "
                        "near it): each pixel must have the same chance of being dropped, wherever it lies.")


_MASK_HINT = (
    "Draw one uniform number per pixel of the whole batch (torch.rand_like(x)) and compare it with fraction: the "
    "comparison is a mask that is True with probability 1 - fraction. Multiply x by it, or fill the other pixels "
    "with 0 (masked_fill, torch.where). F.dropout does the masking too, but it divides the pixels it keeps by "
    "1 - fraction."
)


@exercise_check("masking noise", label="ex-ch4-mask", hint=_MASK_HINT)
def masking_noise(answer: Callable[[Tensor, float], Tensor], *, device: torch.device | str | None = None) -> str:
    """``answer(x, fraction)``: a new tensor, ``x`` with ``fraction`` of each image's pixels set to 0
    at random and the others unchanged: the masking noise of Vincent et al. (2008).

    Both readings pass: each pixel dropped independently with probability ``fraction``, or
    exactly ``round(fraction * d)`` pixels of each image. The pixels of ``x`` lie in
    ``[0.1, 1]``, so a 0 can only come from the mask. 2,000 images in two layouts,
    ``(N, 1, 28, 28)`` and ``(N, 784)``; shares are held to six standard errors.
    """
    where = check_device(device)
    torch.manual_seed(0)  # the answer's own draws, so that a verdict repeats (the notebook's stream is kept)
    np.random.seed(0)
    g = torch.Generator().manual_seed(4)
    for shape in ((2000, 1, 28, 28), (2000, 784)):
        x = (0.1 + 0.9 * torch.rand(shape, generator=g)).to(where)
        for fraction in (0.3, 0.75):
            _judge_masking(_noisy(answer, x, fraction), x, fraction)
        first, second = _noisy(answer, x, 0.5), _noisy(answer, x, 0.5)
        if torch.equal(first, second):
            raise Wrong("two calls gave the same mask: draw a fresh one on every call (do not seed inside the "
                        "function, with torch.manual_seed or a Generator seeded there). A denoising autoencoder "
                        "must see new noise in every epoch, or it learns to undo the one corruption it was shown.")
    small = x[:200]
    kept = _noisy(answer, small, 0.0)
    changed = int((kept != small).sum())
    if changed > small.numel() // 100_000:  # a strict rand > fraction may drop a pixel whose draw is exactly 0
        raise Wrong(f"with fraction = 0 nothing may change, but your answer changed {changed:,} of "
                    f"{small.numel():,} pixels: the clean images must come back as they are.")
    dropped = _noisy(answer, small, 1.0)
    survivors = int((dropped != 0).sum())
    if survivors:
        raise Wrong(f"with fraction = 1 every pixel must be 0, but {survivors:,} of {small.numel():,} survived.")
    probe_x = 0.1 + 0.9 * torch.rand(4, 1, 28, 28)
    probe_devices(lambda: answer(probe_x, 0.3), "the noisy images")
    return ("a share of each image's pixels set to 0 as asked (0, 0.3, 0.5, 0.75 and 1 tried), a different mask for "
            "every image and on every call, every other pixel untouched, and x itself left clean as the target. "
            "Unlike dropout, nothing is rescaled: the network must learn to fill the holes from what remains.")


# -- the KL sparsity penalty ------------------------------------------------------------

def _kl_terms(rho: float, rho_hat: Tensor) -> Tensor:
    """KL(rho || rho_hat) of two Bernoulli distributions, elementwise."""
    return rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))


def _sigmoid_activations(seed: int, n: int, h: int) -> Tensor:
    """``(n, h)`` sigmoid activations whose unit means are spread over about 0.05 to 0.95."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.linspace(0.05, 0.95, h)[torch.randperm(h, generator=g)]
    return torch.sigmoid(torch.logit(centres) + torch.randn(n, h, generator=g))


def _penalty(got: object, n: int, h: int) -> Tensor:
    """``got`` as a one-number tensor, or a :class:`Wrong` that says what it is instead."""
    if not isinstance(got, Tensor):
        raise Wrong(f"your answer returned a {type(got).__name__}: a number cannot be trained through. Return the "
                    "tensor itself (no .item(), float() or .detach()): the penalty is added to the loss, and its "
                    "gradient is what pushes each unit's average activation towards rho.")
    if got.numel() != 1:
        if got.numel() == h:
            raise Wrong(f"your answer returned one value per unit, shape {tuple(got.shape)}: sum it over the {h} "
                        "units (.sum()) to get the penalty, one number.")
        if got.numel() == n:
            raise Wrong(f"your answer returned one value per image, shape {tuple(got.shape)}: rho_hat_j is unit "
                        "j's average over the images in the batch, activations.mean(dim=0), one value per unit; "
                        "then sum the KL over units.")
        raise Wrong(f"return one number, a 0-d tensor; for activations of shape ({n}, {h}) your answer returned "
                    f"shape {tuple(got.shape)}.")
    return got.reshape(())


_KL_HINT = (
    "First rho_hat_j, each unit's mean activation over the batch (the images are dim 0); then, for each unit, the KL "
    "of two Bernoulli distributions, rho log(rho / rho_hat_j) + (1 - rho) log((1 - rho) / (1 - rho_hat_j)), summed "
    "over the units. For a dead unit (rho_hat_j = 0) or a saturated one (1) a log is infinite: add a small eps inside "
    "the logs (rho_hat + eps and 1 - rho_hat + eps, eps = 1e-6). A clamp to [eps, 1 - eps] also keeps the value "
    "finite, but its gradient is 0 where it clamps, so a dead unit would get no push back towards rho."
)


@exercise_check("the KL sparsity penalty", label="ex-ch4-kl", hint=_KL_HINT)
def kl_sparsity(answer: Callable[[Tensor, float], Tensor], *, device: torch.device | str | None = None) -> str:
    """``answer(activations, rho)``: ``sum_j KL(rho || rho_hat_j)``, ``rho_hat_j`` the mean of unit j over
    the batch (dim 0), as a 0-d tensor whose gradient reaches the activations.

    Any small additive eps (or clamp) against dead and saturated units passes: values are
    compared where every unit's mean lies in [0.02, 0.98], where an eps <= 0.01 changes
    little; at means of exactly 0 and 1 the penalty need only be finite, at least as large
    as an eps of 0.01 gives, and have a finite gradient. Whether a dead unit still gets a
    gradient (an additive eps: yes; a clamp: no) is reported, not judged.
    """
    where = check_device(device)
    for seed, n, h, rho in ((0, 64, 20, 0.05), (1, 50, 7, 0.2)):
        a = _sigmoid_activations(seed, n, h)
        means = a.mean(dim=0)
        assert 0.02 <= float(means.min()) and float(means.max()) <= 0.98  # the range the docstring promises
        activations = a.to(where).requires_grad_()
        got = _penalty(answer(activations, rho), n, h)
        value = float(got.detach())
        a64 = cpu_float64(a).requires_grad_()
        want_tensor = _kl_terms(rho, a64.mean(dim=0)).sum()
        want = float(want_tensor.detach())
        said = f"for {n} images x {h} units and rho = {rho}, the penalty is {want:.4f}; your answer gave {value:.4f}."
        if not math.isfinite(value):
            raise Wrong(f"{said} Here no unit is dead or saturated (their means lie in [0.02, 0.98]), so rho_hat "
                        "stays inside (0, 1): rho_hat must be each unit's mean over the batch, "
                        "activations.mean(dim=0); a sum over the batch exceeds 1, and log(1 - rho_hat) is NaN.")
        if not math.isclose(value, want, rel_tol=1e-3, abs_tol=1e-6):
            x = cpu_float64(a)
            rho_hat = x.mean(dim=0)
            slips = {
                "rho_hat_j is unit j's average over the images in the batch: activations.mean(dim=0); dim=1 "
                "averages each image over the units.": [_kl_terms(rho, x.mean(dim=1)).sum(),
                                                        _kl_terms(rho, x.mean(dim=1)).mean()],
                "rho_hat_j is unit j's average over the images in the batch, one value per unit: "
                "activations.mean(dim=0), not one mean of all the activations.": [_kl_terms(rho, x.mean()),
                                                                                 h * _kl_terms(rho, x.mean())],
                "That is KL(rho_hat || rho), the other direction: Ng's penalty is KL(rho || rho_hat_j) = "
                "rho log(rho / rho_hat_j) + (1 - rho) log((1 - rho) / (1 - rho_hat_j)).":
                    [(rho_hat * torch.log(rho_hat / rho) + (1 - rho_hat) * torch.log((1 - rho_hat) / (1 - rho))).sum()],
                "The (1 - rho) term is missing: KL(rho || rho_hat_j) = rho log(rho / rho_hat_j) + (1 - rho) "
                "log((1 - rho) / (1 - rho_hat_j)), the KL of two Bernoulli distributions.":
                    [(rho * torch.log(rho / rho_hat)).sum()],
                f"That is the mean over the {h} units: sum it. The chapter's weight beta is set for a sum over "
                f"the H units; a mean divides the penalty by H.": [want_tensor.detach() / h],
                "That is the cross-entropy of rho_hat_j against rho (F.binary_cross_entropy), the KL plus the "
                "entropy of rho for every unit: the same gradient, but not 0 when every unit averages rho. The KL "
                "is rho log(rho / rho_hat_j) + (1 - rho) log((1 - rho) / (1 - rho_hat_j)).":
                    [want_tensor.detach() - h * (rho * math.log(rho) + (1 - rho) * math.log(1 - rho))],
                "That is the squared difference (rho - rho_hat_j)^2: a valid but different penalty; the exercise "
                "asks for the KL, which grows without bound as a unit dies or saturates.":
                    [((rho - rho_hat) ** 2).sum(), ((rho - rho_hat) ** 2).mean()],
                "That is the KL of each activation, averaged over the batch: take the average first, rho_hat_j = "
                "activations.mean(dim=0), then the KL of the averages. The penalty constrains each unit's average "
                "activation, not every activation.": [_kl_terms(rho, x).mean(dim=0).sum(), _kl_terms(rho, x).mean()],
            }
            for hint, values in slips.items():
                if any(math.isclose(value, float(v), rel_tol=1e-3) for v in values):
                    raise Wrong(f"{said} {hint}")
            raise Wrong(f"{said} Here every unit's mean lies in [0.02, 0.98], so anything that keeps rho_hat away "
                        "from 0 and 1 (an eps) should change nothing: if you used one, keep it small (1e-6 to 1e-3).")
        if got.grad_fn is None:
            raise Wrong("the value is right, but it carries no gradient (detached, or rebuilt with torch.tensor): a "
                        "number cannot be trained through. Return the tensor computed from the activations.")
        backpropagate(got, "the penalty")
        want_tensor.backward()
        scale = float(a64.grad.abs().max())  # an eps added inside the logs moves the gradient by about eps / rho_hat
        if activations.grad is None or not torch.allclose(cpu_float64(activations.grad), a64.grad, rtol=2e-2,
                                                          atol=1e-3 * scale):
            raise Wrong("the value is right, but its gradient does not reach the activations as the formula's "
                        "would: compute it from the activations themselves, inside the graph.")
    # Dead and saturated units: the case the eps is for.
    n, h, rho = 64, 20, 0.05
    a = _sigmoid_activations(2, n, h)
    a[:, 0], a[:, 1] = 0.0, 1.0
    activations = a.to(where).requires_grad_()
    got = _penalty(answer(activations, rho), n, h)
    value = float(got.detach())
    if not math.isfinite(value):
        broken = []
        for column, what, where_log in ((0, "a dead unit (every activation 0, so rho_hat = 0)", "log(rho / 0)"),
                                        (1, "a saturated unit (every activation 1, so rho_hat = 1)",
                                         "log((1 - rho) / 0)")):
            alone = _sigmoid_activations(2, n, h)
            alone[:, column] = float(column)
            with torch.no_grad():
                single = answer(alone.to(where), rho)
            if isinstance(single, Tensor) and single.numel() == 1 and not math.isfinite(float(single)):
                broken.append(f"with {what} it gives {float(single)}: {where_log} is infinite")
        cause = "; ".join(broken) if broken else "with both in the batch it gives a value that is not finite"
        raise Wrong(f"your penalty is {value} for a batch with a dead unit and a saturated one: {cause}. Dead units "
                    "are common early in training, and one inf makes the whole loss inf and its gradient NaN: the "
                    "penalty must stay finite there.")
    bound = cpu_float64(a).mean(dim=0)
    bound[0], bound[1] = 0.01, 0.99
    floor = float(_kl_terms(rho, bound).sum())
    if value < floor * (1 - 1e-3):
        raise Wrong(f"with a dead unit (rho_hat = 0) and a saturated one (rho_hat = 1) your answer gave {value:.4f}, "
                    f"less than the {floor:.4f} that keeping rho_hat within [0.01, 0.99] gives: those units are as "
                    "far from rho as a unit can be, and need the penalty most. A larger eps than 0.01, or dropping "
                    "or zeroing the infinite terms, caps the penalty where it matters most.")
    if got.grad_fn is None:
        raise Wrong("with a dead and a saturated unit your answer carries no gradient: a number cannot be trained "
                    "through. Return the tensor computed from the activations.")
    backpropagate(got, "the penalty")
    if activations.grad is None or not bool(torch.isfinite(activations.grad).all()):
        raise Wrong("with a dead and a saturated unit the value is finite, but the gradient is NaN or infinite, so "
                    "one training step would make every weight NaN. (Replacing infinite terms after the logs, with "
                    "torch.where or nan_to_num, does exactly this: the infinite terms are still computed, and send "
                    "NaN back.)")
    pushed = bool((activations.grad[:, 0] != 0).any())
    # Every unit's mean exactly rho (the images differ, their averages do not): the penalty is 0.
    offsets = torch.linspace(0.01, 0.04, 6)
    balanced = torch.cat([0.05 + offsets.expand(20, 6), 0.05 - offsets.expand(20, 6)])
    zero = float(_penalty(answer(balanced.to(where).requires_grad_(), 0.05), 40, 6).detach())
    if not abs(zero) <= 1e-3 * 6:  # an eps added inside the logs shifts it a little
        raise Wrong(f"when every unit's mean over the batch equals rho = 0.05 exactly, the penalty must be 0 (each "
                    f"unit is where we want it); your answer gave {zero:.6f}.")
    probe_a = _sigmoid_activations(3, 8, 5).requires_grad_()
    probe_devices(lambda: answer(probe_a, 0.05), "the penalty")
    push = ("A dead unit still gets a gradient from your penalty, pushing it back towards rho."
            if pushed else
            "Note: your penalty gives a dead unit (rho_hat = 0) no gradient at all, so it cannot revive it (a clamp "
            "does this: its slope is 0 where it clamps). An eps added inside the logs (rho_hat + eps) keeps the "
            "value finite and the push.")
    return ("the sum over units of KL(rho || rho_hat_j), 0 when every unit averages rho and positive otherwise, "
            "finite for dead and saturated units, with its gradient reaching the activations. Unlike an L1 "
            "penalty on the activations, it lets a unit fire strongly on a few images, as long as its average "
            f"stays near rho. {push}")


# -- anomaly scores -----------------------------------------------------------------------

def _model_device(model: nn.Module) -> torch.device:
    """Where the model's tensors are (its first parameter, else its first buffer; the CPU if it has neither)."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


@contextlib.contextmanager
def _full_float32() -> Iterator[None]:
    """Convolutions and matrix products in full float32, as on a CPU, and the settings restored.

    On an NVIDIA GPU PyTorch runs convolutions in TF32 by default (10-bit mantissa), and
    the algorithm cuDNN picks may differ with the batch size: an image scored alone and in
    a batch could then differ by more than the batch-independence test allows.
    """
    conv, matmul = torch.backends.cudnn.allow_tf32, torch.get_float32_matmul_precision()
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = conv
        torch.set_float32_matmul_precision(matmul)


@contextlib.contextmanager
def _calls(model: nn.Module) -> Iterator[list[tuple[bool, bool]]]:
    """Record ``(training, grad enabled)`` for every forward call of ``model`` or of any of its
    modules (a deep copy of the model keeps the hooks, so its calls are recorded too)."""
    seen: list[tuple[bool, bool]] = []
    hooks = [m.register_forward_pre_hook(lambda module, args: seen.append((module.training, torch.is_grad_enabled())))
             for m in model.modules()]
    try:
        yield seen
    finally:
        for hook in hooks:
            hook.remove()


def _scores(got: object, images: Tensor) -> Tensor:
    """The answer's scores as an ``(N,)`` tensor (still attached, so its grad can be judged),
    or a :class:`Wrong` that says what they are instead."""
    n = len(images)
    if type(got).__module__ == "numpy":
        got = torch.as_tensor(np.asarray(got))
    elif isinstance(got, (list, tuple)) and got and all(isinstance(v, (int, float, Tensor)) for v in got):
        got = torch.stack([torch.as_tensor(v).detach().cpu().reshape(()) for v in got])
    if not isinstance(got, Tensor):
        raise Wrong(f"return the scores as a tensor of shape (N,), one per image; got a {type(got).__name__}.")
    if got.numel() == 1 and n > 1:
        raise Wrong(f"for {n} images your answer returned one number for the whole batch: return one score per "
                    "image, shape (N,).")
    if got.numel() == images.numel():
        raise Wrong(f"your answer returned one score per pixel, shape {tuple(got.shape)}: return one number per "
                    "image, shape (N,).")
    if got.numel() != n or got.shape[0] != n:
        raise Wrong(f"for {n} images your answer returned shape {tuple(got.shape)}; return one score per image, "
                    f"shape ({n},).")
    return got.reshape(n)


def _mse_scores(model: nn.Module, images: Tensor) -> Tensor:
    """Each image's mean squared reconstruction error, in eval mode, on the CPU: the baseline (the mode restored)."""
    with evaluating(model):
        return torch.cat([((model(b) - b) ** 2).flatten(1).mean(dim=1).cpu() for b in images.split(500)])


def _ranks(values: Tensor) -> Tensor:
    return cpu_float64(torch.argsort(torch.argsort(values)))


#: In fast mode (AECOURSE_FAST=1) the chapter's autoencoder trains one epoch on a subset, and no score reaches
#: the full run's target: there the check asks for this much above the whole-image MSE's AUC instead (measured
#: on the fast model: windows of 3 to 7 pixels give 0.05 to 0.10 above it, the largest single pixel less than it).
_FAST_MARGIN = 0.03

_TRAINING_MODE = ("the model ran in training mode while scoring: its BatchNorm layers then normalise each batch "
                  "with its own statistics (and update their running averages with the images scored), so an "
                  "image's score depends on the other images in the batch. Score in evaluation mode, and put the "
                  "mode back as you found it.")

_ANOMALY_HINT = (
    "Look at the error maps above the exercise: the defect's error sits in one small square, while a clean digit's "
    "error is spread thinly along its strokes. An average over all 784 pixels dilutes the square. Score each image by "
    "where its error is concentrated instead, for example the largest average error over a small window "
    "(F.avg_pool2d(error, w, stride=1), then the maximum over each image), and tune w on `normal` and `spoiled`. "
    "Run the model in eval mode without a graph (aecourse.train.evaluating does both and restores the mode)."
)


def _call_scoring(answer: Callable[[nn.Module, Tensor], Tensor], model: nn.Module,
                  batch: Tensor) -> tuple[object, list[tuple[bool, bool]]]:
    """``answer(model, copy of batch)``, rejected (and undone) if it changes the model or the images;
    also returns the ``(training, grad enabled)`` of every forward call it made."""
    given = batch.clone()
    with _calls(model) as seen:
        try:
            with left_as_found(model=model, images=given):
                raw = answer(model, given)
        except Wrong as changed:
            if any(training for training, _ in seen) and "weights" in str(changed):
                raise Wrong(f"{_TRAINING_MODE} (It changed batch norm's running averages, the model's buffers.)") \
                    from None
            raise
    return raw, list(seen)


@exercise_check("the anomaly score", label="ex-ch4-anomaly", hint=_ANOMALY_HINT)
def anomaly_score(answer: Callable[[nn.Module, Tensor], Tensor], model: nn.Module, images: Tensor, *,
                  target_auc: float = 0.95) -> str:
    """``answer(model, images)``: one score per image, higher = more anomalous, from the autoencoder.

    ``model`` (the chapter's trained autoencoder) and ``images`` (clean test digits ``(N, 1,
    28, 28)`` the notebook did not tune on) are not answers: the check reads them and
    leaves them exactly as it found them (mode of every submodule, device, dtype, weights
    and buffers, values), whatever the answer does. Half of the images, chosen by a fixed
    permutation, get a 4 x 4 inverted square (:func:`~aecourse.anomaly.add_defects`, fixed
    seed); the answer scores each half, and passes if the ROC AUC of telling them apart
    reaches ``target_auc`` (in fast mode, where the model comes from a shortened run, at most
    ``_FAST_MARGIN`` above the AUC of the whole-image mean squared error). On the way:
    every call runs inside :func:`~aecourse.checks.core.left_as_found` (an answer that changes the model's mode,
    device, dtype or weights, or the images, is rejected and undone); the scores are one
    finite number per image (a tensor, array or list), free of a graph, computed in eval
    mode, the same for an image scored alone or in a batch.
    """
    if not isinstance(model, nn.Module):
        raise Wrong(f"the check needs the trained autoencoder as its second argument; it got a {type(model).__name__}.")
    if not isinstance(images, Tensor) or images.ndim != 4 or tuple(images.shape[1:]) != (1, 28, 28) or len(images) < 32:
        got = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise Wrong(f"the check needs at least 32 clean test images shaped (N, 1, 28, 28) as its third argument; "
                    f"it got {got}.")
    where = _model_device(model)
    torch.manual_seed(0)  # an answer that draws (dropout left on, say) gives the same verdict each time
    images = images.detach().to(where)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0)).to(where)
    half = len(images) // 2
    normal = images[order[:half]]  # indexing copies: the caller's images are never handed to the answer
    anomalous = add_defects(images[order[half: 2 * half]], side=4, generator=torch.Generator().manual_seed(12345))
    modes = {m: m.training for m in model.modules()}
    try:
        with _full_float32():
            results = []
            for batch, mode in ((normal, True), (anomalous, False)):
                model.train(mode)  # called once in each mode: the answer must leave either as it found it
                raw, seen = _call_scoring(answer, model, batch)
                scores = _scores(raw, batch)
                if scores.requires_grad:
                    raise Wrong("the scores require grad: each holds a graph back through the model, kept in memory "
                                "for every image scored. Scores are read, never trained through: compute them "
                                "without a graph.")
                if not bool(torch.isfinite(scores).all()):
                    bad = int((~torch.isfinite(scores)).sum())
                    raise Wrong(f"{bad} of your {len(scores)} scores are NaN or infinite: every image needs a finite "
                                "score.")
                if not seen:
                    raise Wrong("your function never ran the model: the score must come from how well the model "
                                "reconstructs each image.")
                if any(training for training, _ in seen):
                    raise Wrong(_TRAINING_MODE)
                results.append(scores.detach())
            model.eval()
            raw, _ = _call_scoring(answer, model, normal[:8])
            alone = _scores(raw, normal[:8]).detach()
            together = results[0][:8]
            scale = float(results[0].abs().max())
            if not torch.allclose(alone.to(together), together, rtol=1e-4, atol=1e-4 * scale):
                raise Wrong("an image's score must not depend on the other images in the batch: scored alone in a "
                            "batch of 8, the first 8 images got "
                            f"{[round(float(v), 4) for v in alone[:3]]}..., inside the full batch "
                            f"{[round(float(v), 4) for v in together[:3]]}....")
            normal_scores, anomalous_scores = (s.cpu().to(torch.float32) for s in results)
            mse_normal, mse_anomalous = _mse_scores(model, normal), _mse_scores(model, anomalous)
            baseline = detection_auc(mse_normal, mse_anomalous)
    finally:
        for m, mode in modes.items():
            m.training = mode
    both = torch.cat([normal_scores, anomalous_scores])
    if float(both.std()) == 0:
        raise Wrong("every image got the same score: the score must grow with how badly the model reconstructs "
                    "the image.")
    auc = detection_auc(normal_scores, anomalous_scores)
    target, shortened = target_auc, ""
    if is_fast() and baseline + _FAST_MARGIN < target_auc:
        target = round(baseline + _FAST_MARGIN, 3)
        shortened = (f" (Fast mode: the model comes from a shortened run, which no score takes to {target_auc}; the "
                     f"check asks for {target:.3f} here, {_FAST_MARGIN} above the mean squared error's "
                     f"{baseline:.3f}. The full run asks for {target_auc}.)")
    said = (f"on {half:,} clean and {half:,} defective test digits (one 4 x 4 square inverted), your scores give "
            f"AUC {auc:.3f}")
    if auc < 0.5:
        raise Wrong(f"{said}, below 0.5: your scores rank the defective digits as MORE normal than the clean ones. "
                    "Higher must mean more anomalous.")
    if auc < target:
        ranks, mse_ranks = _ranks(cpu_float64(both)), _ranks(cpu_float64(torch.cat([mse_normal, mse_anomalous])))
        same = float(torch.corrcoef(torch.stack([ranks, mse_ranks]))[0, 1]) > 0.999
        how = (" Your scores rank the images as their mean squared error over the whole image does." if same else
               f" The mean squared error over the whole image gives {baseline:.3f}.")
        raise Wrong(f"{said}, short of the {target:.3f} asked: your scores still rank many clean digits above "
                    f"defective ones.{how}{shortened}")
    return (f"AUC {auc:.3f} >= {target:.3f}, where the mean squared error over the whole image gives {baseline:.3f}."
            f"{shortened} "
            "A score that looks where the error is concentrated keeps the defect's whole error while averaging away "
            "the scattered error along a clean digit's strokes; if yours has a window, one much larger than the "
            "defect dilutes it again, and a much smaller one lets one badly drawn pixel decide. Choose such settings "
            "on held-out images, never on the ones you report.")


# -- where the student stands --------------------------------------------------------------

from aecourse.checks.core import Note, show_hint as hint  # noqa: E402  check.hint("ex-ch4-...")
from aecourse.checks.core import progress as _progress  # noqa: E402


def progress() -> Note:
    """Which of this chapter's exercises pass in this kernel, from their checks' last verdicts:
    the chapter's last cell shows it."""
    return _progress(__name__)
