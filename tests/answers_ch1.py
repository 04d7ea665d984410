"""Chapter 1: answers a student might write for each exercise (see tests/student_answers.py).

Each source is a whole cell, put in place of the exercise's stub. Besides the notebook's
imports it may use what chapter 1 defines before the exercise: ``x`` (the toy data),
``train_raw`` and ``check`` (for ex-ch1-lr), ``LinearAutoencoder`` (for ex-ch1-unit).
"""

ANSWERS = {
    # -- predicting the loss curves of three orders of zero_grad, backward, step -----------
    "ex-ch1-loop": {
        "correct": [
            'curve_swapped = "B"\ncurve_no_zero_grad = "E"\ncurve_zero_grad_last = "A"\n',
            'curve_swapped, curve_no_zero_grad, curve_zero_grad_last = "(b)", "e: does not settle", "a."\n',
            'curve_swapped = "flat"\n'
            'curve_no_zero_grad = " e) it goes up and down "\n'
            'curve_zero_grad_last = "the mended loop\'s curve, the same loss at every step"\n',
        ],
        "wrong": [
            # the swapped loop thought to learn more slowly: it never moves at all
            ('curve_swapped = "c"\ncurve_no_zero_grad = "e"\ncurve_zero_grad_last = "a"\n',
             "never falls below its first value"),
            # piled-up gradients thought to speed training up: the loss swings
            ('curve_swapped = "b"\ncurve_no_zero_grad = "d"\ncurve_zero_grad_last = "a"\n',
             "goes up at"),
            # zero_grad at the end thought to break the loop
            ('curve_swapped = "b"\ncurve_no_zero_grad = "e"\ncurve_zero_grad_last = "e"\n',
             "its loss never goes up"),
            # "the order does not matter"
            ('curve_swapped = "a"\ncurve_no_zero_grad = "a"\ncurve_zero_grad_last = "a"\n',
             "where the mended loop records"),
            # both broken loops thought flat
            ('curve_swapped = "b"\ncurve_no_zero_grad = "b"\ncurve_zero_grad_last = "a"\n',
             "its loss moves"),
            # zero_grad last thought to use stale gradients
            ('curve_swapped = "b"\ncurve_no_zero_grad = "e"\ncurve_zero_grad_last = "c"\n',
             "falls no more slowly"),
            # the swapped loop thought to blow up
            ('curve_swapped = "e"\ncurve_no_zero_grad = "e"\ncurve_zero_grad_last = "a"\n',
             "its loss never goes up"),
            # a number instead of a letter
            ('curve_swapped = 2\ncurve_no_zero_grad = "e"\ncurve_zero_grad_last = "a"\n',
             'one of the letters "a" to "e"'),
            # a word of its own instead of a letter
            ('curve_swapped = "b"\ncurve_no_zero_grad = "overflows"\ncurve_zero_grad_last = "a"\n',
             'one of the letters "a" to "e"'),
        ],
    },
    # -- the PCA reconstruction error ------------------------------------------------------
    "ex-ch1-pca": {
        "correct": [
            # the discarded eigenvalues of the 1/N covariance, over D; a 0-d tensor
            "def pca_error(x, k):\n"
            "    centred = x - x.mean(0)\n"
            "    eigenvalues = torch.linalg.eigvalsh(centred.T @ centred / len(x))  # ascending\n"
            "    return eigenvalues[: x.shape[1] - k].sum() / x.shape[1]\n",
            # projection onto V_k V_k^T, returned as a NumPy float
            "def pca_error(x, k):\n"
            "    mean = x.mean(0, keepdim=True)\n"
            "    v = torch.linalg.svd(x - mean, full_matrices=False).Vh[:k].T\n"
            "    return np.float32((((x - mean) @ v @ v.T + mean - x) ** 2).mean())\n",
            # in float64, torch.cov without Bessel's correction, eigh
            "def pca_error(x, k):\n"
            "    x = x.double()\n"
            "    values, vectors = torch.linalg.eigh(torch.cov(x.T, correction=0))\n"
            "    top = vectors[:, -k:]\n"
            "    centred = x - x.mean(dim=0)\n"
            "    return float(((centred - centred @ top @ top.T) ** 2).mean())\n",
        ],
        "wrong": [
            ("def pca_error(x, k):\n"
             "    u, s, vh = torch.linalg.svd(x, full_matrices=False)\n"
             "    return (((u[:, :k] * s[:k]) @ vh[:k] - x) ** 2).mean().item()\n",
             "through the origin"),
            ("def pca_error(x, k):\n"
             "    mean = x.mean(0)\n"
             "    u, s, vh = torch.linalg.svd(x - mean, full_matrices=False)\n"
             "    return (((u[:, :k] * s[:k]) @ vh[:k] + mean - x) ** 2).sum(dim=1).mean().item()\n",
             "summed over each row"),
            ("def pca_error(x, k):\n"
             "    mean = x.mean(0)\n"
             "    u, s, vh = torch.linalg.svd(x - mean, full_matrices=False)\n"
             "    return (((u[:, :k] * s[:k]) @ vh[:k] + mean - x) ** 2).sum().item()\n",
             "total squared error"),
            ("def pca_error(x, k):\n"
             "    mean = x.mean(0)\n"
             "    u, s, vh = torch.linalg.svd(x - mean, full_matrices=False)\n"
             "    return (((u[:, :k] * s[:k]) @ vh[:, :k].T + mean - x) ** 2).mean().item()\n",
             "columns of Vh"),
            ("def pca_error(x, k):\n"
             "    eigenvalues = torch.linalg.eigvalsh(torch.cov(x.T))  # ascending\n"
             "    return float(eigenvalues[: x.shape[1] - k].sum() / x.shape[1])\n",
             "N / (N - 1)"),
            ("def pca_error(x, k):\n"
             "    centred = x - x.mean(0)\n"
             "    eigenvalues = torch.linalg.eigvalsh(centred.T @ centred / len(x))  # ascending\n"
             "    return float(eigenvalues[-k:].sum() / x.shape[1])\n",
             "the variance the k strongest directions hold"),
            ("def pca_error(x, k):\n"
             "    mean = x.mean(0)\n"
             "    u, s, vh = torch.linalg.svd(x - mean, full_matrices=False)\n"
             "    return (((u[:, :k] * s[:k]) @ vh[:k] + mean - x) ** 2).mean().sqrt().item()\n",
             "square root"),
            ("def pca_error(x, k):\n"
             "    x -= x.mean(0)  # centred in place: the caller's x changes\n"
             "    u, s, vh = torch.linalg.svd(x, full_matrices=False)\n"
             "    return (((u[:, :k] * s[:k]) @ vh[:k] - x) ** 2).mean().item()\n",
             "changed the values of x"),
            ("def pca_error(x, k):\n"
             "    mean = x.mean(0)\n"
             "    u, s, vh = torch.linalg.svd(x - mean, full_matrices=False)\n"
             "    return [(((u[:, :k] * s[:k]) @ vh[:k] + mean - x) ** 2).mean().item()]\n",
             "return one number"),
            ("from aecourse.pca import fit_pca\n\n\n"
             "def pca_error(x, k):\n"
             "    return fit_pca(x).error(x, k)\n",
             "fit_pca"),
        ],
    },
    # -- the sharpness of a loss -----------------------------------------------------------
    "ex-ch1-sharpness": {
        "correct": [
            # central differences of autograd gradients, symmetrised; a 0-d tensor
            "def sharpness(f, point):\n"
            "    p = point.detach()\n"
            "\n"
            "    def grad(q):\n"
            "        q = q.clone().requires_grad_(True)\n"
            "        return torch.autograd.grad(f(q), q)[0]\n"
            "\n"
            "    h = 1e-2\n"
            "    columns = [(grad(p + h * e) - grad(p - h * e)) / (2 * h) for e in torch.eye(len(p), dtype=p.dtype)]\n"
            "    hessian = torch.stack(columns)\n"
            "    return torch.linalg.eigvalsh((hessian + hessian.T) / 2).max()\n",
            # torch.func.hessian and the general eigvals, a one-element tensor
            "def sharpness(f, point):\n"
            "    hessian = torch.func.hessian(f)(point)\n"
            "    return torch.linalg.eigvals(hessian).real.max().reshape(1)\n",
            # shifted power iteration with Hessian-vector products
            "def sharpness(f, point):\n"
            "    p = point.detach().clone().requires_grad_(True)\n"
            "    g = torch.autograd.grad(f(p), p, create_graph=True)[0]\n"
            "\n"
            "    def hvp(v):\n"
            "        return torch.autograd.grad(g, p, v, retain_graph=True)[0]\n"
            "\n"
            "    shift = 100.0\n"
            "    v = torch.ones_like(p) / len(p) ** 0.5\n"
            "    for _ in range(3000):\n"
            "        w = hvp(v) + shift * v\n"
            "        v = w / w.norm()\n"
            "    return float(v @ hvp(v))\n",
        ],
        "wrong": [
            ("def sharpness(f, point):\n"
             "    values = torch.linalg.eigvalsh(torch.autograd.functional.hessian(f, point))\n"
             "    return values[values.abs().argmax()].item()\n",
             "largest in size"),
            ("def sharpness(f, point):\n"
             "    hessian = torch.autograd.functional.hessian(f, point)\n"
             "    return torch.linalg.eigvalsh(hessian).abs().max().item()\n",
             "largest absolute value"),
            ("def sharpness(f, point):\n"
             "    return torch.autograd.functional.hessian(f, point).diagonal().max().item()\n",
             "largest diagonal entry"),
            ("def sharpness(f, point):\n"
             "    return torch.autograd.functional.hessian(f, point).trace().item()\n",
             "trace"),
            ("def sharpness(f, point):\n"
             "    return torch.linalg.eigvalsh(torch.autograd.functional.hessian(f, point))[0].item()\n",
             "smallest eigenvalue"),
            ("def sharpness(f, point):\n"
             "    top = torch.linalg.eigvalsh(torch.autograd.functional.hessian(f, point))[-1].item()\n"
             "    return 2 / top\n",
             "2 / lambda"),
            ("def sharpness(f, point):\n"
             "    return torch.linalg.eigvalsh(torch.autograd.functional.hessian(f, point))\n",
             "one number"),
            ("def sharpness(f, point):\n"
             "    point.requires_grad_(True)  # on the caller's tensor\n"
             "    gradient = torch.autograd.grad(f(point), point, create_graph=True)[0]\n"
             "    rows = [torch.autograd.grad(g, point, retain_graph=True)[0] for g in gradient]\n"
             "    return torch.linalg.eigvalsh(torch.stack(rows))[-1].item()\n",
             "requires_grad of point"),
            ("def sharpness(f, point):\n"
             "    hessian = torch.autograd.functional.hessian(f, point)\n"
             "    point += 1e-3  # nudged, and not put back exactly\n"
             "    point -= 1e-3\n"
             "    return torch.linalg.eigvalsh(hessian)[-1].item()\n",
             "changed the values of point"),
        ],
    },
    # -- the first learning rate that diverges ---------------------------------------------
    "ex-ch1-lr": {
        "correct": [
            "diverging_lr = None\n"
            "for lr in sorted(check.DIVERGENCE_GRID):\n"
            "    torch.manual_seed(0)\n"
            "    if any(not math.isfinite(value) for value in train_raw(x, 1000, lr)):\n"
            "        diverging_lr = lr\n"
            "        break\n",
            "diverging_lr = np.float32(0.3)  # the first rate of the grid above 2 / sharpness\n",
            "diverging_lr = torch.tensor(0.3)\n",
        ],
        "wrong": [
            ("diverging_lr = 0.2  # the last rate that still converges\n", "still converges"),
            ("diverging_lr = 0.05\n", "still converges"),
            ("diverging_lr = 0.5\n", "smaller rate"),
            ("diverging_lr = 0.296  # 2 / sharpness itself\n", "not on the grid"),
            ('diverging_lr = "0.3"\n', "as a number"),
            ("diverging_lr = [0.3]\n", "as a number"),
        ],
    },
    # -- a rescaled encoder with the same reconstructions ---------------------------------
    "ex-ch1-unit": {
        "correct": [
            # the chapter's A as a matrix, with a sign flip
            "def unit_encoder(model):\n"
            "    new = copy.deepcopy(model)\n"
            "    a = torch.diag(-1 / model.encoder.weight.detach().norm(dim=1))\n"
            "    with torch.no_grad():\n"
            "        new.encoder.weight.copy_(a @ model.encoder.weight)\n"
            "        new.encoder.bias.copy_(a @ model.encoder.bias)\n"
            "        new.decoder.weight.copy_(model.decoder.weight @ torch.linalg.inv(a))\n"
            "    return new\n",
            # a fresh LinearAutoencoder loaded with a rescaled state dict
            "def unit_encoder(model):\n"
            "    state = {name: value.detach().clone() for name, value in model.state_dict().items()}\n"
            "    lengths = state['encoder.weight'].norm(dim=1)\n"
            "    state['encoder.weight'] = state['encoder.weight'] / lengths[:, None]\n"
            "    state['encoder.bias'] = state['encoder.bias'] / lengths\n"
            "    state['decoder.weight'] = state['decoder.weight'] * lengths[None, :]\n"
            "    k, d = state['encoder.weight'].shape\n"
            "    new = LinearAutoencoder(d, k)\n"
            "    new.load_state_dict(state)\n"
            "    return new\n",
            # a new model of the same class, its parameters copied in rescaled
            "def unit_encoder(model):\n"
            "    k, d = model.encoder.weight.shape\n"
            "    new = type(model)(d, k)\n"
            "    with torch.no_grad():\n"
            "        lengths = model.encoder.weight.norm(dim=1)\n"
            "        new.encoder.weight.copy_(model.encoder.weight / lengths[:, None])\n"
            "        new.encoder.bias.copy_(model.encoder.bias / lengths)\n"
            "        new.decoder.weight.copy_(model.decoder.weight * lengths)\n"
            "        new.decoder.bias.copy_(model.decoder.bias)\n"
            "    return new\n",
        ],
        "wrong": [
            ("def unit_encoder(model):\n"
             "    new = copy.deepcopy(model)\n"
             "    with torch.no_grad():\n"
             "        lengths = new.encoder.weight.norm(dim=1)\n"
             "        new.encoder.weight /= lengths[:, None]\n"
             "        new.encoder.bias /= lengths\n"
             "    return new\n",
             "columns grow by |w|"),
            ("def unit_encoder(model):\n"
             "    with torch.no_grad():\n"
             "        lengths = model.encoder.weight.norm(dim=1)\n"
             "        model.encoder.weight /= lengths[:, None]\n"
             "        model.encoder.bias /= lengths\n"
             "        model.decoder.weight *= lengths\n"
             "    return model\n",
             "rescaled it and returned it"),
            ("def unit_encoder(model):\n"
             "    new = copy.deepcopy(model)\n"
             "    with torch.no_grad():\n"
             "        lengths = new.encoder.weight.norm(dim=1)\n"
             "        new.encoder.weight /= lengths[:, None]\n"
             "        new.decoder.weight *= lengths\n"
             "    return new\n",
             "scale it with the weight"),
            ("def unit_encoder(model):\n"
             "    new = copy.deepcopy(model)\n"
             "    with torch.no_grad():\n"
             "        lengths = new.encoder.weight.norm(dim=1)\n"
             "        new.encoder.weight /= lengths[:, None]\n"
             "        new.encoder.bias /= lengths\n"
             "        new.decoder.weight /= lengths\n"
             "    return new\n",
             "multiply its columns"),
            ("def unit_encoder(model):\n"
             "    new = copy.deepcopy(model)\n"
             "    with torch.no_grad():\n"
             "        length = new.encoder.weight.norm()\n"
             "        new.encoder.weight /= length\n"
             "        new.encoder.bias /= length\n"
             "        new.decoder.weight *= length\n"
             "    return new\n",
             "scale each row"),
            ("def unit_encoder(model):\n"
             "    new = copy.deepcopy(model)\n"
             "    with torch.no_grad():\n"
             "        lengths = new.encoder.weight.norm(dim=1)\n"
             "        new.encoder.weight /= lengths[:, None]\n"
             "        new.encoder.bias /= lengths\n"
             "        new.decoder.weight *= lengths\n",
             "return a model"),
            ("def unit_encoder(model):\n"
             "    model.eval()  # left in eval mode\n"
             "    new = copy.deepcopy(model)\n"
             "    with torch.no_grad():\n"
             "        lengths = new.encoder.weight.norm(dim=1)\n"
             "        new.encoder.weight /= lengths[:, None]\n"
             "        new.encoder.bias /= lengths\n"
             "        new.decoder.weight *= lengths\n"
             "    return new\n",
             "to evaluation mode"),
        ],
    },
    # -- the tied linear autoencoder -------------------------------------------------------
    "ex-ch1-tied": {
        "correct": [
            # W stored as (d, k), F.linear, Xavier start
            "class TiedLinearAutoencoder(nn.Module):\n"
            "    def __init__(self, d, k):\n"
            "        super().__init__()\n"
            "        self.W = nn.Parameter(torch.empty(d, k))\n"
            "        nn.init.xavier_uniform_(self.W)\n"
            "        self.b_enc = nn.Parameter(torch.empty(k).uniform_(-0.1, 0.1))\n"
            "        self.b_dec = nn.Parameter(torch.zeros(d))\n"
            "\n"
            "    def forward(self, x):\n"
            "        return F.linear(F.linear(x, self.W.T, self.b_enc), self.W, self.b_dec)\n",
            # the encoder an nn.Linear, the decoder its weight transposed plus a bias of its own
            "class TiedLinearAutoencoder(nn.Module):\n"
            "    def __init__(self, d, k):\n"
            "        super().__init__()\n"
            "        self.encoder = nn.Linear(d, k)\n"
            "        self.decoder_bias = nn.Parameter(torch.zeros(d))\n"
            "\n"
            "    def forward(self, x):\n"
            "        return self.encoder(x) @ self.encoder.weight + self.decoder_bias\n",
        ],
        "wrong": [
            ("class TiedLinearAutoencoder(nn.Module):\n"
             "    def __init__(self, d, k):\n"
             "        super().__init__()\n"
             "        self.encoder = nn.Linear(d, k)\n"
             "        self.decoder = nn.Linear(k, d)\n"
             "\n"
             "    def forward(self, x):\n"
             "        return self.decoder(self.encoder(x))\n",
             "found 2 weight matrices"),
            ("class TiedLinearAutoencoder(nn.Module):\n"
             "    def __init__(self, d, k):\n"
             "        super().__init__()\n"
             "        self.W = nn.Parameter(torch.randn(k, d) / d ** 0.5)\n"
             "        self.b_encoder = nn.Parameter(torch.zeros(k))\n"
             "        self.b_decoder = nn.Parameter(torch.zeros(d))\n"
             "\n"
             "    def forward(self, x):\n"
             "        return (x @ self.W.T) @ self.W + self.b_decoder\n",
             "does not depend on the encoder bias"),
            ("class TiedLinearAutoencoder(nn.Module):\n"
             "    def __init__(self, d, k):\n"
             "        super().__init__()\n"
             "        self.W = nn.Parameter(torch.randn(k, d) / d ** 0.5)\n"
             "        self.b_encoder = nn.Parameter(torch.zeros(k))\n"
             "        self.b_decoder = nn.Parameter(torch.zeros(d))\n"
             "\n"
             "    def forward(self, x):\n"
             "        return (x @ self.W.T + self.b_encoder) @ self.W\n",
             "does not depend on the decoder bias"),
            ("class TiedLinearAutoencoder(nn.Module):\n"
             "    def __init__(self, d, k):\n"
             "        super().__init__()\n"
             "        self.W = nn.Parameter(torch.zeros(k, d))\n"
             "        self.b_encoder = nn.Parameter(torch.zeros(k))\n"
             "        self.b_decoder = nn.Parameter(torch.zeros(d))\n"
             "\n"
             "    def forward(self, x):\n"
             "        return (x @ self.W.T + self.b_encoder) @ self.W + self.b_decoder\n",
             "W starts at zero"),
            ("class TiedLinearAutoencoder(nn.Module):\n"
             "    def __init__(self, d, k):\n"
             "        super().__init__()\n"
             "        self.W = nn.Parameter(torch.randn(k, d) / d ** 0.5)\n"
             "        self.b_encoder = nn.Parameter(torch.zeros(k))\n"
             "        self.b_decoder = nn.Parameter(torch.zeros(d))\n"
             "\n"
             "    def forward(self, x):\n"
             "        return torch.relu(x @ self.W.T + self.b_encoder) @ self.W + self.b_decoder\n",
             "x W^T W + b_e W + b_d"),
            ("class TiedLinearAutoencoder(nn.Module):\n"
             "    def __init__(self, d, k):\n"
             "        super().__init__()\n"
             "        self.W = nn.Parameter(torch.randn(k, d) / d ** 0.5)\n"
             "        self.b_encoder = torch.zeros(k, requires_grad=True)  # not registered\n"
             "        self.b_decoder = torch.zeros(d, requires_grad=True)\n"
             "\n"
             "    def forward(self, x):\n"
             "        return (x @ self.W.T + self.b_encoder) @ self.W + self.b_decoder\n",
             "registered as nn.Parameter"),
            ("class TiedLinearAutoencoder(nn.Module):\n"
             "    def __init__(self, d, k):\n"
             "        super().__init__()\n"
             "        self.W = nn.Parameter(torch.randn(k, d) / d ** 0.5, requires_grad=False)\n"
             "        self.b_encoder = nn.Parameter(torch.zeros(k))\n"
             "        self.b_decoder = nn.Parameter(torch.zeros(d))\n"
             "\n"
             "    def forward(self, x):\n"
             "        return (x @ self.W.T + self.b_encoder) @ self.W + self.b_decoder\n",
             "requires_grad is False"),
            ("class TiedLinearAutoencoder(nn.Module):\n"
             "    def __init__(self, d, k):\n"
             "        super().__init__()\n"
             "        self.W = nn.Parameter(torch.randn(k, d) / d ** 0.5)\n"
             "        self.b_encoder = nn.Parameter(torch.zeros(k))\n"
             "        self.b_decoder = nn.Parameter(torch.zeros(d))\n"
             "\n"
             "    def forward(self, x):\n"
             "        z = x @ self.W.T + self.b_encoder + torch.zeros(self.W.shape[0])\n"
             "        return z @ self.W + self.b_decoder\n",
             "two devices"),
        ],
    },
}
