"""Answers a student might write for chapter 3's exercises (see tests/student_answers.py).

Each source is a cell typed in place of the stub. It may use what the notebook defined before
the exercise: ``TRUNCATED_NORMAL_STD`` (imported at the top), and the notebook's imports.
The first correct and the first wrong answer of each exercise are run inside the exercise
version by tests/test_student_path.py.
"""

# -- ex-ch3-truncated: the spread of a normal truncated to [-a, a], for every a > 0 -------

_TRUNCATED_CORRECT = [
    # numerical integration over a grid that follows a, returned as a 0-d float64 tensor
    '''
def truncated_std(a):
    """The standard deviation of N(0, 1) truncated to [-a, a]."""
    t = torch.linspace(-a, a, 200_001, dtype=torch.float64)
    density = torch.exp(-t**2 / 2)
    return torch.sqrt(torch.trapezoid(t**2 * density, t) / torch.trapezoid(density, t))
''',
    # two million draws of torch's own truncated normal, as a float
    '''
def truncated_std(a):
    draws = torch.nn.init.trunc_normal_(torch.empty(2_000_000), 0.0, 1.0, -a, a,
                                        generator=torch.Generator().manual_seed(0))
    return draws.std().item()
''',
    # the closed form with torch.special, in float32, returned as a tensor
    '''
def truncated_std(a):
    a = torch.tensor(a)
    mass = torch.special.erf(a / math.sqrt(2))
    phi = torch.exp(-a**2 / 2) / math.sqrt(2 * math.pi)
    return torch.sqrt(1 - 2 * a * phi / mass)
''',
    # the closed form through the normal CDF, with NumPy, returned as a NumPy scalar
    '''
def truncated_std(a):
    cdf = 0.5 * (1 + math.erf(a / math.sqrt(2)))
    phi = np.exp(-a * a / 2) / np.sqrt(2 * np.pi)
    z = 2 * cdf - 1
    variance = (z - 2 * a * phi) / z
    return np.sqrt(variance)
''',
    # rejection sampling from NumPy, enough draws kept at every a
    '''
def truncated_std(a):
    rng = np.random.default_rng(0)
    kept = np.empty(0)
    while kept.size < 1_000_000:
        draws = rng.standard_normal(2_000_000)
        kept = np.concatenate([kept, draws[np.abs(draws) <= a]])
    return float(kept.std())
''',
]

_TRUNCATED_WRONG = [
    # a numerical integral over a fixed grid: right up to a = 3, stuck at 3's value beyond
    ('''
def truncated_std(a):
    t = torch.linspace(-3, 3, 60_001, dtype=torch.float64)
    density = torch.exp(-t**2 / 2) * (t.abs() <= a)
    return float(torch.sqrt(torch.trapezoid(t**2 * density, t) / torch.trapezoid(density, t)))
''', "value for a = 3"),
    ('''
def truncated_std(a):
    phi = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    return 1 - 2 * a * phi / math.erf(a / math.sqrt(2))
''', "the variance"),
    ('''
def truncated_std(a):
    return math.erf(a / math.sqrt(2))
''', "probability mass"),
    ('''
def truncated_std(a):
    phi = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    return math.sqrt(1 - 2 * a * phi)
''', "divided by the mass"),
    ('''
def truncated_std(a):
    return 1.0
''', "untruncated"),
    ('''
def truncated_std(a):
    return TRUNCATED_NORMAL_STD
''', "value for a = 2"),
    ('''
def truncated_std(a):
    draws = torch.nn.init.trunc_normal_(torch.empty(1000), 0.0, 1.0, -a, a)
    return draws.std().item()
''', "your answer gave"),
    ('''
def truncated_std(a):
    phi = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    return [math.sqrt(1 - 2 * a * phi / math.erf(a / math.sqrt(2)))]
''', "not one number"),
]

# -- ex-ch3-init: TF1's variance_scaling_initializer -----------------------------------

