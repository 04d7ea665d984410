"""Write every notebook's install cell, with the repository URL and the package version, and those two wherever else they are needed.

`_config.yml`'s `repository.url` is the one place that names the repository,
and `aecourse/versioning.py`'s `__version__` (which is `aecourse.__version__`)
the one place that names the release.
The Colab buttons read the URL at build time and `pyproject.toml` reads the
version; the notebooks' first cell (tagged `colab-setup`) can read neither, as
it runs before `aecourse` is installed, and `pyproject.toml`'s URL is plain
text. So this script writes them there. The install cell is written whole, from
:data:`SETUP_CELL` below (the one place its code lives), in every notebook: the book's and the
generated `notebooks/student/` and `notebooks/colab/` versions (written as
`tools/make_student_notebooks.py` and `jupyter execute` write them, through
`tools/notebook_io.py`, so that neither tool finds the other's files stale):

    python tools/sync_repository.py          # rewrite
    python tools/sync_repository.py --check  # exit 1 if anything is out of date

A test runs the --check form, so a moved course cannot ship stale links.
"""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import notebook_io  # noqa: E402  (tools/ is not a package)

ROOT = Path(__file__).resolve().parent.parent
SETUP_TAG = "colab-setup"
URL_LINE = re.compile(r'^REPO_URL = ".*"$', re.MULTILINE)
VERSION_LINE = re.compile(r'^AECOURSE_VERSION = ".*"$', re.MULTILINE)
PACKAGE_VERSION = re.compile(r'^__version__ = "(?P<version>[^"]+)"$', re.MULTILINE)
PYPROJECT_LINE = re.compile(r'^Repository = ".*"$', re.MULTILINE)
VERSION_FILE = "aecourse/versioning.py"  # where __version__ is written

# The install cell, every notebook's first code cell; REPO_URL and AECOURSE_VERSION are filled in.
# It installs the release's wheel, attached to the GitHub release by .github/workflows/release.yml
# (a ~22 MB download with the checkpoints, no git history); if the release has no wheel, the git
# tag, which clones the whole repository, with a message that says so.
SETUP_CELL = '''# Setup. This installs the course's helper package `aecourse` at the release
# this notebook was made with, then checks that the kernel really uses it.
# In Colab it changes nothing else: Colab's torch, torchvision and the rest stay.
REPO_URL = ""
AECOURSE_VERSION = ""
import importlib.metadata, subprocess, sys


def install_aecourse():
    """Install aecourse AECOURSE_VERSION unless that release is installed already:
    the release's wheel, or, if the release has none, its git tag."""
    try:
        if importlib.metadata.version("aecourse") == AECOURSE_VERSION:
            return
    except importlib.metadata.PackageNotFoundError:
        pass
    print(f"installing aecourse {AECOURSE_VERSION} ...")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--upgrade"]
    if "google.colab" in sys.modules:  # Colab has every dependency already
        pip += ["--force-reinstall", "--no-deps"]
    wheel = (f"{REPO_URL}/releases/download/v{AECOURSE_VERSION}/"
             f"aecourse-{AECOURSE_VERSION}-py3-none-any.whl")
    done = subprocess.run(pip + [wheel], capture_output=True, text=True)
    if done.returncode == 0:
        return
    why = (done.stderr.strip().splitlines() or ["no message"])[-1]
    spec = f"git+{REPO_URL}@v{AECOURSE_VERSION}"
    print(f"The release's wheel did not install ({why}).\\n"
          f"Installing from the git tag instead: {spec}\\n"
          "This clones the whole repository, so it takes longer.")
    done = subprocess.run(pip + [spec], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"pip could not install {spec}:\\n{done.stderr[-1500:]}\\n"
                           f"(nor the release's wheel, {wheel})")


install_aecourse()
import aecourse

aecourse.require_version(AECOURSE_VERSION, REPO_URL)
print(aecourse.runtime_report())'''


def setup_source(url: str, version: str) -> str:
    """The install cell's code for repository ``url`` and release ``version``."""
    source = URL_LINE.sub(f'REPO_URL = "{url}"', SETUP_CELL)
    return VERSION_LINE.sub(f'AECOURSE_VERSION = "{version}"', source)


def repository_url(root: Path = ROOT) -> str:
    config = yaml.safe_load((root / "_config.yml").read_text())
    return config["repository"]["url"].rstrip("/")


def package_version(root: Path = ROOT) -> str:
    """``aecourse.__version__``, read as text from :data:`VERSION_FILE` (importing would need torch)."""
    return PACKAGE_VERSION.search((root / VERSION_FILE).read_text(encoding="utf-8"))["version"]


def setup_cells(notebook: dict) -> list[dict]:
    return [c for c in notebook["cells"] if SETUP_TAG in c.get("metadata", {}).get("tags", [])]


def synced_notebook(notebook: dict, url: str, version: str) -> dict:
    """A copy of ``notebook`` whose install cells are :data:`SETUP_CELL` for ``url`` and ``version``."""
    notebook = copy.deepcopy(notebook)
    for cell in setup_cells(notebook):
        cell["source"] = setup_source(url, version)
    return notebook


def planned_files(root: Path = ROOT) -> dict[Path, str]:
    """Every file this script writes to, with the text it should have."""
    url = repository_url(root)
    version = package_version(root)
    files = {path: notebook_io.dumps(synced_notebook(notebook_io.read(path), url, version))
             for path in notebook_io.all_notebooks(root)}
    pyproject = root / "pyproject.toml"
    files[pyproject] = PYPROJECT_LINE.sub(f'Repository = "{url}"', pyproject.read_text(encoding="utf-8"))
    return files


def main() -> int:
    return notebook_io.command_line(__doc__.splitlines()[0], planned_files, root=ROOT, written="updated",
                                    fix=".venv/bin/python tools/sync_repository.py")


if __name__ == "__main__":
    sys.exit(main())
