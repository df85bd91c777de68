"""Plots of training runs. Each helper takes ``ax=None``, draws, and returns the ``Axes``.

One name → colour map (:data:`COLORS`) keeps every optimizer and activation the same colour in
every figure of the book. Nothing here calls ``plt.show()`` or touches rcParams.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from annlib.train import History

__all__ = ["COLORS", "color", "plot_history", "plot_histories"]

# Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
COLORS = {
    "sgd": "#0072B2", "sgd+momentum": "#56B4E9", "adagrad": "#009E73", "rmsprop": "#CC79A7",
    "adam": "#D55E00",
    "relu": "#D55E00", "sigmoid": "#0072B2", "tanh": "#009E73",
    "train": "#0072B2", "val": "#D55E00", "test": "#000000",
}
_CYCLE = ["#E69F00", "#F0E442", "#999999", "#882255", "#44AA99", "#332288"]


def color(name: str) -> str:
    """The book-wide colour of ``name`` (an optimizer, an activation, a split), stable across figures."""
    key = name.lower()
    if key in COLORS:
        return COLORS[key]
    return _CYCLE[sum(key.encode()) % len(_CYCLE)]


def _epochs(values: list[float]) -> list[int]:
    return list(range(1, len(values) + 1))


def plot_history(history: History, *, metric: str = "loss", ax: Axes | None = None,
                 label: str | None = None) -> Axes:
    """Training and validation ``metric`` (``"loss"`` or ``"acc"``) against the epoch."""
    if metric not in ("loss", "acc"):
        raise ValueError(f"metric must be 'loss' or 'acc', got {metric!r}")
    ax = ax if ax is not None else plt.gca()
    prefix = f"{label}: " if label else ""
    for split in ("train", "val"):
        values = getattr(history, f"{split}_{metric}")
        if values:
            ax.plot(_epochs(values), values, color=color(split), marker="o", ms=3,
                    label=f"{prefix}{'training' if split == 'train' else 'validation'}")
    if history.best_epoch is not None:
        ax.axvline(history.best_epoch, color="grey", ls=":", label="best epoch (restored)")
    if history.diverged:
        ax.axvline(history.diverged_epoch, color="red", ls="--", label="diverged")
    ax.set(xlabel="epoch", ylabel="cross-entropy loss" if metric == "loss" else "accuracy")
    ax.legend()
    return ax


def plot_histories(histories: Mapping[str, History], *, metric: str = "val_loss",
                   ax: Axes | None = None, logy: bool = False) -> Axes:
    """One curve per run: ``metric`` is a History list field, e.g. ``"val_loss"`` or ``"train_acc"``.

    Diverged runs end in a cross at the epoch they diverged.
    """
    ax = ax if ax is not None else plt.gca()
    for name, history in histories.items():
        values = getattr(history, metric)
        line, = ax.plot(_epochs(values), values, color=color(name), label=name)
        if history.diverged:
            ax.plot([history.diverged_epoch], [0.0 if not values else _last_finite(values)], "x",
                    color=line.get_color(), ms=10, mew=2)
    ax.set(xlabel="epoch", ylabel=metric.replace("_", " ").replace("acc", "accuracy"))
    if logy:
        ax.set_yscale("log")
    ax.legend()
    return ax


def _last_finite(values: list[float]) -> float:
    finite = [v for v in values if v == v and abs(v) != float("inf")]
    return finite[-1] if finite else 0.0
