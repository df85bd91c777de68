"""The data against the model, at ``fit``'s and ``evaluate``'s boundary, before any step.

The argument checks of :mod:`annlib._checks` look at each argument alone. The mistakes readers
make most are between arguments: inputs the first layer does not take (NumPy's float64, raw uint8
images, another width), labels the outputs do not match (float, int32, (N, 1), one-hot, 1-based,
more classes than outputs), real targets with the classification loss, an optimizer built for
another model. Each would fail deep inside torch, after an epoch, or not at all. Here one forward
pass on the first rows of each set, in eval mode, without gradients and with torch's random
state restored afterwards (so a valid run draws the same numbers as without the check), shows
what the model makes of the data, and each mismatch is named with the argument, what was found,
what is valid and the likely fix. (A lazy module, such as ``nn.LazyLinear``, is initialized by
that forward pass, before training draws its first random number rather than after.)

Two kinds of targets: integer class indices (``"classes"``: one label per sample, or per position
of a segmentation output (N, C, ...); the accuracy is reported), or values (``"values"``: real
numbers shaped like the outputs, i.e. regression or class probabilities; or integer counts and
multi-hot rows for a loss that is not a class-index loss; no accuracy). :func:`check_data`
returns which.
"""

from __future__ import annotations

import functools

import torch
from torch import nn
from torch.nn import functional as F

CLASSES, VALUES = "classes", "values"
_IGNORE_DEFAULT = -100  # torch's default ignore_index of cross_entropy and nll_loss


