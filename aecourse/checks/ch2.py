"""Checks for chapter 2: the deep MLP autoencoder."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from aecourse.checks.core import Wrong, as_indices, exercise_check, check_device, probe_devices
from aecourse.train import evaluate


def _tiny_autoencoder() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 3), nn.ReLU(), nn.Linear(3, 6), nn.Sigmoid())


def _reference_step(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn, batch: Tensor, *,
                    zero_grad: bool = True, swapped: bool = False) -> float:
    """One correct training step; or, on request, one with a known mistake, to name it."""
    out = model(batch)
    loss = loss_fn(batch, out) if swapped else loss_fn(out, batch)
    if zero_grad:
        optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _same(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.allclose(x, y, atol=1e-6) for x, y in zip(a.parameters(), b.parameters()))


# Three steps: the loss functions differ between calls, and binary cross-entropy is
# not symmetric, so an answer that ignores loss_fn, or swaps prediction and target,
# cannot match; the optimiser changes too, so a global one cannot stand in.
_STEPS = (
    (lambda ps: torch.optim.SGD(ps, lr=0.5), nn.MSELoss),
    (lambda ps: torch.optim.SGD(ps, lr=0.5), nn.BCELoss),
    (lambda ps: torch.optim.Adam(ps, lr=0.05), nn.BCELoss),
)


def _snapshot(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` that keeps its leftover gradients (deepcopy alone drops them)."""
    copied = copy.deepcopy(model)
    for a, b in zip(copied.parameters(), model.parameters()):
        a.grad = None if b.grad is None else b.grad.clone()
    return copied


def _replay(start: nn.Module, optimizer_state: dict, make_optimizer, make_loss, batch: Tensor, **mistake: bool) -> nn.Module:
    """A copy of ``start`` (with its leftover gradients and optimiser state) after one step,
    correct or with one known ``mistake``: the way to name a cause only when it fits."""
    model = _snapshot(start)
    optimizer = make_optimizer(model.parameters())
    optimizer.load_state_dict(optimizer_state)
    _reference_step(model, optimizer, make_loss(), batch, **mistake)
    return model


@exercise_check("the training step", label="ex-ch2-step")
def training_step(step: Callable[[nn.Module, torch.optim.Optimizer, Callable, Tensor], float], *,
                  device: torch.device | str | None = None) -> str:
    """``step(model, optimizer, loss_fn, batch)`` does one update and returns the batch loss as a float.

    Model and batches live on the notebook's device (``device`` for a test).
    """
    where = check_device(device)
    batches = torch.rand(len(_STEPS), 8, 6, generator=torch.Generator().manual_seed(1)).to(where)
    for i, ((make_optimizer, make_loss), batch) in enumerate(zip(_STEPS, batches)):
        theirs = _tiny_autoencoder().to(where)
        their_opt = make_optimizer(theirs.parameters())
        # one step has run before, so leftover gradients show whether zero_grad is called
        _reference_step(theirs, their_opt, make_loss(), batches[(i + 1) % len(batches)])
        start, optimizer_state = _snapshot(theirs), copy.deepcopy(their_opt.state_dict())
        before = [p.detach().clone() for p in theirs.parameters()]
        got = step(theirs, their_opt, make_loss(), batch.clone())
        name = f"step {i + 1} ({type(their_opt).__name__}, {make_loss().__class__.__name__})"
        if isinstance(got, Tensor):
            raise Wrong("return loss.item(), a float: a loss tensor keeps its graph alive.")
        if all(torch.equal(a, b) for a, b in zip(before, theirs.parameters())):
            raise Wrong(f"in {name} the parameters did not change: no update reached them. A step computes the "
                        "loss from model(batch), clears old gradients with optimizer.zero_grad(), then calls "
                        "loss.backward() and optimizer.step(), in that order.")
        with torch.no_grad():
            want = float(make_loss()(start(batch), batch))
        if _same(theirs, _replay(start, optimizer_state, make_optimizer, make_loss, batch)):
            if not isinstance(got, (float, int)) or not math.isclose(got, want, rel_tol=1e-5):
                raise Wrong(f"the update is right, but {name} returned {got!r}; expected the batch loss "
                            f"{want:.6f}, computed before the update, as a float.")
            continue
        if _same(theirs, _replay(start, optimizer_state, make_optimizer, make_loss, batch, zero_grad=False)):
            raise Wrong("gradients piled up across steps: call optimizer.zero_grad() before loss.backward().")
        if _same(theirs, _replay(start, optimizer_state, make_optimizer, make_loss, batch, swapped=True)):
            raise Wrong("prediction and target are swapped: loss_fn(model(batch), batch), the reconstruction "
                        "first. MSE does not care, but binary cross-entropy does.")
        if make_loss is not nn.MSELoss and _same(theirs, _replay(start, optimizer_state, make_optimizer, nn.MSELoss, batch)):
            raise Wrong(f"in {name} the step trained on the mean squared error, not on the loss_fn passed in: "
                        "call loss_fn(model(batch), batch).")
        raise Wrong(f"after {name} the parameters differ from one step of that optimiser on "
                    "loss_fn(model(batch), batch).")
    probe_model = _tiny_autoencoder()
    probe_optimizer, probe_batch = torch.optim.SGD(probe_model.parameters(), lr=0.1), batches[0].cpu()
    probe_devices(lambda: step(probe_model, probe_optimizer, nn.MSELoss(), probe_batch), "the training step")
    return ("three steps, with MSE then binary cross-entropy and SGD then Adam, gave exactly the expected "
            "losses and parameters.")


