"""Chapter 1 checks, tried as students answer: the answers of tests/answers_ch1.py (correct ones
written unlike the solution, which must pass, and typical mistakes, each of which must be rejected
with a message that names its cause), the notebook's own solutions, and the checks' edge cases."""

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from answers_ch1 import ANSWERS
from aecourse.checks import ExerciseNotDone, ch1
from aecourse.checks.core import EXERCISES
from student_answers import define
from verdicts import assert_accepted, assert_rejected


# -- the answers file: every exercise, every answer -------------------------------------

def train_raw(x, steps, lr):
    """The notebook's train_raw (a given cell), as the lr answers call it."""
    return ch1._train_raw(x, steps, lr)


class LinearAutoencoder(nn.Module):
    """The notebook's LinearAutoencoder, as the unit_encoder answers may build one."""

    def __init__(self, d, k):
        super().__init__()
        self.encoder = nn.Linear(d, k)
        self.decoder = nn.Linear(k, d)

    def forward(self, x):
        return self.decoder(self.encoder(x))


# label -> (the check, the names the exercise declares, what earlier cells defined)
EXERCISE_CHECKS = {
    "ex-ch1-loop": (ch1.loop_order, ("curve_swapped", "curve_no_zero_grad", "curve_zero_grad_last"), {}),
    "ex-ch1-pca": (ch1.pca_error, ("pca_error",), {}),
    "ex-ch1-sharpness": (ch1.sharpness, ("sharpness",), {}),
    "ex-ch1-lr": (ch1.diverging_lr, ("diverging_lr",), {"check": ch1, "train_raw": train_raw, "x": ch1._toy()}),
    "ex-ch1-unit": (ch1.unit_encoder, ("unit_encoder",), {"LinearAutoencoder": LinearAutoencoder}),
    "ex-ch1-tied": (ch1.tied_autoencoder, ("TiedLinearAutoencoder",), {}),
}


def run_answer(label, source):
    check, names, earlier = EXERCISE_CHECKS[label]
    namespace = define(source, **earlier)
    return check(*(namespace[name] for name in names))


def test_every_exercise_of_the_chapter_has_answers_and_a_check():
    labels = [e.label for e in EXERCISES.values() if e.chapter == ch1.__name__]
    assert labels == list(EXERCISE_CHECKS) == list(ANSWERS)
    for label, answers in ANSWERS.items():
        assert len(answers["correct"]) >= 2 and len(answers["wrong"]) >= 5, label


CORRECT = [(label, i) for label, answers in ANSWERS.items() for i in range(len(answers["correct"]))]
WRONG = [(label, i) for label, answers in ANSWERS.items() for i in range(len(answers["wrong"]))]


@pytest.mark.parametrize("label, i", CORRECT, ids=[f"{label}-{i}" for label, i in CORRECT])
def test_correct_answers_pass(label, i):
    assert_accepted(run_answer(label, ANSWERS[label]["correct"][i]))


@pytest.mark.parametrize("label, i", WRONG, ids=[f"{label}-{i}" for label, i in WRONG])
def test_wrong_answers_are_rejected_naming_the_cause(label, i):
    source, words = ANSWERS[label]["wrong"][i]
    assert_rejected(run_answer(label, source), words)


# -- predicting the loss curves of three loops ---------------------------------------------

def test_loop_order_runs_each_order_and_finds_the_shapes_the_solution_predicts():
    """The check describes each run itself: the swapped loop is flat, the loop without
    zero_grad swings, the loop with zero_grad last is the mended loop."""
    mended = list(ch1._run(ch1.MENDED))
    shapes = {name: ch1._shape(list(ch1._run(calls)), mended) for name, calls in ch1.ORDERS.items()}
    assert shapes == {"curve_swapped": "b", "curve_no_zero_grad": "e", "curve_zero_grad_last": "a"}


def test_loop_order_runs_the_notebooks_loop():
    """The check's mended run is the notebook's cell 9: same start, same losses."""
    mended = ch1._run(ch1.MENDED)
    assert len(mended) == 1000
    assert math.isclose(mended[0], 4.78404, rel_tol=1e-5) and math.isclose(mended[-1], 0.09824, rel_tol=1e-3)


def test_loop_order_names_only_the_wrong_predictions():
    result = ch1.loop_order("b", "e", "c")
    assert not result.passed
    assert "one prediction is" in result.message and "curve_zero_grad_last" in result.message
    assert "curve_swapped (" not in result.message and "curve_no_zero_grad (" not in result.message


