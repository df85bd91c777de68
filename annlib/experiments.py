"""Experiments as data: a frozen config that fully determines an MNIST run, and a result cache.

>>> base = Experiment(optimizer="adam", lr=1e-3, epochs=5)
>>> sgd = dataclasses.replace(base, optimizer="sgd", lr=0.1)   # a variant

``run(config)`` returns a :class:`Result` (the config and its :class:`~annlib.train.History`).
Equal configs give equal results: the run is seeded, and a finished result is stored in a cache
keyed by a SHA-256 of the config's canonical JSON, :data:`RESULTS_VERSION`, annlib's source and
the data checksum. The cache lives in ``$ANNLIB_CACHE_DIR`` (default ``~/.cache/annlib/experiments``);
set ``ANNLIB_NO_CACHE=1`` or pass ``cache=False`` to bypass it.

On the CPU every experiment trains on one thread, so its numbers do not depend on how many
cores the machine has or on how many experiments run at once, and :func:`run_all` runs the
configs that are not cached side by side in worker processes, one per core (set
``ANNLIB_WORKERS`` or pass ``workers`` to choose; 1 runs them in this process).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import functools
import hashlib
import json
import logging
import math
import multiprocessing
import os
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn import functional as F

from annlib import data, models, train

__all__ = ["RESULTS_VERSION", "OPTIMIZERS", "LOSSES", "Experiment", "Result", "cache_dir", "cache_key",
           "code_checksum", "default_workers", "run", "run_all", "select", "train_model"]

log = logging.getLogger("annlib.experiments")

RESULTS_VERSION = 1  # bump when a change alters results in a way the source hash would miss
OPTIMIZERS = ("sgd", "adagrad", "rmsprop", "adam", "adamw")


def _mse_on_one_hot(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """MSE between the softmax probabilities and the one-hot target (a regression loss misused)."""
    return F.mse_loss(logits.softmax(dim=1), F.one_hot(y, logits.shape[1]).to(logits.dtype))


LOSSES = {"cross_entropy": F.cross_entropy, "mse": _mse_on_one_hot}


_is_int, _is_real = data._is_int, data._is_real  # an int that is not a bool; a finite int or float


def _valid_lr_steps(steps, epochs: int) -> bool:
    """(epoch, lr) pairs, epochs strictly increasing within [2, epochs], learning rates positive."""
    try:
        epochs_seen = [e for e, _ in steps]
        return (isinstance(steps, tuple) and epochs_seen == sorted(set(epochs_seen))
                and all(_is_int(e) and 2 <= e <= epochs and _is_real(lr) and lr > 0 for e, lr in steps))
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True, kw_only=True)
class Experiment:
    """Everything that determines one MNIST training run; every field is JSON-able.

    ``lr_steps`` is a step schedule, ``((epoch, lr), ...)``: from that epoch on the optimizer
    trains at that learning rate (``lr`` until the first step). ``max_shift`` > 0 trains every
    epoch on freshly shifted images (:func:`annlib.data.random_shift`, drawn from a generator
    seeded with ``seed``). A ``patience`` of at least ``epochs`` never stops a run early but
    restores the weights of its best epoch.
    """

    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    l1: float = 0.0
    batch_size: int = 64
    epochs: int = 5
    hidden: tuple[int, ...] = (128, 64)
    activation: str = "relu"
    dropout: float = 0.0
    loss: str = "cross_entropy"
    train_size: int | None = None
    val_size: int = 10_000
    patience: int | None = None
    lr_steps: tuple[tuple[int, float], ...] = ()
    max_shift: int = 0
    seed: int = 0

    def __new__(cls, *args, **kwargs):  # Python's own messages would not say what is valid
        fields = list(cls.__dataclass_fields__)
        if args:
            raise TypeError(f"Experiment takes its fields by keyword, e.g. Experiment(lr=0.1), got positional "
                            f"arguments {args!r}; its fields are {fields}")
        if unknown := sorted(set(kwargs) - set(fields)):
            raise TypeError(f"Experiment has no field(s) {unknown}; its fields are {fields}")
        return super().__new__(cls)

    def __post_init__(self) -> None:
        if isinstance(self.hidden, list):
            object.__setattr__(self, "hidden", tuple(self.hidden))
        with contextlib.suppress(TypeError, ValueError):  # malformed ones are reported below
            if isinstance(self.lr_steps, (list, tuple)):
                object.__setattr__(self, "lr_steps", tuple((epoch, lr) for epoch, lr in self.lr_steps))
        positive_int = lambda v: _is_int(v) and v >= 1  # noqa: E731
        name_in = lambda v, names: isinstance(v, str) and v in names  # noqa: E731
        valid = {  # field: (whether its value is valid, what would be)
            "optimizer": (name_in(self.optimizer, OPTIMIZERS), f"one of {OPTIMIZERS}"),
            "lr": (_is_real(self.lr) and self.lr > 0, "positive and finite (a float)"),
            "momentum": (_is_real(self.momentum) and 0 <= self.momentum < 1, "in [0, 1) (a float)"),
            "nesterov": (isinstance(self.nesterov, bool), "True or False"),
            "weight_decay": (_is_real(self.weight_decay) and self.weight_decay >= 0, "a non-negative finite float"),
            "l1": (_is_real(self.l1) and self.l1 >= 0, "a non-negative finite float"),
            "batch_size": (positive_int(self.batch_size), "a positive integer"),
            "epochs": (positive_int(self.epochs), "a positive integer"),
            "hidden": (isinstance(self.hidden, tuple) and all(map(positive_int, self.hidden)),
                       "a tuple of positive integers (the hidden layer widths)"),
            "activation": (name_in(self.activation, models.ACTIVATIONS), f"one of {sorted(models.ACTIVATIONS)}"),
            "dropout": (_is_real(self.dropout) and 0 <= self.dropout < 1, "in [0, 1) (a float)"),
            "loss": (name_in(self.loss, LOSSES), f"one of {sorted(LOSSES)}"),
            "train_size": (self.train_size is None or positive_int(self.train_size), "a positive integer or None"),
            "val_size": (positive_int(self.val_size), "a positive integer"),
            "patience": (self.patience is None or positive_int(self.patience), "a positive integer or None"),
            "lr_steps": (_valid_lr_steps(self.lr_steps, self.epochs),
                         "(epoch, lr) pairs with increasing epochs in [2, epochs] and lr > 0"),
            "max_shift": (_is_int(self.max_shift) and 0 <= self.max_shift < 28, "an integer in [0, 28)"),
            "seed": (_is_int(self.seed) and -2**63 <= self.seed < 2**64, "an integer in [-2**63, 2**64)"),
        }
        for name, (ok, what) in valid.items():
            if not ok:
                raise ValueError(f"{name} must be {what}, got {getattr(self, name)!r}")
        if self.nesterov and not (self.optimizer == "sgd" and self.momentum > 0):
            raise ValueError(f"nesterov needs optimizer='sgd' and momentum > 0, got optimizer={self.optimizer!r} "
                             f"and momentum={self.momentum!r}")

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no whitespace; the basis of the cache key."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True, separators=(",", ":"))

    def build_optimizer(self, params) -> torch.optim.Optimizer:
        """The torch optimizer this config names, in its fastest exact form: ``fused`` kernels
        where torch has them (SGD, Adagrad, Adam, AdamW), ``foreach`` otherwise (RMSprop).

        ``weight_decay`` is passed to each as torch defines it: added to the gradient (an L2
        penalty) for all but AdamW, which decays the weights apart from the gradient
        (w ← w − lr·λ·w, then the Adam step); torch's AdamW default λ = 0.01 is not used.
        ``params`` are what any torch optimizer takes; torch rejects an empty list itself.
        """
        common = {"lr": self.lr, "weight_decay": self.weight_decay}
        if self.optimizer == "sgd":
            return torch.optim.SGD(params, momentum=self.momentum, nesterov=self.nesterov, fused=True, **common)
        if self.optimizer == "rmsprop":
            return torch.optim.RMSprop(params, momentum=self.momentum, foreach=True, **common)
        if self.optimizer == "adagrad":
            return torch.optim.Adagrad(params, fused=True, **common)
        if self.optimizer == "adamw":
            return torch.optim.AdamW(params, fused=True, **common)
        return torch.optim.Adam(params, fused=True, **common)


@dataclass(frozen=True)
class Result:
    """A config and what running it gave; ``cached`` says whether it came from the cache."""

    config: Experiment
    history: train.History
    cached: bool = False

    def __post_init__(self) -> None:
        _check_config(self.config)
        if not isinstance(self.history, train.History):
            raise TypeError(f"history must be an annlib.train.History, got {type(self.history).__name__}")
        data._check_flag(self.cached, "cached")

    def without_test(self) -> Result:
        """The same result with the test loss and accuracy removed (see :func:`select`)."""
        return dataclasses.replace(self, history=self.history.without_test())

    def summary(self) -> dict:
        """One table row: final and best numbers of the run (accuracies in %, None where undefined)."""
        h = self.history
        best = max(range(len(h.val_acc)), key=h.val_acc.__getitem__) if h.val_acc else None
        percent = lambda v: None if v is None else 100 * v  # noqa: E731
        return {
            "epochs run": h.epochs,
            "final train loss": h.train_loss[-1] if h.train_loss and not h.diverged else None,
            "best val acc (%)": percent(h.val_acc[best]) if best is not None else None,
            "best epoch": best + 1 if best is not None else None,
            "test acc (%)": percent(h.test_acc),
            "diverged at epoch": h.diverged_epoch,
            "seconds": h.wall_time,
        }


_SELECT_BY = {"val_acc": max, "val_loss": min}


def select(results: Mapping[Hashable, Result], *, by: str = "val_acc") -> Hashable:
    """The name of the run to choose: the best validation number, never a test number.

    Each run is judged by its validation accuracy (``by="val_acc"``, highest wins) or loss
    (``by="val_loss"``, lowest wins) at the epoch whose weights it ended with: the best epoch
    early stopping restored, else its last. That is the model its test accuracy reports, so the
    test set then reports the choice once. Only ``result.without_test()`` is looked at; a
    diverged run (or a non-finite value) never wins; ties go to the first name given.
    """
    if not isinstance(results, Mapping) or not results:
        raise ValueError(f"results must be a non-empty mapping of names to Results, got {results!r}")
    for name, result in results.items():
        if not isinstance(result, Result):
            raise TypeError(f"results[{name!r}] must be a Result, got {type(result).__name__}")
    if by not in _SELECT_BY:
        raise ValueError(f"by must be one of {sorted(_SELECT_BY)}, got {by!r}")
    best = _SELECT_BY[by]
    worst = -math.inf if best is max else math.inf
    scores = {}
    for name, result in results.items():
        history = result.without_test().history
        values = getattr(history, by)
        epoch = history.best_epoch if history.best_epoch is not None else len(values)
        value = values[epoch - 1] if values and not history.diverged else worst
        scores[name] = value if math.isfinite(value) else worst
    if all(value == worst for value in scores.values()):
        raise ValueError(f"no run has a finite {by} to choose by (all diverged or none validated)")
    return best(scores, key=scores.__getitem__)


def code_checksum() -> str:
    """SHA-256 of annlib's source files: a change to the code invalidates cached results."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def cache_key(config: Experiment, *, code: str | None = None) -> str:
    """SHA-256 of the config's canonical JSON, the results version, the code and the data."""
    _check_config(config)
    if code is not None and not isinstance(code, str):
        raise TypeError(f"code must be a str (a code checksum) or None, got {code!r}")
    material = "\n".join([config.to_json(), str(RESULTS_VERSION),
                          code if code is not None else code_checksum(), data.data_checksum()])
    return hashlib.sha256(material.encode()).hexdigest()


