"""Re-run a chapter notebook top to bottom and store its outputs, with text progress coalesced.

``make run-notebook NB=notebooks/<chapter>.ipynb`` calls this (then
``tools/make_student_notebooks.py`` and ``make notebooks-clean``). It runs the
notebook as ``jupyter execute --inplace`` does (nbclient's ``NotebookClient``,
the notebook's own kernel, its folder as the working directory, no time limit)
with one difference: ``coalesce_streams=True``. The training loops print a text
progress bar (``tqdm.std``) that redraws itself with carriage returns; without
coalescing, the notebook would store every intermediate state of every bar.
Coalesced, each cell's stdout and stderr become one stream each, and the text
before each ``\\r`` is dropped, so only the final bar line is stored.

``jupyter execute --NotebookClient.coalesce_streams=True`` does not do this:
nbclient 0.11's ``jupyter execute`` builds its ``NotebookClient`` without
passing on its configuration, so that option is accepted and silently ignored.

    python tools/run_notebook.py notebooks/02_deep_autoencoder.ipynb
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tools/ is not a package
import notebook_io  # noqa: E402


def run(path: Path) -> None:
    """Execute the notebook at ``path`` in place, streams coalesced; raises on a cell's error."""
    notebook = notebook_io.read(path)
    client = NotebookClient(notebook, timeout=None, coalesce_streams=True,
                            resources={"metadata": {"path": str(path.resolve().parent)}})
    client.execute()
    notebook_io.write(path, notebook)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    for path in parser.parse_args(argv).notebooks:
        print(f"running {path}", flush=True)
        run(path)
        print(f"stored the outputs of {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
