"""Checks for chapter 2: the deep MLP autoencoder.

The checks are defined in the order of the chapter's exercises: the step variants
(predict), the kept losses (predict), the test error (diagnose and repair), the worst
digits and the decoder.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from aecourse.checks.core import (
    Wrong,
    as_indices,
    as_number,
    check_device,
    exercise_check,
    left_as_found,
    probe_devices,
)
from aecourse.train import evaluate, evaluating


def _letters(got: object) -> set[str] | None:
    """The letters of an answer that names some variants or loops: any collection of them,
    or a string of them ("BD", "b, d"), in any case; None if it is neither."""
    if isinstance(got, str):
        got = [c for c in got if not c.isspace() and c not in ",;"]
    try:
        return {str(v).strip().upper() for v in got}  # type: ignore[union-attr]
    except TypeError:
        return None


# -- predicting: seven variants of the training step -------------------------------------

def _update(optimizer: torch.optim.Optimizer, loss: Tensor) -> None:
    """The last three lines of the chapter's training_step: clear, backpropagate, step."""
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def _step(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn, batch: Tensor) -> float:
    """The chapter's training_step, as the notebook shows it."""
    reconstructed = model(batch)
    loss = loss_fn(reconstructed, batch)
    _update(optimizer, loss)
    return loss.item()


# Each variant changes one thing in _step; B and F change its last three lines, so they write them out.

def _variant_a(model, optimizer, loss_fn, batch):  # model.eval() first
    model.eval()
    return _step(model, optimizer, loss_fn, batch)


def _variant_b(model, optimizer, loss_fn, batch):  # step moved up, before backward
    loss = loss_fn(model(batch), batch)
    optimizer.zero_grad()
    optimizer.step()
    loss.backward()
    return loss.item()


def _variant_c(model, optimizer, loss_fn, batch):  # a fresh Adam every step
    fresh = torch.optim.Adam(model.parameters(), lr=optimizer.param_groups[0]["lr"])
    return _step(model, fresh, loss_fn, batch)


def _variant_d(model, optimizer, loss_fn, batch):  # nn.MSELoss's arguments swapped
    loss = loss_fn(batch, model(batch))
    _update(optimizer, loss)
    return loss.item()


def _variant_e(model, optimizer, loss_fn, batch):  # the loss tensor returned
    loss = loss_fn(model(batch), batch)
    _update(optimizer, loss)
    return loss


def _variant_f(model, optimizer, loss_fn, batch):  # the model clears the gradients
    loss = loss_fn(model(batch), batch)
    model.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _variant_g(model, optimizer, loss_fn, batch):  # the forward pass under no_grad
    with torch.no_grad():
        reconstructed = model(batch)
    loss = loss_fn(reconstructed, batch)
    _update(optimizer, loss)
    return loss.item()


#: The variants of the exercise, by letter, each with the one change the chapter's table names.
STEP_VARIANTS: dict[str, tuple[str, Callable]] = {
    "A": "model.eval() added as the step's first line",
    "B": "optimizer.step() moved up, between optimizer.zero_grad() and loss.backward()",
    "C": "a fresh Adam, with the same learning rate, made at the start of every step in place of the one passed in",
    "D": "loss_fn(batch, reconstructed): nn.MSELoss's two arguments swapped",
    "E": "return loss in place of return loss.item()",
    "F": "model.zero_grad() in place of optimizer.zero_grad()",
    "G": "reconstructed = model(batch) computed under torch.no_grad()",
}
STEP_VARIANTS = {k: (text, f) for (k, text), f in zip(STEP_VARIANTS.items(), (
    _variant_a, _variant_b, _variant_c, _variant_d, _variant_e, _variant_f, _variant_g))}

#: The four outcomes a prediction chooses from, and the words a student may use for each.
OUTCOMES = {
    "same": "its parameters equal training_step's after every step",
    "stuck": "its parameters never change",
    "different": "its parameters change, but not as training_step's do",
    "error": "the step raises an error",
}
_SPELLINGS = {
    "same": "same", "identical": "same", "equal": "same",
    "stuck": "stuck", "frozen": "stuck", "unchanged": "stuck", "never": "stuck", "flat": "stuck",
    "different": "different", "other": "different", "differs": "different",
    "error": "error", "raises": "error", "exception": "error", "crash": "error", "crashes": "error",
}


