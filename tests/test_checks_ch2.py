"""Chapter 2 checks: each passes a correct answer and rejects typical wrong ones with a hint."""

import pytest
import torch
from torch import nn

from aecourse.checks import ch2
from verdicts import assert_accepted, assert_rejected


# -- the training step ------------------------------------------------------------

def good_step(model, optimizer, loss_fn, batch):
    loss = loss_fn(model(batch), batch)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def no_zero_grad_step(model, optimizer, loss_fn, batch):
    loss = loss_fn(model(batch), batch)
    loss.backward()
    optimizer.step()
    return loss.item()


def tensor_step(model, optimizer, loss_fn, batch):
    loss = loss_fn(model(batch), batch)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def no_update_step(model, optimizer, loss_fn, batch):
    loss = loss_fn(model(batch), batch)
    optimizer.zero_grad()
    loss.backward()
    return loss.item()


def test_training_step_accepts_the_standard_step():
    assert_accepted(ch2.training_step(good_step))


def test_training_step_catches_missing_zero_grad():
    assert_rejected(ch2.training_step(no_zero_grad_step), "zero_grad")


def test_training_step_rejects_a_loss_tensor():
    assert_rejected(ch2.training_step(tensor_step), ".item()")


def test_training_step_notices_no_update():
    assert_rejected(ch2.training_step(no_update_step), "optimizer.step()")


# -- the test-set MSE ---------------------------------------------------------------

def good_test_mse(model, x):
    model.eval()
    with torch.no_grad():
        value = ((model(x) - x) ** 2).mean().item()
    model.train()
    return value


def train_mode_mse(model, x):
    with torch.no_grad():
        return ((model(x) - x) ** 2).mean().item()


def grad_mse(model, x):
    model.eval()
    value = ((model(x) - x) ** 2).mean().item()
    model.train()
    return value


def test_test_mse_accepts_eval_and_no_grad():
    assert_accepted(ch2.test_mse(good_test_mse))


def test_test_mse_rejects_train_mode():
    assert_rejected(ch2.test_mse(train_mode_mse), "model.eval()")


def test_test_mse_rejects_building_a_graph():
    assert_rejected(ch2.test_mse(grad_mse), "no_grad")


def test_test_mse_stub_is_not_done():
    assert ch2.test_mse(...).message.startswith("Not done yet")


# -- the decoder from the encoder's sizes -------------------------------------------

def good_decoder(sizes):
    sizes = list(sizes)[::-1]
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        layers.append(nn.ReLU() if i < len(sizes) - 2 else nn.Sigmoid())
    return nn.Sequential(*layers)


def relu_out_decoder(sizes):
    sizes = list(sizes)[::-1]
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers)


def hard_coded_decoder(sizes):
    return good_decoder([784, 128, 64, 36, 18, 9])


def test_make_decoder_accepts_the_mirror():
    assert_accepted(ch2.make_decoder(good_decoder))


def test_make_decoder_wants_a_sigmoid_output():
    assert_rejected(ch2.make_decoder(relu_out_decoder), "Sigmoid")


def test_make_decoder_rejects_hard_coded_sizes():
    assert_rejected(ch2.make_decoder(hard_coded_decoder), "[10, 7, 3]")


# -- answers a student could write: correct ones written differently, and wrong ones --

def test_training_step_accepts_correct_variants():
    def zero_first(model, optimizer, loss_fn, batch):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(batch), batch)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    def grads_by_hand(model, optimizer, loss_fn, batch):
        for parameter in model.parameters():
            parameter.grad = None
        loss = loss_fn(model(batch), batch)
        loss.backward()
        optimizer.step()
        return loss.item()

    for step in (zero_first, grads_by_hand):
        assert_accepted(ch2.training_step(step))


