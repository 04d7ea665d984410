"""TensorFlow 1 conventions, reproduced in PyTorch for chapter 3.

Two things do not translate by name alone:

* TF1 stores a dense layer's kernel as ``[in, out]`` and computes
  ``x @ W + b``; :class:`torch.nn.Linear` stores ``weight`` as ``[out, in]``
  and computes ``x @ weight.T + bias``. Moving weights across means a
  transpose (:func:`linear_from_tf`).
* ``tf.variance_scaling_initializer()`` draws from a *truncated* normal and
  corrects its standard deviation so that the variance after truncation is
  the one asked for; torch has no initializer that does both
  (:func:`variance_scaling_`).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

Mode = Literal["fan_in", "fan_out", "fan_avg"]
Distribution = Literal["truncated_normal", "untruncated_normal", "uniform"]
Layout = Literal["torch", "tf"]

# Standard deviation of a standard normal truncated to [-2, 2]. TF1 divides by
# it so that the *truncated* draws end up with the requested variance.
TRUNCATED_NORMAL_STD = 0.87962566103423978


def fans(shape: torch.Size | tuple[int, ...], layout: Layout = "torch") -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a 2-D weight.

    ``layout="torch"`` reads ``[out, in]`` (``nn.Linear.weight``);
    ``layout="tf"`` reads ``[in, out]`` (a TF1 kernel, ``tf.matmul(X, W)``).
    """
    if len(shape) != 2:
        raise ValueError(f"expected a 2-D weight, got shape {tuple(shape)}")
    rows, cols = shape
    return (rows, cols) if layout == "tf" else (cols, rows)


@torch.no_grad()
def variance_scaling_(
    tensor: Tensor,
    scale: float = 1.0,
    mode: Mode = "fan_in",
    distribution: Distribution = "truncated_normal",
    *,
    layout: Layout = "torch",
    generator: torch.Generator | None = None,
    corrected: bool = True,
) -> Tensor:
    """Fill ``tensor`` in place like TF1's ``tf.variance_scaling_initializer``.

    The defaults are TF1's: ``scale=1.0``, ``mode="fan_in"``, a normal
    truncated at two standard deviations, so ``Var(w) = scale / fan_in``.
    Truncation alone would shrink the standard deviation by a factor 0.8796;
    TF1 releases from mid-2018 on divide by that factor first, and so does this
    function. Earlier releases did not (tensorflow issues #16344 and #18706):
    ``corrected=False`` draws as they did, with ``Var(w) = 0.774 * scale / fan_in``.

    Args:
        tensor: a 2-D weight, filled in place.
        layout: ``"torch"`` for ``[out, in]`` weights, ``"tf"`` for ``[in, out]``.
        generator: for reproducible draws.

    Returns:
        ``tensor``, like the ``torch.nn.init`` functions.
    """
    fan_in, fan_out = fans(tensor.shape, layout)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    variance = scale / max(1.0, n)
    if distribution == "truncated_normal":
        std = math.sqrt(variance) / (TRUNCATED_NORMAL_STD if corrected else 1.0)
        return nn.init.trunc_normal_(tensor, 0.0, std, -2 * std, 2 * std, generator=generator)
    if distribution == "untruncated_normal":
        return nn.init.normal_(tensor, 0.0, math.sqrt(variance), generator=generator)
    if distribution == "uniform":
        limit = math.sqrt(3.0 * variance)
        return nn.init.uniform_(tensor, -limit, limit, generator=generator)
    raise ValueError(f"unknown distribution {distribution!r}; use truncated_normal, untruncated_normal or uniform")


@torch.no_grad()
def linear_from_tf(kernel: Tensor, bias: Tensor) -> nn.Linear:
    """An :class:`nn.Linear` that computes TF1's ``tf.matmul(x, kernel) + bias``.

    ``kernel`` is ``[in, out]`` as TF1 stores it; ``nn.Linear`` wants
    ``[out, in]``, hence the transpose.
    """
    if kernel.dim() != 2 or bias.shape != (kernel.shape[1],):
        raise ValueError(
            f"a TF1 kernel is [in, out] with a bias of [out]; got kernel {tuple(kernel.shape)} "
            f"and bias {tuple(bias.shape)}"
        )
    fan_in, fan_out = kernel.shape
    linear = nn.Linear(fan_in, fan_out, dtype=kernel.dtype, device=kernel.device)
    linear.weight.copy_(kernel.T)
    linear.bias.copy_(bias)
    return linear
