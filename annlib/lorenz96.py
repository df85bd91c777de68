"""The two-scale Lorenz-96 model: the "real world" whose subgrid term a network learns to predict.

K slow variables X_k on a ring, each coupled to J fast variables Y_{j,k} (Lorenz 1996; the set-up
of Wilks 2005 and Arnold et al. 2013):

.. math::

    \\frac{dX_k}{dt} = -X_{k-1}(X_{k-2} - X_{k+1}) - X_k + F + U_k,
    \\qquad U_k = -\\frac{hc}{b} \\sum_{j=1}^{J} Y_{j,k}

    \\frac{dY_{j,k}}{dt} = -cb\\,Y_{j+1,k}(Y_{j+2,k} - Y_{j-1,k}) - c\\,Y_{j,k} + \\frac{hc}{b} X_k

The Y form one ring of length J·K (Y_{J+1,k} = Y_{1,k+1}). The one-scale model keeps only X and
replaces U_k by a ``closure(X)``: a parameterization, what a network is trained to be. U_k is the
term added to dX_k/dt; L96_demo's coupling term is its negative, subtracted.

Layout: ``x`` has shape (..., K) and ``y`` shape (..., K, J), ``y[..., k, j]`` being Y_{j+1,k+1},
so ``y.flatten(-2)`` is the ring in order. Leading dimensions are a batch (an ensemble): every
function steps all members at once. Trajectories put time first: ``x[i]`` is the state at ``t[i]``.

Steps: the fast Y (c = 10 times faster) set the step of the two-scale model, :data:`DT_TWO_SCALE`
= 0.001 model time units (L96_demo's default; one unit is about 5 atmospheric days, Lorenz 1996);
the one-scale model, without them, takes :data:`DT_ONE_SCALE` = 0.005. Both use classical
fourth-order Runge-Kutta (RK4): halving the step divides the error by 16.

Integration is in float64 by default. The model is chaotic: a float32 trajectory leaves the
float64 one from the same start within one or two time units, and float32's rounding (6e-8
relative, every step) is above RK4's error in X at these steps, so in float32 the tests could not
see RK4's order or its agreement with an oracle. On a CPU float32 is at most a third faster at
these sizes (``benchmarks/lorenz96.py``); pass ``dtype=torch.float32`` where only statistics matter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch

from annlib import _checks
from annlib.train import _progress_bar

__all__ = ["K", "J", "F", "H", "B", "C", "DT_TWO_SCALE", "DT_ONE_SCALE", "BlowUpError", "Trajectory",
           "advection_x", "advection_y", "subgrid_forcing", "tendencies", "tendency_one_scale", "polynomial",
           "step", "step_one_scale", "integrate", "integrate_one_scale", "truth"]

K, J, F, H, B, C = 8, 32, 20.0, 1.0, 10.0, 10.0  # Wilks (2005): K = 8, J = 32, F = 18 or 20, h = 1, b = c = 10
DT_TWO_SCALE, DT_ONE_SCALE = 0.001, 0.005        # model time units

Closure = Callable[[torch.Tensor], torch.Tensor]


class Trajectory(NamedTuple):
    """Samples of an integration, time first: ``t`` (n,) float64 on the CPU; ``x`` and the
    subgrid term ``u`` (n, ..., K); ``y`` (n, ..., K, J). ``u`` and ``y`` are None if not kept."""

    t: torch.Tensor
    x: torch.Tensor
    u: torch.Tensor | None = None
    y: torch.Tensor | None = None


class BlowUpError(FloatingPointError):
    """NaN or infinite values appeared: after ``step`` (at ``time``) in the batch indices
    ``members``; ``trajectory`` holds the samples taken before (None after one :func:`step`)."""

    def __init__(self, message: str, *, step: int, time: float, members: list[tuple[int, ...]],
                 trajectory: Trajectory | None):
        super().__init__(message)
        self.step, self.time, self.members, self.trajectory = step, time, members, trajectory


def advection_x(x: torch.Tensor) -> torch.Tensor:
    """The slow advection −X_{k−1}(X_{k−2} − X_{k+1}) around the ring of the last dimension."""
    _check_state(x, finite=False)
    return _advection_x(x)


def advection_y(y: torch.Tensor) -> torch.Tensor:
    """The fast advection −Y_{j+1,k}(Y_{j+2,k} − Y_{j−1,k}), without the factor cb, around the
    ring of all J·K fast variables of ``y`` (..., K, J)."""
    _check_y(y)
    return _advection_y(y)


def subgrid_forcing(y: torch.Tensor, *, h: float = H, b: float = B, c: float = C) -> torch.Tensor:
    """U_k = −(hc/b) Σ_j Y_{j,k}, shape (..., K): what the fast variables do to X_k, and the
    target a parameterization learns."""
    _check_y(y)
    _, h, b, c = _check_parameters(h=h, b=b, c=c)
    return _u(y, h, b, c)


def tendencies(x: torch.Tensor, y: torch.Tensor, *, F: float = F, h: float = H, b: float = B,
               c: float = C) -> tuple[torch.Tensor, torch.Tensor]:
    """(dX/dt, dY/dt) of the two-scale model at (x, y). NaN or infinite values pass through."""
    _check_state(x, y, finite=False)
    F, h, b, c = _check_parameters(F, h, b, c)
    return _tendencies(x, y, F, h, b, c)


def tendency_one_scale(x: torch.Tensor, *, F: float = F, closure: Closure | None = None) -> torch.Tensor:
    """dX_k/dt = −X_{k−1}(X_{k−2} − X_{k+1}) − X_k + F + closure(X)_k; ``closure=None`` is U = 0.

    ``closure`` is any callable X → U of X's shape (a torch module, :func:`polynomial`, ...),
    run in the caller's grad mode. NaN or infinite values pass through.
    """
    _check_state(x, finite=False)
    F = _check_parameters(F)[0]
    return _slow(x, F, _Checked(closure)(x))


def polynomial(coefficients: Sequence[float]) -> Closure:
    """The closure U_k = a₀ + a₁X_k + a₂X_k² + ..., coefficients lowest order first (Wilks 2005
    fits a quartic to U)."""
    if not (isinstance(coefficients, Sequence) and coefficients and all(map(_checks.is_real, coefficients))):
        raise ValueError(f"coefficients must be a non-empty sequence of finite numbers, got {coefficients!r:.80}")
    a = [float(_checks.as_number(value)) for value in coefficients]

    def closure(x: torch.Tensor) -> torch.Tensor:
        u = torch.full_like(x, a[-1])
        for value in reversed(a[:-1]):  # Horner: u ← u·X + a_i
            u = u * x + value
        return u

    return closure


def step(x: torch.Tensor, y: torch.Tensor, dt: float = DT_TWO_SCALE, *, F: float = F, h: float = H,
         b: float = B, c: float = C) -> tuple[torch.Tensor, torch.Tensor]:
    """One RK4 step of the two-scale model for the whole batch, in x's dtype; raises
    :class:`BlowUpError` if the new state is not finite."""
    _check_state(x, y)
    F, h, b, c = _check_parameters(F, h, b, c)
    dt = _checks.check_positive(dt, "dt", "model time units")
    state = _rk4(lambda s: _tendencies(*s, F, h, b, c), (x, y), dt)
    _check_step(state, None, 1, dt)
    return state


def step_one_scale(x: torch.Tensor, dt: float = DT_ONE_SCALE, *, F: float = F,
                   closure: Closure | None = None) -> torch.Tensor:
    """One RK4 step of the one-scale model in x's dtype and the caller's grad mode (so that it
    can be differentiated, for training a closure online)."""
    _check_state(x)
    F = _check_parameters(F)[0]
    dt = _checks.check_positive(dt, "dt", "model time units")
    closure = _Checked(closure)
    state = _rk4(lambda s: (_slow(s[0], F, closure(s[0])),), (x,), dt)
    _check_step(state, closure.bad, 1, dt)
    return state[0]


@torch.no_grad()
def integrate(x: torch.Tensor, y: torch.Tensor, *, steps: int, dt: float = DT_TWO_SCALE, every: int = 1,
              F: float = F, h: float = H, b: float = B, c: float = C, keep_y: bool = True,
              dtype: torch.dtype = torch.float64, progress: bool | None = None) -> Trajectory:
    """Integrate the two-scale model ``steps`` RK4 steps of ``dt`` from (x, y) converted to ``dtype``.

    Samples every ``every`` steps (which must divide ``steps``), from the initial state to the
    final one: ``steps // every + 1`` samples of x, u and y (with ``keep_y=False`` not y, J times
    less memory). ``progress``: a tqdm bar (None: unless ``TQDM_DISABLE`` is set). A NaN or
    infinite value raises :class:`BlowUpError` at the step where it appears: NaN trajectories
    are never returned.
    """
    steps, every, dt = _check_run(steps, every, dt, dtype, keep_y)
    _check_state(x, y)
    F, h, b, c = _check_parameters(F, h, b, c)

    def keep(s):
        return (s[0], _u(s[1], h, b, c), s[1]) if keep_y else (s[0], _u(s[1], h, b, c))

    return _run(lambda s: (_rk4(lambda v: _tendencies(*v, F, h, b, c), s, dt), None),
                (x.to(dtype), y.to(dtype)), keep, steps, every, dt, progress)


@torch.no_grad()
def integrate_one_scale(x: torch.Tensor, *, steps: int, dt: float = DT_ONE_SCALE, every: int = 1, F: float = F,
                        closure: Closure | None = None, dtype: torch.dtype = torch.float64,
                        progress: bool | None = None) -> Trajectory:
    """Integrate the one-scale model like :func:`integrate`; the trajectory has x only.

    The closure runs under ``torch.no_grad()`` and gets X in ``dtype``: give a float32 network
    ``dtype=torch.float32`` or convert it (``net.double()``), and call ``net.eval()`` first. One
    that returns a NaN or infinite value for a finite X raises :class:`BlowUpError` naming it.
    """
    steps, every, dt = _check_run(steps, every, dt, dtype, False)
    _check_state(x)
    F = _check_parameters(F)[0]
    closure = _Checked(closure)

    def advance(s):
        closure.bad = None
        return _rk4(lambda v: (_slow(v[0], F, closure(v[0])),), s, dt), closure.bad

    return _run(advance, (x.to(dtype),), lambda s: s, steps, every, dt, progress)


@torch.no_grad()
def truth(members: int = 8, *, steps: int, every: int, spin_up: int = 10_000, dt: float = DT_TWO_SCALE,
          K: int = K, J: int = J, F: float = F, h: float = H, b: float = B, c: float = C, seed: int = 0,
          dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu",
          progress: bool | None = None) -> Trajectory:
    """Training data: ``members`` independent two-scale trajectories as pairs (X(t), U(t)).

    Each member starts from its own random state, X ~ N(0, 1) and Y ~ 0.1·N(0, 1), drawn on the
    CPU from ``torch.Generator().manual_seed(seed)`` (the same on any ``device``); runs ``spin_up``
    steps onto the attractor (10 time units at the default dt), then ``steps`` more, sampled every
    ``every``. Returns x and u of shape (steps // every + 1, members, K), no y, and t from 0 at the
    end of the spin-up. ``benchmarks/lorenz96.py`` measures what it costs.
    """
    members, K, J = (_checks.check_positive_int(v, name) for v, name in [(members, "members"), (K, "K"), (J, "J")])
    if not _checks.is_int(spin_up) or spin_up < 0:
        raise ValueError(f"spin_up must be a non-negative integer number of steps, got {spin_up!r}")
    spin_up, seed = int(spin_up), _checks.check_seed(seed)
    steps, every, dt = _check_run(steps, every, dt, dtype, False)
    F, h, b, c = _check_parameters(F, h, b, c)
    device = _checks.device(device)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(members, K, generator=generator, dtype=torch.float64).to(device)
    y = 0.1 * torch.randn(members, K, J, generator=generator, dtype=torch.float64).to(device)
    options = dict(dt=dt, F=F, h=h, b=b, c=c, dtype=dtype, progress=progress)
    if spin_up:
        start = integrate(x, y, steps=spin_up, every=spin_up, **options)
        x, y = start.x[-1], start.y[-1]
    return integrate(x, y, steps=steps, every=every, keep_y=False, **options)


# ---------------------------------------------------------------------------------------------
# The equations and the integrator (unchecked: the public functions check their arguments)

def _advection_x(x):
    return -torch.roll(x, 1, -1) * (torch.roll(x, 2, -1) - torch.roll(x, -1, -1))  # −X_{k−1}(X_{k−2} − X_{k+1})


def _advection_y(y):
    r = y.flatten(-2)  # the ring: Y_{J+1,k} = Y_{1,k+1}
    adv = -torch.roll(r, -1, -1) * (torch.roll(r, -2, -1) - torch.roll(r, 1, -1))  # −Y_{j+1}(Y_{j+2} − Y_{j−1})
    return adv.view(y.shape)


def _u(y, h, b, c):
    return -(h * c / b) * y.sum(dim=-1)  # U_k = −(hc/b) Σ_j Y_{j,k}


def _slow(x, F, u):
    dx = _advection_x(x) - x + F  # −X_{k−1}(X_{k−2} − X_{k+1}) − X_k + F
    return dx if u is None else dx + u  # + U_k


def _tendencies(x, y, F, h, b, c):
    # dY/dt = −cbY_{j+1}(Y_{j+2} − Y_{j−1}) − cY_{j,k} + (hc/b)X_k
    dy = c * b * _advection_y(y) - c * y + (h * c / b) * x.unsqueeze(-1)
    return _slow(x, F, _u(y, h, b, c)), dy


def _rk4(f, state, dt):
    """One classical Runge-Kutta step of ds/dt = f(s) for a tuple of tensors s."""
    def at(k, tau):  # s + τ·k
        return tuple(s + tau * ks for s, ks in zip(state, k))

    k1 = f(state)
    k2 = f(at(k1, dt / 2))
    k3 = f(at(k2, dt / 2))
    k4 = f(at(k3, dt))
    return tuple(s + dt / 6 * (d1 + 2 * d2 + 2 * d3 + d4)  # s + Δt/6·(k₁ + 2k₂ + 2k₃ + k₄)
                 for s, d1, d2, d3, d4 in zip(state, k1, k2, k3, k4))


def _run(advance, state, keep, steps, every, dt, progress):
    """``steps`` times ``state, closure_bad = advance(state)``, checked; ``keep(state)`` sampled."""
    first, n = keep(state), steps // every + 1
    out = [torch.empty((n, *v.shape), dtype=v.dtype, device=v.device) for v in first]
    for samples, v in zip(out, first):
        samples[0] = v
    t = torch.arange(n, dtype=torch.float64) * (every * dt)
    bar = _progress_bar(steps, progress, unit="step")
    try:
        for i in range(1, steps + 1):
            state, closure_bad = advance(state)
            m = 1 + (i - 1) // every  # the samples taken so far
            _check_step(state, closure_bad, i, dt, lambda: Trajectory(t[:m], *(o[:m] for o in out)))
            if i % every == 0:
                for samples, v in zip(out, keep(state)):
                    samples[i // every] = v
            bar.update()
    finally:
        bar.close()
    return Trajectory(t, *out)


class _Checked:
    """A closure whose every result is checked to be a tensor of X's shape; ``bad`` marks the
    members for which it returned a NaN or infinite value from a finite X (no host sync)."""

    def __init__(self, closure):
        if closure is not None and not callable(closure):
            raise TypeError(f"closure must be a callable X -> U or None, got {type(closure).__name__} {closure!r:.60}")
        self.closure, self.bad = closure, None

    def __call__(self, x):
        if self.closure is None:
            return None
        u = self.closure(x)
        if not isinstance(u, torch.Tensor) or u.shape != x.shape:
            got = f"shape {tuple(u.shape)}" if isinstance(u, torch.Tensor) else type(u).__name__
            raise ValueError(f"closure must return a tensor of X's shape {tuple(x.shape)} (one U_k per X_k), got {got}")
        bad = ~torch.isfinite(u).all(dim=-1) & torch.isfinite(x).all(dim=-1)
        self.bad = bad if self.bad is None else self.bad | bad
        return u


# ---------------------------------------------------------------------------------------------
# Checks

def _check_y(y):
    _checks.check_tensor(y, "y", "floating")
    if y.dim() < 2:
        raise ValueError(f"y must have shape (..., K, J), got shape {tuple(y.shape)}")


def _check_state(x, y=None, *, finite=True):
    _checks.check_tensor(x, "x", "floating")
    if x.dim() == 0 or x.shape[-1] == 0:
        raise ValueError(f"x must have shape (..., K) with K >= 1 slow variables, got shape {tuple(x.shape)}")
    if y is not None:
        _check_y(y)
        if y.shape[:-1] != x.shape or y.shape[-1] == 0 or y.device != x.device:
            raise ValueError(f"y must have shape (..., K, J) = {(*x.shape, 'J')} with J >= 1, on x's device "
                             f"{x.device}, to match x of shape {tuple(x.shape)}; got shape {tuple(y.shape)} "
                             f"on {y.device}")
    for name, v, dims in [("x", x, 1), ("y", y, 2)]:
        if finite and v is not None and _nonfinite(v, dims).any():
            raise ValueError(f"{name} has NaN or infinite values in {_members(_nonfinite(v, dims))}; "
                             "the initial state must be finite")


def _check_parameters(F=F, h=H, b=B, c=C) -> tuple[float, float, float, float]:
    """F, h, b, c checked and returned as Python numbers (NumPy's as the number they print as)."""
    for value, name in [(F, "F"), (h, "h")]:
        if not _checks.is_real(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    for value, name in [(b, "b"), (c, "c")]:
        _checks.check_positive(value, name, "a ratio of scales; Wilks (2005): 10")
    return tuple(_checks.as_number(v) for v in (F, h, b, c))


def _check_run(steps, every, dt, dtype, keep_y) -> tuple[int, int, float]:
    """steps, every and dt checked and returned as Python numbers."""
    if not _checks.is_int(steps) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    _checks.check_positive_int(every, "every")
    if steps % every:
        raise ValueError(f"every must divide steps (the last sample is the final state), got steps={steps}, "
                         f"every={every}")
    dt = _checks.check_positive(dt, "dt", "model time units")
    if dtype not in (torch.float64, torch.float32):
        raise ValueError(f"dtype must be torch.float64 or torch.float32, got {dtype!r}")
    _checks.check_flag(keep_y, "keep_y")
    return int(steps), int(every), dt


def _nonfinite(v, dims):
    """The members (a mask over the batch) whose state v, x (dims=1) or y (dims=2), is not finite."""
    return ~torch.isfinite(v).flatten(-dims).all(dim=-1)


def _members(bad):
    """'3 of 8 members (the first is (2,))' for a mask over the batch, 'the state' without one."""
    if bad.dim() == 0:
        return "the state"
    return f"{int(bad.sum())} of {bad.numel()} members (the first is {tuple(bad.nonzero()[0].tolist())})"


def _check_step(state, closure_bad, step, dt, so_far=None):
    """Raise :class:`BlowUpError` if ``state``, (x,) or (x, y) after ``step``, is not finite or
    the closure gave a NaN or infinite U on the way (``closure_bad``, a mask over the batch)."""
    bad = _nonfinite(state[0], 1)
    for more in [_nonfinite(state[1], 2) if len(state) > 1 else None, closure_bad]:
        bad = bad if more is None else bad | more
    if not bad.any().item():
        return
    where = f"at step {step} (t = {step * dt:.6g})"
    if closure_bad is not None and closure_bad.any():
        bad = closure_bad
        message = f"the closure returned NaN or infinite values for a finite X {where} in {_members(bad)}"
    else:
        hint = "try a smaller dt" if len(state) > 1 else "try a smaller dt, or a closure that keeps X bounded"
        message = f"the integration blew up: NaN or infinite values appeared {where} in {_members(bad)}; {hint}"
    raise BlowUpError(message, step=step, time=step * dt, members=[tuple(i) for i in bad.nonzero().tolist()],
                      trajectory=so_far() if so_far is not None else None)