@pytest.mark.parametrize("chosen", list("abcde"))
def test_loop_order_every_refutation_is_true_of_the_run(chosen):
    """For every wrong letter and every order, the message is built; none is the run's own shape."""
    mended = list(ch1._run(ch1.MENDED))
    for calls in ch1.ORDERS.values():
        curve = list(ch1._run(calls))
        if ch1._shape(curve, mended) != chosen:
            assert ch1._refute(chosen, curve, mended)


def test_loop_order_reads_letters_as_students_write_them():
    for written in ("b", "B", " b ", "(b)", "b)", "b.", "[b]", "b: flat", "(B) flat, the first loss", "flat",
                    "flat: the first loss, repeated at every step"):
        assert ch1._letter(written, "curve_swapped") == "b", written
    for unreadable in ("bb", "flat line", "f", "", 2, None, ["b"]):
        with pytest.raises(ch1.Wrong):
            ch1._letter(unreadable, "curve_swapped")


def test_loop_order_stub_and_rng():
    assert ch1.loop_order(..., "e", "a").message.startswith("Not done yet")
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ch1._run.cache_clear()
    ch1.loop_order("b", "e", "a")
    assert torch.equal(torch.rand(3), expected)


# -- the solved notebook's own answers -----------------------------------------------------

def solutions():
    """(label, source) of every solution cell of the solved notebook, in order."""
    import re
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root / "tools"))
    import notebook_io

    cells = notebook_io.read(root / "notebooks" / "01_linear_autoencoder.ipynb").cells
    found, label = [], None
    for cell in cells:
        opened = re.search(r"\{solution-start\}\s+(\S+)", cell.source) if cell.cell_type == "markdown" else None
        if opened:
            label = opened[1]
        if cell.cell_type == "code" and "solution" in cell.metadata.get("tags", []):
            assert cell.metadata["answers"] == list(EXERCISE_CHECKS[label][1]), label
            found.append((label, cell.source))
    return found


def test_the_solved_notebooks_answers_pass():
    found = solutions()
    assert [label for label, _ in found] == list(EXERCISE_CHECKS)
    for label, source in found:
        assert_accepted(run_answer(label, source))


# -- the PCA error -----------------------------------------------------------------------

def pca_error_svd(x, k):
    mean = x.mean(dim=0)
    u, s, vh = torch.linalg.svd(x - mean, full_matrices=False)
    return (((u[:, :k] * s[:k]) @ vh[:k] + mean - x) ** 2).mean().item()


def test_pca_error_only_for_one_shape_is_rejected():
    """An answer that hard-codes the first data set's width fails on the others, and the
    message names no cause it has not reproduced."""
    result = ch1.pca_error(lambda x, k: pca_error_svd(x, k) if x.shape[1] == 6 else 0.0)
    assert not result.passed
    assert "the error per entry is" in result.message and "That is" not in result.message


def test_pca_error_stub_and_crash():
    assert ch1.pca_error(...).message.startswith("Not done yet")
    result = ch1.pca_error(lambda x, k: torch.linalg.svd(x)[k + 10])
    assert not result.passed
    assert "IndexError" in result.message


def test_pca_error_notices_the_course_helper_however_it_is_reached():
    """fit_pca bound to another name before the exercise, or a PCA's own reconstruct: both build a PCA."""
    from aecourse.pca import fit_pca as bound_earlier

    assert_rejected(ch1.pca_error(lambda x, k: bound_earlier(x).error(x, k)), "fit_pca")
    from aecourse.pca import PCA
    assert PCA.__init__.__qualname__ == "PCA.__init__"  # the check put it back


# -- the sharpness ------------------------------------------------------------------

def sharpness_autograd(f, point):
    hessian = torch.autograd.functional.hessian(f, point)
    return torch.linalg.eigvalsh(hessian)[-1].item()


def test_sharpness_gradient_norm_rejected_without_a_made_up_cause():
    result = ch1.sharpness(lambda f, p: torch.autograd.functional.jacobian(f, p).norm().item())
    assert not result.passed
    assert "largest Hessian eigenvalue is" in result.message
    assert "trace" not in result.message and "diagonal" not in result.message


