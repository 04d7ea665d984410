"""Chapter 2 checks, tried as students answer: the answers of tests/answers_ch2.py (correct ones
written unlike the solution, which must pass, and typical mistakes, each of which must be rejected
with a message that names its cause), the notebook's own solutions, and the checks' edge cases."""

import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from answers_ch2 import ANSWERS
from aecourse.checks import ch2
from aecourse.checks.core import EXERCISES
from student_answers import define
from verdicts import assert_accepted, assert_rejected

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "02_deep_autoencoder.ipynb"

# label -> (the check, the names the exercise declares)
EXERCISE_CHECKS = {
    "ex-ch2-step": (ch2.step_variants, ("outcome",)),
    "ex-ch2-leak": (ch2.kept_graphs, ("keeps_graph", "keeps_activations")),
    "ex-ch2-eval": (ch2.test_mse, ("test_mse",)),
    "ex-ch2-worst": (ch2.worst_digits, ("worst_digits",)),
    "ex-ch2-decoder": (ch2.make_decoder, ("make_decoder",)),
}


def run_answer(label, source):
    check, names = EXERCISE_CHECKS[label]
    namespace = define(source)
    return check(*(namespace[name] for name in names))


# -- the answers file: every exercise, every answer -------------------------------------

def test_every_exercise_of_the_chapter_has_answers_and_a_check():
    labels = [e.label for e in EXERCISES.values() if e.chapter == ch2.__name__]
    assert labels == list(EXERCISE_CHECKS) == list(ANSWERS)
    for label, answers in ANSWERS.items():
        assert len(answers["correct"]) >= 2 and len(answers["wrong"]) >= 5, label
        assert EXERCISES[label].hint, f"{label} offers no stronger hint"


CORRECT = [(label, i) for label, answers in ANSWERS.items() for i in range(len(answers["correct"]))]
WRONG = [(label, i) for label, answers in ANSWERS.items() for i in range(len(answers["wrong"]))]


@pytest.mark.parametrize("label, i", CORRECT, ids=[f"{label}-{i}" for label, i in CORRECT])
def test_correct_answers_pass(label, i):
    assert_accepted(run_answer(label, ANSWERS[label]["correct"][i]))


@pytest.mark.parametrize("label, i", WRONG, ids=[f"{label}-{i}" for label, i in WRONG])
def test_wrong_answers_are_rejected_naming_the_cause(label, i):
    source, words = ANSWERS[label]["wrong"][i]
    assert_rejected(run_answer(label, source), words)


def _solutions():
    sys.path.insert(0, str(ROOT / "tools"))
    import notebook_io

    cells = notebook_io.read(NOTEBOOK).cells
    return {tuple(c.metadata["answers"]): c.source for c in cells if "solution" in c.metadata.get("tags", [])}


def test_the_notebooks_solutions_pass():
    solutions = _solutions()
    for label, (check, names) in EXERCISE_CHECKS.items():
        assert_accepted(check(*(define(solutions[names])[n] for n in names)))


@pytest.mark.parametrize("label", list(EXERCISE_CHECKS))
def test_a_stub_is_not_done(label):
    check, names = EXERCISE_CHECKS[label]
    assert check(*([...] * len(names))).message.startswith("Not done yet")


# -- predicting: the seven variants of the training step -----------------------------

def test_the_step_variants_have_the_outcomes_the_solution_predicts():
    assert ch2._step_outcomes() == {"A": "same", "B": "stuck", "C": "different", "D": "same",
                                    "E": "same", "F": "same", "G": "error"}


def test_the_variants_table_of_the_notebook_names_every_variant():
    text = NOTEBOOK.read_text()
    for letter in ch2.STEP_VARIANTS:
        assert f"| {letter} |" in text, letter


def test_step_variants_names_every_wrong_prediction_and_no_right_one():
    predicted = dict(ch2._step_outcomes(), A="different", C="same")
    result = ch2.step_variants(predicted)
    assert_rejected(result, "2 predictions are")
    assert "A (model.eval()" in result.message and "C (a fresh Adam" in result.message
    assert "B (optimizer.step()" not in result.message


def test_step_variants_leaves_the_random_stream_as_it_was():
    right = ch2._step_outcomes()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ch2.step_variants(right)
    assert torch.equal(torch.rand(3), expected)


# -- predicting: which loops keep a graph alive ----------------------------------------

@pytest.mark.parametrize("graph, activations", [({"B", "C"}, {"B"}), ("BC", "b"), (["c", "b"], ("B",)), ("B, C", "B")])
def test_kept_graphs_accepts_any_spelling(graph, activations):
    assert_accepted(ch2.kept_graphs(graph, activations))


# -- the test-set error ---------------------------------------------------------------

def good_test_mse(model, x):
    was_training = model.training
    model.eval()
    with torch.no_grad():
        value = ((model(x) - x) ** 2).mean().item()
    model.train(was_training)
    return value


