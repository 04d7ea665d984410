"""Helpers for the course "Autoencoders in PyTorch".

The notebooks keep the lessons (models, losses, training steps) in plain
sight and import only the plumbing from here: data loading, device and
seeding, run sizes, a training loop with a progress bar, plots, the PCA
baseline and the exercise checks.
"""

from aecourse.device import get_device, runtime_report, seed_everything
from aecourse.settings import is_fast, run_size

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "get_device",
    "is_fast",
    "run_size",
    "runtime_report",
    "seed_everything",
]
