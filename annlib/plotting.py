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
from typing import NamedTuple

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes

from annlib import _checks
from annlib.train import History

__all__ = ["COLORS", "Calibration", "color", "plot_history", "plot_histories", "calibration", "plot_reliability",
           "autograd_graph", "plot_autograd_graph"]

# Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
COLORS = {
    "sgd": "#0072B2", "sgd+momentum": "#56B4E9", "adagrad": "#009E73", "rmsprop": "#CC79A7",
    "adam": "#D55E00", "adamw": "#E69F00",
    "relu": "#D55E00", "sigmoid": "#0072B2", "tanh": "#009E73",
    "train": "#0072B2", "val": "#D55E00", "test": "#000000",
    # losses (the loss-functions chapter)
    "l1": "#E69F00", "mse": "#882255", "cross-entropy": "#44AA99", "cross_entropy": "#44AA99",
    "huber": "#332288",
    # regularizers (the regularization chapter)
    "no regularization": "#000000", "early stopping": "#0072B2", "dropout (p=0.5)": "#009E73",
    "l2 penalty (weight decay)": "#D55E00", "l1 penalty": "#CC79A7", "adamw (decoupled weight decay)": "#E69F00",
}
_CYCLE = ["#E69F00", "#F0E442", "#999999", "#882255", "#44AA99", "#332288"]
_METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "epoch_time")  # History's lists


def _axes(ax: Axes | None) -> Axes:
    _checks.check_type(ax, "ax", (Axes, type(None)), "a matplotlib Axes or None")
    return ax if ax is not None else plt.gca()


def color(name: str) -> str:
    """The book-wide colour of ``name`` (an optimizer, activation, loss, regularizer or split),
    stable across figures; other names get a colour from a fixed cycle, by a hash of the name."""
    _checks.check_type(name, "name", str, "a str such as 'adam'")
    key = name.lower()
    if key in COLORS:
        return COLORS[key]
    return _CYCLE[sum(key.encode()) % len(_CYCLE)]


def _epochs(values: list[float]) -> list[int]:
    return list(range(1, len(values) + 1))


def plot_history(history: History, *, metric: str = "loss", ax: Axes | None = None,
                 label: str | None = None) -> Axes:
    """Training and validation ``metric`` (``"loss"`` or ``"acc"``) against the epoch.

    The loss axis reads "cross-entropy loss" for a classification run (one that recorded
    accuracies) and "loss" for a regression: set the label with ``ax.set_ylabel`` if it is not
    cross-entropy."""
    _checks.check_type(history, "history", History, "an annlib.train.History")
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
    loss = "cross-entropy loss" if history.train_acc or history.val_acc else "loss"  # a regression's is the caller's
    ax.set(xlabel="epoch", ylabel=loss if metric == "loss" else "accuracy")
    if ax.get_legend_handles_labels()[0]:  # a run with no epochs draws nothing
        ax.legend()
    return ax


def plot_histories(histories: Mapping[str, History], *, metric: str = "val_loss",
                   ax: Axes | None = None, logy: bool = False) -> Axes:
    """One curve per run: ``metric`` is a History list field, e.g. ``"val_loss"`` or ``"train_acc"``.

    Diverged runs end in a cross at the epoch they diverged.
    """
    _checks.check_type(histories, "histories", Mapping, "a dict of name → History")
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {', '.join(map(repr, _METRICS))}, got {metric!r}")
    ax = _axes(ax)
    for name, history in histories.items():
        _checks.check_type(history, f"histories[{name!r}]", History, "an annlib.train.History")
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


class Calibration(NamedTuple):
    """A top-label reliability curve: per confidence bin, the mean predicted probability of the
    predicted class, the fraction of those predictions that were right, and how many there were
    (bins with no predictions are left out); ``ece`` is the expected calibration error."""

    confidence: torch.Tensor
    accuracy: torch.Tensor
    count: torch.Tensor
    ece: float


