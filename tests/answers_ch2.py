"""Answers a student might write for chapter 2's exercises (see tests/student_answers.py).

For each exercise: cells a student could type in place of the stub, correct ones written
unlike the worked solution, and typical mistakes with the words their rejection must
contain. The first of each kind goes into the exercise version in the student-path test,
so it must run in the notebook's namespace, and the first wrong one must leave the
notebook's later cells running (a wrong test_mse, say, must still return numbers).
"""

ANSWERS = {
    # -- predict: seven variants of the training step ------------------------------------
    "ex-ch2-step": {
        "correct": [
            # lower case, other words for the same outcomes, built up one by one
            'outcome = {}\nfor letter in "adef":\n    outcome[letter] = "identical"\n'
            'outcome["b"] = "frozen"\noutcome["c"] = "other"\noutcome["g"] = "raises"\n',
            # a dict literal in another order, capitalised words
            'outcome = {"G": "Error", "F": "Same", "E": "Same", "D": "Same", "C": "Different", '
            '"B": "Stuck", "A": "Same"}\n',
            # from a string of words, in the variants' order
            'outcome = dict(zip("ABCDEFG", "same stuck different same same same error".split()))\n',
        ],
        "wrong": [
            # eval mode is thought to change this model's training
            ("outcome = {'A': 'different', 'B': 'stuck', 'C': 'different', 'D': 'same', 'E': 'same', 'F': 'same', 'G': 'error'}", "A (model.eval() added"),
            # a fresh Adam is thought harmless
            ("outcome = {'A': 'same', 'B': 'stuck', 'C': 'same', 'D': 'same', 'E': 'same', 'F': 'same', 'G': 'error'}", "C (a fresh Adam"),
            # swapping MSE's arguments is thought to reverse the gradient
            ("outcome = {'A': 'same', 'B': 'stuck', 'C': 'different', 'D': 'different', 'E': 'same', 'F': 'same', 'G': 'error'}", "D (loss_fn(batch, reconstructed)"),
            # returning the tensor is thought to change the updates
            ("outcome = {'A': 'same', 'B': 'stuck', 'C': 'different', 'D': 'same', 'E': 'different', 'F': 'same', 'G': 'error'}", "E (return loss"),
            # model.zero_grad() is thought to miss the optimiser's gradients
            ("outcome = {'A': 'same', 'B': 'stuck', 'C': 'different', 'D': 'same', 'E': 'same', 'F': 'stuck', 'G': 'error'}", "F (model.zero_grad()"),
            # the step before backward is thought to use this batch's gradient late
            ("outcome = {'A': 'same', 'B': 'different', 'C': 'different', 'D': 'same', 'E': 'same', 'F': 'same', 'G': 'error'}", "B (optimizer.step() moved up"),
            # no_grad around the forward pass is thought only to save memory
            ("outcome = {'A': 'same', 'B': 'stuck', 'C': 'different', 'D': 'same', 'E': 'same', 'F': 'same', 'G': 'same'}", "G (reconstructed = model(batch) computed under torch.no_grad()"),
            # one letter forgotten
            ('outcome = {"A": "same", "B": "stuck", "C": "different", "D": "same", "E": "same", "F": "same"}\n',
             "says nothing about G"),
            # an outcome outside the four
            ("outcome = {'A': 'same', 'B': 'slow', 'C': 'different', 'D': 'same', 'E': 'same', 'F': 'same', 'G': 'error'}", "each outcome is one of"),
            # two sets, as in the loop exercise, in place of a dict
            ('outcome = {"B"}, {"A", "D", "E", "F"}\n', "should be a dict"),
        ],
    },
    # -- predict: which loops keep a graph alive ----------------------------------------
    "ex-ch2-leak": {
        "correct": [
            'keeps_graph = "BC"\nkeeps_activations = "b"\n',
            'keeps_graph = ["c", "b"]\nkeeps_activations = ("B",)\n',
        ],
        "wrong": [
            ('keeps_graph = {"C"}\nkeeps_activations = {"B"}\n', "not right about B"),
            ('keeps_graph = {"B", "C", "D"}\nkeeps_activations = {"B"}\n', "no graph is recorded"),
            ('keeps_graph = {"A", "B", "C"}\nkeeps_activations = {"B"}\n', "Python floats"),
            ('keeps_graph = {"B", "C"}\nkeeps_activations = {"B", "C"}\n', "already freed the activations"),
            ('keeps_graph = {"B", "C"}\nkeeps_activations = set()\n', "every activation"),
            ('keeps_graph = {"B", "C"}\nkeeps_activations = {"E"}\n', "letters among"),
        ],
    },
    # -- diagnose and repair: the test-set error -----------------------------------------
    "ex-ch2-eval": {
        "correct": [
            # inference_mode, the mode put back with train(flag), a NumPy-free float
            "def test_mse(model, x):\n"
            "    was_training = model.training\n"
            "    model.eval()\n"
            "    with torch.inference_mode():\n"
            "        error = nn.functional.mse_loss(model(x), x).item()\n"
            "    model.train(was_training)\n"
            "    return error\n",
            # batches weighted by size, try/finally, every submodule's own mode put back
            "def test_mse(model, x):\n"
            "    modes = {m: m.training for m in model.modules()}\n"
            "    model.eval()\n"
            "    total = 0.0\n"
            "    try:\n"
            "        with torch.no_grad():\n"
            "            for batch in x.split(256):\n"
            "                total += nn.functional.mse_loss(model(batch), batch, reduction='sum').item()\n"
            "    finally:\n"
            "        for m, training in modes.items():\n"
            "            m.training = training\n"
            "    return total / x.numel()\n",
            # a NumPy scalar, the mode restored only when it was training
            "def test_mse(model, x):\n"
            "    training = model.training\n"
            "    model.eval()\n"
            "    with torch.no_grad():\n"
            "        squared = ((model(x) - x) ** 2).cpu().numpy()\n"
            "    if training:\n"
            "        model.train()\n"
            "    return squared.mean(dtype=np.float64)\n",
        ],
        "wrong": [
            # dropout left on (the first: later cells still get numbers)
            ("def test_mse(model, x):\n"
            "    with torch.no_grad():\n"
            "        return ((model(x) - x) ** 2).mean().item()\n", 'dropout active'),
            # a graph recorded
            ("def test_mse(model, x):\n"
            "    was_training = model.training\n"
            "    model.eval()\n"
            "    error = ((model(x) - x) ** 2).mean().item()\n"
            "    model.train(was_training)\n"
            "    return error\n", 'recorded a graph'),
            # left in evaluation mode
            ("def test_mse(model, x):\n"
            "    model.eval()\n"
            "    with torch.no_grad():\n"
            "        return ((model(x) - x) ** 2).mean().item()\n", 'from training mode to evaluation mode'),
            # always back to training mode, whatever mode it was in
            ("def test_mse(model, x):\n"
            "    model.eval()\n"
            "    with torch.no_grad():\n"
            "        error = ((model(x) - x) ** 2).mean().item()\n"
            "    model.train()\n"
            "    return error\n", 'called on a model in evaluation mode'),
            # a tensor returned
            ("def test_mse(model, x):\n"
            "    was_training = model.training\n"
            "    model.eval()\n"
            "    with torch.no_grad():\n"
            "        error = ((model(x) - x) ** 2).mean()\n"
            "    model.train(was_training)\n"
            "    return error\n", 'returns a tensor'),
            # summed over each image's pixels
            ("def test_mse(model, x):\n"
            "    was_training = model.training\n"
            "    model.eval()\n"
            "    with torch.no_grad():\n"
            "        error = ((model(x) - x) ** 2).sum(dim=1).mean().item()\n"
            "    model.train(was_training)\n"
            "    return error\n", '784 times the error per pixel'),
            # batch means weighted equally
            ("def test_mse(model, x):\n"
            "    was_training = model.training\n"
            "    model.eval()\n"
            "    with torch.no_grad():\n"
            "        means = [nn.functional.mse_loss(model(b), b).item() for b in x.split(1000)]\n"
            "    model.train(was_training)\n"
            "    return sum(means) / len(means)\n", 'as much weight'),
        ],
    },
    # -- the digits reconstructed worst ---------------------------------------------------
    "ex-ch2-worst": {
        "correct": [
            # summed errors, batch by batch, argsort, a list of ints
            "def worst_digits(model, x, n):\n"
            "    was_training = model.training\n"
            "    model.eval()\n"
            "    with torch.inference_mode():\n"
            "        errors = torch.cat([((model(b) - b) ** 2).sum(dim=1) for b in x.split(256)])\n"
            "    model.train(was_training)\n"
            "    return [int(i) for i in torch.argsort(errors, descending=True)[:n]]\n",
            # topk's (values, indices), nn.functional.mse_loss per pixel
            "def worst_digits(model, x, n):\n"
            "    training = model.training\n"
            "    model.eval()\n"
            "    with torch.no_grad():\n"
            "        errors = nn.functional.mse_loss(model(x), x, reduction='none').mean(dim=1)\n"
            "    model.train(training)\n"
            "    return errors.topk(n)\n",
            # a NumPy array of indices
            "def worst_digits(model, x, n):\n"
            "    model.eval()\n"
            "    with torch.no_grad():\n"
            "        errors = ((model(x) - x) ** 2).mean(dim=1).cpu().numpy()\n"
            "    model.train()\n"
            "    return np.argsort(-errors)[:n]\n",
        ],
        "wrong": [
            # the best, not the worst
            ("def worst_digits(model, x, n):\n"
            "    was_training = model.training\n"
            "    model.eval()\n"
            "    with torch.no_grad():\n"
            "        errors = ((model(x) - x) ** 2).mean(dim=1)\n"
            "    model.train(was_training)\n"
            "    return errors.argsort()[:n]\n", 'best-reconstructed'),
            # dropout left on
            ("def worst_digits(model, x, n):\n"
            "    with torch.no_grad():\n"
            "        errors = ((model(x) - x) ** 2).mean(dim=1)\n"
            "    return errors.topk(n).indices\n", 'dropout active'),
            # left in evaluation mode
            ("def worst_digits(model, x, n):\n"
            "    model.eval()\n"
            "    with torch.no_grad():\n"
            "        errors = ((model(x) - x) ** 2).mean(dim=1)\n"
            "    return errors.topk(n).indices\n", 'from training mode to evaluation mode'),
            # the errors, not their indices
            ("def worst_digits(model, x, n):\n"
            "    model.eval()\n"
            "    with torch.no_grad():\n"
            "        errors = ((model(x) - x) ** 2).mean(dim=1)\n"
            "    model.train()\n"
            "    return errors.sort(descending=True).values[:n]\n", "not the images' indices"),
            # ranked by the largest pixel error
            ("def worst_digits(model, x, n):\n"
            "    model.eval()\n"
            "    with torch.no_grad():\n"
            "        errors = (model(x) - x).abs().amax(dim=1)\n"
            "    model.train()\n"
            "    return errors.topk(n).indices\n", 'largest single-pixel error'),
            # the partial batch skipped
            ("def worst_digits(model, x, n):\n"
            "    model.eval()\n"
            "    with torch.no_grad():\n"
            "        full = x[: len(x) // 100 * 100]\n"
            "        errors = torch.cat([((model(b) - b) ** 2).mean(dim=1) for b in full.split(100)])\n"
            "    model.train()\n"
            "    return errors.topk(n).indices\n", 'partial'),
            # a graph recorded
            ("def worst_digits(model, x, n):\n"
            "    model.eval()\n"
            "    errors = ((model(x) - x) ** 2).mean(dim=1)\n"
            "    model.train()\n"
            "    return errors.topk(n).indices\n", 'recorded a graph'),
        ],
    },
    # -- the decoder built from the encoder's sizes -------------------------------------
    "ex-ch2-decoder": {
        "correct": [
            # a module with a functional forward
            "class Mirror(nn.Module):\n"
            "    def __init__(self, sizes):\n"
            "        super().__init__()\n"
            "        widths = sizes[::-1]\n"
            "        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))\n"
            "\n"
            "    def forward(self, z):\n"
            "        for layer in self.layers[:-1]:\n"
            "            z = torch.relu(layer(z))\n"
            "        return torch.sigmoid(self.layers[-1](z))\n"
            "\n"
            "\n"
            "def make_decoder(sizes):\n"
            "    return Mirror(sizes)\n",
            # one ReLU object reused, built by popping from a copy
            "def make_decoder(sizes):\n"
            "    widths = list(sizes)\n"
            "    relu, layers = nn.ReLU(), []\n"
            "    while len(widths) > 1:\n"
            "        layers += [nn.Linear(widths[-1], widths[-2]), relu]\n"
            "        widths.pop()\n"
            "    layers[-1] = nn.Sigmoid()\n"
            "    return nn.Sequential(*layers)\n",
        ],
        "wrong": [
            # a ReLU at the output (the first: the chapter still trains with it)
            ("def make_decoder(sizes):\n"
            "    widths = sizes[::-1]\n"
            "    layers = []\n"
            "    for a, b in zip(widths, widths[1:]):\n"
            "        layers += [nn.Linear(a, b), nn.ReLU()]\n"
            "    return nn.Sequential(*layers)\n", 'ends in a ReLU'),
            # the sizes of the tutorial's model, whatever is asked
            ("def make_decoder(sizes):\n"
            "    widths = [9, 18, 36, 64, 128, 784]\n"
            "    layers = []\n"
            "    for i, (a, b) in enumerate(zip(widths, widths[1:])):\n"
            "        layers += [nn.Linear(a, b), nn.Sigmoid() if i == len(widths) - 2 else nn.ReLU()]\n"
            "    return nn.Sequential(*layers)\n", '[10, 7, 3]'),
            # no Sigmoid at all
            ("def make_decoder(sizes):\n"
            "    widths = sizes[::-1]\n"
            "    layers = []\n"
            "    for a, b in zip(widths, widths[1:]):\n"
            "        layers += [nn.Linear(a, b), nn.ReLU()]\n"
            "    return nn.Sequential(*layers[:-1])\n", 'not squashed into [0, 1]'),
            # a ReLU on the code, before the first Linear
            ("def make_decoder(sizes):\n"
            "    widths = sizes[::-1]\n"
            "    layers = []\n"
            "    for a, b in zip(widths, widths[1:]):\n"
            "        layers += [nn.ReLU(), nn.Linear(a, b)]\n"
            "    return nn.Sequential(*layers, nn.Sigmoid())\n", 'ReLU before the first Linear'),
            # the caller's list reversed in place
            ("def make_decoder(sizes):\n"
            "    sizes.reverse()\n"
            "    layers = []\n"
            "    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):\n"
            "        layers += [nn.Linear(a, b), nn.Sigmoid() if i == len(sizes) - 2 else nn.ReLU()]\n"
            "    return nn.Sequential(*layers)\n", 'changed the list'),
            # the layers in a plain list
            ("def make_decoder(sizes):\n"
            "    widths = sizes[::-1]\n"
            "    layers = []\n"
            "    for i, (a, b) in enumerate(zip(widths, widths[1:])):\n"
            "        layers += [nn.Linear(a, b), nn.Sigmoid() if i == len(widths) - 2 else nn.ReLU()]\n"
            "    return layers\n", 'not an nn.Module'),
        ],
    },
}
