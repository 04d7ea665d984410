"""Diagrams the chapters draw: an autoencoder's layers, the VAE's graph, a tensor's shapes.

Each function returns a :class:`Diagram`, an SVG string with its alt text.
Jupyter shows it through ``_repr_svg_`` (one ``image/svg+xml`` output, which
the book publishes as an ``<img>``), and the alt text is written into the SVG's
``<title>`` and generated from the same numbers as the drawing, so the
description cannot drift from the picture.

The SVG is byte-for-byte the same on every run (fixed ``svg.hashsalt``, no
date, matplotlib's default style whatever the notebook set), so re-running a
notebook does not change its stored outputs. Figures are built with
:class:`matplotlib.figure.Figure`, never pyplot: nothing is registered with the
notebook's inline backend, so a diagram is not shown a second time as a PNG.
"""

from __future__ import annotations

import hashlib
import io
import math
import numbers
import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import matplotlib as mpl
import matplotlib.style
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Patch, Polygon, Rectangle
from matplotlib.path import Path as LinePath
from torch import nn

__all__ = ["ChapterCard", "Diagram", "autoencoder_diagram", "course_map_diagram", "shapes_diagram", "trace_shapes",
           "vae_graph_diagram"]

# The course's colour-blind-safe hues (Okabe-Ito), each role also marked another way
# (hatching, dashes, shape or a label) so the diagrams read in grayscale too.
BLUE, VERMILLION, GREEN, GREY, INK = "#0072B2", "#D55E00", "#009E73", "#7F7F7F", "#222222"
# Darker shades of the same hues for text, which needs a contrast of 4.5:1 on white (WCAG AA);
# vermillion, green and grey themselves reach only 3.4 to 4.
VERMILLION_TEXT, GREEN_TEXT, GREY_TEXT = "#B34D00", "#007A58", "#595959"

# Matplotlib's defaults, whatever style the notebook set, plus what makes the SVG
# reproducible: a fixed salt for its element ids, text kept as text (searchable,
# read by screen readers, and far smaller than glyph outlines).
_RC = {
    "svg.hashsalt": "aecourse-diagrams",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "text.usetex": False,
}
WIDTH_INCHES = 7.2  # about 700 px in a notebook or the book


@dataclass(frozen=True)
class Diagram:
    """An SVG drawing and the sentence that describes it to someone who cannot see it."""

    svg: str
    alt: str

    def _repr_svg_(self) -> str:
        """What Jupyter shows: the SVG itself (mime type ``image/svg+xml``)."""
        return self.svg

    def save(self, path: str | Path) -> Path:
        """Write the SVG to ``path`` (which must end in ``.svg``) and return it."""
        path = Path(path)
        if path.suffix.lower() != ".svg":
            raise ValueError(f"a Diagram is SVG; give a path ending in .svg, got {str(path)!r}")
        path.write_text(self.svg, encoding="utf-8")
        return path

    def __repr__(self) -> str:
        alt = self.alt if len(self.alt) <= 60 else self.alt[:57] + "..."
        return f"Diagram({alt!r}, {len(self.svg)} characters of SVG)"


# --------------------------------------------------------------------------- drawing


def _canvas(width: float, height: float) -> tuple[Figure, Axes]:
    """A blank figure whose data coordinates are inches from its lower-left corner.

    Working in inches keeps text and shapes in proportion: a label's width at a
    given font size is known, so the layouts below can leave room for it.
    """
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return fig, ax


def _render(fig: Figure, alt: str, desc: str) -> Diagram:
    """Save ``fig`` as deterministic SVG with ``alt`` as its ``<title>`` and ``desc`` as its ``<desc>``."""
    buffer = io.StringIO()
    # No date, and no creator naming matplotlib's version: a stored output changes only when the drawing does.
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    # Ids from the text, not a counter, so two diagrams on one page differ and a re-run does not.
    key = "aecourse-" + hashlib.sha256(alt.encode("utf-8")).hexdigest()[:10]
    opening = re.search(r"<svg\b[^>]*>", svg)
    if opening is None:  # pragma: no cover - matplotlib always writes one
        raise RuntimeError("matplotlib wrote no <svg> element")
    tag = opening.group(0)[:-1] + f' role="img" aria-labelledby="{key}-title" aria-describedby="{key}-desc">'
    accessible = f'\n <title id="{key}-title">{escape(alt)}</title>\n <desc id="{key}-desc">{escape(desc)}</desc>'
    return Diagram(svg=svg[: opening.start()] + tag + accessible + svg[opening.end() :], alt=alt)


