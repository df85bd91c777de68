"""SGD, Adagrad, RMSprop and Adam written from their update rules, for teaching.

Each class subclasses :class:`torch.optim.Optimizer` and mirrors its ``torch.optim`` namesake
(argument names, defaults, state keys), so a ``state_dict()`` moves between the two and
``tests/test_optim.py`` holds each against torch step by step. ``step()`` is a plain loop over the
parameters that reads like the rule in the chapter; parameters without ``.grad`` are skipped.
torch's engineering options (``foreach``, ``fused``, ``capturable``, ``differentiable``,
``maximize``) are left out, and flags are keyword-only. α is ``lr``, λ is ``weight_decay``.

Notes
-----
Constructors reject bad hyperparameters as torch does, with the value in the message, and are
stricter in places: every number must be finite (torch accepts ``lr=inf``), ``dampening`` must
be in [0, 1] and flags must be bools (torch checks neither), ``momentum`` must be below 1
(torch accepts 9, meant as 0.9, and the steps then grow without bound), the settings of each
param group are checked too (torch checks only the constructor's), a param group may hold only
``params`` and the optimizer's own settings (torch keeps a misspelled ``"lrr"`` silently, and
the group trains at the default ``lr``; the bookkeeping keys torch, its lr schedulers and SWALR
write themselves, such as ``initial_lr``, ``max_lr`` and ``param_names``, are allowed), and
``params`` must be a non-empty iterable of tensors or dicts (a model, not ``model.parameters()``,
is a TypeError). ``step()`` checks nothing per parameter: a NaN or infinite gradient reaches the
weights exactly as in torch.

Numbers follow annlib's one rule: Python's and NumPy's integers and reals are accepted (bools
are not) and stored as the Python float they stand for; a ``numpy.float32`` is read as the
decimal it prints (``numpy.float32(0.9)`` is 0.9, where torch would use 0.8999999761581421).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import Tensor
from torch.optim.optimizer import ParamsT

from annlib import _checks

__all__ = ["SGD", "Adagrad", "RMSprop", "Adam"]


# Each hyperparameter's name in messages (torch's) and the values it may take.
_RULES = {
    "lr": ("learning rate", ">= 0"), "lr_decay": ("lr_decay", ">= 0"),
    "momentum": ("momentum", "in [0, 1)"), "dampening": ("dampening", "in [0, 1]"),
    "alpha": ("alpha", "in [0, 1)"), "eps": ("epsilon", "> 0"),
    "weight_decay": ("weight_decay", ">= 0"),
    "initial_accumulator_value": ("initial_accumulator_value", ">= 0"),
}
_FLAGS = ("nesterov", "centered", "amsgrad")
# What torch itself writes into a param group (the optimizer, its lr schedulers, swa_utils.SWALR):
# bookkeeping that annlib's steps never read, so a group copied from a scheduled optimizer is accepted.
_TORCH_KEYS = ("params", "param_names", "initial_lr", "max_lr", "min_lr", "base_momentum", "max_momentum",
               "swa_lr")


def _checked(name: str, value: object, rule: str) -> float:
    """Return ``value`` as a float if it is a finite real number obeying ``rule``; raise otherwise."""
    if not _checks.is_number(value):  # Python's and NumPy's reals, not bools
        raise TypeError(f"Invalid {name}: {value!r} is a {type(value).__name__}, expected a float")
    x = float(_checks.as_number(value))
    ok = {">= 0": x >= 0, "> 0": x > 0, "in [0, 1)": 0 <= x < 1, "in [0, 1]": 0 <= x <= 1}[rule]
    if name == "momentum" and x >= 1 and not math.isinf(x):
        raise ValueError(f"Invalid momentum: {value} (must be in [0, 1), e.g. 0.9; annlib is stricter than torch, "
                         "which accepts it, but with momentum >= 1 no gradient is ever forgotten and the steps "
                         "grow without bound)")
    if not ok:  # NaN fails every rule
        raise ValueError(f"Invalid {name}: {value} (must be {rule})")
    if math.isinf(x):
        raise ValueError(f"Invalid {name}: {value} (must be finite and {rule})")
    return x


def _checked_group(defaults: dict[str, Any], group: object, optimizer: str | None = None) -> dict[str, Any]:
    """A param group with the defaults filled in, every hyperparameter checked as torch checks
    the constructor's (torch does not check a group's own settings), and numbers as floats.
    With ``optimizer`` (its name), a key that is not one of its settings is an error: torch keeps
    it silently, and the group would train with the default of the setting meant."""
    if not isinstance(group, Mapping):
        raise TypeError(f"a param group must be a dict with a 'params' key, got {type(group).__name__}")
    if optimizer is not None and (unknown := sorted(set(group) - set(defaults) - set(_TORCH_KEYS), key=str)):
        raise ValueError(f"param group key(s) {unknown} are not settings of {optimizer}: its param groups take "
                         f"'params' and {', '.join(map(repr, defaults))} (torch would keep the unknown key and "
                         "train the group with the default); check the spelling")
    group = {**defaults, **group}
    for key, (name, rule) in _RULES.items():
        if key in group:
            group[key] = _checked(name, group[key], rule)
    for key in _FLAGS:
        if key in group and not isinstance(group[key], bool):
            raise TypeError(f"Invalid {key}: {group[key]!r} (must be True or False)")
    if "betas" in group:
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Invalid betas: {betas!r} (must be a pair (beta1, beta2))")
        group["betas"] = tuple(_checked(f"beta parameter at index {i}", beta, "in [0, 1)")
                               for i, beta in enumerate(betas))
    if group.get("nesterov") and (group["momentum"] <= 0 or group["dampening"] != 0):
        raise ValueError("Nesterov momentum requires a momentum and zero dampening, got "
                         f"momentum={group['momentum']}, dampening={group['dampening']}")
    return group


def _params(params: ParamsT) -> list:
    """``params`` as a list, if it is an iterable of tensors or of dicts that is not empty."""
    if isinstance(params, (Tensor, torch.nn.Module)) or not isinstance(params, Iterable):
        raise TypeError("params must be an iterable of Tensors or of dicts, such as "
                        f"model.parameters(); got {type(params).__name__}")
    params = list(params)
    if not params:
        raise ValueError("params is empty: there is nothing to optimize (got no tensors)")
    return params


def _evaluate(closure: Callable[[], float] | None) -> float | None:
    """Re-evaluate the loss with autograd on, as torch's optimizers do, if a closure is given."""
    if closure is not None and not callable(closure):
        raise TypeError(f"closure must be None or a function returning the loss, got {closure!r}")
    with torch.enable_grad():
        return None if closure is None else closure()


