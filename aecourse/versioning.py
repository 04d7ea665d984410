"""The notebook and the helper package must be the same release.

A chapter notebook was run, and its prose written, against one version of
``aecourse``: its helpers, its exercise checks, its shipped weights. Colab
runtimes live for hours and keep whatever was installed first, so a notebook
opened later can meet an older or newer package; the symptoms (a check that
judges differently, a helper that is missing) would not point at the cause.
The notebook's first cell pins the install and then calls
:func:`require_version`, which says plainly what disagrees and how to fix it.
"""

from __future__ import annotations

import importlib.metadata

# The one place the version is written. `aecourse.__version__` is this; pyproject.toml
# reads it (without importing, so without torch), tools/sync_repository.py copies it into
# each notebook's install cell, and tools/check_release.py checks a release tag against it.
# It lives here, in a module that imports nothing of the package, so that every module
# that needs it (device's runtime report, the check below) imports it downwards.
__version__ = "0.2.0"


class VersionMismatch(RuntimeError):
    """The notebook and the loaded ``aecourse`` are different releases."""

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [f"Stopped: {self}"]


def install_command(version: str, repo_url: str) -> str:
    """The pip command that installs release ``version`` (git tag ``v<version>``) and nothing else."""
    return f'pip install --force-reinstall --no-deps "git+{repo_url.rstrip("/")}@v{version}"'


def installed_version() -> str | None:
    """The version of the installed ``aecourse`` distribution, or None if none is installed."""
    try:
        return importlib.metadata.version("aecourse")
    except importlib.metadata.PackageNotFoundError:
        return None


def require_version(expected: str, repo_url: str) -> None:
    """Return quietly if the loaded ``aecourse`` is release ``expected``; else raise.

    Two ways to disagree, each with its own fix:

    * the installed package is another release: install ``expected``;
    * the right release is installed, but this kernel imported an older one
      before it was (re)installed: restart the kernel.

    Raises:
        VersionMismatch: with a message naming both versions and the fix.
    """
    loaded = __version__
    if loaded == expected:
        return
    installed = installed_version()
    if installed == expected:
        raise VersionMismatch(
            f"this notebook needs aecourse {expected}, which is installed, but this kernel still "
            f"has {loaded} loaded from before. Restart the kernel (Colab: Runtime > Restart "
            "session), then run the notebook from the top."
        )
    raise VersionMismatch(
        f"this notebook was made with aecourse {expected}, but this kernel has {loaded}. "
        f"Run  %{install_command(expected, repo_url)}  then restart the kernel (Colab: "
        "Runtime > Restart session) and run the notebook from the top. Working from a clone "
        "of the course? Use the notebook from the same commit as the package."
    )
