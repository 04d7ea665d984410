"""Checks for chapter 1: the linear autoencoder."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from aecourse.checks.core import Wrong, check
from aecourse.data import correlated_2d
from aecourse.pca import fit_pca

_TOY_SEED = 0
DIVERGENCE_GRID = (0.05, 0.1, 0.2, 0.3, 0.5)


def _toy() -> Tensor:
    return correlated_2d(100, generator=torch.Generator().manual_seed(_TOY_SEED))


@check("the mended training loop")
def mended_loop(train: Callable[[Tensor, int, float], list[float]]) -> str:
    """``train(x, steps, lr)`` must return one float loss per step, and learn."""
    x = _toy()
    torch.manual_seed(_TOY_SEED)
    losses = train(x.clone(), 500, 0.1)
    if not isinstance(losses, (list, tuple)) or len(losses) != 500:
        raise Wrong(f"return a list with one loss per step (500 here), got {type(losses).__name__} of length {len(losses) if hasattr(losses, '__len__') else '?'}.")
    if any(isinstance(v, Tensor) for v in losses):
        raise Wrong("the losses are tensors; store loss.item() so that each step's graph can be freed.")
    if not all(math.isfinite(v) for v in losses):
        raise Wrong("the loss became NaN or inf; at lr=0.1 it should not. Is the update a descent step?")
    if abs(losses[-1] - losses[0]) < 1e-9:
        raise Wrong("the loss never moved. Hand the optimizer the four parameter tensors (created with requires_grad=True), and recompute the reconstruction from them inside the loop.")
    best = fit_pca(x).error(x, 1)
    if losses[-1] > 2.0 * best:
        raise Wrong(f"after 500 steps at lr=0.1 the loss is {losses[-1]:.4f}, more than twice the rank-1 PCA error {best:.4f}. Call zero_grad() every step, and take the mean squared error over all entries.")
    return f"final loss {losses[-1]:.5f} against the rank-1 PCA optimum {best:.5f}."


@check("the PCA reconstruction error by SVD")
def pca_error(answer: Callable[[Tensor, int], float]) -> str:
    """``answer(x, k)`` must equal the rank-k PCA mean squared error per element."""
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(200, 6, generator=generator) @ torch.randn(6, 6, generator=generator) + 3.0
    for k in (1, 3, 6):
        expected = fit_pca(x).error(x, k)
        got = float(answer(x, k))
        if not math.isclose(got, expected, rel_tol=1e-3, abs_tol=1e-9):
            uncentred = float(((x - _svd_truncate(x, k)) ** 2).mean())
            hint = (
                " Subtract the column means before the SVD (and add them back)."
                if math.isclose(got, uncentred, rel_tol=1e-3)
                else " Average the squared error over all N*D entries."
            )
            raise Wrong(f"for k={k} expected {expected:.5f}, got {got:.5f}.{hint}")
    return "it matches the eigendecomposition-based PCA for k = 1, 3 and 6."


def _svd_truncate(x: Tensor, k: int) -> Tensor:
    u, s, vh = torch.linalg.svd(x, full_matrices=False)
    return u[:, :k] @ torch.diag(s[:k]) @ vh[:k]


@check("the tied linear autoencoder")
def tied_autoencoder(model_class: type[nn.Module]) -> str:
    """``model_class(d, k)`` must share one (k, d) weight between encoder and decoder."""
    d, k = 5, 2
    torch.manual_seed(0)
    model = model_class(d, k)
    matrices = [p for p in model.parameters() if p.ndim == 2]
    count = sum(p.numel() for p in model.parameters())
    if len(matrices) != 1:
        raise Wrong(f"found {len(matrices)} weight matrices; a tied model has one, W, used as W in the encoder and W.T in the decoder.")
    if count != d * k + k + d:
        raise Wrong(f"expected {d * k + k + d} parameters for d={d}, k={k} (W, an encoder bias, a decoder bias), found {count}.")
    x = torch.randn(7, d)
    out = model(x)
    if out.shape != x.shape:
        raise Wrong(f"the output has shape {tuple(out.shape)}, not the input's {tuple(x.shape)}.")
    w = matrices[0]
    if w.shape not in {(k, d), (d, k)}:
        raise Wrong(f"W has shape {tuple(w.shape)}; expected ({k}, {d}) or ({d}, {k}).")
    # the reconstruction must be an affine map whose linear part is W^T W (or W W^T)
    linear = (model(torch.eye(d)) - model(torch.zeros(1, d))).detach()
    gram = (w.T @ w if w.shape == (k, d) else w @ w.T).detach()
    if not torch.allclose(linear, gram, atol=1e-5):
        raise Wrong("the reconstruction is not x W^T W + c: use the same W to encode (x @ W.T + b) and to decode (z @ W + c).")
    return f"one matrix W {tuple(w.shape)} and two biases, {count} parameters."


def diverges(lr: float, steps: int = 1000) -> bool:
    """Whether SGD at ``lr`` blows up on the chapter's toy data from seed 0."""
    x = _toy()
    torch.manual_seed(_TOY_SEED)
    w_enc, w_dec = torch.randn(2, 1, requires_grad=True), torch.randn(1, 2, requires_grad=True)
    b_enc, b_dec = torch.randn(1, requires_grad=True), torch.randn(1, 2, requires_grad=True)
    optimizer = torch.optim.SGD([w_enc, w_dec, b_enc, b_dec], lr=lr)
    for _ in range(steps):
        loss = (((x @ w_enc + b_enc) @ w_dec + b_dec - x) ** 2).mean()
        if not math.isfinite(loss.item()) or loss.item() > 1e6:
            return True
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return False


@check("the first learning rate that diverges")
def diverging_lr(answer: float) -> str:
    """``answer`` must be the smallest rate of :data:`DIVERGENCE_GRID` at which SGD diverges."""
    if answer not in DIVERGENCE_GRID:
        raise Wrong(f"pick one of {DIVERGENCE_GRID}.")
    first = next(lr for lr in DIVERGENCE_GRID if diverges(lr))
    if answer < first:
        raise Wrong(f"at lr={answer} the loss still converges. Try larger rates.")
    if answer > first:
        raise Wrong(f"lr={answer} diverges, but a smaller rate on the list already does.")
    return f"at lr={first} the steps overshoot and the loss grows without bound; below it, SGD converges."
