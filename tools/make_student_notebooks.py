"""Write the student (exercise) and Colab versions of every chapter from its solved notebook.

The solved notebook in ``notebooks/`` is the one source: the book publishes it
and nbval runs it. Its solution cells are marked once, by the cell tag
``solution``, inside a ``{solution-start}``/``{solution-end}`` dropdown; the
check cell after each hands the answer to its check
(``check.kl_divergence(kl_divergence)``). The names the exercise asks for are declared
in the solution cell's metadata (``"answers": ["kl_divergence"]``): only those become
stubs, and a check's other arguments (the chapter's model, say) keep their values. Colab cannot read the MyST the book
is written in, so from each solved notebook this script writes two versions,
both marked as generated (notebook metadata ``aecourse.generated_from``):

* ``notebooks/student/<chapter>.ipynb``, the exercise version: each solution
  cell becomes a stub (a function or class keeps its signature and docstring
  and raises :class:`aecourse.checks.ExerciseNotDone`; a value answer becomes
  ``name = ...``), outputs of exercise and check cells are cleared (their
  execution counts, those of the solved run, stay), and whatever else the
  solution dropdown holds is dropped;
* ``notebooks/colab/<chapter>.ipynb``, the solved version for Colab (the book's
  Colab button opens it, see ``book/_ext/colab_launch.py``): every cell and
  output kept, but each solution hidden until the reader opens it: its code
  cells get a ``#@title`` line and ``cellView: form`` (Colab) and
  ``jupyter.source_hidden`` (JupyterLab, Notebook 7), and any Markdown in the
  dropdown goes into an HTML ``<details>`` block.

In both, exercise boxes, citations and links to book pages become plain
Markdown (citations linked to the paper in the Colab version), and the widget
state that the kept widget outputs need is kept: the slider explorers' (their
``remove-output`` tag hides them from the book only; progress bars are text). A link cell (tag
``exercise-links``) points each version at the other; the solved notebooks get
theirs from this script too, so the URLs follow ``repository.url`` in
``_config.yml``.

    python tools/make_student_notebooks.py          # (re)write
    python tools/make_student_notebooks.py --check  # exit 1 if anything is stale
"""

from __future__ import annotations

import ast
import copy
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the course's own package, as a checkout has it
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tools/ is not a package
import notebook_io  # noqa: E402
from aecourse.glue import format_glued, glued_values  # noqa: E402

SOURCE_DIR = ROOT / "notebooks"
STUDENT_DIR = SOURCE_DIR / "student"
GENERATOR = "tools/make_student_notebooks.py"
LINK_TAG = "exercise-links"
STUB_TAG = "exercise-stub"
SOLUTION_TAG = "solution"
CHECK_CALL = re.compile(r"^\s*check\.\w+\((?P<args>[^)]*)\)", re.MULTILINE)
EXERCISE = re.compile(r"```\{exercise\}[^\n]*\n(?P<options>(?::[^\n]*\n)*)(?P<body>.*?)```", re.DOTALL)
SOLUTION_START = re.compile(r"\n*```\{solution-start\}[^\n]*\n(?::[^\n]*\n)*```\s*$")
# Either fence of a solution dropdown, with the blank lines before it.
SOLUTION_FENCE = re.compile(
    r"\n*```\{solution-(?P<kind>start|end)\}[ \t]*(?P<label>[^\s`]*)[^\n]*\n(?::[^\n]*\n)*```[ \t]*(?:\n|$)")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_REFERENCE = re.compile(r"IPY_MODEL_(\w+)")
SOLUTION_TITLE = "#@title Solution to exercise {label} (double-click to show the code)"


def source(cell: dict) -> str:
    return "".join(cell["source"])


def tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def with_source(cell: dict, text: str) -> dict:
    """A copy of ``cell`` holding ``text``; ``cell`` itself when the text is unchanged.
    (The writer, ``notebook_io.dumps``, splits every source into lines as nbformat does.)"""
    if text == source(cell):
        return cell
    cell = copy.deepcopy(cell)
    cell["source"] = text
    return cell


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


ANSWERS_KEY = "answers"


