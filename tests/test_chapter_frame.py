"""Every chapter is framed the same way and its main path is short (issue 29).

At the top, under the title: what the student will be able to do (3 to 5 points),
what they need from earlier chapters, and how long the main path takes to read and
to run. At the end of the main path: three to five takeaways. Side studies sit under
headings that begin "Going further", after the takeaways; the book folds them
(``book/_ext/going_further.py``) and ``tools/prose_stats.py`` leaves them out of the
main path's measure. A new chapter cannot leave any of this out.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import prose_stats  # noqa: E402
from notebook_io import read  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("0*.ipynb"))
BULLET = re.compile(r"^\s*[-*]\s+\S", re.MULTILINE)


def _markdown(path: Path) -> list[str]:
    return [cell.source for cell in read(path).cells if cell.cell_type == "markdown"]


def _bullets_after(label: str, text: str) -> int:
    """Bullets in the list that follows ``label`` (up to the next blank-line paragraph that is not a bullet)."""
    after = text.split(label, 1)[1]
    count = 0
    for block in re.split(r"\n\s*\n", after.strip()):
        items = BULLET.findall(block)
        if not items and count:
            break
        count += len(items)
    return count


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_chapter_opens_with_its_frame(path: Path) -> None:
    first = _markdown(path)[0]
    assert first.lstrip().startswith("# "), "the first Markdown cell holds the chapter's title"
    assert "**After this chapter you can**" in first, "say what the student will be able to do"
    assert 3 <= _bullets_after("**After this chapter you can**", first) <= 5
    assert "**You need:**" in first, "say what the chapter needs from earlier chapters"
    time = re.search(r"\*\*Time:\*\*(.*)", first)
    assert time, "say how long the main path takes to read and to run"
    minutes = re.search(r"about (\d+) minutes to read", time[1])
    assert minutes, "the time to read, in minutes"
    assert int(minutes[1]) == prose_stats.notebook_stats(path).reading_minutes, (
        "the reading time follows the main path's length: tools/prose_stats.py")
    assert "{glue:text}`run_seconds" in time[1], "the time to run, glued from the stored run"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_main_path_ends_with_three_to_five_takeaways_before_the_side_studies(path: Path) -> None:
    cells = _markdown(path)
    text = "\n\n".join(cells)
    assert "\n## Takeaways" in "\n" + text, "a '## Takeaways' section ends the main path"
    takeaways = text.split("## Takeaways", 1)[1].split("\n#", 1)[0]
    assert 3 <= len(BULLET.findall(takeaways)) <= 5
    side = [m.start() for m in re.finditer(r"^#+ Going further", text, re.MULTILINE)]
    assert all(start > text.index("## Takeaways") for start in side), "side studies come after the takeaways"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_last_cell_counts_the_exercises(path: Path) -> None:
    code = [cell.source for cell in read(path).cells if cell.cell_type == "code"]
    assert code[-1].strip().endswith("check.progress()")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_main_path_is_as_short_as_the_best_tutorials(path: Path) -> None:
    stats = prose_stats.notebook_stats(path)
    assert stats.main_words <= prose_stats.MAIN_PATH_WORDS, (
        f"{stats.main_words} words on the main path; move side studies under 'Going further:'")
    assert stats.words_per_sentence <= prose_stats.WORDS_PER_SENTENCE, (
        f"{stats.words_per_sentence:.1f} words a sentence on the main path")


def test_side_studies_are_left_out_of_the_main_path() -> None:
    cells = ["# Title\n\nOne two three.", "## Model\n\nFour five.\n\n## Going further: the allocator\n\nSix seven eight.",
             "### Detail\n\nNine.", "## Takeaways\n\nTen eleven."]
    main, side = prose_stats.split_sections(cells)
    assert "Six" in side and "Nine" in side and "Ten" in main and "Six" not in main
    code = "```python\n# Going further is a comment here\n```\nTwelve."
    assert "Twelve" in prose_stats.split_sections([code])[0]


def test_math_code_and_roles_are_not_words() -> None:
    text = prose_stats.prose("The loss $x^2 + y$ and `torch.nn` with {glue:text}`mse:.3f` and [a link](http://x.y/z).")
    assert prose_stats.count_words(text) == 7  # The loss and with and a link


def test_sentences_end_at_stops_not_at_abbreviations_or_decimals() -> None:
    text = "A rate of 0.01 works, e.g. here. It is one run. Is it?"
    assert prose_stats.count_sentences(text) == 3
    assert prose_stats.count_sentences("- first point\n- second point") == 2


def test_reading_time_rounds_up_to_five_minutes() -> None:
    stats = prose_stats.ProseStats(main_words=3000, main_sentence_words=2900, main_sentences=150, side_words=0)
    assert stats.reading_minutes == 20 and round(stats.words_per_sentence, 1) == 19.3
    assert prose_stats.ProseStats(3001, 1, 1, 0).reading_minutes == 25
