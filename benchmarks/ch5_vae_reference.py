"""Chapter 5's conv VAE against the usual reference, trained side by side.

The reference is pytorch/examples' MLP VAE (784-400-20, ReLU, Adam 1e-3,
batch 128, BCE summed + KL, continuous [0, 1] targets), written out here.
Both train on the same 60,000 images for the same number of epochs; the test
loss is the negative ELBO per test image in nats (one z sample, eval mode).

    AECOURSE_DATA=../shared/data .venv/bin/python benchmarks/ch5_vae_reference.py [epochs]

Its output is kept in ``benchmarks/ch5_vae_reference.txt``.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import torch
from torch import nn

from aecourse import get_device, seed_everything
from aecourse.data import load_mnist
from aecourse.train import fit
from aecourse.vae import evaluate_vae, reparameterize, vae_loss

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))  # tools/ is not a package
from notebook_code import from_notebook  # noqa: E402

ConvVAE = from_notebook(  # the chapter's model, from the cell the book shows (tagged export)
    "05_conv_vae", "ConvVAE", namespace={"torch": torch, "nn": nn, "reparameterize": reparameterize},
)


class MLPVAE(nn.Module):
    """pytorch/examples' VAE: 784-400-20 and back; logits out (same loss as its Sigmoid + BCE)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc21, self.fc22 = nn.Linear(784, 400), nn.Linear(400, 20), nn.Linear(400, 20)
        self.fc3, self.fc4 = nn.Linear(20, 400), nn.Linear(400, 784)

    def forward(self, x):
        h = torch.relu(self.fc1(x.flatten(1)))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = reparameterize(mu, logvar)
        return self.fc4(torch.relu(self.fc3(z))).view_as(x), mu, logvar


def train(name: str, model: nn.Module, batch_size: int, epochs: int, train_x, test_x) -> None:
    generator = seed_everything(1)
    model.apply(lambda m: m.reset_parameters() if hasattr(m, "reset_parameters") else None)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(batch):
        logits, mu, logvar = model(batch)
        loss = vae_loss(logits, batch, mu, logvar).total / batch.shape[0]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    history = fit(step, train_x, epochs=epochs, batch_size=batch_size, model=model,
                  optimizer=optimizer, generator=generator, progress=False,
                  on_epoch_end=lambda e: print(f"  {name} epoch {e:2}: test {evaluate_vae(model, test_x)['neg_elbo']:.2f}", flush=True))
    result = evaluate_vae(model, test_x)
    params = sum(p.numel() for p in model.parameters())
    print(f"{name:34} {params:>9,} params  batch {batch_size:3}  {epochs} epochs  "
          f"{history.seconds:6.0f} s  test -ELBO {result['neg_elbo']:.2f} "
          f"(reconstruction {result['reconstruction']:.2f} + KL {result['kl']:.2f}) nats/image", flush=True)


def main() -> None:
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    device = get_device()
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.machine()}")
    train_x = load_mnist(train=True, device=device).images
    test_x = load_mnist(train=False, device=device).images
    seed_everything(1)
    train("pytorch/examples MLP VAE (784-400-20)", MLPVAE().to(device), 128, epochs, train_x, test_x)
    seed_everything(1)
    train("course conv VAE (latent 32)", ConvVAE().to(device), 64, epochs, train_x, test_x)


if __name__ == "__main__":
    main()