def _draw(draw: Callable[[Axes], None], width: float, height: float, alt: str, desc: str) -> Diagram:
    """Run ``draw(ax)`` on a fresh canvas under the fixed style and render it.

    The figure belongs to no pyplot manager, so there is nothing to close: it is
    freed with its last reference and never reaches the notebook's plot state.
    """
    with mpl.style.context("default"), mpl.rc_context(_RC):
        fig, ax = _canvas(width, height)
        draw(ax)
        return _render(fig, alt, desc)


def _title(ax: Axes, title: str | None, width: float, height: float) -> None:
    if title:
        ax.text(width / 2, height - 0.12, title, ha="center", va="top", fontsize=12, weight="bold", color=INK)


# --------------------------------------------------------------------------- words


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _listing(items: Sequence[str], *, serial: bool = False) -> str:
    """``a``, ``a and b``, ``a, b and c``; ``a, b, and c`` with ``serial``, for lists of lists."""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + ("," if serial and len(items) > 2 else "") + " and " + items[-1]


def _with_title(title: str | None, sentence: str) -> str:
    return f"{title.rstrip('. ')}. {sentence}" if title else sentence


# --------------------------------------------------------------------------- checks


def _check_sizes(
    name: str, sizes: object, what: str = "layer widths", example: str = "(784, 128, 9)"
) -> tuple[int, ...]:
    """``sizes`` as a tuple of positive ints, or a ValueError that names the culprit."""
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise ValueError(f"{name} must be a sequence of {what} such as {example}, got {sizes!r}")
    if len(sizes) == 0:
        raise ValueError(f"{name} is empty; give the {what}, such as {example}")
    for i, size in enumerate(sizes):
        if isinstance(size, bool) or not isinstance(size, numbers.Integral):
            raise ValueError(f"{name}[{i}] is {size!r} ({type(size).__name__}); {what} must be whole numbers")
        if size <= 0:
            raise ValueError(f"{name}[{i}] is {size}; {what} must be positive")
    return tuple(int(size) for size in sizes)


# --------------------------------------------------------------------------- 1. autoencoder


