"""Experiments as data: a frozen config that fully determines a training run, and its result.

A run trains on MNIST (``data="mnist"``, the default) or learns the subgrid term of the
Lorenz-96 model from the climate chapter's truth (``data="l96-local"``, ``"l96-neighbours"``,
``"l96-all"``: what the network sees of X, see :mod:`annlib.subgrid`).

>>> base = Experiment(optimizer="adam", lr=1e-3, epochs=5)
>>> sgd = dataclasses.replace(base, optimizer="sgd", lr=0.1)   # a variant

``run(config)`` returns a :class:`Result` (the config and its :class:`~annlib.train.History`).
Equal configs give equal results: the run is seeded, and a finished result is kept in the cache
of :mod:`annlib.cache`, keyed by the config, the data, the code training executes (so an edit
that changes no computation reruns nothing), torch's version and the kind of device. The cache
lives in ``$ANNLIB_CACHE_DIR`` (default ``~/.cache/annlib/experiments``); set
``ANNLIB_NO_CACHE=1`` or pass ``cache=False`` to bypass it.

On the CPU every experiment trains on one thread, so its numbers do not depend on how many
cores the machine has or on how many experiments run at once, and :func:`run_all` runs the
configs that are not cached side by side (:mod:`annlib.sweep`): in worker processes, one per
core (set ``ANNLIB_WORKERS`` or pass ``workers``; 1 runs them in this process), or in any
``concurrent.futures.Executor`` you pass, such as a Dask cluster's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import logging
import math
import os
import threading
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn import functional as F

from annlib import _checks, cache as _cache, data, models, subgrid, train
from annlib.cache import RESULTS_VERSION, cache_dir, code_checksum
from annlib.published import fetch_entry, fetch_weights
from annlib.sweep import default_workers, run_all

__all__ = ["RESULTS_VERSION", "OPTIMIZERS", "LOSSES", "DATASETS", "Experiment", "Result", "build_model", "cache_dir",
           "cache_key", "code_checksum", "default_workers", "run", "run_all", "run_model", "select", "train_model"]

log = logging.getLogger("annlib.experiments")

OPTIMIZERS = ("sgd", "adagrad", "rmsprop", "adam", "adamw")
_TAKE_MOMENTUM = ("sgd", "rmsprop")  # the optimizers build_optimizer passes momentum to


def _mse_on_one_hot(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """MSE between the softmax probabilities and the one-hot target (a regression loss misused)."""
    return F.mse_loss(logits.softmax(dim=1), F.one_hot(y, logits.shape[1]).to(logits.dtype))


LOSSES = {"cross_entropy": F.cross_entropy, "mse": _mse_on_one_hot}  # on MNIST; on Lorenz-96 "mse" is F.mse_loss
DATASETS = ("mnist", *(f"l96-{inputs}" for inputs in subgrid.INPUTS))


_is_int, _is_real = _checks.is_int, _checks.is_real  # an integer that is not a bool; a finite real number
_NUMBERS = ("lr", "momentum", "weight_decay", "l1", "dropout", "batch_size", "epochs", "train_size", "val_size",
            "patience", "max_shift", "seed")  # the fields that hold one number (or None)


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
    """Everything that determines one training run; every field is JSON-able.

    ``data`` names the data set (:data:`DATASETS`). On the Lorenz-96 data (``"l96-..."``) the
    network maps what it sees of X to U (a regression: ``loss="mse"`` is required, and it is
    F.mse_loss on U), its validation and test sets are the truth's own trajectories, and the
    MNIST-only fields ``train_size``, ``val_size`` and ``max_shift`` must keep their defaults.

    ``lr_steps`` is a step schedule, ``((epoch, lr), ...)``: from that epoch on the optimizer
    trains at that learning rate (``lr`` until the first step). ``max_shift`` > 0 trains every
    epoch on freshly shifted images (:func:`annlib.data.random_shift`, drawn from a generator
    seeded with ``seed``). A ``patience`` of at least ``epochs`` never stops a run early but
    restores the weights of its best epoch. ``momentum`` is for ``"sgd"`` and ``"rmsprop"``, the
    optimizers that take one; with any other a momentum > 0 would be ignored, so it is an error.

    Numbers may be Python's or NumPy's (``numpy.int64``, ``numpy.float32``, ...; never a bool), and
    are stored as the Python number they stand for, so that equal numbers give equal configs, JSON
    and cache keys: integers as ``int``; a ``numpy.float32`` (or ``float16``) as the float of its
    shortest decimal form, the number that was typed (``numpy.float32(1e-3)`` is stored as
    ``0.001``, not as ``float(numpy.float32(1e-3))`` = 0.0010000000474974513); a ``numpy.float64``
    and any other real number as ``float(value)``, exactly. A Python ``int`` in a float field
    stays an ``int`` (``lr=1`` is not ``lr=1.0``: their JSON differs).
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
    data: str = "mnist"

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
            "data": (name_in(self.data, DATASETS), f"one of {DATASETS}"),
        }
        for name, (ok, what) in valid.items():
            if not ok:
                raise ValueError(f"{name} must be {what}, got {getattr(self, name)!r}")
        if self.data != "mnist":
            if self.loss != "mse":
                raise ValueError(f"data={self.data!r} is a regression of U on X: set loss='mse' (the mean squared "
                                 f"error of U), got loss={self.loss!r}")
            for name, default in (("train_size", None), ("val_size", 10_000), ("max_shift", 0)):
                if getattr(self, name) != default:
                    raise ValueError(f"{name}={getattr(self, name)!r} would do nothing on data={self.data!r}: it is "
                                     f"MNIST's; the Lorenz-96 sets are the truth's trajectories (annlib.subgrid.SPLIT)")
        if self.nesterov and not (self.optimizer == "sgd" and self.momentum > 0):
            raise ValueError(f"nesterov needs optimizer='sgd' and momentum > 0, got optimizer={self.optimizer!r} "
                             f"and momentum={self.momentum!r}")
        if self.dropout > 0 and not self.hidden:
            raise ValueError(f"dropout={self.dropout!r} would do nothing: dropout follows the hidden layers, and "
                             f"hidden=() has none; add a hidden layer or set dropout=0")
        if self.momentum > 0 and self.optimizer not in _TAKE_MOMENTUM:
            adam = " (Adam's β₁ = 0.9, torch's default, already averages the gradients)" \
                if self.optimizer in ("adam", "adamw") else ""
            raise ValueError(f"momentum={self.momentum!r} would be ignored: optimizer={self.optimizer!r} takes no "
                             f"momentum, only {' and '.join(map(repr, _TAKE_MOMENTUM))} do{adam}; set momentum=0, or "
                             "choose one of those")
        for name in _NUMBERS:  # the Python number each stands for: np.float32(1e-3) is 0.001
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _checks.as_number(getattr(self, name)))
        object.__setattr__(self, "hidden", tuple(int(width) for width in self.hidden))
        object.__setattr__(self, "lr_steps", tuple((int(epoch), _checks.as_number(lr)) for epoch, lr in self.lr_steps))

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


