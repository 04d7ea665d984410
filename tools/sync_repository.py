"""Copy the repository URL and the package version into every place that needs them.

`_config.yml`'s `repository.url` is the one place that names the repository,
and `aecourse/versioning.py`'s `__version__` (which is `aecourse.__version__`)
the one place that names the release.
The Colab buttons read the URL at build time and `pyproject.toml` reads the
version; the notebooks' first cell (tagged `colab-setup`) can read neither, as
it runs before `aecourse` is installed, and `pyproject.toml`'s URL is plain
text. So this script writes them there, in every notebook: the book's and the
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


def repository_url(root: Path = ROOT) -> str:
    config = yaml.safe_load((root / "_config.yml").read_text())
    return config["repository"]["url"].rstrip("/")


def package_version(root: Path = ROOT) -> str:
    """``aecourse.__version__``, read as text from :data:`VERSION_FILE` (importing would need torch)."""
    return PACKAGE_VERSION.search((root / VERSION_FILE).read_text(encoding="utf-8"))["version"]


def setup_cells(notebook: dict) -> list[dict]:
    return [c for c in notebook["cells"] if SETUP_TAG in c.get("metadata", {}).get("tags", [])]


def synced_notebook(notebook: dict, url: str, version: str) -> dict:
    """A copy of ``notebook`` whose install cells name ``url`` and ``version``."""
    notebook = copy.deepcopy(notebook)
    for cell in setup_cells(notebook):
        source = "".join(cell["source"])
        source = URL_LINE.sub(f'REPO_URL = "{url}"', source)
        source = VERSION_LINE.sub(f'AECOURSE_VERSION = "{version}"', source)
        cell["source"] = source
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