def _step_outcomes(steps: int = 5) -> dict[str, str]:
    """Run every variant and training_step from one start, Adam and nn.MSELoss on one batch:
    for each letter, which of :data:`OUTCOMES` it has."""
    batch = torch.rand(16, 6, generator=torch.Generator().manual_seed(3))

    def trajectory(step: Callable) -> list[list[Tensor]]:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 6), nn.Sigmoid())
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        states = [[p.detach().clone() for p in model.parameters()]]
        for _ in range(steps):
            step(model, optimizer, nn.MSELoss(), batch)
            states.append([p.detach().clone() for p in model.parameters()])
        return states

    def equal(a: list[Tensor], b: list[Tensor]) -> bool:
        return all(torch.equal(x, y) for x, y in zip(a, b))

    reference = trajectory(_step)
    outcomes = {}
    for letter, (_, variant) in STEP_VARIANTS.items():
        try:
            states = trajectory(variant)
        except RuntimeError:
            outcomes[letter] = "error"
            continue
        if all(equal(state, states[0]) for state in states):
            outcomes[letter] = "stuck"
        elif all(equal(a, b) for a, b in zip(states, reference)):
            outcomes[letter] = "same"
        else:
            outcomes[letter] = "different"
    return outcomes


def _predictions(got: object) -> dict[str, str]:
    """A student's ``outcome`` dict read in any case, each value one of :data:`OUTCOMES`."""
    example = '{"A": "same", "B": "stuck", ...}'
    if not isinstance(got, dict):
        raise Wrong(f"outcome should be a dict from each letter to its outcome, e.g. {example}; "
                    f"got a {type(got).__name__}.")
    read: dict[str, str] = {}
    for key, value in got.items():
        letter = str(key).strip().upper()
        if letter not in STEP_VARIANTS:
            raise Wrong(f"outcome has a key {key!r}; the variants are {', '.join(STEP_VARIANTS)}.")
        word = _SPELLINGS.get(str(value).strip().strip(".").lower()) if isinstance(value, str) else None
        if word is None:
            raise Wrong(f"outcome[{key!r}] is {value!r}; each outcome is one of "
                        f"{', '.join(repr(o) for o in OUTCOMES)}.")
        read[letter] = word
    missing = [k for k in STEP_VARIANTS if k not in read]
    if missing:
        raise Wrong(f"outcome says nothing about {', '.join(missing)}: predict all seven variants.")
    return read


@exercise_check(
    "seven variants of the training step", label="ex-ch2-step",
    hint="Follow one parameter's .grad and the optimiser's state through a step. loss.backward() adds "
         "this batch's gradient to .grad, through every operation autograd recorded since the parameters; "
         "zero_grad() empties .grad (sets it to None); optimizer.step() moves each parameter by what its "
         ".grad holds at that moment, and skips a parameter whose .grad is None. Adam's step also uses "
         "running averages it keeps from step to step. Ask what each change does to those, and which "
         "layers of this model behave differently in eval mode.",
)
def step_variants(outcome: object) -> str:
    """``outcome``: for each letter of :data:`STEP_VARIANTS`, one of :data:`OUTCOMES` (a dict,
    letters and words in any case).

    Judged against a run: every variant and training_step train one small model
    (Linear, ReLU, Linear, Sigmoid) from one start, with Adam and nn.MSELoss on one batch,
    and their parameters are compared after every step.
    """
    predicted = _predictions(outcome)
    outcomes = _step_outcomes()
    wrong = [k for k in STEP_VARIANTS if predicted[k] != outcomes[k]]
    if wrong:
        seen = "; ".join(f"{k} ({STEP_VARIANTS[k][0]}): you predicted {predicted[k]!r}, but in the run "
                         f"{OUTCOMES[outcomes[k]]}" for k in wrong)
        count = "one prediction is" if len(wrong) == 1 else f"{len(wrong)} predictions are"
        raise Wrong(f"{count} not what the check saw when it ran every variant from one start. {seen}.")
    return ("every prediction matches the run: "
            + ", ".join(f"{k} {v}" for k, v in outcomes.items())
            + ". The next cell runs them on the chapter's model.")


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


