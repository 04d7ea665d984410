"""Load-or-train checkpoints: a round trip, and clear errors when they do not fit."""

from pathlib import Path

import pytest
import torch
from torch import nn

from aecourse.checkpoint import CheckpointError, load_checkpoint, save_checkpoint


def small(latent=3):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, latent), nn.BatchNorm1d(latent), nn.Linear(latent, 5))


def test_round_trip_restores_weights_buffers_and_extras(tmp_path):
    model = small()
    model.train()
    model(torch.randn(8, 5))  # moves the batch-norm running statistics off their defaults
    path = save_checkpoint(tmp_path / "deep" / "m.pt", model, history={"test": [1.5, 1.25]}, epochs=2)
    fresh = small()
    for p in fresh.parameters():
        nn.init.zeros_(p)
    extra = load_checkpoint(path, fresh)
    assert extra == {"history": {"test": [1.5, 1.25]}, "epochs": 2}
    for (name, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
        assert torch.equal(a, b), name


def test_a_model_of_another_size_is_named_in_the_error(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", small(latent=3))
    with pytest.raises(CheckpointError, match=r"does not fit.*0\.weight: checkpoint \(3, 5\), model \(2, 5\)"):
        load_checkpoint(path, small(latent=2))


def test_missing_and_unexpected_keys_are_listed(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", nn.Linear(2, 2))
    with pytest.raises(CheckpointError, match="missing 0.weight.*unexpected weight"):
        load_checkpoint(path, nn.Sequential(nn.Linear(2, 2)))


def test_missing_file_says_how_to_get_one(tmp_path):
    with pytest.raises(CheckpointError, match=r'os\.environ\["AECOURSE_RETRAIN"\] = "1"'):
        load_checkpoint(tmp_path / "none.pt", small())


def test_garbage_file_is_a_clear_error_not_an_unpickling_traceback(tmp_path):
    path = tmp_path / "bad.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path, small())


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": small().state_dict(), "hook": print}, path)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path, small())


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    """A private user cache: what trained_checkpoint() writes to, for one test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("AECOURSE_FAST", raising=False)
    monkeypatch.delenv("AECOURSE_RETRAIN", raising=False)
    return tmp_path / "cache" / "aecourse" / "checkpoints"


def test_needs_training_only_in_fast_mode_on_request_or_without_a_copy(own_cache, monkeypatch):
    from aecourse.checkpoint import needs_training

    assert not needs_training("ch5_conv_vae.pt"), "the shipped copy is enough"
    assert needs_training("no_such_model.pt")
    monkeypatch.setenv("AECOURSE_RETRAIN", "1")
    assert needs_training("ch5_conv_vae.pt")
    monkeypatch.delenv("AECOURSE_RETRAIN")
    monkeypatch.setenv("AECOURSE_FAST", "1")
    assert needs_training("ch5_conv_vae.pt"), "fast mode trains its own tiny model and never keeps it"


def test_a_readers_training_goes_to_their_cache_and_is_found_first(own_cache):
    from aecourse.checkpoint import bundled_checkpoint, checkpoint_origin, find_checkpoint, trained_checkpoint

    assert find_checkpoint("ch5_conv_vae.pt") == bundled_checkpoint("ch5_conv_vae.pt")
    assert "shipped with aecourse" in checkpoint_origin(find_checkpoint("ch5_conv_vae.pt"))
    target = trained_checkpoint("ch5_conv_vae.pt")
    assert target.parent == own_cache
    save_checkpoint(target, small())
    assert find_checkpoint("ch5_conv_vae.pt") == target, "a model the reader retrained is the one they get back"
    assert "your own" in checkpoint_origin(target) and str(own_cache) in checkpoint_origin(target)
    assert find_checkpoint("no_such_model.pt") is None


def test_nothing_is_ever_written_into_the_package(own_cache):
    """Not the shipped file, not a new one beside it, not through a relative path."""
    import aecourse
    from aecourse.checkpoint import bundled_checkpoint

    package = Path(aecourse.__file__).resolve().parent
    before = {p: p.stat().st_mtime_ns for p in package.rglob("*") if p.is_file()}
    for path in (bundled_checkpoint("ch5_conv_vae.pt"), package / "checkpoints" / "new.pt",
                 package / "checkpoints" / ".." / "x.pt"):
        with pytest.raises(CheckpointError, match="inside the aecourse package"):
            save_checkpoint(path, small())
    after = {p: p.stat().st_mtime_ns for p in package.rglob("*") if p.is_file()}
    assert after == before
