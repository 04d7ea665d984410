"""Check that a release tag matches every place that names the release.

Colab installs ``aecourse`` from the git tag that each notebook's install cell
names (``git+<REPO_URL>@v<AECOURSE_VERSION>``), so a tag is a release only if
it agrees with:

* ``__version__`` in ``aecourse/versioning.py`` (the one place the version is written;
  ``aecourse.__version__`` is that one);
* ``pyproject.toml``, which must read that ``__version__`` (or, if it ever
  writes a version of its own, write the same one);
* the install cell (tagged ``colab-setup``) of every notebook, the book's
  (``notebooks/``) and the generated ones (``notebooks/student/``,
  ``notebooks/colab/``): its ``AECOURSE_VERSION``, its ``REPO_URL``
  (``_config.yml``'s ``repository.url``) and its pin to ``@v{AECOURSE_VERSION}``;
* with ``--repository OWNER/NAME`` (the release workflow passes the repository
  it runs in): ``repository.url`` is that repository, so that Colab installs
  from where the tag is published;
* with ``--wheel PATH`` (the release workflow passes the wheel it built and is
  about to attach to the release, which the install cell installs first): the
  wheel is the release's (its name), it installs (``pip install --no-deps
  --target``, into a temporary folder), and ``aecourse`` then imports from there,
  as that release, with every checkpoint of ``aecourse/checkpoints/`` at its size.
  This needs torch and the package's dependencies in the Python that runs it.

    python tools/check_release.py v0.2.0
    python tools/check_release.py --repository aecourse/autoencoders-in-pytorch v0.2.0
    python tools/check_release.py --wheel dist/aecourse-0.2.0-py3-none-any.whl v0.2.0

Prints one line per mismatch, with the fix, and exits 1; exits 0 when all agree.
Standard library plus PyYAML (for ``_config.yml``, through sync_repository.py)
and nbformat (for the notebooks, through notebook_io.py); it never imports
``aecourse``, which needs torch.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

sys.path.insert(0, str(Path(__file__).resolve().parent))
import notebook_io  # noqa: E402  (tools/ is not a package)
import sync_repository  # noqa: E402

ROOT = sync_repository.ROOT
VERSION_ATTR = "aecourse.versioning.__version__"  # what pyproject.toml must read
VERSION_FILE = sync_repository.VERSION_FILE
CELL_VERSION = re.compile(r'^AECOURSE_VERSION = "(?P<value>[^"]*)"$', re.MULTILINE)
CELL_URL = re.compile(r'^REPO_URL = "(?P<value>[^"]*)"$', re.MULTILINE)
CELL_PIN = "@v{AECOURSE_VERSION}"
CELL_WHEEL = "/releases/download/v{AECOURSE_VERSION}/"
SYNC = "run `python tools/sync_repository.py`, re-run the notebooks, commit, and tag that commit"


def pyproject_problems(root: Path, version: str) -> list[str]:
    project = tomllib.loads((root / "pyproject.toml").read_text())
    table = project.get("project", {})
    if "version" in table:
        if table["version"] != version:
            return [
                f'pyproject.toml: version = "{table["version"]}", but {VERSION_FILE} says '
                f'"{version}". Let pyproject.toml read the version (dynamic = ["version"] with '
                f'[tool.setuptools.dynamic] version = {{ attr = "{VERSION_ATTR}" }}), or write "{version}".'
            ]
        return []
    attr = project.get("tool", {}).get("setuptools", {}).get("dynamic", {}).get("version", {}).get("attr")
    if "version" not in table.get("dynamic", []) or attr != VERSION_ATTR:
        return [
            f"pyproject.toml: the package version is not read from {VERSION_ATTR} (found "
            f"dynamic = {table.get('dynamic', [])}, attr = {attr!r}); a built aecourse would not be "
            f"release {version}."
        ]
    return []


def notebook_problems(root: Path, version: str, url: str) -> list[str]:
    problems = []
    for path in notebook_io.all_notebooks(root):
        name = path.relative_to(root).as_posix()
        cells = sync_repository.setup_cells(notebook_io.read(path))
        if not cells:
            problems.append(f"{name}: no install cell (a code cell tagged {sync_repository.SETUP_TAG!r}); "
                            "Colab would not install aecourse.")
            continue
        source = "".join(cells[0]["source"])
        found = CELL_VERSION.search(source)
        if found is None:
            problems.append(f"{name}: the install cell sets no AECOURSE_VERSION; {SYNC}.")
        elif found["value"] != version:
            problems.append(f'{name}: the install cell installs aecourse "{found["value"]}", not "{version}"; {SYNC}.')
        found = CELL_URL.search(source)
        if found is None or found["value"].rstrip("/") != url:
            value = "no REPO_URL" if found is None else f'REPO_URL "{found["value"]}"'
            problems.append(f"{name}: the install cell has {value}, not _config.yml's {url}; {SYNC}.")
        if CELL_PIN not in source:
            problems.append(f"{name}: the install cell does not install the tag ({CELL_PIN!r} is missing), "
                            "so Colab would not get this release.")
        if CELL_WHEEL not in source:
            problems.append(f"{name}: the install cell does not install the release's wheel ({CELL_WHEEL!r} is "
                            f"missing), so Colab would clone the whole repository; {SYNC}.")
    return problems


# Run in a fresh interpreter, from the folder the wheel was installed into: what it imported.
IMPORT_CHECK = """
import json, pathlib, aecourse, aecourse.checkpoint as c
print(json.dumps({"file": aecourse.__file__, "version": aecourse.__version__,
                  "checkpoints": {p.name: p.stat().st_size for p in sorted(c.BUNDLED.glob("*.pt"))}}))
