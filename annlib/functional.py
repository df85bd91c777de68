"""Activations and losses written from their formulas, for teaching.

Each function mirrors one in ``torch`` or ``torch.nn.functional`` (same name, arguments and
defaults), is built from elementary tensor operations so that autograd differentiates it, and is
checked against that oracle, values and gradients, in ``tests/test_functional.py``. Unlike torch,
the losses reject shapes that would broadcast silently and targets the formula does not allow.

Notes
-----
Bad arguments raise at the boundary, naming the bad value and what is valid: TypeError for a
non-tensor, a complex tensor, an integer or bool tensor where torch takes none (below), an
integer ``input`` or ``logits`` of a loss, or a ``dim`` (Python's or NumPy's integer, not a
bool) or ``keepdim`` of the wrong type; ValueError for a ``dim`` out of range, an unknown
``reduction`` or a shape the formula does not allow. Other inputs give exactly what torch gives
(``tests/test_bad_inputs_core.py`` checks it): NaN and ±inf propagate as in torch; an empty
tensor gives an empty result, ``logsumexp`` over an empty ``dim`` gives -inf, and a "mean" over
no elements gives nan.

Integer and bool tensors are treated as torch treats them. :func:`sigmoid`, :func:`tanh` and
:func:`logsumexp` convert them to torch's default floating-point dtype (float32 unless
``torch.set_default_dtype`` changed it) before any arithmetic, so the result is that dtype, as
in torch; computed on the integers themselves, ``-x`` of a uint8 tensor would wrap around (−1 is
255) and give wrong numbers. :func:`relu` keeps an integer dtype and rejects bool, as torch
does. :func:`softmax`, :func:`log_softmax` and the ``weight`` of :func:`cross_entropy` must be
floating point (a TypeError), because torch rejects integers there too.
"""

from __future__ import annotations

import torch
from torch import Tensor

from annlib import _checks

__all__ = [
    "sigmoid", "tanh", "relu", "logsumexp", "softmax", "log_softmax",
    "l1_loss", "mse_loss", "cross_entropy", "kl_div",
]  # fmt: skip

_REDUCTIONS = ("none", "mean", "sum")


def _to_floating(x: object) -> Tensor:
    """``x``, checked to be a tensor of real numbers or bools, in torch's default floating-point
    dtype if it is not floating point already (as ``torch.sigmoid`` converts it)."""
    _checks.check_tensor(x, "x")
    if x.is_complex():
        raise TypeError(f"x must be a tensor of real numbers (floating point, integer or bool), got dtype {x.dtype}")
    return x if x.is_floating_point() else x.to(torch.get_default_dtype())


def _check_dim(x: Tensor, dim: object) -> None:
    if not _checks.is_int(dim):  # Python's or NumPy's integers, not bools
        raise TypeError(f"dim must be an int, got {dim!r}")
    n = max(x.dim(), 1)  # like torch, a 0-d tensor accepts dim 0 and -1
    if not -n <= dim < n:
        raise ValueError(f"dim={dim} is out of range for {x.dim()}-d input, valid: [{-n}, {n - 1}]")


def _check_same_shape(input: Tensor, target: Tensor) -> None:
    _checks.check_tensor(input, "input", "floating")
    _checks.check_tensor(target, "target", "real")
    if input.shape != target.shape:
        raise ValueError(
            f"input shape {tuple(input.shape)} and target shape {tuple(target.shape)} differ; "
            "they must be equal (annlib does not broadcast them)"
        )


def _check_classification(logits: Tensor, target: Tensor, weight: Tensor | None) -> Tensor:
    """Check cross_entropy's arguments; return the class weights (all ones if not given)."""
    _checks.check_tensor(logits, "logits", "floating")
    _checks.check_tensor(target, "target", "integer")
    if logits.dim() != 2:
        raise ValueError(f"logits must be 2-D (N, C), got shape {tuple(logits.shape)}")
    n, c = logits.shape
    if target.shape != (n,):
        raise ValueError(f"target must have shape (N,) = ({n},), got {tuple(target.shape)}")
    bad = (target < 0) | (target >= c)
    if bad.any():
        i = int(bad.nonzero()[0])
        raise ValueError(f"target[{i}] = {int(target[i])} is not a class index in [0, {c})")
    if weight is None:
        return torch.ones(c, dtype=logits.dtype, device=logits.device)
    _checks.check_tensor(weight, "weight", "floating")  # as in torch: -w of uint8 weights would wrap around
    if weight.shape != (c,):
        raise ValueError(f"weight must have shape (C,) = ({c},), got {tuple(weight.shape)}")
    return weight


