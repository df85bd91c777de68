"""Checks of public arguments shared by the modules: one message per kind of fault.

Each check raises at the boundary with a message that names the argument, the bad value and
what would be valid: ``TypeError`` for an object of the wrong type (not a tensor, not a pair, not
True or False), ``ValueError`` for a bad number, whatever its type (``"64"`` is not a positive
integer). Checks that belong to one function's meaning (a ``dim`` in range, a loss's shapes, an
optimizer's hyperparameters in torch's words) stay beside it. Private: the public functions call
these; readers call those.

One rule for numbers, book-wide: an integer is any :class:`numbers.Integral` (Python's ``int``,
NumPy's ``int64``, ``uint8``, ...) and a real number any :class:`numbers.Real` (``float``,
``numpy.float32``, ...), but never a bool (``True``, ``numpy.True_``): a flag passed where a
number belongs is a mistake, not a 1. A number that is kept (in a config, an optimizer's
settings) is stored as the Python number it stands for (:func:`as_number`).
"""

from __future__ import annotations

import math
from pathlib import Path
import numbers
import reprlib

import numpy as np
import torch

_SEED_RANGE = "[-2**63, 2**64)"


def is_int(value) -> bool:
    """An integer, Python's or NumPy's (any :class:`numbers.Integral`), that is not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def is_number(value) -> bool:
    """A real number, Python's or NumPy's (any :class:`numbers.Real`), that is not a bool; NaN
    and infinities included."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def is_real(value) -> bool:
    """A finite real number (:func:`is_number`, not NaN or infinite, and not too large for a float)."""
    if not is_number(value):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an int or Fraction beyond the floats: no setting can use it
        return False


def as_number(value: numbers.Real) -> int | float:
    """The Python ``int`` or ``float`` that ``value`` (a number :func:`is_number` accepts) stands for.

    Integers become ``int``, exactly. A NumPy float narrower than a Python float (``float32``,
    ``float16``) becomes the float of the shortest decimal that rounds to it, which is the
    number typed whenever that had no more digits than the type holds: ``numpy.float32(1e-3)``
    gives ``0.001``, where ``float()`` would give ``0.0010000000474974513`` (whatever NumPy's
    print options are). Every other real number (``float``, ``numpy.float64``, a
    ``Fraction``) becomes ``float(value)``, exactly where it can be. Python ints and floats come
    back unchanged.
    """
    if is_int(value):
        return int(value)
    if isinstance(value, np.floating) and np.finfo(value.dtype).bits < 64:
        return float(np.format_float_positional(value, unique=True, trim="-"))
    return float(value)


def check_type(value, name: str, kind: type | tuple[type, ...], valid: str) -> None:
    """``value`` must be an instance of ``kind``, described to the reader as ``valid``."""
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be {valid}, got {type(value).__name__} {value!r:.60}")


def check_flag(value, name: str, *, none: bool = False) -> None:
    """``value`` must be True or False (or None, if ``none``)."""
    if not (isinstance(value, bool) or (none and value is None)):
        raise TypeError(f"{name} must be True or False{' or None' if none else ''}, got {value!r}")


def check_positive_int(value, name: str, *, none: bool = False) -> int | None:
    """``value`` must be an integer >= 1 (or None, if ``none``); returns it as a Python int."""
    if not ((is_int(value) and value >= 1) or (none and value is None)):
        raise ValueError(f"{name} must be a positive integer{' or None' if none else ''}, got {value!r}")
    return None if value is None else int(value)


def check_positive(value, name: str, unit: str) -> int | float:
    """``value`` must be a positive finite number of ``unit``; returns it as :func:`as_number` does."""
    if not is_real(value) or value <= 0:
        raise ValueError(f"{name} must be positive and finite ({unit}), got {value!r}")
    return as_number(value)


def check_seed(seed, name: str = "seed") -> int:
    """``seed`` must be an integer torch can seed a generator with; returns it as a Python int
    (``torch.Generator.manual_seed`` refuses NumPy's)."""
    if not is_int(seed) or not -2**63 <= int(seed) < 2**64:
        raise ValueError(f"{name} must be an integer in {_SEED_RANGE} (torch's seed range), got {seed!r}")
    return int(seed)


_KINDS = {"real": "real numbers (floating point or integer)", "floating": "floating-point numbers",
          "integer": "integer class indices"}


def check_tensor(value, name: str, kind: str | None = None) -> None:
    """``value`` must be a tensor, and with ``kind`` one of "real", "floating" or "integer" numbers."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__} {reprlib.repr(value)}; "
                        f"convert it with torch.as_tensor")
    if kind is None:
        return
    real = value.dtype != torch.bool and not value.is_complex()
    ok = {"real": real, "floating": value.is_floating_point(), "integer": real and not value.is_floating_point()}
    if not ok[kind]:
        fix = "; convert it first, e.g. with .float()" if kind == "floating" and not value.is_complex() else ""
        raise TypeError(f"{name} must be a tensor of {_KINDS[kind]}, got dtype {value.dtype}{fix}")


def check_pair(pair, name: str, *, nonempty: bool = False, finite: bool = False) -> None:
    """``pair`` must be ``(x, y)``: two tensors with one row per sample, the same number of rows.

    ``nonempty``: at least one row. ``finite``: no NaN or infinite value in a floating-point part
    (the message counts the rows that have one and names the first).
    """
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        raise TypeError(f"{name} must be a pair (x, y) of tensors, got {type(pair).__name__} {reprlib.repr(pair)}")
    for part, t in zip("xy", pair):
        check_tensor(t, f"{name}: {part}")
        if t.dim() == 0:
            raise ValueError(f"{name}: {part} must have one row per sample, got a 0-dimensional tensor")
    x, y = pair
    if len(x) != len(y):
        raise ValueError(f"{name}: x has {len(x)} rows but y has {len(y)}; they need one row per sample")
    if nonempty and len(x) == 0:
        raise ValueError(f"{name} is empty (shapes {tuple(x.shape)} and {tuple(y.shape)}); "
                         "it needs at least one sample")
    if finite:
        for part, t in zip("xy", pair):
            bad = ~torch.isfinite(t) if t.is_floating_point() else None
            if bad is not None and bad.any():
                rows = bad.reshape(len(t), -1).any(dim=1).nonzero().flatten()
                raise ValueError(f"{name}: {part} has NaN or infinite values in {len(rows)} rows (the first is row "
                                 f"{rows[0].item()}); training needs finite inputs: drop or fill those rows")


def user_path(value, name: str) -> Path:
    """``value`` as a :class:`~pathlib.Path` with ``~`` expanded, as a shell would; a ``ValueError``
    naming ``name`` when the home directory it names does not exist."""
    try:
        return Path(value).expanduser()
    except RuntimeError as error:  # "~nosuchuser", or no HOME
        raise ValueError(f"{name}: cannot expand the ~ in {str(value)!r} ({error}); give the full path") from error


def device(value, *, must_exist: bool = True) -> torch.device:
    """``value`` as a :class:`torch.device` (one that exists on this machine if ``must_exist``)."""
    try:
        value = torch.device(value)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device must be a torch.device or a name like 'cpu' or 'cuda', got {value!r}") from error
    if must_exist and value.type == "cuda" and (value.index or 0) >= torch.cuda.device_count():
        raise ValueError(f"device {str(value)!r} is not available: this machine has "
                         f"{torch.cuda.device_count()} CUDA device(s); use 'cpu'")
    return value
