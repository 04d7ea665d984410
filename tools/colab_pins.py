"""Colab's versions: refresh requirements-colab.txt from Colab's list, and check .venv-colab against it.

Colab publishes what its runtime holds in the repository googlecolab/backend-info
(``pip-freeze.gpu.txt``, ``os-info-gpu.txt``). ``requirements-colab.txt`` pins the
course's share of it; ``make test-colab`` runs the course there.

    python tools/colab_pins.py --refresh pip-freeze.gpu.txt --source "commit abc1234 of 2027-01-15"
        rewrite every ``==`` pin of requirements-colab.txt to the version in that file (a
        local tag like +cu128 dropped) and the source line of its header; print what moved,
        and the pins Colab no longer has (left as they are: decide by hand)
    python tools/colab_pins.py --compare pip-freeze.gpu.txt
        (the weekly Colab workflow runs this on the list Colab publishes now) exit 1, naming
        each pin that Colab has moved, so that a Colab upgrade shows up; changes nothing
    python -P tools/colab_pins.py --installed
        (make test-colab runs this) print the versions that run, and fail unless every pin is
        installed at its version and aecourse is imported from an installed wheel, not this tree

Standard library only (``--installed`` also reads ``packaging``, which pip's environment has).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PINS = ROOT / "requirements-colab.txt"
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s#;]+)(?P<rest>.*)$")
SOURCE = re.compile(r"^# Source: googlecolab/backend-info, pip-freeze\.gpu\.txt at (?P<what>.*)$", re.MULTILINE)


def normal(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_freeze(text: str) -> dict[str, str]:
    """``pip freeze`` output: name -> version, local tags (``+cu128``) dropped, URL lines skipped."""
    found = {}
    for line in text.splitlines():
        match = PIN.match(line.strip())
        if match:
            found[normal(match["name"])] = match["version"].split("+", 1)[0]
    return found


def pins(text: str) -> dict[str, str]:
    """The ``name==version`` lines of a requirements file: name -> version."""
    return {normal(m["name"]): m["version"] for m in map(PIN.match, text.splitlines()) if m}


def refreshed(text: str, freeze: dict[str, str], source: str | None = None) -> tuple[str, list[str], list[str]]:
    """``text`` with each pin moved to ``freeze``'s version; also what moved, and what Colab lacks."""
    moved, gone, lines = [], [], []
    for line in text.splitlines():
        match = PIN.match(line)
        if match and normal(match["name"]) in freeze:
            new = freeze[normal(match["name"])]
            if new != match["version"]:
                moved.append(f"{match['name']} {match['version']} -> {new}")
            line = f"{match['name']}=={new}{match['rest']}"
        elif match:
            gone.append(match["name"])
        lines.append(line)
    new_text = "\n".join(lines) + "\n"
    if source:
        new_text = SOURCE.sub(f"# Source: googlecolab/backend-info, pip-freeze.gpu.txt at {source}", new_text, count=1)
    return new_text, moved, gone


def installed_problems(text: str) -> list[str]:
    """Pins not installed at their version, and an aecourse that is not an installed wheel."""
    import importlib.metadata

    problems = []
    for name, version in pins(text).items():
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            problems.append(f"{name}=={version} is not installed")
            continue
        if have.split("+", 1)[0] != version:
            problems.append(f"{name}=={version} is pinned, {have} is installed")
    import aecourse

    where = Path(aecourse.__file__).resolve()
    if where.parent == ROOT / "aecourse":
        problems.append(f"aecourse is imported from this tree ({where}), not from the installed wheel: run with python -P")
    direct_url = json.loads(importlib.metadata.distribution("aecourse").read_text("direct_url.json") or "{}")
    if direct_url.get("dir_info", {}).get("editable") or "archive_info" not in direct_url:
        problems.append(f"aecourse was not installed from a wheel ({direct_url.get('url', 'no direct_url.json')}); "
                        "Colab installs one")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--refresh", metavar="PIP_FREEZE_GPU_TXT", type=Path,
                       help="Colab's pip-freeze.gpu.txt (googlecolab/backend-info)")
    group.add_argument("--compare", metavar="PIP_FREEZE_GPU_TXT", type=Path,
                       help="exit 1 if Colab's list has moved any pin (nothing is written)")
    group.add_argument("--installed", action="store_true", help="check this Python's packages against the pins")
    parser.add_argument("--source", help='where the list comes from, e.g. "commit abc1234 of 2027-01-15"')
    args = parser.parse_args(argv)
    text = PINS.read_text()
    if args.compare:
        _, moved, gone = refreshed(text, read_freeze(args.compare.read_text()))
        for line in moved:
            print(f"Colab moved: {line}")
        for name in gone:
            print(f"not in Colab's list (kept as pinned here): {name}")
        if moved:
            print(f"{PINS.name} is behind Colab: python tools/colab_pins.py --refresh {args.compare} "
                  '--source "commit <sha> of <date>", then make test-colab (README, "Colab\'s versions").')
            return 1
        print(f"{PINS.name}: every pin is Colab's version.")
        return 0
    if args.refresh:
        new_text, moved, gone = refreshed(text, read_freeze(args.refresh.read_text()), args.source)
        PINS.write_text(new_text)
        for line in moved:
            print(f"moved: {line}")
        for name in gone:
            print(f"not in Colab's list (left as pinned; decide by hand): {name}")
        print(f"{PINS.name}: {len(moved)} pin(s) moved. Now: make test-colab")
        return 0
    import platform

    import aecourse
    import torch
    import torchvision

    print(f"Python {platform.python_version()}, torch {torch.__version__}, torchvision {torchvision.__version__}, "
          f"aecourse {aecourse.__version__} from {Path(aecourse.__file__).parent}")
    problems = installed_problems(text)
    for problem in problems:
        print(f"{PINS.name}: {problem}", file=sys.stderr)
    if problems:
        print("Rebuild it: rm -rf .venv-colab && make test-colab", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
