"""One rule for numbers, book-wide: Python's and NumPy's integers and reals are accepted alike
(bools, ``numpy.bool_`` too, never are), and a NumPy number gives the result of the Python number
it stands for: the same config, JSON and cache key, the same batches, model and training history.

The bad NumPy numbers (a ``numpy.True_`` epoch count, a ``numpy.float32`` NaN learning rate) are
cases of the bad-input matrices, ``test_bad_inputs_core.py`` and ``test_bad_inputs_data.py``.
"""

from __future__ import annotations

import dataclasses
import fractions
import json
import math

import numpy as np
import pytest
import torch

from annlib import _checks, data, experiments, models, optim, plotting, testing, train
from annlib.experiments import Experiment
from conftest import synthetic_splits

# ------------------------------------------------------------------------------------------------
# the rule itself (annlib/_checks.py)

INTEGERS = [3, np.int64(3), np.int32(-3), np.uint8(3), np.uint64(2**64 - 1), 2**100]
REALS = [0.1, np.float64(0.1), np.float32(0.1), np.float16(0.1), fractions.Fraction(1, 10), np.longdouble(0.1)]
NOT_NUMBERS = [True, False, np.True_, np.False_, "3", None, torch.tensor(3), np.array(3), np.array([3]), 1j]


@pytest.mark.parametrize("value", INTEGERS, ids=repr)
def test_integers_of_python_and_numpy_are_integers(value):
    assert _checks.is_int(value) and _checks.is_real(value) and _checks.is_number(value)
    assert type(_checks.as_number(value)) is int and _checks.as_number(value) == value


@pytest.mark.parametrize("value", REALS, ids=repr)
def test_reals_of_python_and_numpy_are_reals_not_integers(value):
    assert _checks.is_real(value) and _checks.is_number(value) and not _checks.is_int(value)
    assert type(_checks.as_number(value)) is float


@pytest.mark.parametrize("value", NOT_NUMBERS, ids=repr)
def test_bools_arrays_tensors_and_strings_are_no_numbers(value):
    assert not _checks.is_int(value) and not _checks.is_real(value) and not _checks.is_number(value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.float32("nan"), np.float64("-inf")], ids=repr)
def test_nan_and_inf_are_numbers_but_not_finite_reals(value):
    assert _checks.is_number(value) and not _checks.is_real(value) and not _checks.is_int(value)


@pytest.mark.parametrize("value, expected", [
    (np.float32(1e-3), 0.001),  # the number typed, not float(np.float32(1e-3)) = 0.0010000000474974513
    (np.float32(0.9), 0.9),
    (np.float32(3e-4), 3e-4),
    (np.float16(0.1), 0.1),
    (np.float32(1.0), 1.0),
    (np.float64(0.1), 0.1),  # exact
    (np.float64(float(np.float32(1e-3))), float(np.float32(1e-3))),  # a float64 is kept exactly, whatever it is
    (np.longdouble("0.1"), 0.1),
    (fractions.Fraction(1, 3), 1 / 3),
    (0.1, 0.1),
    (np.int64(-7), -7),
    (np.uint64(2**64 - 1), 2**64 - 1),
], ids=repr)
def test_as_number_gives_the_python_number_a_numpy_number_stands_for(value, expected):
    got = _checks.as_number(value)
    assert got == expected and type(got) is type(expected)


def test_as_number_keeps_python_numbers_as_they_are():
    for value in (0.1, 1e-3, 3, 0, -2**63, 2**100, 1e300, 5e-324):
        got = _checks.as_number(value)
        assert got == value and type(got) is type(value)


# ------------------------------------------------------------------------------------------------
# Experiment: NumPy numbers are stored as the Python numbers they stand for

PYTHON = dict(optimizer="sgd", lr=1e-3, momentum=0.9, weight_decay=1e-4, l1=1e-5, batch_size=64, epochs=5,
              hidden=(128, 64), dropout=0.5, train_size=1000, val_size=100, patience=3,
              lr_steps=((3, 1e-4), (5, 1e-5)), max_shift=2, seed=7)
