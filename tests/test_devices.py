"""Every ``aecourse`` helper and every exercise check, on every device a reader has.

The ``device`` fixture (conftest.py) gives the CPU always, and CUDA and Apple's
MPS where present, marked ``cuda`` and ``mps``: on a machine without one, those
cases are listed as skipped with the reason. Inputs are put on the device the
way a notebook puts them there; outputs must come back where the notebook
expects them. MPS has no float64, so a helper that computes in double must
move to the CPU first (see ``aecourse.device.cpu_float64``); a test below also
keeps that rule from being broken on a machine that has no MPS to catch it.
"""

from __future__ import annotations

import ast
import copy
import inspect
import math
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import aecourse
from aecourse import checkpoint, data, memory, pca, plots, tf1, train, vae, widgets
from aecourse.device import cpu_float64, runtime_report, synchronize

sys.path.insert(0, str(Path(__file__).resolve().parent))
from book_layout import load_notebook  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0*.ipynb"))


def small_autoencoder(k: int = 4) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, k), nn.Linear(k, 32), nn.ReLU(),
                         nn.Linear(32, 784), nn.Sigmoid())


class TinyVAE(nn.Module):
    """Returns ``(logits, mu, logvar)`` like chapter 5's model, with a BatchNorm to exercise eval()."""

    def __init__(self, latent_dim: int = 2) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.BatchNorm1d(16), nn.ReLU())
        self.mu, self.logvar = nn.Linear(16, latent_dim), nn.Linear(16, latent_dim)
        self.decoder = nn.Linear(latent_dim, 784)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).reshape(-1, 1, 28, 28)

    def forward(self, x: torch.Tensor):
        h = self.encoder(x)
        mu, logvar = self.mu(h), self.logvar(h)
        return self.decode(vae.reparameterize(mu, logvar)), mu, logvar


@pytest.fixture(scope="module")
def digits(mnist_dir):
    """256 test digits and their labels, on the CPU."""
    import os

    old = os.environ.get("AECOURSE_DATA")
    os.environ["AECOURSE_DATA"] = str(mnist_dir)
    try:
        return data.load_mnist(train=False, subset=256)
    finally:
        if old is None:
            del os.environ["AECOURSE_DATA"]
        else:
            os.environ["AECOURSE_DATA"] = old


def same_device(tensor: torch.Tensor, device: torch.device) -> bool:
    return tensor.device.type == device.type


def test_data_lands_and_batches_on_the_device(device, digits):
    split = digits.to(device)
    assert same_device(split.images, device) and same_device(split.labels, device)
    (batch, labels), *_ = data.batches(split.flat, split.labels, batch_size=32,
                                       generator=torch.Generator().manual_seed(0))
    assert same_device(batch, device) and batch.shape == (32, 784) and labels.shape == (32,)
    assert same_device(data.correlated_2d(10).to(device), device)


def test_device_tools(device):
    x = torch.ones(3, device=device)
    synchronize(device)
    assert cpu_float64(x).device.type == "cpu" and cpu_float64(x).dtype == torch.float64
    assert f"torch {torch.__version__}" in runtime_report(device)
    assert memory.device_megabytes(device) >= 0


