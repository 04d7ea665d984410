"""Drop repeated ``<script>`` entries from every page.

Under Jupyter Book 1.0.4, sphinx-thebe and sphinx-togglebutton each register
their inline configuration script twice, so every page declares
``const THEBE_JS_URL`` twice and the browser reports "Identifier
'THEBE_JS_URL' has already been declared". An identical script is never
needed twice; this keeps the first of each.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _drop_repeats(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in scripts:  # the repeat names no file as '' where the first had None
        attributes = getattr(script, "attributes", {})
        key = (str(getattr(script, "filename", script) or ""), repr(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # in place: Sphinx renders this very list


def setup(app: Sphinx) -> dict[str, Any]:
    # Early: html-page-context stops at the first handler that returns a template
    # name, so a late handler may never run.
    app.connect("html-page-context", _drop_repeats, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