def cache_dir() -> Path:
    """``$ANNLIB_CACHE_DIR``, else ``~/.cache/annlib/experiments`` (a ``ValueError`` if it is a file)."""
    path = Path(os.environ.get("ANNLIB_CACHE_DIR") or Path.home() / ".cache" / "annlib" / "experiments")
    if path.exists() and not path.is_dir():
        raise ValueError(f"the experiment cache {path} (ANNLIB_CACHE_DIR) is a file; it must be a directory")
    return path


def _check_config(config) -> None:
    if not isinstance(config, Experiment):
        raise TypeError(f"config must be an annlib.experiments.Experiment, got {type(config).__name__} {config!r}")


def _digest(entry: dict) -> str:
    """SHA-256 of an entry's canonical JSON, less its own ``sha256``: any changed byte shows."""
    body = {name: value for name, value in entry.items() if name != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _read_entry(path: Path, config: Experiment) -> train.History | None:
    """The cached history of ``config``, or None if the entry is missing, damaged or not its own."""
    try:
        entry = json.loads(path.read_text())
        if entry["sha256"] != _digest(entry):
            raise ValueError("its checksum does not match its contents")
        if entry["key"] != path.stem or entry["config"] != json.loads(config.to_json()):
            raise ValueError("it is the entry of another config")
        return train.History.from_dict(entry["history"])
    except FileNotFoundError:
        return None
    except Exception as error:  # corrupted or unreadable: ignore it and recompute, never trust it
        log.warning("ignoring unreadable cache entry %s (%s)", path, error)
        return None


def _write_entry(path: Path, config: Experiment, history: train.History) -> None:
    """Write the entry atomically (a temporary file, then a rename): readers see the old entry or
    the new one, never half of one, however many processes write it at once."""
    entry = {"key": path.stem, "config": json.loads(config.to_json()), "history": history.to_dict(),
             "meta": {"results_version": RESULTS_VERSION, "torch": torch.__version__,
                      "device": str(train.default_device())}}
    entry["sha256"] = _digest(entry)
    data._atomic_write(path, json.dumps(entry, indent=1).encode())


# A picklable callable each worker process calls first; None in use. Tests set it to give the
# workers the same synthetic data as the parent process.
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
    if data._device(device, must_exist=False).type != "cpu":
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


def _init_worker(setup: Callable[[], None] | None) -> None:
    os.environ["TQDM_DISABLE"] = "1"
    if setup is not None:
        setup()


def _run_in_worker(config: Experiment, cache: bool, device: str) -> Result:
    return run(config, cache=cache, device=device, progress=False)


def run_all(configs: Mapping[Hashable, Experiment], *, cache: bool = True,
            device: str | torch.device | None = None, progress: bool | None = None,
            workers: int | None = None) -> dict[Hashable, Result]:
    """Run several named configs; returns name → Result, in the order given.

    Cached results are read first; the configs left are run side by side in ``workers`` processes
    (default :func:`default_workers`), each on one thread, and each result is cached as it
    finishes. ``workers=1`` runs them one after the other in this process; the numbers are the
    same either way. A bar counts the runs. On Ctrl-C the workers are stopped and
    ``KeyboardInterrupt`` is raised; the runs that finished are in the cache.

    Names can be any hashable, e.g. tuples ``(lr, batch_size)``; the bar shows ``str(name)``.
    No configs give an empty dict.
    """
    if not isinstance(configs, Mapping):
        raise TypeError(f"configs must be a mapping of names to Experiments, e.g. {{'adam': Experiment()}}, "
                        f"got {type(configs).__name__}")
    for name, config in configs.items():
        if not isinstance(config, Experiment):
            raise TypeError(f"configs[{name!r}] must be an Experiment, got {type(config).__name__} {config!r}")
    _check_flags(cache=cache, progress=progress)
    device = data._device(device) if device is not None else train.default_device()
    if workers is not None and (not _is_int(workers) or workers < 1):
        raise ValueError(f"workers must be a positive integer, got {workers!r} (or None: default_workers)")
    workers = default_workers(device) if workers is None else workers
    use_cache = cache and not os.environ.get("ANNLIB_NO_CACHE")
    results: dict[Hashable, Result] = {}
    for name, config in configs.items():
        if use_cache and (history := _read_entry(cache_dir() / f"{cache_key(config)}.json", config)) is not None:
            results[name] = Result(config, history, cached=True)
    todo = {name: config for name, config in configs.items() if name not in results}
    bar = train._progress_bar(len(configs), progress, unit="run")
    bar.update(len(results))
    try:
        if min(workers, len(todo)) <= 1:
            for name, config in todo.items():
                bar.set_description(str(name))
                results[name] = run(config, cache=cache, device=device, progress=progress)
                _stop_if_interrupted(results[name], name)
                bar.update()
        else:
            _run_in_pool(todo, results, bar, workers=min(workers, len(todo)), cache=cache, device=device)
    finally:
        bar.close()
    return {name: results[name] for name in configs}


def _stop_if_interrupted(result: Result, name: Hashable) -> None:
    """Ctrl-C stops a run with its history so far (``train.fit``); in run_all it stops them all."""
    if result.history.interrupted:
        raise KeyboardInterrupt(f"run {name!r} was interrupted")


def _check_flags(**flags) -> None:
    """Each flag is True or False; ``progress`` may also be None (decide from the environment)."""
    for name, value in flags.items():
        if not (isinstance(value, bool) or (name == "progress" and value is None)):
            raise TypeError(f"{name} must be True or False{' or None' if name == 'progress' else ''}, got {value!r}")


def _estimated_cost(config: Experiment) -> float:
    """A rough relative cost of running ``config``, for scheduling only: the multiply-adds of the
    training and validation passes plus a fixed overhead per optimizer step (≈ 0.15 ms on one CPU
    core, the time of about 6 million multiply-adds there)."""
    sizes = [784, *config.hidden, 10]
    weights = sum(i * o for i, o in zip(sizes[:-1], sizes[1:]))
    n_train = config.train_size or 60_000 - config.val_size
    steps = -(-n_train // config.batch_size)
    return config.epochs * (3 * n_train * weights + config.val_size * weights + 6e6 * steps)


def _run_in_pool(todo, results, bar, *, workers: int, cache: bool, device: torch.device) -> None:
    # spawn, not fork: a forked copy of a process that has started torch's threads can hang.
    pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                                  initializer=_init_worker, initargs=(_WORKER_SETUP,))
    try:
        # Longest first, so that no worker is left with a long run at the end while the others idle.
        order = sorted(todo, key=lambda name: _estimated_cost(todo[name]), reverse=True)
        futures = {pool.submit(_run_in_worker, todo[name], cache, str(device)): name for name in order}
        bar.set_description(f"{workers} workers")
        for future in concurrent.futures.as_completed(futures):
            results[futures[future]] = future.result()
            _stop_if_interrupted(results[futures[future]], futures[future])
            bar.update()
    except BaseException:  # Ctrl-C or a failed run: stop the others now, not after their runs
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _one_thread(device: torch.device):
    """Train on one CPU thread: the same arithmetic whatever the core count (no-op on a GPU)."""
    if device.type != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def train_model(config: Experiment, *, validate: bool = True, device: str | torch.device | None = None,
                progress: bool | None = None) -> tuple[torch.nn.Module, train.History]:
    """Train ``config`` from scratch, without the cache, and return the model with its history.

    This is the computation behind :func:`run`, which keeps only the history. ``validate=False``
    skips the validation pass after each epoch: faster, and the training computation is the same
    (early stopping needs the validation loss, so a config with ``patience`` then raises).
    On the CPU it trains on one thread (see the module's docstring).
    """
    _check_config(config)
    _check_flags(validate=validate, progress=progress)
    device = data._device(device) if device is not None else train.default_device()
    splits = data.mnist_splits(val_size=config.val_size, train_size=config.train_size,
                               seed=config.seed, device=device)
    augment = None
    if config.max_shift:
        augment = functools.partial(data.random_shift, max_shift=config.max_shift,
                                    generator=torch.Generator().manual_seed(config.seed))
    with _one_thread(device):
        torch.manual_seed(config.seed)
        model = models.mlp([784, *config.hidden, 10], activation=config.activation, dropout=config.dropout)
        history = train.fit(model, config.build_optimizer(model.parameters()), splits.train,
                            val_data=splits.val if validate else None, test_data=splits.test,
                            epochs=config.epochs, batch_size=config.batch_size, loss_fn=LOSSES[config.loss],
                            l1=config.l1, patience=config.patience, lr_steps=dict(config.lr_steps),
                            augment=augment, seed=config.seed, device=device, progress=progress)
    return model, history


def run(config: Experiment, *, cache: bool = True, device: str | torch.device | None = None,
        progress: bool | None = None) -> Result:
    """Run ``config`` on MNIST (or fetch its result from the cache) and return the result.

    An interrupted run (Ctrl-C) is returned but not cached. A damaged cache entry is ignored and
    rewritten; a cache that cannot be written (a full disk) gives a warning, and the result.
    """
    _check_config(config)
    _check_flags(cache=cache, progress=progress)
    use_cache = cache and not os.environ.get("ANNLIB_NO_CACHE")
    path = cache_dir() / f"{cache_key(config)}.json" if use_cache else None
    if use_cache and (history := _read_entry(path, config)) is not None:
        return Result(config, history, cached=True)
    _, history = train_model(config, device=device, progress=progress)
    if use_cache and not history.interrupted:
        try:
            _write_entry(path, config, history)
        except OSError as error:
            log.warning("could not cache the result in %s (%s); returning it uncached", path, error)
    return Result(config, history)