def autoencoder_diagram(
    encoder_sizes: Sequence[int], decoder_sizes: Sequence[int] | None = None, *, title: str | None = None
) -> Diagram:
    """Layers as bars, left to right: the input, the encoder's layers, the code, the decoder's.

    ``encoder_sizes`` runs from the input to the code, ``(784, 128, 9)``;
    ``decoder_sizes`` runs from the first layer after the code to the output,
    ``(128, 784)``, and mirrors the encoder when None. A bar's height grows with
    the square root of its width: on a linear scale a code of 9 next to 784
    inputs would be a sliver, on a log scale 128 and 784 would look alike.
    """
    encoder = _check_sizes("encoder_sizes", encoder_sizes)
    if len(encoder) < 2:
        raise ValueError(f"encoder_sizes needs an input size and a code size, such as (784, 9); got {encoder}")
    mirrored = decoder_sizes is None
    decoder = tuple(reversed(encoder[:-1])) if mirrored else _check_sizes("decoder_sizes", decoder_sizes)
    sizes = encoder + decoder
    code = len(encoder) - 1
    n = len(sizes)

    width = min(WIDTH_INCHES, max(4.4, 1.1 * (n - 1) + 1.8))
    top = 0.55 if title else 0.15
    tallest, shortest = 2.2, 0.16
    height = top + 0.35 + tallest + 1.05
    step = (width - 1.8) / (n - 1)
    bar = min(0.3, 0.45 * step)
    number_size = min(10.0, max(6.0, 18 * step))  # a deep stack gets smaller numbers rather than overlapping ones
    xs = [0.9 + i * step for i in range(n)]
    middle = height - top - 0.35 - tallest / 2
    root_max = math.sqrt(max(sizes))
    heights = [shortest + (tallest - shortest) * math.sqrt(s) / root_max for s in sizes]

    def role(i: int) -> tuple[str, str | None, str]:
        """Fill, hatch and edge of bar ``i``: data grey, encoder blue, code vermillion and hatched, decoder green."""
        if i == code:
            return VERMILLION, "///", INK
        if i in (0, n - 1):
            return GREY, None, GREY
        return (BLUE if i < code else GREEN), None, (BLUE if i < code else GREEN)

    def draw(ax: Axes) -> None:
        _title(ax, title, width, height)
        for i in range(n - 1):  # the linear maps between layers, as funnels
            x0, x1 = xs[i] + bar / 2, xs[i + 1] - bar / 2
            h0, h1 = heights[i] / 2, heights[i + 1] / 2
            tint = BLUE if i < code else GREEN
            ax.add_patch(Polygon([(x0, middle - h0), (x1, middle - h1), (x1, middle + h1), (x0, middle + h0)],
                                 closed=True, facecolor=tint, alpha=0.13, edgecolor="none"))
        for i, (x, h, size) in enumerate(zip(xs, heights, sizes)):
            fill, hatch, edge = role(i)
            is_code = i == code
            ax.add_patch(Rectangle((x - bar / 2, middle - h / 2), bar, h, facecolor=fill, hatch=hatch,
                                   edgecolor=edge, linewidth=2.0 if is_code else 0.8))
            ax.text(x, middle + h / 2 + 0.07, str(size), ha="center", va="bottom", fontsize=number_size,
                    weight="bold" if is_code else "normal", color=VERMILLION_TEXT if is_code else INK)
        under = middle - tallest / 2 - 0.1
        for i, word in ((0, "input"), (code, "code"), (n - 1, "output")):
            is_code = i == code
            ax.text(xs[i], under, word, ha="center", va="top", fontsize=10 if is_code else 9,
                    weight="bold" if is_code else "normal", color=VERMILLION_TEXT if is_code else GREY_TEXT)
        bracket = under - 0.42
        gap = min(0.12, step / 4)
        for x0, x1, word, colour, ink in ((xs[0], xs[code] - gap, "encoder", BLUE, BLUE),
                                          (xs[code] + gap, xs[-1], "decoder", GREEN, GREEN_TEXT)):
            ax.plot([x0, x0, x1, x1], [bracket + 0.1, bracket, bracket, bracket + 0.1], color=colour, linewidth=1.5,
                    solid_capstyle="butt")
            ax.text((x0 + x1) / 2, bracket - 0.07, word, ha="center", va="top", fontsize=11, color=ink,
                    weight="bold")

    hidden_enc, hidden_dec = encoder[1:-1], decoder[:-1]
    parts = [f"{_plural(encoder[0], 'input')}"]
    if hidden_enc:
        layers = "an encoder layer" if len(hidden_enc) == 1 else "encoder layers"
        parts.append(f"{layers} of {_listing([str(s) for s in hidden_enc])} units")
    parts.append(f"a code of {_plural(encoder[-1], 'number')}")
    if mirrored:
        tail = f"a decoder mirroring the encoder back to {_plural(decoder[-1], 'output')}"
    elif hidden_dec:
        layers = "a decoder layer" if len(hidden_dec) == 1 else "decoder layers"
        tail = f"{layers} of {_listing([str(s) for s in hidden_dec])} units back to {_plural(decoder[-1], 'output')}"
    else:
        tail = f"a decoder straight back to {_plural(decoder[-1], 'output')}"
    alt = _with_title(title, f"An autoencoder: {_listing(parts + [tail], serial=True)}.")
    desc = ("Each bar is one layer, its height growing with the square root of its width; the shaded funnels "
            "between bars are the linear maps. The code layer is hatched. Layer widths, left to right: "
            + ", ".join(str(s) for s in sizes) + ".")
    return _draw(draw, width, height, alt, desc)


# --------------------------------------------------------------------------- 2. VAE graph


