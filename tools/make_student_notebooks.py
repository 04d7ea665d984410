"""Write the student (exercise) version of every chapter from its solved notebook.

The solved notebook in ``notebooks/`` is the one source: the book publishes it
and nbval runs it. Its solution cells are marked once, by the cell tag
``solution``; the check cell after each names what the exercise must define
(``check.kl_divergence(kl_divergence)``). From that this script writes
``notebooks/student/<chapter>.ipynb``:

* each solution cell becomes a stub: a function or class keeps its signature
  and docstring and raises :class:`aecourse.checks.ExerciseNotDone`; a value
  answer becomes ``name = ...``. Outputs of exercise and check cells are cleared
  (their execution counts, those of the solved run, stay);
* the solution dropdown disappears, and the exercise box, citations and links
  to book pages become plain Markdown that reads well in Colab; everything
  else, outputs included, is kept;
* a link cell (tag ``exercise-links``) points each version at the other. The
  solved notebooks get theirs from this script too, so the URLs follow
  ``repository.url`` in ``_config.yml``.

    python tools/make_student_notebooks.py          # (re)write
    python tools/make_student_notebooks.py --check  # exit 1 if anything is stale
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import re
import sys
import textwrap
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = ROOT / "notebooks"
STUDENT_DIR = SOURCE_DIR / "student"
LINK_TAG = "exercise-links"
STUB_TAG = "exercise-stub"
SOLUTION_TAG = "solution"
CHECK_CALL = re.compile(r"^\s*check\.\w+\((?P<args>[^)]*)\)", re.MULTILINE)
EXERCISE = re.compile(r"```\{exercise\}[^\n]*\n(?P<options>(?::[^\n]*\n)*)(?P<body>.*?)```", re.DOTALL)
SOLUTION_START = re.compile(r"\n*```\{solution-start\}[^\n]*\n(?::[^\n]*\n)*```\s*$")


def source(cell: dict) -> str:
    return "".join(cell["source"])


def tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def colab_url(config: dict, relative: str) -> str:
    """The Colab address of a notebook at ``relative`` in the repository."""
    repo = config["repository"]["url"].rstrip("/").removeprefix("https://github.com/")
    branch = config["repository"].get("branch", "main")
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/{relative}"


# -- stubs ---------------------------------------------------------------------------

def _docstring_end(node: ast.FunctionDef | ast.ClassDef) -> int | None:
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first.end_lineno
    return None


def _stub_def(node: ast.FunctionDef | ast.ClassDef, lines: list[str], label: str, owner: str = "") -> list[str]:
    """The header (decorators, signature, docstring) of ``node``, with a stub body."""
    start = (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1
    doc_end = _docstring_end(node)
    body_start = node.body[0].lineno - 1
    header = lines[start:doc_end] if doc_end else lines[start:body_start]
    indent = " " * node.body[0].col_offset
    if isinstance(node, ast.FunctionDef):
        return header + [f"{indent}# Your code here: replace the line below.",
                         f'{indent}raise ExerciseNotDone("{label}", "{owner}{node.name}")']
    methods = [n for n in node.body if isinstance(n, ast.FunctionDef)]
    out = list(header)
    for method in methods:
        out += [""] + _stub_def(method, lines, label, owner=f"{node.name}.")
    return out


def stub_for(solution: str, answer_names: list[str], label: str) -> str:
    """The student's starting cell for a solution cell whose answers are ``answer_names``."""
    tree = ast.parse(solution)
    lines = solution.splitlines()
    defined = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    parts = [f"# Exercise {label}: write your answer here, then run this cell and the check below."]
    needs_import = False
    for name in answer_names:
        if name in defined:
            parts += [""] + _stub_def(defined[name], lines, label)
            needs_import = True
        else:
            parts += [f"{name} = ...  # replace ... with your answer"]
    if needs_import:
        parts.insert(1, "from aecourse.checks import ExerciseNotDone")
    return "\n".join(parts)


# -- notebooks -----------------------------------------------------------------------

def link_cell(text: str) -> dict:
    return {"cell_type": "markdown", "id": "exercise-links", "metadata": {"tags": [LINK_TAG]},
            "source": text.splitlines(keepends=True)}


def solved_link_text(config: dict, name: str) -> str:
    url = colab_url(config, f"notebooks/student/{name}")
    return (f"**Two versions of this chapter.** This one is solved: it is the notebook the book "
            f"publishes. To do the exercises yourself, [open the exercises in Colab]({url}), the same "
            f"notebook with each answer replaced by a stub.")


def student_link_text(config: dict, name: str) -> str:
    url = colab_url(config, f"notebooks/{name}")
    return ("**Exercise version.** Each exercise has a stub cell: write your answer there, run it, then "
            "run the check below it. Running past an exercise you have not done stops with a message "
            f"that names it. The [solved version]({url}) has every answer.")


