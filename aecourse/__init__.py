"""Helpers for the course "Autoencoders in PyTorch".

The notebooks keep the lessons (models, losses, training steps) in plain
sight and import only the plumbing from here: data loading, device and
seeding, run sizes, a training loop with a progress bar, plots, the PCA
baseline and the exercise checks.
"""

from aecourse.device import get_device, runtime_report, seed_everything
from aecourse.glue import glue
from aecourse.settings import is_fast, run_size
from aecourse.versioning import __version__, require_version  # written in versioning.py, once

__all__ = [
    "__version__",
    "get_device",
    "glue",
    "is_fast",
    "require_version",
    "run_size",
    "runtime_report",
    "seed_everything",
]