def calibration(probs: torch.Tensor, y: torch.Tensor, *, bins: int = 10) -> Calibration:
    r"""How far the predicted probabilities can be trusted: the data of a reliability diagram.

    Each prediction is put in one of ``bins`` equal-width bins of its confidence
    :math:`c_n = \max_k p_{nk}` (the probability of the class it predicts). A calibrated model's
    predictions in a bin are right as often as their mean confidence says. The expected
    calibration error weighs the gap by the bin's share of the N predictions:

    .. math:: \mathrm{ECE} = \sum_b \frac{N_b}{N}\,\bigl|\mathrm{acc}_b - \mathrm{conf}_b\bigr|

    ``probs`` is (N, C) with rows summing to 1 (e.g. ``logits.softmax(dim=1)``), ``y`` the N
    class indices. This is the top-label diagram of Guo et al. (2017). The reliability diagram of a
    forecast of one binary event (rain or not) is a different diagram on the same axes: it bins the
    forecast probability of the event itself, p, where this one bins max(p, 1 − p).
    """
    _checks.check_type(probs, "probs", torch.Tensor, "a float tensor of shape (N, C)")
    _checks.check_type(y, "y", torch.Tensor, "an integer tensor of shape (N,)")
    bins = _checks.check_positive_int(bins, "bins")
    if probs.dim() != 2 or not probs.is_floating_point() or len(probs) == 0:
        raise ValueError(f"probs must be a non-empty float tensor of shape (N, C), got {probs.dtype} "
                         f"of shape {tuple(probs.shape)}")
    if y.shape != probs.shape[:1] or y.is_floating_point() or y.dtype == torch.bool:
        raise ValueError(f"y must be an integer tensor of shape ({len(probs)},), got {y.dtype} of shape {tuple(y.shape)}")
    if not torch.isfinite(probs).all() or (probs < 0).any() or not torch.allclose(
            probs.sum(dim=1), torch.ones((), dtype=probs.dtype), atol=1e-3):
        raise ValueError("probs must be finite, non-negative, and each row must sum to 1 (pass logits.softmax(dim=1))")
    confidence, predicted = probs.detach().double().max(dim=1)
    right = (predicted == y.to(predicted.device)).double()
    which = (confidence * bins).long().clamp(max=bins - 1)  # bin b holds [b/bins, (b+1)/bins)
    count = torch.bincount(which, minlength=bins)
    used = count > 0
    conf = torch.bincount(which, confidence, minlength=bins)[used] / count[used]
    acc = torch.bincount(which, right, minlength=bins)[used] / count[used]
    ece = float(((count[used] / len(probs)) * (acc - conf).abs()).sum())
    return Calibration(conf.cpu(), acc.cpu(), count[used].cpu(), ece)


def plot_reliability(curves: Mapping[str, Calibration], *, ax: Axes | None = None) -> Axes:
    """Reliability diagram: each curve's accuracy against its confidence, with the diagonal a
    calibrated model would follow; points below it are overconfident. The legend gives the ECE."""
    _checks.check_type(curves, "curves", Mapping, "a dict of name → Calibration")
    ax = _axes(ax)
    ax.plot([0, 1], [0, 1], color="grey", ls=":", label="calibrated")
    for name, curve in curves.items():
        _checks.check_type(curve, f"curves[{name!r}]", Calibration, "an annlib.plotting.Calibration")
        ax.plot(curve.confidence, curve.accuracy, marker="o", ms=4, color=color(name),
                label=f"{name} (ECE {100 * curve.ece:.1f}%)")
    ax.set(xlabel="confidence (probability of the predicted class)", ylabel="accuracy of those predictions",
           xlim=(0, 1.02), ylim=(0, 1.02))
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
    _checks.check_type(tensor, "tensor", torch.Tensor, "a torch.Tensor computed with autograd")
    _checks.check_type(names, "names", (Mapping, type(None)), "a dict of tensor → label, like {w: 'w'}, or None")
    for t, name in (names or {}).items():
        _checks.check_type(t, "each key of names", torch.Tensor, "a tensor, like w in {w: 'w'}")
        _checks.check_type(name, "each label in names", str, "a str")
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