@dataclass(frozen=True, repr=False)
class Result:
    """A config and what running it gave; ``cached`` says whether it came from the cache, and
    ``published`` whether from the book's own build (:mod:`annlib.published`); ``origin`` says it
    in words."""

    config: Experiment
    history: train.History
    cached: bool = False
    published: bool = False

    def __post_init__(self) -> None:
        _check_config(self.config)
        _checks.check_type(self.history, "history", train.History, "an annlib.train.History")
        _checks.check_flag(self.cached, "cached")
        _checks.check_flag(self.published, "published")
        if self.published and not self.cached:
            raise ValueError("a published result is a cached one: published=True needs cached=True")

    @property
    def origin(self) -> str:
        """Where the result came from: "from the published build, trained in 41 s", "from the
        cache, trained in 41 s" or "trained here in 41 s"."""
        seconds = f"trained in {self.history.wall_time:.0f} s"
        if self.published:
            return f"from the published build, {seconds}"
        return f"from the cache, {seconds}" if self.cached else f"{seconds.replace('trained', 'trained here')}"

    def __repr__(self) -> str:
        return f"Result({self.config!r}, {self.origin})"

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


def cache_key(config: Experiment, *, code: str | None = None, device: str | torch.device | None = None) -> str:
    """SHA-256 of what determines a result: the config's canonical JSON, :data:`RESULTS_VERSION`,
    the training code (``code``, default :func:`annlib.cache.code_checksum`: the code this process
    runs), the data, torch's version and the kind of device (``device``, default
    :func:`annlib.train.default_device`): a GPU rounds differently from a CPU."""
    _check_config(config)
    if code is not None and not isinstance(code, str):
        raise TypeError(f"code must be a str (a code checksum) or None, got {code!r}")
    device = _checks.device(device, must_exist=False) if device is not None else train.default_device()
    data_sum = data.data_checksum() if config.data == "mnist" else "generated by annlib.subgrid"  # its code is in code
    material = "\n".join([config.to_json(), str(RESULTS_VERSION), code if code is not None else code_checksum(),
                          data_sum, f"torch {torch.__version__}", f"device {device.type}"])
    return hashlib.sha256(material.encode()).hexdigest()