def test_training_loop_and_evaluation(device, digits):
    model = small_autoencoder().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = digits.flat.to(device)

    def step(batch):
        loss = F.mse_loss(model(batch), batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    history = train.fit(step, x, epochs=2, batch_size=64, model=model, optimizer=optimizer, test_x=x,
                        loss_fn=F.mse_loss, generator=torch.Generator().manual_seed(0), progress=False)
    assert len(history.test_loss) == 2 and history.test_loss[1] < history.test_loss[0]
    assert all(isinstance(v, float) for v in history.step_loss)
    assert math.isclose(train.evaluate(model, x, F.mse_loss), history.test_loss[-1], rel_tol=1e-4)


def test_pca_works_in_float64_on_the_cpu_whatever_the_input_device(device, digits):
    x = digits.flat.to(device)
    fitted = pca.fit_pca(x)
    assert fitted.components.device.type == "cpu" and fitted.components.dtype == torch.float64
    reconstruction = fitted.reconstruct(x, 9)
    assert same_device(reconstruction, device) and reconstruction.dtype == torch.float32
    error = fitted.error(x, 9)
    assert 0 < error < fitted.error(x, 2)
    assert math.isclose(error, float(((reconstruction - x) ** 2).mean()), rel_tol=1e-4)
    weight = torch.randn(784, 9, device=device)  # like a decoder's weight on the device
    assert pca.principal_angles(weight, fitted.basis(9)).shape == (9,)
    assert pca.principal_angles(fitted.basis(9).to(torch.float32).to(device), fitted.basis(9)).max() < 0.01
    assert pca.direction_angle(torch.tensor([1.0, 0.0], device=device), torch.tensor([0.0, 2.0])) == 90.0


def test_vae_pieces_and_evaluation(device, digits):
    x = digits.images[:64].to(device)
    model = TinyVAE().to(device)
    logits, mu, logvar = model(x)
    z = vae.reparameterize(mu, logvar, generator=torch.Generator().manual_seed(0))
    assert same_device(z, device)
    loss = vae.vae_loss(logits, x, mu, logvar)
    loss.total.backward()
    assert same_device(loss.total, device) and loss.kl >= 0
    floor = vae.bce_floor(x)
    assert 0 < floor < float(vae.bernoulli_nll(logits.detach(), x)) / 64
    scores = vae.evaluate_vae(model, x, batch_size=32)
    assert set(scores) == {"reconstruction", "kl", "neg_elbo"} and model.training, "mode restored"


def test_tf1_layout_and_initializer(device):
    kernel = tf1.variance_scaling_(torch.empty(20, 30, device=device), layout="tf",
                                   generator=torch.Generator(device=device).manual_seed(0))
    assert same_device(kernel, device) and kernel.abs().max() <= 2 / math.sqrt(20) / tf1.TRUNCATED_NORMAL_STD + 1e-6
    bias = torch.zeros(30, device=device)
    layer = tf1.linear_from_tf(kernel, bias)
    x = torch.rand(5, 20, device=device)
    torch.testing.assert_close(layer.to(device)(x), x @ kernel + bias, rtol=1e-5, atol=1e-6)


def test_plots_and_widgets_take_device_tensors(device, digits):
    images = digits.images[:20].to(device)
    plots.show_images(images)
    plots.show_reconstructions(images, images.flip(0))
    plots.plot_latent_scatter(torch.randn(20, 2, device=device), digits.labels[:20].to(device))
    decoder = nn.Sequential(nn.Linear(2, 784), nn.Sigmoid()).to(device)
    plots.show_latent_grid(decoder, low=(-1.0, -1.0), high=(1.0, 1.0), n=3)
    plots.plot_losses({"train": [1.0, 0.5]})
    image = widgets.decode_one(decoder, torch.zeros(2))
    assert image.shape == (28, 28) and image.device.type == "cpu"
    widgets.latent_explorer(decoder, torch.zeros(2, device=device))
    plt.close("all")


def test_checkpoint_round_trip_from_and_to_the_device(device, tmp_path):
    model = TinyVAE().to(device)
    path = checkpoint.save_checkpoint(tmp_path / "m.pt", model, curves={"kl": [1.5]}, device=str(device))
    fresh = TinyVAE().to(device)
    assert checkpoint.load_checkpoint(path, fresh)["device"] == str(device)
    for a, b in zip(model.state_dict().values(), fresh.state_dict().values()):
        assert same_device(b, device) and torch.equal(a.cpu(), b.cpu())


KEPT_FORWARDS = """
import sys, torch
from torch import nn
from aecourse.memory import device_megabytes
device = torch.device(sys.argv[1])
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 784), nn.Sigmoid()).to(device)
x = torch.rand(256, 784, device=device)
before = device_megabytes(device)
kept = [nn.functional.mse_loss(model(x), x) for _ in range(60)]
print(device_megabytes(device) - before)
"""


def test_a_kept_loss_tensor_shows_in_the_devices_memory(device):
    """Chapter 2's demonstration: forward passes kept without backward hold their activations
    (60 x 256 x (256 + 784 + 784) floats, about 110 MB). Measured in a fresh interpreter:
    inside the test session the allocator reuses memory freed by earlier tests."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", KEPT_FORWARDS, str(device)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    grown = float(out.stdout.split()[-1])
    assert grown > 50, f"60 kept forward passes grew {memory.memory_name(device)} by only {grown:.1f} MB"


# -- every exercise check, with its reference answer from the solved notebook -------

def exercises(path: Path) -> list[tuple[str, str]]:
    """``(solution code, check call)`` for each exercise of a solved notebook, in order."""
    cells = load_notebook(path)["cells"]
    found = []
    for i, cell in enumerate(cells):
        if "solution" in cell["metadata"].get("tags", []):
            check_cell = next(c for c in cells[i + 1:] if c["cell_type"] == "code")
            found.append(("".join(cell["source"]), "".join(check_cell["source"])))
    return found


CASES = [(path, n) for path in NOTEBOOKS for n in range(len(exercises(path)))]


def anomaly_globals(device) -> dict:
    """What chapter 4's anomaly check call names besides the answer: a model, ``test`` and ``half``.

    The chapter trains a convolutional autoencoder for its model (AUC about 0.97 with the
    windowed score); here PCA-30 stands in, which reaches about 0.83, so the test lowers the
    target: what it checks is that the check and the answer run on ``device``."""
    fitted = pca.fit_pca(data.load_mnist(train=True, subset=5_000).flat)
    test = data.load_mnist(train=False, subset=2_000).to(device)
    return {"conv_model": pca.PCAReconstruction(fitted, 30).to(device), "test": test, "half": 0}


@pytest.mark.parametrize(("path", "index"), CASES, ids=[f"{p.stem[:2]}-ex{n + 1}" for p, n in CASES])
def test_every_check_accepts_its_reference_answer_on_the_device(path, index, device, use_mnist):
    """Run the notebook's solution with the notebook's globals on ``device``, then its check."""
    import importlib

    chapter = f"ch{int(path.stem[:2])}"
    namespace = {"torch": torch, "nn": nn, "F": F, "math": math, "copy": copy, "device": device,
                 "check": importlib.import_module(f"aecourse.checks.{chapter}"),
                 "TRUNCATED_NORMAL_STD": tf1.TRUNCATED_NORMAL_STD,
                 "x": data.correlated_2d(100, generator=torch.Generator().manual_seed(0)),
                 "evaluating": train.evaluating}
    if chapter == "ch1":  # the chapter's given raw-tensor loop (a cell, not an exercise), as the check runs it
        namespace["train_raw"] = namespace["check"]._train_raw
    for solution, _ in exercises(path)[: index + 1]:  # later answers may use earlier ones
        exec(compile(solution, f"{path.name}:solution", "exec"), namespace)  # noqa: S102
    call = exercises(path)[index][1].strip()
    check_function = eval(compile(call.split("(", 1)[0], f"{path.name}:check", "eval"), namespace)  # noqa: S307
    parameters = inspect.signature(check_function).parameters
    if "device" in parameters:  # the check builds its data on the device
        call = call[:-1] + ", device=device)"
    if "target_auc" in parameters:  # chapter 4's anomaly detector, on a stand-in model
        namespace.update(anomaly_globals(device))
        call = call[:-1] + ", target_auc=0.75)"
    result = eval(compile(call, f"{path.name}:check", "eval"), namespace)  # noqa: S307
    assert result.passed, f"{call} on {device}: {result.message}"


def test_every_exercise_of_the_course_is_covered():
    """Each {exercise} box of each chapter has a solution cell that the test above runs."""
    import re

    boxes = sum(len(re.findall(r"```\{exercise\}", "".join(c["source"])))
                for path in NOTEBOOKS for c in load_notebook(path)["cells"] if c["cell_type"] == "markdown")
    assert boxes >= 21 and len(CASES) == boxes, f"{boxes} exercise boxes, {len(CASES)} solution cells"


# -- the MPS rule, kept where there is no MPS to enforce it ---------------------------

def test_float64_only_through_cpu_float64():
    """MPS rejects float64. Any ``.double()``, ``torch.float64`` or ``torch.double`` in the
    package outside ``cpu_float64`` could run on an MPS tensor: the test names it. (It reads
    the source: float64 arriving from NumPy, ``torch.from_numpy`` of a float64 array, would
    pass unseen; the package has none.)"""
    package = Path(aecourse.__file__).resolve().parent
    offenders = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text())
        allowed = {id(node) for fn in ast.walk(tree)
                   if isinstance(fn, ast.FunctionDef) and fn.name == "cpu_float64" for node in ast.walk(fn)}
        for node in ast.walk(tree):
            if id(node) in allowed:
                continue
            if isinstance(node, ast.Attribute) and node.attr in {"double", "float64"}:
                offenders.append(f"{path.relative_to(package.parent)}:{node.lineno}")
    assert not offenders, f"compute in double through aecourse.device.cpu_float64: {offenders}"


def test_notebooks_never_ask_for_float64_on_the_device():
    """No ``.double()``, ``torch.float64`` or ``torch.double`` in a chapter's code: MPS has no float64.
    Double precision goes through ``aecourse.device.cpu_float64``, which notebooks may call."""
    for path in NOTEBOOKS:
        for cell in load_notebook(path)["cells"]:
            if cell["cell_type"] != "code":
                continue
            text = "".join(cell["source"])
            code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("%", "!")))
            offenders = [node.lineno for node in ast.walk(ast.parse(code))
                         if isinstance(node, ast.Attribute) and node.attr in {"double", "float64"}]
            assert not offenders, f"{path.name}: line {offenders} of a cell asks for float64: {text[:200]}"