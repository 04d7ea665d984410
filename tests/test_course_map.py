"""The intro's course map is drawn from the chapters as they are now (tools/draw_course_map.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import draw_course_map  # noqa: E402


def test_the_course_map_and_its_alt_text_are_current() -> None:
    """A chapter or side study added without redrawing the map fails here, with the command to run."""
    assert draw_course_map.main(["--check"]) == 0, "run: python tools/draw_course_map.py"


def test_every_chapter_has_a_card_with_its_side_studies() -> None:
    """Cards are numbered 1, 2, ... in file order, and each lists its side studies by title alone."""
    cards = [draw_course_map.card(p) for p in sorted(draw_course_map.NOTEBOOKS.glob("0*.ipynb"))]
    assert [c.number for c in cards] == list(range(1, len(cards) + 1))
    for card in cards:
        assert card.side_studies, f"chapter {card.number} folds no side study away"
        assert not any(s.startswith(("Going further", "#")) for s in card.side_studies)


def test_a_chapter_without_its_main_idea_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new chapter's notebook without a line in IDEAS stops the tool with what to add, not a KeyError."""
    source = draw_course_map.NOTEBOOKS / "01_linear_autoencoder.ipynb"
    copy = tmp_path / "09_new_chapter.ipynb"
    copy.write_bytes(source.read_bytes())
    with pytest.raises(SystemExit, match="add its main idea"):
        draw_course_map.card(copy)


def test_an_intro_without_the_markers_says_where_the_map_goes() -> None:
    diagram = draw_course_map.course_map()
    with pytest.raises(SystemExit, match="course-map markers"):
        draw_course_map.intro_with(diagram, "# Intro\n\nNo markers here.\n")


def test_the_check_reads_what_the_map_says_not_its_bytes() -> None:
    """Another matplotlib (Colab's 3.10) writes the same map with other coordinates and ids:
    not stale. A changed word in a card or in the alt text is."""
    svg = (draw_course_map.SVG).read_text(encoding="utf-8")
    moved = svg.replace('x="', 'x="1', 3)
    assert moved != svg and draw_course_map.svg_content(moved) == draw_course_map.svg_content(svg)
    renamed = svg.replace(">The linear<", ">The nonlinear<", 1)
    assert renamed != svg and draw_course_map.svg_content(renamed) != draw_course_map.svg_content(svg)