_INIT_CORRECT = [
    # TF1's algorithm by hand: draw, redraw what falls beyond two standard deviations, scale
    '''
def tf1_variance_scaling(shape, generator=None):
    """A TF-layout kernel drawn like TF1's default initializer."""
    std = math.sqrt(1 / shape[0]) / TRUNCATED_NORMAL_STD
    w = torch.randn(shape, generator=generator)
    beyond = w.abs() > 2
    while beyond.any():
        w[beyond] = torch.randn(int(beyond.sum()), generator=generator)
        beyond = w.abs() > 2
    return w * std
''',
    # a standard truncated normal, scaled afterwards; the constant computed, not imported
    '''
def tf1_variance_scaling(shape, generator=None):
    fan_in, fan_out = shape
    shrink = math.sqrt(1 - 2 * 2 * math.exp(-2) / math.sqrt(2 * math.pi) / math.erf(math.sqrt(2)))
    unit = torch.nn.init.trunc_normal_(torch.empty(fan_in, fan_out), 0.0, 1.0, -2.0, 2.0, generator=generator)
    return unit / shrink / math.sqrt(fan_in)
''',
    # float64, through the keyword arguments
    '''
def tf1_variance_scaling(shape, generator=None):
    std = (1 / shape[0]) ** 0.5 / 0.87962566103423978
    kernel = torch.empty(*shape, dtype=torch.float64)
    return nn.init.trunc_normal_(kernel, mean=0.0, std=std, a=-2 * std, b=2 * std, generator=generator)
''',
]

_INIT_WRONG = [
    ('''
def tf1_variance_scaling(shape, generator=None):
    std = math.sqrt(1 / shape[0])
    return nn.init.trunc_normal_(torch.empty(shape), 0.0, std, -2 * std, 2 * std, generator=generator)
''', "not given back"),
    ('''
def tf1_variance_scaling(shape, generator=None):
    std = math.sqrt(1 / shape[1]) / TRUNCATED_NORMAL_STD
    return nn.init.trunc_normal_(torch.empty(shape), 0.0, std, -2 * std, 2 * std, generator=generator)
''', "fan_in"),
    ('''
def tf1_variance_scaling(shape, generator=None):
    return torch.randn(shape, generator=generator) / math.sqrt(shape[0])
''', "where TF1's kernels stop"),
    ('''
def tf1_variance_scaling(shape, generator=None):
    limit = math.sqrt(3 / shape[0])
    return torch.empty(shape).uniform_(-limit, limit, generator=generator)
''', "uniform"),
    ('''
def tf1_variance_scaling(shape, generator=None):
    std = math.sqrt(1 / shape[0]) / TRUNCATED_NORMAL_STD
    return (torch.randn(shape, generator=generator) * std * 0.96).clamp(-2 * std, 2 * std)
''', "moved onto it"),
    ('''
def tf1_variance_scaling(shape, generator=None):
    std = math.sqrt(1 / shape[0]) / TRUNCATED_NORMAL_STD
    return nn.init.trunc_normal_(torch.empty(shape), 0.0, std, -2 * std, 2 * std)
''', "generator passed in"),
    ('''
def tf1_variance_scaling(shape, generator=None):
    from aecourse.tf1 import variance_scaling_
    return variance_scaling_(torch.empty(shape), layout="tf", generator=generator)
''', "the course's own"),
]

# -- ex-ch3-forward: the forward pass from TF-layout kernels ---------------------------

_FORWARD_CORRECT = [
    # the last layer split off, the rest in a loop
    '''
def forward(x, kernels, biases):
    """The output of a network given layer by layer in TF1's layout."""
    h = x
    for kernel, bias in zip(kernels[:-1], biases[:-1]):
        h = torch.relu(h @ kernel + bias)
    return torch.sigmoid(h @ kernels[-1] + biases[-1])
''',
    # F.linear wants [out, in]: the kernels go in transposed
    '''
def forward(x, kernels, biases):
    h = x
    for i, (kernel, bias) in enumerate(zip(kernels, biases)):
        h = F.linear(h, kernel.T, bias)
        h = h.sigmoid() if i == len(kernels) - 1 else h.clamp(min=0)
    return h
''',
    # torch.addmm and functional activations, counting down
    '''
def forward(x, kernels, biases):
    h, left = x, len(kernels)
    for kernel, bias in zip(kernels, biases):
        left -= 1
        h = torch.addmm(bias, h, kernel)
        h = F.relu(h) if left else torch.sigmoid(h)
    return h
''',
]

