"""Draw the course map on the intro page from the chapters themselves.

Each chapter notebook (``notebooks/0*.ipynb``) gives its card: the number and title
from its first heading, and its side studies from its headings that begin
"Going further:". The main idea, one line a chapter, is kept here (:data:`IDEAS`),
since no heading says it. The SVG goes to ``book/_static/course_map.svg`` and its alt
text into the figure block between the markers in ``book/intro.md``, so the picture
and its description cannot drift from the chapters, or from each other.

    python tools/draw_course_map.py          # (re)draw
    python tools/draw_course_map.py --check  # exit 1 if the map or its alt text is stale
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the course's own package, as a checkout has it
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tools/ is not a package
from notebook_io import read  # noqa: E402

from aecourse.diagrams import ChapterCard, Diagram, course_map_diagram  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"
SVG = ROOT / "book" / "_static" / "course_map.svg"
INTRO = ROOT / "book" / "intro.md"
BEGIN, END = "<!-- course map: written by tools/draw_course_map.py -->", "<!-- end of course map -->"

#: Each chapter's main idea, by notebook stem: one short line, what the chapter teaches first.
IDEAS: dict[str, str] = {
    "01_linear_autoencoder": "The training loop, and why a linear autoencoder's optimum is PCA.",
    "02_deep_autoencoder": "A deep MLP on MNIST: learning rates, test error, how small a code can be.",
    "03_tf1_to_pytorch": "A TensorFlow 1 autoencoder rewritten as eager PyTorch, weights and all.",
    "04_conv_denoising_sparse": "Convolutions, noise and sparsity: three ways to stop an autoencoder copying.",
    "05_conv_vae": "The VAE: the ELBO, the reparameterisation trick, an honest likelihood.",
    "06_vq_vae": "Discrete codes: a codebook, its collapse and its fix, and a prior that writes digits.",
    "07_sparse_autoencoders_explain": "Sparse autoencoders that split a classifier's activations into features.",
}
TITLE = re.compile(r"^#\s+(?P<number>\d+)\.\s+(?P<title>.+?)\s*$", re.MULTILINE)
SIDE = re.compile(r"^#+\s+Going further:\s*(?P<title>.+?)\s*$", re.MULTILINE)


def card(path: Path) -> ChapterCard:
    """The map's card for the chapter notebook at ``path``."""
    markdown = [cell.source for cell in read(path).cells if cell.cell_type == "markdown"]
    heading = TITLE.search(markdown[0]) if markdown else None
    if heading is None:
        raise SystemExit(f"{path.name}: its first Markdown cell must start '# N. Title'")
    if path.stem not in IDEAS:
        raise SystemExit(f"{path.name}: add its main idea, one line, to IDEAS in tools/draw_course_map.py")
    sides = tuple(m["title"] for text in markdown for m in SIDE.finditer(text))
    return ChapterCard(int(heading["number"]), heading["title"], IDEAS[path.stem], sides)


def course_map() -> Diagram:
    return course_map_diagram([card(path) for path in sorted(NOTEBOOKS.glob("0*.ipynb"))])


def figure_block(diagram: Diagram) -> str:
    """The intro's figure: the SVG with the diagram's alt text, between the markers."""
    alt = diagram.alt.replace("\n", " ")
    return (f"{BEGIN}\n```{{figure}} _static/course_map.svg\n:name: course-map\n:alt: {alt}\n:width: 100%\n\n"
            f"The course at a glance: each chapter's main idea, and how many side studies it folds away "
            f"under \"Going further\".\n```\n{END}")


def intro_with(diagram: Diagram, intro: str) -> str:
    if BEGIN not in intro or END not in intro:
        raise SystemExit(f"{INTRO.relative_to(ROOT)} has no course-map markers; put these two lines where the "
                         f"map goes:\n{BEGIN}\n{END}")
    head, rest = intro.split(BEGIN, 1)
    return head + figure_block(diagram) + rest.split(END, 1)[1]


def svg_content(svg: str) -> tuple[str, ...]:
    """What a drawing says: its texts, the title (its alt text) among them, in order.

    The check compares this, not the bytes: another matplotlib release (Colab's, say) writes
    the same drawing with other numbers and ids, and that is not a stale map.
    """
    return tuple(html.unescape(re.sub(r"<[^>]+>", "", text)) for text in re.findall(r"<(?:title|text)\b[^>]*>(.*?)</(?:title|text)>", svg, re.S))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the map or the intro's alt text is stale")
    args = parser.parse_args(argv)
    diagram = course_map()
    intro = INTRO.read_text(encoding="utf-8")
    new_intro = intro_with(diagram, intro)
    old_svg = SVG.read_text(encoding="utf-8") if SVG.exists() else ""
    stale = [str(p.relative_to(ROOT)) for p, is_current in
             ((SVG, svg_content(diagram.svg) == svg_content(old_svg)), (INTRO, new_intro == intro)) if not is_current]
    if args.check:
        if stale:
            print("stale: " + ", ".join(stale) + "; run python tools/draw_course_map.py", file=sys.stderr)
            return 1
        return 0
    SVG.write_text(diagram.svg, encoding="utf-8")
    INTRO.write_text(new_intro, encoding="utf-8")
    print("wrote " + ", ".join(stale) if stale else "the course map was up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
