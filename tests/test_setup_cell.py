"""The notebooks' first cell, run as a Colab reader's kernel would run it.

The cell (tagged ``colab-setup``) installs ``aecourse`` at the notebook's own
release and stops, with a message saying what to do, when the kernel holds
another one. Here it runs for real, with ``pip`` replaced by a recorder: what
it would install, and when, is the behaviour under test.
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

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "01_linear_autoencoder.ipynb"
RELEASE = aecourse.__version__


def setup_cell() -> str:
    cells = load_notebook(NOTEBOOK)["cells"]
    return "".join(next(c for c in cells if "colab-setup" in c["metadata"].get("tags", []))["source"])


def run_cell(monkeypatch, installed: str | None, pip_fails: bool = False) -> list[list[str]]:
    """Run the setup cell with ``installed`` as the installed aecourse; return the pip commands."""
    calls: list[list[str]] = []

    def version(name: str) -> str:
        if name != "aecourse":
            return real_version(name)
        if installed is None:
            raise importlib.metadata.PackageNotFoundError(name)
        return installed

    def pip(command, **kwargs):
        calls.append(command)
        return subprocess.CompletedProcess(command, 1 if pip_fails else 0, "",
                                           "ERROR: Could not find a version that satisfies the requirement")

    real_version = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", version)
    monkeypatch.setattr(subprocess, "run", pip)
    exec(compile(setup_cell(), "colab-setup", "exec"), {})  # noqa: S102 - the course's own cell
    return calls


def test_a_fresh_machine_installs_the_pinned_release_with_its_dependencies(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    (command,) = run_cell(monkeypatch, installed=None)
    assert command[-1].endswith(f"/autoencoders-in-pytorch@v{RELEASE}"), command
    assert command[-1].startswith("git+https://github.com/")
    assert "--no-deps" not in command, "a machine without them needs matplotlib, tqdm, ipywidgets, psutil"
    assert not any("torch" in part for part in command[:-1])


@pytest.mark.parametrize("installed", [None, "0.1.0"])
def test_in_colab_only_aecourse_changes(monkeypatch, installed):
    """Colab has every dependency (older ipywidgets among them): pip must touch nothing else."""
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    (command,) = run_cell(monkeypatch, installed=installed)
    assert command[-1].endswith(f"@v{RELEASE}")
    assert "--force-reinstall" in command and "--no-deps" in command


def test_another_release_is_replaced(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    (command,) = run_cell(monkeypatch, installed="0.1.0")
    assert command[-1].endswith(f"@v{RELEASE}") and "--upgrade" in command


def test_the_right_release_installs_nothing(monkeypatch):
    assert run_cell(monkeypatch, installed=RELEASE) == []


def test_a_failed_install_shows_pips_reason(monkeypatch):
    with pytest.raises(RuntimeError, match=f"could not install git\\+.*@v{RELEASE}:\nERROR: Could not find"):
        run_cell(monkeypatch, installed=None, pip_fails=True)


def test_every_chapter_has_the_same_setup_cell():
    """Only tools/sync_repository.py writes two of its lines; the rest must not drift apart."""
    cells = {"".join(next(c for c in load_notebook(p)["cells"]
                          if "colab-setup" in c["metadata"].get("tags", []))["source"])
             for p in sorted(NOTEBOOK.parent.glob("0*.ipynb"))}
    assert len(cells) == 1, "the chapters' setup cells differ"


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