def test_training_step_names_only_causes_it_tested():
    def swapped(model, optimizer, loss_fn, batch):
        loss = loss_fn(batch, model(batch))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    def ignores_loss_fn(model, optimizer, loss_fn, batch):
        loss = nn.functional.mse_loss(model(batch), batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    def zero_grad_between(model, optimizer, loss_fn, batch):
        loss = loss_fn(model(batch), batch)
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
        return loss.item()

    def loss_after_the_update(model, optimizer, loss_fn, batch):
        good_step(model, optimizer, loss_fn, batch)
        return loss_fn(model(batch), batch).item()

    cases = {
        "swapped": swapped,
        "not on the loss_fn passed in": ignores_loss_fn,
        "did not change": zero_grad_between,
        "computed before the update": loss_after_the_update,
        "piled up": no_zero_grad_step,
    }
    for expected, step in cases.items():
        assert_rejected(ch2.training_step(step), expected)
    assert "zero_grad" not in ch2.training_step(swapped).message, "no cause named that was not tested"


def correct_test_mse(model, x):
    model.eval()
    with torch.no_grad():
        error = ((model(x) - x) ** 2).mean().item()
    model.train()
    return error


def test_test_mse_accepts_batched_and_inference_mode_variants():
    def batched(model, x):
        model.eval()
        total = 0.0
        with torch.inference_mode():
            for batch in x.split(256):
                total += nn.functional.mse_loss(model(batch), batch, reduction="sum").item()
        model.train()
        return total / x.numel()

    for answer in (correct_test_mse, batched):
        assert_accepted(ch2.test_mse(answer))


def test_test_mse_rejects_each_mistake_with_its_cause():
    def no_eval(model, x):
        with torch.no_grad():
            return ((model(x) - x) ** 2).mean().item()

    def no_no_grad(model, x):
        model.eval()
        error = ((model(x) - x) ** 2).mean().item()
        model.train()
        return error

    def per_image(model, x):
        model.eval()
        with torch.no_grad():
            error = ((model(x) - x) ** 2).sum(dim=1).mean().item()
        model.train()
        return error

    def equal_weights(model, x):
        model.eval()
        with torch.no_grad():
            means = [nn.functional.mse_loss(model(b), b).item() for b in x.split(1000)]
        model.train()
        return sum(means) / len(means)

    def left_in_eval(model, x):
        model.eval()
        with torch.no_grad():
            return ((model(x) - x) ** 2).mean().item()

    cases = {"model.eval()": no_eval, "torch.no_grad()": no_no_grad, "summed over each image": per_image,
             "equal weight": equal_weights, "left in eval mode": left_in_eval}
    for expected, answer in cases.items():
        assert_rejected(ch2.test_mse(answer), expected)
    assert "model.eval()" not in ch2.test_mse(per_image).message, "no eval hint for a student who called eval"


def mirrored(sizes, relu=None):
    widths = list(reversed(sizes))
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(n_in, n_out))
        layers.append(nn.Sigmoid() if i == len(widths) - 2 else (relu or nn.ReLU()))
    return nn.Sequential(*layers)


class FunctionalDecoder(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        widths = list(reversed(sizes))
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))

    def forward(self, z):
        for layer in self.layers[:-1]:
            z = torch.relu(layer(z))
        return torch.sigmoid(self.layers[-1](z))


def test_make_decoder_accepts_a_reused_relu_and_a_functional_forward():
    for answer in (lambda sizes: mirrored(sizes, relu=nn.ReLU()), FunctionalDecoder):
        assert_accepted(ch2.make_decoder(answer))


def test_make_decoder_rejects_structures_that_only_look_right():
    def frozen(sizes):
        decoder = mirrored(sizes)
        decoder[0].requires_grad_(False)
        return decoder

    def zero_start(sizes):
        decoder = mirrored(sizes)
        nn.init.zeros_(decoder[0].weight)
        return decoder

    cases = {
        "ReLU before the first Linear": lambda sizes: nn.Sequential(nn.ReLU(), mirrored(sizes)),
        "ends in a ReLU": lambda sizes: nn.Sequential(*list(mirrored(sizes))[:-1], nn.ReLU()),
        "not squashed into [0, 1]": lambda sizes: nn.Sequential(*list(mirrored(sizes))[:-1]),
        "cannot be trained": frozen,
        "start at zero": zero_start,
        "differs from Linear, ReLU": lambda sizes: nn.Sequential(*[m for m in mirrored(sizes) if not isinstance(m, nn.ReLU)]),
    }
    for expected, answer in cases.items():
        assert_rejected(ch2.make_decoder(answer), expected)


# -- device faults: answers that make CPU tensors would crash on a GPU ---------------

def test_test_mse_rejects_an_accumulator_made_on_the_cpu():
    """torch.zeros(()) is a CPU scalar, allowed beside GPU tensors; torch.zeros(1) is not."""

    def accumulate(model, x):
        model.eval()
        total = torch.zeros(1)
        with torch.no_grad():
            for batch in x.split(100):
                total += ((model(batch) - batch) ** 2).sum()
        model.train()
        return (total / x.numel()).item()

    result = ch2.test_mse(accumulate)
    assert not result.passed
    assert "two devices" in result.message and "torch.zeros" in result.message


def test_test_mse_accepts_a_scalar_accumulator_and_the_notebooks_device():
    device = torch.device("cpu")

    def scalar_total(model, x):
        model.eval()
        total = torch.tensor(0.0)  # 0-dim: PyTorch lets it meet tensors on any device
        with torch.no_grad():
            for batch in x.split(100):
                total = total + ((model(batch) - batch) ** 2).sum()
        model.train()
        return (total / x.numel()).item()

    def named_device(model, x):
        model.eval()
        total = torch.zeros(1, device=device)  # the notebook's global device
        with torch.no_grad():
            total += ((model(x) - x) ** 2).sum()
        model.train()
        return (total / x.numel()).item()

    for answer in (scalar_total, named_device):
        assert_accepted(ch2.test_mse(answer))


def test_training_step_with_a_cpu_tensor_is_rejected():
    def penalised(model, optimizer, loss_fn, batch):
        out = model(batch)
        loss = loss_fn(out, batch) + 0 * (out - torch.zeros(out.shape)).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    assert_rejected(ch2.training_step(penalised), "two devices")


