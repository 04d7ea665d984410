"""Point each chapter's Colab launch button at the chapter's Colab version.

sphinx-book-theme builds the button's URL from the page's own path, so on
``notebooks/01_linear_autoencoder`` it would open
``notebooks/01_linear_autoencoder.ipynb``: the notebook the book publishes,
written in MyST that Colab shows raw (exercise boxes as fenced code,
``{cite:p}`` roles) and with every solution unfolded under its task.
``tools/make_student_notebooks.py`` writes a version made for Colab beside it,
``notebooks/colab/01_linear_autoencoder.ipynb``; this rewrites the button to
open that one. A chapter without its Colab version is reported as a warning,
which fails the book's ``-W`` build, rather than linked to a missing file.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

COLAB_FOLDER = "colab"  # beside the chapter notebooks, as tools/make_student_notebooks.py writes it
logger = logging.getLogger(__name__)


def colab_version(pagename: str) -> str:
    """The repository path of the Colab version of the page ``pagename`` (``notebooks/01_x``)."""
    page = PurePosixPath(pagename)
    return str(page.parent / COLAB_FOLDER / f"{page.name}.ipynb")


def _retarget(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            url = button.get("url", "")
            original = f"/{pagename}.ipynb"
            if "colab.research.google.com" not in url or not url.endswith(original):
                continue
            target = colab_version(pagename)
            if not (Path(app.srcdir) / target).is_file():
                logger.warning(f"no Colab version {target}: run tools/make_student_notebooks.py",
                               location=pagename)
                continue
            button["url"] = url.removesuffix(original) + "/" + target


def setup(app: Sphinx) -> dict[str, Any]:
    # After sphinx-book-theme's add_launch_buttons (priority 501) has filled the header
    # buttons, and before the template renders them.
    app.connect("html-page-context", _retarget, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
