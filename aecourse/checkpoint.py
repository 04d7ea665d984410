"""Load-or-train: keep a trained model's weights small, shipped with the package.

A CPU reader should see chapter 5's trained VAE in seconds, not after a
quarter of an hour of training. The checkpoint is a plain ``state_dict`` plus
a few lists and numbers (the training history), saved with ``torch.save`` and
read back with ``torch.load(..., weights_only=True)``, which refuses to run
arbitrary pickled code.

Two places, two directions:

* the course's weights **ship inside the package** (``aecourse/checkpoints``),
  so ``pip install`` in Colab brings them along; they are only ever read;
* weights a reader trains go to **their cache** (``~/.cache/aecourse/checkpoints``,
  see :func:`aecourse.settings.user_cache_dir`), never into the package:
  site-packages is read-only in many installs, and with ``pip install -e`` the
  package folder is the repository, whose tracked files a run must not change.

:func:`find_checkpoint` prefers the reader's own copy, so a model they
retrained is the one they get back; the notebook prints which one it loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from aecourse.settings import is_fast, retrain_requested, user_cache_dir

BUNDLED = Path(__file__).resolve().parent / "checkpoints"
PACKAGE = BUNDLED.parent


def bundled_checkpoint(name: str) -> Path:
    """The course's shipped checkpoint ``name``, inside the package (read only)."""
    return BUNDLED / name


def trained_dir() -> Path:
    """The folder of a reader's own trained checkpoints, in their cache."""
    return user_cache_dir() / "checkpoints"


def trained_checkpoint(name: str) -> Path:
    """Where a reader's own training of checkpoint ``name`` is saved: their cache."""
    return trained_dir() / name


def find_checkpoint(name: str) -> Path | None:
    """The checkpoint to load for ``name``: the reader's own, else the shipped one, else None."""
    for path in (trained_checkpoint(name), bundled_checkpoint(name)):
        if path.is_file():
            return path
    return None


def checkpoint_origin(path: str | Path) -> str:
    """Which copy ``path`` is, in words, for the line a notebook prints after loading."""
    path = Path(path)
    if path.resolve().parent == BUNDLED:
        return f"the course's {path.name} (shipped with aecourse)"
    return f"your own {path.name} from {path.parent} (delete it to get the course's)"


def needs_training(name: str) -> bool:
    """Train rather than load checkpoint ``name``: in fast mode (a tiny run that is
    never kept), when ``AECOURSE_RETRAIN`` asks for it, or when no copy exists."""
    return is_fast() or retrain_requested() or find_checkpoint(name) is None


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, or does not fit the model."""


def save_checkpoint(path: str | Path, model: nn.Module, **extra: Any) -> Path:
    """Write ``model``'s weights (moved to the CPU) and ``extra`` values to ``path``.

    ``extra`` may hold tensors, numbers, strings, lists and dicts of those:
    what ``weights_only=True`` loading accepts.

    Raises:
        CheckpointError: ``path`` lies inside the installed package. Save a
            reader's training to :func:`trained_checkpoint` instead; an
            instructor moves new weights into the repository with
            ``tools/ship_checkpoints.py``.
    """
    path = Path(path)
    if path.resolve().is_relative_to(PACKAGE):
        raise CheckpointError(
            f"refusing to write {path}: it is inside the aecourse package ({PACKAGE}), which "
            f"a run must never change. Save to trained_checkpoint({path.name!r}) instead."
        )
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
        raise CheckpointError(
            f"no checkpoint at {path}; train the model first "
            '(run import os; os.environ["AECOURSE_RETRAIN"] = "1", then the training cell)'
        )
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
