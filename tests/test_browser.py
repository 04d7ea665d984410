"""The published book as a reader sees it, opened in headless Chromium.

Needs the built book in ``_build/html`` (``make book``; ``make test`` builds it
first) and Debian's Chromium (``make test`` installs it where it can). Without
either the tests fail and say which is missing: they never pass by skipping.
Full-page screenshots of every chapter land in ``_build/screenshots/``.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import CHROMIUM_FLAGS, NO_BROWSER, find_chromium, inspect_page, serve  # noqa: E402
from book_layout import load_notebook, toc_files  # noqa: E402
from notebook_checks import raw_myst  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


PAGES = ["index"] + toc_files() + ["genindex", "search"]
CHAPTERS = [f for f in toc_files() if f.startswith("notebooks/")]


def stale_sources(site: Path = SITE) -> list[str]:
    """The pages whose source changed after the page was built: the test would read an old book.

    Each page is compared with its own source (Sphinx rewrites only the pages whose
    source changed, so one page's age says nothing about another's).
    """
    stale = []
    for name in toc_files():
        source = next((ROOT / name).parent.glob(Path(name).name + ".*"), None)
        page = site / f"{name}.html"
        if source is not None and (not page.is_file() or source.stat().st_mtime > page.stat().st_mtime):
            stale.append(str(source.relative_to(ROOT)))
    return stale


@pytest.fixture(scope="session")
def site() -> Path:
    if not (SITE / "index.html").is_file():
        pytest.fail(f"the book is not built in {SITE}: run `make book` (`make test` does it first)")
    stale = stale_sources()
    if stale:
        pytest.fail(f"the book in {SITE} is older than {', '.join(stale[:5])}: run `make book` (`make test` does it first)")
    return SITE


@pytest.fixture(scope="session")
def base_url(site):
    with serve(site) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    chromium = find_chromium()
    if chromium is None:
        pytest.fail(NO_BROWSER)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: `make setup` installs requirements.txt")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    opened = browser.new_page(viewport={"width": 1280, "height": 900})
    yield opened
    opened.close()


@pytest.mark.parametrize("name", PAGES)
def test_page_reads_cleanly(name, base_url, page):
    """No console error, every image loaded and described, every formula typeset, no widget or widget manager."""
    report = inspect_page(page, f"{base_url}{name}.html")
    assert report.problems == []
    if name in CHAPTERS:
        assert report.formulas > 0 and report.images > 0, "a chapter with no formula or figure: wrong page?"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{Path(name).name}.png"), full_page=True)


def local_notebook(href: str) -> Path:
    """The repository file that a Colab link opens, if it is one of this repository on the
    configured branch; fails the test otherwise."""
    repo = CONFIG["repository"]["url"].rstrip("/").removeprefix("https://github.com/")
    branch = CONFIG["repository"].get("branch", "main")
    match = re.fullmatch(rf"https://colab\.research\.google\.com/github/{re.escape(repo)}/blob/"
                         rf"{re.escape(branch)}/(?P<path>[\w./-]+\.ipynb)", href)
    assert match, f"{href} is not a Colab link to {repo} on {branch}"
    return ROOT / match["path"]


@pytest.mark.parametrize("name", CHAPTERS)
def test_colab_links_open_this_chapter_for_colab_and_as_exercises(name, base_url, page):
    """The rocket's Colab button opens the chapter's Colab version (plain Markdown, solutions
    folded), and the link cell's "open the exercises in Colab" the student version."""
    page.goto(f"{base_url}{name}.html")
    launch = page.eval_on_selector_all(
        ".dropdown-launch-buttons a[href*='colab.research.google.com']", "links => links.map(a => a.href)")
    assert len(launch) == 1
    colab = local_notebook(launch[0])
    assert colab.relative_to(ROOT).as_posix() == f"notebooks/colab/{Path(name).name}.ipynb"
    assert colab.is_file(), f"the Colab button opens {colab.relative_to(ROOT)}, which does not exist"
    notebook = load_notebook(colab)
    assert notebook["metadata"]["aecourse"]["generated_from"] == f"{name}.ipynb"
    assert raw_myst(notebook) == [], "the Colab button opens a notebook with raw MyST"
    exercises = page.get_by_role("link", name="open the exercises in Colab")
    student = local_notebook(exercises.get_attribute("href"))
    assert student.relative_to(ROOT).as_posix() == f"notebooks/student/{Path(name).name}.ipynb"
    assert student.is_file() and (ROOT / f"{name}.ipynb").is_file()


