"""Damaged MNIST files: repaired in the cache when online, named (with their size and the fix) otherwise.

A download or extraction cut short leaves a truncated file; torchvision then sees the file,
never fetches it again, and fails on every run, online too. ``aecourse.data`` checks each of
the four files (exact size, IDX header) before torchvision reads them. Three kinds of damage,
each in the cache and in an ``AECOURSE_DATA`` folder: a truncated file, an empty file and a
file of the wrong kind (an HTML error page saved under the file's name, and a file of the
right size whose header is another file's).

Nothing here downloads: "online" is torchvision's own ``MNIST.download`` with its archive
download replaced by a copy from the real files (``AECOURSE_DATA``); "offline" is the
``no_network`` fixture.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

import aecourse.data as data
from aecourse.data import MNIST_FILES, DataUnavailableError, damaged_files, ensure_mnist, load_mnist

DAMAGED = "t10k-images-idx3-ubyte"  # the file load_mnist(train=False) reads


def truncated(original: bytes) -> bytes:
    return original[: len(original) // 3]


def empty(original: bytes) -> bytes:
    return b""


def html_page(original: bytes) -> bytes:
    return b"<!DOCTYPE html><html><body>503 Service Unavailable</body></html>\n"


def wrong_header(original: bytes) -> bytes:
    """The right size, but the header of the training images (60,000 digits, not 10,000)."""
    return struct.pack(">4I", 2051, 60_000, 28, 28) + original[16:]


DAMAGE = [truncated, empty, html_page, wrong_header]


def mnist_copy(source: Path, root: Path, damage=None) -> Path:
    """Copy the four files into ``root/MNIST/raw``, with ``damage`` applied to :data:`DAMAGED`."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in MNIST_FILES:
        shutil.copyfile(source / "MNIST" / "raw" / name, raw / name)
    if damage is not None:
        path = raw / DAMAGED
        path.write_bytes(damage(path.read_bytes()))
    return raw / DAMAGED