def _check_distribution(target: Tensor, tol: float = 1e-3) -> None:
    """Check that target holds probability distributions along its last dimension."""
    if not (target >= 0).all():  # written so that NaN fails too
        bad = float(target[~(target >= 0)][0])
        raise ValueError(f"target must hold probabilities, found entry {bad}; valid is >= 0")
    row_sums = target.sum(dim=-1)
    off = ~((row_sums - 1).abs() <= tol)
    if off.any():
        s = float(row_sums[off][0])
        raise ValueError(f"target rows (last dim) must sum to 1 within {tol:g}, found sum {s:g}")


def _max(x: Tensor, dim: int) -> Tensor:
    """The max along ``dim`` (kept), detached: a constant shift. 0 if x is empty (amax refuses)."""
    if x.numel() == 0:
        return torch.zeros_like(x.sum(dim, keepdim=True))
    return x.amax(dim, keepdim=True).detach()


def _reduce(loss: Tensor, reduction: str, valid: tuple[str, ...] = _REDUCTIONS) -> Tensor:
    if reduction not in valid:
        raise ValueError(f"reduction={reduction!r} is not one of {', '.join(map(repr, valid))}")
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def sigmoid(x: Tensor) -> Tensor:
    r"""Logistic sigmoid, squashing any real number into (0, 1).

    .. math:: \sigma(x) = \frac{1}{1 + e^{-x}} = \frac{e^{x}}{1 + e^{x}}

    Notes
    -----
    The lecture's :math:`e^x / (1 + e^x)` gives ``inf / inf = nan`` for large positive x;
    :math:`1 / (1 + e^{-x})` overflows for large negative x. We use each form where it is safe,
    so only :math:`e = e^{-|x|} \in (0, 1]` is ever formed. :math:`-|x|` comes from ``where``,
    not ``abs``: autograd gives ``abs`` slope 0 at x = 0, which would make :math:`\sigma'(0) = 0`.

    See Also
    --------
    torch.sigmoid : the oracle.
    """
    x = _to_floating(x)  # checked; integers and bools become floats first, as in torch
    positive = x >= 0
    e = torch.exp(torch.where(positive, -x, x))  # e = e^{−|x|} ∈ (0, 1]
    return torch.where(positive, 1 / (1 + e), e / (1 + e))  # σ = 1/(1+e^{−x}) or e^{x}/(1+e^{x})


def tanh(x: Tensor) -> Tensor:
    r"""Hyperbolic tangent, squashing any real number into (-1, 1).

    .. math:: \tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}} = \frac{1 - e^{-2x}}{1 + e^{-2x}}

    Notes
    -----
    The lecture's form overflows for :math:`|x| \gtrsim 710` (float64) or 89 (float32). Dividing
    through by :math:`e^{x}` gives the second form; with :math:`e = e^{-2|x|}` and the odd
    symmetry :math:`\tanh(-x) = -\tanh(x)` nothing overflows (same trick as :func:`sigmoid`).
    The numerator :math:`1 - e^{-2|x|}` cancels catastrophically for tiny :math:`|x|` (in float32,
    1 − e^{−2·10⁻⁸} rounds to 0), so it is computed as ``-expm1(-2|x|)``, which keeps the relative
    precision of the number type there too: :math:`\tanh(x) \approx x` for :math:`|x| \ll 1`.

    See Also
    --------
    torch.tanh : the oracle.
    """
    x = _to_floating(x)  # checked; integers and bools become floats first, as in torch
    positive = x >= 0
    minus_2abs = torch.where(positive, -2 * x, 2 * x)  # −2|x| ≤ 0
    t = -torch.expm1(minus_2abs) / (1 + torch.exp(minus_2abs))  # tanh|x| = (1 − e^{−2|x|}) / (1 + e^{−2|x|})
    return torch.where(positive, t, -t)


