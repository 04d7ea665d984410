"""The @check machinery: verdicts, never exceptions, for every kind of answer."""

import dataclasses

import pytest

from aecourse.checks import CheckResult, ExerciseNotDone, exercise_check
from aecourse.checks.core import Wrong, is_stub


@exercise_check("doubling", label="ex-test-doubling")
def check_double(double):
    """Accepts a function that doubles its argument."""
    if double(3) != 6:
        raise Wrong(f"double(3) should be 6, got {double(3)!r}.")
    return "double(3) == 6."


def test_correct_answer_passes():
    """A right answer gives passed=True and 'Correct (title): message'."""
    result = check_double(lambda x: 2 * x)
    assert isinstance(result, CheckResult)
    assert result.passed and bool(result)
    assert result.message == "Correct (doubling): double(3) == 6."
    assert repr(result) == result.message


def test_the_shown_verdict_wraps_long_messages():
    """A notebook shows the verdict wrapped to the book's width, words intact."""
    long = CheckResult(False, "Not yet (x): " + "word " * 40)
    lines = repr(long).splitlines()
    assert len(lines) > 1 and all(len(line) <= 78 for line in lines)
    assert " ".join(line.strip() for line in lines) == long.message.strip()


def test_wrong_answer_shows_the_hint():
    """Wrong(...) becomes passed=False with the hint after 'Not yet (title)'."""
    result = check_double(lambda x: x + 2)
    assert not result.passed and not bool(result)
    assert result.message == "Not yet (doubling): double(3) should be 6, got 5."


@pytest.mark.parametrize("stub", [..., None])
def test_stub_is_not_done(stub):
    """The ... (or None) placeholder gives 'Not done yet' without running the body."""
    calls = []

    @exercise_check("stub", label="ex-test-stub")
    def body(answer):
        calls.append(answer)
        return "ran"

    result = body(stub)
    assert not result.passed
    assert result.message.startswith("Not done yet (stub)")
    assert "replace the ..." in result.message
    assert calls == []


def test_only_the_stub_is_not_done():
    """The stub's ExerciseNotDone reads 'Not done yet'; any other NotImplementedError is an error."""
    from aecourse.checks import ExerciseNotDone

    def stub(x):
        raise ExerciseNotDone("ex-test", "double")

    result = check_double(stub)
    assert not result.passed and result.message.startswith("Not done yet (doubling)")

    def unfinished(x):
        raise NotImplementedError("half written")

    result = check_double(unfinished)
    assert not result.passed and result.message.startswith("Not yet (doubling)")
    assert "raised NotImplementedError: half written" in result.message


def test_a_misspelled_forward_is_not_called_unfinished():
    """nn.Module raises NotImplementedError when forward is missing: a typo, not a stub."""
    import torch
    from torch import nn

    class Doubler(nn.Module):
        def foward(self, x):  # sic
            return 2 * x

    model = Doubler()
    result = check_double(lambda x: model(torch.tensor(float(x))))
    assert result.message.startswith("Not yet (doubling)") and "forward" in result.message


def test_an_error_in_the_checks_own_code_is_not_blamed_on_the_students_code():
    """The answer ran without error; the check's own code failed on what it returned."""
    from aecourse.checks import ch1

    result = ch1.tied_autoencoder(lambda d, k: "a model")  # a class was asked for
    assert not result.passed
    assert "the check could not use what your answer returned: AttributeError" in result.message
    assert "running your answer raised" not in result.message


def test_a_check_leaves_the_notebooks_random_stream_alone():
    """Checks seed their own data; re-running one must not change what later cells draw."""
    import torch

    @exercise_check("seeds", label="ex-test-seeds")
    def reseeds(answer):
        torch.manual_seed(0)
        torch.rand(5)
        return "ok"

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    assert reseeds(1).passed
    assert torch.equal(torch.rand(3), expected)


class StudentError(Exception):
    """An exception type the check machinery cannot know in advance."""


def _raise(error):
    raise error


@pytest.mark.parametrize(
    "answer, name, text",
    [
        (lambda x: x / 0, "ZeroDivisionError", "division by zero"),
        (lambda x: x.shape, "AttributeError", "shape"),
        (lambda x: _raise(StudentError("my own bug")), "StudentError", "my own bug"),
    ],
)
def test_crash_is_reported_not_raised(answer, name, text):
    """A crashing answer gives a verdict naming the exception and its message."""
    result = check_double(answer)
    assert not result.passed
    assert result.message.startswith("Not yet (doubling)")
    assert name in result.message
    assert text in result.message


def test_a_stub_called_inside_the_check_reads_not_done():
    """An answer that calls a still-unwritten stub (the generator's ExerciseNotDone) is not done, not wrong."""

    def stub(x):
        raise ExerciseNotDone("ex-1", "helper")

    @exercise_check("partial", label="ex-test-partial")
    def body(answer):
        return answer(1)

    assert body(stub).message.startswith("Not done yet (partial)")


