"""Sweeps: the runs of :func:`annlib.experiments.run_all` that are not cached, side by side.

By default they run in worker processes of this machine, one per core
(:func:`default_workers`), each training on one thread. Any :class:`concurrent.futures.Executor`
can run them instead, e.g. a Dask cluster's::

    from dask.distributed import Client              # pip install "annlib[dask]"
    client = Client(cluster)                         # a LocalCluster, or dask-jobqueue's SLURMCluster
    results = experiments.run_all(configs, executor=client.get_executor())

Give each worker one thread (``LocalCluster(threads_per_worker=1)``, or ``cores=1, processes=1``
per job): runs in one process train one at a time, because torch's seed and thread count belong
to the process. Each run carries the path of its entry in the caller's cache, so on a cluster
that directory must be on a filesystem every node sees; the caller then reads what any worker
wrote, and a second sweep runs nothing twice. Each run also carries the caller's training-code
checksum, and a worker whose annlib training code, torch or data differ refuses it. A worker's
numbers are those of a run in the caller's process when its CPU and software are the same;
another CPU or GPU type may round differently in the last digits (as another machine's build of
the book does), and a shared cache keeps whichever node's numbers came first.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import threading
from collections.abc import Callable, Hashable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from annlib import _checks, cache as _cache, train

if TYPE_CHECKING:
    from annlib.experiments import Experiment, Result

__all__ = ["default_workers", "run_all", "run_pending"]

# A picklable callable each worker calls first; None in use. Tests set it to give the workers
# the same synthetic data as the parent process.
_WORKER_SETUP: Callable[[], None] | None = None

_CGROUP, _MEMINFO = Path("/sys/fs/cgroup"), Path("/proc/meminfo")  # Linux; elsewhere they are absent


def default_workers(device: torch.device) -> int:
    """``$ANNLIB_WORKERS``, else as many workers as the CPU cores and the memory allow (1 on a GPU).

    ``ANNLIB_WORKERS`` must be a positive integer (spaces around it are ignored; set but empty,
    it counts as unset).

    The cores are those this process may use, capped by a container's CPU quota (cgroup v2
    ``cpu.max``, as on Binder, where a pod sees the host's cores but may use one or two); each
    worker is given 1 GiB of the memory available (it holds torch and a copy of MNIST, about
    half of that).
    """
    if os.environ.get("ANNLIB_WORKERS"):
        workers = os.environ["ANNLIB_WORKERS"].strip()
        if not (workers.isascii() and workers.isdigit()) or int(workers) < 1:
            raise ValueError(f"ANNLIB_WORKERS must be a positive integer, got {workers}")
        return int(workers)
    if _checks.device(device, must_exist=False).type != "cpu":
        return 1  # one GPU: the runs would only queue for it
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    with contextlib.suppress(OSError, ValueError):
        quota, period = (_CGROUP / "cpu.max").read_text().split()
        if quota != "max":
            cores = min(cores, max(1, int(quota) // int(period)))
    with contextlib.suppress(OSError, ValueError, StopIteration):
        meminfo = _MEMINFO.read_text().splitlines()
        available_kib = int(next(line for line in meminfo if line.startswith("MemAvailable:")).split()[1])
        with contextlib.suppress(OSError, ValueError):
            limit = (_CGROUP / "memory.max").read_text().strip()
            used = (_CGROUP / "memory.current").read_text().strip()
            if limit != "max":
                available_kib = min(available_kib, (int(limit) - int(used)) // 1024)
        cores = min(cores, max(1, available_kib // 2**20))
    return max(1, cores)


_SET_UP: set[Callable[[], None]] = set()  # the setups this process has run
_SETTING_UP = threading.Lock()


def _run_one(config, path: str | None, code: str, device: str, setup: Callable[[], None] | None, look: bool = True,
             keep_model: bool = False):
    """What a worker runs: ``setup`` once per process (tests give workers their data this way),
    then the run, cached at ``path`` (the caller's entry; None: no cache), without a progress bar.

    A worker that would compute something else than the caller refuses: one whose training code
    differs from the caller's (``code``), or, with a cache, whose key of ``config`` (code, data,
    torch's version, device kind) is not the entry's name. Its result would be stored, or
    returned, as what it is not.
    """
    from annlib import cache, experiments

    with _SETTING_UP:
        if setup is not None and setup not in _SET_UP:
            setup()
            _SET_UP.add(setup)
    mine = cache.code_checksum()
    if mine != code or (path is not None and experiments.cache_key(config, device=device) != Path(path).stem):
        raise RuntimeError(f"this worker would compute other results than the caller: its annlib training code "
                           f"({mine}, the caller's {code}), torch ({torch.__version__}) or data differ; install the "
                           "same annlib and torch everywhere, and restart the workers after editing annlib")
    return experiments._run(config, path=Path(path) if path is not None else None,
                            device=_checks.device(device), progress=False, look=look, keep_model=keep_model)


def _estimated_cost(config) -> float:
    """A rough relative cost of running ``config``, for scheduling only: the multiply-adds of the
    training and validation passes plus a fixed overhead per optimizer step (≈ 0.15 ms on one CPU
    core, the time of about 6 million multiply-adds there)."""
    sizes = [784, *config.hidden, 10]
    weights = sum(i * o for i, o in zip(sizes[:-1], sizes[1:]))
    n_train = config.train_size or 60_000 - config.val_size
    steps = -(-n_train // config.batch_size)
    return config.epochs * (3 * n_train * weights + config.val_size * weights + 6e6 * steps)


def run_pending(todo: Mapping[Hashable, object], on_result: Callable[[Hashable, object], None], *,
                executor: concurrent.futures.Executor | None, workers: int, paths: Mapping[Hashable, Path | None],
                device: torch.device, setup: Callable[[], None] | None, label: Callable[[str], None],
                look: bool = True, keep_models: bool = False) -> None:
    """Run ``todo`` (name → config), longest first, each cached at ``paths[name]``, calling
    ``on_result(name, result)`` as each finishes (``look``: a worker first reads the entry, which
    another may have written meanwhile; False for a retrain; ``keep_models``: each stores its
    network's weights too). In ``executor`` if given (it is not shut down),
    else in a pool of ``workers`` processes of this machine. Ctrl-C, or a run that raises, cancels what has not started: the
    pool's processes are stopped at once; an executor's running tasks finish on their own."""
    own = executor is None
    if own:  # spawn, not fork: a forked copy of a process that has started torch's threads can hang
        executor = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    label(f"{workers} workers" if own else type(executor).__name__)
    futures: dict[concurrent.futures.Future, Hashable] = {}
    code = _cache.code_checksum()
    try:
        # Longest first, so that no worker is left with a long run at the end while the others idle.
        for name in sorted(todo, key=lambda name: _estimated_cost(todo[name]), reverse=True):
            path = str(paths[name]) if paths[name] is not None else None
            args = (todo[name], path, code, str(device), setup, look, keep_models)
            futures[executor.submit(_run_one, *args)] = name
        for future in concurrent.futures.as_completed(futures):
            on_result(futures[future], future.result())
    except BaseException:  # Ctrl-C or a failed run: stop the others now, not after their runs
        for future in futures:
            future.cancel()
        if own:
            for process in list((getattr(executor, "_processes", None) or {}).values()):
                process.terminate()
        raise
    finally:
        if own:
            executor.shutdown(wait=True, cancel_futures=True)


def run_all(configs: Mapping[Hashable, Experiment], *, cache: bool = True, retrain: bool = False,
            keep_models: bool = False, device: str | torch.device | None = None, progress: bool | None = None,
            workers: int | None = None, executor: concurrent.futures.Executor | None = None
            ) -> dict[Hashable, Result]:
    """Run several named configs (:class:`~annlib.experiments.Experiment`); returns name →
    :class:`~annlib.experiments.Result`, in the order given.

    Cached results are read first, then those of the book's published build
    (:mod:`annlib.published`, fetched side by side; ``retrain=True`` reads neither and trains
    every config here); the configs left are run side by side, each on one thread,
    and each result is cached as it finishes: in ``workers`` processes of this machine (default
    :func:`default_workers`; ``workers=1`` runs them one after the other in this process), or in
    ``executor``, any :class:`concurrent.futures.Executor` (a Dask client's ``get_executor()``
    reaches a cluster: see the module's docstring). On this machine the numbers are the same
    either way. A bar counts the runs. On Ctrl-C the runs not started are cancelled (a pool's workers are stopped) and
    ``KeyboardInterrupt`` is raised; the runs that finished are in the cache.

    ``keep_models=True`` stores the weights of each network it trains beside its result, so that
    :func:`~annlib.experiments.run_model` gives it back without training it again.

    Names can be any hashable, e.g. tuples ``(lr, batch_size)``; the bar shows ``str(name)``.
    No configs give an empty dict.
    """
    from annlib.experiments import Experiment, _check_flags, _lookup, _run, cache_key

    if not isinstance(configs, Mapping):
        raise TypeError(f"configs must be a mapping of names to Experiments, e.g. {{'adam': Experiment()}}, "
                        f"got {type(configs).__name__}")
    for name, config in configs.items():
        if not isinstance(config, Experiment):
            raise TypeError(f"configs[{name!r}] must be an Experiment, got {type(config).__name__} {config!r}")
    _check_flags(cache=cache, retrain=retrain, keep_models=keep_models, progress=progress)
    device = _checks.device(device) if device is not None else train.default_device()
    if workers is not None and (not _checks.is_int(workers) or workers < 1):
        raise ValueError(f"workers must be a positive integer, got {workers!r} (or None: default_workers)")
    _checks.check_type(executor, "executor", (concurrent.futures.Executor, type(None)),
                       "a concurrent.futures.Executor (e.g. a Dask client's get_executor()) or None")
    if executor is not None and workers is not None:
        raise ValueError(f"pass workers or executor, not both (got workers={workers!r} and an executor)")
    if executor is None and workers is None:
        workers = default_workers(device)
    use_cache = cache and not os.environ.get("ANNLIB_NO_CACHE")
    directory = _cache.cache_dir() if use_cache else None
    paths = {name: directory / f"{cache_key(config, device=device)}.json" if use_cache else None
             for name, config in configs.items()}
    results: dict[Hashable, Result] = {}
    if use_cache and not retrain:
        for name, config in configs.items():
            if (result := _lookup(config, paths[name], fetch=False)) is not None:
                results[name] = result
        missing = [name for name in configs if name not in results]
        with concurrent.futures.ThreadPoolExecutor(max(1, min(8, len(missing)))) as pool:  # each fetch waits on the network
            fetched = pool.map(lambda name: _lookup(configs[name], paths[name], fetch=True), missing)
            fetched = {name: result for name, result in zip(missing, fetched) if result is not None}
        results.update(fetched)
        _say_published(fetched.values(), progress)
    todo = {name: config for name, config in configs.items() if name not in results}
    bar = train._progress_bar(len(configs), progress, unit="run")
    bar.update(len(results))

    def finished(name: Hashable, result) -> None:
        results[name] = result
        if result.history.interrupted:  # Ctrl-C stops a run with its history so far; here it stops them all
            raise KeyboardInterrupt(f"run {name!r} was interrupted")
        bar.update()

    try:
        if executor is None and min(workers, len(todo)) <= 1:
            for name, config in todo.items():
                bar.set_description(str(name))
                finished(name, _run(config, path=paths[name], device=device, progress=progress, look=False,
                                    keep_model=keep_models))
        elif todo:
            run_pending(todo, finished, executor=executor, workers=min(workers or 1, len(todo)), paths=paths,
                        device=device, setup=_WORKER_SETUP, label=bar.set_description, look=not retrain,
                        keep_models=keep_models)
    finally:
        bar.close()
    return {name: results[name] for name in configs}


def _say_published(results, progress: bool | None) -> None:
    """One line, where progress is shown, for the results just fetched from the published build."""
    published = [result for result in results if result.published]
    if published and train._progress_enabled(progress):
        seconds = sum(result.history.wall_time for result in published)
        print(f"{len(published)} run{'s' * (len(published) > 1)} from the published build, trained there in "
              f"{seconds:.0f} s (run_all(..., retrain=True) trains them here)")