def vae_graph_diagram() -> Diagram:
    """The VAE's forward pass with the reparameterisation trick, and where its gradients go.

    Sampling z directly from N(μ, σ²) would put the randomness between the loss
    and the encoder, and nothing differentiable would connect them. Writing
    z = μ + σ ⊙ ε moves it into ε, a leaf that no parameter feeds: the graph
    shows ε as the one random node, gradients passing through z to μ, σ and the
    encoder, and none going into ε.
    """
    u = 0.45  # inches per layout unit: the layout below is sketched on a 16 x 10 grid
    width, height = 16.2 * u, 10.1 * u

    def draw(ax: Axes) -> None:
        def at(x: float, y: float) -> tuple[float, float]:
            return x * u, y * u

        def box(x: float, y: float, w: float, h: float, label: str, *, sub: str | None = None, fill: str = "white",
                edge: str = INK, size: float = 11, weight: str = "normal") -> FancyBboxPatch:
            """A rounded box centred at (x, y), its label lifted when a smaller second line goes under it."""
            patch = FancyBboxPatch(at(x - w / 2, y - h / 2), w * u, h * u, boxstyle="round,pad=0,rounding_size=0.12",
                                   facecolor=fill, edgecolor=edge, linewidth=1.3, zorder=2)
            ax.add_patch(patch)
            lift = 0.17 if sub else 0.0
            ax.text(*at(x, y + lift), label, ha="center", va="center", fontsize=size, weight=weight, color=INK,
                    zorder=3)
            if sub:
                ax.text(*at(x, y - 0.27), sub, ha="center", va="center", fontsize=8, color=INK, zorder=3)
            return patch

        def arrow(a: Patch, b: Patch, *, colour: str = INK, style: str | tuple = "-", rad: float = 0.0,
                  lw: float = 1.4, zorder: float = 1) -> None:
            """From node ``a`` to node ``b``, clipped to their outlines; ``rad`` bends it to one side."""
            ax.add_patch(FancyArrowPatch(posA=_centre(a), posB=_centre(b), patchA=a, patchB=b, shrinkA=3, shrinkB=3,
                                         arrowstyle="-|>", mutation_scale=12, color=colour, linestyle=style,
                                         linewidth=lw, connectionstyle=f"arc3,rad={rad}", zorder=zorder))

        def gradient(a: Patch, b: Patch, rad: float) -> None:
            arrow(a, b, colour=GREEN, style=(0, (3, 2)), rad=rad, lw=1.6, zorder=4)

        x = box(0.75, 4.4, 1.2, 1.0, "x", sub="input", size=13)
        encoder = box(2.75, 4.4, 1.7, 1.3, "encoder", fill="#D6E6F2", edge=BLUE)
        group = FancyBboxPatch(at(4.3, 2.3), 2.0 * u, 4.3 * u, boxstyle="round,pad=0,rounding_size=0.1",
                               facecolor="#F2F2F2", edgecolor=GREY, linewidth=0.8, linestyle=(0, (1, 1.5)), zorder=1)
        ax.add_patch(group)
        ax.text(*at(5.3, 6.3), "q(z | x)", ha="center", va="center", fontsize=8.5, style="italic", color=GREY_TEXT)
        mu = box(5.3, 5.35, 1.4, 0.85, "μ", size=13)
        logvar = box(5.3, 3.15, 1.4, 0.85, "log σ²", size=11)
        sigma = box(7.4, 3.15, 0.9, 0.85, "σ", size=13)
        ax.text(*at(7.65, 2.4), "= exp(½ log σ²)", ha="center", va="center", fontsize=8, color=INK)
        z = box(9.7, 4.4, 2.7, 0.95, "z = μ + σ ⊙ ε", size=10.5)
        eps = Circle(at(9.7, 1.35), 0.75 * u, facecolor="#FBE3D6", edgecolor=VERMILLION, linewidth=2.0,
                     linestyle=(0, (4, 2)), zorder=2)
        ax.add_patch(eps)
        ax.text(*at(9.7, 1.35), "ε", ha="center", va="center", fontsize=16, weight="bold", color=INK, zorder=3)
        ax.text(*at(10.65, 1.65), "ε ~ N(0, I)", ha="left", va="center", fontsize=10, color=INK)
        ax.text(*at(10.65, 1.0), "random: sampled fresh,\nno gradient flows in", ha="left", va="center",
                fontsize=8, color=VERMILLION_TEXT, linespacing=1.1)
        decoder = box(12.5, 4.4, 1.6, 1.3, "decoder", fill="#D6E6F2", edge=BLUE)
        logits = box(14.8, 4.4, 1.4, 0.95, "logits", size=11)
        kl = box(5.3, 8.3, 2.2, 0.95, "KL(q ‖ p)", sub="p = N(0, I)", size=11)
        loss = box(9.9, 8.3, 3.0, 0.95, "loss", sub="= reconstruction + KL", size=11, weight="bold")
        recon = box(14.8, 8.3, 2.5, 0.95, "reconstruction", sub="BCE(logits, x)", size=10)

        for a, b in ((x, encoder), (encoder, mu), (encoder, logvar), (logvar, sigma), (mu, z), (sigma, z),
                     (eps, z), (z, decoder), (decoder, logits), (logits, recon), (group, kl), (kl, loss),
                     (recon, loss)):
            arrow(a, b)
        # x is also the target of the reconstruction: a thin route over the top.
        route = [at(0.75, 4.95), at(0.75, 9.55), at(14.8, 9.55), at(14.8, 8.82)]
        ax.add_patch(FancyArrowPatch(path=LinePath(route), arrowstyle="-|>", mutation_scale=9, color=GREY,
                                     linewidth=0.9, linestyle=(0, (1, 1.5)), zorder=1))
        ax.text(*at(7.8, 9.62), "x is also the target", ha="center", va="bottom", fontsize=8, color=GREY_TEXT)

        for a, b, rad in ((loss, kl, 0.3), (loss, recon, -0.3), (recon, logits, 0.3), (logits, decoder, -0.5),
                          (decoder, z, -0.5), (z, mu, -0.35), (z, sigma, -0.4), (sigma, logvar, 0.6),
                          (mu, encoder, -0.35), (logvar, encoder, -0.35), (kl, group, -0.5)):
            gradient(a, b, rad)
        # The backward pass stops at z's ε input: a gradient arrow that ends in a cross.
        ax.add_patch(FancyArrowPatch(at(9.2, 3.9), at(9.2, 2.55), arrowstyle="-", color=GREEN,
                                     linestyle=(0, (3, 2)), linewidth=1.6, zorder=4))
        ax.plot(*at(9.2, 2.45), marker="X", markersize=11, color=VERMILLION, markeredgecolor="white", zorder=5)

        handles = [
            Line2D([], [], color=INK, linewidth=1.4, label="forward: values"),
            Line2D([], [], color=GREEN, linewidth=1.6, linestyle=(0, (3, 2)), label="backward: gradients of the loss"),
            Patch(facecolor="#FBE3D6", edgecolor=VERMILLION, linestyle=(0, (4, 2)), linewidth=1.5,
                  label="random node (dashed)"),
            Line2D([], [], color=VERMILLION, marker="X", linestyle="none", markersize=9, markeredgecolor="white",
                   label="no gradient"),
        ]
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.005, 0.0), fontsize=8, frameon=True,
                  framealpha=1.0, edgecolor="#CCCCCC", handlelength=2.6)

    alt = ("A variational autoencoder's computation graph: the encoder maps the input x to μ and log σ²; "
           "randomness enters only at ε, drawn from N(0, I), the one random node, and z = μ + σ ⊙ ε "
           "(elementwise, with σ = exp(½ log σ²)); the decoder turns z into logits, and the loss is the "
           "reconstruction term (binary cross-entropy from the logits, with x as the target) plus KL(q ‖ p), "
           "computed from μ and log σ². Gradients of the loss flow back through z to μ and σ and on into the "
           "encoder; none flow into ε.")
    desc = ("Solid arrows carry values forward; dashed green arrows carry gradients backward. ε is a dashed "
            "circle, the only random node; a cross marks the gradient that does not reach it.")
    return _draw(draw, width, height, alt, desc)