def test_check_keeps_name_and_doc():
    """The wrapped check keeps the body's name and docstring."""
    assert check_double.__name__ == "check_double"
    assert "doubles" in check_double.__doc__


def test_is_stub():
    """Only ... and None are stubs; falsy answers such as 0 are not."""
    assert is_stub(...) and is_stub(None)
    assert not is_stub(0) and not is_stub("") and not is_stub([])


def test_result_is_frozen():
    """A verdict cannot be edited after the fact."""
    result = CheckResult(True, "ok")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.passed = False


# -- the device probe: a GPU runtime played on any machine ---------------------------

import pytest as _pytest  # noqa: E402
import torch  # noqa: E402

from aecourse.checks.core import Wrong as _Wrong, probe_devices as _probe  # noqa: E402

_X = torch.ones(4, 3)
_WHERE = torch.device("cpu")  # a notebook's global device


@_pytest.mark.parametrize("make", [
    lambda x: x + torch.randn_like(x),
    lambda x: x + torch.randn(x.shape, device=x.device),
    lambda x: x + torch.randn(x.shape, device=_WHERE),
    lambda x: x + torch.randn(x.shape).to(x.device),
    lambda x: x * torch.tensor(0.5),
    lambda x: x + x.new_zeros(x.shape),
    lambda x: torch.zeros(3).copy_(x[0]),  # a copy across devices is allowed on a GPU too
], ids=["randn_like", "device=x.device", "global-device", "to-device", "cpu-scalar", "new_zeros", "copy"])
def test_probe_accepts_what_runs_on_a_gpu(make):
    _probe(lambda: make(_X), "it")


@_pytest.mark.parametrize("make", [
    lambda x: x + torch.randn(x.shape),
    lambda x: x @ torch.eye(3),  # mm accepts a meta argument silently: the mode checks inputs itself
    lambda x: torch.zeros(1) + x.sum(),  # x.sum() lives on the GPU there, torch.zeros(1) on the CPU
    lambda x: torch.cat([x, torch.zeros(1, 3)]),
    lambda x: torch.nn.Linear(3, 2)(x),  # a layer built inside the answer stays on the CPU
], ids=["randn", "eye-matmul", "zeros-plus-sum", "cat", "new-layer"])
def test_probe_rejects_what_stops_on_a_gpu(make):
    with _pytest.raises(_Wrong, match="two devices"):
        _probe(lambda: make(_X), "it")


def test_probe_ignores_what_only_the_meta_device_cannot_do():
    """.item() on a meta tensor fails, but says nothing about devices: no verdict."""
    _probe(lambda: torch.ones(3).sum().item(), "it")


def test_as_indices_reads_every_way_of_writing_indices():
    from aecourse.checks.core import as_indices

    values = torch.tensor([0.3, 0.9, 0.1])
    mask = values > 0.2
    for written in (mask.nonzero().flatten(), values.topk(2), torch.where(mask), mask.numpy().nonzero()[0], [0, 1]):
        assert sorted(as_indices(written)) == [0, 1], written
    assert as_indices(mask, mask_length=3) == [0, 1] and as_indices(list(mask.numpy()), mask_length=3) == [0, 1]
    assert as_indices(mask) is None  # a mask is read as one only where the caller says how long it is
    assert as_indices(values) is None and as_indices([True, False]) is None and as_indices(3) is None


def test_backpropagate_blames_the_answers_graph():
    from aecourse.checks.core import Wrong as _W, backpropagate

    x = torch.ones(3, requires_grad=True)
    y = x.exp()
    y.add_(1)  # exp saved its output for backward; this changes it
    with _pytest.raises(_W, match="in-place"):
        backpropagate(y.sum(), "the loss")


def test_as_number_takes_number_types_and_no_text():
    import numpy as np

    from aecourse.checks.core import as_number

    for written in (0.3, 3, np.float32(0.25), np.int64(2), torch.tensor(0.5), torch.tensor([0.5])):
        assert isinstance(as_number(written), float), written
    for written in ("0.3", True, None, [0.3], torch.ones(2)):
        assert as_number(written) is None, written


# -- hints, progress, and arguments left as found -----------------------------------------

import torch  # noqa: E402
from torch import nn  # noqa: E402

from aecourse.checks.core import VERDICTS, left_as_found, progress, show_hint  # noqa: E402


@exercise_check("halving", label="ex-test-halving", hint="Divide by two.")
def check_half(half):
    if half(4) != 2:
        raise Wrong("half(4) should be 2.")
    return "half(4) == 2."


