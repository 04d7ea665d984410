"""Plumbing for chapter 7: sparse autoencoders that read a classifier's activations.

The chapter keeps the sparse autoencoders themselves (model, loss, training step) in
plain sight. What it imports from here is the measuring and the surgery, code that is
the same for any SAE and any network:

* :func:`collect_activations` reads one layer's output with a forward hook, so the
  classifier needs no change to be read;
* :func:`fraction_of_variance_explained`, :func:`mean_l0`, :func:`firing_frequency` and
  :func:`count_dead` are the numbers an SAE is judged by (the chapter's exercises ask the
  student to write three of them; these are the references the checks compare with);
* :func:`spliced` swaps a layer's output for something else (the SAE's reconstruction, a
  mean, zeros) during a ``with`` block, so that the network's *behaviour* can be measured
  with the explanation in place of what it explains;
* :func:`loss_recovered` and :func:`class_purity` turn those measurements into the two
  numbers the chapter reports.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from torch import Tensor, nn

from aecourse.device import cpu_float64


def collect_activations(model: nn.Module, layer: nn.Module, x: Tensor, *, batch_size: int = 1000) -> Tensor:
    """The output of ``layer`` (a submodule of ``model``) for every row of ``x``, stacked.

    A forward hook reads the layer, so the model is used exactly as it is trained; the
    model runs in eval mode without a graph, and each submodule's mode is put back after.
    """
    from aecourse.train import evaluating

    kept: list[Tensor] = []
    handle = layer.register_forward_hook(lambda _module, _inputs, output: kept.append(output.detach()))
    try:
        with evaluating(model):
            for start in range(0, x.shape[0], batch_size):
                model(x[start : start + batch_size])
    finally:
        handle.remove()
    return torch.cat(kept)


def fraction_of_variance_explained(x: Tensor, x_hat: Tensor) -> float:
    """1 - (squared error of ``x_hat``) / (squared deviation of ``x`` from its mean row).

    Both are summed over rows and dimensions: the share of the activations' total variance
    that the reconstruction accounts for. 1 is perfect; 0 is what the mean row alone scores.
    Computed in float64 on the CPU, as a float.
    """
    x, x_hat = cpu_float64(x), cpu_float64(x_hat)
    error = (x - x_hat).pow(2).sum()
    total = (x - x.mean(dim=0)).pow(2).sum()
    return float(1 - error / total)


def mean_l0(codes: Tensor) -> float:
    """L0: how many codes are nonzero in a row, averaged over the rows of ``codes`` (N, m)."""
    return float((codes != 0).float().sum(dim=1).mean())


def firing_frequency(codes: Tensor) -> Tensor:
    """For each of the m latents of ``codes`` (N, m), the fraction of the N rows where it is
    nonzero: its *density*. A latent of density 0 is dead on these rows."""
    return (codes != 0).float().mean(dim=0)


def count_dead(codes: Tensor) -> int:
    """How many latents never fire on the rows of ``codes`` (N, m)."""
    return int((firing_frequency(codes) == 0).sum())


@contextlib.contextmanager
def spliced(layer: nn.Module, replace: Callable[[Tensor], Tensor]) -> Iterator[None]:
    """Inside the block, ``layer``'s output ``h`` is replaced by ``replace(h)`` for the rest
    of the network: the test of an explanation is whether the network still works with it.

    ``replace`` gets the layer's true output and returns a tensor of its shape (the SAE's
    reconstruction of it, its mean, zeros, ``h`` with one feature removed). The hook is
    removed on the way out, also when the block raises.
    """
    handle = layer.register_forward_hook(lambda _module, _inputs, output: replace(output))
    try:
        yield
    finally:
        handle.remove()


def loss_recovered(ce_original: float, ce_spliced: float, ce_ablated: float) -> float:
    """(CE_ablated - CE_spliced) / (CE_ablated - CE_original): the share of the loss that the
    layer is worth (what ablating it costs) that the spliced reconstruction gives back.

    1 means the reconstruction does as well as the layer itself; 0 means as badly as the
    ablation. It depends on the ablation chosen, so the chapter reports two.
    """
    return (ce_ablated - ce_spliced) / (ce_ablated - ce_original)


def class_purity(activations: Tensor, labels: Tensor, *, top: int = 20) -> Tensor:
    """For each column of ``activations`` (N, m): the share of its ``top`` most active rows
    whose label is the most common label among them. 1: every top image is one digit.

    It reads only the top of each column, a biased sample: a feature pure at its top can
    still fire, more weakly, on other digits.
    """
    top_rows = activations.topk(top, dim=0).indices  # (top, m)
    top_labels = labels[top_rows]  # (top, m)
    counts = torch.nn.functional.one_hot(top_labels, num_classes=int(labels.max()) + 1).sum(dim=0)  # (m, classes)
    return counts.max(dim=1).values.float() / top
