"""What gets installed, decided in three files that must agree.

* ``pyproject.toml``: what ``pip install aecourse`` (in Colab) accepts. Lower
  bounds only, so Colab keeps its own torch; each bound a version that ran.
* ``requirements-oldest.txt``: those lower bounds, pinned, for ``make test-oldest``.
* ``requirements.txt``: this repository's own pins, which must satisfy pyproject.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
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


# -- building the wheel, and the Pythons it declares ------------------------------------

def build_floor() -> Version:
    """The setuptools that pyproject.toml's build-system requires at least."""
    (requirement,) = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    (floor,) = [Version(s.version) for s in Requirement(requirement).specifier if s.operator == ">="]
    return floor


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the package with every warning an error (``python -W error``),
    by the setuptools of this environment: a deprecation in the build fails here first."""
    import setuptools

    if Version(setuptools.__version__) < build_floor():
        pytest.skip(f"this environment's setuptools {setuptools.__version__} is below the build floor "
                    f"{build_floor()} (Colab's own, in make test-colab); make test builds the wheel")
    tree = tmp_path_factory.mktemp("tree")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copyfile(ROOT / name, tree / name)
    shutil.copytree(ROOT / "aecourse", tree / "aecourse", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c",
         "import sys; from setuptools import build_meta; print(build_meta.build_wheel(sys.argv[1]))", str(out)],
        cwd=tree, capture_output=True, text=True)
    assert done.returncode == 0, f"the wheel does not build with warnings as errors:\n{done.stderr[-3000:]}"
    return out / done.stdout.strip().splitlines()[-1]


def test_the_wheel_builds_with_warnings_as_errors_and_carries_the_license_and_checkpoints(built_wheel) -> None:
    with zipfile.ZipFile(built_wheel) as wheel:
        names = wheel.namelist()
        metadata = wheel.read(f"aecourse-{built_wheel.name.split('-')[1]}.dist-info/METADATA").decode()
    assert "License-Expression: MIT" in metadata and "License-File: LICENSE" in metadata
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    shipped = sorted(p.name for p in (ROOT / "aecourse" / "checkpoints").glob("*.pt"))
    assert shipped and sorted(n.split("/")[-1] for n in names if n.startswith("aecourse/checkpoints/")) == shipped


def test_the_license_is_an_spdx_string_with_its_file_and_the_build_floor_that_reads_it() -> None:
    """The TOML-table form is deprecated and unsupported after 2027-02-18; setuptools 77.0.3 reads this one."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert build_floor() >= Version("77.0.3")
    assert not any(c.startswith("License ::") for c in project["classifiers"]), "PEP 639: the expression replaces them"


def test_the_pythons_that_run_are_declared() -> None:
    """requires-python's floor, Colab's Python (make test-colab) and every workflow's Python are classifiers."""
    import re

    import yaml

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {c.rsplit(" :: ", 1)[1] for c in project["classifiers"]
                if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)}
    floor = re.fullmatch(r">=(3\.\d+)", project["requires-python"])[1]
    colab = re.search(r"^COLAB_PYTHON \?= python(3\.\d+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)[1]
    ran = {floor, colab, f"{sys.version_info.major}.{sys.version_info.minor}"}
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            image = (job.get("container") or {}).get("image", "")
            ran.update(re.findall(r"^python:(\d+\.\d+)", image))
            ran.update(str(s["with"]["python-version"]) for s in job.get("steps", [])
                       if "actions/setup-python" in s.get("uses", ""))
    assert ran <= declared, f"run but not declared in pyproject.toml's classifiers: {sorted(ran - declared)}"
    assert min(declared, key=Version) == floor, "the lowest classifier is requires-python's floor"


def test_colab_pins_satisfy_the_package_metadata() -> None:
    """Colab's versions must be ones pyproject.toml accepts, or the install cell's --no-deps hides a conflict."""
    colab = requirements(ROOT / "requirements-colab.txt")
    for name, requirement in dependencies().items():
        assert name in colab and pinned(colab[name]) is not None, f"requirements-colab.txt must pin {name}"
        assert pinned(colab[name]) in requirement.specifier, f"Colab has {colab[name]}, pyproject wants {requirement}"


def test_release_check_installs_the_wheel_and_finds_every_checkpoint(built_wheel, tmp_path) -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    import check_release

    version = built_wheel.name.split("-")[1]
    assert check_release.wheel_problems(built_wheel, version) == []
    renamed = tmp_path / "aecourse-9.9.9-py3-none-any.whl"
    shutil.copyfile(built_wheel, renamed)
    (problem,) = check_release.wheel_problems(renamed, version)
    assert f"the release's wheel is aecourse-{version}-py3-none-any.whl" in problem
    stripped = tmp_path / built_wheel.name
    with zipfile.ZipFile(built_wheel) as source, zipfile.ZipFile(stripped, "w") as target:
        for item in source.infolist():
            if not item.filename.endswith("ch5_conv_vae.pt"):
                target.writestr(item, source.read(item))
    (problem,) = check_release.wheel_problems(stripped, version)
    assert "checkpoint ch5_conv_vae.pt is missing" in problem