NUMPY = dict(optimizer="sgd", lr=np.float32(1e-3), momentum=np.float32(0.9), weight_decay=np.float64(1e-4),
             l1=np.float32(1e-5), batch_size=np.int64(64), epochs=np.int32(5), hidden=(np.int64(128), np.uint8(64)),
             dropout=np.float16(0.5), train_size=np.int64(1000), val_size=np.uint16(100), patience=np.int8(3),
             lr_steps=((np.int64(3), np.float32(1e-4)), (np.int32(5), np.float64(1e-5))), max_shift=np.int64(2),
             seed=np.uint64(7))


def test_numpy_numbers_give_the_config_json_and_cache_key_of_the_python_numbers():
    ours, theirs = Experiment(**NUMPY), Experiment(**PYTHON)
    assert ours == theirs and hash(ours) == hash(theirs)
    assert ours.to_json() == theirs.to_json()
    assert experiments.cache_key(ours, code="x", device="cpu") == experiments.cache_key(theirs, code="x", device="cpu")
    for field in dataclasses.fields(Experiment):
        value = getattr(ours, field.name)
        assert type(value) is type(getattr(theirs, field.name)), field.name
    assert all(type(width) is int for width in ours.hidden)
    assert all(type(e) is int and type(lr) is float for e, lr in ours.lr_steps)


@pytest.mark.parametrize("field, numpy_value, python_value", [
    ("lr", np.float32(1e-3), 1e-3),
    ("lr", np.float64(0.1), 0.1),
    ("lr", np.float32(0.1), 0.1),
    ("lr", np.int64(1), 1),  # an integer stays an integer, as Python's 1 does
    ("epochs", np.int64(3), 3),
    ("batch_size", np.uint32(128), 128),
    ("seed", np.int64(-1), -1),
    ("hidden", (np.int64(32),), (32,)),
    ("hidden", [np.int16(32), np.int16(16)], (32, 16)),
    ("lr_steps", [[np.int64(3), np.float32(1e-4)]], ((3, 1e-4),)),
], ids=lambda v: repr(v) if not isinstance(v, str) else v)
def test_each_numpy_field_gives_the_key_of_the_python_number(field, numpy_value, python_value):
    ours, theirs = Experiment(**{field: numpy_value}), Experiment(**{field: python_value})
    assert getattr(ours, field) == python_value and ours.to_json() == theirs.to_json()
    assert experiments.cache_key(ours, code="x", device="cpu") == experiments.cache_key(theirs, code="x", device="cpu")


def test_float32_is_read_as_the_number_typed_not_its_binary_value():
    config = Experiment(lr=np.float32(1e-3))
    assert config.lr == 0.001 and float(np.float32(1e-3)) != 0.001
    assert json.loads(config.to_json())["lr"] == 0.001
    assert experiments.cache_key(config, code="x", device="cpu") != experiments.cache_key(
        Experiment(lr=float(np.float32(1e-3))), code="x", device="cpu")  # a float is kept exactly


def test_numpy_config_round_trips_through_json_and_replace():
    config = Experiment(**NUMPY)
    assert Experiment(**json.loads(config.to_json())) == config
    assert dataclasses.replace(Experiment(), epochs=np.int64(5), lr=np.float32(3e-4)) == Experiment(epochs=5, lr=3e-4)


def test_experiment_with_numpy_numbers_trains_as_with_python_numbers(monkeypatch):
    """A NumPy seed reaches torch.Generator.manual_seed (which refuses NumPy integers) as an int."""
    monkeypatch.setattr(data, "mnist_splits", synthetic_splits)
    small = dict(hidden=(8,), epochs=2, batch_size=32, max_shift=1, seed=3, lr_steps=((2, 1e-4),))
    numpy_small = dict(hidden=(np.int64(8),), epochs=np.int64(2), batch_size=np.int32(32), max_shift=np.int64(1),
                       seed=np.int64(3), lr_steps=((np.int64(2), np.float32(1e-4)),))
    histories = [experiments.train_model(Experiment(**fields), device="cpu", progress=False)[1].to_dict()
                 for fields in (small, numpy_small)]
    for history in histories:
        history.pop("epoch_time")
    assert histories[0] == histories[1]