def test_a_rejection_offers_the_stronger_hint_without_giving_it():
    result = check_half(lambda x: x)
    assert 'check.hint("ex-test-halving")' in result.message and "Divide" not in result.message
    assert "Divide by two." in repr(show_hint("ex-test-halving"))


def test_a_hint_for_an_unknown_label_lists_the_known_ones():
    assert "ex-test-halving" in repr(show_hint("ex-test-nothing"))


def test_progress_reports_each_exercise_by_its_last_verdict_in_this_kernel():
    VERDICTS.pop("ex-test-halving", None)
    assert "open" in repr(progress(__name__)).split("ex-test-halving")[1].splitlines()[0]
    check_half(lambda x: x)
    assert "not yet" in repr(progress(__name__)).split("ex-test-halving")[1].splitlines()[0]
    check_half(lambda x: x / 2)
    assert "passed" in repr(progress(__name__)).split("ex-test-halving")[1].splitlines()[0]
    check_half(...)
    assert "still a stub" in repr(progress(__name__)).split("ex-test-halving")[1].splitlines()[0]


def test_a_label_claimed_by_two_chapters_is_refused():
    with pytest.raises(ValueError, match="two checks claim"):
        exercise_check("x", label="ex-ch1-pca")(lambda: "ok")


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))


@pytest.mark.parametrize("mischief, words", [
    (lambda m, x: m.eval(), "from training mode to evaluation mode"),
    (lambda m, x: m[1].eval(), "from training mode to evaluation mode"),
    (lambda m, x: m.double(), "dtype from torch.float32 to torch.float64"),
    (lambda m, x: m.to("meta"), "moved model"),
    (lambda m, x: torch.nn.init.zeros_(m[0].weight), "changed model's weights"),
    (lambda m, x: x.mul_(2), "changed the values of x in place"),
    (lambda m, x: x.__setitem__(0, 0.0), "changed the values of x in place"),
])
def test_an_answer_that_changes_its_arguments_is_rejected_and_undone(mischief, words):
    model, x = _model(), torch.randn(4, 3)
    saved_model, saved_x = {k: v.clone() for k, v in model.state_dict().items()}, x.clone()
    with pytest.raises(Wrong, match=words):
        with left_as_found(model=model, x=x):
            mischief(model, x)
    assert model.training and model[1].training and x.dtype == torch.float32
    assert all(p.device.type == "cpu" and p.dtype == torch.float32 for p in model.parameters())
    assert all(torch.equal(v, saved_model[k]) for k, v in model.state_dict().items())
    assert torch.equal(x, saved_x)


def test_an_answer_that_leaves_its_arguments_alone_passes_even_if_it_switches_modes_and_back():
    model, x = _model(), torch.randn(4, 3)
    with left_as_found(model=model, x=x):
        model.eval()
        with torch.no_grad():
            model(x)
        model.train()
        y = x * 2  # noqa: F841 - out of place


def test_a_training_step_may_change_the_weights_but_not_the_mode():
    model, x = _model(), torch.randn(4, 3)
    with left_as_found(contents=False, model=model):
        torch.nn.init.zeros_(model[0].weight)
    with pytest.raises(Wrong, match="evaluation mode"):
        with left_as_found(contents=False, model=model):
            model.eval()


def test_a_list_the_answer_appends_to_is_noticed_and_restored():
    items = [1, 2]
    with pytest.raises(Wrong, match="changed the list items"):
        with left_as_found(items=items):
            items.append(3)
    assert items == [1, 2]


def test_an_answer_that_raises_still_leaves_the_arguments_restored():
    model = _model()
    with pytest.raises(RuntimeError):
        with left_as_found(model=model):
            model.eval()
            raise RuntimeError("the answer crashed")
    assert model.training


def test_a_list_of_tensors_is_compared_by_value_and_restored():
    kernels = [torch.ones(2, 2), torch.zeros(3)]
    with left_as_found(kernels=kernels):
        pass
    with pytest.raises(Wrong, match="changed the list kernels"):
        with left_as_found(kernels=kernels):
            kernels.pop()
    assert len(kernels) == 2 and torch.equal(kernels[1], torch.zeros(3))
    with pytest.raises(Wrong, match="changed the list kernels"):
        with left_as_found(kernels=kernels):
            kernels[0] = kernels[0] * 2
    assert torch.equal(kernels[0], torch.ones(2, 2))


def test_a_training_steps_new_weights_stay_and_untouched_tensors_are_not_written():
    model, x = _model(), torch.randn(4, 3, requires_grad=True)
    y = (x * x).sum()  # autograd saves x: a write to x would break y.backward()
    with left_as_found(contents=False, model=model):
        torch.nn.init.ones_(model[0].weight)
    assert torch.equal(model[0].weight, torch.ones(2, 3))
    with left_as_found(x=x):
        pass
    y.backward()
