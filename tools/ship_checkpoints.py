"""Move retrained checkpoints from your cache into the repository, to ship them.

A notebook never writes into the aecourse package (see aecourse/checkpoint.py):
a run with AECOURSE_RETRAIN=1 saves its weights to ~/.cache/aecourse/checkpoints.
When those weights should become the course's, an instructor moves them here:

    python tools/ship_checkpoints.py            # list what would move
    python tools/ship_checkpoints.py --move     # move each into aecourse/checkpoints/

Moving (not copying) leaves the cache empty, so the next run of the notebook
loads the shipped copy, as a reader's will. Then re-run the notebook so its
stored outputs come from the shipped weights, and commit both.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aecourse.checkpoint import trained_dir  # noqa: E402

REPOSITORY_CHECKPOINTS = ROOT / "aecourse" / "checkpoints"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--move", action="store_true", help="move the files (default: only list them)")
    args = parser.parse_args()
    cache = trained_dir()
    found = sorted(cache.glob("*.pt")) if cache.is_dir() else []
    if not found:
        print(f"no retrained checkpoints in {cache}; run a notebook with AECOURSE_RETRAIN=1 first")
        return 1
    for path in found:
        target = REPOSITORY_CHECKPOINTS / path.name
        print(f"{'moving' if args.move else 'would move'} {path} -> {target.relative_to(ROOT)}")
        if args.move:
            shutil.move(str(path), target)
    if not args.move:
        print("run again with --move to ship them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
