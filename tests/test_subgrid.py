"""annlib.subgrid (the climate chapter's data and closures) and Experiments on the Lorenz-96 data:
shrunk to a few members and time units, so that a truth costs well under a second."""

import logging

import pytest
import torch
from torch.nn import functional as F

from annlib import cache, data, experiments, lorenz96, models, subgrid, train
from annlib.experiments import Experiment


@pytest.fixture
def small(tmp_path, monkeypatch):
    """A truth of 4 members (2 train, 1 val, 1 test), 0.5 time units after a spin-up of 0.5, in a
    fresh cache; returns the cache directory."""
    monkeypatch.setenv("ANNLIB_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("ANNLIB_NO_CACHE", raising=False)
    monkeypatch.setattr(subgrid, "MEMBERS", 4)
    monkeypatch.setattr(subgrid, "TIME_UNITS", 0.5)
    monkeypatch.setattr(subgrid, "SPIN_UP", 0.5)
    monkeypatch.setattr(subgrid, "SPLIT", {"train": range(0, 2), "val": range(2, 3), "test": range(3, 4)})
    return tmp_path


def l96(**kw):
    return Experiment(**{"data": "l96-local", "loss": "mse", "hidden": (8,), "batch_size": 32, "epochs": 2, **kw})


def test_truth_data_is_the_documented_ensemble_and_is_cached(small, monkeypatch):
    truth = subgrid.truth_data(progress=False)
    assert truth.x.shape == truth.u.shape == (51, 4, lorenz96.K) and truth.x.dtype == torch.float64
    assert torch.allclose(truth.t[1], torch.tensor(subgrid.SAMPLE_DT, dtype=torch.float64))
    expected = lorenz96.truth(4, steps=500, every=10, spin_up=500, seed=subgrid.SEED, progress=False)
    assert torch.equal(truth.x, expected.x) and torch.equal(truth.u, expected.u)
    (entry,) = small.glob("lorenz96-*.pt")

    def fail(*args, **kwargs):
        raise AssertionError("generated again instead of read from the cache")

    monkeypatch.setattr(lorenz96, "truth", fail)
    again = subgrid.truth_data()
    assert torch.equal(again.x, truth.x) and torch.equal(again.u, truth.u) and torch.equal(again.t, truth.t)
    monkeypatch.setattr(subgrid, "SEED", 1)    # other settings: another key, so generated
    with pytest.raises(AssertionError, match="generated again"):
        subgrid.truth_data()


def test_a_damaged_truth_file_is_regenerated_with_a_warning(small, caplog):
    truth = subgrid.truth_data(progress=False)
    (entry,) = small.glob("lorenz96-*.pt")
    entry.write_bytes(b"not a tensor file")
    with caplog.at_level(logging.WARNING, logger="annlib.subgrid"):
        again = subgrid.truth_data(progress=False)
    assert "ignoring unreadable" in caplog.text and torch.equal(again.x, truth.x)
    assert subgrid.truth_data().x.shape == truth.x.shape     # and rewritten whole


def test_no_cache_writes_nothing(small, monkeypatch):
    monkeypatch.setenv("ANNLIB_NO_CACHE", "1")
    subgrid.truth_data(progress=False)
    assert list(small.glob("lorenz96-*")) == []
    monkeypatch.delenv("ANNLIB_NO_CACHE")
    subgrid.truth_data(cache=False, progress=False)
    assert list(small.glob("lorenz96-*")) == []
    with pytest.raises(TypeError, match="cache must be True or False"):
        subgrid.truth_data(cache="yes")


def test_features_are_the_documented_stencils():
    x = torch.arange(16.0).reshape(2, 8)
    assert torch.equal(subgrid.features(x, "local"), x.unsqueeze(-1))
    around = subgrid.features(x, "neighbours")
    assert around.shape == (2, 8, 3)
    k = 0     # X_{k-1} wraps around the ring
    assert around[1, k].tolist() == [x[1, 7].item(), x[1, 0].item(), x[1, 1].item()]
    assert around[0, 3].tolist() == [2.0, 3.0, 4.0]
    assert subgrid.features(x, "all") is x
    with pytest.raises(ValueError, match="inputs must be one of"):
        subgrid.features(x, "global")


def test_load_splits_by_trajectory_and_standardizes_with_the_training_set(small):
    truth = subgrid.truth_data(progress=False)
    for inputs, (n_in, n_out) in subgrid.INPUTS.items():
        d = subgrid.load(inputs, thin=5)
        rows_per_sample = lorenz96.K // n_out
        assert d.splits.train[0].shape == (11 * 2 * rows_per_sample, n_in)      # every 5th of 51 samples, 2 members
        assert d.splits.val[0].shape == (51 * rows_per_sample, n_in) and d.splits.val[1].shape[1] == n_out
        assert d.splits.train[0].dtype == d.splits.train[1].dtype == torch.float32
        train_x = truth.x[::5, :2]
        assert d.scale == pytest.approx((train_x.mean().item(), train_x.std().item()))
        # the test rows are the last member's U, in order
        assert torch.equal(d.splits.test[1].flatten(), truth.u[:, 3].flatten().float())
        if inputs != "neighbours":   # the inputs are that member's X, standardized
            expected = ((truth.x[:, 3] - d.scale[0]) / d.scale[1]).flatten().float()
            assert torch.allclose(d.splits.test[0].flatten(), expected)
    with pytest.raises(ValueError, match="thin"):
        subgrid.load("local", thin=0)


def test_random_split_pools_and_redeals_every_row_once():
    a = (torch.arange(10.0).reshape(5, 2), torch.arange(5.0).reshape(5, 1))
    b = (torch.arange(10.0, 16.0).reshape(3, 2), torch.arange(5.0, 8.0).reshape(3, 1))
    first, second = subgrid.random_split(a, b, seed=0)
    assert len(first[0]) == 5 and len(second[0]) == 3
    assert sorted(torch.cat([first[1], second[1]]).flatten().tolist()) == list(range(8))
    assert torch.equal(first[0][:, 0] / 2, first[1].flatten())       # rows stay paired
    assert not torch.equal(first[1], a[1])                            # and are dealt anew
    assert torch.equal(subgrid.random_split(a, b, seed=0)[0][0], first[0])


def test_fit_polynomial_recovers_known_coefficients():
    x = torch.linspace(-5, 10, 400, dtype=torch.float64).reshape(50, 8)
    u = -0.5 - 1.1 * x + 0.02 * x ** 2 + 0.003 * x ** 3
    assert subgrid.fit_polynomial(x, u, degree=3) == pytest.approx([-0.5, -1.1, 0.02, 0.003], abs=1e-9)
    with pytest.raises(ValueError, match="same shape"):
        subgrid.fit_polynomial(x, u[:-1])
    with pytest.raises(ValueError, match="degree"):
        subgrid.fit_polynomial(x, u, degree=0)


@pytest.mark.parametrize("inputs", sorted(subgrid.INPUTS))
def test_closure_applies_the_network_as_in_training(inputs):
    n_in, n_out = subgrid.INPUTS[inputs]
    torch.manual_seed(0)
    net = models.mlp([n_in, 16, n_out])
    scale = (3.0, 5.0)
    x = torch.randn(6, lorenz96.K, dtype=torch.float64) * 5 + 3
    closure = subgrid.closure(net, inputs, scale)
    u = closure(x)
    assert u.shape == x.shape and u.dtype == torch.float64
    with torch.no_grad():
        expected = net(((subgrid.features(x, inputs) - 3.0) / 5.0).float().reshape(-1, n_in)).reshape(x.shape)
    assert torch.allclose(u.float(), expected, atol=1e-5)
    assert next(net.parameters()).dtype == torch.float32 and net.training     # the original is left alone
    run = lorenz96.integrate_one_scale(x, steps=10, closure=closure, progress=False)   # and it couples
    assert torch.isfinite(run.x).all()


def test_l96_experiments_are_validated():
    with pytest.raises(ValueError, match="set loss='mse'"):
        Experiment(data="l96-local")
    for field, value in [("train_size", 100), ("val_size", 5), ("max_shift", 2)]:
        with pytest.raises(ValueError, match=f"{field}=.* would do nothing"):
            l96(**{field: value})
    with pytest.raises(ValueError, match="data must be one of"):
        Experiment(data="l96")
    assert experiments.DATASETS == ("mnist", "l96-local", "l96-neighbours", "l96-all")
    assert '"data":"mnist"' in Experiment().to_json()


def test_l96_cache_key_needs_no_mnist(small, monkeypatch):
    def no_mnist():
        raise AssertionError("read MNIST")

    monkeypatch.setattr(data, "data_checksum", no_mnist)
    keys = {experiments.cache_key(l96(data=d), code="x", device="cpu") for d in experiments.DATASETS[1:]}
    assert len(keys) == 3


def test_l96_training_is_a_regression_with_r2(small):
    model, history = experiments.train_model(l96(epochs=3, patience=3), device="cpu", progress=False)
    assert history.epochs == 3 and history.val_acc == [] and history.test_acc is None
    assert len(history.val_metrics["r2"]) == 3 and "r2" in history.test_metrics
    d = subgrid.load("local")
    model.eval()
    with torch.no_grad():
        assert history.test_loss == pytest.approx(F.mse_loss(model(d.splits.test[0]), d.splits.test[1]).item(),
                                                  rel=1e-5)
    assert [m.in_features for m in model if isinstance(m, torch.nn.Linear)] == [1, 8]
    model, _ = experiments.train_model(l96(data="l96-all"), device="cpu", progress=False)
    assert model[-1].out_features == lorenz96.K


def test_run_model_keeps_the_weights_beside_the_history(small, monkeypatch):
    config = l96(data="l96-neighbours")
    net, result = experiments.run_model(config, device="cpu", progress=False)
    assert not result.cached and not net.training
    (weights,) = small.glob("[0-9a-f]*.weights")      # beside the history's entry, under its key
    assert weights.with_suffix(".json").exists()
    fresh, _ = experiments.train_model(config, device="cpu", progress=False)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), fresh.state_dict().values()))

    def no_training(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(experiments, "train_model", no_training)
    again, cached = experiments.run_model(config, device="cpu", progress=False)
    assert cached.cached and cached.history == result.history
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values()))


def test_run_model_trains_again_when_the_weights_are_damaged(small, caplog):
    config = l96()
    net, _ = experiments.run_model(config, device="cpu", progress=False)
    (weights,) = small.glob("[0-9a-f]*.weights")
    weights.write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING, logger="annlib.cache"):
        again, result = experiments.run_model(config, device="cpu", progress=False)
    assert "ignoring unreadable weights" in caplog.text and not result.cached   # trained again, with its history
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values()))
    assert cache.read_weights(weights, config.to_json()) is not None          # rewritten, readable
    weights.unlink()
    third, _ = experiments.run_model(config, device="cpu", progress=False)   # missing: trained again, silently
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), third.state_dict().values()))


def test_run_model_without_the_cache_trains_once(small, monkeypatch):
    calls = []
    real = experiments.train_model
    monkeypatch.setattr(experiments, "train_model", lambda *a, **k: calls.append(1) or real(*a, **k))
    net, result = experiments.run_model(l96(), cache=False, device="cpu", progress=False)
    assert calls == [1] and not result.cached and list(small.glob("[0-9a-f]*")) == []
    assert isinstance(net, torch.nn.Sequential) and isinstance(result.history, train.History)
