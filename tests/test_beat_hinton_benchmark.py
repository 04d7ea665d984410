"""benchmarks/ch2_beat_hinton.py without MNIST: its model is chapter 2's, its shifts move digits, its flags guard.

The script's training run takes a quarter of an hour; what can be checked in a second is
what the run rests on: the model it builds is the notebook's (the paper's layer sizes,
logits out), the one-pixel shifts move each image by at most that and lose nothing of
a digit away from the border, and ``--save`` refuses a loss whose model it could not ship.
"""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "ch2_beat_hinton.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("ch2_beat_hinton", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_model_is_chapter_twos_with_the_papers_layer_sizes(bench):
    model = bench.thirty_number_autoencoder()
    linears = [layer for layer in model.modules() if isinstance(layer, nn.Linear)]
    assert [layer.in_features for layer in linears] == [784, 1000, 500, 250, 30, 250, 500, 1000]
    assert linears[-1].out_features == 784
    assert sum(p.numel() for p in model.parameters()) == 2_837_314
    code = model[0](torch.rand(3, 784))
    assert code.shape == (3, 30) and (code < 0).any(), "the code is linear: no ReLU after it"
    assert not isinstance(list(model.modules())[-1], (nn.Sigmoid, nn.ReLU)), "the model gives logits"


def test_a_shift_moves_a_pixel_by_at_most_the_limit_and_keeps_it(bench):
    images = torch.zeros(500, 784)
    images[:, 14 * 28 + 14] = 1.0  # one lit pixel in the middle of every image
    moved = bench.shifted(images, 1, torch.Generator().manual_seed(0))
    assert moved.sum(dim=1).eq(1).all(), "a pixel away from the border must survive the shift"
    rows, cols = moved.view(500, 28, 28).nonzero()[:, 1:].T
    assert (rows - 14).abs().max() == 1 and (cols - 14).abs().max() == 1
    assert len({(r, c) for r, c in zip(rows.tolist(), cols.tolist())}) == 9, "all nine offsets occur"


def test_a_shift_of_zero_changes_nothing_and_shifts_repeat_with_the_seed(bench):
    images = torch.rand(8, 784, generator=torch.Generator().manual_seed(1))
    assert torch.equal(bench.shifted(images, 0, torch.Generator().manual_seed(0)), images)
    once = bench.shifted(images, 2, torch.Generator().manual_seed(3))
    assert torch.equal(once, bench.shifted(images, 2, torch.Generator().manual_seed(3)))
    assert not torch.equal(once, images)


def test_saving_a_model_trained_without_logits_is_refused(bench, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["ch2_beat_hinton.py", "--epochs", "1", "--save"])
    with pytest.raises(SystemExit) as exit_:
        bench.main()
    assert exit_.value.code == 2
    assert "--loss bce" in capsys.readouterr().err
