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


def test_a_shift_moves_the_whole_image_rigidly(bench):
    """Away from the border, a shifted image is the original rolled by one offset (dy, dx)."""
    images = torch.rand(64, 784, generator=torch.Generator().manual_seed(2))
    images.view(64, 28, 28)[:, :2, :] = 0  # a blank border, so that nothing is cut off
    images.view(64, 28, 28)[:, -2:, :] = 0
    images.view(64, 28, 28)[:, :, :2] = 0
    images.view(64, 28, 28)[:, :, -2:] = 0
    moved = bench.shifted(images, 2, torch.Generator().manual_seed(4)).view(64, 28, 28)
    for original, result in zip(images.view(64, 28, 28), moved):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if torch.equal(torch.roll(original, (dy, dx), dims=(0, 1)), result)]
        assert len(matches) == 1, "each image must be one rigid translation of the original"


def test_the_score_is_the_squared_error_summed_over_pixels_and_averaged_over_images(bench):
    class Zeros(nn.Module):
        def forward(self, x):
            return torch.zeros_like(x)

    x = torch.rand(5, 784, generator=torch.Generator().manual_seed(7))
    expected = (x ** 2).sum(dim=1).mean().item()
    assert bench.squared_error_per_image(Zeros(), x, logits=False) == pytest.approx(expected)
    # logits of 0 are pixels of 0.5
    assert bench.squared_error_per_image(Zeros(), x, logits=True) == pytest.approx(((x - 0.5) ** 2).sum(1).mean().item())


@pytest.mark.parametrize("argv, message", [
    (["--loss", "mse", "--save"], "--loss bce"),
    (["--epochs", "1"], "--epochs needs at least 2"),
    (["--shift", "-1"], "--shift at least 0"),
    (["--minutes", "0"], "--minutes more than 0"),
])
def test_bad_flags_are_refused_before_any_training(bench, monkeypatch, capsys, argv, message):
    monkeypatch.setattr(sys, "argv", ["ch2_beat_hinton.py", *argv])
    with pytest.raises(SystemExit) as exit_:
        bench.main()
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_the_defaults_are_the_shipped_recipe(bench):
    """Running the script with no flags must repeat the shipped run, not the overfitting one."""
    seen = vars(bench.build_parser().parse_args([]))
    assert (seen["epochs"], seen["loss"], seen["shift"], seen["weight_decay"], seen["minutes"]) == (100, "bce", 1, 0.0, None)