# ------------------------------------------------------------------------------------------------
# fit and evaluate (annlib/train.py checks its numbers with _checks)

def _fit(**kwargs) -> dict:
    splits = synthetic_splits()
    torch.manual_seed(0)
    model = models.mlp([784, 8, 10])
    history = train.fit(model, torch.optim.SGD(model.parameters(), lr=0.05), splits.train, val_data=splits.val,
                        test_data=splits.test, progress=False, device="cpu", **kwargs)
    result = history.to_dict()
    result.pop("epoch_time")
    return result


FIT = dict(epochs=3, batch_size=32, seed=1, patience=2, l1=1e-4)


@pytest.mark.parametrize("name, value", [
    ("epochs", np.int64(3)),
    ("batch_size", np.int64(32)),
    ("seed", np.int64(1)),
    ("patience", np.int32(2)),
    ("l1", np.float32(1e-4)),
    ("l1", np.float64(1e-4)),
], ids=lambda v: repr(v) if not isinstance(v, str) else v)
def test_fit_with_a_numpy_number_gives_the_history_of_the_python_number(name, value):
    assert _fit(**{**FIT, name: value}) == _fit(**FIT)


def test_fit_with_a_numpy_lr_steps_epoch_gives_the_history_of_the_python_number():
    assert _fit(**FIT, lr_steps={np.int64(2): 0.01}) == _fit(**FIT, lr_steps={2: 0.01})


def test_fit_with_a_numpy_float32_lr_steps_rate_gives_the_history_of_the_python_number():
    assert _fit(**FIT, lr_steps={2: np.float32(0.01)}) == _fit(**FIT, lr_steps={2: 0.01})


def test_evaluate_with_a_numpy_batch_size_gives_the_python_result():
    splits = synthetic_splits()
    model = models.mlp([784, 8, 10])
    ours = train.evaluate(model, splits.test, batch_size=np.int64(7))
    assert ours == train.evaluate(model, splits.test, batch_size=7)


# ------------------------------------------------------------------------------------------------
# data, models, plotting, testing

X = torch.randn(10, 784, generator=torch.Generator().manual_seed(0))
Y = torch.arange(10)


def test_batches_with_numpy_numbers_are_the_python_batches():
    ours = [yb.tolist() for _, yb in data.Batches(X, Y, np.int64(4), seed=np.uint64(3))]
    assert ours == [yb.tolist() for _, yb in data.Batches(X, Y, 4, seed=3)]
    assert type(data.Batches(X, Y, np.int64(4)).batch_size) is int


def test_train_val_split_with_numpy_numbers_is_the_python_split():
    ours = data.train_val_split(X, Y, val_size=np.int64(3), seed=np.int64(5))
    theirs = data.train_val_split(X, Y, val_size=3, seed=5)
    assert all(torch.equal(a, b) for a, b in zip([*ours[0], *ours[1]], [*theirs[0], *theirs[1]]))


def test_random_shift_with_a_numpy_shift_is_the_python_shift():
    ours = data.random_shift(X, np.int64(2), generator=torch.Generator().manual_seed(0))
    assert torch.equal(ours, data.random_shift(X, 2, generator=torch.Generator().manual_seed(0)))


def test_mnist_splits_and_loading_with_numpy_numbers(tiny_mnist):
    root, _ = tiny_mnist
    ours = data.mnist_splits(root, val_size=np.int64(10), train_size=np.int32(20), seed=np.int64(1))
    theirs = data.mnist_splits(root, val_size=10, train_size=20, seed=1)
    for split in ("train", "val", "test"):
        assert all(torch.equal(a, b) for a, b in zip(getattr(ours, split), getattr(theirs, split)))
    assert data.ensure_mnist(root, timeout=np.float32(2.5), sources=("local",)) == "local"
    assert data.load_mnist(root, timeout=np.int64(5)) is data.load_mnist(root)


