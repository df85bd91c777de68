import concurrent.futures
import dataclasses
import json
import math

import pytest
import torch

from annlib import data, experiments, mnist, sweep, train
from annlib.experiments import Experiment
from conftest import install_synthetic_splits, synthetic_splits


def test_golden_cache_key(monkeypatch):
    """Pins the key of one config: a change to the hashing or the defaults must be deliberate
    (bump RESULTS_VERSION if old entries must not be read, and update this value)."""
    monkeypatch.setattr(experiments.torch, "__version__", "2.14.1+cu130")
    assert experiments.cache_key(Experiment(), code="golden", device="cpu") == (
        "28cf79ca79e89e2ad95e7a027d93302b41f67f30d75270583e5d16a14a2d8e85")
    assert experiments.RESULTS_VERSION == 1


def test_key_depends_on_config_code_and_data(monkeypatch):
    base = experiments.cache_key(Experiment(), code="a")
    assert experiments.cache_key(Experiment(lr=1e-2), code="a") != base
    assert experiments.cache_key(Experiment(), code="b") != base
    with monkeypatch.context() as patch:
        patch.setattr(experiments.torch, "__version__", "9.9.9")
        assert experiments.cache_key(Experiment(), code="a") != base
    monkeypatch.setattr(mnist, "MNIST_MD5", {**mnist.MNIST_MD5, "t10k-labels-idx1-ubyte": "0" * 32})
    assert experiments.cache_key(Experiment(), code="a") != base


def test_config_is_frozen_canonical_and_replaceable():
    config = Experiment(hidden=[32, 16])
    assert config.hidden == (32, 16)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.lr = 1.0
    variant = dataclasses.replace(config, optimizer="sgd", momentum=0.9)
    assert variant.optimizer == "sgd" and config.optimizer == "adam"
    assert json.loads(config.to_json())["hidden"] == [32, 16]
    assert Experiment(lr=0.1, epochs=3).to_json() == Experiment(epochs=3, lr=0.1).to_json()
    with pytest.raises(TypeError):
        Experiment("adam")  # keyword-only
    scheduled = Experiment(epochs=5, lr_steps=[[3, 1e-4], [5, 1e-5]])  # as JSON gives them back
    assert scheduled.lr_steps == ((3, 1e-4), (5, 1e-5))
    assert scheduled == Experiment(**json.loads(scheduled.to_json()))


@pytest.mark.parametrize("kwargs, message", [
    ({"optimizer": "lbfgs"}, "optimizer must be one of"),
    ({"activation": "swish"}, "activation must be one of"),
    ({"loss": "hinge"}, "loss must be one of"),
    ({"lr": 0.0}, "lr must be positive"),
    ({"momentum": 1.0}, "momentum must be in"),
    ({"nesterov": True}, "nesterov needs"),
    ({"weight_decay": -1e-4}, "non-negative"),
    ({"batch_size": 0}, "batch_size must be a positive integer, got 0"),
    ({"hidden": (0,)}, "hidden must be a tuple of positive integers"),
    ({"dropout": 1.0}, "dropout must be"),
    ({"train_size": 0}, "train_size"),
    ({"patience": 0}, "patience"),
    ({"epochs": 5, "lr_steps": ((6, 1e-4),)}, "lr_steps must be"),
    ({"epochs": 5, "lr_steps": ((1, 1e-4),)}, "lr_steps must be"),
    ({"epochs": 5, "lr_steps": ((3, 1e-4), (2, 1e-5))}, "lr_steps must be"),
    ({"epochs": 5, "lr_steps": ((3, 1e-4), (3, 1e-5))}, "lr_steps must be"),
    ({"epochs": 5, "lr_steps": ((3, 0.0),)}, "lr_steps must be"),
    ({"epochs": 5, "lr_steps": ((3,),)}, "lr_steps must be"),
    ({"epochs": 5, "lr_steps": 3}, "lr_steps must be"),
    ({"epochs": 5, "lr_steps": ((3.0, 1e-4),)}, "lr_steps must be"),
    ({"max_shift": -1}, "max_shift must be"),
    ({"max_shift": 28}, "max_shift must be"),
    ({"max_shift": 1.0}, "max_shift must be"),
])
def test_bad_configs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Experiment(**kwargs)