@pytest.fixture
def fake_download(monkeypatch, mnist_dir):
    """torchvision's MNIST.download as it is, but each archive 'downloaded' from the real files."""
    import torchvision.datasets.mnist as tv_mnist

    fetched = []

    def download_and_extract_archive(url, download_root, filename=None, md5=None, **kwargs):
        name = Path(filename or url).name.removesuffix(".gz")
        target = Path(download_root) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        shutil.copyfile(mnist_dir / "MNIST" / "raw" / name, target)
        fetched.append(name)

    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", download_and_extract_archive)
    return fetched


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty per-user cache, with AECOURSE_DATA unset; returns the folder MNIST goes into."""
    monkeypatch.delenv("AECOURSE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "aecourse"


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__)
def test_each_damage_is_found_and_intact_files_pass(mnist_dir, tmp_path, damage):
    assert damaged_files(mnist_dir) == [], "the real files must pass"
    path = mnist_copy(mnist_dir, tmp_path, damage)
    (found,) = damaged_files(tmp_path)
    assert found.path == path and found.size == path.stat().st_size


def test_torchvision_alone_never_fetches_a_truncated_file_again(mnist_dir, cache, fake_download):
    """The bug: with the truncated file on disk, torchvision's download() does nothing."""
    from torchvision.datasets import MNIST

    mnist_copy(mnist_dir, cache, truncated)
    with pytest.raises(Exception):  # noqa: B017 - whatever torchvision raises on a short file
        MNIST(root=str(cache), train=False, download=True)
    assert fake_download == []


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__)
def test_online_a_damaged_file_in_the_cache_is_fetched_again(mnist_dir, cache, fake_download, damage):
    path = mnist_copy(mnist_dir, cache, damage)
    keep = cache / "checkpoints" / "conv_vae.pt"  # the course's own files in the same cache
    keep.parent.mkdir(parents=True)
    keep.write_bytes(b"weights")
    test = load_mnist(train=False)
    assert len(test) == 10_000 and fake_download, "fetched again, then loaded"
    assert path.read_bytes() == (mnist_dir / "MNIST" / "raw" / DAMAGED).read_bytes()
    assert damaged_files(cache) == []
    assert keep.read_bytes() == b"weights", "nothing but the damaged MNIST file is deleted"


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__)
def test_offline_a_damaged_file_in_the_cache_is_named_with_its_size_and_the_fix(
        mnist_dir, cache, no_network, damage):
    path = mnist_copy(mnist_dir, cache, damage)
    size = path.stat().st_size
    with pytest.raises(DataUnavailableError) as caught:
        load_mnist(train=False)
    message = str(caught.value)
    assert no_network, "it tried to fetch the file again"
    assert str(path) in message and f"{size:,} bytes" in message
    assert f"{MNIST_FILES[DAMAGED][0]:,}" in message, "the size the original has"
    assert "Connect to the internet and run again" in message and "AECOURSE_DATA" in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    others = [name for name in MNIST_FILES if name != DAMAGED]
    assert all((cache / "MNIST" / "raw" / name).is_file() for name in others), "intact files are kept"


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__)
def test_under_aecourse_data_a_damaged_file_is_named_and_left_alone(
        mnist_dir, tmp_path, monkeypatch, no_network, fake_download, damage):
    folder = tmp_path / "course-data"
    path = mnist_copy(mnist_dir, folder, damage)
    before = path.read_bytes()
    monkeypatch.setenv("AECOURSE_DATA", str(folder))
    with pytest.raises(DataUnavailableError) as caught:
        load_mnist(train=False)
    message = str(caught.value)
    assert str(path) in message and f"{len(before):,} bytes" in message
    assert "AECOURSE_DATA" in message and "python -m aecourse.data" in message
    assert path.read_bytes() == before, "the folder's files are never deleted or changed"
    assert no_network == [] and fake_download == [], "nothing is downloaded under AECOURSE_DATA"


def test_the_fetch_command_replaces_a_damaged_file_in_the_folder_it_is_given(mnist_dir, tmp_path, fake_download, capsys):
    folder = tmp_path / "data"
    path = mnist_copy(mnist_dir, folder, truncated)
    assert data.main([str(folder)]) == 0
    assert damaged_files(folder) == [] and path.stat().st_size == MNIST_FILES[DAMAGED][0]
    assert f"AECOURSE_DATA={folder}" in capsys.readouterr().out


def test_for_tests_prints_the_folder_the_tests_read(mnist_dir, monkeypatch, capsys, no_network):
    monkeypatch.setenv("AECOURSE_DATA", str(mnist_dir))
    assert data.main(["--for-tests"]) == 0
    assert capsys.readouterr().out.strip() == str(mnist_dir.resolve())


def test_for_tests_fetches_into_the_cache_once(mnist_dir, cache, fake_download, capsys):
    assert data.main(["--for-tests"]) == 0
    assert capsys.readouterr().out.strip() == str(cache.resolve())
    assert sorted(fake_download) == sorted(MNIST_FILES)
    fake_download.clear()
    assert data.main(["--for-tests"]) == 0 and fake_download == [], "once: the second run fetches nothing"


def test_for_tests_offline_with_an_empty_cache_stops_with_one_message(cache, no_network, capsys):
    assert data.main(["--for-tests"]) == 2
    said = capsys.readouterr()
    assert said.out == ""
    lines = said.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("MNIST: ")
    assert "Connect to the internet and run again" in lines[0] and "AECOURSE_DATA" in lines[0]


def test_ensure_mnist_under_aecourse_data_with_a_missing_file_says_which_folder(tmp_path, no_network):
    with pytest.raises(DataUnavailableError, match="MNIST/raw"):
        ensure_mnist(tmp_path, from_env=True)
    assert list(tmp_path.iterdir()) == []