@pytest.mark.parametrize("name", CHAPTERS)
def test_solutions_start_folded_and_toggle(name, base_url, page):
    page.goto(f"{base_url}{name}.html")
    solutions = page.locator(".solution.dropdown")
    assert solutions.count() >= 3
    for i in range(solutions.count()):
        solution = solutions.nth(i)
        code = solution.locator(".cell").first
        solution.scroll_into_view_if_needed()
        assert not code.is_visible(), f"solution {i + 1} is open before the reader asks"
        solution.locator(".admonition-title").click()
        code.wait_for(state="visible", timeout=2000)
        solution.locator(".admonition-title").click()
        code.wait_for(state="hidden", timeout=2000)


@pytest.mark.parametrize("name", CHAPTERS)
def test_each_widget_has_its_static_figure(name, base_url, page):
    """A slider explorer cannot run in the book: its output is removed and a figure tagged
    widget-static stands in for it, right after it."""
    cells = load_notebook(ROOT / f"{name}.ipynb")["cells"]
    explorers = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and "latent_explorer(" in "".join(c["source"])]
    for i in explorers:
        assert "remove-output" in cells[i]["metadata"].get("tags", []), "an explorer's output would be an empty box"
        following = [c for c in cells[i + 1:i + 4] if c["cell_type"] == "code"]
        assert following and "widget-static" in following[0]["metadata"].get("tags", [])
    page.goto(f"{base_url}{name}.html")
    loaded = page.eval_on_selector_all(
        ".tag_widget-static img", "imgs => imgs.filter(img => img.complete && img.naturalWidth > 0).length")
    assert loaded == len(explorers)


@pytest.mark.parametrize("name", CHAPTERS)
def test_each_diagram_is_drawn_with_its_alt_text(name, base_url, page):
    """Every cell that shows an ``aecourse.diagrams`` drawing becomes an SVG image on the page,
    loaded, wider than a thumbnail, and described by the alt text the cell's metadata gives."""
    cells = load_notebook(ROOT / f"{name}.ipynb")["cells"]
    drawn = [c for c in cells if c["cell_type"] == "code" and re.search(r"\b\w+_diagram\(", "".join(c["source"]))
             and "import" not in "".join(c["source"])]
    assert drawn, f"{name} draws no diagram"
    alts = [c["metadata"].get("mystnb", {}).get("image", {}).get("alt", "") for c in drawn]
    assert all(alts), "a diagram cell without alt text in its metadata"
    page.goto(f"{base_url}{name}.html")
    shown = page.eval_on_selector_all(
        'img[src$=".svg"]', "imgs => imgs.map(img => [img.getAttribute('alt'), img.complete ? img.naturalWidth : 0])")
    for alt in alts:
        widths = [width for shown_alt, width in shown if shown_alt == alt]
        assert widths, f"no SVG image with the alt text {alt[:60]!r}"
        assert widths[0] > 300, f"the diagram {alt[:40]!r} drew {widths[0]} px wide"


def break_page(site: Path, tmp_path: Path, insert: str, drop: str | None = None) -> Path:
    """A copy of chapter 5's page among links to the real site's files, with ``insert`` added."""
    for entry in site.iterdir():
        if entry.name != "notebooks":
            (tmp_path / entry.name).symlink_to(entry)
    (tmp_path / "notebooks").mkdir()
    for entry in (site / "notebooks").iterdir():
        (tmp_path / "notebooks" / entry.name).symlink_to(entry)
    html = (site / "notebooks" / "05_conv_vae.html").read_text()
    if drop:
        assert drop in html
        html = html.replace(drop, "")
    html = html.replace("</main>", f"{insert}</main>", 1)
    (tmp_path / "notebooks" / "broken.html").write_text(html)
    return tmp_path


