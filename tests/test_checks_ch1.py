"""Chapter 1 checks, tried as students answer: the solution, correct answers written
differently, and plausible wrong answers, each of which must be rejected with a
message that is true about it."""

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from aecourse.checks import ExerciseNotDone, ch1
from verdicts import assert_accepted, assert_rejected


# -- the mended training loop ---------------------------------------------------

def make_loop(*, order=("we", "wd", "be", "bd"), optimizer=torch.optim.SGD, zero_grad=True, loss="mean",
              keep_tensors=False, fixed_steps=None, fixed_lr=None, zero_biases=False, data_slices=False):
    """A student's train_raw, correct by default, with one slip when asked."""

    def train(x, steps, lr):
        d = x.shape[1]
        shapes = {"we": (d, 1), "wd": (1, d), "be": (1,), "bd": (1, d)}
        p = {}
        for name in order:
            p[name] = (torch.zeros(shapes[name], requires_grad=True) if zero_biases and name.startswith("b")
                       else torch.randn(*shapes[name], requires_grad=True))
        params = [x[:, 0], x[:, 1]] if data_slices else [p["we"], p["wd"], p["be"], p["bd"]]
        opt = optimizer(params, lr=fixed_lr or lr)
        losses = []
        for _ in range(fixed_steps or steps):
            squared = ((x @ p["we"] + p["be"]) @ p["wd"] + p["bd"] - x) ** 2
            value = squared.mean() if loss == "mean" else squared.sum()
            if zero_grad:
                opt.zero_grad()
            value.backward()
            opt.step()
            losses.append(value if keep_tensors else value.item())
        return losses

    return train


