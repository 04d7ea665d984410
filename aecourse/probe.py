"""A linear probe: how much of the digit's identity a frozen code keeps (chapter 4).

Train a linear classifier (multinomial logistic regression) on the codes of training
images and count how often it names the digit of a test image. The encoder is frozen:
the probe measures the representation, not a network fine-tuned to classify. Codes are
standardised first so that the regularisation treats every code dimension alike, whatever
its scale. scikit-learn does the fitting.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import Tensor

__all__ = ["probe_accuracy"]


def _numpy(x: Tensor, what: str) -> np.ndarray:
    x = torch.as_tensor(x).detach().to("cpu")
    if what.endswith("codes") and x.dim() != 2:
        raise ValueError(f"{what}: expected one code per row, shape (N, k), got {tuple(x.shape)}")
    return x.numpy()


def probe_accuracy(
    train_codes: Tensor, train_labels: Tensor, test_codes: Tensor, test_labels: Tensor, *, max_iter: int = 1000
) -> float:
    """Test accuracy (0..1) of a logistic regression fitted on ``train_codes`` ``(N, k)``."""
    x_train, x_test = _numpy(train_codes, "train_codes"), _numpy(test_codes, "test_codes")
    y_train, y_test = _numpy(train_labels, "train_labels"), _numpy(test_labels, "test_labels")
    if x_train.shape[1] != x_test.shape[1]:
        raise ValueError(f"train and test codes differ in size: {x_train.shape[1]} and {x_test.shape[1]}")
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter))
    classifier.fit(x_train, y_train)
    return float(classifier.score(x_test, y_test))