_FORWARD_WRONG = [
    ('''
def forward(x, kernels, biases):
    h = x
    for kernel, bias in zip(kernels, biases):
        h = torch.relu(h @ kernel + bias)
    return h
''', "ReLU after the last layer"),
    ('''
def forward(x, kernels, biases):
    h = x
    for i, kernel in enumerate(kernels):
        h = h @ kernel
        h = torch.sigmoid(h) if i == len(kernels) - 1 else torch.relu(h)
    return h
''', "bias left out"),
    ('''
def forward(x, kernels, biases):
    h = x
    for i, (kernel, bias) in enumerate(zip(kernels, biases)):
        h = h @ kernel.T + bias
        h = torch.sigmoid(h) if i == len(kernels) - 1 else torch.relu(h)
    return h
''', "running your answer raised"),
    ('''
def forward(x, kernels, biases):
    h = x
    for kernel, bias in zip(kernels[:-1], biases[:-1]):
        h = torch.relu(h @ kernel + bias)
    return h @ kernels[-1] + biases[-1]
''', "before the last layer's Sigmoid"),
    ('''
def forward(x, kernels, biases):
    h = x
    while kernels:
        kernel, bias = kernels.pop(0), biases.pop(0)
        h = h @ kernel + bias
        h = torch.relu(h) if kernels else torch.sigmoid(h)
    return h
''', "changed the list kernels"),
    ('''
def forward(x, kernels, biases):
    w1, w2, w3, w4 = kernels
    b1, b2, b3, b4 = biases
    h = torch.relu(x @ w1 + b1)
    h = torch.relu(h @ w2 + b2)
    h = torch.relu(h @ w3 + b3)
    return torch.sigmoid(h @ w4 + b4)
''', "running your answer raised ValueError"),
    ('''
def forward(x, kernels, biases):
    h = x
    for i, (kernel, bias) in enumerate(zip(kernels, biases)):
        h = h @ kernel + bias + torch.zeros(kernel.shape[1])
        h = torch.sigmoid(h) if i == len(kernels) - 1 else torch.relu(h)
    return h
''', "two devices"),
]

# -- ex-ch3-tied-count: a tied autoencoder's parameters, before building it --------------

_TIED_CORRECT = [
    # build the tied parameters as tensors and count them
    '''
def tied_parameter_count(sizes):
    """The number of parameters of a tied autoencoder."""
    shared = [torch.empty(a, b) for a, b in zip(sizes, sizes[1:])]
    encoder_biases = [torch.empty(b) for b in sizes[1:]]
    decoder_biases = [torch.empty(a) for a in sizes[:-1]]
    return sum(p.numel() for p in shared + encoder_biases + decoder_biases)
''',
    # one loop over the layer pairs, returned as a float
    '''
def tied_parameter_count(sizes):
    total = 0.0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        total += n_in * n_out + n_out + n_in
    return total
''',
    # NumPy, returned as a NumPy integer
    '''
def tied_parameter_count(sizes):
    s = np.array(sizes)
    return (s[:-1] * s[1:]).sum() + s[1:].sum() + s[:-1].sum()
''',
]

_TIED_WRONG = [
    ('''
def tied_parameter_count(sizes):
    kernels = sum(a * b for a, b in zip(sizes, sizes[1:]))
    return 2 * kernels + sum(sizes[1:]) + sum(sizes[:-1])
''', "decoder's kernels too"),
    ('''
def tied_parameter_count(sizes):
    return sum(a * b + b for a, b in zip(sizes, sizes[1:]))
''', "without the decoder's biases"),
    ('''
def tied_parameter_count(sizes):
    return sum(a * b for a, b in zip(sizes, sizes[1:]))
''', "kernels only"),
    ('''
def tied_parameter_count(sizes):
    return sum(a * b for a, b in zip(sizes, sizes[1:])) + sum(sizes[1:]) + sum(sizes)
''', "as wide as the code"),
    ('''
def tied_parameter_count(sizes):
    return sum(a * b for a, b in zip(sizes, sizes[1:])) + 2 * sum(sizes[1:])
''', "encoder's bias widths"),
    ('''
def tied_parameter_count(sizes):
    return 385924
''', "your answer gave"),
    ('''
def tied_parameter_count(sizes):
    sizes.reverse()
    kernels = sum(a * b for a, b in zip(sizes, sizes[1:]))
    return kernels + sum(sizes) + sum(sizes[1:-1])
''', "changed the list sizes"),
]

