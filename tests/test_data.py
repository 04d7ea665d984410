"""MNIST loading (from AECOURSE_DATA, never downloaded here), batches and the toy data."""

import pytest
import torch

from aecourse.data import (
    DataUnavailableError,
    batches,
    correlated_2d,
    data_root,
    default_data_root,
    load_mnist,
)
from aecourse.pca import fit_pca


def test_data_root_follows_env(tmp_path, monkeypatch):
    """AECOURSE_DATA names the root (with ~ expanded); otherwise a per-user cache folder."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AECOURSE_DATA", "~/mnist")
    assert data_root() == tmp_path / "mnist"
    monkeypatch.delenv("AECOURSE_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data_root() == default_data_root() == tmp_path / "xdg" / "aecourse"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_data_root() == tmp_path / ".cache" / "aecourse"


def test_missing_files_under_env_name_the_variable(tmp_path, monkeypatch, no_network):
    """AECOURSE_DATA pointing at an empty folder: a clear error, and no download attempt."""
    monkeypatch.setenv("AECOURSE_DATA", str(tmp_path))
    with pytest.raises(DataUnavailableError) as excinfo:
        load_mnist(train=False)
    message = str(excinfo.value)
    assert "AECOURSE_DATA" in message
    assert str(tmp_path) in message
    assert "MNIST/raw" in message
    assert no_network == []  # with AECOURSE_DATA set nothing may be downloaded
    assert list(tmp_path.iterdir()) == []  # nor written


def test_failed_download_names_variable_and_download(tmp_path, monkeypatch, no_network):
    """No AECOURSE_DATA, empty cache, no network: the error says to set AECOURSE_DATA."""
    monkeypatch.delenv("AECOURSE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(DataUnavailableError) as excinfo:
        load_mnist(train=False)
    error = excinfo.value
    message = str(error)
    assert no_network, "load_mnist should have tried to download"
    assert "AECOURSE_DATA" in message
    assert "download" in message.lower()
    assert str(tmp_path / "aecourse") in message
    # raised `from None`: the reader sees one message, not a chain of tracebacks
    assert error.__cause__ is None
    assert error.__suppress_context__ is True


def test_real_mnist_shapes_and_ranges(use_mnist):
    """Both splits load as float32 pixels in [0, 1] and int64 labels 0..9."""
    train = load_mnist(train=True)
    test = load_mnist(train=False)
    assert train.images.shape == (60_000, 1, 28, 28)
    assert test.images.shape == (10_000, 1, 28, 28)
    for split in (train, test):
        assert split.images.dtype == torch.float32
        assert split.labels.dtype == torch.int64
        assert split.labels.shape == (len(split),)
        assert split.images.min().item() == 0.0
        assert split.images.max().item() == 1.0
        assert set(split.labels.unique().tolist()) == set(range(10))
    assert train.flat.shape == (60_000, 784)
    assert torch.equal(train.flat[0], train.images[0].flatten())


def test_subset_size_and_repeatability(use_mnist):
    """subset=n keeps n real digits; the same seed keeps the same ones, another seed others."""
    full = load_mnist(train=False)
    first = load_mnist(train=False, subset=300, seed=0)
    again = load_mnist(train=False, subset=300, seed=0)
    other = load_mnist(train=False, subset=300, seed=1)
    assert len(first) == 300 and first.images.shape == (300, 1, 28, 28)
    assert torch.equal(first.images, again.images)
    assert torch.equal(first.labels, again.labels)
    assert not torch.equal(first.labels, other.labels)
    # every kept digit is a row of the full split, with its own label
    nearest = torch.cdist(first.flat, full.flat).argmin(dim=1)
    assert torch.equal(full.images[nearest], first.images)
    assert torch.equal(full.labels[nearest], first.labels)
    assert len(nearest.unique()) == 300  # no digit drawn twice


def test_subset_larger_than_split_keeps_all(use_mnist):
    """A subset at least as large as the split returns the whole split, in order."""
    full = load_mnist(train=False)
    big = load_mnist(train=False, subset=20_000)
    assert torch.equal(big.labels, full.labels)


def test_split_to_device(use_mnist):
    """MNISTSplit.to moves images and labels together."""
    split = load_mnist(train=False, subset=10).to("meta")
    assert split.images.device.type == "meta" and split.labels.device.type == "meta"


def test_batches_cover_every_row_once():
    """One pass of batches yields every row exactly once, in batches of batch_size."""
    x = torch.arange(103)
    seen = [b for (b,) in batches(x, batch_size=10, generator=torch.Generator().manual_seed(0))]
    assert [len(b) for b in seen] == [10] * 10 + [3]
    assert torch.equal(torch.cat(seen).sort().values, x)
    assert not torch.equal(torch.cat(seen), x)  # shuffled


def test_batches_keep_tensors_aligned():
    """Row i of every tensor stays together in the same batch."""
    x = torch.arange(50)
    y = x * 10
    z = torch.stack([x, -x], dim=1)
    for bx, by, bz in batches(x, y, z, batch_size=7):
        assert torch.equal(by, bx * 10)
        assert torch.equal(bz[:, 0], bx) and torch.equal(bz[:, 1], -bx)


def test_batches_order():
    """shuffle=False keeps the order; the same generator seed repeats the shuffle."""
    x = torch.arange(20)
    plain = torch.cat([b for (b,) in batches(x, batch_size=6, shuffle=False)])
    assert torch.equal(plain, x)
    one = torch.cat([b for (b,) in batches(x, batch_size=6, generator=torch.Generator().manual_seed(5))])
    two = torch.cat([b for (b,) in batches(x, batch_size=6, generator=torch.Generator().manual_seed(5))])
    assert torch.equal(one, two)


def test_batches_reject_bad_input():
    """Mismatched first dimensions, batch_size < 1 and no tensors raise ValueError."""
    with pytest.raises(ValueError, match="first dimension"):
        list(batches(torch.zeros(5), torch.zeros(6), batch_size=2))
    with pytest.raises(ValueError, match="batch_size"):
        list(batches(torch.zeros(5), batch_size=0))
    with pytest.raises(ValueError):
        list(batches(batch_size=2))


def test_correlated_2d_construction():
    """x0 = u0 + u1 and x1 = 0.5 * x0 + u1, from uniform noise drawn by the given generator."""
    n = 50
    u = torch.rand(n, 2, generator=torch.Generator().manual_seed(7))
    x0 = u[:, 0] + u[:, 1]
    x1 = 0.5 * x0 + u[:, 1]
    x = correlated_2d(n, generator=torch.Generator().manual_seed(7))
    assert x.shape == (n, 2)
    assert torch.allclose(x[:, 0], x0)
    assert torch.allclose(x[:, 1], x1)


def test_correlated_2d_mostly_on_one_axis():
    """Most of the variance lies along one direction (rank-1 structure)."""
    x = correlated_2d(2000, generator=torch.Generator().manual_seed(0))
    variances = fit_pca(x).variances
    assert variances[0] / variances.sum() > 0.9
    assert float(torch.corrcoef(x.T)[0, 1]) > 0.85  # 2 / sqrt(5) = 0.894 in theory