def _zero_step() -> Tensor:
    """A new step counter t = 0: a CPU scalar tensor, float64 only under a float64 default dtype."""
    dtype = torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
    return torch.tensor(0.0, dtype=dtype)


class SGD(torch.optim.Optimizer):
    r"""Stochastic gradient descent, optionally with (Nesterov) momentum.

    ``momentum_buffer`` is the velocity v, ``momentum`` is β and ``dampening`` is τ:

    .. math::
        g_t &\leftarrow \nabla L(w_{t-1}) + \lambda w_{t-1} \\
        v_t &\leftarrow \beta v_{t-1} + (1 - \tau)\, g_t, \qquad v_1 = g_1 \\
        w_t &\leftarrow w_{t-1} - \alpha v_t
        \qquad \text{(Nesterov: } w_t \leftarrow w_{t-1} - \alpha (g_t + \beta v_t)\text{)}

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters, or parameter groups (dicts) that override the settings below.
    lr : float, default 1e-3
        Learning rate α.
    momentum, dampening : float, default 0
        β in [0, 1) and τ in [0, 1]; with β = 0 this is plain SGD, w ← w − α·g, and keeps no
        state. annlib rejects β ≥ 1 (9 meant as 0.9), which torch accepts.
    weight_decay : float, default 0
        L2 penalty λ, added to the gradient.
    nesterov : bool, default False
        Nesterov momentum; needs ``momentum > 0`` and ``dampening == 0``.

    Notes
    -----
    The lecture writes momentum as v ← βv + g, w ← w − αv. That is PyTorch's convention: no
    (1 − β) factor on g, unlike the moving average v ← βv + (1 − β)g of many textbooks. The two
    take the same steps when the textbook's α is torch's α divided by 1 − β. Torch starts the
    buffer at v₁ = g₁, so ``dampening`` is skipped on the first step.

    See Also
    --------
    torch.optim.SGD : the oracle in ``tests/test_optim.py``.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, *,
                 nesterov: bool = False) -> None:
        defaults = _checked_group({}, dict(lr=lr, momentum=momentum, dampening=dampening,
                                           weight_decay=weight_decay, nesterov=nesterov))
        super().__init__(_params(params), defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a param group, with its settings (its own or the defaults) checked."""
        super().add_param_group(_checked_group(self.defaults, param_group, type(self).__name__))

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Update every parameter that has a gradient; return ``closure()`` if one is given."""
        loss = _evaluate(closure)
        for group in self.param_groups:
            lr, weight_decay = group["lr"], group["weight_decay"]
            beta, tau = group["momentum"], group["dampening"]
            for w in group["params"]:
                if w.grad is None:
                    continue
                g = w.grad
                if weight_decay != 0:
                    g = g + weight_decay * w  # g ← g + λ·w
                if beta != 0:
                    state = self.state[w]
                    if "momentum_buffer" not in state:
                        v = state["momentum_buffer"] = g.clone()  # v ← g on the first step
                    else:
                        v = state["momentum_buffer"]
                        v.mul_(beta).add_((1 - tau) * g)  # v ← β·v + (1−τ)·g
                    g = g + beta * v if group["nesterov"] else v  # g ← v (Nesterov: g + β·v)
                w.sub_(lr * g)  # w ← w − α·g
        return loss


class Adagrad(torch.optim.Optimizer):
    r"""Adagrad: each weight's step shrinks with the sum of its squared gradients.

    ``sum`` is G (the lecture's diag(G_t)), ``initial_accumulator_value`` is G₀, ``step`` is t
    and ``lr_decay`` is η:

    .. math::
        g_t &\leftarrow \nabla L(w_{t-1}) + \lambda w_{t-1} \\
        G_t &\leftarrow G_{t-1} + g_t^2 \\
        w_t &\leftarrow w_{t-1} - \frac{\alpha}{1 + (t - 1)\,\eta}\,
              \frac{g_t}{\sqrt{G_t} + \epsilon}

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters, or parameter groups (dicts) that override the settings below.
    lr : float, default 1e-2
        Learning rate α.
    lr_decay : float, default 0
        η: the learning rate at step t is α / (1 + (t − 1)·η).
    weight_decay : float, default 0
        L2 penalty λ, added to the gradient.
    initial_accumulator_value : float, default 0
        G₀, the same for every element.
    eps : float, default 1e-10
        ε, added to √G; annlib requires ε > 0 (torch accepts 0).

    Notes
    -----
    diag(G_t) in the lecture is this running sum of squared gradients, one number per weight.
    The lecture puts ε inside the root, √(G + ε); torch adds it outside, √G + ε, and so do we.
    Like torch, every parameter gets its state when the optimizer is built (even one that never
    gets a gradient), and G₀ is the constructor's value even in a group that sets its own.

    See Also
    --------
    torch.optim.Adagrad : the oracle in ``tests/test_optim.py``.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10) -> None:
        defaults = _checked_group({}, dict(
            lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value))
        super().__init__(_params(params), defaults)
        for group in self.param_groups:
            for w in group["params"]:
                self._init_state(w)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a param group, with its settings (its own or the defaults) checked."""
        super().add_param_group(_checked_group(self.defaults, param_group, type(self).__name__))

    def _init_state(self, w: Tensor) -> None:
        self.state[w]["step"] = _zero_step()
        self.state[w]["sum"] = torch.full_like(w, self.defaults["initial_accumulator_value"])

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Update every parameter that has a gradient; return ``closure()`` if one is given."""
        loss = _evaluate(closure)
        for group in self.param_groups:
            lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
            weight_decay = group["weight_decay"]
            for w in group["params"]:
                if w.grad is None:
                    continue
                state = self.state[w]
                if not state:  # a parameter added later by add_param_group
                    self._init_state(w)
                state["step"] += 1  # t ← t + 1
                t = state["step"].item()
                g = w.grad
                if weight_decay != 0:
                    g = g + weight_decay * w  # g ← g + λ·w
                lr_t = lr / (1 + (t - 1) * lr_decay)  # α_t ← α / (1 + (t−1)·η)
                G = state["sum"]
                G.add_(g * g)  # G ← G + g²
                w.sub_(lr_t * g / (G.sqrt() + eps))  # w ← w − α_t·g/(√G + ε)
        return loss


