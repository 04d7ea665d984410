"""PCA: the baseline every chapter measures its autoencoder against.

By the Eckart-Young theorem, no rank-k linear map reconstructs centred data
with less squared error than projecting onto the top k principal directions.
A linear autoencoder can at best match it; a deep one should beat it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from aecourse.device import cpu_float64


@dataclass
class PCA:
    """Principal axes of a data set.

    Attributes:
        mean: ``(D,)`` the training mean, removed before projecting.
        components: ``(D, D)`` orthonormal directions, one per **column**,
            sorted by decreasing variance.
        variances: ``(D,)`` the variance of the data along each direction.
    """

    mean: Tensor
    components: Tensor
    variances: Tensor

    def basis(self, k: int) -> Tensor:
        """``(D, k)``: the top-k directions as columns."""
        if not 0 <= k <= self.components.shape[1]:
            raise ValueError(f"k must be between 0 and {self.components.shape[1]}, got {k}")
        return self.components[:, :k]

    def reconstruct(self, x: Tensor, k: int) -> Tensor:
        """Project ``x`` (``(N, D)``) onto the top-k subspace and map it back.

        Computes in ``x``'s dtype on ``x``'s device. The float64 directions are
        cast on the CPU *before* they move, since MPS cannot hold float64.
        """
        v = self.basis(k).to(x.dtype).to(x.device)
        mean = self.mean.to(x.dtype).to(x.device)
        return (x - mean) @ v @ v.T + mean

    def error(self, x: Tensor, k: int) -> float:
        """Mean squared error per element of the rank-k reconstruction of ``x``
        (computed in float64 on the CPU, wherever ``x`` lives)."""
        x = cpu_float64(x)
        return float(((self.reconstruct(x, k) - x) ** 2).mean())


def fit_pca(x: Tensor) -> PCA:
    """Fit PCA to ``x`` of shape ``(N, D)``.

    Computed in float64 from the ``(D, D)`` covariance with ``torch.linalg.eigh``:
    exact enough to serve as the bound a linear autoencoder is held to, and
    fast for MNIST's D = 784 even when N = 60,000. The work happens on the CPU
    whatever device ``x`` is on (MPS has no float64), and the result stays there.
    """
    if x.ndim != 2:
        raise ValueError(f"fit_pca expects (N, D) rows, got shape {tuple(x.shape)}; flatten first")
    x = cpu_float64(x)
    mean = x.mean(dim=0)
    centred = x - mean
    covariance = centred.T @ centred / x.shape[0]
    variances, vectors = torch.linalg.eigh(covariance)  # ascending order
    return PCA(mean=mean, components=vectors.flip(1), variances=variances.flip(0).clamp_min(0))


def principal_angles(a: Tensor, b: Tensor) -> Tensor:
    """Angles in degrees between the column spaces of ``a`` and ``b``, ``(D, k)`` each.

    Zero angles mean the two subspaces coincide, whatever basis spans them:
    the right way to compare a linear autoencoder's weights (unique only up
    to an invertible k x k map) with PCA's components.
    """
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[0]:
        raise ValueError(f"expected (D, k) matrices with the same D, got {tuple(a.shape)} and {tuple(b.shape)}")
    qa, _ = torch.linalg.qr(cpu_float64(a))
    qb, _ = torch.linalg.qr(cpu_float64(b))
    cosines = torch.linalg.svdvals(qa.T @ qb).clamp(-1.0, 1.0)
    return torch.rad2deg(torch.arccos(cosines))


def direction_angle(u: Tensor, v: Tensor) -> float:
    """Angle in degrees between two lines (sign-free: 0 and 180 are the same line)."""
    u, v = cpu_float64(u).flatten(), cpu_float64(v).flatten()
    cosine = float((u @ v).abs() / (u.norm() * v.norm()))
    return math.degrees(math.acos(min(1.0, cosine)))


class PCAReconstruction(nn.Module):
    """PCA-k as an autoencoder: ``(N, C, H, W)`` or ``(N, D)`` in, the same shape out,
    through a code of ``k`` numbers, so that it is scored exactly like a trained model.

    The basis and the mean are float32 buffers, cast once here: ``.to(device)`` moves them,
    and a forward pass does no casting (the fitted :class:`PCA` keeps float64 on the CPU).
    """

    def __init__(self, pca: PCA, k: int) -> None:
        super().__init__()
        self.register_buffer("basis", pca.basis(k).to(torch.float32))  # (D, k)
        self.register_buffer("mean", pca.mean.to(torch.float32))  # (D,)

    def encode(self, x: Tensor) -> Tensor:
        """``(N, k)``: the coordinates of ``x`` along the top-k directions."""
        return (x.flatten(1) - self.mean) @ self.basis

    def forward(self, x: Tensor) -> Tensor:
        return (self.encode(x) @ self.basis.T + self.mean).view_as(x)