def test_make_decoder_reversing_the_list_in_place_is_judged_on_the_right_sizes():
    def in_place(sizes):
        sizes.reverse()
        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers += [nn.Linear(a, b), nn.Sigmoid() if i == len(sizes) - 2 else nn.ReLU()]
        return nn.Sequential(*layers)

    assert_accepted(ch2.make_decoder(in_place))


# -- the digits reconstructed worst --------------------------------------------------

def worst(model, x, n):
    model.eval()
    with torch.no_grad():
        errors = ((model(x) - x) ** 2).mean(dim=1)
    model.train()
    return errors.topk(n).indices


def worst_by_sum_in_batches(model, x, n):
    """Correct, another way: summed (not mean) errors, batch by batch, as a list of ints."""
    model.eval()
    with torch.inference_mode():
        errors = torch.cat([((model(b) - b) ** 2).sum(dim=1) for b in x.split(256)])
    return [int(i) for i in torch.argsort(errors, descending=True)[:n]]


def ranked(key, *, descending=True, train=False, n_fixed=None, per_batch=False, values=False):
    def answer(model, x, n):
        model.train(train)
        if not train:
            model.eval()
        with torch.no_grad():
            diff = model(x) - x
        if per_batch:
            return torch.stack([(b**2).mean(dim=1).argmax() for b in diff.split(100)])[:n]
        scores = key(diff)
        if values:
            return scores.sort(descending=True).values[:n]
        return scores.argsort(descending=descending)[: n_fixed or n]
    return answer


@pytest.mark.parametrize("answer", [worst, worst_by_sum_in_batches], ids=["topk", "sum-batches"])
def test_worst_digits_accepts(answer):
    assert_accepted(ch2.worst_digits(answer))


@pytest.mark.parametrize("answer, words", [
    (ranked(lambda d: (d**2).mean(1), descending=False), "best-reconstructed"),
    (ranked(lambda d: (d**2).mean(1), train=True), "training mode"),
    (ranked(lambda d: (d**2).mean(1), n_fixed=10), "exactly n"),
    (ranked(lambda d: (d**2).mean(1), per_batch=True), "relative to a batch"),
    (ranked(lambda d: d.abs().amax(1)), "largest single-pixel error"),
    (ranked(lambda d: d.abs().mean(1)), "mean absolute error"),
    (ranked(lambda d: d.mean(1)), "mean signed error"),
    (ranked(lambda d: (d**2).mean(1), values=True), "indices"),
    (lambda m, x, n: x[worst(m, x, n)], "of shape (5, 784)"),
    (lambda m, x, n: list(reversed(worst(m, x, n).tolist())), "worst first"),
], ids=["best", "train-mode", "fixed-n", "per-batch", "max-pixel", "l1", "signed", "values", "images", "order"])
def test_worst_digits_rejects_with_true_hints(answer, words):
    assert_rejected(ch2.worst_digits(answer), words)


def test_worst_digits_accepts_an_error_buffer_made_on_the_cpu():
    def buffered(model, x, n):
        model.eval()
        errors = torch.empty(len(x))
        with torch.no_grad():
            for start in range(0, len(x), 256):
                b = x[start:start + 256]
                errors[start:start + 256] = ((model(b) - b) ** 2).mean(dim=1)
        return errors.topk(n).indices

    result = ch2.worst_digits(buffered)
    # copying into a CPU buffer works on a GPU too (a cross-device copy); topk then runs on the CPU
    assert result.passed, result.message


# -- which loops keep a graph alive ----------------------------------------------------

@pytest.mark.parametrize("graph, activations", [({"B", "C"}, {"B"}), ("BC", "b"), (["c", "b"], ("B",)), ("B, C", "B")])
def test_kept_graphs_accepts_any_spelling(graph, activations):
    assert_accepted(ch2.kept_graphs(graph, activations))


@pytest.mark.parametrize("graph, activations, words", [
    ({"C"}, {"B"}, "not right about B"),
    ({"B", "C", "D"}, {"B"}, "no graph is recorded"),
    ({"A", "B", "C"}, {"B"}, "Python floats"),
    ({"B", "C"}, {"B", "C"}, "already freed the activations"),
    ({"B", "C"}, set(), "every activation"),
    ({"B", "C"}, {"E"}, "letters among"),
    (3, {"B"}, "letters among"),
])
def test_kept_graphs_rejects_with_the_reason(graph, activations, words):
    assert_rejected(ch2.kept_graphs(graph, activations), words)


def test_training_step_with_a_detached_output_gets_no_invented_cause():
    def detached(model, optimizer, loss_fn, batch):
        loss = loss_fn(model(batch).detach(), batch)
        optimizer.zero_grad()
        optimizer.step()
        return loss.item()

    result = ch2.training_step(detached)
    assert_rejected(result, "did not change")
    assert "between" not in result.message  # it names no ordering mistake it did not test
