"""Diagrams: deterministic, well-formed SVG whose text and alt text match what it draws."""

import xml.etree.ElementTree as ET

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

from aecourse.diagrams import (ChapterCard, Diagram, autoencoder_diagram, course_map_diagram, shapes_diagram,
                               trace_shapes, vae_graph_diagram)

SVG = "{http://www.w3.org/2000/svg}"
AUTOENCODERS = [(2, 1), (784, 9), (784, 128, 64, 36, 18, 9), (784, 392, 196)]


def _conv_encoder() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(1, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 4, 2, 1), nn.Flatten(),
                         nn.Linear(64 * 7 * 7, 32))


CONV_SHAPES = [
    ("input", (1, 28, 28)),
    ("Conv2d(1→32, k4 s2 p1)", (32, 14, 14)),
    ("ReLU", (32, 14, 14)),
    ("Conv2d(32→64, k4 s2 p1)", (64, 7, 7)),
    ("Flatten", (3136,)),
    ("Linear(3136→32)", (32,)),
]


def _parse(diagram: Diagram) -> ET.Element:
    return ET.fromstring(diagram.svg.encode("utf-8"))


def _texts(diagram: Diagram) -> list[str]:
    """Every drawn text, whole (matplotlib may split one into a tspan per character)."""
    return ["".join(element.itertext()) for element in _parse(diagram).iter(SVG + "text")]


def _all_diagrams() -> list[Diagram]:
    stages = trace_shapes(_conv_encoder(), torch.zeros(1, 1, 28, 28))
    return [*(autoencoder_diagram(sizes) for sizes in AUTOENCODERS), vae_graph_diagram(), shapes_diagram(stages),
            course_map_diagram(MAP)]


MAP = [ChapterCard(1, "The linear autoencoder", "The training loop, and PCA.", ("one start among many",)),
       ChapterCard(2, "The deep autoencoder", "A deep MLP on MNIST.", ()),
       ChapterCard(3, "Convolutional, denoising and sparse autoencoders", "Three ways to stop copying.",
                   ("batch norm's two modes", "a linear probe, measured"))]


def test_diagrams_are_deterministic_svg_titled_by_their_alt_text():
    """Two calls give the same bytes; the SVG parses; its <title> (and <desc>) come first and the title is the alt."""
    for first, second in zip(_all_diagrams(), _all_diagrams()):
        assert first.svg == second.svg
        root = _parse(first)
        assert root.tag == SVG + "svg"
        assert root[0].tag == SVG + "title" and root[0].text == first.alt
        assert root[1].tag == SVG + "desc" and root[1].text
        assert root.get("role") == "img" and root.get("aria-labelledby") == root[0].get("id")
        assert first.alt.endswith(".") and len(first.alt) > 40


def test_diagram_shows_as_svg_and_saves(tmp_path):
    """Jupyter gets the SVG from _repr_svg_; save writes it; a non-.svg path is refused; repr stays short."""
    diagram = autoencoder_diagram((784, 9))
    assert diagram._repr_svg_() == diagram.svg
    saved = diagram.save(tmp_path / "ae.svg")
    assert saved.read_text(encoding="utf-8") == diagram.svg
    with pytest.raises(ValueError, match=r"ending in \.svg"):
        diagram.save(tmp_path / "ae.png")
    assert len(repr(diagram)) < 120 and "Diagram(" in repr(diagram)


def test_diagrams_leave_pyplot_alone():
    """Built on Figure, not pyplot: nothing left for a notebook's inline backend to show again."""
    plt.close("all")
    _all_diagrams()
    assert plt.get_fignums() == []


def test_diagrams_ignore_the_notebooks_style():
    """A style the notebook set (fonts, sizes) does not change the SVG."""
    before = autoencoder_diagram((784, 9)).svg
    with plt.rc_context({"font.size": 20, "font.family": "serif", "svg.hashsalt": None}):
        assert autoencoder_diagram((784, 9)).svg == before


@pytest.mark.parametrize("sizes", AUTOENCODERS, ids=str)
def test_autoencoder_diagram_labels_every_layer(sizes):
    """Every layer width, encoder and mirrored decoder, is written in the drawing, with the three part names."""
    diagram = autoencoder_diagram(sizes)
    texts = _texts(diagram)
    full = list(sizes) + list(reversed(sizes[:-1]))
    assert [t for t in texts if t.isdigit()] == [str(s) for s in full]
    for word in ("encoder", "code", "decoder"):
        assert word in texts
    assert f"{sizes[0]} input" in diagram.alt and f"code of {sizes[-1]} number" in diagram.alt


def test_autoencoder_alt_text_reads_the_layers():
    """The alt sentence names the hidden layers and the code, in order."""
    alt = autoencoder_diagram((784, 128, 64, 36, 18, 9)).alt
    assert alt == ("An autoencoder: 784 inputs, encoder layers of 128, 64, 36 and 18 units, a code of 9 numbers, "
                   "and a decoder mirroring the encoder back to 784 outputs.")