def _centre(patch: Patch) -> tuple[float, float]:
    """Where an arrow to or from a node aims: a circle's centre, a box's middle."""
    if isinstance(patch, Circle):
        return tuple(patch.center)
    return (patch.get_x() + patch.get_width() / 2, patch.get_y() + patch.get_height() / 2)


# --------------------------------------------------------------------------- 3. shapes


def _pair(value: object) -> str:
    """``(4, 4)`` -> ``"4"``, ``(4, 3)`` -> ``"4×3"``, ``"same"`` -> ``"same"``."""
    if isinstance(value, tuple):
        return str(value[0]) if len(set(value)) == 1 else "×".join(str(v) for v in value)
    return str(value)


def _module_label(module: nn.Module) -> str:
    """A short label: convolutions and linear layers with their sizes, anything else by class name."""
    name = type(module).__name__
    if isinstance(module, nn.modules.conv._ConvNd):
        return (f"{name}({module.in_channels}→{module.out_channels}, k{_pair(module.kernel_size)} "
                f"s{_pair(module.stride)} p{_pair(module.padding)})")
    if isinstance(module, nn.Linear):
        return f"{name}({module.in_features}→{module.out_features})"
    return name


def trace_shapes(module: nn.Module, x: torch.Tensor) -> list[tuple[str, tuple[int, ...]]]:
    """Run ``module`` once on ``x`` and list each leaf module's output shape, in call order.

    The first entry is ``("input", shape of x)``; shapes leave out the batch axis.
    Runs in eval mode under ``torch.no_grad()`` (no dropout, no batch-norm
    statistics updated) with the CPU's random state forked (and the GPU's, for a
    CUDA ``x``), so tracing a model that samples, like a VAE, changes neither the
    model nor the random numbers that later cells draw.
    Every submodule's train/eval mode is restored and every hook removed, also
    when the forward raises. Only leaf modules are seen: a reshape written as
    ``x.view(...)`` inside ``forward`` shows up in the next layer's input only.
    """
    if not isinstance(module, nn.Module):
        raise ValueError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(x, torch.Tensor) or x.ndim == 0:
        raise ValueError("x must be a batch: a tensor whose first axis counts samples, such as shape (1, 1, 28, 28)")
    stages: list[tuple[str, tuple[int, ...]]] = [("input", tuple(x.shape[1:]))]

    def record(leaf: nn.Module, _inputs: object, output: object) -> None:
        label = _module_label(leaf)
        if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
            label, output = f"{label} [output 0 of {len(output)}]", output[0]
        if isinstance(output, torch.Tensor):
            stages.append((label, tuple(output.shape[1:])))

    modes = [(m, m.training) for m in module.modules()]
    leaves = [m for m in module.modules() if next(m.children(), None) is None]
    handles = []
    devices = [x.device] if x.device.type == "cuda" else []
    try:
        handles = [leaf.register_forward_hook(record) for leaf in leaves]
        module.eval()
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            module(x)
    finally:
        for handle in handles:
            handle.remove()
        for m, training in modes:
            m.training = training
    return stages