def _defined_names(solution: str) -> set[str]:
    """The names a solution cell defines at its top level (def, class, or assignment, also
    inside a top-level loop or ``if``)."""
    names: set[str] = set()
    for node in ast.parse(solution).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        for sub in ast.walk(node):
            targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target] if isinstance(sub, (ast.AnnAssign, ast.AugAssign)) else []
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def declared_answers(cell: dict, solution: str, check: str, where: str) -> list[str]:
    """The names the exercise asks for, as the solution cell declares them in its metadata
    (``"answers": ["anomaly_score"]``). Only these become stubs: every other argument of
    the check (the chapter's trained model, its test images) keeps its value. Each must be
    defined by the solution and handed to the check, or the notebook is wrong, and this says so."""
    names = cell.get("metadata", {}).get(ANSWERS_KEY)
    if not names or not isinstance(names, list) or not all(isinstance(n, str) and n.isidentifier() for n in names):
        raise ValueError(f'{where}: declare the names the exercise asks for in the cell\'s metadata, '
                         f'e.g. "{ANSWERS_KEY}": ["anomaly_score"]')
    missing = [n for n in names if n not in _defined_names(solution)]
    if missing:
        raise ValueError(f"{where}: declares {missing} as answers, but the solution does not define them")
    arguments = CHECK_CALL.search(check)
    passed = {a.strip() for a in arguments["args"].split(",")} if arguments else set()
    unchecked = [n for n in names if n not in passed]
    if unchecked:
        raise ValueError(f"{where}: declares {unchecked} as answers, but the check after it is not given them")
    return names


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


# -- links between the versions -----------------------------------------------------

def link_cell(text: str) -> dict:
    return {"cell_type": "markdown", "id": "exercise-links", "metadata": {"tags": [LINK_TAG]},
            "source": text}


def solved_link_text(config: dict, name: str) -> str:
    url = colab_url(config, f"notebooks/student/{name}")
    return (f"**Two versions of this chapter.** This one is solved: it is the notebook the book "
            f"publishes. To do the exercises yourself, [open the exercises in Colab]({url}), the same "
            f"notebook with each answer replaced by a stub.")


def student_link_text(config: dict, name: str) -> str:
    url = colab_url(config, f"notebooks/colab/{name}")
    return ("**Exercise version.** Each exercise has a stub cell: write your answer there, run it, then "
            "run the check below it. Stuck? `check.hint(\"<the exercise's label>\")` shows a stronger hint. "
            "Running past an exercise you have not done stops with a message that names it; a wrong answer "
            "does not stop the notebook, and the cells after it show what your answer does. The last cell "
            f"lists which exercises pass. The [solved version]({url}) has every answer, hidden until you open it.")


def colab_link_text(config: dict, name: str) -> str:
    url = colab_url(config, f"notebooks/student/{name}")
    return ("**Solved version.** Every answer is in this notebook, hidden in the cell after its exercise: "
            "in Colab, double-click the cell's *Solution* title to show the code; in Jupyter, click the "
            "three dots that stand for it. To do the exercises yourself first, "
            f"[open the exercises in Colab]({url}), the same notebook with each answer replaced by a stub.")


def with_links(notebook: dict, text: str) -> dict:
    """``notebook`` with its link cell (after the title cell) set to ``text``."""
    notebook = copy.deepcopy(notebook)
    cells = [c for c in notebook["cells"] if LINK_TAG not in tags(c)]
    title = next(i for i, c in enumerate(cells) if c["cell_type"] == "markdown")
    cells.insert(title + 1, link_cell(text))
    notebook["cells"] = cells
    return notebook


# -- Markdown: MyST that Colab would show raw ------------------------------------------

CITE = re.compile(r"\{cite:p\}`(?P<keys>[^`]+)`")
DOC = re.compile(r"\{doc\}`(?P<text>[^`<]+?)\s*(?:<[^`>]+>)?`")
TERM = re.compile(r"\{term\}`(?P<text>[^`<]+?)\s*(?:<[^`>]+>)?`")
BIBLIOGRAPHY = ROOT / "book" / "references.bib"


def citations(bib: Path = BIBLIOGRAPHY) -> dict[str, str]:
    """Each bibliography key as the book prints it: "Kingma and Welling, 2014"."""
    from pybtex.database import parse_file  # comes with sphinxcontrib-bibtex

    out = {}
    for key, entry in parse_file(str(bib)).entries.items():
        names = [person.last_names[0] for person in entry.persons.get("author", [])]
        who = names[0] if len(names) == 1 else " and ".join(names) if len(names) == 2 else f"{names[0]} et al."
        out[key] = f"{who}, {entry.fields['year']}".replace("{", "").replace("}", "")
    return out


def citation_links(bib: Path = BIBLIOGRAPHY) -> dict[str, str]:
    """Where each cited work can be read: its DOI, arXiv page or URL (keys with none are left out)."""
    from pybtex.database import parse_file

    out = {}
    for key, entry in parse_file(str(bib)).entries.items():
        fields = {name.lower(): value for name, value in entry.fields.items()}
        if "doi" in fields:
            out[key] = f"https://doi.org/{fields['doi']}"
        elif fields.get("archiveprefix", "").lower() == "arxiv" and "eprint" in fields:
            out[key] = f"https://arxiv.org/abs/{fields['eprint']}"
        elif "url" in fields:
            out[key] = fields["url"]
    return out