def test_autoencoder_diagram_with_its_own_decoder_and_title():
    """An explicit decoder is drawn as given, not mirrored; a title is drawn and starts the alt text."""
    diagram = autoencoder_diagram((784, 256, 16), (64, 784), title="Lopsided")
    assert [t for t in _texts(diagram) if t.isdigit()] == ["784", "256", "16", "64", "784"]
    assert "Lopsided" in _texts(diagram)
    assert diagram.alt.startswith("Lopsided. An autoencoder:")
    assert "a decoder layer of 64 units back to 784 outputs" in diagram.alt


@pytest.mark.parametrize(("encoder", "decoder", "message"), [
    ((), None, "encoder_sizes is empty"),
    ((784,), None, "needs an input size and a code size"),
    ((784, 0), None, r"encoder_sizes\[1\] is 0; layer widths must be positive"),
    ((784, -9), None, r"encoder_sizes\[1\] is -9"),
    ((784, 12.5), None, r"encoder_sizes\[1\] is 12\.5 \(float\); layer widths must be whole numbers"),
    ((784, True), None, r"encoder_sizes\[1\] is True \(bool\)"),
    ("784", None, "must be a sequence of layer widths"),
    (784, None, "must be a sequence of layer widths"),
    ((784, 9), (), "decoder_sizes is empty"),
    ((784, 9), (0, 784), r"decoder_sizes\[0\] is 0"),
])
def test_autoencoder_diagram_rejects_bad_sizes(encoder, decoder, message):
    """Each bad input names the argument, the position and what is wrong with it."""
    with pytest.raises(ValueError, match=message):
        autoencoder_diagram(encoder, decoder)


def test_vae_graph_names_its_nodes_and_where_randomness_enters():
    """Every node is drawn with its own label; the alt text says where randomness enters."""
    diagram = vae_graph_diagram()
    texts = set(_texts(diagram))
    for label in ("x", "encoder", "μ", "log σ²", "σ", "ε", "ε ~ N(0, I)", "z = μ + σ ⊙ ε", "decoder", "logits",
                  "KL(q ‖ p)", "loss", "reconstruction", "BCE(logits, x)", "no gradient"):
        assert label in texts, label
    assert "randomness enters only at ε" in diagram.alt
    assert "none flow into ε" in diagram.alt
    assert "KL(q ‖ p)" in diagram.alt and "μ and log σ²" in diagram.alt


def test_trace_shapes_of_a_conv_encoder():
    """The input, then each leaf's output in call order, without the batch axis."""
    assert trace_shapes(_conv_encoder(), torch.zeros(3, 1, 28, 28)) == CONV_SHAPES


def _hooks_everywhere(module: nn.Module) -> list:
    return [hook for m in module.modules() for hook in (*m._forward_hooks.values(), *m._forward_pre_hooks.values())]


def test_trace_shapes_restores_modes_and_hooks_and_random_state():
    """Train/eval mode of every submodule comes back as it was, no hook stays, and the random stream is untouched."""
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.BatchNorm1d(8), nn.Linear(8, 2))
    model.train()
    model[2].eval()  # a mix, to be put back exactly
    running_mean = model[2].running_mean.clone()
    torch.manual_seed(0)
    expected_next = torch.rand(3)
    torch.manual_seed(0)
    stages = trace_shapes(model, torch.randn(5, 4, generator=torch.Generator().manual_seed(1)))
    assert torch.equal(torch.rand(3), expected_next)
    assert [shape for _, shape in stages] == [(4,), (8,), (8,), (8,), (2,)]
    assert [m.training for m in model.modules()] == [True, True, True, False, True]
    assert _hooks_everywhere(model) == []
    assert torch.equal(model[2].running_mean, running_mean)


def test_trace_shapes_cleans_up_when_forward_raises():
    """A shape error in the forward propagates, and still leaves no hook and the training mode as it was."""
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(5, 2))  # 3 != 5
    model.train()
    with pytest.raises(RuntimeError):
        trace_shapes(model, torch.zeros(2, 4))
    assert all(m.training for m in model.modules())
    assert _hooks_everywhere(model) == []


def test_trace_shapes_rejects_a_tensor_without_batch_axis():
    with pytest.raises(ValueError, match="batch"):
        trace_shapes(nn.ReLU(), torch.tensor(1.0))