def test_test_mse_leaves_the_model_and_images_it_lends_as_they_were():
    """The check calls the answer on its own model in both modes; a mode change is undone and named."""
    seen = []

    def flips_and_writes(model, x):
        seen.append((model, x))
        model.train(not model.training)
        value = good_test_mse(model, x)
        x.mul_(0.5)
        return value

    result = ch2.test_mse(flips_and_writes)
    assert not result.passed and "changed what it was given" in result.message
    model, x = seen[0]
    assert model.training and float(x.max()) > 0.9  # restored: training mode, the values as they were


def test_test_mse_rejects_in_place_writes_to_the_images():
    def scales(model, x):
        x.clamp_(0.1, 0.9)
        return good_test_mse(model, x)

    result = ch2.test_mse(scales)
    assert_rejected(result, "changed the values of x in place")


def test_test_mse_accepts_a_scalar_accumulator_and_the_notebooks_device():
    device = torch.device("cpu")

    def scalar_total(model, x):
        was_training = model.training
        model.eval()
        total = torch.tensor(0.0)  # 0-dim: PyTorch lets it meet tensors on any device
        with torch.no_grad():
            for batch in x.split(100):
                total = total + ((model(batch) - batch) ** 2).sum()
        model.train(was_training)
        return (total / x.numel()).item()

    def named_device(model, x):
        was_training = model.training
        model.eval()
        total = torch.zeros(1, device=device)  # the notebook's global device
        with torch.no_grad():
            total += ((model(x) - x) ** 2).sum()
        model.train(was_training)
        return (total / x.numel()).item()

    for answer in (scalar_total, named_device):
        assert_accepted(ch2.test_mse(answer))


def test_test_mse_rejects_an_accumulator_made_on_the_cpu():
    """torch.zeros(()) is a CPU scalar, allowed beside GPU tensors; torch.zeros(1) is not."""

    def accumulate(model, x):
        was_training = model.training
        model.eval()
        total = torch.zeros(1)
        with torch.no_grad():
            for batch in x.split(100):
                total += ((model(batch) - batch) ** 2).sum()
        model.train(was_training)
        return (total / x.numel()).item()

    result = ch2.test_mse(accumulate)
    assert not result.passed
    assert "two devices" in result.message and "torch.zeros" in result.message


def test_test_mse_names_a_graph_only_where_one_was_recorded():
    def frozen_parameters(model, x):  # no graph, but the model can no longer train
        was_training = model.training
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        value = ((model(x) - x) ** 2).mean().item()
        model.train(was_training)
        return value

    result = ch2.test_mse(frozen_parameters)
    assert "recorded a graph" not in result.message


# -- the digits reconstructed worst ----------------------------------------------------

def test_worst_digits_accepts_an_error_buffer_made_on_the_cpu():
    def buffered(model, x, n):
        was_training = model.training
        model.eval()
        errors = torch.empty(len(x))
        with torch.no_grad():
            for start in range(0, len(x), 256):
                b = x[start:start + 256]
                errors[start:start + 256] = ((model(b) - b) ** 2).mean(dim=1)
        model.train(was_training)
        return errors.topk(n).indices

    # copying into a CPU buffer works on a GPU too (a cross-device copy); topk then runs on the CPU
    assert_accepted(ch2.worst_digits(buffered))


def test_worst_digits_reports_a_wrong_ranking_before_a_mode_left_changed():
    def full_batches_only(model, x, n):
        model.eval()
        with torch.no_grad():
            errors = torch.cat([((b - model(b)) ** 2).mean(1) for b in x[: len(x) // 100 * 100].split(100)])
        return errors.topk(n).indices

    assert_rejected(ch2.worst_digits(full_batches_only), "partial")


@pytest.mark.parametrize("answer, words", [
    (lambda m, x, n: list(reversed(good_worst(m, x, n).tolist())), "worst first"),
    (lambda m, x, n: good_worst(m, x, 10), "not n"),
    (lambda m, x, n: x[good_worst(m, x, n)], "of shape (5, 784)"),
], ids=["order", "fixed-n", "images"])
def test_worst_digits_rejects_with_true_hints(answer, words):
    assert_rejected(ch2.worst_digits(answer), words)


def good_worst(model, x, n):
    was_training = model.training
    model.eval()
    with torch.no_grad():
        errors = ((model(x) - x) ** 2).mean(dim=1)
    model.train(was_training)
    return errors.topk(n).indices


# -- the decoder built from the encoder's sizes -----------------------------------------

def mirrored(sizes):
    widths = list(reversed(sizes))
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers += [nn.Linear(n_in, n_out), nn.Sigmoid() if i == len(widths) - 2 else nn.ReLU()]
    return nn.Sequential(*layers)


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
        "cannot be trained": frozen,
        "start at zero": zero_start,
        "differs from Linear, ReLU": lambda sizes: nn.Sequential(*[m for m in mirrored(sizes) if not isinstance(m, nn.ReLU)]),
    }
    for expected, answer in cases.items():
        assert_rejected(ch2.make_decoder(answer), expected)
