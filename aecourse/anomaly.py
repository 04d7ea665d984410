"""Anomaly detection by reconstruction error: test defects and the ROC AUC (chapter 4).

An autoencoder trained on clean digits reconstructs clean digits well and, one hopes,
anything else badly; an image's reconstruction error is then an anomaly score. How good
a score is does not depend on a threshold: the area under the ROC curve (AUC) is the
chance that a randomly chosen anomalous image scores higher than a randomly chosen
normal one (0.5 is guessing, 1 is perfect). scikit-learn computes it; this module adds
the defects the chapter detects and messages that say what is wrong with a score.
"""

from __future__ import annotations

import math

import torch
from sklearn.metrics import roc_auc_score, roc_curve
from torch import Tensor

from aecourse.device import cpu_float64

__all__ = ["add_defects", "detection_auc", "roc"]


def add_defects(images: Tensor, *, side: int = 4, margin: int = 4, generator: torch.Generator | None = None) -> Tensor:
    """A copy of ``images`` with one ``side`` x ``side`` square per image inverted (x -> 1 - x).

    The square lies at a random place at least ``margin`` pixels from the border, where
    the digits are: on the blank background it is a white blot, on a stroke a hole. A
    small local defect like this is what industrial inspection looks for, and what an
    error averaged over the whole image dilutes.

    Args:
        images: ``(N, 1, H, W)`` pixels in ``[0, 1]``; not modified.
        generator: draws the positions, so a seeded set of defects repeats.

    Returns:
        ``(N, 1, H, W)``, on the device of ``images``.
    """
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"add_defects expects images shaped (N, 1, H, W), got {tuple(images.shape)}")
    n, _, height, width = images.shape
    if side < 1 or side + 2 * margin > min(height, width):
        raise ValueError(f"a {side}x{side} square {margin} pixels from the border does not fit a {height}x{width} image")
    rows = torch.randint(margin, height - margin - side + 1, (n,), generator=generator)
    cols = torch.randint(margin, width - margin - side + 1, (n,), generator=generator)
    # One boolean mask per image, built on the CPU where the generator lives, then moved.
    r = torch.arange(height).view(1, height, 1)
    c = torch.arange(width).view(1, 1, width)
    inside = ((r >= rows.view(n, 1, 1)) & (r < rows.view(n, 1, 1) + side)
              & (c >= cols.view(n, 1, 1)) & (c < cols.view(n, 1, 1) + side))
    inside = inside.unsqueeze(1).to(images.device)
    return torch.where(inside, 1.0 - images, images)


def _as_scores(scores: Tensor, what: str) -> Tensor:
    scores = cpu_float64(torch.as_tensor(scores))
    if scores.dim() != 1:
        raise ValueError(f"{what}: expected one score per image, shape (N,), got {tuple(scores.shape)}")
    if not torch.isfinite(scores).all():
        raise ValueError(f"{what}: {int((~torch.isfinite(scores)).sum())} scores are NaN or infinite")
    return scores


def detection_auc(normal_scores: Tensor, anomalous_scores: Tensor) -> float:
    """The ROC AUC of telling anomalous from normal images by their scores (higher = more anomalous).

    Raises:
        ValueError: a score set that is not one finite number per image, or empty.
    """
    normal = _as_scores(normal_scores, "normal_scores")
    anomalous = _as_scores(anomalous_scores, "anomalous_scores")
    if len(normal) == 0 or len(anomalous) == 0:
        raise ValueError("detection_auc needs at least one normal and one anomalous score")
    labels = torch.cat([torch.zeros(len(normal)), torch.ones(len(anomalous))])
    auc = float(roc_auc_score(labels.numpy(), torch.cat([normal, anomalous]).numpy()))
    assert not math.isnan(auc)
    return auc


def roc(normal_scores: Tensor, anomalous_scores: Tensor) -> tuple[Tensor, Tensor]:
    """False and true positive rates of every threshold, for plotting the ROC curve."""
    normal = _as_scores(normal_scores, "normal_scores")
    anomalous = _as_scores(anomalous_scores, "anomalous_scores")
    labels = torch.cat([torch.zeros(len(normal)), torch.ones(len(anomalous))])
    fpr, tpr, _ = roc_curve(labels.numpy(), torch.cat([normal, anomalous]).numpy())
    return torch.from_numpy(fpr), torch.from_numpy(tpr)
