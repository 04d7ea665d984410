"""Chapter 1 checks: each passes a correct answer and rejects typical wrong ones with a hint."""

import torch
from torch import nn

from aecourse.checks import ch1


# -- the mended training loop ---------------------------------------------------

def _init():
    w_enc = torch.randn(2, 1, requires_grad=True)
    b_enc = torch.zeros(1, requires_grad=True)
    w_dec = torch.randn(1, 2, requires_grad=True)
    b_dec = torch.zeros(2, requires_grad=True)
    return w_enc, b_enc, w_dec, b_dec


def mended_train(x, steps, lr):
    """The correct loop: the four parameters in the optimizer, float losses."""
    w_enc, b_enc, w_dec, b_dec = _init()
    optimizer = torch.optim.SGD([w_enc, b_enc, w_dec, b_dec], lr=lr)
    losses = []
    for _ in range(steps):
        reconstruction = (x @ w_enc + b_enc) @ w_dec + b_dec
        loss = ((reconstruction - x) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def original_train(x, steps, lr):
    """The asker's loop: the optimizer gets slices of the data, so nothing learns."""
    w_enc, b_enc, w_dec, b_dec = _init()
    optimizer = torch.optim.SGD([x[:, 0], x[:, 1]], lr=lr)
    losses = []
    for _ in range(steps):
        reconstruction = (x @ w_enc + b_enc) @ w_dec + b_dec
        loss = ((reconstruction - x) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def tensor_losses_train(x, steps, lr):
    """Learns, but keeps the loss tensors (and their graphs)."""
    w_enc, b_enc, w_dec, b_dec = _init()
    optimizer = torch.optim.SGD([w_enc, b_enc, w_dec, b_dec], lr=lr)
    losses = []
    for _ in range(steps):
        loss = ((((x @ w_enc + b_enc) @ w_dec + b_dec) - x) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss)
    return losses


def test_mended_loop_passes():
    """The mended loop is accepted and quotes the PCA optimum."""
    result = ch1.mended_loop(mended_train)
    assert result.passed, result.message
    assert "rank-1 PCA" in result.message


def test_original_loop_rejected_mentioning_parameters():
    """Handing the optimizer data slices leaves the loss constant; the hint names the parameters."""
    result = ch1.mended_loop(original_train)
    assert not result.passed
    assert "never moved" in result.message
    assert "parameter" in result.message


def test_tensor_losses_rejected_mentioning_item():
    """Losses stored as tensors are rejected with the .item() hint."""
    result = ch1.mended_loop(tensor_losses_train)
    assert not result.passed
    assert "loss.item()" in result.message


def test_wrong_length_rejected():
    """Returning one loss instead of one per step is rejected."""
    result = ch1.mended_loop(lambda x, steps, lr: mended_train(x, steps, lr)[-1:])
    assert not result.passed
    assert "one loss per step" in result.message


def test_mended_loop_stub_and_unfinished():
    """The ... placeholder and the stub's ExerciseNotDone give 'Not done yet'; a
    NotImplementedError of the student's own is reported as an error in the answer."""
    from aecourse.checks import ExerciseNotDone

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
    """A loop that crashes gives a verdict naming the exception, not an exception."""

    def crashing(x, steps, lr):
        w = torch.randn(3, 1, requires_grad=True)
        return [(x @ w).sum().item()]  # (100, 2) @ (3, 1): shape error

    result = ch1.mended_loop(crashing)
    assert not result.passed
    assert "RuntimeError" in result.message


# -- the PCA error by SVD ---------------------------------------------------------

def pca_error_svd(x, k):
    """Rank-k reconstruction error by SVD of the centred data."""
    mean = x.mean(dim=0)
    u, s, vh = torch.linalg.svd(x - mean, full_matrices=False)
    reconstruction = (u[:, :k] * s[:k]) @ vh[:k] + mean
    return ((reconstruction - x) ** 2).mean().item()


def pca_error_uncentred(x, k):
    """The same without removing the mean."""
    u, s, vh = torch.linalg.svd(x, full_matrices=False)
    return (((u[:, :k] * s[:k]) @ vh[:k] - x) ** 2).mean().item()


def test_pca_error_passes():
    """The centred SVD answer is accepted."""
    result = ch1.pca_error(pca_error_svd)
    assert result.passed, result.message


def test_pca_error_without_centring_mentions_mean():
    """Forgetting to centre is rejected with a hint about the means."""
    result = ch1.pca_error(pca_error_uncentred)
    assert not result.passed
    assert "mean" in result.message


def test_pca_error_wrong_average_rejected():
    """Summing instead of averaging over the entries is rejected with the averaging hint."""
    result = ch1.pca_error(lambda x, k: pca_error_svd(x, k) * x.numel())
    assert not result.passed
    assert "Average" in result.message


def test_pca_error_stub_and_crash():
    """A stub is 'Not done yet'; a crash names the exception."""
    assert ch1.pca_error(...).message.startswith("Not done yet")
    result = ch1.pca_error(lambda x, k: torch.linalg.svd(x)[k + 10])
    assert not result.passed
    assert "IndexError" in result.message


# -- the tied autoencoder -----------------------------------------------------------

class TiedAutoencoder(nn.Module):
    """One weight W (k, d): encode with x @ W.T + b, decode with z @ W + c."""

    def __init__(self, d, k):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(k, d) / d**0.5)
        self.encoder_bias = nn.Parameter(torch.zeros(k))
        self.decoder_bias = nn.Parameter(torch.zeros(d))

    def forward(self, x):
        z = x @ self.weight.T + self.encoder_bias
        return z @ self.weight + self.decoder_bias


class UntiedAutoencoder(nn.Module):
    """Separate encoder and decoder matrices."""

    def __init__(self, d, k):
        super().__init__()
        self.encoder = nn.Linear(d, k)
        self.decoder = nn.Linear(k, d)

    def forward(self, x):
        return self.decoder(self.encoder(x))


class MisusedTiedAutoencoder(TiedAutoencoder):
    """One matrix, but the decoder does not use W itself."""

    def forward(self, x):
        z = x @ self.weight.T + self.encoder_bias
        return 2 * (z @ self.weight) + self.decoder_bias


def test_tied_autoencoder_passes():
    """A tied model is accepted and its parameter count quoted."""
    result = ch1.tied_autoencoder(TiedAutoencoder)
    assert result.passed, result.message
    assert "17 parameters" in result.message  # 5*2 + 2 + 5


def test_untied_autoencoder_rejected():
    """Two weight matrices are rejected: a tied model has one."""
    result = ch1.tied_autoencoder(UntiedAutoencoder)
    assert not result.passed
    assert "found 2 weight matrices" in result.message


def test_tied_weight_misused_rejected():
    """One matrix used other than as W.T W is rejected with the formula."""
    result = ch1.tied_autoencoder(MisusedTiedAutoencoder)
    assert not result.passed
    assert "x W^T W + c" in result.message


def test_tied_autoencoder_stub():
    """The stub class placeholder is 'Not done yet'."""
    assert ch1.tied_autoencoder(...).message.startswith("Not done yet")


# -- the first diverging learning rate -----------------------------------------------

def test_diverges_helper():
    """On the toy data SGD converges at 0.2 and blows up at 0.3."""
    assert not ch1.diverges(0.2)
    assert ch1.diverges(0.3)


def test_diverging_lr_passes():
    """0.3, the first rate of the grid that diverges, is accepted."""
    result = ch1.diverging_lr(0.3)
    assert result.passed, result.message


def test_diverging_lr_too_small_rejected():
    """A rate that still converges is rejected with 'Try larger rates'."""
    result = ch1.diverging_lr(0.2)
    assert not result.passed
    assert "still converges" in result.message


def test_diverging_lr_too_large_rejected():
    """A diverging rate above the first one is rejected."""
    result = ch1.diverging_lr(0.5)
    assert not result.passed
    assert "smaller rate" in result.message


def test_diverging_lr_off_grid_and_stub():
    """A rate off the grid is rejected with the grid; the stub is 'Not done yet'."""
    result = ch1.diverging_lr(0.25)
    assert not result.passed
    assert "pick one of" in result.message
    assert ch1.diverging_lr(...).message.startswith("Not done yet")
