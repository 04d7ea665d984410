"""aecourse.anomaly and aecourse.probe: the defects, the AUC and the linear probe of chapter 4."""

import pytest
import torch

from aecourse.anomaly import add_defects, detection_auc, roc
from aecourse.probe import probe_accuracy


def test_one_square_per_image_is_inverted_and_nothing_else():
    images = torch.rand(50, 1, 28, 28)
    spoiled = add_defects(images, side=4, generator=torch.Generator().manual_seed(0))
    changed = (spoiled != images)
    assert torch.equal(spoiled[changed], 1 - images[changed])
    per_image = changed.flatten(1).sum(dim=1)
    assert torch.all(per_image <= 16) and per_image.float().mean() > 15  # 16 pixels, unless x == 0.5 exactly
    rows = changed.any(dim=3).squeeze(1)  # which rows hold the square
    assert torch.all(rows.sum(dim=1) == 4)
    assert not rows[:, :4].any() and not rows[:, -4:].any(), "the square keeps its margin from the border"
    assert not torch.equal(images, spoiled) and images.shape == spoiled.shape


def test_defects_repeat_with_a_seed_and_vary_without_one():
    images = torch.rand(20, 1, 28, 28)
    a = add_defects(images, generator=torch.Generator().manual_seed(3))
    b = add_defects(images, generator=torch.Generator().manual_seed(3))
    c = add_defects(images, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("shape", [(5, 28, 28), (5, 784), (5, 3, 28, 28)])
def test_defects_need_single_channel_images(shape):
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        add_defects(torch.rand(shape))


def test_a_square_that_cannot_fit_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        add_defects(torch.rand(2, 1, 28, 28), side=21)


def test_auc_is_the_chance_an_anomaly_scores_higher():
    assert detection_auc(torch.tensor([0.0, 1.0]), torch.tensor([2.0, 3.0])) == 1.0
    assert detection_auc(torch.tensor([2.0, 3.0]), torch.tensor([0.0, 1.0])) == 0.0
    assert detection_auc(torch.tensor([0.0, 2.0]), torch.tensor([1.0, 3.0])) == 0.75  # 3 of 4 pairs ordered
    assert detection_auc(torch.ones(4), torch.ones(4)) == 0.5  # ties count half


def test_auc_refuses_what_is_not_one_finite_score_per_image():
    with pytest.raises(ValueError, match="one score per image"):
        detection_auc(torch.rand(4, 784), torch.rand(4, 784))
    with pytest.raises(ValueError, match="NaN or infinite"):
        detection_auc(torch.tensor([0.0, float("nan")]), torch.rand(3))
    with pytest.raises(ValueError, match="at least one"):
        detection_auc(torch.tensor([]), torch.rand(3))


def test_roc_runs_from_nothing_flagged_to_everything():
    fpr, tpr = roc(torch.rand(100), torch.rand(100) + 0.5)
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1
    assert torch.all(fpr.diff() >= 0) and torch.all(tpr.diff() >= 0)


def test_the_probe_reads_a_label_a_code_keeps_and_not_one_it_lacks():
    torch.manual_seed(0)
    labels = torch.randint(0, 3, (600,))
    informative = torch.nn.functional.one_hot(labels, 3).float() + 0.1 * torch.randn(600, 3)
    noise = torch.randn(600, 3)
    assert probe_accuracy(informative[:400], labels[:400], informative[400:], labels[400:]) > 0.95
    assert probe_accuracy(noise[:400], labels[:400], noise[400:], labels[400:]) < 0.5


def test_the_probe_says_when_codes_do_not_match():
    with pytest.raises(ValueError, match="differ in size"):
        probe_accuracy(torch.rand(10, 3), torch.arange(10) % 2, torch.rand(10, 4), torch.arange(10) % 2)
    with pytest.raises(ValueError, match=r"shape \(N, k\)"):
        probe_accuracy(torch.rand(10, 1, 3), torch.arange(10) % 2, torch.rand(10, 3), torch.arange(10) % 2)
