"""Interactive explorers for a running notebook (they need a live kernel).

The published book cannot run them, so each chapter shows a static figure
in their place; in Colab or Jupyter they redraw as the sliders move.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from torch import Tensor, nn

from aecourse.train import evaluating


def decode_one(decoder: nn.Module, code: Tensor) -> Tensor:
    """Decode a single code ``(k,)`` into a ``(28, 28)`` image on the CPU, in eval mode
    and without a graph (:func:`aecourse.train.evaluating`)."""
    device = next(decoder.parameters()).device
    with evaluating(decoder):
        return decoder(code.reshape(1, -1).to(device)).reshape(28, 28).cpu()


def latent_explorer(decoder: nn.Module, start: Tensor, *, spread: float = 3.0):
    """Sliders for each latent value, starting at ``start``; redraws the decoding.

    ``spread`` sets each slider's range to ``start +- spread``. Returns the
    ipywidgets box, which Jupyter displays.
    """
    import ipywidgets as widgets

    start = start.detach().cpu().flatten()
    sliders = [
        widgets.FloatSlider(value=float(v), min=float(v) - spread, max=float(v) + spread,
                            step=0.05, description=f"z[{i}]", continuous_update=True)
        for i, v in enumerate(start)
    ]
    output = widgets.Output()

    def redraw(_: object = None) -> None:
        code = torch.tensor([s.value for s in sliders])
        with output:
            output.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(2.5, 2.5))
            ax.imshow(decode_one(decoder, code).numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_axis_off()
            plt.show()

    for slider in sliders:
        slider.observe(redraw, names="value")
    redraw()
    return widgets.HBox([widgets.VBox(sliders), output])