def check_optimizer(model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """``optimizer`` must hold at least one of ``model``'s parameters."""
    own = {id(p) for p in model.parameters()}
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    if own and not own & held:
        raise ValueError(
            f"the optimizer holds none of the model's {len(own)} parameter tensors, so training would not "
            f"change the model: it was built for another model (in a notebook: a cell rebuilt the model but "
            f"the optimizer still holds the old one's). Build it again after the model, e.g. "
            f"torch.optim.{type(optimizer).__name__}(model.parameters(), ...)")


def _base(loss_fn):
    """The function or module behind ``functools.partial`` wrappers, and their keywords."""
    keywords = {}
    while isinstance(loss_fn, functools.partial):
        keywords = {**loss_fn.keywords, **keywords}
        loss_fn = loss_fn.func
    return loss_fn, keywords


def class_index_loss(loss_fn) -> bool:
    """Whether ``loss_fn`` is torch's cross-entropy or negative log-likelihood (class-index losses)."""
    base, _ = _base(loss_fn)
    return base in (F.cross_entropy, F.nll_loss) or isinstance(base, (nn.CrossEntropyLoss, nn.NLLLoss))


def _is_cross_entropy(loss_fn) -> bool:
    base, _ = _base(loss_fn)
    return base is F.cross_entropy or isinstance(base, nn.CrossEntropyLoss)


def ignored_label(loss_fn) -> int:
    """The label ``loss_fn`` skips: its ``ignore_index``, else torch's default -100."""
    base, keywords = _base(loss_fn)
    return int(keywords.get("ignore_index", getattr(base, "ignore_index", _IGNORE_DEFAULT)))


def _shape(t: torch.Tensor, rows: int | None = None) -> str:
    """``t``'s shape, as it would be for ``rows`` samples (the checks look at the first rows only)."""
    return str(tuple(t.shape) if rows is None else (rows, *t.shape[1:]))


def _first_layer(model: nn.Module) -> tuple[nn.Module | None, bool]:
    """The first leaf module past a leading ``nn.Flatten`` (None for a model without children), and
    whether there was that Flatten."""
    leaves = [m for m in model.modules() if not list(m.children()) and m is not model]
    flattened = bool(leaves) and isinstance(leaves[0], nn.Flatten)
    leaves = leaves[1:] if flattened else leaves
    return (leaves[0] if leaves else None), flattened


def _input_mismatch(model: nn.Module, x: torch.Tensor, name: str, n: int) -> Exception | None:
    """What is wrong with ``x`` for ``model`` after the model raised on it, if it can be told."""
    floats = [p.dtype for p in model.parameters() if p.is_floating_point()]
    embeds = any(isinstance(m, (nn.Embedding, nn.EmbeddingBag)) for m in model.modules())
    if floats and not embeds and not x.is_floating_point():
        fix = ("raw image bytes? annlib.data.to_features(images) scales and standardizes them" if x.dtype == torch.uint8
               else f"convert them with x.to({floats[0]})")
        return TypeError(f"{name}: x must be floating point like the model's parameters ({floats[0]}), "
                         f"got dtype {x.dtype}; {fix}")
    if floats and x.is_floating_point() and x.dtype != floats[0]:
        return TypeError(f"{name}: x is {x.dtype} but the model's parameters are {floats[0]}: convert the inputs "
                         f"with x.to({floats[0]}) (NumPy arrays arrive as float64), or the model with "
                         f"model.to({x.dtype})")
    first, flattened = _first_layer(model)
    if isinstance(first, nn.Linear) and x.dim() >= 2:
        width = x[0].numel() if flattened else x.shape[-1]
        if width != first.in_features:
            fix = "the data and the model's input size must agree"
            if x.dim() > 2 and x[0].numel() == first.in_features:
                fix = "flatten each sample first: x.reshape(len(x), -1), or put nn.Flatten() first in the model"
            return ValueError(f"{name}: x has shape {_shape(x, n)}, {width} features per sample, but the model's "
                              f"first layer, Linear, takes {first.in_features}; {fix}")
    return None


def _is_one_hot(y: torch.Tensor) -> bool:
    return y.dim() == 2 and bool(((y == 0) | (y == 1)).all()) and bool((y.sum(dim=1) == 1).all())


def _check_classes(out: torch.Tensor, y: torch.Tensor, name: str, n: int, loss_fn) -> None:
    """Integer labels: class indices, int64, one per sample (per position), for 2 or more outputs."""
    other = "" if class_index_loss(loss_fn) else "; integer counts or multi-hot targets: pass y.float()"
    if out.dim() < 2 or out.shape[1] < 2:
        raise ValueError(
            f"{name}: y holds integer class indices, but the model's outputs have shape {_shape(out, n)}: "
            f"a classifier needs one output per class (2 or more, in dimension 1). For two classes give the model "
            f"2 outputs, or use targets y.float() shaped like the outputs with "
            f"loss_fn=F.binary_cross_entropy_with_logits{other}")
    if y.shape[1:] != out.shape[2:]:
        if _is_one_hot(y) and y.shape[1] == out.shape[1]:
            fix = "these look like one-hot rows: use y.argmax(dim=1)"
        elif y.dim() == out.dim() and y.shape[1] == 1:
            fix = "use y.squeeze(1)"
        else:
            fix = "one class index per sample" + ("" if out.dim() == 2 else " and position")
        raise ValueError(f"{name}: y has shape {_shape(y, n)} but the model outputs {_shape(out, n)}: integer "
                         f"labels must have shape {_shape(out[:, 0], n)}; {fix}{other}")
    if y.dtype != torch.int64:
        raise TypeError(f"{name}: labels must be int64 (torch.long) class indices, got dtype {y.dtype}; "
                        f"convert them with y.long()")


def _check_class_range(y: torch.Tensor, classes: int, name: str, ignore: int) -> None:
    """Every label but the ignored one in [0, classes)."""
    counted = y[y != ignore]
    if counted.numel() == 0:
        return
    low, high = int(counted.min()), int(counted.max())
    if low >= 0 and high < classes:
        return
    if low >= 1 and high == classes:
        fix = "1-based labels? subtract 1 (y - 1)"
    elif high >= classes:
        fix = f"or give the model {high + 1} outputs, one per class"
    else:
        fix = "class indices count from 0"
    raise ValueError(f"{name}: labels must be class indices in [0, {classes}) for a model with {classes} outputs "
                     f"(or {ignore}, the label the loss ignores), found values from {low} to {high}; {fix}")


def _check_values(out: torch.Tensor, y: torch.Tensor, all_y: torch.Tensor, name: str, loss_fn) -> None:
    """Values: shaped like the outputs; with cross-entropy, class probabilities over dimension 1."""
    n = len(all_y)
    if y.shape != out.shape:
        if y.dim() == 1 and out.dim() == 2 and out.shape[1] > 1:
            fix = ("class labels? they must be int64 class indices: y.long(); for regression, give one "
                   f"target per output, shape {_shape(out, n)}")
        elif y.dim() == out.dim() + 1 and y.shape[-1] == 1:
            fix = "use y.squeeze(-1)"
        elif out.dim() == y.dim() + 1 and out.shape[-1] == 1:
            fix = "use y.unsqueeze(-1)"
        else:
            fix = "the model needs one output per target"
        raise ValueError(f"{name}: y has shape {_shape(y, n)} but the model outputs {_shape(out, n)}: "
                         f"real-valued targets must have the outputs' shape (torch would broadcast the two and "
                         f"train on the wrong loss); {fix}")
    if not _is_cross_entropy(loss_fn):
        return
    if out.dim() < 2:
        raise ValueError(f"{name}: the model gives one output per sample, shape {_shape(out, n)}, but loss_fn is "
                         f"cross-entropy (fit's default), which needs one output per class, (N, C): for "
                         f"regression pass loss_fn=F.mse_loss")
    sums = all_y.sum(dim=1)
    if (all_y < 0).any() or not torch.allclose(sums, torch.ones_like(sums), atol=1e-3):
        raise ValueError(f"{name}: y holds real numbers, but loss_fn is cross-entropy (fit's default), which "
                         f"reads them as class probabilities, and they are not (rows must be >= 0 and sum to 1): "
                         f"for regression pass loss_fn=F.mse_loss; for classes use int64 labels")


def _kind(out: torch.Tensor, y: torch.Tensor, loss_fn) -> str:
    """Integer labels are class indices, except integer targets shaped like the outputs of a loss
    that does not take class indices (counts, multi-hot rows)."""
    if y.is_floating_point():
        return VALUES
    if y.shape == out.shape and not class_index_loss(loss_fn) and out.dim() >= 1:
        return VALUES
    return CLASSES


@torch.no_grad()
def check_data(model: nn.Module, data: tuple[torch.Tensor, torch.Tensor], name: str, *, loss_fn,
               rows: int, device: torch.device, metrics: dict | None = None) -> str:
    """Check ``data`` against ``model`` (and ``loss_fn``, ``metrics``) on its first ``rows`` samples;
    return ``"classes"`` or ``"values"``. Torch's random state is the same afterwards."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        return _check_data(model, data, name, loss_fn=loss_fn, rows=rows, device=device, metrics=metrics or {})


def _check_data(model, data, name, *, loss_fn, rows, device, metrics) -> str:
    x, y = data
    if y.dtype == torch.bool:
        raise TypeError(f"{name}: y is bool; for two classes use y.long() (class indices, with 2 model outputs), "
                        f"or y.float() with loss_fn=F.binary_cross_entropy_with_logits")
    if y.is_complex():
        raise TypeError(f"{name}: y must hold real numbers or integer class indices, got dtype {y.dtype}")
    xb, yb = x[:rows].to(device), y[:rows].to(device)
    was_training = model.training
    model.eval()
    try:
        out = model(xb)
    except (RuntimeError, IndexError, ValueError, TypeError) as error:  # torch's shape, dtype, dimension errors
        mismatch = _input_mismatch(model, xb, name, len(x))
        if mismatch is not None and x.dim() == 1 and y.dim() >= 2:
            raise type(mismatch)(f"{name}: is the pair in the wrong order? {name} must be (inputs, labels), and "
                                 f"here x is 1-dimensional and y is not ({mismatch})") from error
        if mismatch is not None:
            raise mismatch from error
        raise RuntimeError(f"the model raised on the first {len(xb)} samples of {name} (x of shape {_shape(x)}, "
                           f"dtype {x.dtype}): {error}") from error
    finally:
        model.train(was_training)
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"the model must return a tensor of outputs, got {type(out).__name__} on {name}")
    if out.dim() == 0 or len(out) != len(xb):
        raise ValueError(f"the model returned outputs of shape {_shape(out)} for the first {len(xb)} samples of "
                         f"{name}: it must keep one row per sample")
    kind = _kind(out, yb, loss_fn)
    if kind == CLASSES:
        _check_classes(out, yb, name, len(y), loss_fn)
        _check_class_range(y, out.shape[1], name, ignored_label(loss_fn))
    else:
        _check_values(out, yb, y, name, loss_fn)
    try:
        loss = loss_fn(out, yb)
    except (RuntimeError, ValueError, TypeError, IndexError) as error:  # the same type, with the arguments named
        kind_of = type(error) if type(error) in (RuntimeError, ValueError, TypeError, IndexError) else RuntimeError
        raise kind_of(f"loss_fn raised on the model's outputs {_shape(out)} and {name}'s y {_shape(yb)} "
                      f"(dtype {yb.dtype}): {error}") from error
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        found = _shape(loss) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(f"loss_fn must return one number for a batch (a 0-dimensional tensor, the mean), got "
                         f"{found} on {name}; use its reduction='mean'")
    for metric_name, metric in metrics.items():
        try:
            float(metric(out, yb))
        except Exception as error:  # noqa: BLE001  (a metric is user code: name it, keep its type in the chain)
            raise ValueError(f"metrics[{metric_name!r}] failed on the model's outputs {_shape(out)} and the first "
                             f"{len(yb)} targets of {name}, before training: {type(error).__name__}: {error}") \
                from error
    return kind
