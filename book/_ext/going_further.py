"""Fold every side study of a chapter: sections whose title begins "Going further".

A chapter's main path teaches what its title promises; its side studies (the
allocator, a recipe search, a replication) sit under headings that begin
"Going further:". A reader should see that they exist and skip them with one
glance, so each such section keeps its title visible and its body folded: the
body goes into a container with the class ``toggle``, which sphinx-togglebutton
(part of Jupyter Book 1) folds behind a "Click to show" button. Without
JavaScript the body simply shows. ``tools/prose_stats.py`` leaves the same
sections out of the main path's word count, by the same rule.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.application import Sphinx

PREFIX = "Going further"
FOLD_CLASSES = ["toggle", "going-further"]


def fold_side_studies(app: Sphinx, doctree: nodes.document) -> None:
    """Move the body of each "Going further" section into a folded container."""
    for section in list(doctree.findall(nodes.section)):
        if not section.children or not isinstance(section[0], nodes.title):
            continue
        if not section[0].astext().startswith(PREFIX):
            continue
        body = section.children[1:]
        if not body:
            continue
        fold = nodes.container(classes=list(FOLD_CLASSES))
        for child in body:
            section.remove(child)
            fold += child
        section += fold


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-read", fold_side_studies)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
