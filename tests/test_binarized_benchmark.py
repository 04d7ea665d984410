"""benchmarks/ch5_binarized_likelihood.py on fake images: training, saving, the bounds, the command line.

No MNIST and no real training: one epoch on 128 random grey images (binarised afresh at
every step, as the script does), then the measurements on 8 binary images. What must hold
whatever the weights: the importance-weighted bound is at least the ELBO, every number is
finite, the checkpoint loads into the notebook's own ConvVAE, and a wrong command line
prints the usage.
"""

import importlib.util
import math
import sys
from pathlib import Path

import pytest
import torch

from aecourse.checkpoint import CheckpointError, PACKAGE, bundled_checkpoint, load_checkpoint, trained_checkpoint
from aecourse.vae import reparameterize

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "ch5_binarized_likelihood.py"
sys.path.insert(0, str(ROOT / "tools"))
from notebook_code import from_notebook  # noqa: E402


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("ch5_binarized_likelihood", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # before running it: its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def trained(bench):
    """One epoch on 128 fake grey images; 8 fake test images binarised once."""
    g = torch.Generator().manual_seed(5)
    train_images = torch.rand(128, 1, 28, 28, generator=g)
    test_binary = bench.binarized_test_set(torch.rand(8, 1, 28, 28, generator=g))
    lines = []
    # one batch of 128 rather than the recipe's two of 64: one optimizer step is enough, and half the time
    model, record = bench.train(train_images, test_binary, epochs=1, batch_size=128, log=lines.append)
    return model, record, test_binary, lines


@pytest.fixture(scope="module")
def measured(bench, trained):
    model, _, test_binary, _ = trained
    return bench.measure(model, test_binary, k=5, elbo_samples=50, log=lambda line: None)


def test_the_test_set_is_binary_and_repeats(bench):
    grey = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    once, again = bench.binarized_test_set(grey), bench.binarized_test_set(grey)
    assert set(once.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(once, again), "the test set must be binarised the same way every time"
    assert not torch.equal(once, bench.binarized_test_set(grey, seed=bench.TEST_SEED + 1))


def test_training_records_one_epoch_of_finite_curves(trained):
    _, record, _, lines = trained
    curves = record["curves"]
    assert record["epochs"] == 1
    for name in ("train_neg_elbo", "test_neg_elbo", "test_reconstruction", "test_kl"):
        assert len(curves[name]) == 1 and math.isfinite(curves[name][0]), name
    assert curves["test_neg_elbo"][0] == pytest.approx(curves["test_reconstruction"][0] + curves["test_kl"][0])
    # a -ELBO of binary 784-pixel images under a barely trained model: positive, below all-pixels-wrong
    assert 0 < curves["train_neg_elbo"][0] < 784 * 20
    assert record["seconds"] > 0 and record["torch"] == torch.__version__ and "torch threads" in record["machine"]
    assert len(lines) == 1 and lines[0].startswith("epoch   1/1") and "train -ELBO" in lines[0]


def test_checkpoint_round_trips_into_the_notebooks_conv_vae(bench, trained, tmp_path):
    model, record, test_binary, _ = trained
    path = bench.save(tmp_path / "binarized.pt", model, record)
    notebook_vae = from_notebook("05_conv_vae", "ConvVAE",
                                 namespace={"torch": torch, "nn": torch.nn, "reparameterize": reparameterize})
    fresh = notebook_vae(latent_dim=32)
    extra = load_checkpoint(path, fresh)
    for name, tensor in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[name], tensor.cpu()), name
    assert extra["curves"] == record["curves"] and extra["epochs"] == 1 and extra["machine"] == record["machine"]
    loaded, extra_again, found = bench.load(path)
    assert found == path and not loaded.training
    torch.testing.assert_close(loaded.encode(test_binary)[0], fresh.eval().encode(test_binary)[0])


def test_annealing_continues_the_same_weights_on_a_falling_cosine(bench, trained):
    """`anneal` trains the given model further (not a fresh one), its rate falling on a cosine
    from the recipe's towards 0 (reached just after the last step)."""
    model, record, test_binary, _ = trained
    g = torch.Generator().manual_seed(6)
    images = torch.rand(128, 1, 28, 28, generator=g)
    start = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    rates = []
    original_step = torch.optim.Adam.step

    def spying_step(self, *args, **kwargs):
        rates.append(self.param_groups[0]["lr"])
        return original_step(self, *args, **kwargs)

    torch.optim.Adam.step = spying_step
    try:
        continued, after = bench.train(images, test_binary, epochs=2, batch_size=64, seed=bench.ANNEAL_SEED,
                                       start_from=model, anneal=True, log=lambda line: None)
        assert continued is model, "anneal must continue the model it was given"
        assert any(not torch.equal(start[name], tensor) for name, tensor in model.state_dict().items())
        # four steps: the rate starts at the recipe's 1e-3 and falls on a cosine towards 0
        assert rates[0] == pytest.approx(bench.LEARNING_RATE)
        assert rates == sorted(rates, reverse=True) and len(rates) == 4
        assert rates[-1] == pytest.approx(bench.LEARNING_RATE * (1 + math.cos(math.pi * 3 / 4)) / 2)
        assert "decayed to 0 on a cosine" in after["recipe"]
    finally:
        torch.optim.Adam.step = original_step
        model.load_state_dict(start)  # leave the module-scoped model as the other tests expect it


def test_annealing_an_annealed_model_is_refused(bench, trained, tmp_path, capsys):
    """A second `anneal` would stack a third phase onto the shipped model: refused, with what to do."""
    model, record, _, _ = trained
    path = bench.save(tmp_path / "annealed.pt", model,
                      {**record, "recipe": record["recipe"] + "; then 1 epoch of Adam lr 0.001 decayed to 0 on a cosine"})
    assert bench.main(["anneal", "3", "--checkpoint", str(path)]) == 1
    err = capsys.readouterr().err
    assert "already annealed" in err and "train EPOCHS" in err


def test_a_continued_record_keeps_both_phases(bench):
    before = {"curves": {"test_neg_elbo": [100.0, 95.0]}, "epochs": 2, "seconds": 60.0,
              "recipe": "Adam lr 0.001", "machine": "cpu A"}
    after = {"curves": {"test_neg_elbo": [94.0]}, "epochs": 1, "seconds": 30.0,
             "recipe": "Adam lr 0.001 decayed to 0 on a cosine", "machine": "cpu A"}
    record = bench.continued_record(before, after)
    assert record["curves"]["test_neg_elbo"] == [100.0, 95.0, 94.0]
    assert record["epochs"] == 3 and record["seconds"] == 90.0 and record["machine"] == "cpu A"
    assert record["recipe"].startswith("2 epochs of Adam lr 0.001; then 1 epoch of Adam lr 0.001 decayed")
    assert before["curves"]["test_neg_elbo"] == [100.0, 95.0], "the earlier record must not be changed"
    assert bench.continued_record(before, {**after, "machine": "gpu B"})["machine"] == "cpu A; then gpu B"


def test_the_default_paths_are_the_cache_and_the_shipped_copy(bench):
    assert bench.TRAINED == trained_checkpoint("ch5_conv_vae_binarized.pt")
    assert bench.SHIPPED == bundled_checkpoint("ch5_conv_vae_binarized.pt")
    assert not bench.TRAINED.resolve().is_relative_to(PACKAGE), "training must never write into the package"


def test_importance_weighted_bound_is_at_least_the_elbo(measured):
    """E[L_k] >= ELBO for every image. Both are estimates, so: the paired mean difference may
    fall below zero by no more than three of its standard errors."""
    gap, gap_se = measured["gap"]
    assert gap > -3 * gap_se
    assert measured["log_likelihood"].shape == measured["elbo"].shape == (8,)
    assert bool((measured["log_likelihood"] < 0).all()), "log p(x) of a binary image is below 0"


def test_every_measured_number_is_finite(measured):
    for key in ("neg_elbo", "neg_log_likelihood", "gap"):
        mean, se = measured[key]
        assert math.isfinite(mean) and math.isfinite(se) and se >= 0, key
    assert math.isfinite(measured["seconds"]) and measured["seconds_per_image"] > 0
    assert torch.isfinite(measured["unit_variances"]).all() and measured["unit_variances"].shape == (32,)
    assert 0 <= measured["active"] <= 32
    assert [row[0] for row in measured["ladder"]] == [1, 5]
    assert all(math.isfinite(mean) and math.isfinite(se) for _, mean, se in measured["ladder"])


def test_the_ladder_reuses_the_runs_own_estimates_at_k(measured):
    k_row = measured["ladder"][-1]
    assert k_row[0] == 5 and k_row[1] == pytest.approx(measured["neg_log_likelihood"][0])


def test_active_units_follow_burdas_threshold(bench):
    mu = torch.zeros(50, 3)
    mu[:, 0] = torch.linspace(-1, 1, 50)  # variance about 0.35: active
    mu[:, 1] = torch.linspace(-0.05, 0.05, 50)  # variance about 0.0009: inactive
    variances, active = bench.active_units(mu)
    assert active == 1 and variances.dtype == torch.float64 and variances[2] == 0


def test_report_names_the_seed_and_the_three_references(bench, measured):
    text = "\n".join(bench.report(measured))
    for needle in ("manual_seed(2016)", "86.76", "82.90", "78.01", "-L_5", "active units", "k = 1 "):
        assert needle in text, needle


@pytest.mark.parametrize("argv", [[], ["fit", "3"], ["train"], ["train", "zero"], ["train", "0"],
                                  ["evaluate", "5"], ["evaluate", "5", "1"], ["evaluate", "-5", "8"],
                                  ["anneal"], ["anneal", "0"]])
def test_bad_arguments_print_the_usage(bench, argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        bench.main(argv)
    assert exit_.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_a_missing_checkpoint_names_the_command_that_makes_it(bench, tmp_path, capsys):
    missing = tmp_path / "none.pt"
    assert bench.main(["evaluate", "5", "8", "--checkpoint", str(missing)]) == 1
    err = capsys.readouterr().err
    assert str(missing) in err and "ch5_binarized_likelihood.py train EPOCHS" in err
    with pytest.raises(CheckpointError, match="train EPOCHS"):
        bench.load(missing)
    assert bench.main(["anneal", "3", "--checkpoint", str(missing)]) == 1
    assert "train EPOCHS" in capsys.readouterr().err