def _check_config(config) -> None:
    if not isinstance(config, Experiment):
        raise TypeError(f"config must be an annlib.experiments.Experiment, got {type(config).__name__} {config!r}")


def _check_flags(**flags) -> None:
    """Each flag is True or False; ``progress`` may also be None (decide from the environment)."""
    for name, value in flags.items():
        _checks.check_flag(value, name, none=name == "progress")


_TRAINING = threading.Lock()
if hasattr(os, "register_at_fork"):  # a forked child must not inherit the lock held by another thread
    os.register_at_fork(after_in_child=lambda: globals().__setitem__("_TRAINING", threading.Lock()))


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


def build_model(config: Experiment) -> torch.nn.Module:
    """The untrained network ``config`` describes (weights drawn from torch's global generator)."""
    _check_config(config)
    n_in, n_out = (784, 10) if config.data == "mnist" else subgrid.INPUTS[config.data.removeprefix("l96-")]
    return models.mlp([n_in, *config.hidden, n_out], activation=config.activation, dropout=config.dropout)


def _l96_fit_options(config: Experiment, device: torch.device) -> dict:
    splits = subgrid.load(config.data.removeprefix("l96-"), device=device).splits
    return dict(train_data=splits.train, val=splits.val, test_data=splits.test, loss_fn=F.mse_loss, augment=None,
                metrics={"r2": train.r2_score})


def _mnist_fit_options(config: Experiment, device: torch.device) -> dict:
    splits = data.mnist_splits(val_size=config.val_size, train_size=config.train_size, seed=config.seed, device=device)
    augment = None
    if config.max_shift:
        augment = functools.partial(data.random_shift, max_shift=config.max_shift,
                                    generator=torch.Generator().manual_seed(config.seed))
    return dict(train_data=splits.train, val=splits.val, test_data=splits.test, loss_fn=LOSSES[config.loss],
                augment=augment, metrics=None)


def train_model(config: Experiment, *, validate: bool = True, device: str | torch.device | None = None,
                progress: bool | None = None) -> tuple[torch.nn.Module, train.History]:
    """Train ``config`` from scratch, without the cache, and return the model with its history.

    This is the computation behind :func:`run`, which keeps only the history. ``validate=False``
    skips the validation pass after each epoch: faster, and the training computation is the same
    (early stopping needs the validation loss, so a config with ``patience`` then raises).
    On the CPU it trains on one thread (see the module's docstring). Runs started at once in one
    process (threads, or a thread-based executor) train one after the other: torch's seed and
    thread count are the process's, and sharing them would change the numbers. A Lorenz-96 run
    records R² (``history.val_metrics["r2"]``, ``test_metrics["r2"]``).
    """
    _check_config(config)
    _check_flags(validate=validate, progress=progress)
    device = _checks.device(device) if device is not None else train.default_device()
    options = (_mnist_fit_options if config.data == "mnist" else _l96_fit_options)(config, device)
    val = options.pop("val")
    with _TRAINING, _one_thread(device):   # one run at a time in a process: seed and threads are global
        torch.manual_seed(config.seed)
        model = build_model(config)
        history = train.fit(model, config.build_optimizer(model.parameters()), val_data=val if validate else None,
                            epochs=config.epochs, batch_size=config.batch_size, l1=config.l1,
                            patience=config.patience, lr_steps=dict(config.lr_steps), seed=config.seed,
                            device=device, progress=progress, **options)
    return model, history


