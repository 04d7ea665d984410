"""Chapter 2 checks: each passes a correct answer and rejects typical wrong ones with a hint."""

import torch
from torch import nn

from aecourse.checks import ch2


# -- the training step ------------------------------------------------------------

def good_step(model, optimizer, loss_fn, batch):
    loss = loss_fn(model(batch), batch)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def no_zero_grad_step(model, optimizer, loss_fn, batch):
    loss = loss_fn(model(batch), batch)
    loss.backward()
    optimizer.step()
    return loss.item()


def tensor_step(model, optimizer, loss_fn, batch):
    loss = loss_fn(model(batch), batch)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def no_update_step(model, optimizer, loss_fn, batch):
    loss = loss_fn(model(batch), batch)
    optimizer.zero_grad()
    loss.backward()
    return loss.item()


def test_training_step_accepts_the_standard_step():
    assert ch2.training_step(good_step).passed


def test_training_step_catches_missing_zero_grad():
    result = ch2.training_step(no_zero_grad_step)
    assert not result.passed and "zero_grad" in result.message


def test_training_step_rejects_a_loss_tensor():
    result = ch2.training_step(tensor_step)
    assert not result.passed and ".item()" in result.message


def test_training_step_notices_no_update():
    result = ch2.training_step(no_update_step)
    assert not result.passed and "optimizer.step()" in result.message


# -- the test-set MSE ---------------------------------------------------------------

def good_test_mse(model, x):
    model.eval()
    with torch.no_grad():
        value = ((model(x) - x) ** 2).mean().item()
    model.train()
    return value


def train_mode_mse(model, x):
    with torch.no_grad():
        return ((model(x) - x) ** 2).mean().item()


def grad_mse(model, x):
    model.eval()
    value = ((model(x) - x) ** 2).mean().item()
    model.train()
    return value


def test_test_mse_accepts_eval_and_no_grad():
    assert ch2.test_mse(good_test_mse).passed


def test_test_mse_rejects_train_mode():
    result = ch2.test_mse(train_mode_mse)
    assert not result.passed and "model.eval()" in result.message


def test_test_mse_rejects_building_a_graph():
    result = ch2.test_mse(grad_mse)
    assert not result.passed and "no_grad" in result.message


def test_test_mse_stub_is_not_done():
    assert ch2.test_mse(...).message.startswith("Not done yet")


# -- the decoder from the encoder's sizes -------------------------------------------

def good_decoder(sizes):
    sizes = list(sizes)[::-1]
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        layers.append(nn.ReLU() if i < len(sizes) - 2 else nn.Sigmoid())
    return nn.Sequential(*layers)


def relu_out_decoder(sizes):
    sizes = list(sizes)[::-1]
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers)


def hard_coded_decoder(sizes):
    return good_decoder([784, 128, 64, 36, 18, 9])


def test_make_decoder_accepts_the_mirror():
    assert ch2.make_decoder(good_decoder).passed


def test_make_decoder_wants_a_sigmoid_output():
    result = ch2.make_decoder(relu_out_decoder)
    assert not result.passed and "Sigmoid" in result.message


def test_make_decoder_rejects_hard_coded_sizes():
    result = ch2.make_decoder(hard_coded_decoder)
    assert not result.passed and "[10, 7, 3]" in result.message