class _Recorder(nn.Module):
    """A 784-pixel model whose output depends on train/eval mode, logging each call's modes."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(784, 784)
        self.dropout = nn.Dropout(0.5)
        self.calls: list[tuple[bool, bool]] = []  # (training, grad enabled) per forward call

    def forward(self, x: Tensor) -> Tensor:
        self.calls.append((self.training, torch.is_grad_enabled()))
        return torch.sigmoid(self.dropout(self.linear(x)))


@exercise_check("the test-set MSE", label="ex-ch2-eval")
def test_mse(answer: Callable[[nn.Module, Tensor], float], *, device: torch.device | str | None = None) -> str:
    """``answer(model, x)`` returns the mean squared error per pixel, in eval mode, without grad,
    and leaves the model in training mode. 1,003 images: batches of any size must weigh right."""
    where = check_device(device)
    torch.manual_seed(0)
    model = _Recorder().to(where)
    x = torch.rand(1003, 784, generator=torch.Generator().manual_seed(2)).to(where)
    model.train()
    got = answer(model, x.clone())
    left_training = model.training
    if isinstance(got, Tensor):
        raise Wrong("return a float (.item()), not a tensor.")
    if not model.calls:
        raise Wrong("the model was never called on x.")
    if any(training for training, _ in model.calls):
        raise Wrong("the model ran in training mode (dropout active): call model.eval() before the forward pass.")
    if any(grad for _, grad in model.calls):
        raise Wrong("the forward pass built a graph: wrap the evaluation in torch.no_grad().")
    model.eval()
    want = evaluate(model, x, nn.MSELoss())
    with torch.no_grad():
        per_image = ((model(x) - x) ** 2).sum(dim=1).mean().item()
        batch_means = [((model(b) - b) ** 2).mean().item() for b in x.split(1000)]
    if not isinstance(got, (float, int)) or not math.isclose(float(got), want, rel_tol=1e-5):
        if isinstance(got, (float, int)) and math.isclose(float(got), per_image, rel_tol=1e-5):
            raise Wrong("that is the error summed over each image's 784 pixels: average over pixels too (MSE per pixel).")
        if isinstance(got, (float, int)) and math.isclose(float(got), sum(batch_means) / len(batch_means), rel_tol=1e-5):
            raise Wrong("batch means averaged with equal weight: the last batch holds 3 images, not 1000. Weight each by its size.")
        raise Wrong(f"got {got!r}, expected {want:.6f}: the mean squared error over every pixel of every image.")
    if not left_training:
        raise Wrong("the value is right, but the model was left in eval mode: call model.train() before training resumes.")
    probe_model, probe_x = _Recorder(), torch.rand(30, 784)
    probe_devices(lambda: answer(probe_model, probe_x), "measuring the error")
    return f"{want:.6f}, measured in eval mode under no_grad."


def _calls(model: nn.Module, z: Tensor) -> tuple[Tensor, list[nn.Module]]:
    """``model(z)`` and every leaf module it called, in call order (a reused module each time)."""
    called: list[nn.Module] = []
    hooks = [m.register_forward_hook(lambda module, args, out: called.append(module))
             for m in model.modules() if not list(m.children())]
    try:
        out = model(z)
    finally:
        for hook in hooks:
            hook.remove()
    return out, called


def _mirror(linears: Sequence[nn.Linear], z: Tensor, last: Callable[[Tensor], Tensor] = torch.sigmoid) -> Tensor:
    """``linears`` applied in order with a ReLU between them and ``last`` after the final one:
    the decoder the exercise asks for, or, with another ``last``, a known mistake."""
    h = z
    for i, layer in enumerate(linears):
        h = layer(h)
        h = last(h) if i == len(linears) - 1 else torch.relu(h)
    return h


@exercise_check("the decoder built from the encoder's sizes", label="ex-ch2-decoder")
def make_decoder(answer: Callable[[Sequence[int]], nn.Module], *, device: torch.device | str | None = None) -> str:
    """``answer(sizes)`` mirrors an encoder's layer sizes, ReLU between and Sigmoid out.

    Judged by what the decoder computes, not how it is written: its linear layers
    in the order its forward pass calls them, then its output compared with
    Linear-ReLU-...-Linear-Sigmoid built from those very layers.
    """
    where = check_device(device)
    for sizes in ([784, 128, 64, 36, 18, 9], [10, 7, 3]):
        decoder = answer(list(sizes))  # a copy: an answer that reverses it in place leaves `sizes` intact
        if not isinstance(decoder, nn.Module):
            raise Wrong(f"return an nn.Module (an nn.Sequential, say); got a {type(decoder).__name__}.")
        decoder = decoder.to(where)
        z = torch.randn(5, sizes[-1], generator=torch.Generator().manual_seed(0)).to(where)
        try:
            out, called = _calls(decoder, z)
        except Exception as error:  # the decoder is the answer: its failure is the answer's
            raise Wrong(f"for sizes {sizes}, decoding 5 codes of {sizes[-1]} numbers raised "
                        f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}") from None
        linears = [m for m in called if isinstance(m, nn.Linear)]
        shapes = [(m.in_features, m.out_features) for m in linears]
        mirror = list(zip(sizes[::-1][:-1], sizes[::-1][1:]))
        if shapes != mirror:
            raise Wrong(f"for sizes {sizes} the linear layers map {shapes}; expected {mirror}.")
        if not isinstance(out, Tensor) or out.shape != (5, sizes[0]):
            got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
            raise Wrong(f"decoding 5 codes gave {got}, expected shape (5, {sizes[0]}).")
        with torch.no_grad():
            want = _mirror(linears, z)
            if not torch.allclose(out, want, atol=1e-6):
                if torch.allclose(out, _mirror(linears, z, last=nn.Identity()), atol=1e-6) or float(out.min()) < 0 or float(out.max()) > 1:
                    raise Wrong("the output is not squashed into [0, 1]: end with nn.Sigmoid(), as pixels lie in [0, 1].")
                if torch.allclose(out, _mirror(linears, z, last=nn.ReLU()), atol=1e-6):
                    raise Wrong("the last layer ends in a ReLU: end with nn.Sigmoid() instead.")
                if torch.allclose(out, _mirror(linears, torch.relu(z)), atol=1e-6):
                    raise Wrong("the code goes through a ReLU before the first Linear: the decoder starts with "
                                "nn.Linear, and negative code values must reach it unchanged.")
                kinds = [type(m).__name__ for m in called]
                raise Wrong(f"its output differs from Linear, ReLU, ..., Linear, Sigmoid built from its own linear "
                            f"layers; its forward pass called {kinds}. A ReLU goes after every linear layer but "
                            "the last, and nothing before the first: the code enters a Linear.")
        params = list(decoder.parameters())
        if not params or not all(p.requires_grad for p in params):
            raise Wrong("some parameters cannot be trained (requires_grad is False): leave them as nn.Linear makes them.")
        if any(float(layer.weight.detach().abs().max()) == 0 for layer in linears):
            raise Wrong("a layer's weights start at zero: every unit then computes the same thing and the "
                        "gradients cannot tell them apart. Keep nn.Linear's own initialisation.")
        probe_decoder, probe_z = decoder.cpu(), z.cpu()  # built outside the probe, as the notebook moves it
        probe_devices(lambda: probe_decoder(probe_z), "the decoder's forward pass")
    return "9-18-36-64-128-784 with ReLU between and Sigmoid out, and it generalises to other sizes."


# -- diagnosing: the digits reconstructed worst --------------------------------------

def _per_image_mse(model: nn.Module, x: Tensor) -> Tensor:
    model.eval()
    with torch.no_grad():
        return ((model(x) - x) ** 2).mean(dim=1)


@exercise_check("the test digits reconstructed worst", label="ex-ch2-worst")
def worst_digits(answer: Callable[[nn.Module, Tensor, int], Sequence[int]], *,
                 device: torch.device | str | None = None) -> str:
    """``answer(model, x, n)``: indices of the ``n`` images of ``x`` with the largest mean squared
    reconstruction error, worst first, measured in eval mode without a graph.

    1,003 images and a model whose output depends on its mode; ``n`` of 1, 5 and 12,
    so an answer that ranks only one batch, or the wrong way round, shows.
    """
    where = check_device(device)
    x = torch.rand(1003, 784, generator=torch.Generator().manual_seed(4))
    x[-1] = 0.0  # the last image, alone in a partial batch, is the worst: an answer that skips it shows
    x = x.to(where)
    for n in (5, 1, 12):
        torch.manual_seed(0)
        model = _Recorder().to(where)
        model.train()
        got_raw = answer(model, x.clone(), n)
        if any(training for training, _ in model.calls):
            raise Wrong("the model ran in training mode (dropout active), so the ranking is noise: "
                        "call model.eval() before the forward pass.")
        if any(grad for _, grad in model.calls):
            raise Wrong("the forward pass built a graph: measure under torch.no_grad(), as test_mse does.")
        errors = _per_image_mse(model, x)
        got = as_indices(got_raw)
        if got is None:
            what = (f"a {got_raw.dtype} tensor of shape {tuple(got_raw.shape)}" if isinstance(got_raw, Tensor)
                    else f"a {type(got_raw).__name__}")
            raise Wrong(f"return the images' indices (a tensor of ints or a list), not {what}.")
        want = errors.argsort(descending=True)[:n].tolist()
        if got == want:
            continue
        said = f"for n={n} the worst images are {want} (worst first); your answer gave {got}."
        if len(got) != n:
            raise Wrong(f"{said} Return exactly n indices.")
        if got == errors.argsort()[:n].tolist():
            raise Wrong(f"{said} Those are the best-reconstructed images: sort the errors in descending order.")
        if sorted(got) == sorted(want):
            raise Wrong(f"{said} The right images, in another order: worst first.")
        ranking = errors.argsort(descending=True).tolist()
        if got == [i for i in ranking if i != len(x) - 1][:n]:
            raise Wrong(f"{said} The last image, {len(x) - 1}, alone in the last (partial) batch, was never "
                        "measured: a loop over len(x) // batch_size batches skips it.")
        with torch.no_grad():
            diff = model(x) - x
        per_batch = [int(i) for b in diff.split(100) for i in [(b**2).mean(dim=1).argmax()]]
        if got == per_batch[:n] or (n == 1 and got[0] < 100 and got[0] != want[0]):
            raise Wrong(f"{said} The indices look relative to a batch: add the batch's offset, or rank "
                        "all images at once.")
        for name, score in (("the largest single-pixel error", diff.abs().amax(dim=1)),
                            ("the mean absolute error", diff.abs().mean(dim=1)),
                            ("the mean signed error", diff.mean(dim=1))):
            if got == score.argsort(descending=True)[:n].tolist():
                raise Wrong(f"{said} That ranks by {name}: rank by the mean squared error of each image.")
        raise Wrong(said)
    probe_model, probe_x = _Recorder(), torch.rand(30, 784)
    probe_devices(lambda: answer(probe_model, probe_x, 3), "ranking the digits")
    return "the n worst images by mean squared error, worst first, for n = 1, 5 and 12, measured in eval mode."


# -- predicting: which loop keeps a graph alive --------------------------------------

LOOPS = {
    "A": "training: loss.backward(); optimizer.step(); history.append(loss.item())",
    "B": "testing, no torch.no_grad(): test_losses.append(loss_fn(model(x), x))",
    "C": "training: loss.backward(); optimizer.step(); history.append(loss)",
    "D": "testing under torch.no_grad(): test_losses.append(loss_fn(model(x), x))",
}
_WHY = {
    "A": "A keeps Python floats: .item() lets the graph go.",
    "B": "B keeps a loss with a grad_fn that nothing has run backward through: each kept loss holds "
         "its whole graph, with every activation the backward pass would need.",
    "C": "C keeps a loss with a grad_fn: the graph's nodes stay alive, though backward() has already "
         "freed the activations they held.",
    "D": "D computes under torch.no_grad(): no graph is recorded at all, so the kept loss has no grad_fn.",
}


def _letters(got: object) -> set[str] | None:
    if isinstance(got, str):
        got = [c for c in got if not c.isspace() and c not in ",;"]
    try:
        return {str(v).strip().upper() for v in got}  # type: ignore[union-attr]
    except TypeError:
        return None


def _kept_graphs() -> tuple[set[str], set[str]]:
    """Run the four loops on a small model: which kept values hold a graph, and which hold activations."""
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 4))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.rand(5, 4)
    kept: dict[str, object] = {}
    loss = nn.functional.mse_loss(model(x), x)
    loss.backward()
    optimizer.step()
    kept["A"], kept["C"] = loss.item(), loss
    kept["B"] = nn.functional.mse_loss(model(x), x)
    with torch.no_grad():
        kept["D"] = nn.functional.mse_loss(model(x), x)
    graphs = {k for k, v in kept.items() if isinstance(v, Tensor) and v.grad_fn is not None}
    activations = set()
    for k in graphs:
        try:  # a second backward works only while the graph still holds its saved tensors
            torch.autograd.grad(kept[k], list(model.parameters()))
            activations.add(k)
        except RuntimeError:
            pass
    return graphs, activations


@exercise_check("which loops keep a graph alive", label="ex-ch2-leak")
def kept_graphs(keeps_graph: object, keeps_activations: object) -> str:
    """``keeps_graph``: the loops of :data:`LOOPS` whose kept values hold a graph;
    ``keeps_activations``: those whose kept graphs still hold the activations.
    Any collection of the letters, or a string of them, in any case."""
    graphs, activations = _kept_graphs()
    for given, want, what in ((keeps_graph, graphs, "keeps_graph"), (keeps_activations, activations, "keeps_activations")):
        got = _letters(given)
        if got is None or not got <= set(LOOPS):
            raise Wrong(f"{what} should hold letters among {sorted(LOOPS)}, e.g. {{'A'}}; got {given!r}.")
        wrong = sorted(got ^ want)
        if wrong:
            extra = [_WHY[k] for k in wrong]
            raise Wrong(f"{what} = {sorted(got)} is not right about {', '.join(wrong)}. " + " ".join(extra))
    return (f"graphs in {sorted(graphs)}, activations only in {sorted(activations)}. The measurement below "
            "shows what each costs.")


# -- where the student stands --------------------------------------------------------------

from aecourse.checks.core import Note, show_hint as hint  # noqa: E402  check.hint("ex-ch2-...")
from aecourse.checks.core import progress as _progress  # noqa: E402


def progress() -> Note:
    """Which of this chapter's exercises pass in this kernel, from their checks' last verdicts:
    the chapter's last cell shows it."""
    return _progress(__name__)