def with_links(notebook: dict, text: str) -> dict:
    """``notebook`` with its link cell (after the title cell) set to ``text``."""
    notebook = copy.deepcopy(notebook)
    cells = [c for c in notebook["cells"] if LINK_TAG not in tags(c)]
    title = next(i for i, c in enumerate(cells) if c["cell_type"] == "markdown")
    cells.insert(title + 1, link_cell(text))
    notebook["cells"] = cells
    return notebook


def _clear(cell: dict) -> dict:
    """``cell`` without its outputs. Its execution count stays: every output the
    student notebook keeps comes from the solved notebook's one full run, and the
    counts 1..n say so; blanking some of them would leave gaps that no run makes."""
    cell = copy.deepcopy(cell)
    if cell["cell_type"] == "code":
        cell["outputs"] = []
        cell["metadata"].pop("execution", None)
    return cell


CITE = re.compile(r"\{cite:p\}`(?P<keys>[^`]+)`")
DOC = re.compile(r"\{doc\}`(?P<text>[^`<]+?)\s*(?:<[^`>]+>)?`")


def citations(bib: Path = ROOT / "book" / "references.bib") -> dict[str, str]:
    """Each bibliography key as the book prints it: "Kingma and Welling, 2014"."""
    from pybtex.database import parse_file  # comes with sphinxcontrib-bibtex

    out = {}
    for key, entry in parse_file(str(bib)).entries.items():
        names = [person.last_names[0] for person in entry.persons.get("author", [])]
        who = names[0] if len(names) == 1 else " and ".join(names) if len(names) == 2 else f"{names[0]} et al."
        out[key] = f"{who}, {entry.fields['year']}".replace("{", "").replace("}", "")
    return out


def plain_roles(markdown: str, cited: dict[str, str]) -> str:
    """MyST roles that Colab would show raw, as plain text: citations and page links."""
    markdown = CITE.sub(lambda m: "(" + "; ".join(cited[k.strip()] for k in m["keys"].split(",")) + ")", markdown)
    return DOC.sub(lambda m: " ".join(m["text"].split()) + " (in the book)", markdown)


def plain_exercise(markdown: str) -> str:
    """MyST's exercise box as Markdown Colab can read; the solution fence removed."""
    markdown = SOLUTION_START.sub("", markdown)
    return EXERCISE.sub(lambda m: "> **Exercise.** " + m["body"].strip().replace("\n", "\n> ") + "\n", markdown)


def student_version(notebook: dict, config: dict, name: str) -> dict:
    cells = notebook["cells"]
    cited = citations()
    out: list[dict] = []
    i = 0
    while i < len(cells):
        cell = cells[i]
        text = source(cell)
        if cell["cell_type"] == "markdown" and "{solution-end}" in text:
            i += 1
            continue
        if SOLUTION_TAG in tags(cell):
            label = re.search(r"\{solution-start\} (\S+)", "".join(source(c) for c in cells[max(0, i - 3):i]))
            check = next(c for c in cells[i + 1:] if c["cell_type"] == "code")
            match = CHECK_CALL.search(source(check))
            if label is None or match is None:
                raise ValueError(f"{name}: solution cell {i} needs a {{solution-start}} label before it and a check after it")
            names = [a.strip() for a in match["args"].split(",") if a.strip().isidentifier()]
            stub = _clear(cell)
            stub["source"] = stub_for(text, names, label[1]).splitlines(keepends=True)
            stub["metadata"]["tags"] = [STUB_TAG]
            out.append(stub)
            i += 1
            continue
        if cell["cell_type"] == "code" and CHECK_CALL.match(text):
            out.append(_clear(cell))
            i += 1
            continue
        if cell["cell_type"] == "markdown":
            plain = plain_roles(plain_exercise(text) if "{exercise}" in text else text, cited)
            if plain != text:
                cell = copy.deepcopy(cell)
                cell["source"] = plain.splitlines(keepends=True)
        out.append(cell)
        i += 1
    student = copy.deepcopy(notebook)
    student["cells"] = out
    student["metadata"].pop("widgets", None)  # widget views need a live kernel anyway
    return with_links(student, student_link_text(config, name))


def dump(notebook: dict) -> str:
    """JSON as nbformat writes it, so that files round-trip byte for byte."""
    return json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def planned_files(root: Path = ROOT) -> dict[Path, str]:
    """Every file this script owns, with the text it should have."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    files: dict[Path, str] = {}
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        solved = with_links(json.loads(path.read_text()), solved_link_text(config, path.name))
        files[path] = dump(solved)
        files[root / "notebooks" / "student" / path.name] = dump(student_version(solved, config, path.name))
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale files, change nothing")
    args = parser.parse_args()
    stale = []
    for path, text in planned_files().items():
        if not path.exists() or path.read_text() != text:
            stale.append(path)
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    for path in stale:
        print(f"{'stale' if args.check else 'wrote'}: {path.relative_to(ROOT)}")
    if args.check and stale:
        print("run: .venv/bin/python tools/make_student_notebooks.py")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