"""


def wheel_name(version: str) -> str:
    """The file name of release ``version``'s wheel (what the install cell downloads)."""
    return f"aecourse-{version}-py3-none-any.whl"


def wheel_problems(wheel: Path, version: str, root: Path = ROOT) -> list[str]:
    """Install ``wheel`` into a temporary folder and import ``aecourse`` from it; what is wrong."""
    wheel = Path(wheel)
    if wheel.name != wheel_name(version):
        return [f"{wheel.name}: the release's wheel is {wheel_name(version)} (the install cell asks for that name)."]
    with tempfile.TemporaryDirectory() as target:
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
                               "--target", target, str(wheel.resolve())], capture_output=True, text=True)
        if done.returncode != 0:
            return [f"{wheel.name} does not install: {done.stderr.strip()[-800:]}"]
        env = {**os.environ, "PYTHONPATH": target}
        done = subprocess.run([sys.executable, "-c", IMPORT_CHECK], capture_output=True, text=True,
                              cwd=target, env=env)
        if done.returncode != 0:
            return [f"{wheel.name} installs, but aecourse does not import from it: {done.stderr.strip()[-800:]}"]
        found = json.loads(done.stdout.strip().splitlines()[-1])
        problems = []
        if not Path(found["file"]).resolve().is_relative_to(Path(target).resolve()):
            problems.append(f"{wheel.name}: aecourse was imported from {found['file']}, not from the wheel.")
        if found["version"] != version:
            problems.append(f"{wheel.name}: aecourse.__version__ is {found['version']}, not {version}.")
        shipped = {p.name: p.stat().st_size for p in sorted((root / "aecourse" / "checkpoints").glob("*.pt"))}
        for name, size in shipped.items():
            if found["checkpoints"].get(name) != size:
                have = found["checkpoints"].get(name)
                problems.append(f"{wheel.name}: checkpoint {name} is "
                                f"{'missing' if have is None else f'{have:,} bytes'}; aecourse/checkpoints/ has "
                                f"{size:,} bytes (pyproject.toml's package-data must include checkpoints/*.pt).")
        return problems


def check_release(tag: str, root: Path = ROOT, repository: str | None = None) -> list[str]:
    """Every disagreement between ``tag`` and the tree at ``root``, one message each (empty: releasable)."""
    problems = []
    version = sync_repository.package_version(root)
    if not tag.startswith("v"):
        problems.append(f'tag "{tag}": a release tag is "v" followed by the version, here "v{version}".')
    elif tag[1:] != version:
        problems.append(
            f'tag "{tag}" names release "{tag[1:]}", but {VERSION_FILE} says __version__ = "{version}". '
            f'Delete this tag (git push origin :refs/tags/{tag}) and tag "v{version}", or set '
            f'__version__ = "{tag[1:]}", {SYNC} "{tag}".'
        )
    problems += pyproject_problems(root, version)
    url = sync_repository.repository_url(root)
    if repository is not None:
        expected = f"https://github.com/{repository}"
        if url.lower() != expected.lower():
            problems.append(
                f"_config.yml: repository.url is {url}, but this release is published in {expected}; Colab "
                "would install aecourse from the other repository. Change repository.url, " + SYNC + "."
            )
    problems += notebook_problems(root, version, url)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tag", help='the release tag, "v" followed by aecourse.__version__, e.g. v0.2.0')
    parser.add_argument("--repository", metavar="OWNER/NAME",
                        help="the GitHub repository the release is published in (checked against repository.url)")
    parser.add_argument("--wheel", metavar="PATH", type=Path,
                        help="the built wheel: it must install and import as this release, with its checkpoints")
    args = parser.parse_args(argv)
    problems = check_release(args.tag, repository=args.repository)
    if args.wheel is not None:
        problems += wheel_problems(args.wheel, args.tag.removeprefix("v"))
    for problem in problems:
        print(f"release {args.tag}: {problem}", file=sys.stderr)
    if problems:
        print(f"release {args.tag}: {len(problems)} mismatch(es); not released.", file=sys.stderr)
        return 1
    count = len(notebook_io.all_notebooks(ROOT))
    print(f"release {args.tag}: the tag, aecourse.__version__, pyproject.toml and the install cells "
          f"of {count} notebooks agree." + (f" {args.wheel.name} installs and imports with its checkpoints."
                                            if args.wheel is not None else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