class RMSprop(torch.optim.Optimizer):
    r"""RMSprop: divide the gradient by a running root mean square of recent gradients.

    ``square_avg`` is v, and ``alpha`` is the chapter's smoothing constant β (the learning rate
    α is ``lr``):

    .. math::
        g_t &\leftarrow \nabla L(w_{t-1}) + \lambda w_{t-1} \\
        v_t &\leftarrow \beta v_{t-1} + (1 - \beta)\, g_t^2 \\
        w_t &\leftarrow w_{t-1} - \alpha\, g_t / (\sqrt{v_t} + \epsilon)

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters, or parameter groups (dicts) that override the settings below.
    lr : float, default 1e-2
        Learning rate α.
    alpha : float, default 0.99
        Smoothing constant β; annlib requires [0, 1) (torch accepts any value ≥ 0).
    eps : float, default 1e-8
        ε, added to √v; annlib requires ε > 0 (torch accepts 0).
    weight_decay : float, default 0
        L2 penalty λ, added to the gradient.
    momentum : float, default 0
        μ in [0, 1): accumulate b ← μb + g/(√v + ε) in ``momentum_buffer`` (b₀ = 0); w ← w − αb.
        annlib rejects μ ≥ 1, which torch accepts.
    centered : bool, default False
        Track ``grad_avg`` ḡ ← βḡ + (1 − β)g and divide by √(v − ḡ²), the spread of g.

    Notes
    -----
    The lecture writes w ← w − αg/√(v + ε), ε inside the root; torch adds it outside, √v + ε,
    and so do we. The lecture's ``torch.optim.RMSProp`` does not exist: the class is
    ``torch.optim.RMSprop``. There is no bias correction: v starts at 0, so the first step is
    about α/√(1 − β) = 10α per weight with the default β. ``step`` is counted but not used.

    See Also
    --------
    torch.optim.RMSprop : the oracle in ``tests/test_optim.py``.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, *,
                 centered: bool = False) -> None:
        defaults = _checked_group({}, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps,
                                           centered=centered, weight_decay=weight_decay))
        super().__init__(_params(params), defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a param group, with its settings (its own or the defaults) checked."""
        super().add_param_group(_checked_group(self.defaults, param_group, type(self).__name__))

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Update every parameter that has a gradient; return ``closure()`` if one is given."""
        loss = _evaluate(closure)
        for group in self.param_groups:
            lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
            beta, momentum = group["alpha"], group["momentum"]  # torch calls β "alpha"
            for w in group["params"]:
                if w.grad is None:
                    continue
                state = self.state[w]
                if not state:
                    state["step"], state["square_avg"] = _zero_step(), torch.zeros_like(w)
                    if momentum > 0:
                        state["momentum_buffer"] = torch.zeros_like(w)
                    if group["centered"]:
                        state["grad_avg"] = torch.zeros_like(w)
                state["step"] += 1  # t ← t + 1
                g = w.grad
                if weight_decay != 0:
                    g = g + weight_decay * w  # g ← g + λ·w
                v = state["square_avg"]
                v.mul_(beta).add_((1 - beta) * g * g)  # v ← β·v + (1−β)·g²
                if group["centered"]:
                    g_bar = state["grad_avg"]
                    g_bar.mul_(beta).add_((1 - beta) * g)  # ḡ ← β·ḡ + (1−β)·g
                    denom = (v - g_bar * g_bar).sqrt() + eps  # √(v − ḡ²) + ε
                else:
                    denom = v.sqrt() + eps  # √v + ε
                if momentum > 0:
                    b = state["momentum_buffer"]
                    b.mul_(momentum).add_(g / denom)  # b ← μ·b + g/(√v + ε)
                    w.sub_(lr * b)  # w ← w − α·b
                else:
                    w.sub_(lr * g / denom)  # w ← w − α·g/(√v + ε)
        return loss


class Adam(torch.optim.Optimizer):
    r"""Adam: momentum on the gradient, RMSprop's scaling, and a bias correction for both.

    ``exp_avg`` is m_t, ``exp_avg_sq`` is v_t, ``step`` is t and ``betas`` are (β₁, β₂):

    .. math::
        g_t &\leftarrow \nabla L(w_{t-1}) + \lambda w_{t-1} \\
        m_t &\leftarrow \beta_1 m_{t-1} + (1 - \beta_1)\, g_t, \qquad
        v_t \leftarrow \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2 \\
        \hat m_t &\leftarrow m_t / (1 - \beta_1^t), \qquad
        \hat v_t \leftarrow v_t / (1 - \beta_2^t) \\
        w_t &\leftarrow w_{t-1} - \alpha\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters, or parameter groups (dicts) that override the settings below.
    lr : float, default 1e-3
        Learning rate α.
    betas : tuple of float, default (0.9, 0.999)
        (β₁, β₂), the decay rates of m and v, each in [0, 1).
    eps : float, default 1e-8
        ε, added to √v̂; annlib requires ε > 0 (torch accepts 0).
    weight_decay : float, default 0
        L2 penalty λ, added to the gradient (Adam's coupled decay, not AdamW's).
    amsgrad : bool, default False
        Use the largest v so far (state ``max_exp_avg_sq``) in place of v (Reddi et al., 2018).

    Notes
    -----
    The lecture's "Adam" rule, w ← w − αg/√(v + ε), is really RMSprop: no first moment m and no
    bias correction. Adam (Kingma & Ba, 2014) divides m and v by 1 − βᵗ because both start at 0
    and are biased towards it early on. With the correction the first step moves every weight by
    about α; without it, by α(1 − β₁)/√(1 − β₂) ≈ 3.2α for the default betas. ε sits outside the
    root, as in the paper and in torch. ``weight_decay`` acts through the gradient, so Adam
    rescales it too; decoupled decay is :class:`torch.optim.AdamW`.

    See Also
    --------
    torch.optim.Adam : the oracle in ``tests/test_optim.py``.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, *, amsgrad: bool = False) -> None:
        defaults = _checked_group({}, dict(lr=lr, betas=betas, eps=eps,
                                           weight_decay=weight_decay, amsgrad=amsgrad))
        super().__init__(_params(params), defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a param group, with its settings (its own or the defaults) checked."""
        super().add_param_group(_checked_group(self.defaults, param_group, type(self).__name__))

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Update every parameter that has a gradient; return ``closure()`` if one is given."""
        loss = _evaluate(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay = group["weight_decay"]
            for w in group["params"]:
                if w.grad is None:
                    continue
                state = self.state[w]
                if not state:
                    state["step"] = _zero_step()
                    state["exp_avg"], state["exp_avg_sq"] = torch.zeros_like(w), torch.zeros_like(w)
                    if group["amsgrad"]:
                        state["max_exp_avg_sq"] = torch.zeros_like(w)
                state["step"] += 1  # t ← t + 1
                t = state["step"].item()
                g = w.grad
                if weight_decay != 0:
                    g = g + weight_decay * w  # g ← g + λ·w
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_((1 - beta1) * g)  # m ← β₁·m + (1−β₁)·g
                v.mul_(beta2).add_((1 - beta2) * g * g)  # v ← β₂·v + (1−β₂)·g²
                if group["amsgrad"]:  # v ← the largest v so far, kept in max_exp_avg_sq
                    v = torch.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
                m_hat = m / (1 - beta1**t)  # m̂ ← m/(1−β₁ᵗ)
                v_hat = v / (1 - beta2**t)  # v̂ ← v/(1−β₂ᵗ)
                w.sub_(lr * m_hat / (v_hat.sqrt() + eps))  # w ← w − α·m̂/(√v̂ + ε)
        return loss