def test_shapes_diagram_draws_each_stage():
    """Every label (long ones wrapped) and shape appears, with its number of values; the alt reads them in order."""
    diagram = shapes_diagram(CONV_SHAPES, title="A convolutional encoder")
    texts = _texts(diagram)
    for shape in ("1 × 28 × 28", "32 × 14 × 14", "64 × 7 × 7", "3136", "32"):
        assert shape in texts
    conv = texts.index("Conv2d")  # a long label breaks before its parenthesis, one SVG text per line
    assert texts[conv + 1] == "(1→32, k4 s2 p1)"
    assert "ReLU" in texts and "6272 values" in texts
    assert diagram.alt.startswith("A convolutional encoder. The shape of one sample")
    assert "input, 1 by 28 by 28 (784 values); Conv2d(1 to 32, k4 s2 p1), 32 by 14 by 14" in diagram.alt
    assert diagram.alt.endswith("Linear(3136 to 32), 32 (32 values).")


def test_shapes_diagram_boxes_grow_with_the_number_of_values():
    """Box sides order as the stages' sizes do: 6272 values > 784 > 32."""
    diagram = shapes_diagram([("a", (32,)), ("b", (1, 28, 28)), ("c", (32, 14, 14))])
    widths = []
    for path in _parse(diagram).iter(SVG + "path"):
        style = path.get("style", "")
        if "#d6e6f2" in style.lower():
            xs = [float(token) for token in path.get("d").replace("M", " ").replace("L", " ").split()[0::2]
                  if token not in ("z",)]
            widths.append(max(xs) - min(xs))
    assert len(widths) == 3 and widths[0] < widths[1] < widths[2]


def test_shapes_diagram_wraps_long_pipelines_into_rows():
    """Twelve stages still make one readable figure, no wider than a short one's rows allow."""
    stages = [(f"layer {i}", (i + 1,)) for i in range(12)]
    root = _parse(shapes_diagram(stages))
    width_pt = float(root.get("width").removesuffix("pt"))
    assert width_pt <= 7.2 * 72


@pytest.mark.parametrize(("stages", "message"), [
    ([], "stages is empty"),
    ([("input", ())], r"stage 0 \('input'\) has an empty shape"),
    ([("input", (1, 28, 28)), ("Flatten", [])], r"stage 1 \('Flatten'\) has an empty shape"),
    ([("input", (1, 0, 28))], r"the shape of stage 0 \('input'\)\[1\] is 0; dimensions must be positive"),
    ([("input", (1, 2.5))], r"is 2\.5 \(float\)"),
    ([("input",)], r"stages\[0\] must be a \(label, shape\) pair"),
    ([(3, (1,))], r"stages\[0\] has label 3"),
    ([("input", 784)], r"the shape of stage 0 \('input'\) must be a sequence of dimensions"),
    ("input", "must be a sequence of \\(label, shape\\) pairs"),
])
def test_shapes_diagram_rejects_bad_stages(stages, message):
    with pytest.raises(ValueError, match=message):
        shapes_diagram(stages)


def test_course_map_draws_every_chapter_and_counts_its_side_studies():
    """Every card's number, title words and idea are drawn; side studies are counted on the card and named
    in the alt text, each quoted (titles may hold commas); a chapter without side studies shows no count."""
    diagram = course_map_diagram(MAP)
    drawn = " ".join(_texts(diagram))
    for card in MAP:
        assert str(card.number) in _texts(diagram)
        assert all(word in drawn for word in card.title.split())
        assert all(word in drawn for word in card.idea.split())
        assert f"\u201c{card.title}\u201d" in diagram.alt and card.idea.rstrip(".") in diagram.alt
    assert "+ 1 side study" in drawn and "+ 2 side studies" in drawn and "+ 0" not in drawn
    assert "Going further: \u201cbatch norm's two modes\u201d and \u201ca linear probe, measured\u201d." in diagram.alt
    assert diagram.alt.startswith("The course as a path of 3 chapters")


def test_course_map_snakes_so_each_arrow_joins_neighbours():
    """Four cards in rows of two: the second row runs right to left, so card 3 sits under card 2 and every
    arrow is short (one card's width or one row's height), never a jump across the figure."""
    cards = [ChapterCard(i, f"Chapter {i}", "An idea.") for i in range(1, 5)]
    diagram = course_map_diagram(cards, per_row=2)
    positions = {}
    for element in _parse(diagram).iter(SVG + "text"):
        text = "".join(element.itertext())
        if text in {"1", "2", "3", "4"}:
            positions[text] = (float(element.get("x")), float(element.get("y")))  # SVG's y grows downwards
    assert set(positions) == {"1", "2", "3", "4"}
    assert positions["3"][0] > positions["4"][0], "the second row runs right to left"
    assert abs(positions["3"][0] - positions["2"][0]) < 1 and positions["3"][1] > positions["2"][1]


@pytest.mark.parametrize("chapters, per_row, message", [
    ([], 4, "at least one chapter"),
    ([("1", "title", "idea")], 4, "ChapterCard"),
    (MAP, 0, "per_row must be a positive whole number"),
])
def test_course_map_rejects_bad_input(chapters, per_row, message):
    with pytest.raises(ValueError, match=message):
        course_map_diagram(chapters, per_row=per_row)
