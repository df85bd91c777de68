"""Models: a multilayer perceptron built from a list of layer sizes.

Bad arguments raise at the boundary, naming the bad value and what is valid: an unknown
activation name or a size or dropout out of range is a ValueError, a wrong type a TypeError.
Sizes and dropout may be Python's or NumPy's numbers (not bools).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence

from torch import nn

from annlib import _checks

__all__ = ["ACTIVATIONS", "activation", "mlp", "count_parameters"]

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "identity": nn.Identity,
}


def activation(name: str) -> nn.Module:
    """A fresh activation module from its name, e.g. ``"relu"`` → ``nn.ReLU()``."""
    if not isinstance(name, str):
        raise TypeError(f"activation name must be a str, got {name!r}; valid: {sorted(ACTIVATIONS)}")
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; valid: {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def mlp(sizes: Sequence[int], *, activation: str | nn.Module | type[nn.Module] = "relu",
        dropout: float = 0.0) -> nn.Sequential:
    """A multilayer perceptron: ``Flatten``, then ``Linear`` layers of the given sizes.

    Parameters
    ----------
    sizes
        Input size, hidden sizes, output size: ``[784, 128, 64, 10]`` is 784-128-64-10. Any
        iterable of positive integers (numpy integers too) will do.
    activation
        The hidden activation: a name from :data:`ACTIVATIONS`, a module (copied for each
        layer) or a module class. The output layer has none: it returns ``logits``.
    dropout
        Probability of zeroing each hidden unit during training (after each activation).

    Examples
    --------
    >>> mlp([784, 128, 10], activation="tanh")  # doctest: +NORMALIZE_WHITESPACE
    Sequential(
      (0): Flatten(start_dim=1, end_dim=-1)
      (1): Linear(in_features=784, out_features=128, bias=True)
      (2): Tanh()
      (3): Linear(in_features=128, out_features=10, bias=True)
    )
    """
    sizes = _checked_sizes(sizes)
    dropout = _checked_dropout(dropout)
    _make_activation(activation)  # validate even when there is no hidden layer
    if dropout > 0 and len(sizes) < 3:
        raise ValueError(f"dropout={dropout!r} would do nothing: dropout follows the hidden layers, and sizes "
                         f"{sizes} has none; add a hidden layer or set dropout=0")
    layers: list[nn.Module] = [nn.Flatten()]
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:  # hidden layer
            layers.append(_make_activation(activation))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def _checked_sizes(sizes: object) -> list[int]:
    if isinstance(sizes, str) or not isinstance(sizes, Iterable):
        raise TypeError(f"sizes must be a list of layer sizes such as [784, 128, 10], got {sizes!r}")
    sizes = list(sizes)
    if len(sizes) < 2 or any(not _checks.is_int(s) or s < 1 for s in sizes):
        raise ValueError(f"sizes must be at least two positive integers, got {sizes}")
    return [int(s) for s in sizes]


def _checked_dropout(p: object) -> float:
    if not _checks.is_number(p):
        raise TypeError(f"dropout must be a float in [0, 1), got {p!r}")
    if not 0.0 <= p < 1.0:  # NaN fails too
        raise ValueError(f"dropout must be in [0, 1), got {p}")
    return _checks.as_number(p)


def _make_activation(spec: str | nn.Module | type[nn.Module]) -> nn.Module:
    if isinstance(spec, str):
        return activation(spec)
    if isinstance(spec, nn.Module):
        return copy.deepcopy(spec)
    if isinstance(spec, type) and issubclass(spec, nn.Module):
        return spec()
    raise TypeError(f"activation must be a name, an nn.Module or an nn.Module class, got {spec!r}")


def count_parameters(model: nn.Module) -> int:
    """The number of trainable parameters."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