def train_raw_other_style(x, steps, lr):
    """Correct, written differently: row-vector weights used transposed, nn.MSELoss, the
    optimizer's list in another order, float() instead of .item()."""
    d = x.shape[1]
    w_encoder = torch.randn(1, d, requires_grad=True)  # same numbers as randn(d, 1), laid out as a row
    w_decoder = torch.randn(1, d, requires_grad=True)
    b_encoder = torch.randn(1, requires_grad=True)
    b_decoder = torch.randn(d, requires_grad=True)
    optimizer = torch.optim.SGD([b_decoder, b_encoder, w_decoder, w_encoder], lr=lr)
    mse = nn.MSELoss()
    history = []
    for _ in range(steps):
        loss = mse((x @ w_encoder.T + b_encoder) @ w_decoder + b_decoder, x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(float(loss.detach()))
    return history


@pytest.mark.parametrize("answer", [make_loop(), train_raw_other_style], ids=["solution", "other-style"])
def test_mended_loop_accepts_correct_loops(answer):
    assert_accepted(ch1.mended_loop(answer))


@pytest.mark.parametrize("slip, words", [
    (dict(data_slices=True), "never moved"),
    (dict(keep_tensors=True), "loss.item()"),
    (dict(fixed_steps=500), "one loss per step"),
    (dict(fixed_lr=0.1), "ignores lr"),
    (dict(optimizer=torch.optim.Adam), "Adam"),
    (dict(zero_grad=False), "zero_grad"),
    (dict(loss="sum"), "sum of the squared errors"),
    (dict(order=("we", "be", "wd", "bd")), "drawn in the order w_encoder, b_encoder, w_decoder, b_decoder"),
    (dict(zero_biases=True), "biases start at zero"),
], ids=["data-slices", "tensors", "ignores-steps", "ignores-lr", "adam", "no-zero-grad", "sum", "order", "zero-biases"])
def test_mended_loop_rejects_slips_naming_each(slip, words):
    assert_rejected(ch1.mended_loop(make_loop(**slip)), words)


def test_mended_loop_names_the_questions_epoch_loss():
    """The asker's running_loss / len(data), kept by a student: the losses are 100 times too small."""
    def epoch_loss(x, steps, lr):
        return [v / len(x) for v in make_loop()(x, steps, lr)]

    assert_rejected(ch1.mended_loop(epoch_loss), "divided by the number of points")


def test_mended_loop_unexplained_difference_says_what_it_saw():
    """A loop that records the loss after the update matches no known slip: the message
    reports the step and both values, and names no cause."""

    def after_step(x, steps, lr):
        losses = make_loop()(x, steps, lr)
        return [v * 1.01 for v in losses]

    result = ch1.mended_loop(after_step)
    assert not result.passed
    assert "at step 1" in result.message and "chapter's loop gives" in result.message
    assert "zero_grad" not in result.message and "Adam" not in result.message


def test_mended_loop_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ch1.mended_loop(make_loop())
    assert torch.equal(torch.rand(3), expected)


def test_mended_loop_stub_and_unfinished():
    """The ... placeholder and the stub's ExerciseNotDone give 'Not done yet'; a
    NotImplementedError of the student's own is reported as an error in the answer."""
    assert ch1.mended_loop(...).message.startswith("Not done yet")

    def stub(x, steps, lr):
        raise ExerciseNotDone("ex-ch1-loop", "train_raw")

    assert ch1.mended_loop(stub).message.startswith("Not done yet")

    def unfinished(x, steps, lr):
        raise NotImplementedError("write the loop")

    result = ch1.mended_loop(unfinished)
    assert not result.passed
    assert result.message.startswith("Not yet") and "NotImplementedError: write the loop" in result.message


def test_mended_loop_crash_is_reported():
    def crashing(x, steps, lr):
        w = torch.randn(3, 1, requires_grad=True)
        return [(x @ w).sum().item()]  # (100, 2) @ (3, 1): shape error

    result = ch1.mended_loop(crashing)
    assert not result.passed
    assert "RuntimeError" in result.message


# -- the PCA error by SVD ---------------------------------------------------------

def pca_error_svd(x, k):
    mean = x.mean(dim=0)
    u, s, vh = torch.linalg.svd(x - mean, full_matrices=False)
    return (((u[:, :k] * s[:k]) @ vh[:k] + mean - x) ** 2).mean().item()


def pca_error_eigenvalues(x, k):
    """Correct, another route: the discarded eigenvalues of the 1/N covariance, over D."""
    centred = x - x.mean(0)
    eigenvalues = torch.linalg.eigvalsh(centred.T @ centred / len(x))  # ascending
    return eigenvalues[: x.shape[1] - k].sum() / x.shape[1]  # a 0-dim tensor is fine


def pca_error_projection(x, k):
    """Correct, a third route: project onto V_k V_k^T, returned as a NumPy float."""
    mean = x.mean(0, keepdim=True)
    v = torch.linalg.svd(x - mean, full_matrices=False).Vh[:k].T
    return np.float32((((x - mean) @ v @ v.T + mean - x) ** 2).mean())


@pytest.mark.parametrize("answer", [pca_error_svd, pca_error_eigenvalues, pca_error_projection])
def test_pca_error_accepts_correct_answers(answer):
    assert_accepted(ch1.pca_error(answer))


def uncentred(x, k):
    u, s, vh = torch.linalg.svd(x, full_matrices=False)
    return (((u[:, :k] * s[:k]) @ vh[:k] - x) ** 2).mean().item()


def columns_of_vh(x, k):
    mean = x.mean(0)
    u, s, vh = torch.linalg.svd(x - mean, full_matrices=False)
    return (((u[:, :k] * s[:k]) @ vh[:, :k].T + mean - x) ** 2).mean().item()


def discards_top(x, k):
    mean = x.mean(0)
    u, s, vh = torch.linalg.svd(x - mean, full_matrices=False)
    return (((u[:, k:] * s[k:]) @ vh[k:] + mean - x) ** 2).mean().item()


def unbiased_covariance(x, k):
    eigenvalues = torch.linalg.eigvalsh(torch.cov(x.T))  # divides by N - 1
    return float(eigenvalues[: x.shape[1] - k].sum() / x.shape[1])


@pytest.mark.parametrize("answer, words", [
    (uncentred, "Subtract the column means"),
    (lambda x, k: pca_error_svd(x, k) * x.shape[1], "summed over each row"),
    (lambda x, k: pca_error_svd(x, k) * x.numel(), "total squared error"),
    (columns_of_vh, "keep vh[:k]"),
    (discards_top, "thrown away"),
    (unbiased_covariance, "N - 1"),
    (lambda x, k: [pca_error_svd(x, k)], "return one number"),
], ids=["uncentred", "row-sum", "total", "vh-columns", "discards-top", "n-minus-1", "list"])
def test_pca_error_rejects_with_true_hints(answer, words):
    assert_rejected(ch1.pca_error(answer), words)


def test_pca_error_only_for_one_shape_is_rejected():
    """An answer that hard-codes the first data set's width fails on the others."""
    result = ch1.pca_error(lambda x, k: pca_error_svd(x, k) if x.shape[1] == 6 else 0.0)
    assert not result.passed
    assert "expected" in result.message


def test_pca_error_stub_and_crash():
    assert ch1.pca_error(...).message.startswith("Not done yet")
    result = ch1.pca_error(lambda x, k: torch.linalg.svd(x)[k + 10])
    assert not result.passed
    assert "IndexError" in result.message


# -- the sharpness ------------------------------------------------------------------

def sharpness_autograd(f, point):
    hessian = torch.autograd.functional.hessian(f, point)
    return torch.linalg.eigvalsh(hessian)[-1].item()


def sharpness_finite_differences(f, point):
    """Correct, another route: central differences of autograd gradients, symmetrised."""
    p = point.detach()

    def grad(q):
        q = q.clone().requires_grad_(True)
        return torch.autograd.grad(f(q), q)[0]

    h = 1e-2
    columns = [(grad(p + h * e) - grad(p - h * e)) / (2 * h) for e in torch.eye(len(p), dtype=p.dtype)]
    hessian = torch.stack(columns)
    return torch.linalg.eigvalsh((hessian + hessian.T) / 2).max()


def sharpness_power_iteration(f, point):
    """Correct, a third route: power iteration on H + c I with Hessian-vector products (shifted so
    the largest eigenvalue, not the largest in size, dominates)."""
    p = point.detach().clone().requires_grad_(True)
    g = torch.autograd.grad(f(p), p, create_graph=True)[0]

    def hvp(v):
        return torch.autograd.grad(g, p, v, retain_graph=True)[0]

    c = 100.0
    v = torch.ones_like(p) / len(p) ** 0.5
    for _ in range(3000):
        w = hvp(v) + c * v
        v = w / w.norm()
    return float(v @ hvp(v))


@pytest.mark.parametrize("answer", [sharpness_autograd, sharpness_finite_differences, sharpness_power_iteration],
                         ids=["autograd", "finite-differences", "power-iteration"])
def test_sharpness_accepts_correct_answers(answer):
    assert_accepted(ch1.sharpness(answer))


def largest_in_size(f, point):
    values = torch.linalg.eigvalsh(torch.autograd.functional.hessian(f, point))
    return values[values.abs().argmax()].item()


def in_place_differences(f, point):
    """Nudges the caller's point in place, and does not put it back exactly."""
    hessian = torch.autograd.functional.hessian(f, point)
    point += 1e-3
    point -= 1e-3
    return torch.linalg.eigvalsh(hessian)[-1].item()


@pytest.mark.parametrize("answer, words", [
    (largest_in_size, "largest in size"),
    (lambda f, p: torch.linalg.eigvalsh(torch.autograd.functional.hessian(f, p)).abs().max().item(), "absolute"),
    (lambda f, p: torch.autograd.functional.hessian(f, p).diagonal().max().item(), "largest diagonal entry"),
    (lambda f, p: torch.autograd.functional.hessian(f, p).trace().item(), "trace"),
    (lambda f, p: torch.linalg.eigvalsh(torch.autograd.functional.hessian(f, p))[0].item(), "smallest eigenvalue"),
    (lambda f, p: 2 / sharpness_autograd(f, p), "return lambda itself"),
    (in_place_differences, "changed the point"),
    (lambda f, p: torch.linalg.eigvalsh(torch.autograd.functional.hessian(f, p)), "one number"),
    (lambda f, p: torch.autograd.grad(f(p.clone().requires_grad_()), p.clone().requires_grad_(), allow_unused=True)[0],
     "one number"),
], ids=["abs-largest", "absolute-value", "diagonal", "trace", "smallest", "learning-rate", "mutates-point", "all-eigenvalues", "gradient"])
def test_sharpness_rejects_with_true_hints(answer, words):
    assert_rejected(ch1.sharpness(answer), words)


def test_sharpness_gradient_norm_rejected_without_a_made_up_cause():
    result = ch1.sharpness(lambda f, p: torch.autograd.functional.jacobian(f, p).norm().item())
    assert not result.passed
    assert "largest Hessian eigenvalue is" in result.message
    assert "trace" not in result.message and "diagonal" not in result.message


def test_sharpness_predicts_the_chapter_threshold():
    """2 / sharpness at the minimum that lr 0.1 reaches lies between the last rate of the grid
    that converges and the first that diverges: the prediction the chapter makes."""
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
    assert not ch1.diverges(0.2) and ch1.diverges(0.3)


# -- the first diverging learning rate -----------------------------------------------

def test_diverges_helper():
    assert not ch1.diverges(0.2)
    assert ch1.diverges(0.3)


@pytest.mark.parametrize("answer", [0.3, np.float32(0.3), torch.tensor(0.3), np.float64(0.3)],
                         ids=["float", "numpy-float32", "tensor", "numpy-float64"])
def test_diverging_lr_accepts_any_number_type(answer):
    assert_accepted(ch1.diverging_lr(answer))


@pytest.mark.parametrize("answer, words", [
    (0.2, "still converges"), (0.05, "still converges"), (0.5, "smaller rate"),
    (0.25, "not on the grid"), ("0.3", "as a number"), ([0.3], "as a number"),
])
def test_diverging_lr_rejects(answer, words):
    assert_rejected(ch1.diverging_lr(answer), words)


def test_diverging_lr_stub():
    assert ch1.diverging_lr(...).message.startswith("Not done yet")


# -- the unit-length encoder -----------------------------------------------------------

def unit_encoder(model):
    new = copy.deepcopy(model)
    with torch.no_grad():
        norms = new.encoder.weight.norm(dim=1)
        new.encoder.weight /= norms[:, None]
        new.encoder.bias /= norms
        new.decoder.weight *= norms
    return new


def unit_encoder_by_matrix(model):
    """Correct, written as the chapter's A: a diagonal matrix and its inverse, with a sign flip."""
    new = copy.deepcopy(model)
    a = torch.diag(-1 / model.encoder.weight.detach().norm(dim=1))
    with torch.no_grad():
        new.encoder.weight.copy_(a @ model.encoder.weight)
        new.encoder.bias.copy_(a @ model.encoder.bias)
        new.decoder.weight.copy_(model.decoder.weight @ torch.linalg.inv(a))
    return new


@pytest.mark.parametrize("answer", [unit_encoder, unit_encoder_by_matrix], ids=["solution", "matrix-A"])
def test_unit_encoder_accepts(answer):
    assert_accepted(ch1.unit_encoder(answer))


def rescale(model, *, bias=True, decoder="times", whole=False, cpu_tensor=False, copy_first=True):
    """unit_encoder with one slip on request; copy_first=False rescales the caller's model itself."""
    new = copy.deepcopy(model) if copy_first else model
    with torch.no_grad():
        norms = new.encoder.weight.norm() if whole else new.encoder.weight.norm(dim=1)
        if cpu_tensor:
            norms = torch.tensor(norms.tolist())  # rebuilt on the CPU: a GPU runtime would stop
        new.encoder.weight /= norms if whole else norms[:, None]
        if bias:
            new.encoder.bias /= norms
        if decoder == "times":
            new.decoder.weight *= norms
        elif decoder == "divided":
            new.decoder.weight /= norms
    return new


@pytest.mark.parametrize("answer, words", [
    (lambda m: rescale(m, copy_first=False), "copy it first"),
    (lambda m: rescale(m, decoder="none"), "columns grow by |w|"),
    (lambda m: rescale(m, bias=False), "scale it with the weight"),
    (lambda m: rescale(m, decoder="divided"), "multiply its columns"),
    (lambda m: rescale(m, whole=True), "scale each row"),
    (lambda m: None, "return a model"),
], ids=["in-place", "decoder-unscaled", "bias-unscaled", "decoder-divided", "frobenius", "none"])
def test_unit_encoder_rejects_with_true_hints(answer, words):
    assert_rejected(ch1.unit_encoder(answer), words)


# -- the tied autoencoder -----------------------------------------------------------

class TiedAutoencoder(nn.Module):
    def __init__(self, d, k):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(k, d) / d**0.5)
        self.encoder_bias = nn.Parameter(torch.zeros(k))
        self.decoder_bias = nn.Parameter(torch.zeros(d))

    def forward(self, x):
        z = x @ self.weight.T + self.encoder_bias
        return z @ self.weight + self.decoder_bias


