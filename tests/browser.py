"""What a reader sees: helpers that open a built page in headless Chromium and list its problems.

The browser is Debian's Chromium (``apt-get install chromium``), driven by
Playwright's Python package; a test tool's own browser download does not work
on the course's machines, and is never needed. The page checks live here, not
in the tests, so that one test can show they fail on a page broken on purpose.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CHROMIUM_ENV = "AECOURSE_CHROMIUM"
# Flags for a sandboxed machine with no network: without the background-networking
# ones Chromium keeps trying to reach Google and floods the console with refusals.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NO_BROWSER = (
    "no Chromium found: install Debian's package (apt-get install chromium, "
    f"which gives /usr/bin/chromium) or point {CHROMIUM_ENV} at a Chromium binary"
)


def find_chromium() -> str | None:
    """The Chromium binary to drive: ``$AECOURSE_CHROMIUM``, else Debian's, else one on PATH."""
    for candidate in (os.environ.get(CHROMIUM_ENV), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # a browser that closes a connection early (a page left mid-load) is not an error


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 at a free port; yields the base URL (ending in ``/``)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# Runs in the page once it has loaded: waits for MathJax and every image, then
# reports what a reader would see as broken. Returns a list of strings.
_PAGE_REPORT = """
async () => {
  const problems = [];
  const counts = {formulas: 0, images: 0};
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  for (const img of document.images) img.loading = "eager";
  await Promise.all([...document.images].map(img => img.complete ? null :
    new Promise(done => { img.addEventListener("load", done); img.addEventListener("error", done); })));

  counts.images = document.images.length;
  for (const img of document.images) {
    const name = img.getAttribute("src");
    if (img.naturalWidth === 0) problems.push(`image did not load: ${name}`);
    const alt = (img.getAttribute("alt") || "").trim();
    if (!alt || /\\.(png|svg|jpe?g|gif)$/i.test(alt)) problems.push(`image without alt text: ${name}`);
  }

  const formulas = document.querySelectorAll(".math");
  counts.formulas = formulas.length;
  for (const node of formulas) {
    if (!node.querySelector("mjx-container")) {
      problems.push(`formula not typeset: ${node.textContent.trim().slice(0, 60)}`);
    } else if (node.querySelector("mjx-merror")) {
      problems.push(`formula with a TeX error: ${node.querySelector("mjx-merror").textContent.slice(0, 60)}`);
    }
  }
  // TeX a reader would see as text: outside code, outside typeset math.
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const raw = /\\$\\$|\\\\\\(|\\\\\\[|\\\\begin\\{|\\$[^$\\s][^$]*\\\\[a-zA-Z]+[^$]*\\$/;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest("pre, code, script, style, mjx-container, textarea, .highlight")) continue;
    if (parent.closest(".math") && parent.closest(".math").querySelector("mjx-container")) continue;
    if (raw.test(node.textContent)) problems.push(`raw TeX on the page: ${node.textContent.trim().slice(0, 60)}`);
  }

  // No widgets: progress is printed as text, and a widget's output is removed from the book
  // (a static figure stands in), so the book serves no widget manager and a stored widget
  // view would be an empty box.
  const views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length;
  if (views) problems.push(`${views} stored widget view(s): the book draws no widgets`);
  for (const script of document.querySelectorAll("script[src]")) {
    const src = script.getAttribute("src");
    if (/require(\\.min)?\\.js|embed-amd\\.js|html-manager|jupyter-widgets/.test(src)) {
      problems.push(`widget manager script loaded: ${src}`);
    }
  }
  return {problems, ...counts};
}
"""


@dataclass
class PageReport:
    """What :func:`inspect_page` found: the problems, and how many formulas and images it checked."""

    problems: list[str]
    formulas: int
    images: int


def inspect_page(page, url: str) -> PageReport:
    """Open ``url`` in a fresh ``page`` and list what a reader would see broken.

    Checks: console errors and uncaught exceptions; requests that failed on the
    book's own server; every image loaded and described by alt text; every
    formula typeset by MathJax and no raw TeX left in the text; no stored
    widget view, and no widget manager script (require.js, the html-manager).
    """
    problems: list[str] = []
    base = url.split("/", 3)[:3]
    own = "/".join(base)

    def on_console(message) -> None:
        if message.type == "error":
            problems.append(f"console error: {message.text[:200]}")

    def on_failed(request) -> None:
        if request.url.startswith(own):
            problems.append(f"request failed: {request.url[len(own):]} ({request.failure})")

    def on_response(response) -> None:
        if response.url.startswith(own) and response.status >= 400:
            problems.append(f"HTTP {response.status}: {response.url[len(own):]}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"uncaught error: {error}"))
    page.on("requestfailed", on_failed)
    page.on("response", on_response)
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    found = page.evaluate(_PAGE_REPORT)
    return PageReport(problems + found["problems"], found["formulas"], found["images"])
