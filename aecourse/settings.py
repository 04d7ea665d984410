"""Run sizes: the one place that decides how long each chapter trains.

``AECOURSE_FAST=1`` selects *fast* mode, used by nbval and CI: every notebook
then runs in seconds to a minute on two CPU cores. Without it a notebook runs
in *full* mode and trains to the quality its chapter promises.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

FAST_ENV = "AECOURSE_FAST"


@dataclass(frozen=True)
class RunSize:
    """How much one chapter trains in one mode.

    ``train_size``/``test_size`` of ``None`` mean the whole MNIST split;
    ``study_epochs`` is the budget of a chapter's side studies, runs that compare
    settings against each other rather than reach the chapter's quality (chapter 2's
    loss and bottleneck studies, chapter 5's 2-D models); ``sweep_epochs`` the budget
    of each run in a sweep over one setting (chapter 5's values of beta).
    """

    epochs: int
    train_size: int | None = None
    test_size: int | None = None
    study_epochs: int = 1
    sweep_epochs: int = 1


# chapter -> (full, fast). Edit here, nowhere else.
_RUN_SIZES: dict[str, tuple[RunSize, RunSize]] = {
    "ch1": (RunSize(epochs=10), RunSize(epochs=2, train_size=5_000, test_size=1_000)),
    # ch2: the chapter's recipe (batch 256, one-cycle) 220 epochs, about two minutes of training
    # on 2 CPU cores (benchmarks/ch2_recipes.txt); the side studies 10 epochs at batch 32.
    "ch2": (
        RunSize(epochs=220, study_epochs=10),
        RunSize(epochs=1, train_size=2_000, test_size=500, study_epochs=1),
    ),
    # ch3: the seed's own recipe is 5 epochs; every comparison uses it.
    "ch3": (RunSize(epochs=5), RunSize(epochs=1, train_size=3_000, test_size=500)),
    # ch4: the conv and fully connected models 10 epochs (3 seeds each); the overcomplete
    # denoising and sparse models 5 epochs each.
    "ch4": (
        RunSize(epochs=10, study_epochs=5),
        RunSize(epochs=1, train_size=2_000, test_size=1_000, study_epochs=1),
    ),
    # ch5: the tutorial's 15 epochs; the 2-D models 5; each beta run 2. Fast mode trains six
    # models one epoch each: 500 images apiece keep the chapter near a minute on 2 cores.
    "ch5": (
        RunSize(epochs=15, study_epochs=5, sweep_epochs=2),
        RunSize(epochs=1, train_size=500, test_size=500, study_epochs=1, sweep_epochs=1),
    ),
    # ch6: each of the four quantised autoencoders (naive VQ, fixed VQ, FSQ, Bernoulli VQ) trains
    # `epochs` epochs on all of MNIST, each masked-convolution prior `study_epochs`; the whole run is
    # about 10 minutes on the course's CPU. Fast mode: 2,000 images, one epoch each.
    "ch6": (
        RunSize(epochs=2, study_epochs=3),
        RunSize(epochs=1, train_size=2_000, test_size=500, study_epochs=1),
    ),
    # ch7: the classifier and the two kept k = 16 SAEs (without and with AuxK) 3 epochs each on
    # all 60,000 images; each of the seven SAEs of the L1/TopK sweep 1 epoch.
    "ch7": (
        RunSize(epochs=3, study_epochs=1),
        RunSize(epochs=1, train_size=5_000, test_size=1_000, study_epochs=1),
    ),
}

RETRAIN_ENV = "AECOURSE_RETRAIN"


def _env_flag(name: str) -> bool:
    """True when environment variable ``name`` holds a true-looking value (1, true, yes, on)."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def is_fast() -> bool:
    """True when ``AECOURSE_FAST`` is set to a true-looking value (1, true, yes)."""
    return _env_flag(FAST_ENV)


def mode_name() -> str:
    """``"fast"`` or ``"full"``, for printing at the top of a notebook."""
    return "fast" if is_fast() else "full"


def retrain_requested() -> bool:
    """True when ``AECOURSE_RETRAIN`` asks to train even where a checkpoint exists."""
    return _env_flag(RETRAIN_ENV)


def run_size(chapter: str) -> RunSize:
    """The :class:`RunSize` of ``chapter`` (e.g. ``"ch1"``) in the current mode."""
    try:
        full, fast = _RUN_SIZES[chapter]
    except KeyError:
        known = ", ".join(sorted(_RUN_SIZES))
        raise KeyError(f"no run size for chapter {chapter!r}; known chapters: {known}") from None
    return fast if is_fast() else full


def user_cache_dir() -> Path:
    """The per-user folder the course writes to: ``$XDG_CACHE_HOME/aecourse``,
    else ``~/.cache/aecourse``.

    Downloads and a reader's own trained weights go here, never into the
    installed package: site-packages is read-only in many installs, and in an
    editable install the package folder is the repository, whose tracked files
    a notebook run must not overwrite.
    """
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "aecourse"


def fast_mode_note(what: str = "The numbers in this cell") -> str:
    """The sentence fast mode prints beside a result the prose quotes."""
    # "{what}: from ..." reads right whether ``what`` is one figure or several numbers.
    return (f"[fast mode] {what}: from a shortened run (a subset of MNIST, fewer epochs); "
            "the text quotes the full run's numbers. Run without AECOURSE_FAST to reproduce them.")


def note_if_fast(what: str = "The numbers in this cell") -> None:
    """In fast mode, print :func:`fast_mode_note` under a result the prose describes (a figure
    of samples, say), so that a student who sees grey noise beside "recognisable digits"
    knows why. In full mode, print nothing: the stored run is the one the text quotes."""
    if is_fast():
        print(fast_mode_note(what))
