"""How long a chapter's main path is: its words and its words per sentence.

The course aims at a main path of at most 3,000 words, about as long as the
best tutorials (UvA's autoencoder tutorial has about 2,900), with sentences of
at most 20 words on average. This is the one measure the tests, the authors and
the results page use.

What counts: the prose of the Markdown cells. Left out: code cells, math
(``$...$`` and ``$$...$$``), inline code, glue and other roles, link targets,
HTML comments, directive fences and their ``:option:`` lines, and every section
whose heading begins "Going further" (the side studies, folded in the book),
down to the next heading of the same or a higher level.

    python tools/prose_stats.py notebooks/02_deep_autoencoder.ipynb
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from notebook_io import read  # noqa: E402

GOING_FURTHER = "Going further"
MAIN_PATH_WORDS = 3000        # the most words a chapter's main path may have
WORDS_PER_SENTENCE = 20.0     # the most words per sentence, on average, on the main path
READING_WORDS_PER_MINUTE = 150  # a student reading technical prose with its figures

HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<title>.*\S)\s*$")
FENCE = re.compile(r"^\s*(`{3,}|:{3,})")
_HIDDEN = [
    re.compile(r"<!--.*?-->", re.DOTALL),
    re.compile(r"\$\$.*?\$\$", re.DOTALL),
    re.compile(r"\$[^$\n]*\$"),
    re.compile(r"\{[a-z:]+\}`[^`]*`"),          # roles: glue, cite, ref, term, ...
    re.compile(r"`[^`]*`"),                      # inline code
    re.compile(r"\]\([^)]*\)"),                  # link targets
    re.compile(r"\\begin\{.*?\\end\{[^}]*\}", re.DOTALL),
]
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’.,\-–/]*")
ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e|vs|et al|etc|cf|Fig|Eq|Sec|Ch)\.", re.IGNORECASE)
SENTENCE_END = re.compile(r"[.!?](?:[)\"”’*_]*)(?=\s|$)")


@dataclass(frozen=True)
class ProseStats:
    """Words and sentences of a chapter's main path and of its side studies."""

    main_words: int
    main_sentence_words: int
    main_sentences: int
    side_words: int

    @property
    def words_per_sentence(self) -> float:
        """Average words per sentence of the main path, headings left out."""
        return self.main_sentence_words / max(self.main_sentences, 1)

    @property
    def reading_minutes(self) -> int:
        """Minutes to read the main path at :data:`READING_WORDS_PER_MINUTE`, rounded up to 5."""
        minutes = self.main_words / READING_WORDS_PER_MINUTE
        return int(-(-minutes // 5) * 5)


def split_sections(markdown_cells: list[str]) -> tuple[str, str]:
    """The main path's Markdown and the side studies' Markdown, from the cells in order.

    A side study starts at a heading that begins "Going further" and runs until the
    next heading of the same or a higher level, across cells.
    """
    main, side = [], []
    side_level = 0  # 0: on the main path; else the level of the open side study's heading
    for source in markdown_cells:
        in_fence = False
        for line in source.splitlines():
            if line.lstrip().startswith("```"):
                in_fence = not in_fence
            heading = HEADING.match(line) if not in_fence else None
            if heading:
                level = len(heading["hashes"])
                if side_level and level <= side_level:
                    side_level = 0
                if not side_level and heading["title"].startswith(GOING_FURTHER):
                    side_level = level
            (side if side_level else main).append(line)
        (side if side_level else main).append("")
    return "\n".join(main), "\n".join(side)


def prose(markdown: str) -> str:
    """The words a reader reads in ``markdown``: no math, code, roles, fences or options."""
    for pattern in _HIDDEN:
        markdown = pattern.sub(" ", markdown)
    lines = []
    for line in markdown.splitlines():
        stripped = line.strip()
        if FENCE.match(line) or re.match(r"^:[\w-]+:", stripped) or re.match(r"^\|?[\s:|-]+\|?$", stripped):
            continue
        lines.append(line)
    return "\n".join(lines)


def without_headings(text: str) -> str:
    """``text`` without its heading lines: a title is read, but it is not a sentence."""
    return "\n".join(line for line in text.splitlines() if not HEADING.match(line))


def count_words(text: str) -> int:
    return len(WORD.findall(text))


def count_sentences(text: str) -> int:
    """Sentences: ends of sentences, plus list items and table rows and headings without one."""
    text = ABBREVIATION.sub(" ", text)
    count = 0
    for block in re.split(r"\n\s*\n|\n(?=\s*(?:[-*+]|\d+\.)\s)|\n(?=\s*\|)", text):
        if not WORD.search(block):
            continue
        count += max(1, len(SENTENCE_END.findall(block.strip())))
    return count


def notebook_stats(path: Path) -> ProseStats:
    """:class:`ProseStats` of the notebook at ``path``."""
    cells = [cell.source for cell in read(path).cells if cell.cell_type == "markdown"]
    main, side = split_sections(cells)
    main_text = prose(main)
    body = without_headings(main_text)
    return ProseStats(count_words(main_text), count_words(body), count_sentences(body),
                      count_words(prose(side)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    print(f"{'notebook':40} {'main words':>10} {'words/sentence':>15} {'side words':>10} {'read min':>8}")
    for path in args.notebooks:
        if not path.is_file():
            parser.error(f"no notebook at {path}")
        stats = notebook_stats(path)
        print(f"{path.name:40} {stats.main_words:>10} {stats.words_per_sentence:>15.1f} "
              f"{stats.side_words:>10} {stats.reading_minutes:>8}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