@exercise_check(
    "which loops keep a graph alive", label="ex-ch2-leak",
    hint="A kept tensor keeps whatever it references. A loss with a grad_fn references its graph; a "
         "graph's nodes hold the tensors saved for backward until backward() runs, which frees them "
         "(unless retain_graph=True). Under torch.no_grad() no graph is recorded; .item() is a Python float.",
)
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


# -- diagnosing and repairing: the test-set error -----------------------------------------

class _Recorder(nn.Module):
    """A 784-pixel model with dropout, so that its output depends on train/eval mode; it logs,
    for each call, whether the dropout was active and whether its output carries a graph."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(784, 784)
        self.dropout = nn.Dropout(0.5)
        self.calls: list[tuple[bool, bool]] = []  # (dropout active, graph recorded) per forward call

    def forward(self, x: Tensor) -> Tensor:
        out = torch.sigmoid(self.dropout(self.linear(x)))
        self.calls.append((self.dropout.training, out.requires_grad))
        return out


def _called(answer: Callable, model: nn.Module, x: Tensor, *rest: object) -> tuple[object, Wrong | None]:
    """``answer(model, x, *rest)`` inside :func:`left_as_found`: what it returned, and the change it
    made to the model (its mode or weights), kept to be reported after what it computed. A change
    to the images ``x`` is reported at once: what the answer computed from them is not comparable."""
    got: object = None
    model_changed: Wrong | None = None
    with left_as_found(x=x):
        try:
            with left_as_found(model=model):
                got = answer(model, x, *rest)
        except Wrong as side_effect:
            model_changed = side_effect
    return got, model_changed


def _measured_like_a_test(model: _Recorder, what: str) -> None:
    """Reject an answer whose forward passes ran with dropout on, or recorded a graph."""
    if not model.calls:
        raise Wrong(f"the model was never called on x: {what} must come from model(x).")
    if any(active for active, _ in model.calls):
        raise Wrong(f"the model ran with its dropout active (in training mode), so {what} changes from one "
                    "call to the next on the same images.")
    if any(graph for _, graph in model.calls):
        raise Wrong("the forward pass recorded a graph: autograd saved every layer's activations for a "
                    "backward pass that measuring never runs, and they fill memory until your function returns.")


@exercise_check(
    "the test-set MSE", label="ex-ch2-eval",
    hint="model.eval() switches dropout (and batch norm) to their evaluation behaviour; torch.no_grad() "
         "(or torch.inference_mode()) records no graph; .item() turns a one-element tensor into a float. "
         "model.training says which mode the model was in, and model.train(flag) sets it; "
         "aecourse.train.evaluating(model) does all of it in one with block.",
)
def test_mse(answer: Callable[[nn.Module, Tensor], float], *, device: torch.device | str | None = None) -> str:
    """``answer(model, x)``: the mean squared error per pixel of ``model`` on ``x``, a number
    (float, NumPy scalar; not a tensor), the same on every call (dropout off), with no graph
    recorded, the model left in the mode it was found in, training and evaluation both.

    1,003 images, the last three blank (the worst reconstructed): an answer that goes
    through them in batches must weigh the partial batch by its size.
    """
    where = check_device(device)
    x = torch.rand(1003, 784, generator=torch.Generator().manual_seed(2))
    x[-3:] = 0.0
    x = x.to(where)
    for training in (True, False):
        found = "training" if training else "evaluation"
        torch.manual_seed(0)
        model = _Recorder().to(where)
        model.train(training)
        got, side_effect = _called(answer, model, x)
        if isinstance(got, Tensor):
            graph = " that carries its graph (a grad_fn), and with it every activation," if got.grad_fn is not None else ""
            raise Wrong(f"your answer returns a tensor{graph} ({got!r}), where the exercise asks for a Python float.")
        _measured_like_a_test(model, "the error")
        value = as_number(got)
        want = evaluate(model, x, nn.MSELoss())  # eval mode, no graph; the model's mode put back
        if value is None:
            raise Wrong(f"your answer returns a {type(got).__name__} ({got!r}), not a number.")
        if not math.isclose(value, want, rel_tol=1e-4):
            with evaluating(model):
                per_image = ((model(x) - x) ** 2).sum(dim=1).mean().item()
                batch_means = [((model(b) - b) ** 2).mean().item() for b in x.split(1000)]
            if math.isclose(value, per_image, rel_tol=1e-4):
                raise Wrong(f"you returned {value:.6f}, 784 times the error per pixel ({want:.6f}): the error summed "
                            "over each image's pixels, where the exercise asks for the mean over pixels too.")
            if math.isclose(value, sum(batch_means) / len(batch_means), rel_tol=1e-4):
                raise Wrong(f"you returned {value:.6f}, expected {want:.6f}: the mean of the batches' errors gives "
                            "the last batch, 3 images, as much weight as a batch of 1,000.")
            raise Wrong(f"you returned {value:.6f}, expected {want:.6f}: the mean squared error over every pixel "
                        "of every image.")
        if side_effect is not None:
            raise Wrong(f"called on a model in {found} mode, {side_effect}")
    probe_model, probe_x = _Recorder(), torch.rand(30, 784)
    probe_devices(lambda: answer(probe_model, probe_x), "measuring the error")
    return (f"on the check's own dropout model and 1,003 random images your function gives {want:.6f}, "
            "the same at every call, without a graph, the model's mode left as found.")


# -- the digits reconstructed worst ------------------------------------------------------

def _per_image_mse(model: nn.Module, x: Tensor) -> Tensor:
    """Each image's mean squared error, in eval mode without a graph; the model's mode put back."""
    with evaluating(model):
        return ((model(x) - x) ** 2).mean(dim=1)


@exercise_check(
    "the test digits reconstructed worst", label="ex-ch2-worst",
    hint="One error per image: square the differences and average over dim=1, under the same conditions "
         "as test_mse (eval mode, no graph, the mode put back). torch.topk or argsort(descending=True) "
         "then gives the positions of the largest.",
)
def worst_digits(answer: Callable[[nn.Module, Tensor, int], Sequence[int]], *,
                 device: torch.device | str | None = None) -> str:
    """``answer(model, x, n)``: indices of the ``n`` images of ``x`` with the largest mean squared
    reconstruction error, worst first, measured as test_mse measures (dropout off, no graph,
    the model's mode left as found): a tensor of ints, a list, NumPy ints or topk's result.

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
        got_raw, side_effect = _called(answer, model, x, n)
        _measured_like_a_test(model, "the ranking")
        errors = _per_image_mse(model, x)
        got = as_indices(got_raw)
        if got is None:
            what = (f"a {got_raw.dtype} tensor of shape {tuple(got_raw.shape)}" if isinstance(got_raw, Tensor)
                    else f"a {type(got_raw).__name__}")
            raise Wrong(f"your answer returns {what}, not the images' indices (a tensor of ints or a list).")
        want = errors.argsort(descending=True)[:n].tolist()
        if got != want:
            _name_the_ranking(model, x, n, got, want, errors)
        if side_effect is not None:
            raise side_effect
    probe_model, probe_x = _Recorder(), torch.rand(30, 784)
    probe_devices(lambda: answer(probe_model, probe_x, 3), "ranking the digits")
    return "the n worst images by mean squared error, worst first, for n = 1, 5 and 12, measured in eval mode."


def _name_the_ranking(model: _Recorder, x: Tensor, n: int, got: list[int], want: list[int], errors: Tensor) -> None:
    """Reject a ranking that is not the n worst images, naming what it is where the check can tell."""
    said = f"for n={n} the worst images are {want} (worst first); your answer gave {got}."
    if len(got) != n:
        raise Wrong(f"{said} That is {len(got)} indices, not n.")
    if got == errors.argsort()[:n].tolist():
        raise Wrong(f"{said} Those are the best-reconstructed images.")
    if sorted(got) == sorted(want):
        raise Wrong(f"{said} The right images, in another order: the exercise asks for the worst first.")
    ranking = errors.argsort(descending=True).tolist()
    if got == [i for i in ranking if i != len(x) - 1][:n]:
        raise Wrong(f"{said} The last image, {len(x) - 1}, alone in the last (partial) batch, was never "
                    "measured.")
    with evaluating(model):
        diff = model(x) - x
    per_batch = [int(i) for b in diff.split(100) for i in [(b**2).mean(dim=1).argmax()]]
    if got == per_batch[:n] or (n == 1 and got[0] < 100 and got[0] != want[0]):
        raise Wrong(f"{said} The indices look relative to a batch, each counted from its batch's first image.")
    for name, score in (("the largest single-pixel error", diff.abs().amax(dim=1)),
                        ("the mean absolute error", diff.abs().mean(dim=1)),
                        ("the mean signed error", diff.mean(dim=1))):
        if got == score.argsort(descending=True)[:n].tolist():
            raise Wrong(f"{said} That ranks by {name}, where the exercise asks for the mean squared error.")
    raise Wrong(said)


# -- designing: the decoder built from the encoder's sizes -------------------------------

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


@exercise_check(
    "the decoder built from the encoder's sizes", label="ex-ch2-decoder",
    hint="Reverse a copy of the sizes (sizes[::-1]) and pair neighbours, (9, 18), (18, 36), ...: one "
         "nn.Linear per pair, an nn.ReLU() after each but the last, an nn.Sigmoid() after the last; "
         "nn.Sequential(*layers) holds them in order.",
)
def make_decoder(answer: Callable[[Sequence[int]], nn.Module], *, device: torch.device | str | None = None) -> str:
    """``answer(sizes)`` mirrors an encoder's layer sizes, ReLU between and Sigmoid out,
    and leaves the list it is given as it was.

    Judged by what the decoder computes, not how it is written: its linear layers
    in the order its forward pass calls them, then its output compared with
    Linear-ReLU-...-Linear-Sigmoid built from those very layers.
    """
    where = check_device(device)
    for sizes in ([784, 128, 64, 36, 18, 9], [10, 7, 3]):
        given = list(sizes)
        decoder, side_effect = None, None
        try:
            with left_as_found(sizes=given):
                decoder = answer(given)
        except Wrong as error:  # judged on what it built first; the side effect is reported after
            side_effect = error
        if not isinstance(decoder, nn.Module):
            raise Wrong(f"your answer returns a {type(decoder).__name__}, not an nn.Module (a layer a model can hold).")
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
                if torch.allclose(out, _mirror(linears, z, last=nn.ReLU()), atol=1e-6):
                    raise Wrong("the decoder ends in a ReLU, where the exercise asks for a Sigmoid: its pixels "
                                "are not held to [0, 1].")
                if torch.allclose(out, _mirror(linears, z, last=nn.Identity()), atol=1e-6) or float(out.min()) < 0 or float(out.max()) > 1:
                    raise Wrong(f"the decoded pixels are not squashed into [0, 1] (they range from {float(out.min()):.2f} "
                                f"to {float(out.max()):.2f}), where image pixels lie.")
                if torch.allclose(out, _mirror(linears, torch.relu(z)), atol=1e-6):
                    raise Wrong("the code goes through a ReLU before the first Linear, so every negative code "
                                "value is lost before decoding starts.")
                kinds = [type(m).__name__ for m in called]
                raise Wrong(f"its output differs from Linear, ReLU, ..., Linear, Sigmoid built from its own linear "
                            f"layers; its forward pass called {kinds}.")
        params = list(decoder.parameters())
        if not params or not all(p.requires_grad for p in params):
            raise Wrong("some parameters cannot be trained (requires_grad is False): leave them as nn.Linear makes them.")
        if any(float(layer.weight.detach().abs().max()) == 0 for layer in linears):
            raise Wrong("a layer's weights start at zero: every unit then computes the same thing and the "
                        "gradients cannot tell them apart. Keep nn.Linear's own initialisation.")
        if side_effect is not None:
            raise side_effect
        probe_decoder, probe_z = decoder.cpu(), z.cpu()  # built outside the probe, as the notebook moves it
        probe_devices(lambda: probe_decoder(probe_z), "the decoder's forward pass")
    return "9-18-36-64-128-784 with ReLU between and Sigmoid out, and it generalises to other sizes."


# -- where the student stands --------------------------------------------------------------

from aecourse.checks.core import Note, show_hint as hint  # noqa: E402  check.hint("ex-ch2-...")
from aecourse.checks.core import progress as _progress  # noqa: E402


def progress() -> Note:
    """Which of this chapter's exercises pass in this kernel, from their checks' last verdicts:
    the chapter's last cell shows it."""
    return _progress(__name__)