def _shape_text(shape: Sequence[int], sep: str = " × ") -> str:
    return sep.join(str(d) for d in shape)


def _check_stages(stages: object) -> list[tuple[str, tuple[int, ...]]]:
    if isinstance(stages, (str, bytes)) or not isinstance(stages, Sequence):
        raise ValueError(f"stages must be a sequence of (label, shape) pairs, got {stages!r}")
    if len(stages) == 0:
        raise ValueError("stages is empty; give (label, shape) pairs such as [('input', (1, 28, 28))]")
    checked = []
    for i, stage in enumerate(stages):
        if not isinstance(stage, Sequence) or isinstance(stage, str) or len(stage) != 2:
            raise ValueError(f"stages[{i}] must be a (label, shape) pair, got {stage!r}")
        label, shape = stage
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"stages[{i}] has label {label!r}; each stage needs a non-empty text label")
        if isinstance(shape, Sequence) and not isinstance(shape, str) and len(shape) == 0:
            raise ValueError(f"stage {i} ({label!r}) has an empty shape; give its shape without the batch axis, "
                             "such as (32, 14, 14)")
        checked.append((label, _check_sizes(f"the shape of stage {i} ({label!r})", shape, "dimensions", "(32, 14, 14)")))
    return checked


def _wrap_label(label: str, limit: int = 16) -> str:
    """Fit a label to one box's column: ``Name(details)`` breaks before its parenthesis, any line at spaces."""
    if len(label) > limit and "(" in label[1:]:
        cut = label.index("(", 1)
        label = label[:cut] + "\n" + label[cut:]
    return "\n".join(textwrap.fill(line, 20, break_long_words=True) for line in label.split("\n"))