class TiedColumns(nn.Module):
    """Correct, written differently: W stored as (d, k), F.linear, biases via nn.init."""

    def __init__(self, d, k):
        super().__init__()
        self.W = nn.Parameter(torch.empty(d, k))
        nn.init.xavier_uniform_(self.W)
        self.b_enc = nn.Parameter(torch.empty(k).uniform_(-0.1, 0.1))
        self.b_dec = nn.Parameter(torch.zeros(d))

    def forward(self, x):
        return F.linear(F.linear(x, self.W.T, self.b_enc), self.W, self.b_dec)


def tied_with(forward=None, init=None):
    class Variant(TiedAutoencoder):
        def __init__(self, d, k):
            super().__init__(d, k)
            if init:
                init(self)

    if forward:
        Variant.forward = forward
    return Variant


class Untied(nn.Module):
    def __init__(self, d, k):
        super().__init__()
        self.encoder = nn.Linear(d, k)
        self.decoder = nn.Linear(k, d)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def _zeros_init(m):
    with torch.no_grad():
        m.weight.zero_()


@pytest.mark.parametrize("answer", [TiedAutoencoder, TiedColumns], ids=["solution", "columns"])
def test_tied_autoencoder_accepts(answer):
    assert_accepted(ch1.tied_autoencoder(answer))


