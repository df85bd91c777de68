"""run_all in any concurrent.futures.Executor: a process pool, or a real Dask cluster.

The workers are other processes that see another cache directory in their environment (as a
node of a cluster would): the results must still land in the caller's cache, equal bit for bit
to a run in this process, and a second sweep must run nothing.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import multiprocessing
import os

import pytest
from distributed import Client, LocalCluster

from annlib import experiments, sweep
from annlib.experiments import Experiment
from conftest import install_synthetic_splits, synthetic_splits

SMALL = Experiment(hidden=(16,), epochs=2, batch_size=32, lr=1e-2)
CONFIGS = {f"lr={lr}": dataclasses.replace(SMALL, lr=lr) for lr in (1e-2, 3e-3, 1e-3)}


def install_synthetic_splits_elsewhere() -> None:
    """A worker's setup: the synthetic data, and an environment with another cache directory and
    no ANNLIB_NO_CACHE (as on another node)."""
    install_synthetic_splits()
    os.environ["ANNLIB_CACHE_DIR"] = os.environ["ANNLIB_TEST_ELSEWHERE"]
    os.environ.pop("ANNLIB_NO_CACHE", None)


@pytest.fixture
def sweep_runs(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(experiments.data, "mnist_splits", lambda **kw: calls.append(kw) or synthetic_splits(**kw))
    monkeypatch.setattr(sweep, "_WORKER_SETUP", install_synthetic_splits_elsewhere)
    cache, elsewhere = tmp_path / "cache", tmp_path / "elsewhere"
    monkeypatch.setenv("ANNLIB_CACHE_DIR", str(cache))
    monkeypatch.setenv("ANNLIB_TEST_ELSEWHERE", str(elsewhere))
    monkeypatch.delenv("ANNLIB_NO_CACHE", raising=False)
    serial = experiments.run_all(CONFIGS, cache=False, device="cpu", progress=False, workers=1)
    calls.clear()
    yield cache, calls, serial
    assert not elsewhere.exists()   # no worker wrote into the cache directory of its own environment


def same_numbers(a, b):
    return dataclasses.replace(a, epoch_time=[]) == dataclasses.replace(b, epoch_time=[])


def check_sweep(executor, cache, calls, serial):
    results = experiments.run_all(CONFIGS, device="cpu", progress=False, executor=executor)
    assert list(results) == list(CONFIGS) and not any(r.cached for r in results.values())
    assert calls == []   # nothing trained in this process: the executor's workers did
    for name in CONFIGS:
        assert same_numbers(results[name].history, serial[name].history), name
    assert len(list(cache.glob("*.json"))) == len(CONFIGS)   # in the caller's cache, not the workers' own
    again = experiments.run_all(CONFIGS, device="cpu", progress=False, executor=executor)
    assert all(r.cached for r in again.values()) and calls == []
    assert all(again[n].history == results[n].history for n in CONFIGS)


def test_run_all_in_a_process_pool_executor(sweep_runs):
    cache, calls, serial = sweep_runs
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=spawn) as pool:
        check_sweep(pool, cache, calls, serial)
        assert pool.submit(int, "7").result() == 7   # run_all left the caller's executor open


def test_run_all_on_a_dask_cluster(sweep_runs):
    cache, calls, serial = sweep_runs
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        check_sweep(client.get_executor(), cache, calls, serial)
        assert len(client.scheduler_info()["workers"]) == 2


@pytest.mark.bad_input
def test_an_executor_that_is_not_one_is_named(sweep_runs):
    with pytest.raises(TypeError, match="executor must be a concurrent.futures.Executor .*, got str 'dask'"):
        experiments.run_all(CONFIGS, device="cpu", progress=False, executor="dask")


@pytest.mark.bad_input
def test_workers_and_an_executor_together_are_refused(sweep_runs):
    with concurrent.futures.ThreadPoolExecutor(1) as pool, \
            pytest.raises(ValueError, match="pass workers or executor, not both"):
        experiments.run_all(CONFIGS, device="cpu", progress=False, executor=pool, workers=2)


class OneFails(concurrent.futures.Executor):
    """Its first task fails at once; the others stay queued until somebody cancels them."""

    def __init__(self):
        self.futures = []

    def submit(self, fn, *args, **kwargs):
        future = concurrent.futures.Future()
        if not self.futures:
            future.set_exception(RuntimeError("no data on this node"))
        self.futures.append(future)
        return future


def test_a_run_that_fails_in_the_executor_raises_and_cancels_the_rest(sweep_runs):
    executor = OneFails()
    with pytest.raises(RuntimeError, match="no data on this node"):
        experiments.run_all(CONFIGS, device="cpu", progress=False, executor=executor)
    assert len(executor.futures) == len(CONFIGS) and all(f.cancelled() for f in executor.futures[1:])


def test_runs_in_threads_of_one_process_give_the_numbers_of_one_process(sweep_runs, monkeypatch):
    # torch's seed and thread count belong to the process: runs in threads train one at a time.
    cache, _, _ = sweep_runs
    monkeypatch.setattr(sweep, "_WORKER_SETUP", None)
    configs = {f"dropout={p}": dataclasses.replace(SMALL, dropout=p, seed=s) for s, p in enumerate((0.5, 0.3, 0.1))}
    serial = experiments.run_all(configs, cache=False, device="cpu", progress=False, workers=1)
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        threaded = experiments.run_all(configs, cache=False, device="cpu", progress=False, executor=pool)
    assert all(same_numbers(threaded[n].history, serial[n].history) for n in configs)


def test_annlib_no_cache_of_the_caller_holds_in_the_workers(sweep_runs, monkeypatch):
    # The workers' environment has no ANNLIB_NO_CACHE (their setup removes it): the caller's choice travels.
    cache, calls, serial = sweep_runs
    monkeypatch.setenv("ANNLIB_NO_CACHE", "1")
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=spawn) as pool:
        results = experiments.run_all(CONFIGS, device="cpu", progress=False, executor=pool)
    assert not any(r.cached for r in results.values()) and not list(cache.glob("*.json"))


def pretend_other_annlib_code() -> None:
    """A worker's initializer: its annlib's training code is not the caller's."""
    from annlib import cache

    cache.code_checksum = lambda package=None: "other code"


@pytest.mark.parametrize("cached", [True, False], ids=["with-cache", "without-cache"])
def test_a_worker_with_other_annlib_code_refuses_the_run(sweep_runs, monkeypatch, cached):
    cache, calls, _ = sweep_runs
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn, initializer=pretend_other_annlib_code) as pool, \
            pytest.raises(RuntimeError, match="this worker would compute other results than the caller"):
        experiments.run_all(CONFIGS, cache=cached, device="cpu", progress=False, executor=pool)
    assert not list(cache.glob("*.json"))