GLUE = re.compile(r"\{glue(?::text)?\}`(?P<key>[^`:]+)(?::(?P<spec>[^`]*))?`")


def plain_glue(markdown: str, glued: dict[str, str]) -> str:
    """Each ``{glue:text}`key:spec``` as the number the solved run stored, formatted as the book
    formats it (``format_glued`` follows myst-nb's rules)."""

    def value(match: re.Match) -> str:
        if match["key"] not in glued:
            raise ValueError(f"the prose quotes {match['key']!r}, which no cell glues")
        return format_glued(glued[match["key"]], match["spec"] or "")

    return GLUE.sub(value, markdown)


def plain_roles(markdown: str, cited: dict[str, str], links: dict[str, str] | None = None,
                glued: dict[str, str] | None = None) -> str:
    """MyST roles that Colab would show raw, as plain text: citations (linked to the work where
    ``links`` has it), page links, glossary links (their text; the glossary is the book's),
    and glued numbers (from ``glued``)."""
    links = links or {}
    markdown = plain_glue(markdown, glued or {})

    def cite(key: str) -> str:
        return f"[{cited[key]}]({links[key]})" if key in links else cited[key]

    markdown = CITE.sub(lambda m: "(" + "; ".join(cite(k.strip()) for k in m["keys"].split(",")) + ")", markdown)
    markdown = TERM.sub(lambda m: " ".join(m["text"].split()), markdown)
    return DOC.sub(lambda m: " ".join(m["text"].split()) + " (in the book)", markdown)


def plain_exercise(markdown: str, labelled: bool = False) -> str:
    """MyST's exercise box as Markdown Colab can read; the solution fence removed. ``labelled``
    names the exercise by its label, as the stubs and the Colab solution titles do."""
    markdown = SOLUTION_START.sub("", markdown)

    def box(match: re.Match) -> str:
        label = re.search(r"^:label:\s*(\S+)", match["options"], re.MULTILINE)
        name = f"Exercise {label[1]}." if labelled and label else "Exercise."
        return f"> **{name}** " + match["body"].strip().replace("\n", "\n> ") + "\n"

    return EXERCISE.sub(box, markdown)


def split_at_solutions(markdown: str, label: str | None) -> tuple[list[tuple[str, str | None]], str | None]:
    """``markdown`` cut at its solution fences, fences dropped: each non-empty part with the
    label of the dropdown it lies in (None outside), and the label still open at its end.
    ``label`` is the one open where the cell starts."""
    parts, position = [], 0
    for fence in SOLUTION_FENCE.finditer(markdown):
        parts.append((markdown[position:fence.start()], label))
        label = (fence["label"] or "?") if fence["kind"] == "start" else None
        position = fence.end()
        while markdown.startswith("\n", position):  # the blank lines after a fence go with it
            position += 1
    parts.append((markdown[position:], label))
    return [(text, inside) for text, inside in parts if text.strip()], label


def details(markdown: str, label: str) -> str:
    """Markdown from inside a solution dropdown, folded away as HTML that Jupyter and Colab render."""
    return (f"<details>\n<summary>Solution to exercise {label}: show the explanation</summary>\n\n"
            f"{markdown.strip()}\n\n</details>")


# -- widget state --------------------------------------------------------------------

def widget_views(notebook: dict) -> list[str]:
    """The model ids of every widget output (the slider explorers) in ``notebook``."""
    return [output["data"][WIDGET_VIEW]["model_id"] for cell in notebook["cells"]
            for output in cell.get("outputs", []) if WIDGET_VIEW in output.get("data", {})]


def with_widget_state(version: dict, solved: dict) -> dict:
    """``version`` with the part of ``solved``'s widget state that its widget outputs show:
    each shown model and the models it names (children, layouts, styles). Without that
    state Jupyter prints "Error displaying widget: model not found" for each kept output."""
    state = solved["metadata"].get("widgets", {}).get(WIDGET_STATE, {})
    models = state.get("state", {})
    wanted, kept = widget_views(version), set()
    while wanted:
        model_id = wanted.pop()
        if model_id in models and model_id not in kept:
            kept.add(model_id)
            wanted += WIDGET_REFERENCE.findall(json.dumps(models[model_id]["state"]))
    version["metadata"].pop("widgets", None)
    if kept:
        version["metadata"]["widgets"] = {
            WIDGET_STATE: {**state, "state": {k: v for k, v in models.items() if k in kept}}}
    return version


# -- the two versions ----------------------------------------------------------------

