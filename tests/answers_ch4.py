"""Answers a student might write for chapter 4's exercises (see ``tests/student_answers.py``).

Each source is a whole cell typed in place of the stub. It may use what the notebook defined
before the exercise: ``draft_upsampler`` (ex-ch4-upsampler) and ``evaluating`` (ex-ch4-anomaly),
besides torch, nn, F, math, np and copy.
"""

ANSWERS = {
    # -- the size of a convolution's output -------------------------------------------------
    "ex-ch4-size": {
        "correct": [
            '''
def conv_output_size(size, kernel, stride=1, padding=0):
    """Side of nn.Conv2d's output for an input of side `size`."""
    return math.floor((size + 2 * padding - kernel) / stride) + 1
''',
            '''
def conv_output_size(size, kernel, stride=1, padding=0):
    """Count the window positions one by one."""
    positions = 0
    start = 0
    while start + kernel <= size + 2 * padding:
        positions += 1
        start += stride
    return positions
''',
            '''
def conv_output_size(size, kernel, stride=1, padding=0):
    """Build the layer and measure what it outputs."""
    layer = nn.Conv2d(1, 1, kernel, stride=stride, padding=padding)
    with torch.no_grad():
        return layer(torch.zeros(1, 1, size, size)).shape[-1]
''',
            '''
def conv_output_size(size, kernel, stride=1, padding=0):
    return int(np.floor_divide(size + 2 * padding - kernel, stride)) + 1
''',
        ],
        "wrong": [
            ('''
def conv_output_size(size, kernel, stride=1, padding=0):
    return (size + 2 * padding - kernel) // stride
''', "You count one position too few"),
            ('''
def conv_output_size(size, kernel, stride=1, padding=1):
    return (size + 2 * padding - kernel) // stride + 1
''', "with stride and padding left out"),
            ('''
def conv_output_size(size, kernel, stride=1, padding=None):
    if padding is None:
        padding = kernel // 2  # 'same' padding unless told otherwise
    return (size + 2 * padding - kernel) // stride + 1
''', "A default must stand for nn.Conv2d's own"),
            ('''
def conv_output_size(size, kernel, stride=2, padding=0):
    return (size + 2 * padding - kernel) // stride + 1
''', "nn.Conv2d(1, 1, 3), whose defaults are stride 1 and padding 0"),
            ('''
def conv_output_size(size, kernel, stride=1, padding=0):
    return (size + 2 * padding - kernel) / stride + 1
''', "you divided with /"),
            ('''
def conv_output_size(n, k, s=1, p=0):
    return (n + 2 * p - k) // s + 1
''', "Name the parameters as the exercise does"),
            ('''
def conv_output_size(size, kernel, stride=1, padding=0):
    return math.ceil((size + 2 * padding - kernel) / stride) + 1
''', "Your count rounds up"),
            ('''
def conv_output_size(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1
''', "signature gives stride and padding defaults"),
            ('''
def conv_output_size(size, kernel, stride=1, padding=0):
    return (size + padding - kernel) // stride + 1
''', "adds the padding once"),
        ],
    },
    # -- the checkerboard diagnosed, and an even upsampler -----------------------------------
    "ex-ch4-upsampler": {
        "correct": [
            '''
uneven_layer = -1
stamps = [3, 2]


def make_upsampler():
    """Resize, then convolve: (N, 32, 7, 7) -> (N, 1, 28, 28) logits."""
    return nn.Sequential(
        nn.Upsample(scale_factor=2), nn.Conv2d(32, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Upsample(scale_factor=2), nn.Conv2d(16, 1, 3, padding=1),
    )
''',
            '''
uneven_layer = 6
stamps = {4, 6, 9}  # in two dimensions


def make_upsampler():
    layers = draft_upsampler()
    layers[6] = nn.ConvTranspose2d(16, 1, kernel_size=4, stride=2, padding=1)  # 4 is a multiple of 2
    return layers
''',
            '''
uneven_layer = "6"
stamps = torch.tensor([2, 3])


def make_upsampler():
    return nn.Sequential(nn.ConvTranspose2d(32, 16, 2, stride=2), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.ConvTranspose2d(16, 1, 2, stride=2))
''',
            '''
uneven_layer = 6
stamps = (2, 3)


class Resize(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Conv2d(32, 16, 3, padding=1)
        self.norm = nn.BatchNorm2d(16)
        self.second = nn.Conv2d(16, 1, 5, padding=2)

    def forward(self, x):
        x = torch.relu(self.norm(self.first(F.interpolate(x, scale_factor=2, mode="nearest"))))
        return self.second(F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False))


def make_upsampler():
    return Resize()
''',
        ],
        "wrong": [
            ('''
uneven_layer = 0
stamps = {1, 2}


def make_upsampler():
    return nn.Sequential(nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.ConvTranspose2d(16, 1, 4, 2, 1))
''', "covers its output evenly"),
            ('''
uneven_layer = 6
stamps = {1, 2}


def make_upsampler():
    return nn.Sequential(nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.ConvTranspose2d(16, 1, 4, 2, 1))
''', "receive other counts"),
            ('''
uneven_layer = 6
stamps = {5}


def make_upsampler():
    return nn.Sequential(nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.ConvTranspose2d(16, 1, 4, 2, 1))
''', "the kernel's width"),
            ('''
uneven_layer = 6
stamps = 2.5


def make_upsampler():
    return nn.Sequential(nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.ConvTranspose2d(16, 1, 4, 2, 1))
''', "the average number of stamps per pixel"),
            ('''
uneven_layer = 6
stamps = {1, 2, 3}


def make_upsampler():
    return nn.Sequential(nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.ConvTranspose2d(16, 1, 4, 2, 1))
''', "1 occurs only at the border"),
            ('''
uneven_layer = 7  # the seventh layer
stamps = {2, 3}


def make_upsampler():
    return nn.Sequential(nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.ConvTranspose2d(16, 1, 4, 2, 1))
''', "indexed 0 to 6"),
            ('''
uneven_layer = 4
stamps = {2, 3}


def make_upsampler():
    return nn.Sequential(nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.ConvTranspose2d(16, 1, 4, 2, 1))
''', "places no stamps"),
            ('''
uneven_layer = 6
stamps = {3}


def make_upsampler():
    return nn.Sequential(nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.ConvTranspose2d(16, 1, 4, 2, 1))
''', "one count alone"),
            ('''
uneven_layer = 6
stamps = {2, 3}


def make_upsampler():
    return nn.Sequential(nn.ConvTranspose2d(32, 16, 3, 2, 1, output_padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.ConvTranspose2d(16, 1, 3, 2, 1, output_padding=1))
''', "covers its output unevenly"),
            ('''
uneven_layer = 6
stamps = {2, 3}


def make_upsampler():
    return nn.Sequential(nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.ConvTranspose2d(16, 1, 4, 2, 1), nn.Sigmoid())
''', "strictly between 0 and 1"),
            ('''
uneven_layer = 6
stamps = {2, 3}
upsampler = nn.Sequential(nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
                          nn.ConvTranspose2d(16, 1, 4, 2, 1))


def make_upsampler():
    return upsampler
''', "returned the same module"),
            ('''
uneven_layer = 6
stamps = {2, 3}


def make_upsampler():
    return nn.Sequential(nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.ConvTranspose2d(16, 1, 3, 2, 1))
''', "it made 27 x 27"),
        ],
    },
    # -- masking noise -----------------------------------------------------------------------
    "ex-ch4-mask": {
        "correct": [
            '''
def masking_noise(x, fraction):
    return x.masked_fill(torch.rand_like(x) < fraction, 0.0)
''',
            '''
def masking_noise(x, fraction):
    return x * torch.bernoulli(torch.full_like(x, 1 - fraction))
''',
            '''
def masking_noise(x, fraction):
    """Exactly round(fraction * d) pixels of each image."""
    flat = x.reshape(len(x), -1)
    k = round(fraction * flat.shape[1])
    chosen = torch.rand(flat.shape, device=x.device).argsort(dim=1)[:, :k]
    return flat.scatter(1, chosen, 0.0).reshape(x.shape)
''',
            '''
def masking_noise(x, fraction):
    noisy = x.clone()
    noisy[torch.rand(x.shape, device=x.device) < fraction] = 0
    return noisy
''',
        ],
        "wrong": [
            ('''
def masking_noise(x, fraction):
    return F.dropout(x, fraction)
''', "dropout rescales the pixels it keeps"),
            ('''
def masking_noise(x, fraction):
    return x * (torch.rand(x.shape[1:], device=x.device) >= fraction)
''', "every image got the same mask"),
            ('''
def masking_noise(x, fraction):
    x[torch.rand_like(x) < fraction] = 0
    return x
''', "x was modified in place"),
            ('''
def masking_noise(x, fraction):
    return x * (torch.rand_like(x) < fraction)
''', "you kept `fraction` of the pixels instead of dropping it"),
            ('''
def masking_noise(x, fraction):
    generator = torch.Generator(device=x.device).manual_seed(0)
    return x * (torch.rand(x.shape, generator=generator, device=x.device) >= fraction)
''', "two calls gave the same mask"),
            ('''
def masking_noise(x, fraction):
    return x * (torch.rand(x.shape) >= fraction)
''', "two devices"),
            ('''
def masking_noise(x, fraction):
    flat = x.reshape(len(x), -1)
    chosen = torch.randint(0, flat.shape[1], (len(x), round(fraction * flat.shape[1])), device=x.device)
    return flat.scatter(1, chosen, 0.0).reshape(x.shape)
''', "drawn with replacement"),
        ],
    },
    # -- the KL sparsity penalty -------------------------------------------------------------
    "ex-ch4-kl": {
        "correct": [
            '''
def kl_sparsity(activations, rho):
    rho_hat = activations.mean(dim=0).clamp(1e-6, 1 - 1e-6)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()
''',
            '''
def kl_sparsity(activations, rho):
    rho_hat = activations.mean(0).clamp(1e-5, 1 - 1e-5)
    target = torch.distributions.Bernoulli(probs=torch.full_like(rho_hat, rho))
    return torch.distributions.kl_divergence(target, torch.distributions.Bernoulli(probs=rho_hat)).sum()
''',
            '''
def kl_sparsity(activations, rho):
    total = 0
    for j in range(activations.shape[1]):
        r = activations[:, j].mean()
        total = total + rho * torch.log(rho / (r + 1e-8)) + (1 - rho) * torch.log((1 - rho) / (1 - r + 1e-8))
    return total
''',
            '''
def kl_sparsity(activations, rho):
    rho_hat = activations.mean(0).clamp(1e-6, 1 - 1e-6)
    q = torch.stack([rho_hat, 1 - rho_hat])
    p = torch.stack([torch.full_like(rho_hat, rho), torch.full_like(rho_hat, 1 - rho)])
    return F.kl_div(q.log(), p, reduction="sum")
''',
        ],
        "wrong": [
            ('''
def kl_sparsity(activations, rho):
    rho_hat = activations.mean(dim=0).clamp(1e-6, 1 - 1e-6)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).mean()
''', "a mean divides the penalty by H"),
            ('''
def kl_sparsity(activations, rho):
    rho_hat = activations.mean(dim=0)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()
''', "log(rho / 0) is infinite"),
            ('''
def kl_sparsity(activations, rho):
    rho_hat = activations.mean(dim=1).clamp(1e-6, 1 - 1e-6)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()
''', "rho_hat_j is unit j's average over the images in the batch"),
            ('''
def kl_sparsity(activations, rho):
    r = activations.mean(dim=0).clamp(1e-6, 1 - 1e-6)
    return (r * torch.log(r / rho) + (1 - r) * torch.log((1 - r) / (1 - rho))).sum()
''', "the other direction"),
            ('''
def kl_sparsity(activations, rho):
    rho_hat = activations.mean(dim=0).clamp(1e-6, 1 - 1e-6)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum().item()
''', "a number cannot be trained through"),
            ('''
def kl_sparsity(activations, rho):
    rho_hat = activations.mean(dim=0)
    terms = rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))
    return torch.nan_to_num(terms, posinf=0.0).sum()
''', "need the penalty most"),
            ('''
def kl_sparsity(activations, rho):
    rho_hat = activations.mean(dim=0).clamp(0.05, 0.95)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()
''', "A larger eps than 0.01"),
            ('''
def kl_sparsity(activations, rho):
    rho_hat = activations.mean(dim=0).clamp(1e-6, 1 - 1e-6)
    return (rho * torch.log(rho / rho_hat)).sum()
''', "(1 - rho) term is missing"),
        ],
    },
    # -- the anomaly score -------------------------------------------------------------------
    "ex-ch4-anomaly": {
        "correct": [
            '''
def anomaly_score(model, images):
    """The largest mean absolute error over 4 x 4 windows, in chunks, in inference mode."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            parts = []
            for batch in images.split(300):
                error = (model(batch) - batch).abs()
                parts.append(F.adaptive_max_pool2d(F.avg_pool2d(error, 4, stride=1), 1).flatten())
            return torch.cat(parts).clone()
    finally:
        model.train(was_training)
''',
            '''
def anomaly_score(model, images):
    """A copy of the model in eval mode, and NumPy's sliding windows."""
    frozen = copy.deepcopy(model).eval()
    with torch.no_grad():
        error = ((frozen(images) - images) ** 2).cpu().numpy()
    windows = np.lib.stride_tricks.sliding_window_view(error, (5, 5), axis=(2, 3))
    return windows.mean(axis=(-1, -2)).max(axis=(1, 2, 3))
''',
            '''
def anomaly_score(model, images):
    """Sum the squared error with a 4 x 4 kernel of ones, image by image; a list of floats."""
    kernel = torch.ones(1, 1, 4, 4, device=images.device)
    scores = []
    with evaluating(model):
        for image in images:
            error = (model(image[None]) - image[None]) ** 2
            scores.append(F.conv2d(error, kernel).max().item())
    return scores
''',
        ],
        "wrong": [
            ('''
def anomaly_score(model, images):
    with evaluating(model):
        return (model(images) - images).pow(2).flatten(1).mean(dim=1)
''', "rank many clean digits above defective ones"),
            ('''
def anomaly_score(model, images):
    with evaluating(model):
        error = (model(images) - images).pow(2)
    return -F.avg_pool2d(error, 4, stride=1).flatten(1).amax(dim=1)
''', "MORE normal"),
            ('''
def anomaly_score(model, images):
    model.eval()
    with torch.no_grad():
        error = (model(images) - images).pow(2)
    return F.avg_pool2d(error, 4, stride=1).flatten(1).amax(dim=1)
''', "from training mode to evaluation mode"),
            ('''
def anomaly_score(model, images):
    model.double()
    with evaluating(model):
        error = (model(images.double()) - images.double()).pow(2)
    return F.avg_pool2d(error, 4, stride=1).flatten(1).amax(dim=1)
''', "dtype"),
            ('''
def anomaly_score(model, images):
    with evaluating(model):
        images -= model(images)
    return F.avg_pool2d(images.pow(2), 4, stride=1).flatten(1).amax(dim=1)
''', "changed the values of images in place"),
            ('''
def anomaly_score(model, images):
    with evaluating(model):
        return (model(images) - images).pow(2)
''', "one score per pixel"),
            ('''
def anomaly_score(model, images):
    with evaluating(model):
        error = (model(images) - images).pow(2)
    scores = F.avg_pool2d(error, 4, stride=1).flatten(1).amax(dim=1)
    return (scores - scores.mean()) / scores.std()
''', "must not depend on the other images in the batch"),
            ('''
def anomaly_score(model, images):
    was_training = model.training
    model.eval()
    error = (model(images) - images).pow(2)
    model.train(was_training)
    return F.avg_pool2d(error, 4, stride=1).flatten(1).amax(dim=1)
''', "the scores require grad"),
            ('''
def anomaly_score(model, images):
    with torch.no_grad():
        error = (model(images) - images).pow(2)
    return F.avg_pool2d(error, 4, stride=1).flatten(1).amax(dim=1)
''', "ran in training mode while scoring"),
            ('''
def anomaly_score(model, images):
    return F.avg_pool2d(images, 4, stride=1).flatten(1).amax(dim=1)
''', "never ran the model"),
        ],
    },
}
