"""The book builds warning-free and links each chapter to Colab."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jupyter_book), "build", "-W", "-n", "--keep-going", "--path-output", str(out), str(ROOT)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return out / "_build" / "html"


def test_chapter_pages_have_a_colab_button_to_their_colab_version(html: Path) -> None:
    """The button opens notebooks/colab/<chapter>.ipynb (book/_ext/colab_launch.py), never the
    published notebook, whose MyST Colab would show raw."""
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    repo = url.removeprefix("https://github.com/")
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        page = (html / "notebooks" / f"{notebook.stem}.html").read_text()
        base = f"https://colab.research.google.com/github/{repo}/blob/main/notebooks"
        expected = f"{base}/colab/{notebook.name}"
        assert expected in page, f"no Colab link {expected} on {notebook.stem}.html"
        assert f"{base}/{notebook.name}" not in page, f"{notebook.stem}.html still opens the book's notebook"


def test_bibliography_holds_the_course_references(html: Path) -> None:
    page = (html / "book" / "references.html").read_text()
    for author in ["Baldi", "Hinton", "Kingma", "Vincent"]:
        assert author in page


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_solution_folds_away(html: Path, notebook: Path) -> None:
    """One folded solution box per exercise: the theme's other dropdowns do not count."""
    exercises = len(re.findall(r"```\{exercise\}", notebook.read_text()))
    page = (html / "notebooks" / f"{notebook.stem}.html").read_text()
    assert exercises >= 3 and page.count('class="solution dropdown') == exercises


def test_every_inline_script_appears_once(html: Path) -> None:
    """sphinx-thebe and sphinx-togglebutton register theirs twice; book/_ext/unique_scripts.py
    drops the repeat, which otherwise throws "THEBE_JS_URL has already been declared"."""
    for page in [html / "book" / "intro.html", html / "notebooks" / "05_conv_vae.html"]:
        inline = re.findall(r"<script>(.*?)</script>", page.read_text(), flags=re.DOTALL)
        assert inline and len(inline) == len(set(inline)), page.name


def test_the_book_never_reads_the_virtual_environments() -> None:
    """Jupyter Book scans the whole tree: a venv the Makefile creates (the notebooks and
    READMEs of installed packages) would fail the -W build unless excluded."""
    makefile = (ROOT / "Makefile").read_text()
    venvs = re.findall(r"^\w+ := (\.venv[\w-]*)$", makefile, flags=re.MULTILINE)
    excluded = yaml.safe_load((ROOT / "_config.yml").read_text())["exclude_patterns"]
    assert venvs and set(venvs) <= set(excluded), f"add {set(venvs) - set(excluded)} to exclude_patterns"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_side_study_is_folded(html: Path, notebook: Path) -> None:
    """Each "Going further" section shows its title and folds its body (book/_ext/going_further.py)."""
    page = (html / "notebooks" / f"{notebook.stem}.html").read_text()
    titles = re.findall(r"<h2>Going further", page)
    folds = re.findall(r'class="toggle going-further', page)
    assert len(titles) == len(folds), f"{len(titles)} side studies, {len(folds)} folded"


def test_the_book_folds_the_side_studies_and_nothing_else() -> None:
    from docutils import nodes
    from docutils.core import publish_doctree

    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    from going_further import fold_side_studies

    doctree = publish_doctree("Title\n=====\n\nMain\n----\n\ntext\n\nGoing further: more\n"
                              "-------------------\n\nside text\n\nLast\n----\n\nend\n")
    fold_side_studies(None, doctree)
    folds = [node for node in doctree.findall(nodes.container) if "going-further" in node["classes"]]
    assert len(folds) == 1 and folds[0].astext() == "side text"
    assert "toggle" in folds[0]["classes"]


def test_the_intro_shows_the_course_map_with_its_alt_text(html: Path) -> None:
    """The map (tools/draw_course_map.py) is on the intro page as an image whose alt text names
    every chapter in the table of contents, so a screen reader gets the whole path too."""
    page = (html / "book" / "intro.html").read_text()
    image = re.search(r'<img[^>]*src="[^"]*course_map\.svg"[^>]*>', page)
    assert image, "the course map is not on the intro page"
    alt = re.search(r'alt="([^"]*)"', image[0])
    assert alt and alt[1].startswith("The course as a path of")
    chapters = [f for f in yaml.safe_load((ROOT / "_toc.yml").read_text())["parts"][1]["chapters"]]
    assert f"a path of {len(chapters)} chapters" in alt[1]