def test_sharpness_predicts_the_chapter_threshold():
    """2 / sharpness at the minimum that lr 0.1 reaches lies between the last rate of the grid
    that converges and the first that diverges, for the chapter's one start (seed 0): the agreement
    the chapter reports as one run."""
    x = ch1._toy()
    torch.manual_seed(0)
    params = [torch.randn(s, requires_grad=True) for s in ((2, 1), (1, 2), (1,), (1, 2))]
    opt = torch.optim.SGD(params, lr=0.1)
    for _ in range(3000):
        w_e, w_d, b_e, b_d = params
        loss = (((x @ w_e + b_e) @ w_d + b_d - x) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    point = torch.cat([p.detach().flatten() for p in params])
    predicted = 2 / sharpness_autograd(ch1._toy_loss, point)
    assert 0.15 < predicted < 0.3
    assert not ch1._diverges(0.2) and ch1._diverges(0.3)


# -- the first diverging learning rate -----------------------------------------------

@pytest.mark.parametrize("answer", [0.3, np.float32(0.3), torch.tensor(0.3), np.float64(0.3)],
                         ids=["float", "numpy-float32", "tensor", "numpy-float64"])
def test_diverging_lr_accepts_any_number_type(answer):
    assert_accepted(ch1.diverging_lr(answer))


def test_diverging_lr_stub_and_no_public_shortcut():
    assert ch1.diverging_lr(...).message.startswith("Not done yet")
    assert not hasattr(ch1, "diverges"), "the check module must not offer the answer as check.diverges"


# -- the unit-length encoder -----------------------------------------------------------

def rescale_on_the_cpu(model):
    new = copy.deepcopy(model)
    with torch.no_grad():
        norms = torch.tensor(new.encoder.weight.norm(dim=1).tolist())  # rebuilt on the CPU: fine here
        new.encoder.weight /= norms[:, None]
        new.encoder.bias /= norms
        new.decoder.weight *= norms
    return new


def test_unit_encoder_accepts_norms_rebuilt_as_a_new_tensor():
    assert_accepted(ch1.unit_encoder(rescale_on_the_cpu))


def test_unit_encoder_hands_over_the_chapters_class():
    """The check's models are LinearAutoencoders with the chapter's constructor, so type(model)(d, k) works."""
    def built_anew(model):
        k, d = model.encoder.weight.shape
        new = type(model)(d, k)
        new.load_state_dict(model.state_dict())
        with torch.no_grad():
            lengths = new.encoder.weight.norm(dim=1)
            new.encoder.weight /= lengths[:, None]
            new.encoder.bias /= lengths
            new.decoder.weight *= lengths
        return new

    assert_accepted(ch1.unit_encoder(built_anew))


# -- the tied autoencoder -----------------------------------------------------------

def test_tied_autoencoder_stub():
    assert ch1.tied_autoencoder(...).message.startswith("Not done yet")


def test_tied_autoencoder_no_biases_named():
    class NoBiases(nn.Module):
        def __init__(self, d, k):
            super().__init__()
            self.W = nn.Parameter(torch.randn(k, d))
            self.b_e = nn.Parameter(torch.zeros(k))
            self.b_d = nn.Parameter(torch.zeros(d))

        def forward(self, x):
            return (x @ self.W.T) @ self.W

    assert_rejected(ch1.tied_autoencoder(NoBiases), "depends on neither bias")


def test_hints_are_offered_and_shown():
    for label in EXERCISE_CHECKS:
        assert "Hint for" in repr(ch1.hint(label)), label
    assert "check.hint(\"ex-ch1-loop\")" in ch1.loop_order("a", "a", "a").message


def test_forward_mode_answers_print_no_warning_of_pytorchs_internals():
    """torch.func.hessian's first dual tensor imports PyTorch's jvp decompositions, which call the
    deprecated torch.jit.script; the check must not print that warning above its verdict. A fresh
    process: in this one the module may have been loaded already."""
    import subprocess
    import sys

    code = (
        "import warnings; warnings.simplefilter('always')\n"
        "import torch\n"
        "from aecourse.checks import ch1\n"
        "def sharpness(loss_fn, point):\n"
        "    return torch.linalg.eigvalsh(torch.func.hessian(loss_fn)(point)).max().item()\n"
        "print(ch1.sharpness(sharpness))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("Correct"), done.stdout[:400]
    assert "jit.script" not in done.stderr, done.stderr[-1000:]
