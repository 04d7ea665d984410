"""Load-or-train: keep a trained model's weights small, in the repository.

A CPU reader should see chapter 4's trained VAE in seconds, not after a
quarter of an hour of training. The checkpoint is a plain ``state_dict`` plus
a few lists and numbers (the training history), saved with ``torch.save`` and
read back with ``torch.load(..., weights_only=True)``, which refuses to run
arbitrary pickled code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from aecourse.settings import is_fast, retrain_requested


BUNDLED = Path(__file__).resolve().parent / "checkpoints"


def bundled_checkpoint(name: str) -> Path:
    """Where the course keeps checkpoint ``name``: inside the package, so that
    ``pip install`` (in Colab) ships it along with the code."""
    return BUNDLED / name


def needs_training(path: str | Path) -> bool:
    """Train rather than load: in fast mode (never touch the kept weights),
    when ``AECOURSE_RETRAIN`` asks for it, or when no checkpoint exists yet."""
    return is_fast() or retrain_requested() or not Path(path).is_file()


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, or does not fit the model."""


def save_checkpoint(path: str | Path, model: nn.Module, **extra: Any) -> Path:
    """Write ``model``'s weights (moved to the CPU) and ``extra`` values to ``path``.

    ``extra`` may hold tensors, numbers, strings, lists and dicts of those:
    what ``weights_only=True`` loading accepts.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}
    torch.save({"state_dict": state, **extra}, path)
    return path


def _mismatches(model: nn.Module, state: dict[str, torch.Tensor]) -> list[str]:
    expected = model.state_dict()
    problems = [f"missing {name}" for name in expected if name not in state]
    problems += [f"unexpected {name}" for name in state if name not in expected]
    problems += [
        f"{name}: checkpoint {tuple(state[name].shape)}, model {tuple(t.shape)}"
        for name, t in expected.items()
        if name in state and state[name].shape != t.shape
    ]
    return problems


def load_checkpoint(path: str | Path, model: nn.Module) -> dict[str, Any]:
    """Load weights from ``path`` into ``model``; return the extra values saved with them.

    Raises:
        CheckpointError: the file is missing or unreadable, or its tensors do
            not fit ``model`` (the message lists the first differences).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train the model first (set RETRAIN = True)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a truncated or foreign file: say which, without the unpickler's traceback
        raise CheckpointError(f"{path} is not a readable checkpoint: {type(error).__name__}: {error}") from None
    state = payload.get("state_dict") if isinstance(payload, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} holds no 'state_dict'; was it written by save_checkpoint?")
    problems = _mismatches(model, state)
    if problems:
        shown = "; ".join(problems[:4]) + (f"; and {len(problems) - 4} more" if len(problems) > 4 else "")
        raise CheckpointError(
            f"the checkpoint {path.name} does not fit this {type(model).__name__}: {shown}. "
            "Was the model changed (for example its latent size)? Retrain it, or undo the change."
        )
    model.load_state_dict(state)
    return {key: value for key, value in payload.items() if key != "state_dict"}
