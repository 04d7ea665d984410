"""The training loop: float histories, divergence errors, evaluation mode."""

import math

import pytest
import torch
from torch import nn

from aecourse.train import DivergenceError, History, check_finite, evaluate, evaluating, fit, learning_rates

mse = nn.functional.mse_loss


def _linear_setup(lr=0.01, seed=0):
    torch.manual_seed(seed)
    model = nn.Linear(4, 4)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)

    def step(batch):
        loss = mse(model(batch), batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return model, optimizer, step


def test_fit_histories_are_floats_of_the_right_length():
    """One float per step, one train and one test loss per epoch."""
    model, optimizer, step = _linear_setup()
    x = torch.randn(50, 4)
    history = fit(
        step, x, epochs=3, batch_size=16, model=model, optimizer=optimizer,
        test_x=torch.randn(30, 4), loss_fn=mse, progress=False,
    )
    assert isinstance(history, History)
    assert len(history.step_loss) == 4 * 3  # ceil(50 / 16) batches per epoch
    assert len(history.train_loss) == 3
    assert len(history.test_loss) == 3
    for value in history.step_loss + history.train_loss + history.test_loss:
        assert type(value) is float
    assert history.seconds > 0


def test_fit_train_loss_is_size_weighted_mean_of_steps():
    """An epoch's train loss averages its steps weighted by batch size (16, 16, 16, 2)."""
    _, _, step = _linear_setup()
    history = fit(step, torch.randn(50, 4), epochs=2, batch_size=16, progress=False)
    sizes = [16, 16, 16, 2]
    for epoch in range(2):
        steps = history.step_loss[4 * epoch : 4 * epoch + 4]
        expected = sum(s * n for s, n in zip(steps, sizes)) / 50
        assert history.train_loss[epoch] == pytest.approx(expected, rel=1e-12)
    assert history.test_loss == []  # no test data given


def test_fit_converts_tensor_losses_to_floats():
    """A step that returns the loss tensor still yields a history of plain floats."""
    torch.manual_seed(0)
    model = nn.Linear(3, 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)

    def step(batch):
        loss = mse(model(batch), batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    history = fit(step, torch.randn(20, 3), epochs=2, batch_size=5, progress=False)
    assert len(history.step_loss) == 8
    assert all(type(v) is float for v in history.step_loss + history.train_loss)


def test_fit_learns():
    """On a learnable problem the epoch loss goes down."""
    model, optimizer, step = _linear_setup(lr=0.1)
    history = fit(step, torch.randn(64, 4), epochs=20, batch_size=8, model=model, progress=False)
    assert history.train_loss[-1] < 0.1 * history.train_loss[0]


def test_fit_puts_model_in_train_mode():
    """fit switches a model left in eval mode back to train mode before training."""
    model, optimizer, step = _linear_setup()
    modes = []

    def recording_step(batch):
        modes.append(model.training)
        return step(batch)

    model.eval()
    fit(recording_step, torch.randn(20, 4), epochs=3, batch_size=10, model=model,
        test_x=torch.randn(5, 4), loss_fn=mse, progress=False)
    assert modes == [True] * 6


def test_fit_shuffles_with_the_generator():
    """The same generator seed gives the same batches, hence the same losses."""
    x = torch.randn(40, 4)
    runs = []
    for _ in range(2):
        _, _, step = _linear_setup()
        runs.append(fit(step, x, epochs=2, batch_size=8, generator=torch.Generator().manual_seed(1), progress=False))
    assert runs[0].step_loss == runs[1].step_loss


def test_diverging_run_names_the_learning_rate():
    """SGD at lr=1e3 blows up, and the error names the optimizer and its rate."""
    model, optimizer, step = _linear_setup(lr=1e3)
    with pytest.raises(DivergenceError) as excinfo:
        fit(step, torch.randn(64, 4), epochs=20, batch_size=8, model=model, optimizer=optimizer, progress=False)
    message = str(excinfo.value)
    assert "1000" in message
    assert "SGD" in message
    assert "epoch" in message
    assert isinstance(excinfo.value, FloatingPointError)


def test_check_finite():
    """Finite losses pass through; NaN and inf raise DivergenceError."""
    assert check_finite(0.25) == 0.25
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(DivergenceError, match="unknown"):
            check_finite(bad)


def test_learning_rates_lists_every_group():
    """All distinct rates of all parameter groups appear, sorted."""
    a, b = nn.Parameter(torch.zeros(1)), nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([{"params": [a], "lr": 0.01}, {"params": [b], "lr": 0.001}])
    assert learning_rates(optimizer) == "0.001, 0.01"
    assert learning_rates(None) == "unknown"


class Recorder(nn.Module):
    """A linear map that records its mode and whether autograd was on at every call."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 3)
        self.calls = []

    def forward(self, x):
        self.calls.append((self.training, torch.is_grad_enabled()))
        return self.linear(x)


def test_evaluate_runs_in_eval_mode_without_grad():
    """evaluate calls the model in eval mode under no_grad, then restores train mode."""
    model = Recorder()
    model.train()
    evaluate(model, torch.randn(25, 3), mse, batch_size=10)
    assert model.calls == [(False, False)] * 3
    assert model.training
    assert torch.is_grad_enabled()


def test_evaluate_keeps_eval_mode():
    """A model that was in eval mode stays in eval mode."""
    model = Recorder()
    model.eval()
    evaluate(model, torch.randn(5, 3), mse)
    assert not model.training


def _mixed_modes() -> nn.Module:
    """A model whose submodules are in different modes: training, with its batch norm frozen."""
    model = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3), nn.Sequential(nn.Dropout(0.5), nn.Linear(3, 3)))
    model.train()
    model[1].eval()
    return model


def modes(model: nn.Module) -> list[bool]:
    return [m.training for m in model.modules()]


def test_evaluating_restores_each_submodules_own_mode():
    """Every submodule in eval mode inside, under no_grad; afterwards each has its own flag back
    (model.train(was_training) would have woken the frozen batch norm)."""
    model = _mixed_modes()
    before = modes(model)
    with evaluating(model) as inside:
        assert inside is model
        assert not any(modes(model))
        assert not torch.is_grad_enabled()
        model(torch.randn(4, 3))
    assert modes(model) == before == [True, True, False, True, True, True]
    assert torch.is_grad_enabled()


def test_evaluating_restores_the_modes_when_the_body_raises():
    model = _mixed_modes()
    before = modes(model)
    with pytest.raises(RuntimeError, match="mid-evaluation"):
        with evaluating(model):
            raise RuntimeError("mid-evaluation")
    assert modes(model) == before
    assert torch.is_grad_enabled()


def test_evaluating_can_keep_autograd_on():
    model = _mixed_modes()
    with evaluating(model, no_grad=False):
        assert not any(modes(model))
        assert torch.is_grad_enabled() and model(torch.randn(4, 3)).requires_grad


def test_evaluating_a_wrapper_restores_the_shared_modules_own_modes():
    """A fresh wrapper (training) around the decoder of a model in eval mode: the shared decoder
    goes back to eval, the wrapper's own new layer back to training."""
    autoencoder = nn.ModuleDict({"encoder": nn.Linear(3, 2), "decoder": nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5))})
    autoencoder.eval()
    wrapper = nn.Sequential(autoencoder["decoder"], nn.Sigmoid())
    assert wrapper.training and wrapper[1].training
    with evaluating(wrapper):
        assert not any(modes(wrapper))
        wrapper(torch.randn(4, 2))
    assert not any(modes(autoencoder)), "the shared decoder stays in eval mode, as its model left it"
    assert wrapper.training and wrapper[1].training