def relu(x: Tensor) -> Tensor:
    r"""Rectified linear unit.

    .. math:: R(x) = \begin{cases} x & \text{if } x > 0 \\ 0 & \text{otherwise} \end{cases}

    Notes
    -----
    The lecture puts x = 0 in the first case (:math:`x \geq 0`). The value is the same, but the
    case that holds x = 0 decides the gradient autograd reports there: torch uses 0, so we put
    x = 0 in the second case. NaN propagates, as in torch.

    See Also
    --------
    torch.relu : the oracle.
    """
    _checks.check_tensor(x, "x", "real")
    return torch.where(x <= 0, torch.zeros_like(x), x)


def logsumexp(x: Tensor, dim: int, *, keepdim: bool = False) -> Tensor:
    r"""Log of a sum of exponentials along ``dim``, without overflow.

    .. math:: \log \sum_{j=1}^{C} e^{z_j} = m + \log \sum_{j=1}^{C} e^{z_j - m},
              \qquad m = \max_j z_j

    Notes
    -----
    After the shift no exponent is positive, so nothing overflows, and the largest term is 1, so
    the sum cannot underflow to 0. The identity holds for any m, so m is a constant (``detach``).
    An infinite m is replaced by 0, so a row of all :math:`-\infty` gives :math:`-\infty` (torch
    too).

    See Also
    --------
    torch.logsumexp : the oracle.
    """
    x = _to_floating(x)  # checked; integers and bools become floats first, as in torch
    _check_dim(x, dim)
    _checks.check_flag(keepdim, "keepdim")
    m = _max(x, dim)
    m = torch.where(torch.isinf(m), torch.zeros_like(m), m)
    out = m + torch.log(torch.exp(x - m).sum(dim, keepdim=True))  # m + log Σⱼ e^{zⱼ−m}
    return out if keepdim else out.squeeze(dim)


def softmax(x: Tensor, dim: int) -> Tensor:
    r"""Softmax along ``dim``: turns C scores (logits) into C probabilities.

    .. math:: y_i = \frac{e^{z_i}}{\sum_{j=1}^{C} e^{z_j}}, \qquad i = 1, \dots, C

    Notes
    -----
    The lecture writes :math:`\sum_{i=0}^{m} e^{z_i}`, reusing i as the summation index; the
    sum runs over a separate index j. We subtract :math:`m = \max_j z_j` from every logit first,
    which changes nothing (the factor :math:`e^{-m}` cancels) but keeps :math:`e^{z_j - m} \le 1`,
    so logits of 1e4 do not overflow.

    See Also
    --------
    torch.softmax : the oracle.
    """
    _checks.check_tensor(x, "x", "floating")
    _check_dim(x, dim)
    e = torch.exp(x - _max(x, dim))  # e^{zᵢ − m}
    return e / e.sum(dim, keepdim=True)  # yᵢ = e^{zᵢ} / Σⱼ e^{zⱼ}


def log_softmax(x: Tensor, dim: int) -> Tensor:
    r"""Logarithm of :func:`softmax` along ``dim``, computed without forming the softmax.

    .. math:: \log y_i = z_i - \log \sum_{j=1}^{C} e^{z_j}

    Notes
    -----
    ``torch.log(softmax(x, dim))`` gives ``-inf`` once a probability underflows to 0 (a logit
    gap beyond about 745 in float64, 104 in float32). Subtracting :func:`logsumexp` stays
    finite. We shift by the max first and compute :math:`(z_i - m) - \log\sum_j e^{z_j - m}`:
    subtracting two large numbers ``z_i - logsumexp(z)`` would lose digits in float32.

    See Also
    --------
    torch.log_softmax : the oracle.
    """
    _checks.check_tensor(x, "x", "floating")
    _check_dim(x, dim)
    z = x - _max(x, dim)  # shift so the largest logit is 0
    return z - logsumexp(z, dim, keepdim=True)  # log yᵢ = zᵢ − log Σⱼ e^{zⱼ}


