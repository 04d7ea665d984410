"""What gets installed, decided in three files that must agree.

* ``pyproject.toml``: what ``pip install aecourse`` (in Colab) accepts. Lower
  bounds only, so Colab keeps its own torch; each bound a version that ran.
* ``requirements-oldest.txt``: those lower bounds, pinned, for ``make test-oldest``.
* ``requirements.txt``: this repository's own pins, which must satisfy pyproject.
"""

from __future__ import annotations

import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10, which pyproject.toml allows: the same parser, as a package
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def requirements(path: Path) -> dict[str, Requirement]:
    """The requirement lines of a pip requirements file, by package name."""
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    parsed = [Requirement(line) for line in lines if line and not line.startswith("-")]
    return {r.name.lower(): r for r in parsed if r.marker is None or r.marker.evaluate()}


def dependencies() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {Requirement(d).name.lower(): Requirement(d) for d in project["dependencies"]}


def pinned(requirement: Requirement) -> Version | None:
    exact = [s.version for s in requirement.specifier if s.operator == "=="]
    return Version(exact[0]) if exact else None


def test_package_metadata_has_lower_bounds_only() -> None:
    """`pip install` in Colab must keep Colab's torch, NumPy and the rest: no pins, no caps."""
    for name, requirement in dependencies().items():
        operators = {s.operator for s in requirement.specifier}
        assert operators == {">="}, f"{name}: {requirement} (only >= keeps what Colab has)"


def test_every_lower_bound_is_the_version_the_oldest_run_pins() -> None:
    """A floor in pyproject.toml that make test-oldest does not run is a guess."""
    oldest = requirements(ROOT / "requirements-oldest.txt")
    for name, requirement in dependencies().items():
        (floor,) = [Version(s.version) for s in requirement.specifier]
        assert name in oldest and pinned(oldest[name]) is not None, f"requirements-oldest.txt must pin {name}"
        pin = pinned(oldest[name])
        assert (pin.major, pin.minor) == (floor.major, floor.minor) and pin >= floor, (
            f"{name}: pyproject.toml allows >= {floor}, but make test-oldest runs {pin}"
        )


def test_this_repositorys_pins_satisfy_the_package_metadata() -> None:
    """What the book's own environment installs must be a version pyproject.toml accepts."""
    ours = requirements(ROOT / "requirements.txt")
    for name, requirement in dependencies().items():
        assert name in ours, f"requirements.txt does not name {name}"
        if pinned(ours[name]) is not None:
            assert pinned(ours[name]) in requirement.specifier, f"{ours[name]} breaks {requirement}"
        else:
            floor = min(Version(s.version) for s in ours[name].specifier)
            assert floor in requirement.specifier, f"{ours[name]} allows versions below {requirement}"