def test_evaluating_a_model_that_holds_one_module_twice():
    """A module reachable by two names is recorded once and restored to its own flag."""
    shared = nn.Dropout(0.5)
    model = nn.Sequential(shared, nn.Linear(3, 3), shared)
    model.train()
    shared.eval()
    with evaluating(model):
        assert not shared.training
    assert model.training and model[1].training and not shared.training


def test_evaluate_weights_batches_by_size():
    """With N not a multiple of batch_size the result equals the full-batch mean loss."""
    torch.manual_seed(0)
    model = nn.Linear(6, 6)
    x = torch.randn(103, 6) * torch.linspace(0.1, 5, 103).unsqueeze(1)  # batches differ in scale
    with torch.no_grad():
        full = mse(model(x), x).item()
        unweighted = sum(mse(model(x[i : i + 10]), x[i : i + 10]).item() for i in range(0, 103, 10)) / 11
    result = evaluate(model, x, mse, batch_size=10)
    assert type(result) is float
    assert result == pytest.approx(full, rel=1e-5)
    assert abs(unweighted - full) > 1e-3 * full  # the test data tells the two apart


def test_fit_calls_on_epoch_end_with_each_epoch_number_after_the_epoch():
    """The hook sees epochs 1..E, each after that epoch's last step."""
    model, optimizer, step = _linear_setup()
    x = torch.randn(20, 4)
    seen = []

    def hook(epoch):
        seen.append((epoch, len(history_steps)))

    history_steps = []

    def counting_step(batch):
        history_steps.append(1)
        return step(batch)

    fit(counting_step, x, epochs=3, batch_size=10, progress=False, on_epoch_end=hook)
    assert seen == [(1, 2), (2, 4), (3, 6)]


def test_fit_prints_text_progress_not_a_widget(capsys):
    """The bar is plain text (tqdm.std, not tqdm.auto's widget) on stdout (a stored stderr stream
    is drawn as an error in the book), so a stored run reads the same in the book, Jupyter and
    Colab, and the book needs no widget manager to show it."""
    import tqdm.std

    import aecourse.train

    assert aecourse.train.tqdm is tqdm.std.tqdm
    _, _, step = _linear_setup()
    fit(step, torch.randn(16, 4), epochs=2, batch_size=8)
    shown = capsys.readouterr()
    assert "epochs: 100%" in shown.out and "2/2" in shown.out and shown.err == ""
    fit(step, torch.randn(16, 4), epochs=2, batch_size=8, progress=False)
    assert capsys.readouterr().out == ""


def test_fused_adam_is_offered_exactly_where_torch_accepts_it():
    import torch

    from aecourse.train import fused_adam_available

    version = tuple(int(part) for part in torch.__version__.split("+")[0].split(".")[:2])
    assert fused_adam_available("cpu") == (version >= (2, 4)), "fused Adam runs on the CPU from PyTorch 2.4"
    if fused_adam_available("cpu"):
        weight = torch.ones(3, requires_grad=True)
        optimizer = torch.optim.Adam([weight], lr=0.1, fused=True)
        weight.sum().backward()
        optimizer.step()
        assert torch.allclose(weight, torch.full((3,), 0.9)), "one Adam step moves each weight by the learning rate"