def shapes_diagram(stages: Sequence[tuple[str, Sequence[int]]], *, title: str | None = None) -> Diagram:
    """One box per stage, left to right in rows, each with its label and shape.

    ``stages`` are ``(label, shape)`` pairs, shape without the batch axis, such as
    :func:`trace_shapes` returns. A box's side grows with the logarithm of its
    number of values: 6272 and 32 values both stay visible and comparable.
    """
    checked = _check_stages(stages)
    n = len(checked)
    rows = math.ceil(n / 5)
    per_row = math.ceil(n / rows)
    cell, margin = 1.38, 0.15
    label_h, box_h, shape_h, gap = 0.42, 0.95, 0.42, 0.3
    row_h = label_h + box_h + shape_h + gap
    top = 0.5 if title else 0.1
    width = max(per_row * cell + 2 * margin, 3.0)
    height = top + rows * row_h
    counts = [math.prod(shape) for _, shape in checked]
    log_max = math.log10(max(counts)) if max(counts) > 1 else 1.0
    sides = [0.22 + 0.68 * math.log10(c) / log_max for c in counts]
    left = (width - per_row * cell) / 2

    def centre(i: int) -> tuple[float, float]:
        row, col = divmod(i, per_row)
        y_top = height - top - row * row_h
        return left + (col + 0.5) * cell, y_top - label_h - box_h / 2

    def draw(ax: Axes) -> None:
        _title(ax, title, width, height)
        for i, ((label, shape), side, count) in enumerate(zip(checked, sides, counts)):
            cx, cy = centre(i)
            ax.add_patch(Rectangle((cx - side / 2, cy - side / 2), side, side, facecolor="#D6E6F2", edgecolor=BLUE,
                                   linewidth=1.2))
            ax.text(cx, cy + box_h / 2 + 0.05, _wrap_label(label), ha="center", va="bottom", fontsize=8.5,
                    color=INK, linespacing=1.1)
            ax.text(cx, cy - box_h / 2 - 0.04, _shape_text(shape), ha="center", va="top", fontsize=10,
                    weight="bold", color=INK)
            ax.text(cx, cy - box_h / 2 - 0.24, _plural(count, "value"), ha="center", va="top", fontsize=7.5,
                    color=GREY_TEXT)
            if i == n - 1:
                continue
            nx, ny = centre(i + 1)
            start = (cx + side / 2, cy)
            end = (nx - sides[i + 1] / 2, ny)
            if ny == cy:
                path = [start, end]
            else:  # wrap to the next row: right, down into the gap between rows, back left, down, in
                below = cy - box_h / 2 - shape_h - gap / 2
                out_x, in_x = cx + cell / 2 - 0.08, nx - cell / 2 + 0.08
                path = [start, (out_x, cy), (out_x, below), (in_x, below), (in_x, ny), end]
            ax.add_patch(FancyArrowPatch(path=LinePath(path), arrowstyle="-|>", mutation_scale=11, color=INK,
                                         linewidth=1.2))

    steps = [f"{label.replace('→', ' to ')}, {_shape_text(shape, ' by ')} ({_plural(count, 'value')})"
             for (label, shape), count in zip(checked, counts)]
    alt = _with_title(title, "The shape of one sample at each stage, left to right: " + "; ".join(steps) + ".")
    desc = ("One box per stage, its side growing with the logarithm of its number of values; "
            "shapes leave out the batch axis.")
    return _draw(draw, width, height, alt, desc)


# --------------------------------------------------------------------------- 4. the course map


@dataclass(frozen=True)
class ChapterCard:
    """One chapter on the course map: its number, title, main idea and side studies' titles."""

    number: int
    title: str
    idea: str
    side_studies: tuple[str, ...] = ()


