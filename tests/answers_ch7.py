"""Answers a student might write for chapter 7's exercises (see ``tests/student_answers.py``).

For each exercise: correct answers written unlike the worked solution, and typical wrong ones
with the words the check's message must contain. The first of each kind is pasted into the
exercise version by ``tests/test_student_path.py``; every one is judged by ``tests/test_checks_ch7.py``.
"""

ANSWERS = {
    "ex-ch7-topk": {
        "correct": [
            """\
def topk_activation(pre, k):
    threshold = pre.topk(k, dim=1).values[:, -1:]
    keep = pre >= threshold
    return torch.where(keep, pre.clamp(min=0), torch.zeros_like(pre))
""",
            """\
def topk_activation(pre, k):
    indices = torch.argsort(pre, dim=1, descending=True)[:, :k]
    mask = torch.zeros_like(pre, dtype=torch.bool).scatter(1, indices, True)
    return F.relu(pre) * mask
""",
            """\
def topk_activation(pre, k):
    out = torch.zeros_like(pre)
    values, indices = torch.topk(pre, k)
    return out.scatter(-1, indices, values.clamp_min(0.0))
""",
        ],
        "wrong": [
            ("""\
def topk_activation(pre, k):
    values, indices = pre.topk(k, dim=1)
    return torch.zeros_like(pre).scatter(1, indices, values)
""", "negative"),
            ("""\
def topk_activation(pre, k):
    return F.relu(pre.topk(k, dim=1).values)
""", "shape of pre"),
            ("""\
def topk_activation(pre, k):
    values, indices = pre.topk(k, dim=0)
    return torch.zeros_like(pre).scatter(0, indices, F.relu(values))
""", "each column"),
            ("""\
def topk_activation(pre, k):
    values, indices = pre.topk(k, dim=1, largest=False)
    return torch.zeros_like(pre).scatter(1, indices, F.relu(values))
""", "smallest"),
            ("""\
def topk_activation(pre, k):
    indices = pre.abs().topk(k, dim=1).indices
    return torch.zeros_like(pre).scatter(1, indices, F.relu(pre.gather(1, indices)))
""", "absolute value"),
            ("""\
def topk_activation(pre, k):
    values, indices = pre.detach().topk(k, dim=1)
    return torch.zeros_like(pre).scatter(1, indices, F.relu(values))
""", "no gradient"),
            ("""\
def topk_activation(pre, k):
    return F.relu(pre)
""", "nonzero entries"),
        ],
    },
    "ex-ch7-rescale": {
        "correct": [
            """\
c = 10
reconstruction_factor = (1 / c) * c
penalty_factor = 1 / c
""",
            """\
reconstruction_factor = 1.0
penalty_factor = 1e-1
""",
        ],
        "wrong": [
            ("""\
reconstruction_factor = 1
penalty_factor = 10
""", "divided by 10, not multiplied"),
            ("""\
reconstruction_factor = 0.1
penalty_factor = 0.1
""", "unchanged"),
            ("""\
reconstruction_factor = 1
penalty_factor = 1
""", "sums the codes"),
            ("""\
reconstruction_factor = 1
penalty_factor = 0.01
""", "linear in the codes"),
            ("""\
reconstruction_factor = "unchanged"
penalty_factor = 0.1
""", "must be a number"),
            ("""\
reconstruction_factor = 100
penalty_factor = 0.1
""", "unchanged"),
        ],
    },
    "ex-ch7-fve": {
        "correct": [
            """\
def fraction_of_variance_explained(x, x_hat):
    residual = F.mse_loss(x_hat, x, reduction="sum")
    centred = x - x.mean(dim=0, keepdim=True)
    return float(1 - residual / (centred * centred).sum())
""",
            """\
def fraction_of_variance_explained(x, x_hat):
    unexplained = (x - x_hat).var(dim=0, unbiased=False).sum() + (x - x_hat).mean(dim=0).pow(2).sum()
    return 1 - unexplained / x.var(dim=0, unbiased=False).sum()
""",
            """\
def fraction_of_variance_explained(x, x_hat):
    n = x.shape[0]
    total = x.var(dim=0).sum() * (n - 1)
    return (1 - torch.sum((x - x_hat) ** 2) / total).item()
""",
        ],
        "wrong": [
            ("""\
def fraction_of_variance_explained(x, x_hat):
    return (1 - ((x - x_hat) ** 2).sum() / (x ** 2).sum()).item()
""", "squared size of x"),
            ("""\
def fraction_of_variance_explained(x, x_hat):
    return (((x - x_hat) ** 2).sum() / ((x - x.mean(0)) ** 2).sum()).item()
""", "left unexplained"),
            ("""\
def fraction_of_variance_explained(x, x_hat):
    per_dim = 1 - ((x - x_hat) ** 2).sum(0) / ((x - x.mean(0)) ** 2).sum(0)
    return per_dim.mean().item()
""", "one ratio per dimension"),
            ("""\
def fraction_of_variance_explained(x, x_hat):
    return (1 - ((x - x_hat) ** 2).sum() / ((x_hat - x_hat.mean(0)) ** 2).sum()).item()
""", "spread of x_hat"),
            ("""\
def fraction_of_variance_explained(x, x_hat):
    return 1 - F.mse_loss(x_hat, x).item()
""", "not divided by the variance"),
            ("""\
def fraction_of_variance_explained(x, x_hat):
    return (1 - ((x - x_hat) ** 2).sum() / ((x - x.mean()) ** 2).sum()).item()
""", "its own mean"),
            ("""\
def fraction_of_variance_explained(x, x_hat):
    return 1 - ((x - x_hat) ** 2).sum(1) / ((x - x.mean(0)) ** 2).sum(1)
""", "one number"),
        ],
    },
    "ex-ch7-density": {
        "correct": [
            """\
def firing_frequency(codes):
    return (codes > 0).sum(dim=0) / codes.shape[0]
""",
            """\
def firing_frequency(codes):
    return torch.count_nonzero(codes, dim=0).float() / len(codes)
""",
            """\
def firing_frequency(codes):
    return codes.ne(0).to(torch.float32).mean(0)
""",
        ],
        "wrong": [
            ("""\
def firing_frequency(codes):
    return (codes > 0).float().sum(dim=0)
""", "counts the inputs"),
            ("""\
def firing_frequency(codes):
    return (codes > 0).float().mean(dim=1)
""", "one per input"),
            ("""\
def firing_frequency(codes):
    return codes.mean(dim=0)
""", "averages the code values"),
            ("""\
def firing_frequency(codes):
    return (codes == 0).float().mean(dim=0)
""", "silent"),
            ("""\
def firing_frequency(codes):
    return (codes > 0.01).float().mean(dim=0)
""", "any nonzero code counts"),
            ("""\
def firing_frequency(codes):
    return int(((codes > 0).sum(dim=0) == 0).sum())
""", "one density per latent"),
        ],
    },
    "ex-ch7-double-k": {
        "correct": [
            """\
l0_at_32 = 2 * 16
fve_moves = "up"
""",
            """\
l0_at_32 = 32.0
fve_moves = "Up"
""",
        ],
        "wrong": [
            ("""\
l0_at_32 = 16
fve_moves = "up"
""", "what does TopK decide about that count"),
            ("""\
l0_at_32 = 64
fve_moves = "up"
""", "not 64"),
            ("""\
l0_at_32 = 32
fve_moves = "down"
""", "at least as well"),
            ("""\
l0_at_32 = 32
fve_moves = "same"
""", "extra 16 codes"),
            ("""\
l0_at_32 = 32
fve_moves = "higher"
""", "must be one of"),
            ("""\
l0_at_32 = 8
fve_moves = "up"
""", "at most 32"),
        ],
    },
}
