"""PCA, subspace angles, and a linear autoencoder reaching the PCA optimum."""

import math

import pytest
import torch
from torch import nn

from aecourse.data import load_mnist
from aecourse.device import seed_everything
from aecourse.pca import direction_angle, fit_pca, principal_angles
from aecourse.train import evaluate, fit

mse = nn.functional.mse_loss


def _correlated(n=500, seed=0):
    """(n, 8) rows with variances 9, 4, 0.25, ... along random orthogonal axes, mean 1.5."""
    g = torch.Generator().manual_seed(seed)
    scales = torch.tensor([3.0, 2.0, 0.5, 0.4, 0.3, 0.2, 0.1, 0.1])
    rotation, _ = torch.linalg.qr(torch.randn(8, 8, generator=g))
    return (torch.randn(n, 8, generator=g) * scales) @ rotation.T + 1.5


def test_components_orthonormal_and_variances_descending():
    """Components form an orthonormal basis; variances are sorted and non-negative."""
    pca = fit_pca(_correlated(300))
    c = pca.components
    assert c.shape == (8, 8) and c.dtype == torch.float64
    assert torch.allclose(c.T @ c, torch.eye(8, dtype=torch.float64), atol=1e-10)
    assert torch.all(pca.variances[:-1] >= pca.variances[1:])
    assert torch.all(pca.variances >= 0)


def test_mean_and_variances_match_the_data():
    """The mean is the column mean; the variances sum to the total (population) variance."""
    x = _correlated(300).double()
    pca = fit_pca(x)
    assert torch.allclose(pca.mean, x.mean(0))
    assert pca.variances.sum().item() == pytest.approx(x.var(0, unbiased=False).sum().item(), rel=1e-10)


def test_error_is_sum_of_discarded_variances():
    """error(x, k) = (sum of the variances after the k-th) / D, and 0 at k = D."""
    x = _correlated(300)
    pca = fit_pca(x)
    d = x.shape[1]
    for k in range(d + 1):
        expected = pca.variances[k:].sum().item() / d
        assert pca.error(x, k) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert pca.error(x, d) < 1e-20
    errors = [pca.error(x, k) for k in range(d + 1)]
    assert errors == sorted(errors, reverse=True)


def test_pca_beats_any_other_rank_k_projection():
    """Projecting on the top-k directions beats projecting on random k-dim subspaces."""
    x = _correlated(300).double()
    pca = fit_pca(x)
    centred = x - pca.mean
    g = torch.Generator().manual_seed(1)
    for _ in range(20):
        q, _ = torch.linalg.qr(torch.randn(8, 2, generator=g, dtype=torch.float64))
        other = ((centred @ q @ q.T - centred) ** 2).mean().item()
        assert pca.error(x, 2) <= other


def test_basis_and_reconstruct_shapes():
    """basis(k) is (D, k); reconstruct keeps x's shape and dtype; bad k and shapes raise."""
    x = _correlated(50)
    pca = fit_pca(x)
    assert pca.basis(3).shape == (8, 3)
    out = pca.reconstruct(x, 3)
    assert out.shape == x.shape and out.dtype == x.dtype
    with pytest.raises(ValueError):
        pca.basis(9)
    with pytest.raises(ValueError):
        pca.basis(-1)
    with pytest.raises(ValueError, match="flatten"):
        fit_pca(torch.zeros(4, 2, 2))


def test_principal_angles_ignore_the_basis():
    """A subspace and the same subspace under an invertible change of basis: angles 0."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(10, 3, generator=g)
    change = torch.randn(3, 3, generator=g) + 3 * torch.eye(3)
    assert abs(torch.linalg.det(change).item()) > 1e-3
    angles = principal_angles(a, a @ change)
    assert angles.shape == (3,)
    assert angles.max().item() < 1e-4


def test_principal_angles_of_orthogonal_subspaces_are_90():
    """Two orthogonal planes (rotated together) are 90 degrees apart in every direction."""
    rotation, _ = torch.linalg.qr(torch.randn(6, 6, generator=torch.Generator().manual_seed(2)))
    a = rotation @ torch.eye(6)[:, :2]
    b = rotation @ torch.eye(6)[:, 2:4] @ torch.tensor([[2.0, 1.0], [0.0, 1.0]])
    assert torch.allclose(principal_angles(a, b), torch.full((2,), 90.0, dtype=torch.float64), atol=1e-6)


def test_principal_angle_of_tilted_lines():
    """Lines at 30 degrees give 30; direction_angle ignores sign."""
    theta = math.radians(30)
    u = torch.tensor([[1.0], [0.0], [0.0]])
    v = torch.tensor([[math.cos(theta)], [math.sin(theta)], [0.0]])
    assert principal_angles(u, v).item() == pytest.approx(30.0, abs=1e-6)
    assert direction_angle(u, v) == pytest.approx(30.0, abs=1e-6)
    assert direction_angle(u, -u) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError):
        principal_angles(torch.zeros(3, 1), torch.zeros(4, 1))


def test_linear_autoencoder_reaches_pca_on_synthetic_data():
    """A linear autoencoder trained with Adam matches rank-k PCA: MSE within 0.5%, subspace within 1 degree."""
    x = _correlated(500)
    k = 2
    pca = fit_pca(x)
    best = pca.error(x, k)
    seed_everything(0)
    model = nn.Sequential(nn.Linear(8, k), nn.Linear(k, 8))
    steps = 1000
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for _ in range(steps):
        loss = mse(model(x), x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    error = evaluate(model, x, mse)
    assert error / best >= 0.999  # Eckart-Young: no rank-k linear map beats PCA
    assert error / best <= 1.005
    decoder_columns = model[1].weight  # (D, k)
    assert principal_angles(decoder_columns, pca.basis(k)).max().item() < 1.0


def test_linear_autoencoder_reaches_pca_on_mnist(use_mnist):
    """On 5,000 MNIST digits a 784-9-784 linear autoencoder trained with fit gets within 0.5% of PCA-9."""
    x = load_mnist(train=True, subset=5_000).flat
    k = 9
    best = fit_pca(x).error(x, k)
    generator = seed_everything(0)
    model = nn.Sequential(nn.Linear(784, k), nn.Linear(k, 784))
    epochs, batch_size = 20, 50
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * len(x) // batch_size)

    def step(batch):
        loss = mse(model(batch), batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        return loss.item()

    history = fit(step, x, epochs=epochs, batch_size=batch_size, model=model, optimizer=optimizer,
                  generator=generator, progress=False)
    error = evaluate(model, x, mse)
    assert history.train_loss[-1] < history.train_loss[0]
    assert error / best >= 0.999
    assert error / best <= 1.005


def test_pca_reconstruction_module_matches_the_fitted_pca():
    """The module chapter 4 scores like a model gives PCA's own reconstruction and codes, in float32."""
    from aecourse.pca import PCAReconstruction

    torch.manual_seed(0)
    x = torch.randn(200, 12) @ torch.randn(12, 12)
    fitted = fit_pca(x)
    module = PCAReconstruction(fitted, 4)
    images = x[:5].reshape(5, 1, 3, 4)
    assert module.basis.dtype == module.mean.dtype == torch.float32
    assert module(images).shape == images.shape
    torch.testing.assert_close(module(images).flatten(1), fitted.reconstruct(x[:5], 4), rtol=1e-4, atol=1e-4)
    assert module.encode(images).shape == (5, 4)