@pytest.mark.parametrize("name, cls", [("sgd", torch.optim.SGD), ("adagrad", torch.optim.Adagrad),
                                       ("rmsprop", torch.optim.RMSprop), ("adam", torch.optim.Adam),
                                       ("adamw", torch.optim.AdamW)])
def test_optimizer_is_built_with_the_config_values(name, cls):
    config = Experiment(optimizer=name, lr=0.02, weight_decay=1e-3)
    opt = config.build_optimizer([torch.nn.Parameter(torch.zeros(2))])
    assert type(opt) is cls
    assert opt.defaults["lr"] == 0.02 and opt.defaults["weight_decay"] == 1e-3


@pytest.mark.parametrize("name", experiments.OPTIMIZERS)
def test_momentum_is_accepted_exactly_where_the_built_optimizer_uses_it(name):
    """A momentum that build_optimizer would not pass on is an error, not a silent no-op."""
    if name in ("sgd", "rmsprop"):
        opt = Experiment(optimizer=name, momentum=0.9).build_optimizer([torch.nn.Parameter(torch.zeros(2))])
        assert opt.defaults["momentum"] == 0.9
    else:
        with pytest.raises(ValueError, match=f"momentum=0.9 would be ignored: optimizer='{name}' takes no momentum"):
            Experiment(optimizer=name, momentum=0.9)
        opt = Experiment(optimizer=name, momentum=0.0).build_optimizer([torch.nn.Parameter(torch.zeros(2))])
        assert "momentum" not in opt.defaults


def test_adamw_decays_apart_from_the_gradient_and_adam_adds_it_to_the_gradient():
    """One step from w = 1 with a zero gradient: Adam's L2 term makes the gradient λw, so its first
    (sign-like) step is lr; AdamW shrinks w by lr·λ·w and the Adam step of a zero gradient is 0."""
    steps = {}
    for name in ("adam", "adamw"):
        w = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
        opt = Experiment(optimizer=name, lr=0.1, weight_decay=0.5).build_optimizer([w])
        w.grad = torch.zeros_like(w)
        opt.step()
        steps[name] = 1 - w.detach()
    torch.testing.assert_close(steps["adam"], torch.full((3,), 0.1, dtype=torch.float64), rtol=1e-6, atol=0)
    torch.testing.assert_close(steps["adamw"], torch.full((3,), 0.1 * 0.5, dtype=torch.float64), rtol=1e-12, atol=0)


def _result(val_acc, val_loss, test_acc, *, best_epoch=None, diverged_epoch=None):
    history = train.History(train_loss=[1.0] * len(val_acc), train_acc=[0.5] * len(val_acc), val_acc=list(val_acc),
                            val_loss=list(val_loss), epoch_time=[1.0] * len(val_acc), test_acc=test_acc,
                            test_loss=None if test_acc is None else 0.1, best_epoch=best_epoch,
                            diverged_epoch=diverged_epoch)
    return experiments.Result(Experiment(), history)


def test_select_chooses_on_validation_at_the_epoch_the_run_ended_with_and_never_on_test():
    runs = {"a": _result([0.90, 0.95], [0.3, 0.2], test_acc=0.99),   # best test, worse validation
            "b": _result([0.96, 0.94], [0.1, 0.25], test_acc=0.80),  # best epoch 1 not restored: 0.94
            "c": _result([0.97, 0.93], [0.1, 0.3], test_acc=0.50, best_epoch=1)}  # restored: 0.97
    assert experiments.select(runs) == "c"
    assert experiments.select(runs, by="val_loss") == "c"
    del runs["c"]
    assert experiments.select(runs) == "a" and experiments.select(runs, by="val_loss") == "a"
    swapped = {"a": dataclasses.replace(runs["a"], history=dataclasses.replace(runs["a"].history, test_acc=0.0)),
               "b": dataclasses.replace(runs["b"], history=dataclasses.replace(runs["b"].history, test_acc=1.0))}
    assert experiments.select(swapped) == "a"  # the test numbers change nothing


def test_select_never_chooses_a_diverged_run_and_breaks_ties_by_order():
    runs = {"nan": _result([0.99, math.nan], [0.01, math.nan], None, diverged_epoch=2),
            "ok": _result([0.5], [2.0], 0.5), "same": _result([0.5], [2.0], 0.9)}
    assert experiments.select(runs) == "ok" and experiments.select(runs, by="val_loss") == "ok"
    with pytest.raises(ValueError, match="no run has a finite val_acc"):
        experiments.select({"nan": runs["nan"]})


