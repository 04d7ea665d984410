"""Run sizes: AECOURSE_FAST picks the fast sizes, unknown chapters are named."""

import pytest

from aecourse import settings
from aecourse.settings import RunSize, is_fast, mode_name, run_size


@pytest.mark.parametrize("chapter", sorted(settings._RUN_SIZES))
def test_fast_mode_gives_smaller_runs(monkeypatch, chapter):
    """AECOURSE_FAST=1 selects fewer epochs and MNIST subsets, in every chapter."""
    monkeypatch.setenv("AECOURSE_FAST", "1")
    fast = run_size(chapter)
    monkeypatch.delenv("AECOURSE_FAST")
    full = run_size(chapter)
    assert isinstance(fast, RunSize) and isinstance(full, RunSize)
    assert 1 <= fast.epochs < full.epochs
    assert fast.train_size is not None and 0 < fast.train_size < 60_000
    assert fast.test_size is not None and 0 < fast.test_size < 10_000


def test_full_mode_uses_whole_splits(monkeypatch):
    """Without AECOURSE_FAST every chapter trains on all of MNIST."""
    monkeypatch.delenv("AECOURSE_FAST", raising=False)
    assert not is_fast()
    assert mode_name() == "full"
    assert run_size("ch1").epochs >= 1
    for chapter in settings._RUN_SIZES:
        size = run_size(chapter)
        assert size.train_size is None and size.test_size is None


@pytest.mark.parametrize("value", ["1", "true", "Yes", " on "])
def test_true_looking_values_mean_fast(monkeypatch, value):
    """1/true/yes/on (any case, padded) turn fast mode on."""
    monkeypatch.setenv("AECOURSE_FAST", value)
    assert is_fast()
    assert mode_name() == "fast"


@pytest.mark.parametrize("value", ["", "0", "false", "no"])
def test_other_values_mean_full(monkeypatch, value):
    """Empty, 0, false and no keep full mode."""
    monkeypatch.setenv("AECOURSE_FAST", value)
    assert not is_fast()
    assert mode_name() == "full"


def test_unknown_chapter_lists_known_ones():
    """An unknown chapter raises KeyError naming it and the known chapters."""
    with pytest.raises(KeyError) as excinfo:
        run_size("ch99")
    message = excinfo.value.args[0]
    assert "ch99" in message
    assert "known chapters: ch1" in message