# -- ex-ch3-port: a layer whose kernel's layout nobody recorded --------------------------

_PORT_CORRECT = [
    # try both readings that fit, keep the one that reproduces the saved outputs
    '''
def port_layer(kernel, bias, x_saved, y_saved):
    """A module computing TF1's sigmoid(X @ W + b), W and b trainable."""
    best = None
    for w in (kernel, kernel.T):  # w read as [in, out]
        if w.shape != (x_saved.shape[1], bias.shape[0]):
            continue
        error = (torch.sigmoid(x_saved @ w + bias) - y_saved).abs().max()
        if best is None or error < best[0]:
            best = (error, w)
    w = best[1]
    layer = nn.Linear(w.shape[0], w.shape[1], device=kernel.device)
    with torch.no_grad():
        layer.weight.copy_(w.T)
        layer.bias.copy_(bias)
    return nn.Sequential(layer, nn.Sigmoid())
''',
    # a module of its own holding W as [in, out]; the layout read off y_saved's width
    '''
class TFDense(nn.Module):
    def __init__(self, w, b):
        super().__init__()
        self.w = nn.Parameter(w.detach().clone())
        self.b = nn.Parameter(b.detach().clone())

    def forward(self, x):
        return torch.sigmoid(x @ self.w + self.b)


def port_layer(kernel, bias, x_saved, y_saved):
    n_in, n_out = x_saved.shape[1], y_saved.shape[1]
    if n_in != n_out:
        w = kernel if kernel.shape[0] == n_in else kernel.T
        return TFDense(w, bias)
    as_stored, transposed = TFDense(kernel, bias), TFDense(kernel.T, bias)
    with torch.no_grad():
        kept = torch.allclose(as_stored(x_saved), y_saved, atol=1e-4)
    return as_stored if kept else transposed
''',
    # nn.Linear's weight is [out, in]: compare the kernel's shape with the bias's length
    '''
def port_layer(kernel, bias, x_saved, y_saved):
    n_out = len(bias)
    weight = kernel if kernel.shape[0] == n_out else kernel.T  # as nn.Linear wants it, [out, in]
    if kernel.shape[0] == kernel.shape[1]:
        with torch.no_grad():
            stored = (torch.sigmoid(F.linear(x_saved, kernel, bias)) - y_saved).abs().mean()
            flipped = (torch.sigmoid(F.linear(x_saved, kernel.T, bias)) - y_saved).abs().mean()
        weight = kernel if stored < flipped else kernel.T
    layer = nn.Linear(weight.shape[1], weight.shape[0]).to(kernel.device)
    layer.weight = nn.Parameter(weight.detach().clone())
    layer.bias = nn.Parameter(bias.detach().clone())
    return nn.Sequential(layer, nn.Sigmoid())
''',
]

