"""The notebooks' first cell, run as a Colab reader's kernel would run it.

The cell (tagged ``colab-setup``) installs ``aecourse`` at the notebook's own
release (the wheel attached to the GitHub release; if that is missing, the git
tag, with a message) and stops, with a message saying what to do, when the
kernel holds another one. Here it runs for real, with ``pip`` replaced by a
recorder: what it would install, and when, is the behaviour under test. The
cell's code is ``tools/sync_repository.py``'s ``SETUP_CELL``, which writes it
into every notebook; a test checks that each notebook has it.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import types
from pathlib import Path

import pytest

import aecourse
from aecourse.versioning import VersionMismatch, install_command

sys.path.insert(0, str(Path(__file__).resolve().parent))
from book_layout import load_notebook  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import sync_repository  # noqa: E402

NOTEBOOK = ROOT / "notebooks" / "01_linear_autoencoder.ipynb"
RELEASE = aecourse.__version__
URL = sync_repository.repository_url()
WHEEL = f"{URL}/releases/download/v{RELEASE}/aecourse-{RELEASE}-py3-none-any.whl"
TAG = f"git+{URL}@v{RELEASE}"


def setup_cell() -> str:
    """The install cell as tools/sync_repository.py writes it into every notebook."""
    return sync_repository.setup_source(URL, RELEASE)


def notebook_setup_cell(path: Path) -> str:
    cells = load_notebook(path)["cells"]
    return "".join(next(c for c in cells if "colab-setup" in c["metadata"].get("tags", []))["source"])


def run_cell(monkeypatch, installed: str | None, pip_fails: bool = False,
             missing: tuple[str, ...] = ()) -> list[list[str]]:
    """Run the setup cell with ``installed`` as the installed aecourse; return the pip commands.
    pip fails on every target with ``pip_fails``, and on each target in ``missing`` (a 404)."""
    calls: list[list[str]] = []

    def version(name: str) -> str:
        if name != "aecourse":
            return real_version(name)
        if installed is None:
            raise importlib.metadata.PackageNotFoundError(name)
        return installed

    def pip(command, **kwargs):
        calls.append(command)
        if command[-1] in missing:
            return subprocess.CompletedProcess(command, 1, "", f"ERROR: HTTP error 404 while getting {command[-1]}")
        return subprocess.CompletedProcess(command, 1 if pip_fails else 0, "",
                                           "ERROR: Could not find a version that satisfies the requirement")

    real_version = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", version)
    monkeypatch.setattr(subprocess, "run", pip)
    exec(compile(setup_cell(), "colab-setup", "exec"), {})  # noqa: S102 - the course's own cell
    return calls


def test_a_fresh_machine_installs_the_release_wheel_with_its_dependencies(monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    (command,) = run_cell(monkeypatch, installed=None)
    assert command[-1] == WHEEL, "the wheel attached to the GitHub release, not a clone"
    assert WHEEL.startswith("https://github.com/") and f"/releases/download/v{RELEASE}/" in WHEEL
    assert "--no-deps" not in command, "a machine without them needs matplotlib, tqdm, ipywidgets, psutil"
    assert not any("torch" in part for part in command[:-1])
    assert "git tag" not in capsys.readouterr().out


@pytest.mark.parametrize("installed", [None, "0.1.0"])
def test_in_colab_only_aecourse_changes(monkeypatch, installed):
    """Colab has every dependency (older ipywidgets among them): pip must touch nothing else."""
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    (command,) = run_cell(monkeypatch, installed=installed)
    assert command[-1] == WHEEL
    assert "--force-reinstall" in command and "--no-deps" in command


def test_another_release_is_replaced(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    (command,) = run_cell(monkeypatch, installed="0.1.0")
    assert command[-1] == WHEEL and "--upgrade" in command


def test_the_right_release_installs_nothing(monkeypatch):
    assert run_cell(monkeypatch, installed=RELEASE) == []


@pytest.mark.parametrize("colab", [False, True])
def test_a_missing_wheel_falls_back_to_the_git_tag_and_says_so(monkeypatch, capsys, colab):
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    wheel, tag = run_cell(monkeypatch, installed=None, missing=(WHEEL,))
    assert wheel[-1] == WHEEL and tag[-1] == TAG
    assert wheel[:-1] == tag[:-1], "the same pip options for both"
    said = capsys.readouterr().out
    assert "The release's wheel did not install (ERROR: HTTP error 404" in said
    assert f"Installing from the git tag instead: {TAG}" in said and "clones the whole repository" in said


def test_a_failed_install_shows_pips_reason(monkeypatch):
    with pytest.raises(RuntimeError, match=f"could not install git\\+.*@v{RELEASE}:\nERROR: Could not find"
                                           f"(.|\n)*nor the release's wheel, {WHEEL}"):
        run_cell(monkeypatch, installed=None, pip_fails=True)


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("**/0*.ipynb")),
                         ids=lambda p: p.relative_to(ROOT / "notebooks").as_posix())
def test_every_notebook_has_the_tools_setup_cell(path):
    """tools/sync_repository.py writes the cell whole; the notebooks must not drift from it."""
    assert notebook_setup_cell(path) == setup_cell(), "run: .venv/bin/python tools/sync_repository.py"


def test_an_old_import_in_a_long_lived_kernel_says_restart(monkeypatch):
    """pip replaced the files, but the kernel still runs the old module."""
    monkeypatch.setattr(aecourse.versioning, "__version__", "0.1.0")
    with pytest.raises(VersionMismatch, match=f"needs aecourse {RELEASE}, which is installed.*Restart"):
        run_cell(monkeypatch, installed=RELEASE)


def test_a_mismatch_names_both_versions_and_the_command_that_fixes_it(monkeypatch):
    monkeypatch.setattr(aecourse.versioning, "__version__", "0.9.0")
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.9.0")
    url = "https://github.com/aecourse/autoencoders-in-pytorch"
    with pytest.raises(VersionMismatch) as caught:
        aecourse.require_version(RELEASE, url)
    message = str(caught.value)
    assert f"made with aecourse {RELEASE}" in message and "has 0.9.0" in message
    assert install_command(RELEASE, url) in message
    assert install_command(RELEASE, url) == (
        f'pip install --force-reinstall --no-deps "git+{url}@v{RELEASE}"'
    )
    assert caught.value._render_traceback_() == [f"Stopped: {message}"], "one line in Jupyter, no traceback"


def test_the_package_and_its_metadata_agree():
    """pyproject.toml reads the version from aecourse/versioning.py: one source."""
    assert importlib.metadata.version("aecourse") == RELEASE, (
        "the installed metadata is stale: run pip install --no-deps -e . (make setup does)"
    )
