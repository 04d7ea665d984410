"""Chapter 4 checks: each accepts correct answers written in several ways, and rejects the
wrong answers students write with a message that names the cause."""

import contextlib
import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from aecourse import data
from aecourse.checks import ExerciseNotDone, ch4
from aecourse.pca import fit_pca
from aecourse.train import evaluating
from answers_ch4 import ANSWERS
from student_answers import define
from verdicts import assert_accepted, assert_rejected


@contextlib.contextmanager
def one_thread():
    """PyTorch on one thread: on a busy two-core machine the small operations these tests run
    (4,344 tiny convolutions, one image at a time, a 784 x 784 eigendecomposition) spend
    most of their time with two threads waiting for each other (measured: 2 s against 0.08 s
    for the eigendecomposition). Nothing a check judges depends on the thread count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _one_thread():
    with one_thread():
        yield


# -- stubs --------------------------------------------------------------------------------

def raising_stub(label, name):
    def stub(*args, **kwargs):
        raise ExerciseNotDone(label, name)
    return stub


class _Tiny(nn.Module):
    """A model with one parameter, for the stub test of the anomaly check."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x):
        return self.scale * x


@pytest.mark.parametrize("check, name, extra", [
    (ch4.conv_output_size, "conv_output_size", ()),
    (lambda stub: ch4.upsampler(6, {2, 3}, stub), "make_upsampler", ()),
    (ch4.masking_noise, "masking_noise", ()),
    (ch4.kl_sparsity, "kl_sparsity", ()),
    (ch4.anomaly_score, "anomaly_score", (_Tiny(), torch.rand(64, 1, 28, 28))),
], ids=["conv-size", "upsampler", "masking", "kl", "anomaly"])
def test_stubs_are_not_done_yet(check, name, extra):
    for stub in (..., raising_stub("ex-ch4-x", name)):
        result = check(stub, *extra)
        assert not result.passed and result.message.startswith("Not done yet"), result.message


@pytest.mark.parametrize("diagnosis", [(..., {2, 3}), (6, ...), (..., ...)])
def test_upsampler_diagnosis_stubs_are_not_done_yet(diagnosis):
    result = ch4.upsampler(*diagnosis, make_upsampler)
    assert not result.passed and result.message.startswith("Not done yet"), result.message


# -- the size of a convolution's output ---------------------------------------------------

def conv_size(size, kernel, stride=1, padding=0):
    return (size + 2 * padding - kernel) // stride + 1


@torch.no_grad()
def conv_size_measured(size, kernel, stride=1, padding=0):
    return nn.Conv2d(1, 1, kernel, stride, padding)(torch.zeros(1, 1, size, size)).shape[-1]


def conv_size_by_counting(size, kernel, stride=1, padding=0):
    return sum(1 for _ in range(0, size + 2 * padding - kernel + 1, stride))


def test_conv_output_size_accepts_the_solution(device):
    assert_accepted(ch4.conv_output_size(conv_size, device=device))


@pytest.mark.parametrize("answer", [
    lambda size, kernel, stride=1, padding=0: math.floor((size + 2 * padding - kernel) / stride) + 1,
    lambda size, kernel, stride=1, padding=0: int((size - kernel + 2 * padding) / stride) + 1,
    conv_size_measured,
    conv_size_by_counting,
    lambda size, kernel, stride=1, padding=0: np.floor_divide(size + 2 * padding - kernel, stride) + 1,
    lambda size, kernel, stride=1, padding=0: torch.div(torch.tensor(size + 2 * padding - kernel), stride,
                                                        rounding_mode="floor") + 1,
], ids=["math-floor", "int-of-quotient", "measured-conv2d", "counting-positions", "numpy-integer", "0d-int-tensor"])
def test_conv_output_size_accepts(answer):
    assert_accepted(ch4.conv_output_size(answer))


