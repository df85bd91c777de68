"""Training: ``fit`` a model with minibatch gradient descent and ``evaluate`` it.

``fit`` is a plain function that returns a :class:`History`: no callbacks, no prints. It trains
on tensors already in memory (see :class:`annlib.data.Batches`), which is several times faster
on a CPU than a ``DataLoader`` over a ``Dataset`` of images.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from annlib import _checks, _fitcheck
from annlib.data import Batches

__all__ = ["History", "default_device", "evaluate", "fit", "l1_penalty", "r2_score"]

Pair = tuple[torch.Tensor, torch.Tensor]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Metrics = Mapping[str, Callable[[torch.Tensor, torch.Tensor], "torch.Tensor | float"]]


@dataclass
class History:
    """What happened in a run, one entry per completed epoch.

    ``diverged_epoch`` is the epoch whose training or validation loss became NaN or infinite
    (the run stopped there, and that epoch's NaN or infinite loss is recorded);
    ``best_epoch`` is the epoch whose weights early stopping restored; ``interrupted`` is set
    when the run was stopped with Ctrl-C. Accuracies are fractions in [0, 1], recorded when the
    labels are integer class indices; with real-valued targets (regression) the accuracy lists
    stay empty and ``test_acc`` None. ``val_metrics`` and ``test_metrics`` hold the values of the
    ``metrics`` ``fit`` was given, by name: a list per epoch on the validation data, one number on
    the test data.
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    test_loss: float | None = None
    test_acc: float | None = None
    val_metrics: dict[str, list[float]] = field(default_factory=dict)
    test_metrics: dict[str, float] = field(default_factory=dict)
    diverged_epoch: int | None = None
    best_epoch: int | None = None
    interrupted: bool = False

    @property
    def diverged(self) -> bool:
        return self.diverged_epoch is not None

    @property
    def epochs(self) -> int:
        """Number of epochs run (a diverged epoch counts)."""
        return len(self.train_loss)

    @property
    def wall_time(self) -> float:
        return sum(self.epoch_time)

    def without_test(self) -> History:
        """A copy without ``test_loss``, ``test_acc`` and ``test_metrics``: what a choice may look at."""
        return dataclasses.replace(self, test_loss=None, test_acc=None, test_metrics={})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> History:
        fields = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(d, Mapping) or set(d) - fields:
            unknown = sorted(set(d) - fields) if isinstance(d, Mapping) else type(d).__name__
            raise ValueError(f"not a History: unknown {unknown}; the fields are {sorted(fields)}")
        return cls(**d)


def _progress_bar(total: int, progress: bool | None, *, unit: str = "batch"):
    """A tqdm bar: a widget in a notebook with ipywidgets, text otherwise."""
    try:
        import ipywidgets  # noqa: F401  (without it tqdm.auto warns in notebooks)
        from tqdm.auto import tqdm
    except ImportError:
        from tqdm import tqdm
    return tqdm(total=total, unit=unit, leave=False, disable=not _progress_enabled(progress))


def _progress_enabled(progress: bool | None) -> bool:
    """``progress``, or when None whether ``TQDM_DISABLE`` leaves progress bars on (tqdm.notebook
    ignores it and would embed a widget anyway)."""
    if progress is None:
        return os.environ.get("TQDM_DISABLE", "").lower() not in ("1", "true", "yes")
    return progress


def default_device() -> torch.device:
    """CUDA when a GPU is present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def l1_penalty(model: nn.Module) -> torch.Tensor:
    """Σ|w| over the weight matrices (biases are not penalized); a zero tensor if there are none."""
    _checks.check_type(model, "model", nn.Module, "a torch.nn.Module")
    weights = [p for p in model.parameters() if p.dim() > 1]
    if not weights:
        return torch.zeros(())
    return sum(w.abs().sum() for w in weights)


def r2_score(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Coefficient of determination R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)², per output, averaged over outputs.

    ``outputs`` and ``targets`` have the same shape, (N,) or (N, ...) for N >= 2 samples; each
    output (each of the D values per sample) gets its own R² against its own mean over the N
    samples, and the mean of the D values is returned, as scikit-learn's ``r2_score`` with its
    default ``multioutput="uniform_average"``. 1 is a perfect fit; 0 is no better than predicting
    each output's mean; below 0 is worse. An output whose targets are all equal has no defined R²
    and makes the result NaN (where scikit-learn's ``force_finite`` would report 1 or 0 instead).
    """
    _checks.check_tensor(outputs, "outputs", "floating")
    _checks.check_tensor(targets, "targets", "floating")
    if outputs.shape != targets.shape or outputs.dim() == 0 or len(outputs) < 2:
        raise ValueError(f"outputs and targets must have the same shape, (N, ...) with N >= 2 samples, got "
                         f"{tuple(outputs.shape)} and {tuple(targets.shape)}")
    y, y_hat = targets.reshape(len(targets), -1), outputs.reshape(len(outputs), -1)
    residual = ((y - y_hat) ** 2).sum(dim=0)
    total = ((y - y.mean(dim=0)) ** 2).sum(dim=0)
    return (1 - residual / total.where(total > 0, torch.nan)).mean()


def _check_loss_fn(loss_fn) -> None:
    if isinstance(loss_fn, type) and issubclass(loss_fn, nn.Module):
        raise TypeError(f"loss_fn is the class {loss_fn.__name__}, not a loss: pass an instance, "
                        f"{loss_fn.__name__}(), or a function such as F.cross_entropy")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {loss_fn!r}")


def _check_metrics(metrics) -> dict:
    if metrics is None:
        return {}
    if not isinstance(metrics, Mapping) or not all(isinstance(k, str) and callable(v) for k, v in metrics.items()):
        raise TypeError(f"metrics must be a dict of names to functions metric(outputs, targets), e.g. "
                        f"{{'r2': train.r2_score}}, got {metrics!r:.80}")
    return dict(metrics)


def evaluate(model: nn.Module, data: Pair, *, loss_fn: LossFn = F.cross_entropy,
             batch_size: int = 10_000, metrics: Metrics | None = None):
    """Mean loss and accuracy of ``model`` on ``data = (x, y)``, in eval mode, without gradients.

    Returns ``(loss, accuracy)``; the accuracy is None when ``y`` holds real numbers (regression)
    rather than integer class indices. With ``metrics``, a dict of ``name: metric(outputs, y)``
    computed once on the whole set's outputs (e.g. ``{"r2": train.r2_score}``), it returns
    ``(loss, accuracy, {name: value})``. The data are checked against the model first (see
    :func:`fit`).
    """
    _checks.check_type(model, "model", nn.Module, "a torch.nn.Module")
    _checks.check_pair(data, "data", nonempty=True, finite=True)
    batch_size = _checks.check_positive_int(batch_size, "batch_size")
    _check_loss_fn(loss_fn)
    metrics = _check_metrics(metrics)
    device = next(model.parameters(), torch.empty(0)).device
    kind = _fitcheck.check_data(model, data, "data", loss_fn=loss_fn, rows=min(batch_size, 64), device=device,
                                metrics=metrics)
    loss, accuracy, scores = _evaluate(model, data, loss_fn=loss_fn, batch_size=batch_size,
                                       classes=kind == _fitcheck.CLASSES, metrics=metrics)
    return (loss, accuracy, scores) if metrics else (loss, accuracy)


@torch.no_grad()
def _evaluate(model: nn.Module, data: Pair, *, loss_fn: LossFn, batch_size: int = 10_000, classes: bool = True,
              metrics: Metrics | None = None) -> tuple[float, float | None, dict[str, float]]:
    """:func:`evaluate` without its checks, for data already checked (``fit``'s, every epoch).
    ``classes``: the labels are class indices, and the accuracy is counted (over the labels the
    loss does not ignore); otherwise it is None."""
    x, y = data
    device = next(model.parameters(), torch.empty(0)).device  # a model without parameters: the CPU
    ignore = _fitcheck.ignored_label(loss_fn)
    was_training = model.training
    model.eval()
    loss_sum, correct, counted, outputs = 0.0, 0, 0, []
    try:
        for i in range(0, len(x), batch_size):
            xb, yb = x[i:i + batch_size].to(device), y[i:i + batch_size].to(device)
            logits = model(xb)
            loss_sum += loss_fn(logits, yb).item() * len(xb)
            if classes:
                hits, labels = _hits(logits.argmax(dim=1), yb, ignore)
                correct, counted = correct + hits, counted + labels
            if metrics:
                outputs.append(logits)
    finally:  # even when the loop raises, the model leaves in the mode it came in
        model.train(was_training)
    scores = {name: float(metric(torch.cat(outputs), y.to(device))) for name, metric in (metrics or {}).items()}
    return loss_sum / len(x), _fraction(correct, counted) if classes else None, scores


def _hits(predictions: torch.Tensor, labels: torch.Tensor, ignore: int) -> tuple[int, int]:
    """(correct predictions, labels counted), over the labels the loss does not ignore."""
    kept = labels != ignore
    return ((predictions == labels) & kept).sum().item(), kept.sum().item()


def _fraction(part: int, whole: int) -> float:
    """part / whole; NaN when there is nothing to count (every label ignored)."""
    return part / whole if whole else math.nan


def fit(model: nn.Module, optimizer: torch.optim.Optimizer, train_data: Pair, *, epochs: int,
        batch_size: int = 64, val_data: Pair | None = None, test_data: Pair | None = None,
        loss_fn: LossFn = F.cross_entropy, l1: float = 0.0, patience: int | None = None,
        lr_steps: Mapping[int, float] | None = None,
        augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
        seed: int = 0, device: str | torch.device | None = None,
        progress: bool | None = None, metrics: Metrics | None = None) -> History:
    """Train ``model`` with ``optimizer`` on ``train_data = (x, y)`` for ``epochs`` epochs.

    Parameters
    ----------
    train_data, val_data, test_data
        Pairs ``(x, y)`` of tensors with one row per sample. ``y`` holds either integer class
        indices (int64, in [0, number of outputs)): classification, the accuracy is recorded; or
        real numbers shaped like the model's outputs: regression (pass a regression
        ``loss_fn`` such as ``F.mse_loss``), no accuracy. Before the first step, one forward
        pass on the first rows of each set (eval mode, no gradient) checks that the model takes
        the inputs and that the targets match its outputs and ``loss_fn``; a mismatch raises
        with the argument, what was found and the fix, before any training.
    loss_fn
        ``loss_fn(logits, y)``; cross-entropy by default.
    l1
        Weight λ of an L1 penalty λ·Σ|w| added to the loss (the reported loss excludes it).
    patience
        Early stopping: stop when the validation loss has not improved for this many epochs,
        and restore the weights of the best epoch. Needs ``val_data``. A patience of at least
        ``epochs`` never stops the run but still restores the best epoch.
    lr_steps
        A step schedule ``{epoch: lr}``: from the start of that epoch on (epochs count from 1),
        every parameter group of ``optimizer`` trains at ``lr``, as ``torch.optim.lr_scheduler``
        would set it.
    augment
        ``augment(x)`` is called on the training inputs at the start of every epoch, and the
        epoch trains on what it returns (same length; the labels are kept), e.g.
        :func:`annlib.data.random_shift`.
    seed
        Seeds the shuffling of the minibatches. Weight initialization and dropout use torch's
        global generator: call ``torch.manual_seed`` before building the model.
    device
        Where to train; ``None`` picks CUDA when present. The model and data are moved there.
    progress
        Show a progress bar; ``None`` shows one unless ``TQDM_DISABLE=1`` (which
        the book build does).
    metrics
        ``{name: metric(outputs, y)}``, each computed on the whole validation set after every
        epoch and on the test set at the end, e.g. ``{"r2": train.r2_score}`` for regression.

    Returns
    -------
    History
        Per-epoch losses and accuracies (and metrics), test loss and accuracy if ``test_data``
        is given.
        A NaN or infinite training loss stops the run, and Ctrl-C interrupts it: both return
        the history so far (``diverged_epoch``, ``interrupted``) instead of raising.
    """
    _checks.check_type(model, "model", nn.Module, "a torch.nn.Module")
    _checks.check_type(optimizer, "optimizer", torch.optim.Optimizer, "a torch.optim.Optimizer")
    _fitcheck.check_optimizer(model, optimizer)
    epochs = _checks.check_positive_int(epochs, "epochs")
    batch_size = _checks.check_positive_int(batch_size, "batch_size")
    _checks.check_pair(train_data, "train_data", nonempty=True, finite=True)
    for name, pair in (("val_data", val_data), ("test_data", test_data)):
        if pair is not None:
            _checks.check_pair(pair, name, nonempty=True, finite=True)
    if patience is not None:
        patience = _checks.check_positive_int(patience, "patience")
        if val_data is None:
            raise ValueError(f"early stopping (patience={patience!r}) needs val_data")
    if not _checks.is_real(l1) or l1 < 0:
        raise ValueError(f"l1 must be a finite number >= 0, got {l1!r}")
    l1 = _checks.as_number(l1)
    _check_loss_fn(loss_fn)
    if augment is not None and not callable(augment):
        raise TypeError(f"augment must be callable, got {augment!r}")
    steps = dict(lr_steps or {})
    for step_epoch, lr in steps.items():
        if not _checks.is_int(step_epoch) or not 1 <= step_epoch <= epochs:
            raise ValueError(f"lr_steps epochs must be integers in [1, {epochs}], got {step_epoch!r}")
        if not (_checks.is_real(lr) and lr > 0):
            raise ValueError(f"lr_steps learning rates must be positive and finite, got {lr!r}")
    lr_steps = {int(e): _checks.as_number(lr) for e, lr in steps.items()}  # Python numbers
    metrics = _check_metrics(metrics)
    device = _checks.device(device) if device is not None else default_device()
    model.to(device)
    rows = min(batch_size, 64)
    kind = _fitcheck.check_data(model, train_data, "train_data", loss_fn=loss_fn, rows=rows, device=device)
    for name, pair in (("val_data", val_data), ("test_data", test_data)):
        if pair is not None and _fitcheck.check_data(model, pair, name, loss_fn=loss_fn, rows=rows, device=device,
                                                     metrics=metrics) != kind:
            raise TypeError(f"{name}: y is {pair[1].dtype} but train_data's y is {train_data[1].dtype}: both must "
                            f"be class indices (int64) or both real numbers")
    classes, ignore = kind == _fitcheck.CLASSES, _fitcheck.ignored_label(loss_fn)
    x, y = (t.to(device) for t in train_data)
    batches = Batches(x, y, batch_size, seed=seed)
    history, best_state, best_loss = History(), None, math.inf
    bar = _progress_bar(epochs * len(batches), progress)
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            if epoch in lr_steps:
                for group in optimizer.param_groups:
                    group["lr"] = lr_steps[epoch]
            if augment is not None:
                batches.x = augment(x)
                if not isinstance(batches.x, torch.Tensor) or batches.x.shape[0] != len(y):
                    found = f"{batches.x.shape[0]} rows" if isinstance(batches.x, torch.Tensor) else "no tensor"
                    raise ValueError(f"augment returned {found} for {len(y)} labels")
                if batches.x.dtype != x.dtype:
                    raise TypeError(f"augment must return inputs of its inputs' dtype, {x.dtype}, "
                                    f"got {batches.x.dtype}")
            model.train()
            losses, predictions, targets = [], [], []  # kept on the device; summed once per epoch
            for step, (xb, yb) in enumerate(batches):
                logits = model(xb)
                loss = loss_fn(logits, yb)
                optimizer.zero_grad(set_to_none=True)
                (loss + l1 * l1_penalty(model) if l1 else loss).backward()
                optimizer.step()
                losses.append(loss.detach())
                if classes:
                    predictions.append(logits.argmax(dim=1))
                targets.append(yb)
                bar.update()
                if step % 100 == 99 and not torch.isfinite(losses[-1]):
                    break  # diverged: no use finishing the epoch
            sizes = torch.tensor([len(t) for t in targets], device=device)
            seen = int(sizes.sum())
            history.train_loss.append((torch.stack(losses) * sizes).sum().item() / seen)
            if classes:  # over the labels the loss does not ignore
                history.train_acc.append(_fraction(*_hits(torch.cat(predictions), torch.cat(targets), ignore)))
            if not math.isfinite(history.train_loss[-1]):
                history.epoch_time.append(time.perf_counter() - start)
                history.diverged_epoch = epoch
                break
            if val_data is not None:
                val_loss, val_acc, scores = _evaluate(model, val_data, loss_fn=loss_fn, classes=classes,
                                                      metrics=metrics)
                history.val_loss.append(val_loss)
                if classes:
                    history.val_acc.append(val_acc)
                for name, value in scores.items():
                    history.val_metrics.setdefault(name, []).append(value)
            history.epoch_time.append(time.perf_counter() - start)
            if val_data is not None and not math.isfinite(val_loss):
                history.diverged_epoch = epoch  # the epoch's last steps blew the weights up
                break
            bar.set_postfix(loss=f"{history.train_loss[-1]:.4f}",
                            val_acc=f"{history.val_acc[-1]:.4f}" if history.val_acc else "-")
            if patience is not None:
                if history.val_loss[-1] < best_loss:
                    best_loss, history.best_epoch = history.val_loss[-1], epoch
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                elif epoch - history.best_epoch >= patience:
                    break
    except KeyboardInterrupt:
        history.interrupted = True
    finally:
        bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    if test_data is not None and not history.diverged:
        history.test_loss, history.test_acc, history.test_metrics = _evaluate(
            model, test_data, loss_fn=loss_fn, classes=classes, metrics=metrics)
    return history