_PORT_WRONG = [
    # the shapes decide; a square kernel is taken as TF1 stores it, without looking at y_saved
    ('''
def port_layer(kernel, bias, x_saved, y_saved):
    n_in, n_out = x_saved.shape[1], bias.shape[0]
    w = kernel if kernel.shape == (n_in, n_out) else kernel.T
    layer = nn.Linear(n_in, n_out).to(kernel.device)
    with torch.no_grad():
        layer.weight.copy_(w.T)
        layer.bias.copy_(bias)
    return nn.Sequential(layer, nn.Sigmoid())
''', "reads the kernel as [in, out], and this file stored it [out, in]"),
    # the chapter's copy, for TF1's layout only
    ('''
def port_layer(kernel, bias, x_saved, y_saved):
    n_in, n_out = kernel.shape
    layer = nn.Linear(n_in, n_out)
    with torch.no_grad():
        layer.weight.copy_(kernel.T)
        layer.bias.copy_(bias)
    return nn.Sequential(layer, nn.Sigmoid())
''', "running your answer raised"),
    # "an encoder shrinks": the larger side taken for the inputs
    ('''
def port_layer(kernel, bias, x_saved, y_saved):
    n_in, n_out = max(kernel.shape), min(kernel.shape)
    w = kernel if kernel.shape[0] == n_in else kernel.T
    layer = nn.Linear(n_in, n_out)
    with torch.no_grad():
        layer.weight.copy_(w.T)
        layer.bias.copy_(bias)
    return nn.Sequential(layer, nn.Sigmoid())
''', "running your answer raised"),
    ('''
def port_layer(kernel, bias, x_saved, y_saved):
    n_in, n_out = x_saved.shape[1], bias.shape[0]
    layer = nn.Linear(n_in, n_out)
    with torch.no_grad():
        layer.weight.copy_(kernel.reshape(n_out, n_in))
        layer.bias.copy_(bias)
    return nn.Sequential(layer, nn.Sigmoid())
''', "reshaped"),
    ('''
def port_layer(kernel, bias, x_saved, y_saved):
    n_in, n_out = x_saved.shape[1], bias.shape[0]
    for w in (kernel, kernel.T):
        if w.shape == (n_in, n_out) and torch.allclose(torch.sigmoid(x_saved @ w + bias), y_saved, atol=1e-5):
            layer = nn.Linear(n_in, n_out)
            with torch.no_grad():
                layer.weight.copy_(w.T)
                layer.bias.copy_(bias)
            return layer
''', "before the sigmoid"),
    ('''
def port_layer(kernel, bias, x_saved, y_saved):
    n_in, n_out = x_saved.shape[1], bias.shape[0]
    for w in (kernel, kernel.T):
        if w.shape == (n_in, n_out) and torch.allclose(torch.sigmoid(x_saved @ w + bias), y_saved, atol=1e-5):
            layer = nn.Linear(n_in, n_out, bias=False)
            with torch.no_grad():
                layer.weight.copy_(w.T)
            return nn.Sequential(layer, nn.Sigmoid())
''', "without its bias"),
    ('''
class Frozen(nn.Module):
    def __init__(self, w, b):
        super().__init__()
        self.w, self.b = w, b

    def forward(self, x):
        return torch.sigmoid(x @ self.w + self.b)


def port_layer(kernel, bias, x_saved, y_saved):
    n_in, n_out = x_saved.shape[1], bias.shape[0]
    for w in (kernel, kernel.T):
        if w.shape == (n_in, n_out) and torch.allclose(torch.sigmoid(x_saved @ w + bias), y_saved, atol=1e-5):
            return Frozen(w, bias)
''', "a gradient reaches only 0"),
    ('''
def port_layer(kernel, bias, x_saved, y_saved):
    n_in, n_out = x_saved.shape[1], bias.shape[0]
    if kernel.shape != (n_in, n_out) or not torch.allclose(torch.sigmoid(x_saved @ kernel + bias), y_saved, atol=1e-5):
        kernel.t_()
    layer = nn.Linear(n_in, n_out)
    with torch.no_grad():
        layer.weight.copy_(kernel.T)
        layer.bias.copy_(bias)
    return nn.Sequential(layer, nn.Sigmoid())
''', "changed what it was given"),
]

ANSWERS = {
    "ex-ch3-truncated": {"correct": _TRUNCATED_CORRECT, "wrong": _TRUNCATED_WRONG},
    "ex-ch3-init": {"correct": _INIT_CORRECT, "wrong": _INIT_WRONG},
    "ex-ch3-forward": {"correct": _FORWARD_CORRECT, "wrong": _FORWARD_WRONG},
    "ex-ch3-tied-count": {"correct": _TIED_CORRECT, "wrong": _TIED_WRONG},
    "ex-ch3-port": {"correct": _PORT_CORRECT, "wrong": _PORT_WRONG},
}