def test_mlp_with_numpy_numbers_is_the_python_mlp():
    ours = models.mlp([np.int64(784), np.int32(16), np.uint8(10)], dropout=np.float32(0.1))
    theirs = models.mlp([784, 16, 10], dropout=0.1)
    assert repr(ours) == repr(theirs)
    assert ours[3].p == 0.1 and type(ours[3].p) is float


def test_calibration_with_numpy_bins_is_the_python_calibration():
    probs = torch.softmax(torch.randn(50, 3, generator=torch.Generator().manual_seed(0)), dim=1)
    y = torch.arange(50) % 3
    ours, theirs = plotting.calibration(probs, y, bins=np.int64(5)), plotting.calibration(probs, y, bins=5)
    assert ours.ece == theirs.ece and torch.equal(ours.count, theirs.count)


def test_assert_same_state_takes_a_numpy_rtol():
    w = torch.nn.Parameter(torch.ones(2))
    opt = torch.optim.SGD([w], lr=0.1)
    testing.assert_same_state({"w": w}, {"w": w}, opt, opt, rtol=np.float32(1e-6))


def test_as_number_does_not_depend_on_numpy_print_options():
    with np.printoptions(legacy="1.13"):
        assert _checks.as_number(np.float32(0.1234567)) == 0.1234567
        assert experiments.Experiment(lr=np.float32(0.1234567)) == experiments.Experiment(lr=0.1234567)


@pytest.mark.parametrize("value", [10**400, fractions.Fraction(10**400, 3)], ids=["huge-int", "huge-fraction"])
def test_numbers_beyond_the_floats_are_not_reals(value):
    assert not _checks.is_real(value)
    with pytest.raises(ValueError, match="lr must be positive and finite"):
        experiments.Experiment(lr=value)


def test_lorenz96_takes_numpy_numbers_as_the_python_ones():
    from annlib import lorenz96
    x = torch.randn(3, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert torch.equal(lorenz96.step_one_scale(x, np.float32(0.005), F=np.float32(18.0)),
                       lorenz96.step_one_scale(x, 0.005, F=18.0))
    a = lorenz96.truth(2, steps=4, every=2, spin_up=2, seed=np.int64(3), K=np.int64(4), J=np.int32(3))
    b = lorenz96.truth(2, steps=4, every=2, spin_up=2, seed=3, K=4, J=3)
    assert torch.equal(a.x, b.x) and torch.equal(a.u, b.u)


def test_dropout_without_a_hidden_layer_is_refused_not_ignored():
    with pytest.raises(ValueError, match=r"dropout=0.5 would do nothing: .* hidden=\(\) has none"):
        experiments.Experiment(hidden=(), dropout=0.5)
    with pytest.raises(ValueError, match=r"dropout=0.5 would do nothing: .* sizes \[784, 10\] has none"):
        models.mlp([784, 10], dropout=0.5)


def test_param_groups_written_by_torch_schedulers_are_accepted():
    """An optimizer rebuilt from a scheduled one's param groups: the keys the schedulers wrote are
    bookkeeping, not misspelled settings."""
    model = torch.nn.Linear(3, 2)
    scheduled = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    torch.optim.lr_scheduler.OneCycleLR(scheduled, max_lr=1.0, total_steps=10)
    torch.optim.swa_utils.SWALR(scheduled, swa_lr=0.05)
    rebuilt = optim.SGD(scheduled.param_groups, lr=0.1, momentum=0.9)
    assert rebuilt.param_groups[0]["max_lr"] == 1.0 and rebuilt.param_groups[0]["swa_lr"] == 0.05


def test_a_home_directory_that_does_not_exist_is_named(monkeypatch):
    from annlib import cache
    monkeypatch.setenv("ANNLIB_CACHE_DIR", "~nosuchuser_annlib/x")
    with pytest.raises(ValueError, match=r"ANNLIB_CACHE_DIR: cannot expand the ~ in '~nosuchuser_annlib/x'"):
        cache.cache_dir()
    with pytest.raises(ValueError, match=r"package '.*' holds no Python modules"):
        cache.library_checksum("~/no-such-annlib-package")