def _clear(cell: dict) -> dict:
    """``cell`` without its outputs. Its execution count stays: every output the
    student notebook keeps comes from the solved notebook's one full run, and the
    counts 1..n say so; blanking some of them would leave gaps that no run makes."""
    cell = copy.deepcopy(cell)
    if cell["cell_type"] == "code":
        cell["outputs"] = []
        cell["metadata"].pop("execution", None)
    return cell


def generated(version: dict, solved: dict, name: str, config: dict, link_text: str) -> dict:
    """The finishing touches both versions share: widget state, link cell, and a note in the
    metadata that the file is generated, from which notebook, by which tool."""
    version = with_widget_state(version, solved)
    version["metadata"]["aecourse"] = {"generated_from": f"notebooks/{name}", "generated_by": GENERATOR,
                                       "note": "generated: edit the source notebook, then re-run the tool"}
    return with_links(version, link_text)


def student_version(notebook: dict, config: dict, name: str) -> dict:
    """The exercise version: answers replaced by stubs, the solution dropdowns gone."""
    cells = notebook["cells"]
    cited, glued = citations(), glued_values(notebook)
    out: list[dict] = []
    label: str | None = None
    for i, cell in enumerate(cells):
        text = source(cell)
        if cell["cell_type"] == "markdown":
            parts, label = split_at_solutions(text, label)
            shown = "\n\n".join(plain_roles(plain_exercise(part), cited, glued=glued)
                                for part, inside in parts if inside is None)
            if shown:
                out.append(with_source(cell, shown))
            continue
        if SOLUTION_TAG in tags(cell):
            check = next((c for c in cells[i + 1:] if c["cell_type"] == "code"), None)
            match = CHECK_CALL.search(source(check)) if check else None
            if label is None or match is None:
                raise ValueError(f"{name}: solution cell {i} needs a {{solution-start}} label before it and a check after it")
            names = declared_answers(cell, text, source(check), f"{name}: solution cell {i} ({label})")
            stub = _clear(cell)
            stub["source"] = stub_for(text, names, label)
            stub["metadata"]["tags"] = [STUB_TAG]
            out.append(stub)
        elif cell["cell_type"] == "code" and CHECK_CALL.match(text):
            out.append(_clear(cell))
        else:
            out.append(cell)
    student = copy.deepcopy(notebook)
    student["cells"] = out
    return generated(student, notebook, name, config, student_link_text(config, name))


def hidden_solution(cell: dict, label: str) -> dict:
    """A solution code cell that Colab and Jupyter show folded: a title line, Colab's form view,
    Jupyter's hidden source. Its outputs, those of the solved run, stay."""
    cell = with_source(copy.deepcopy(cell), SOLUTION_TITLE.format(label=label) + "\n" + source(cell))
    cell["metadata"]["cellView"] = "form"
    cell["metadata"].setdefault("jupyter", {})["source_hidden"] = True
    return cell


def colab_version(notebook: dict, config: dict, name: str) -> dict:
    """The solved version for Colab: plain Markdown, every solution folded until opened."""
    cited, links, glued = citations(), citation_links(), glued_values(notebook)
    out: list[dict] = []
    label: str | None = None
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            parts, label = split_at_solutions(source(cell), label)
            shown = "\n\n".join(plain_roles(plain_exercise(part, labelled=True), cited, links, glued) if inside is None
                                else details(plain_roles(part, cited, links, glued), inside) for part, inside in parts)
            if shown:
                out.append(with_source(cell, shown))
        elif cell["cell_type"] == "code" and label is not None:
            out.append(hidden_solution(cell, label))
        else:
            out.append(cell)
    colab = copy.deepcopy(notebook)
    colab["cells"] = out
    return generated(colab, notebook, name, config, colab_link_text(config, name))


# -- files ---------------------------------------------------------------------------

def planned_files(root: Path = ROOT) -> dict[Path, str]:
    """Every file this script owns, with the text it should have (as ``tools/notebook_io.py``
    writes it, the format of ``jupyter execute`` and ``tools/sync_repository.py`` too)."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    files: dict[Path, str] = {}
    for path in notebook_io.book_notebooks(root):
        solved = with_links(notebook_io.read(path), solved_link_text(config, path.name))
        files[path] = notebook_io.dumps(solved)
        for folder, version in (("student", student_version), ("colab", colab_version)):
            files[root / "notebooks" / folder / path.name] = notebook_io.dumps(version(solved, config, path.name))
    return files


def main() -> int:
    return notebook_io.command_line(__doc__.splitlines()[0], planned_files, root=ROOT, written="wrote",
                                    fix=".venv/bin/python tools/make_student_notebooks.py")


if __name__ == "__main__":
    sys.exit(main())