@pytest.mark.parametrize("insert, drop, expected", [
    ('<img src="../_images/missing.png" alt="a figure that was never built">', None,
     "image did not load: ../_images/missing.png"),
    ('<img src="../_images/' + "{image}" + '">', None, "image without alt text"),
    # single dollars are MyST's, not MathJax's: without MyST's dollarmath they stay raw
    ("<p>The loss is $-\\log p(x)$ per image.</p>", None, "raw TeX on the page: The loss is $-\\log p(x)$"),
    ('<div class="math notranslate nohighlight">\\[\\begin{matrix} a \\end{pmatrix}\\]</div>', None, "formula with a TeX error"),
    ("", '<script defer="defer" src="../_static/mathjax/tex-chtml.js', "formula not typeset"),
    ('<script type="application/vnd.jupyter.widget-view+json">{"model_id": "bar", "version_major": 2, '
     '"version_minor": 0}</script>', None, "1 stored widget view(s)"),
    # myst-nb's default nb_ipywidgets_js, which an unset option would bring back
    ('<script src="https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.4/require.min.js"></script>', None,
     "widget manager script loaded"),
], ids=["broken image", "no alt text", "raw TeX", "TeX error", "MathJax missing", "stored widget", "widget manager"])
def test_the_checks_catch_a_broken_page(insert, drop, expected, site, tmp_path, browser):
    """The checks are real: each kind of breakage, made on purpose, is reported."""
    image = next((site / "_images").glob("*.png")).name
    if drop:  # cut the whole <script ...></script> tag that loads MathJax
        html = (site / "notebooks" / "05_conv_vae.html").read_text()
        drop = re.search(re.escape(drop) + r"[^>]*></script>", html).group(0)
    broken = break_page(site, tmp_path, insert.replace("{image}", image), drop)
    page = browser.new_page()
    with serve(broken) as url:
        report = inspect_page(page, f"{url}notebooks/broken.html")
    page.close()
    assert any(problem.startswith(expected) for problem in report.problems), report.problems


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.targets: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if tag == "a" and "name" in attributes:
            self.ids.add(attributes["name"])
        for key in ("href", "src"):
            if attributes.get(key) and tag in ("a", "img", "link", "script"):
                self.targets.append(attributes[key])


def test_a_source_newer_than_its_page_is_named(tmp_path):
    import os

    for name in toc_files():
        page = tmp_path / f"{name}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text("")
    chapter = CHAPTERS[0]
    os.utime(tmp_path / f"{chapter}.html", (0, 0))
    assert stale_sources(tmp_path) == [f"{chapter}.ipynb"]


def test_internal_links_resolve_and_external_ones_are_listed(site):
    """Every link and asset inside the site exists, anchors included; external links are
    written to _build/external_links.txt, not fetched (no network here)."""
    pages = {p: _Links() for p in site.rglob("*.html") if "_static" not in p.parts}
    for path, parser in pages.items():
        parser.feed(path.read_text(errors="replace"))
    broken, external = [], set()
    for path, parser in pages.items():
        for target in parser.targets:
            parts = urlsplit(target)
            if parts.scheme or target.startswith("//"):
                if parts.scheme in ("http", "https"):
                    external.add(target)
                continue
            file = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if not file.exists():
                broken.append(f"{path.relative_to(site)} -> {target}")
            elif parts.fragment and file.suffix == ".html" and file in pages:
                if unquote(parts.fragment) not in pages[file].ids:
                    broken.append(f"{path.relative_to(site)} -> {target} (no such anchor)")
    (site.parent / "external_links.txt").write_text("".join(f"{url}\n" for url in sorted(external)))
    assert broken == []
    assert external, "no external link found at all: is the parser reading the pages?"
