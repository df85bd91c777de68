"""Plots of training runs. Each helper takes ``ax=None``, draws, and returns the ``Axes``.

One name → colour map (:data:`COLORS`) keeps every optimizer and activation the same colour in
every figure of the book. Nothing here calls ``plt.show()`` or touches rcParams.

Notes
-----
Arguments of the wrong type raise TypeError and unknown metrics ValueError, naming the bad value
and what is valid. Names without a book-wide colour are not an error: :func:`color` gives them a
fixed colour from a cycle. Runs with no epochs draw nothing, and NaN or infinite values leave
gaps in a curve, as matplotlib draws them.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes

from annlib.train import History

__all__ = ["COLORS", "color", "plot_history", "plot_histories", "autograd_graph", "plot_autograd_graph"]

# Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
COLORS = {
    "sgd": "#0072B2", "sgd+momentum": "#56B4E9", "adagrad": "#009E73", "rmsprop": "#CC79A7",
    "adam": "#D55E00",
    "relu": "#D55E00", "sigmoid": "#0072B2", "tanh": "#009E73",
    "train": "#0072B2", "val": "#D55E00", "test": "#000000",
    # losses (the loss-functions chapter)
    "l1": "#E69F00", "mse": "#882255", "cross-entropy": "#44AA99", "cross_entropy": "#44AA99",
    "huber": "#332288",
    # regularizers (the regularization chapter)
    "no regularization": "#000000", "early stopping": "#0072B2", "dropout (p=0.5)": "#009E73",
    "l2 penalty (weight decay)": "#D55E00", "l1 penalty": "#CC79A7",
}
_CYCLE = ["#E69F00", "#F0E442", "#999999", "#882255", "#44AA99", "#332288"]
_METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "epoch_time")  # History's lists


def _check(name: str, value: object, kind: type | tuple[type, ...], valid: str) -> None:
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be {valid}, got {type(value).__name__} {value!r:.60}")


def _axes(ax: Axes | None) -> Axes:
    _check("ax", ax, (Axes, type(None)), "a matplotlib Axes or None")
    return ax if ax is not None else plt.gca()


def color(name: str) -> str:
    """The book-wide colour of ``name`` (an optimizer, activation, loss, regularizer or split),
    stable across figures; other names get a colour from a fixed cycle, by a hash of the name."""
    _check("name", name, str, "a str such as 'adam'")
    key = name.lower()
    if key in COLORS:
        return COLORS[key]
    return _CYCLE[sum(key.encode()) % len(_CYCLE)]


def _epochs(values: list[float]) -> list[int]:
    return list(range(1, len(values) + 1))


def plot_history(history: History, *, metric: str = "loss", ax: Axes | None = None,
                 label: str | None = None) -> Axes:
    """Training and validation ``metric`` (``"loss"`` or ``"acc"``) against the epoch."""
    _check("history", history, History, "an annlib.train.History")
    if metric not in ("loss", "acc"):
        raise ValueError(f"metric must be 'loss' or 'acc', got {metric!r}")
    ax = _axes(ax)
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
    if ax.get_legend_handles_labels()[0]:  # a run with no epochs draws nothing
        ax.legend()
    return ax


def plot_histories(histories: Mapping[str, History], *, metric: str = "val_loss",
                   ax: Axes | None = None, logy: bool = False) -> Axes:
    """One curve per run: ``metric`` is a History list field, e.g. ``"val_loss"`` or ``"train_acc"``.

    Diverged runs end in a cross at the epoch they diverged.
    """
    _check("histories", histories, Mapping, "a dict of name → History")
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {', '.join(map(repr, _METRICS))}, got {metric!r}")
    ax = _axes(ax)
    for name, history in histories.items():
        _check(f"histories[{name!r}]", history, History, "an annlib.train.History")
        values = getattr(history, metric)
        line, = ax.plot(_epochs(values), values, color=color(name), label=name)
        if history.diverged:
            ax.plot([history.diverged_epoch], [0.0 if not values else _last_finite(values)], "x",
                    color=line.get_color(), ms=10, mew=2)
    ax.set(xlabel="epoch", ylabel=metric.replace("_", " ").replace("acc", "accuracy"))
    if logy:
        ax.set_yscale("log")
    if ax.get_legend_handles_labels()[0]:  # a run with no epochs draws nothing
        ax.legend()
    return ax


def _last_finite(values: list[float]) -> float:
    finite = [v for v in values if v == v and abs(v) != float("inf")]
    return finite[-1] if finite else 0.0


def autograd_graph(root) -> tuple[dict, set]:
    """Walk the backward graph from the node ``root`` (a tensor's ``grad_fn``).

    Returns the depth of every node (its longest distance from ``root``) and the edges
    ``(node, child, i)``: ``child`` is the backward node of input ``i`` of ``node``'s operation.
    The walk follows ``next_functions`` and ends at ``AccumulateGrad`` nodes, one per leaf.
    """
    if root is None:
        raise ValueError("no backward graph: the tensor has no grad_fn (is it a leaf, or was it "
                         "computed without requires_grad=True / under torch.no_grad()?)")
    if not hasattr(root, "next_functions"):
        raise TypeError(f"root must be a backward node such as y.grad_fn, got "
                        f"{type(root).__name__}; for a tensor y pass y.grad_fn")
    depth, edges, todo = {root: 0}, set(), [root]
    while todo:
        node = todo.pop()
        for i, (child, _) in enumerate(node.next_functions):
            if child is None:                  # an input that needs no gradient
                continue
            edges.add((node, child, i))
            if depth.get(child, -1) < depth[node] + 1:
                depth[child] = depth[node] + 1
                todo.append(child)
    return depth, edges


def plot_autograd_graph(tensor: torch.Tensor, *, names: Mapping[torch.Tensor, str] | None = None,
                        ax: Axes | None = None) -> Axes:
    """Draw the backward graph of ``tensor`` as boxes, one row per depth, the tensor at the top.

    ``names`` maps leaf tensors to labels (``{w: "w"}``); unnamed leaves are labelled by shape.
    Leaves (``AccumulateGrad`` nodes) are orange, operations blue.
    """
    _check("tensor", tensor, torch.Tensor, "a torch.Tensor computed with autograd")
    _check("names", names, (Mapping, type(None)), "a dict of tensor → label, like {w: 'w'}, or None")
    for t, name in (names or {}).items():
        _check("each key of names", t, torch.Tensor, "a tensor, like w in {w: 'w'}")
        _check("each label in names", name, str, "a str")
    depth, edges = autograd_graph(tensor.grad_fn)
    ax = _axes(ax)
    labels = {id(t): name for t, name in (names or {}).items()}
    rows, where = {}, {}
    for node, d in depth.items():
        rows.setdefault(d, []).append(node)
    for d in sorted(rows):                     # place each row under its parents, to avoid crossings
        under = {node: statistics.mean(where[p][0] + i / 10 for p, c, i in edges if c is node)
                 for node in rows[d] if d > 0}
        rows[d].sort(key=lambda node: under.get(node, 0))
        where.update({node: (i - (len(rows[d]) - 1) / 2, -d) for i, node in enumerate(rows[d])})
    for parent, child, _ in edges:
        ax.annotate("", xy=where[child], xytext=where[parent],
                    arrowprops=dict(arrowstyle="-|>", color="0.4", shrinkA=11, shrinkB=11))
    for node, (u, v) in where.items():
        leaf = hasattr(node, "variable")
        if leaf:
            name = labels.get(id(node.variable), "×".join(map(str, node.variable.shape)) or "scalar")
            text = f"{name}.grad +="
        else:
            text = node.name()
        ax.text(u, v, text, ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round", fc="#E69F00" if leaf else "#DDEEFF", ec="0.3"))
    widest = max(len(row) for row in rows.values())
    ax.set(xlim=(-widest / 2 - 0.3, widest / 2 + 0.3), ylim=(-max(rows) - 0.5, 0.5))
    ax.axis("off")
    return ax
