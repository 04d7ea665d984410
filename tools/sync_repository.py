"""Copy the repository URL and the package version into every place that needs them.

`_config.yml`'s `repository.url` is the one place that names the repository,
and `aecourse/__init__.py`'s `__version__` the one place that names the release.
The Colab buttons read the URL at build time and `pyproject.toml` reads the
version; the notebooks' first cell (tagged `colab-setup`) can read neither, as
it runs before `aecourse` is installed, and `pyproject.toml`'s URL is plain
text. So this script writes them there:

    python tools/sync_repository.py          # rewrite
    python tools/sync_repository.py --check  # exit 1 if anything is out of date

A test runs the --check form, so a moved course cannot ship stale links.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SETUP_TAG = "colab-setup"
URL_LINE = re.compile(r'^REPO_URL = ".*"$', re.MULTILINE)
VERSION_LINE = re.compile(r'^AECOURSE_VERSION = ".*"$', re.MULTILINE)
PACKAGE_VERSION = re.compile(r'^__version__ = "(?P<version>[^"]+)"$', re.MULTILINE)
PYPROJECT_LINE = re.compile(r'^Repository = ".*"$', re.MULTILINE)


def repository_url(root: Path = ROOT) -> str:
    config = yaml.safe_load((root / "_config.yml").read_text())
    return config["repository"]["url"].rstrip("/")


def package_version(root: Path = ROOT) -> str:
    """``aecourse.__version__``, read as text (importing would need torch)."""
    return PACKAGE_VERSION.search((root / "aecourse" / "__init__.py").read_text())["version"]


def setup_cells(notebook: dict) -> list[dict]:
    return [c for c in notebook["cells"] if SETUP_TAG in c.get("metadata", {}).get("tags", [])]


def synced_notebook(text: str, url: str, version: str) -> str:
    notebook = json.loads(text)
    for cell in setup_cells(notebook):
        source = "".join(cell["source"])
        source = URL_LINE.sub(f'REPO_URL = "{url}"', source)
        source = VERSION_LINE.sub(f'AECOURSE_VERSION = "{version}"', source)
        cell["source"] = source.splitlines(keepends=True)
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale files, change nothing")
    args = parser.parse_args()
    url = repository_url()
    version = package_version()
    stale = []
    targets = sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in targets:
        old = path.read_text()
        new = synced_notebook(old, url, version)
        if json.loads(new) != json.loads(old):
            stale.append(path)
            if not args.check:
                path.write_text(new)
    pyproject = ROOT / "pyproject.toml"
    old = pyproject.read_text()
    new = PYPROJECT_LINE.sub(f'Repository = "{url}"', old)
    if new != old:
        stale.append(pyproject)
        if not args.check:
            pyproject.write_text(new)
    for path in stale:
        print(f"{'stale' if args.check else 'updated'}: {path.relative_to(ROOT)}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