@pytest.mark.parametrize("answer, words", [
    (lambda size, kernel, stride=1, padding=0: (size + 2 * padding - kernel) / stride + 1, "you divided with /"),
    (lambda size, kernel, stride=1, padding=0: (size + 2 * padding - kernel) / stride + 1, "return an int, rounded down"),
    (lambda size, kernel, stride=1, padding=0: float(conv_size(size, kernel, stride, padding)), "right, but floats"),
    (lambda size, kernel, stride=1, padding=0: torch.tensor(float(conv_size(size, kernel, stride, padding))),
     "return an int"),
    (lambda size, kernel, stride=1, padding=0: (size + 2 * padding - kernel) // stride, "You count one position too few"),
    (lambda size, kernel, stride=1, padding=0: (size + padding - kernel) // stride + 1, "adds the padding once"),
    (lambda size, kernel, stride=1, padding=0: math.ceil((size + 2 * padding - kernel) / stride) + 1, "Your count rounds up"),
    (lambda size, kernel, stride=1, padding=0: round((size + 2 * padding - kernel) / stride) + 1,
     "rounds to the nearest"),
    (lambda size, kernel, stride=1, padding=0: size + 2 * padding - kernel + 1, "Your count ignores the stride"),
    (lambda size, kernel, stride=1, padding=0: (size - kernel) // stride + 1, "Your count ignores the padding"),
    (lambda size, kernel, stride=1, padding=0: (size - kernel) // stride + 2,
     "Count the positions by hand"),
    (lambda size, kernel, stride, padding: conv_size(size, kernel, stride, padding),
     "signature gives stride and padding defaults"),
    (lambda size, kernel, stride=1, padding=0: str(conv_size(size, kernel, stride, padding)), "as an int"),
], ids=["slash", "slash-says-int", "float-of-right-value", "float-tensor", "no-plus-one", "padding-once", "ceil",
        "round", "stride-ignored", "padding-ignored", "other", "no-defaults", "string"])
def test_conv_output_size_rejects(answer, words):
    assert_rejected(ch4.conv_output_size(answer), words)


@pytest.mark.parametrize("answer, words", [
    (lambda size, kernel, stride=1, padding=1: conv_size(size, kernel, stride, padding),
     "conv_output_size(28, 3) returned 28, where nn.Conv2d(1, 1, 3), whose defaults are stride 1 and padding 0"),
    (lambda size, kernel, stride=2, padding=0: conv_size(size, kernel, stride, padding), "with stride and padding left out"),
    (lambda size, kernel, stride=1, padding=None: conv_size(size, kernel, stride, kernel // 2 if padding is None else padding),
     "A default must stand for nn.Conv2d's own"),
    (lambda size, kernel, stride=None, padding=0: conv_size(size, kernel, stride or 2, padding), "stride and padding left out"),
], ids=["padding-default-1", "stride-default-2", "same-padding-default", "stride-none-means-2"])
def test_conv_output_size_rejects_wrong_defaults(answer, words):
    assert_rejected(ch4.conv_output_size(answer), words)


def test_conv_output_size_judges_the_default_padding_with_a_stride_given():
    def padding_defaults_to_one_only_with_stride(size, kernel, stride=None, padding=None):
        if padding is None:
            padding = 0 if stride is None else 1
        return conv_size(size, kernel, stride or 1, padding)

    assert_rejected(ch4.conv_output_size(padding_defaults_to_one_only_with_stride), "with padding left out")


def test_conv_output_size_judges_the_default_stride_with_a_padding_given():
    def stride_defaults_to_two_with_padding(size, kernel, stride=None, padding=0):
        return conv_size(size, kernel, stride or (2 if padding else 1), padding)

    assert_rejected(ch4.conv_output_size(stride_defaults_to_two_with_padding), "with stride left out")


def test_conv_output_size_calls_by_keyword_as_the_chapter_does():
    assert_rejected(ch4.conv_output_size(lambda n, k, s=1, p=0: conv_size(n, k, s, p)),
                    "Name the parameters as the exercise does")


def test_conv_output_size_is_judged_on_every_range_it_names():
    """Wrong only at padding 3 (the largest padding the message names), or only at size 40: caught."""
    assert_rejected(ch4.conv_output_size(lambda size, kernel, stride=1, padding=0:
                                         conv_size(size, kernel, stride, padding) + (padding == 3)), "wrong on")
    assert_rejected(ch4.conv_output_size(lambda size, kernel, stride=1, padding=0:
                                         conv_size(size, kernel, stride, padding) + (size == 40)), "wrong on")
    assert_rejected(ch4.conv_output_size(lambda size, kernel, stride=1, padding=0:
                                         conv_size(size, kernel, stride, padding) + (kernel == 7 and stride == 4)),
                    "wrong on")


# -- the checkerboard diagnosed, and an even upsampler ---------------------------------------

def make_upsampler():
    return nn.Sequential(
        nn.ConvTranspose2d(32, 16, kernel_size=4, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.ConvTranspose2d(16, 1, kernel_size=4, stride=2, padding=1),
    )


def upsampler_check(answer, uneven_layer=6, stamps=frozenset({2, 3}), **options):
    return ch4.upsampler(uneven_layer, stamps, answer, **options)


class _Interpolating(nn.Module):
    """Resize with F.interpolate inside forward, then convolve."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(32, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 1, 3, padding=1)

    def forward(self, x):
        x = F.relu(self.conv1(F.interpolate(x, scale_factor=2, mode="nearest")))
        return self.conv2(F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False))


def test_the_checks_draft_is_the_notebooks():
    """The check judges the diagnosis on its own copy of the draft: it must be the notebook's."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
    from notebook_code import from_notebook

    draft_upsampler = from_notebook("04_conv_denoising_sparse", "draft_upsampler", namespace={"nn": nn, "CODE_SIZE": 9})
    ours, theirs = ch4._draft_upsampler(), draft_upsampler()
    assert [repr(m) for m in ours] == [repr(m) for m in theirs]


def test_upsampler_accepts_the_solution(device):
    result = upsampler_check(make_upsampler, device=device)
    assert_accepted(result)
    assert "[2, 3] stamps along one direction" in result.message and "at initialisation" in result.message


@pytest.mark.parametrize("uneven_layer", [6, -1, "6", np.int64(6), torch.tensor(6), [6]],
                         ids=["int", "negative", "string", "numpy", "tensor", "list"])
def test_upsampler_accepts_every_way_of_naming_the_layer(uneven_layer):
    assert_accepted(upsampler_check(make_upsampler, uneven_layer=uneven_layer))


def test_upsampler_accepts_the_layer_itself():
    assert_accepted(upsampler_check(make_upsampler, uneven_layer=ch4._draft_upsampler()[6]))


@pytest.mark.parametrize("stamps", [{2, 3}, [3, 2], (2, 3, 2), np.array([2, 3]), torch.tensor([3, 2]), {2.0, 3.0},
                                    {4, 6, 9}, [9, 6, 4, 6], {4, 6}, {6, 9}],
                         ids=["set", "list", "tuple-repeats", "numpy", "tensor", "floats", "2-d", "2-d-list",
                              "2-d-one-row", "2-d-other-row"])
def test_upsampler_accepts_every_way_of_writing_the_counts(stamps):
    assert_accepted(upsampler_check(make_upsampler, stamps=stamps))


@pytest.mark.parametrize("answer", [
    lambda: nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(32, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                          nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(16, 1, 3, padding=1)),
    _Interpolating,
    lambda: nn.Sequential(nn.ConvTranspose2d(32, 8, 2, stride=2), nn.ReLU(), nn.ConvTranspose2d(8, 1, 2, stride=2)),
    lambda: nn.ConvTranspose2d(32, 1, kernel_size=4, stride=4),
    lambda: nn.Sequential(nn.ConvTranspose2d(32, 16, 6, stride=2, padding=2), nn.ReLU(),
                          nn.ConvTranspose2d(16, 16, 3, stride=1, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                          nn.ConvTranspose2d(16, 1, 4, stride=2, padding=1)),
    lambda: nn.Sequential(*list(ch4._draft_upsampler())[:6], nn.ConvTranspose2d(16, 1, 4, 2, 1)),
], ids=["upsample-conv", "interpolate-in-forward", "kernel-2-stride-2", "one-layer-stride-4", "kernel-6-and-stride-1",
        "draft-with-its-last-layer-fixed"])
def test_upsampler_accepts(answer):
    assert_accepted(upsampler_check(answer))


@pytest.mark.parametrize("training", [True, False])
def test_upsampler_restores_the_modules_mode(training):
    module = make_upsampler()
    module.train(training)
    calls = iter([module, make_upsampler()])
    assert_accepted(upsampler_check(lambda: next(calls)))
    assert all(m.training == training for m in module.modules())


@pytest.mark.parametrize("uneven_layer, stamps, words", [
    (0, {2, 3}, "layer 0, ConvTranspose2d(32 -> 16 channels, kernel 2, stride 2, padding 0), covers its output evenly"),
    (3, {2, 3}, "receives 3 stamp(s)"),
    (1, {2, 3}, "layer 1 of the draft is a BatchNorm2d"),
    (5, {2, 3}, "places no stamps"),
    (7, {2, 3}, "indexed 0 to 6"),
    (-8, {2, 3}, "indexed 0 to 6"),
    ("last", {2, 3}, "an int from 0 to 6"),
    (True, {2, 3}, "an int from 0 to 6"),
    (6, {1, 2}, "receive other counts"),
    (6, {5}, "the kernel's width"),
    (6, 2.5, "kernel / stride, the average number of stamps"),
    (6, {2.5}, "a pixel receives a whole number of stamps"),
    (6, {1, 2, 3}, "1 occurs only at the border"),
    (6, {3}, "one count alone"),
    (6, 2, "one count alone"),
    (6, "2, 3", "a set of ints"),
    (6, {4, 9}, "receive other counts"),
    (6, {64, 96, 144}, "those are the layer's counts in two dimensions, each multiplied by 16"),
    (6, [32, 48], "those are the layer's counts along a row, each multiplied by 16"),
], ids=["even-transposed-0", "even-transposed-3", "batchnorm", "relu", "one-based", "out-of-range", "a-word", "bool",
        "kernel-3-pattern", "kernel-width", "average", "average-in-a-set", "border-included", "one-count",
        "one-number", "a-string", "corners-of-2-d", "measured-with-16-channels", "row-times-16"])
def test_upsampler_rejects_a_wrong_diagnosis(uneven_layer, stamps, words):
    assert_rejected(upsampler_check(make_upsampler, uneven_layer=uneven_layer, stamps=stamps), words)


shared = make_upsampler()


@pytest.mark.parametrize("answer, words", [
    (lambda: nn.Sequential(nn.ConvTranspose2d(32, 16, 3, 2, 1, output_padding=1), nn.ReLU(),
                           nn.ConvTranspose2d(16, 1, 3, 2, 1, output_padding=1)),
     "kernel 3, stride 2) covers its output unevenly"),
    (lambda: nn.Sequential(nn.ConvTranspose2d(32, 16, 3, 2, 1, output_padding=1), nn.ReLU(),
                           nn.ConvTranspose2d(16, 1, 3, 2, 1, output_padding=1)),
     "the checkerboard you diagnosed in the draft"),
    (lambda: ch4._draft_upsampler(), "layer 6 (ConvTranspose2d, kernel 5, stride 2) covers its output unevenly"),
    (lambda: nn.Sequential(nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(16, 1, 3, 2, 1)),
     "it made 27 x 27"),
    (lambda: nn.Sequential(nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(16, 1, 5, 2, 1)),
     "it made 29 x 29"),
    (lambda: nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(32, 16, 3), nn.ReLU(),
                           nn.Upsample(scale_factor=2), nn.Conv2d(16, 1, 3)),
     "The layers that change the size"),
    (lambda: nn.Sequential(nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(16, 3, 4, 2, 1)),
     "a grey MNIST digit has 1"),
    (lambda: nn.Upsample(scale_factor=4), "nothing to learn"),
    (lambda: nn.Sequential(nn.ConvTranspose2d(64, 16, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(16, 1, 4, 2, 1)),
     "(N, 32, 7, 7)"),
    (lambda: (lambda z: z), "nn.Module"),
    (lambda: nn.Sequential(make_upsampler(), nn.Sigmoid()), "strictly between 0 and 1"),
    (lambda: shared, "returned the same module"),
], ids=["checkerboard", "checkerboard-named", "the-draft-itself", "27", "29", "conv-without-padding", "channels",
        "no-params", "64-input-channels", "a-function", "sigmoid", "shared-module"])
def test_upsampler_rejects_a_wrong_design(answer, words):
    assert_rejected(upsampler_check(answer), words)


class _AddsACpuTensor(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = make_upsampler()

    def forward(self, x):
        return self.layers(x + torch.zeros(x.shape))


def test_upsampler_rejects_a_forward_that_makes_cpu_tensors():
    assert_rejected(upsampler_check(_AddsACpuTensor), "two devices")


# -- masking noise ------------------------------------------------------------------------

def masking_noise(x, fraction):
    return x * (torch.rand_like(x) >= fraction)


def exact_count(x, fraction):
    flat = x.reshape(len(x), -1).clone()
    k = round(fraction * flat.shape[1])
    chosen = torch.rand(flat.shape, device=x.device).argsort(dim=1)[:, :k]
    return flat.scatter(1, chosen, 0.0).reshape(x.shape)


def per_image_loop(x, fraction):
    noisy = x.clone()
    flat = noisy.view(len(x), -1)
    k = round(fraction * flat.shape[1])
    for image in flat:
        image[torch.randperm(flat.shape[1], device=x.device)[:k]] = 0
    return noisy


def numpy_mask(x, fraction):
    keep = np.random.rand(*x.shape) >= fraction
    return x * torch.from_numpy(keep).to(x.device)


def test_masking_noise_accepts_the_solution(device):
    assert_accepted(ch4.masking_noise(masking_noise, device=device))


@pytest.mark.parametrize("answer", [
    lambda x, fraction: x.masked_fill(torch.rand_like(x) < fraction, 0.0),
    lambda x, fraction: x * torch.bernoulli(torch.full_like(x, 1 - fraction)),
    exact_count,
    lambda x, fraction: torch.where(torch.rand(x.shape, device=x.device) < fraction, torch.zeros_like(x), x),
    lambda x, fraction: F.dropout(x, fraction) * (1 - fraction),  # dropout, its rescaling undone
], ids=["masked-fill", "bernoulli", "exact-count-per-image", "where", "dropout-rescaled-back"])
def test_masking_noise_accepts(answer, device):
    assert_accepted(ch4.masking_noise(answer, device=device))


@pytest.mark.parametrize("answer", [per_image_loop, numpy_mask], ids=["loop-randperm", "numpy-mask"])
def test_masking_noise_accepts_loops_and_numpy(answer):
    assert_accepted(ch4.masking_noise(answer))


def in_place(x, fraction):
    x[torch.rand_like(x) < fraction] = 0
    return x


def seeded(x, fraction):
    g = torch.Generator(device=x.device).manual_seed(0)
    return x * (torch.rand(x.shape, generator=g, device=x.device) >= fraction)


def with_replacement(x, fraction):
    flat = x.reshape(len(x), -1)
    k = round(fraction * flat.shape[1])
    chosen = torch.randint(0, flat.shape[1], (len(x), k), device=x.device)
    return flat.scatter(1, chosen, 0.0).reshape(x.shape)


def uneven_positions(x, fraction):
    flat = x.reshape(len(x), -1)
    chance = fraction + 0.2 * torch.linspace(-1, 1, flat.shape[1], device=x.device)
    return (flat * (torch.rand_like(flat) >= chance)).reshape(x.shape)


def at_least_one(x, fraction):
    flat = x.reshape(len(x), -1)
    k = max(1, round(fraction * flat.shape[1]))
    chosen = torch.rand(flat.shape, device=x.device).argsort(dim=1)[:, :k]
    return flat.scatter(1, chosen, 0.0).reshape(x.shape)


def keeps_one(x, fraction):
    flat = x.reshape(len(x), -1)
    k = min(round(fraction * flat.shape[1]), flat.shape[1] - 1)
    chosen = torch.rand(flat.shape, device=x.device).argsort(dim=1)[:, :k]
    return flat.scatter(1, chosen, 0.0).reshape(x.shape)


@pytest.mark.parametrize("answer, words", [
    (lambda x, fraction: F.dropout(x, fraction), "dropout rescales the pixels it keeps"),
    (lambda x, fraction: nn.Dropout(fraction)(x), "masking noise must leave them as they are"),
    (lambda x, fraction: x * (torch.rand(x.shape[1:], device=x.device) >= fraction), "every image got the same mask"),
    (lambda x, fraction: x * (torch.rand_like(x) < fraction), "you kept `fraction` of the pixels instead of dropping"),
    (lambda x, fraction: x * (torch.rand_like(x) >= fraction / 2), "expected 0.3. Each pixel is dropped"),
    (with_replacement, "drawn with replacement"),
    (in_place, "return a new tensor; the clean images are the target"),
    (seeded, "two calls gave the same mask"),
    (lambda x, fraction: (x + 0.05 * torch.randn_like(x)) * (torch.rand_like(x) >= fraction), "values other than 0"),
    (lambda x, fraction: x * (torch.rand((len(x),) + (1,) * (x.ndim - 1), device=x.device) >= fraction),
     "kept or dropped whole"),
    (uneven_positions, "masked more often than others"),
    (at_least_one, "with fraction = 0 nothing may change"),
    (keeps_one, "with fraction = 1 every pixel must be 0"),
    (lambda x, fraction: x * torch.from_numpy(1.0 * (np.random.rand(*x.shape) >= fraction)).to(x.device),
     "keep x's dtype"),
    (lambda x, fraction: x.reshape(len(x), -1) * (torch.rand_like(x.reshape(len(x), -1)) >= fraction),
     "must have the shape of x"),
    (lambda x, fraction: (x * (torch.rand_like(x) >= fraction), torch.rand_like(x) >= fraction), "as a tensor"),
], ids=["F-dropout", "nn-Dropout", "same-mask", "inverted", "half-fraction", "with-replacement", "in-place",
        "seeded-inside", "noise-added", "whole-images", "uneven-positions", "fraction-0", "fraction-1",
        "float64-numpy-mask", "flattened", "tuple"])
def test_masking_noise_rejects(answer, words, device):
    assert_rejected(ch4.masking_noise(answer, device=device), words)


def test_masking_noise_rejects_a_mask_made_on_the_cpu():
    assert_rejected(ch4.masking_noise(lambda x, fraction: x * (torch.rand(x.shape) >= fraction)), "two devices")


def test_masking_noise_rejects_a_numpy_mask_left_on_the_cpu():
    def left_on_cpu(x, fraction):
        return x * torch.from_numpy(np.random.rand(*x.shape) >= fraction)

    assert_rejected(ch4.masking_noise(left_on_cpu), "two devices")


# -- the KL sparsity penalty ----------------------------------------------------------------

def kl_sparsity(activations, rho, eps=1e-6):
    rho_hat = activations.mean(dim=0).clamp(eps, 1 - eps)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


def kl_with_kl_div(activations, rho):
    rho_hat = activations.mean(0).clamp(1e-6, 1 - 1e-6)
    q = torch.stack([rho_hat, 1 - rho_hat])
    p = torch.stack([torch.full_like(rho_hat, rho), torch.full_like(rho_hat, 1 - rho)])
    return F.kl_div(q.log(), p, reduction="sum")


def kl_with_distributions(activations, rho):
    rho_hat = activations.mean(0).clamp(1e-5, 1 - 1e-5)
    return torch.distributions.kl_divergence(torch.distributions.Bernoulli(probs=torch.full_like(rho_hat, rho)),
                                             torch.distributions.Bernoulli(probs=rho_hat)).sum()


def kl_unit_by_unit(activations, rho):
    total = 0
    for j in range(activations.shape[1]):
        r = torch.clamp(activations[:, j].mean(), 1e-4, 1 - 1e-4)
        total = total + rho * torch.log(rho / r) + (1 - rho) * torch.log((1 - rho) / (1 - r))
    return total


def test_kl_sparsity_accepts_the_solution(device):
    assert_accepted(ch4.kl_sparsity(kl_sparsity, device=device))


@pytest.mark.parametrize("answer", [
    lambda a, rho: kl_sparsity(a, rho, eps=1e-3),
    lambda a, rho: kl_sparsity(a, rho, eps=1e-2),
    lambda a, rho: (rho * torch.log(rho / (a.mean(0) + 1e-8))
                    + (1 - rho) * torch.log((1 - rho) / (1 - a.mean(0) + 1e-8))).sum(),
    kl_with_kl_div,
    kl_with_distributions,
    kl_unit_by_unit,
    lambda a, rho: (rho * torch.log(rho / (a.mean(0) + 1e-4))
                    + (1 - rho) * torch.log((1 - rho) / (1 - a.mean(0) + 1e-4))).sum(),
    lambda a, rho: torch.sum(rho * (math.log(rho) - torch.log(a.mean(0).clamp_min(1e-6)))
                             + (1 - rho) * (math.log(1 - rho) - torch.log1p(-a.mean(0).clamp_max(1 - 1e-6)))),
], ids=["eps-1e-3", "eps-1e-2", "eps-added", "F-kl_div", "torch-distributions", "unit-by-unit", "eps-1e-4-added",
        "log1p"])
def test_kl_sparsity_accepts(answer, device):
    assert_accepted(ch4.kl_sparsity(answer, device=device))


def kl_terms(rho, rho_hat):
    return rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))


def wrong_only_at_rho(a, rho):
    """Right wherever the penalty is not tiny: only the check that it vanishes at rho_hat = rho sees it."""
    value = kl_sparsity(a, rho)
    return value + 0.1 * (value.detach() < 1e-3)


def nan_gradient(a, rho):
    terms = kl_terms(rho, a.mean(0))
    return torch.where(torch.isfinite(terms), terms, torch.full_like(terms, 10.0)).sum()


@pytest.mark.parametrize("answer, words", [
    (lambda a, rho: kl_terms(rho, a.mean(1).clamp(1e-6, 1 - 1e-6)).sum(),
     "rho_hat_j is unit j's average over the images in the batch"),
    (lambda a, rho: kl_terms(rho, a.mean(1).clamp(1e-6, 1 - 1e-6)), "one value per image"),
    (lambda a, rho: kl_terms(rho, a.mean().clamp(1e-6, 1 - 1e-6)), "not one mean of all the activations"),
    (lambda a, rho: kl_terms(a.mean(0).clamp(1e-6, 1 - 1e-6), rho).sum(), "the other direction: Ng's penalty"),
    (lambda a, rho: (rho * torch.log(rho / a.mean(0).clamp(1e-6, 1 - 1e-6))).sum(), "(1 - rho) term is missing"),
    (lambda a, rho: kl_terms(rho, a.mean(0).clamp(1e-6, 1 - 1e-6)).mean(), "a mean divides the penalty by H"),
    (lambda a, rho: ((rho - a.mean(0)) ** 2).sum(), "a valid but different penalty"),
    (lambda a, rho: F.binary_cross_entropy(a.mean(0), torch.full_like(a.mean(0), rho), reduction="sum"),
     "That is the cross-entropy"),
    (wrong_only_at_rho, "the penalty must be 0"),
    (lambda a, rho: kl_terms(rho, a.clamp(1e-6, 1 - 1e-6)).mean(0).sum(), "the KL of each activation"),
    (lambda a, rho: kl_terms(rho, a.mean(0)).sum(), "with a dead unit (every activation 0, so rho_hat = 0) it gives inf"),
    (lambda a, rho: kl_terms(rho, a.mean(0).clamp_min(1e-6)).sum(),
     "with a saturated unit (every activation 1, so rho_hat = 1) it gives inf: log((1 - rho) / 0) is infinite"),
    (lambda a, rho: torch.nan_to_num(kl_terms(rho, a.mean(0)), posinf=0.0).sum(), "need the penalty most"),
    (nan_gradient, "the gradient is NaN"),
    (lambda a, rho: kl_sparsity(a, rho).item(), "a number cannot be trained through"),
    (lambda a, rho: kl_sparsity(a, rho).detach(), "a number cannot be trained through"),
    (lambda a, rho: kl_terms(rho, a.mean(0).clamp(1e-6, 1 - 1e-6)), "sum it"),
    (lambda a, rho: kl_terms(rho, a.sum(0)).sum(), "mean over the batch"),
    (lambda a, rho: kl_terms(rho, a.mean(0).clamp(0.05, 0.95)).sum(), "A larger eps than 0.01"),
], ids=["dim-1", "dim-1-unsummed", "mean-of-all", "swapped", "no-1-minus-rho", "mean-over-units", "squared",
        "cross-entropy", "not-0-at-rho", "kl-per-activation", "no-clamp", "lower-clamp-only", "nan-to-num",
        "where-after-log", "item", "detach", "vector", "sum-over-batch", "huge-eps"])
def test_kl_sparsity_rejects(answer, words, device):
    assert_rejected(ch4.kl_sparsity(answer, device=device), words)


def test_kl_sparsity_rejects_a_target_vector_made_on_the_cpu():
    def cpu_target(a, rho):
        target = torch.full((a.shape[1],), rho)
        rho_hat = a.mean(0).clamp(1e-6, 1 - 1e-6)
        return (target * torch.log(target / rho_hat) + (1 - target) * torch.log((1 - target) / (1 - rho_hat))).sum()

    assert_rejected(ch4.kl_sparsity(cpu_target), "two devices")


# -- anomaly scores --------------------------------------------------------------------------

class PCAReconstructor(nn.Module):
    """PCA-30 as an autoencoder: project the 784 pixels on the top 30 directions and back.
    With ``batchnorm``, a BatchNorm2d(1) in front, whose train mode makes scores batch-dependent."""

    def __init__(self, pca, k=30, batchnorm=False):
        super().__init__()
        self.norm = nn.BatchNorm2d(1) if batchnorm else nn.Identity()
        self.basis = nn.Parameter(pca.basis(k).float().clone())
        self.register_buffer("centre", pca.mean.float().clone())

    def forward(self, x):
        flat = self.norm(x).flatten(1) - self.centre
        return (flat @ self.basis @ self.basis.T + self.centre).reshape(x.shape)


@pytest.fixture(scope="module")
def pca_and_digits(mnist_dir):
    """PCA fitted on 5,000 training digits, and 4,000 test digits (two halves of 2,000)."""
    with pytest.MonkeyPatch.context() as patch, one_thread():
        patch.setenv("AECOURSE_DATA", str(mnist_dir))
        train = data.load_mnist(train=True, subset=5000)
        test = data.load_mnist(train=False, subset=4000, seed=1)
        return fit_pca(train.flat), test.images


@pytest.fixture
def pca_model(pca_and_digits, device):
    return PCAReconstructor(pca_and_digits[0]).to(device), pca_and_digits[1]


@pytest.fixture
def bn_model(pca_and_digits):
    return PCAReconstructor(pca_and_digits[0], batchnorm=True), pca_and_digits[1]


def pooled_score(model, images, window=5):
    was_training = model.training
    model.eval()
    with torch.no_grad():
        error = (model(images) - images) ** 2
        score = F.avg_pool2d(error, window, stride=1).flatten(1).amax(dim=1)
    model.train(was_training)
    return score


def with_evaluating(model, images):
    """The chapter's own solution: aecourse.train.evaluating, and a 4 x 4 window."""
    with evaluating(model):
        error = (model(images) - images).pow(2)
    return F.avg_pool2d(error, kernel_size=4, stride=1).flatten(1).amax(dim=1)


def chunked_inference(model, images):
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            parts = []
            for batch in images.split(300):
                error = (model(batch) - batch).abs()
                parts.append(F.adaptive_max_pool2d(F.avg_pool2d(error, 4, stride=1), 1).flatten())
            return torch.cat(parts)
    finally:
        model.train(was_training)


def numpy_windows(model, images):
    frozen = copy.deepcopy(model).eval()
    with torch.no_grad():
        error = ((frozen(images) - images) ** 2).cpu().numpy()
    windows = np.lib.stride_tricks.sliding_window_view(error, (5, 5), axis=(2, 3))
    return windows.mean(axis=(-1, -2)).max(axis=(1, 2, 3))


def ones_kernel_one_by_one(model, images):
    was_training = model.training
    model.eval()
    kernel = torch.ones(1, 1, 6, 6, device=images.device) / 36
    scores = []
    with torch.no_grad():
        for image in images:
            error = (model(image[None]) - image[None]) ** 2
            scores.append(F.conv2d(error, kernel).max())
    model.train(was_training)
    return torch.stack(scores)


def test_anomaly_score_accepts_the_solution(pca_model):
    model, images = pca_model
    result = ch4.anomaly_score(pooled_score, model, images, target_auc=0.8)
    assert_accepted(result)
    assert "the mean squared error over the whole image gives 0.7" in result.message


@pytest.mark.parametrize("answer", [with_evaluating, chunked_inference, numpy_windows, ones_kernel_one_by_one],
                         ids=["evaluating-window-4", "chunks-inference-mode-abs", "deepcopy-numpy-windows",
                              "conv-one-by-one"])
def test_anomaly_score_accepts(answer, pca_and_digits):
    model = PCAReconstructor(pca_and_digits[0])
    assert_accepted(ch4.anomaly_score(answer, model, pca_and_digits[1], target_auc=0.8))


def test_anomaly_score_accepts_and_leaves_a_batchnorm_model_as_it_was(bn_model):
    model, images = bn_model
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert_accepted(ch4.anomaly_score(pooled_score, model, images, target_auc=0.8))
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def mse_score(model, images):
    was_training = model.training
    model.eval()
    with torch.no_grad():
        scores = ((model(images) - images) ** 2).flatten(1).mean(dim=1)
    model.train(was_training)
    return scores


def eval_without_restoring(model, images):
    model.eval()
    with torch.no_grad():
        return F.avg_pool2d((model(images) - images) ** 2, 5, stride=1).flatten(1).amax(dim=1)


def always_train_after(model, images):
    scores = eval_without_restoring(model, images)
    model.train()
    return scores


def batch_normalised(model, images):
    scores = pooled_score(model, images)
    return (scores - scores.mean()) / scores.std()


def with_graph(model, images):
    was_training = model.training
    model.eval()
    scores = F.avg_pool2d((model(images) - images) ** 2, 5, stride=1).flatten(1).amax(dim=1)
    model.train(was_training)
    return scores


def in_place_images(model, images):
    was_training = model.training
    model.eval()
    with torch.no_grad():
        images.sub_(model(images))
    model.train(was_training)
    return F.avg_pool2d(images**2, 5, stride=1).flatten(1).amax(dim=1)


def per_pixel(model, images):
    was_training = model.training
    model.eval()
    with torch.no_grad():
        error = (model(images) - images) ** 2
    model.train(was_training)
    return error


def no_model(model, images):
    return F.avg_pool2d(images, 5, stride=1).flatten(1).amax(dim=1)


def constant(model, images):
    pooled_score(model, images)
    return torch.zeros(len(images))


def nan_scores(model, images):
    scores = pooled_score(model, images)
    scores[0] = float("nan")
    return scores


@pytest.mark.parametrize("answer, words", [
    (mse_score, "your scores still rank many clean digits above defective ones"),
    (mse_score, "Your scores rank the images as their mean squared error over the whole image does"),
    (lambda model, images: 3 * mse_score(model, images).sqrt(), "as their mean squared error over the whole image does"),
    (lambda model, images: -pooled_score(model, images), "MORE normal than the clean ones"),
    (per_pixel, "one score per pixel"),
    (lambda model, images: pooled_score(model, images).mean(), "one number for the whole batch"),
    (nan_scores, "NaN or infinite"),
    (batch_normalised, "an image's score must not depend on the other images in the batch"),
    (eval_without_restoring, "it switched model from training mode to evaluation mode and left it there"),
    (always_train_after, "it switched model from evaluation mode to training mode"),
    (with_graph, "the scores require grad"),
    (in_place_images, "it changed the values of images in place"),
    (no_model, "never ran the model"),
    (constant, "every image got the same score"),
], ids=["mse", "mse-named", "mse-transformed", "negated", "per-pixel", "one-number", "nan", "batch-normalised", "eval-not-restored",
        "train-always", "graph", "in-place", "no-model", "constant"])
def test_anomaly_score_rejects(answer, words, pca_model):
    model, images = pca_model
    assert_rejected(ch4.anomaly_score(answer, model, images, target_auc=0.8), words)


def no_eval(model, images):
    with torch.no_grad():
        return F.avg_pool2d((model(images) - images) ** 2, 5, stride=1).flatten(1).amax(dim=1)


def test_anomaly_score_rejects_batchnorm_in_train_mode(bn_model):
    model, images = bn_model
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert_rejected(ch4.anomaly_score(no_eval, model, images, target_auc=0.8), "ran in training mode while scoring")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items()), "the check left running stats changed"


def snapshot(model):
    return ({k: (v.clone(), v.dtype, v.device) for k, v in model.state_dict().items()},
            [m.training for m in model.modules()])


def same(model, before):
    state, modes = before
    now = model.state_dict()
    return (set(now) == set(state) and [m.training for m in model.modules()] == modes
            and all(torch.equal(now[k], v) and now[k].dtype == dtype and now[k].device == where
                    for k, (v, dtype, where) in state.items()))


def doubles_the_model(model, images):
    model.double()
    with evaluating(model):
        error = (model(images.double()) - images.double()) ** 2
    return F.avg_pool2d(error, 5, stride=1).flatten(1).amax(dim=1)


def scales_the_weights(model, images):
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1.01)
    return pooled_score(model, images)


def flips_every_mode(model, images):
    scores = pooled_score(model, images)
    model.train(not model.training)
    return scores


def moves_running_stats(model, images):
    with torch.no_grad():
        model.train()(images)  # train-mode pass: the running averages move
    return pooled_score(model, images)


@pytest.mark.parametrize("answer, words", [
    (doubles_the_model, "changed model's dtype from torch.float32 to torch.float64"),
    (scales_the_weights, "it changed model's weights"),
    (flips_every_mode, "mode and left it there"),
    (moves_running_stats, "ran in training mode while scoring"),
    (in_place_images, "changed the values of images in place"),
], ids=["double", "weights", "mode", "running-stats", "images-in-place"])
@pytest.mark.parametrize("training", [True, False], ids=["train-mode", "eval-mode"])
def test_anomaly_score_leaves_the_model_and_images_exactly_as_found(answer, words, training, bn_model):
    model, images = bn_model
    model.train(training)
    model.norm.train(not training)  # a mixed state, which a blanket model.train() would not restore
    before, pixels = snapshot(model), images.clone()
    assert_rejected(ch4.anomaly_score(answer, model, images[:600], target_auc=0.8), words)
    assert same(model, before), "the check left the model changed"
    assert torch.equal(images, pixels), "the check left the images changed"


def test_anomaly_score_leaves_a_mixed_mode_model_as_found_when_it_passes(bn_model):
    model, images = bn_model
    model.eval()
    model.norm.train()
    before = snapshot(model)
    assert_accepted(ch4.anomaly_score(pooled_score, model, images[:600], target_auc=0.8))
    assert same(model, before)


# -- the answers of tests/answers_ch4.py: every correct one passes, every wrong one is rejected -------

def judge(label, source, pca_model=None):
    """The verdict of exercise ``label``'s check on the cell ``source``, called as the notebook calls it."""
    names = define(source, draft_upsampler=ch4._draft_upsampler, evaluating=evaluating)
    if label == "ex-ch4-size":
        return ch4.conv_output_size(names["conv_output_size"])
    if label == "ex-ch4-upsampler":
        return ch4.upsampler(names["uneven_layer"], names["stamps"], names["make_upsampler"])
    if label == "ex-ch4-mask":
        return ch4.masking_noise(names["masking_noise"])
    if label == "ex-ch4-kl":
        return ch4.kl_sparsity(names["kl_sparsity"])
    model, images = pca_model
    return ch4.anomaly_score(names["anomaly_score"], model, images[:1000], target_auc=0.8)


def test_every_exercise_has_answers():
    assert list(ANSWERS) == [e.label for e in ch4_exercises()]
    for label, answers in ANSWERS.items():
        assert len(answers["correct"]) >= 2 and len(answers["wrong"]) >= 5, label


def ch4_exercises():
    from aecourse.checks.core import EXERCISES
    return [e for e in EXERCISES.values() if e.chapter == ch4.__name__]


CORRECT = [(label, i, src) for label, a in ANSWERS.items() for i, src in enumerate(a["correct"])]
WRONG = [(label, i, src, words) for label, a in ANSWERS.items() for i, (src, words) in enumerate(a["wrong"])]


@pytest.mark.parametrize("label, i, source", CORRECT, ids=[f"{label}-{i}" for label, i, _ in CORRECT])
def test_answers_correct(label, i, source, request):
    digits = request.getfixturevalue("pca_and_digits") if label == "ex-ch4-anomaly" else None
    assert_accepted(judge(label, source, digits and (PCAReconstructor(digits[0]), digits[1])))


def batchnorm_pca(pca, digits):
    """PCA-30 behind a BatchNorm2d whose running averages and affine map undo each other on MNIST:
    eval mode reconstructs like plain PCA, train mode depends on the batch."""
    model = PCAReconstructor(pca, batchnorm=True)
    mean, std = float(digits.mean()), float(digits.std())
    with torch.no_grad():
        model.norm.running_mean.fill_(mean)
        model.norm.running_var.fill_(std**2)
        model.norm.weight.fill_(std)
        model.norm.bias.fill_(mean)
    return model


@pytest.mark.parametrize("label, i, source, words", WRONG, ids=[f"{label}-{i}" for label, i, _, _ in WRONG])
def test_answers_wrong(label, i, source, words, request):
    digits = request.getfixturevalue("pca_and_digits") if label == "ex-ch4-anomaly" else None
    assert_rejected(judge(label, source, digits and (batchnorm_pca(*digits), digits[1])), words)


def test_anomaly_score_in_fast_mode_asks_for_less_than_the_full_runs_target_and_says_so(pca_model, monkeypatch):
    """A fast run's model is a shortened run's: the check then asks for a margin above the whole-image MSE."""
    model, images = pca_model
    monkeypatch.setenv("AECOURSE_FAST", "1")
    passed = ch4.anomaly_score(pooled_score, model, images, target_auc=0.99)
    assert_accepted(passed)
    assert "Fast mode: the model comes from a shortened run" in passed.message
    assert_rejected(ch4.anomaly_score(mse_score, model, images, target_auc=0.99),
                    "Fast mode: the model comes from a shortened run")
    monkeypatch.delenv("AECOURSE_FAST")
    assert_rejected(ch4.anomaly_score(pooled_score, model, images, target_auc=0.99), "short of the 0.990 asked")
