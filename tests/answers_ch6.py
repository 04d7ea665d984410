"""Answers a student might write for chapter 6's exercises (see ``tests/student_answers.py``).

For each exercise: correct answers written unlike the worked solution, and typical wrong ones
with the words the check's message must contain. The first of each kind is pasted into the
exercise version by ``tests/test_student_path.py``; every one is judged by ``tests/test_checks_ch6.py``.
The first wrong answer of each exercise lets the notebook run on (the student-path test runs it).
"""

ANSWERS = {
    "ex-ch6-quantise": {
        "correct": [
            """\
def quantise(z, codebook):
    squared = (z.pow(2).sum(1, keepdim=True) - 2 * z @ codebook.T + codebook.pow(2).sum(1))
    indices = squared.argmin(1)
    return z + (codebook[indices] - z).detach(), indices
""",
            """\
def quantise(z, codebook):
    differences = z.unsqueeze(1) - codebook.unsqueeze(0)  # (N, K, D)
    indices = differences.pow(2).sum(-1).argmin(-1)
    chosen = codebook.detach().index_select(0, indices)
    return chosen + z - z.detach(), indices
""",
            """\
def quantise(z, codebook):
    with torch.no_grad():
        indices = torch.cdist(z, codebook).min(dim=1).indices
    z_q = z + (codebook[indices] - z).detach()
    return z_q, indices
""",
        ],
        "wrong": [
            ("""\
def quantise(z, codebook):
    indices = torch.cdist(z, codebook).argmin(dim=1)
    return codebook[indices], indices
""", "the gradient of z_q goes to the codebook, not to z"),
            ("""\
def quantise(z, codebook):
    indices = torch.cdist(z, codebook).argmax(dim=1)
    return z + (codebook[indices] - z).detach(), indices
""", "farthest entry"),
            ("""\
def quantise(z, codebook):
    indices = (z @ codebook.T).argmax(dim=1)
    return z + (codebook[indices] - z).detach(), indices
""", "largest dot product"),
            ("""\
def quantise(z, codebook):
    indices = torch.cdist(z, codebook).argmin(dim=1, keepdim=True)  # (N, 1)
    return z + (codebook[indices[:, 0]] - z).detach(), indices
""", "one number per row of z"),
            ("""\
def quantise(z, codebook):
    indices = torch.cdist(z, codebook).argmin(dim=1)
    return (z + (codebook[indices] - z)).detach(), indices
""", "z_q carries no gradient"),
            ("""\
def quantise(z, codebook):
    indices = torch.cdist(z, codebook).argmin(dim=1)
    return z, indices
""", "z_q equals z"),
            ("""\
def quantise(z, codebook):
    indices = torch.cdist(z, codebook).argmin(dim=1)
    return z + codebook[indices] - z.detach(), indices
""", "the codebook also gets a gradient"),
            ("""\
def quantise(z, codebook):
    indices = torch.cdist(z, codebook).argmin(dim=1)
    return indices, z + (codebook[indices] - z).detach()
""", "swapped"),
        ],
    },
    "ex-ch6-perplexity": {
        "correct": [
            """\
def perplexity_from_counts(counts):
    p = counts.float() / counts.sum()
    entropy_bits = -sum(q * math.log2(q) for q in p.tolist() if q > 0)
    return 2 ** entropy_bits
""",
            """\
def perplexity_from_counts(counts):
    p = counts.double() / counts.sum()
    return torch.exp(-torch.special.xlogy(p, p).sum()).item()
""",
            """\
def perplexity_from_counts(counts):
    p = np.asarray(counts, dtype=float)
    p = p[p > 0] / p.sum()
    return float(np.exp(-(p * np.log(p)).sum()))
""",
        ],
        "wrong": [
            ("""\
def perplexity_from_counts(counts):
    p = counts.double() / counts.sum()
    p = p[p > 0]
    return -(p * p.log()).sum().item()
""", "That is the entropy itself"),
            ("""\
def perplexity_from_counts(counts):
    p = counts.double() / counts.sum()
    return math.exp(-(p * p.log()).sum().item())
""", "0 log 0"),
            ("""\
def perplexity_from_counts(counts):
    p = counts.double() / counts.sum()
    p = p[p > 0]
    return math.exp(-(p * p.log2()).sum().item())
""", "the base of the power must match"),
            ("""\
def perplexity_from_counts(counts):
    return int((counts > 0).sum())
""", "the number of codes used"),
            ("""\
def perplexity_from_counts(counts):
    p = counts.double() / counts.sum()
    return (1 / (p * p).sum()).item()
""", "1 / sum(p^2)"),
            ("""\
def perplexity_from_counts(counts):
    c = counts.double()
    c = c[c > 0]
    return math.exp(-(c * c.log()).sum().item())
""", "frequencies that sum to 1"),
        ],
    },
    "ex-ch6-dead": {
        "correct": [
            "codebook_grad = 0.0\nreconstruction_grad = 0.0\n",
            "codebook_grad = torch.tensor(0.0)\nreconstruction_grad = np.float64(0)\n",
            "codebook_grad = reconstruction_grad = 0  # a dead code is in no term, and straight-through skips it\n",
        ],
        "wrong": [
            ("codebook_grad = 1\nreconstruction_grad = 0\n", "codebook_grad is not 0"),
            ("codebook_grad = 0\nreconstruction_grad = 0.5\n", "reconstruction_grad is not 0"),
            ("codebook_grad = 'zero'\nreconstruction_grad = 0\n", "must be a number"),
            ("codebook_grad = -1\nreconstruction_grad = 0\n", "never negative"),
            ("codebook_grad = 0.01\nreconstruction_grad = 0.01\n", "appears in no term"),
            ("codebook_grad = 0\nreconstruction_grad = [0, 0]\n", "must be a number"),
        ],
    },
    "ex-ch6-uniform": {
        "correct": [
            "uniform_bits_per_image = 294\n",
            "uniform_bits_per_image = 7 * 7 * 6  # six bits name one of 64 codes\n",
            "uniform_bits_per_image = torch.tensor(64.0).log2().item() * 49\n",
        ],
        "wrong": [
            ("uniform_bits_per_image = 6\n", "one position"),
            ("uniform_bits_per_image = 49 * math.log(64)\n", "nats"),
            ("uniform_bits_per_image = 49 * 64\n", "counts codes, not bits"),
            ("uniform_bits_per_image = 7 * 6\n", "one row"),
            ("uniform_bits_per_image = 49 * 4 * 32\n", "float32"),
            ("uniform_bits_per_image = '294'\n", "must be one number"),
        ],
    },
}