def l1_loss(input: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    r"""Mean absolute error (L1 loss), robust to outliers.

    .. math:: \ell_n = |x_n - y_n|

    and ``reduction`` gives :math:`\frac{1}{N}\sum_n \ell_n` ("mean"), :math:`\sum_n \ell_n`
    ("sum") or the :math:`\ell_n` themselves ("none"), N counting every element.

    Notes
    -----
    torch broadcasts input and target of different shapes with only a warning (a (N, 1)
    prediction against an (N,) target silently gives an N×N loss); annlib raises ValueError.

    See Also
    --------
    torch.nn.functional.l1_loss : the oracle.
    """
    _check_same_shape(input, target)
    return _reduce(torch.abs(input - target), reduction)  # ℓₙ = |xₙ − yₙ|


def mse_loss(input: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    r"""Mean squared error, the standard regression loss.

    .. math:: \ell_n = (x_n - y_n)^2

    reduced as in :func:`l1_loss`.

    Notes
    -----
    As in :func:`l1_loss`, shapes must be equal; torch would broadcast them.

    See Also
    --------
    torch.nn.functional.mse_loss : the oracle.
    """
    _check_same_shape(input, target)
    return _reduce((input - target) ** 2, reduction)  # ℓₙ = (xₙ − yₙ)²


def cross_entropy(
    logits: Tensor, target: Tensor, *, weight: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    r"""Cross-entropy of logits (N, C) against class indices (N,), with optional class weights.

    .. math:: \ell_n = -w_{y_n} \log \frac{e^{x_{n, y_n}}}{\sum_{c=1}^{C} e^{x_{n,c}}}

    with x the logits and :math:`y_n \in \{0, \dots, C-1\}` the target class of sample n.

    "sum" gives :math:`\sum_n \ell_n`; "mean" gives :math:`\sum_n \ell_n / \sum_n w_{y_n}`, a
    weighted mean, which is :math:`\frac{1}{N}\sum_n \ell_n` when all :math:`w_c = 1`.

    Notes
    -----
    With weights, torch's "mean" divides by the total weight of the targets, not by N. The
    lecture's trailing factor :math:`\cdot 1` is torch's indicator
    :math:`1\{y_n \neq \text{ignore\_index}\}`; annlib has no ``ignore_index``, no
    ``label_smoothing`` and no probability targets, and takes only 2-D logits. When the target
    weights sum to 0 (an empty batch, or all weights 0), "mean" is 0/0 = nan, as in torch.

    See Also
    --------
    torch.nn.functional.cross_entropy : the oracle.
    """
    weight = _check_classification(logits, target, weight)
    y = target.long().unsqueeze(1)
    log_p = log_softmax(logits, dim=1).gather(1, y).squeeze(1)  # log p_{n,yₙ}
    w = weight[target.long()]  # w_{yₙ}
    loss = -w * log_p  # ℓₙ = −w_{yₙ} log p_{n,yₙ}
    if reduction == "mean":
        return loss.sum() / w.sum()  # Σₙ ℓₙ / Σₙ w_{yₙ}
    return _reduce(loss, reduction)


def kl_div(input: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    r"""Kullback-Leibler divergence of a prediction from a target distribution.

    ``input`` holds log-probabilities :math:`\log q` (for example from :func:`log_softmax`),
    ``target`` holds probabilities p, each distribution along the last dimension:

    .. math:: \ell_i = p_i \, (\log p_i - \log q_i), \qquad 0 \cdot \log 0 = 0

    "sum" gives :math:`\sum_i \ell_i = \mathrm{KL}(p \,\|\, q)` summed over the batch;
    "batchmean" divides that by the batch size N = ``input.shape[0]``, the mean KL per sample;
    "mean" divides by the number of elements (N·C), which is not a KL divergence (torch warns
    about it when ``nn.KLDivLoss`` is called with its default).

    Notes
    -----
    The lecture writes :math:`L = y_\text{true} \cdot (\log y_\text{true} - \log y_\text{pred})`;
    torch (and annlib) take :math:`\log y_\text{pred}` as ``input``, not :math:`y_\text{pred}`,
    so do not pass probabilities. :math:`p \log p` is computed with ``torch.xlogy``, which is 0
    where p = 0. torch does not check that target is a distribution; annlib raises ValueError
    if an entry is negative or a row (last dimension) does not sum to 1 within 1e-3. torch's
    ``log_target`` flag is not implemented.

    See Also
    --------
    torch.nn.functional.kl_div : the oracle.
    """
    _check_same_shape(input, target)
    _check_distribution(target)
    loss = torch.xlogy(target, target) - target * input  # ℓᵢ = pᵢ log pᵢ − pᵢ log qᵢ
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.dim() > 0 else loss.sum()  # Σᵢ ℓᵢ / N
    return _reduce(loss, reduction, (*_REDUCTIONS, "batchmean"))