def run(config: Experiment, *, cache: bool = True, retrain: bool = False, device: str | torch.device | None = None,
        progress: bool | None = None) -> Result:
    """Run ``config`` and return the result: from the local cache, else from the book's published
    build (:mod:`annlib.published`), else trained here.

    ``retrain=True`` trains here whatever the caches hold, and stores that result; ``cache=False``
    (or ``ANNLIB_NO_CACHE=1``) trains without reading or writing any cache. An interrupted run
    (Ctrl-C) is returned but not cached. A damaged cache entry is ignored and rewritten; a cache
    that cannot be written (a full disk) gives a warning, and the result. ``device`` must exist
    here even for a cached result: the kind of device is part of its key.
    """
    _check_config(config)
    _check_flags(cache=cache, retrain=retrain, progress=progress)
    device = _checks.device(device) if device is not None else train.default_device()
    use_cache = cache and not os.environ.get("ANNLIB_NO_CACHE")
    path = cache_dir() / f"{cache_key(config, device=device)}.json" if use_cache else None
    if path is not None and not retrain:
        if (result := _lookup(config, path, fetch=False)) is not None:
            return result
        if (result := _lookup(config, path, fetch=True)) is not None:   # fetched now: say so, once
            if train._progress_enabled(progress):
                print(f"{result.origin} (run(..., retrain=True) trains it here)")
            return result
    return _run(config, path=path, device=device, progress=progress, look=False)


def _lookup(config: Experiment, path: Path, *, fetch: bool) -> Result | None:
    """The result of ``config`` in the local cache entry ``path``, else (with ``fetch``) the
    published one, stored there first; None if neither has it."""
    loaded = _cache.load_entry(path, config.to_json())
    if loaded is None and fetch and fetch_entry(path, config.to_json()):
        loaded = _cache.load_entry(path, config.to_json())
    if loaded is None:
        return None
    history, meta = loaded
    return Result(config, history, cached=True, published="published" in meta)


def _run(config: Experiment, *, path: Path | None, device: torch.device, progress: bool | None,
         look: bool = True, keep_model: bool = False) -> Result:
    """:func:`run` with its cache entry at ``path`` (None: no cache), as a worker runs it: the
    local entry if ``look`` finds one, else trained and stored, with the network's weights
    beside it if ``keep_model`` or the run is a Lorenz-96 one (small networks that the climate
    chapter couples into the model)."""
    if path is not None and look and (result := _lookup(config, path, fetch=False)) is not None:
        return result
    return _train_and_store(config, path=path, device=device, progress=progress, keep_model=keep_model)[1]


def _train_and_store(config: Experiment, *, path: Path | None, device: torch.device, progress: bool | None,
                     keep_model: bool) -> tuple[torch.nn.Module, Result]:
    model, history = train_model(config, device=device, progress=progress)
    if path is not None and not history.interrupted:
        try:
            if keep_model or config.data != "mnist":
                _cache.write_weights(path.with_suffix(_cache.WEIGHTS_SUFFIX), config.to_json(), model.state_dict())
            _cache.write_entry(path, config.to_json(), history, device=str(device))
        except OSError as error:
            log.warning("could not cache the result in %s (%s); returning it uncached", path, error)
    return model, Result(config, history)


def run_model(config: Experiment, *, cache: bool = True, retrain: bool = False,
              device: str | torch.device | None = None, progress: bool | None = None
              ) -> tuple[torch.nn.Module, Result]:
    """:func:`run`, and the trained network with it (in eval mode, on the CPU).

    The cache keeps the network's weights beside the history (``<key>.weights``, JSON), so a
    cached run costs no training; the published build's weights are fetched like its results.
    The network and the result always belong together: a run whose weights are missing or
    damaged is trained here again, and its history, with the weights, replaces the stored one (on
    the same kind of CPU the same numbers; a published history whose weights could not be fetched
    is replaced by this machine's). ``retrain`` and ``cache`` as in :func:`run`.
    """
    _check_config(config)
    _check_flags(cache=cache, retrain=retrain, progress=progress)
    device = _checks.device(device) if device is not None else train.default_device()
    if not cache or os.environ.get("ANNLIB_NO_CACHE"):
        model, history = train_model(config, device=device, progress=progress)
        return model.cpu().eval(), Result(config, history)
    path = cache_dir() / f"{cache_key(config, device=device)}.json"
    weights = path.with_suffix(_cache.WEIGHTS_SUFFIX)
    result = None if retrain else _lookup(config, path, fetch=True)
    if result is not None:
        state, fetched = _cache.read_weights(weights, config.to_json()), False
        if state is None and result.published and fetch_weights(weights, config.to_json()):
            state, fetched = _cache.read_weights(weights, config.to_json()), True
        if state is not None:
            model = build_model(config)
            model.load_state_dict(state)
            if fetched and train._progress_enabled(progress):
                print(f"{result.origin}, with its weights (run_model(..., retrain=True) trains it here)")
            return model.eval(), result
    model, trained = _train_and_store(config, path=path, device=device, progress=progress, keep_model=True)
    return model.cpu().eval(), trained