@pytest.mark.bad_input
@pytest.mark.parametrize("args, kwargs, error, message", [
    (({},), {}, ValueError, "results must be a non-empty mapping"),
    (([1],), {}, ValueError, "results must be a non-empty mapping"),
    (({"a": train.History()},), {}, TypeError, r"results\['a'\] must be a Result, got History"),
    (({"a": None},), {"by": "test_acc"}, TypeError, "must be a Result"),
])
def test_select_bad_arguments(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        experiments.select(*args, **kwargs)


@pytest.mark.bad_input
def test_select_refuses_to_choose_by_a_test_number():
    with pytest.raises(ValueError, match=r"by must be one of \['val_acc', 'val_loss'\], got 'test_acc'"):
        experiments.select({"a": _result([0.9], [0.1], 0.9)}, by="test_acc")


def test_without_test_removes_only_the_test_fields():
    result = _result([0.9], [0.1], 0.95, best_epoch=1)
    blind = result.without_test()
    assert blind.history.test_acc is None and blind.history.test_loss is None
    assert result.history.test_acc == 0.95  # the original is untouched
    assert dataclasses.replace(blind.history, test_acc=0.95, test_loss=0.1) == result.history


@pytest.fixture
def tiny_runs(tmp_path, monkeypatch):
    """Experiments on a small synthetic problem shaped like MNIST, with a private cache dir.

    Worker processes of run_all get the same data through sweep._WORKER_SETUP.
    """
    calls = []

    def fake_splits(**kwargs):
        calls.append(kwargs)
        return synthetic_splits(**kwargs)

    monkeypatch.setattr(data, "mnist_splits", fake_splits)
    monkeypatch.setattr(sweep, "_WORKER_SETUP", install_synthetic_splits)
    monkeypatch.setenv("ANNLIB_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("ANNLIB_NO_CACHE", raising=False)
    return tmp_path, calls


SMALL = Experiment(hidden=(16,), epochs=2, batch_size=32, lr=1e-2)


def test_run_caches_and_reuses(tiny_runs):
    cache, calls = tiny_runs
    first = experiments.run(SMALL, device="cpu", progress=False)
    second = experiments.run(SMALL, device="cpu", progress=False)
    assert not first.cached and second.cached and len(calls) == 1
    assert second.history == first.history
    entry = json.loads(next(cache.glob("*.json")).read_text())
    assert entry["config"]["hidden"] == [16] and entry["meta"]["results_version"] == 1
    assert not list(cache.glob("*.part"))


def test_same_config_same_result_without_cache(tiny_runs):
    a = experiments.run(SMALL, cache=False, device="cpu", progress=False).history.to_dict()
    b = experiments.run(SMALL, cache=False, device="cpu", progress=False).history.to_dict()
    a.pop("epoch_time"), b.pop("epoch_time")
    assert a == b


@pytest.mark.parametrize("damage", ["truncate", "garbage", "wrong_config"])
def test_damaged_cache_entry_is_ignored_and_recomputed(tiny_runs, damage):
    cache, calls = tiny_runs
    good = experiments.run(SMALL, device="cpu", progress=False)
    path = next(cache.glob("*.json"))
    text = path.read_text()
    if damage == "truncate":
        path.write_text(text[: len(text) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00\xff" * 10)
    else:
        entry = json.loads(text)
        entry["config"]["lr"] = 123.0
        path.write_text(json.dumps(entry))
    again = experiments.run(SMALL, device="cpu", progress=False)
    assert not again.cached and len(calls) == 2
    assert again.history.test_acc == good.history.test_acc
    assert experiments.run(SMALL, device="cpu", progress=False).cached  # the entry was repaired


def test_cache_can_be_bypassed(tiny_runs, monkeypatch):
    _, calls = tiny_runs
    experiments.run(SMALL, device="cpu", progress=False)
    assert not experiments.run(SMALL, cache=False, device="cpu", progress=False).cached
    monkeypatch.setenv("ANNLIB_NO_CACHE", "1")
    assert not experiments.run(SMALL, device="cpu", progress=False).cached
    assert len(calls) == 3


def test_mse_loss_variant_runs(tiny_runs):
    result = experiments.run(dataclasses.replace(SMALL, loss="mse"), device="cpu", progress=False)
    assert 0 <= result.history.train_loss[-1] < 1


def test_run_all_and_summary(tiny_runs):
    results = experiments.run_all({"a": SMALL, "b": dataclasses.replace(SMALL, lr=1e-3)}, device="cpu", progress=False)
    assert list(results) == ["a", "b"] and results["a"].config == SMALL
    row = results["a"].summary()
    h = results["a"].history
    assert row["epochs run"] == 2 and row["test acc (%)"] == pytest.approx(100 * h.test_acc)
    assert row["best val acc (%)"] == pytest.approx(100 * max(h.val_acc)) and row["diverged at epoch"] is None


def same_numbers(a, b):
    """Histories equal in everything but the wall time."""
    return dataclasses.replace(a, epoch_time=[]) == dataclasses.replace(b, epoch_time=[])


def test_run_all_in_workers_gives_the_numbers_of_one_process_and_caches_them(tiny_runs):
    cache, _ = tiny_runs
    configs = {f"lr={lr}": dataclasses.replace(SMALL, lr=lr) for lr in (1e-2, 3e-3, 1e-3)}
    serial = experiments.run_all(configs, cache=False, device="cpu", progress=False, workers=1)
    assert not list(cache.glob("*.json"))
    parallel = experiments.run_all(configs, device="cpu", progress=False, workers=2)
    assert list(parallel) == list(configs) and not any(r.cached for r in parallel.values())
    for name in configs:   # one thread each, wherever it ran: the same arithmetic, bit for bit
        assert same_numbers(parallel[name].history, serial[name].history), name
    assert len(list(cache.glob("*.json"))) == 3
    again = experiments.run_all(configs, device="cpu", progress=False, workers=2)
    assert all(r.cached for r in again.values())
    assert all(same_numbers(again[n].history, parallel[n].history) for n in configs)


def test_run_all_reads_the_cache_and_runs_only_what_is_missing(tiny_runs):
    first = experiments.run_all({"a": SMALL}, device="cpu", progress=False)
    both = experiments.run_all({"b": dataclasses.replace(SMALL, lr=1e-3), "a": SMALL}, device="cpu", progress=False)
    assert list(both) == ["b", "a"] and both["a"].cached and not both["b"].cached
    assert both["a"].history == first["a"].history


def test_training_uses_one_thread_and_restores_the_count(tiny_runs):
    torch.set_num_threads(2)
    seen = []
    real_fit = experiments.train.fit

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real_fit(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(experiments.train, "fit", spy)
        experiments.train_model(SMALL, device="cpu", progress=False)
    assert seen == [1] and torch.get_num_threads() == 2


@pytest.mark.parametrize("workers", [0, -1])
def test_bad_worker_counts(tiny_runs, monkeypatch, workers):
    with pytest.raises(ValueError, match=f"workers must be a positive integer, got {workers}"):
        experiments.run_all({"a": SMALL}, device="cpu", progress=False, workers=workers)
    monkeypatch.setenv("ANNLIB_WORKERS", str(workers))
    with pytest.raises(ValueError, match=f"ANNLIB_WORKERS must be a positive integer, got {workers}"):
        experiments.run_all({"a": SMALL}, device="cpu", progress=False)


@pytest.mark.parametrize("cpu_max, memory_max, expected", [
    (None, None, 2),                          # no cgroup files: the cores, memory permitting
    ("max 100000", "max", 2),                 # no quota
    ("100000 100000", "max", 1),              # a Binder-like pod: one CPU of many visible
    ("250000 100000", "max", 2),              # 2.5 CPUs, but only 2 cores here
    ("max 100000", str(2 * 2**30), 1),        # 2 GiB limit, 1.5 GiB of it in use
])
def test_default_workers_follow_cores_quota_and_memory(tmp_path, monkeypatch, cpu_max, memory_max, expected):
    cgroup = tmp_path / "cgroup"
    cgroup.mkdir()
    if cpu_max:
        (cgroup / "cpu.max").write_text(cpu_max + "\n")
        (cgroup / "memory.max").write_text(memory_max + "\n")
        (cgroup / "memory.current").write_text(str(3 * 2**29) + "\n")
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 25000000 kB\nMemAvailable: 20000000 kB\n")
    monkeypatch.setattr(sweep, "_CGROUP", cgroup)
    monkeypatch.setattr(sweep, "_MEMINFO", meminfo)
    monkeypatch.setattr(experiments.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.delenv("ANNLIB_WORKERS", raising=False)
    assert experiments.default_workers(torch.device("cpu")) == expected
    assert experiments.default_workers(torch.device("cuda")) == 1
    monkeypatch.setenv("ANNLIB_WORKERS", "3")
    assert experiments.default_workers(torch.device("cpu")) == 3


def test_summary_of_a_diverged_run_has_no_numbers_that_look_valid():
    h = experiments.train.History(train_loss=[float("nan")], train_acc=[0.1], epoch_time=[1.0], diverged_epoch=1)
    row = experiments.Result(SMALL, h).summary()
    assert row["diverged at epoch"] == 1 and row["final train loss"] is None and row["test acc (%)"] is None


def test_train_model_is_the_computation_behind_run(tiny_runs):
    model, history = experiments.train_model(SMALL, device="cpu", progress=False)
    result = experiments.run(SMALL, cache=False, device="cpu", progress=False)
    assert isinstance(model, torch.nn.Module) and history.test_acc == result.history.test_acc
    assert history.train_loss == result.history.train_loss and history.val_loss == result.history.val_loss
    quiet_model, quiet = experiments.train_model(SMALL, validate=False, device="cpu", progress=False)
    assert quiet.val_loss == [] and quiet.train_loss == history.train_loss   # same training
    assert all(torch.equal(a, b) for a, b in zip(quiet_model.state_dict().values(),
                                                 model.state_dict().values()))


def test_train_model_without_validation_cannot_stop_early(tiny_runs):
    with pytest.raises(ValueError, match=r"early stopping .*needs val_data"):
        experiments.train_model(dataclasses.replace(SMALL, patience=2), validate=False, device="cpu", progress=False)


def test_schedule_and_shifts_reach_training_and_are_cached(tiny_runs, monkeypatch):
    cache, _ = tiny_runs
    seen = []
    fit = experiments.train.fit

    def spy(model, optimizer, *args, **kwargs):
        seen.append((kwargs["lr_steps"], kwargs["augment"]))
        return fit(model, optimizer, *args, **kwargs)

    monkeypatch.setattr(experiments.train, "fit", spy)
    config = dataclasses.replace(SMALL, epochs=3, lr_steps=((3, 1e-3),), max_shift=2, patience=3)
    first = experiments.run(config, device="cpu", progress=False)
    again = experiments.run(config, cache=False, device="cpu", progress=False)
    (steps, augment), _ = seen
    assert steps == {3: 1e-3} and augment.keywords["max_shift"] == 2
    assert first.history.train_loss == again.history.train_loss  # the shifts are seeded
    assert first.history.best_epoch is not None and first.history.epochs == 3  # restored, not stopped
    plain = experiments.run(dataclasses.replace(config, max_shift=0), cache=False, device="cpu", progress=False)
    assert plain.history.train_loss != first.history.train_loss
    assert experiments.run(config, device="cpu", progress=False).cached


def test_estimated_cost_grows_with_the_work():
    cost = sweep._estimated_cost
    base = Experiment()
    assert cost(dataclasses.replace(base, epochs=10)) > cost(base)
    assert cost(dataclasses.replace(base, batch_size=1)) > cost(base)
    assert cost(dataclasses.replace(base, hidden=(800, 800))) > cost(base)
    assert cost(dataclasses.replace(base, train_size=1000)) < cost(base)


def test_pool_gets_the_longest_runs_first(tiny_runs, monkeypatch):
    submitted = []

    class InProcessPool:  # runs each submission at once, in this process, and records the order
        def __init__(self, *args, **kwargs):
            pass

        def submit(self, fn, config, *args):
            submitted.append(config)
            future = concurrent.futures.Future()
            future.set_result(fn(config, *args))
            return future

        def shutdown(self, **kwargs):
            pass

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", InProcessPool)
    configs = {"short": SMALL, "long": dataclasses.replace(SMALL, epochs=4),
               "middle": dataclasses.replace(SMALL, epochs=3)}
    results = experiments.run_all(configs, workers=2, device="cpu", progress=False)
    assert submitted == [configs["long"], configs["middle"], configs["short"]]
    assert list(results) == ["short", "long", "middle"]  # returned in the order asked for