def course_map_diagram(chapters: Sequence[ChapterCard], *, per_row: int = 4) -> Diagram:
    """The course as one path: a card per chapter, in reading order, in rows of ``per_row``.

    Each card shows the chapter's number, title and main idea; under it, how many
    side studies ("Going further") the chapter folds away. The alt text names every
    side study, so that a reader who cannot see the picture gets the whole map. The
    intro page shows it; ``tools/draw_course_map.py`` builds the cards from the
    notebooks, so a new chapter or side study appears without editing the drawing.
    """
    cards = list(chapters)
    if not cards:
        raise ValueError("course_map_diagram needs at least one chapter")
    if not isinstance(per_row, int) or per_row < 1:
        raise ValueError(f"per_row must be a positive whole number, got {per_row!r}")
    for card in cards:
        if not isinstance(card, ChapterCard):
            raise ValueError(f"each chapter must be a ChapterCard, got {card!r}")
    rows = math.ceil(len(cards) / per_row)
    cols = min(per_row, len(cards))
    gap_x, margin, line = 0.32, 0.1, 0.155  # inches; ``line`` is one line of 8 pt text
    card_w = (WIDTH_INCHES - 2 * margin - (cols - 1) * gap_x) / cols
    # DejaVu Sans averages about 0.55 em a character: 8 pt text fits about 16 characters an inch.
    titles = [textwrap.wrap(c.title, max(8, int((card_w - 0.5) * 14)), break_long_words=False) for c in cards]
    ideas = [textwrap.wrap(c.idea, max(10, int((card_w - 0.2) * 16)), break_long_words=False) for c in cards]
    title_h = max(len(t) for t in titles) * line * 1.1 + 0.16
    card_h = title_h + max(len(i) for i in ideas) * line + 0.42
    gap_y = 0.4
    width, height = WIDTH_INCHES, rows * card_h + (rows - 1) * gap_y + 2 * margin

    def corner(i: int) -> tuple[float, float]:
        row, col = divmod(i, per_row)
        if row % 2:  # the path snakes: odd rows run right to left
            col = cols - 1 - col
        return margin + col * (card_w + gap_x), height - margin - row * (card_h + gap_y) - card_h

    def draw(ax: Axes) -> None:
        patches = []
        for i, card in enumerate(cards):
            x, y = corner(i)
            top = y + card_h
            patch = FancyBboxPatch((x, y), card_w, card_h, boxstyle="round,pad=0,rounding_size=0.08",
                                   facecolor="#D6E6F2", edgecolor=BLUE, linewidth=1.2, zorder=2)
            ax.add_patch(patch)
            patches.append(patch)
            ax.add_patch(Circle((x + 0.2, top - 0.2), 0.14, facecolor=BLUE, edgecolor="none", zorder=3))
            ax.text(x + 0.2, top - 0.2, str(card.number), ha="center", va="center", fontsize=9, weight="bold",
                    color="white", zorder=4)
            ax.text(x + 0.42, top - 0.1, "\n".join(titles[i]), ha="left", va="top", fontsize=8.5, weight="bold",
                    color=INK, zorder=4, linespacing=1.1)
            ax.text(x + 0.1, top - 0.1 - title_h, "\n".join(ideas[i]), ha="left", va="top", fontsize=8,
                    color=INK, zorder=4, linespacing=1.15)
            if card.side_studies:
                n = len(card.side_studies)
                ax.text(x + 0.1, y + 0.09, f"+ {n} side {'study' if n == 1 else 'studies'}", ha="left",
                        va="bottom", fontsize=8, style="italic", color=GREY_TEXT, zorder=4)
        for a, b in zip(patches, patches[1:]):
            ax.add_patch(FancyArrowPatch(posA=_centre(a), posB=_centre(b), patchA=a, patchB=b, shrinkA=2,
                                         shrinkB=2, arrowstyle="-|>", mutation_scale=12, color=INK, linewidth=1.3,
                                         zorder=1))

    def sentences(card: ChapterCard) -> str:
        text = f"Chapter {card.number}, \u201c{card.title}\u201d: {card.idea.rstrip('.')}."
        if card.side_studies:
            quoted = [f"\u201c{s.rstrip('.')}\u201d" for s in card.side_studies]
            text += f" Going further: {_listing(quoted)}."
        return text

    alt = (f"The course as a path of {_plural(len(cards), 'chapter')}, read in order. "
           + " ".join(sentences(card) for card in cards))
    desc = ("One card per chapter, joined by arrows in reading order, snaking left to right and then right to "
            "left; each card names the chapter's main idea and counts the side studies it folds away.")
    return _draw(draw, width, height, alt, desc)