@pytest.mark.parametrize("answer, words", [
    (Untied, "found 2 weight matrices"),
    (tied_with(forward=lambda s, x: (x @ s.weight.T) @ s.weight + s.decoder_bias), "encoder bias is declared but never added"),
    (tied_with(forward=lambda s, x: (x @ s.weight.T + s.encoder_bias) @ s.weight), "decoder bias is declared but never added"),
    (tied_with(forward=lambda s, x: (x @ s.weight.T) @ s.weight), "neither bias"),
    (tied_with(forward=lambda s, x: torch.relu(x @ s.weight.T + s.encoder_bias) @ s.weight + s.decoder_bias),
     "x W^T W + b_e W + b_d"),
    (tied_with(forward=lambda s, x: 2 * (x @ s.weight.T + s.encoder_bias) @ s.weight + s.decoder_bias),
     "x W^T W + b_e W + b_d"),
    (tied_with(init=_zeros_init), "W starts at zero"),
    (tied_with(init=lambda m: m.weight.requires_grad_(False)), "requires_grad is False"),
    (tied_with(forward=lambda s, x: (x @ s.weight.T + s.encoder_bias + torch.zeros(s.weight.shape[0])) @ s.weight
               + s.decoder_bias), "two devices"),
], ids=["untied", "no-encoder-bias", "no-decoder-bias", "no-biases", "relu", "scaled", "zero-W", "frozen", "cpu-zeros"])
def test_tied_autoencoder_rejects_with_true_hints(answer, words):
    assert_rejected(ch1.tied_autoencoder(answer), words)


def test_tied_autoencoder_stub():
    assert ch1.tied_autoencoder(...).message.startswith("Not done yet")
