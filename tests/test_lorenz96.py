"""Tests of annlib.lorenz96: the equations against a transcription with loops, RK4's order measured,
energy conservation of the advection, SciPy's ``solve_ivp`` as an independent integrator, batching,
seeds, closures, blow-up reports, and the bad-input matrix.

Everything runs in float64 on a few members and well under a second of model time, so the whole
file takes seconds.
"""

import math
import re

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp
from torch import nn

from annlib import lorenz96
from annlib.train import _progress_bar

NAN, INF = float("nan"), float("inf")


def state(K=8, J=32, members=(), seed=0):
    """A random (x, y) of the magnitudes on the attractor (|X| ~ 5, |Y| ~ 0.5), float64."""
    g = torch.Generator().manual_seed(seed)
    x = 5 * torch.randn(*members, K, generator=g, dtype=torch.float64)
    y = 0.5 * torch.randn(*members, K, J, generator=g, dtype=torch.float64)
    return x, y


@pytest.fixture(scope="module")
def start():
    """Four members 0.3 time units after a random state: the fast Y have adjusted to X (they relax
    in about 1/c = 0.1), and the state is the same on every machine. Not longer: a rounding
    difference between CPUs (a sum in another order) would grow to the size of the state within a
    few time units, and what the tests measure depends on the state (RK4's error by 1000 times)."""
    x, y = state(members=(4,))
    run = lorenz96.integrate(x, y, steps=300, every=300, progress=False)
    return run.x[-1], run.y[-1]


# ---------------------------------------------------------------------------------------------
# The equations: a transcription with explicit loops over k and j (0-based, indices mod K or J·K)

def loops_two_scale(x, y, F, h, b, c):
    K, J = len(x), len(y[0])
    ring = [y[k][j] for k in range(K) for j in range(J)]  # Y_{J+1,k} = Y_{1,k+1}
    dx = [-x[(k - 1) % K] * (x[(k - 2) % K] - x[(k + 1) % K]) - x[k] + F - h * c / b * sum(y[k])
          for k in range(K)]
    dy = [[0.0] * J for _ in range(K)]
    for k in range(K):
        for j in range(J):
            i, n = k * J + j, K * J
            dy[k][j] = (-c * b * ring[(i + 1) % n] * (ring[(i + 2) % n] - ring[(i - 1) % n])
                        - c * ring[i] + h * c / b * x[k])
    return dx, dy


@pytest.mark.parametrize(("K", "J"), [(8, 32), (36, 10), (5, 3), (4, 1), (2, 2), (1, 5)])
def test_tendencies_match_the_equations_written_with_loops(K, J):
    x, y = state(K, J, members=(3,), seed=K + J)
    F, h, b, c = 18.0, 0.7, 9.0, 11.0
    dx, dy = lorenz96.tendencies(x, y, F=F, h=h, b=b, c=c)
    for m in range(3):
        want_dx, want_dy = loops_two_scale(x[m].tolist(), y[m].tolist(), F, h, b, c)
        torch.testing.assert_close(dx[m], torch.tensor(want_dx, dtype=torch.float64), rtol=1e-13, atol=1e-12)
        torch.testing.assert_close(dy[m], torch.tensor(want_dy, dtype=torch.float64), rtol=1e-13, atol=1e-12)
    torch.testing.assert_close(lorenz96.subgrid_forcing(y, h=h, b=b, c=c), -h * c / b * y.sum(-1))


@pytest.mark.parametrize("K", [8, 40, 3])
def test_one_scale_tendency_matches_the_equation_written_with_a_loop(K):
    x, _ = state(K, 1, members=(2,), seed=K)
    closure = lorenz96.polynomial([0.3, -1.2, 0.05, 0.001])
    got = lorenz96.tendency_one_scale(x, F=10.0, closure=closure)
    for m in range(2):
        v = x[m].tolist()
        want = [-v[(k - 1) % K] * (v[(k - 2) % K] - v[(k + 1) % K]) - v[k] + 10.0
                + (0.3 - 1.2 * v[k] + 0.05 * v[k] ** 2 + 0.001 * v[k] ** 3) for k in range(K)]
        torch.testing.assert_close(got[m], torch.tensor(want, dtype=torch.float64), rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize(("K", "J"), [(8, 32), (36, 10), (5, 3)])
def test_advection_conserves_energy(K, J):
    """Σ_k X_k·adv_k = 0 and Σ over the ring Y·adv_Y = 0: the quadratic terms only move energy."""
    x, y = state(K, J, members=(4,), seed=1)
    for v, adv in [(x, lorenz96.advection_x(x)), (y.flatten(-2), lorenz96.advection_y(y).flatten(-2))]:
        scale = (v * adv).abs().sum(-1)                       # the size of the terms that cancel
        assert ((v * adv).sum(-1).abs() <= 1e-14 * scale).all()


# ---------------------------------------------------------------------------------------------
# The integrator

def errors(run, x, y, T, dts):
    """‖state(T) − reference(T)‖ for each dt, the reference at dt/64 of the smallest."""
    final = {dt: run(x, y, round(T / dt), T / round(T / dt)) for dt in dts + [dts[-1] / 64]}
    ref = final.pop(dts[-1] / 64)
    return [torch.cat([(a - r).flatten() for a, r in zip(final[dt], ref)]).norm().item() for dt in dts]


def two_scale(x, y, n, dt):
    run = lorenz96.integrate(x, y, steps=n, dt=dt, every=n, progress=False)
    return run.x[-1], run.y[-1]


def one_scale(x, _, n, dt):
    return (lorenz96.integrate_one_scale(x, steps=n, dt=dt, every=n, progress=False).x[-1],)


@pytest.mark.parametrize(("run", "T", "dts"), [(two_scale, 0.016, [0.001, 0.0005, 0.00025]),
                                               (one_scale, 0.32, [0.01, 0.005, 0.0025])], ids=["two-scale", "one-scale"])
def test_rk4_is_fourth_order(start, run, T, dts):
    """Halving dt divides the error by 2⁴ = 16 (measured from six random states: 15.95 to 16.25)."""
    e = errors(run, *start, T, dts)
    ratios = [a / b for a, b in zip(e, e[1:])]
    assert all(15 < r < 17.5 for r in ratios), (e, ratios)


def numpy_two_scale(F, h, b, c, K, J):
    """The right-hand side for solve_ivp, written again with NumPy: s = [X, Y as the ring]."""
    def rhs(_, s):
        x, r = s[:K], s[K:]
        dx = np.roll(x, 1) * (np.roll(x, -1) - np.roll(x, 2)) - x + F - h * c / b * r.reshape(K, J).sum(1)
        dy = c * b * np.roll(r, -1) * (np.roll(r, 1) - np.roll(r, -2)) - c * r + h * c / b * np.repeat(x, J)
        return np.concatenate([dx, dy])
    return rhs


def test_integrate_agrees_with_solve_ivp(start):
    """SciPy's DOP853 at rtol 1e-12 as the oracle (its RK45 and Radau agree with it). At dt =
    0.00025 the RK4 trajectory from this state stays within 5.4e-9 (X) and 5.1e-8 (Y) of it over
    0.2 time units; at the default dt = 0.001 about 16² times farther."""
    x, y = start[0][0], start[1][0]
    K, J = 8, 32
    run = lorenz96.integrate(x, y, steps=800, dt=0.00025, every=200, progress=False)
    oracle = solve_ivp(numpy_two_scale(20.0, 1.0, 10.0, 10.0, K, J), (0, 0.2), torch.cat([x, y.flatten()]).numpy(),
                       method="DOP853", t_eval=run.t.numpy(), rtol=1e-12, atol=1e-12)
    assert oracle.success
    want = torch.from_numpy(oracle.y.T)
    torch.testing.assert_close(run.x, want[:, :K], rtol=0, atol=1e-7)
    torch.testing.assert_close(run.y, want[:, K:].reshape(-1, K, J), rtol=0, atol=1e-6)
    torch.testing.assert_close(run.u, -want[:, K:].reshape(-1, K, J).sum(-1), rtol=0, atol=1e-6)


def test_integrate_one_scale_agrees_with_solve_ivp(start):
    x, a = start[0][0], [-0.2, -0.6, 0.01]
    run = lorenz96.integrate_one_scale(x, steps=500, dt=0.001, every=100, closure=lorenz96.polynomial(a),
                                       progress=False)

    def rhs(_, v):
        return np.roll(v, 1) * (np.roll(v, -1) - np.roll(v, 2)) - v + 20.0 + a[0] + a[1] * v + a[2] * v ** 2

    oracle = solve_ivp(rhs, (0, 0.5), x.numpy(), method="DOP853", t_eval=run.t.numpy(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(run.x, torch.from_numpy(oracle.y.T), rtol=0, atol=3e-8)  # measured: 1.5e-9


def test_an_ensemble_stepped_at_once_equals_each_member_stepped_alone(start):
    """Bitwise: the same operations on each member, whatever the batch."""
    x, y = start
    together = lorenz96.integrate(x, y, steps=100, every=10, progress=False)
    batched = lorenz96.integrate_one_scale(x, steps=100, every=10, closure=lorenz96.polynomial([0, -0.5]),
                                           progress=False)
    for m in range(len(x)):
        alone = lorenz96.integrate(x[m], y[m], steps=100, every=10, progress=False)
        assert torch.equal(together.x[:, m], alone.x) and torch.equal(together.y[:, m], alone.y)
        one = lorenz96.integrate_one_scale(x[m], steps=100, every=10, closure=lorenz96.polynomial([0, -0.5]),
                                           progress=False)
        assert torch.equal(batched.x[:, m], one.x)
    grid = lorenz96.integrate(x.view(2, 2, 8), y.view(2, 2, 8, 32), steps=100, every=10, progress=False)
    assert torch.equal(grid.x.flatten(1, 2), together.x)  # any batch shape


def test_samples_are_the_states_every_few_steps(start):
    x, y = start
    fine = lorenz96.integrate(x, y, steps=12, every=1, progress=False)
    coarse = lorenz96.integrate(x, y, steps=12, every=4, keep_y=False, progress=False)
    assert torch.equal(coarse.x, fine.x[::4]) and torch.equal(coarse.u, fine.u[::4]) and coarse.y is None
    torch.testing.assert_close(coarse.t, torch.tensor([0.0, 0.004, 0.008, 0.012], dtype=torch.float64))
    assert torch.equal(fine.x[0], x) and torch.equal(fine.y[0], y)
    assert torch.equal(lorenz96.step(x, y)[0], fine.x[1]) and torch.equal(lorenz96.step(x, y)[1], fine.y[1])
    assert torch.equal(lorenz96.step_one_scale(x), lorenz96.integrate_one_scale(x, steps=1, progress=False).x[1])
    assert lorenz96.integrate(x, y, steps=0, progress=False).x.shape == (1, 4, 8)


def test_float64_by_default_and_float32_on_request(start):
    x, y = start
    run = lorenz96.integrate(x.float(), y.float(), steps=10, every=5, progress=False)
    assert run.x.dtype == run.u.dtype == run.y.dtype == torch.float64
    single = lorenz96.integrate(x, y, steps=10, every=5, dtype=torch.float32, progress=False)
    assert single.x.dtype == torch.float32
    torch.testing.assert_close(single.x.double(), run.x, rtol=0, atol=1e-4)


def test_the_progress_bar_counts_steps(start, monkeypatch):
    bars = []

    def recorded(*args, **kwargs):
        bars.append(_progress_bar(*args, **kwargs))
        return bars[-1]

    monkeypatch.setattr(lorenz96, "_progress_bar", recorded)
    lorenz96.integrate_one_scale(start[0], steps=50, every=10, progress=True)
    assert bars[0].total == bars[0].n == 50  # a disabled bar does not count


# ---------------------------------------------------------------------------------------------
# Truth data

def test_truth_is_reproducible_from_a_seed():
    a = lorenz96.truth(3, steps=40, every=20, spin_up=100, seed=7, progress=False)
    b = lorenz96.truth(3, steps=40, every=20, spin_up=100, seed=7, progress=False)
    c = lorenz96.truth(3, steps=40, every=20, spin_up=100, seed=8, progress=False)
    assert a.x.shape == a.u.shape == (3, 3, 8) and a.y is None
    assert torch.equal(a.x, b.x) and torch.equal(a.u, b.u) and torch.equal(a.t, b.t)
    assert not torch.equal(a.x, c.x)
    assert not torch.equal(a.x[:, 0], a.x[:, 1])  # members start from different states


def test_truth_pairs_are_the_state_and_its_subgrid_term():
    """Spin-up then sampling equals one integration of the same random start."""
    run = lorenz96.truth(2, steps=30, every=10, spin_up=50, K=4, J=3, F=18.0, seed=3, progress=False)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 4, generator=g, dtype=torch.float64)
    y = 0.1 * torch.randn(2, 4, 3, generator=g, dtype=torch.float64)
    whole = lorenz96.integrate(x, y, steps=80, every=10, F=18.0, progress=False)
    torch.testing.assert_close(run.x, whole.x[5:], rtol=0, atol=1e-13)
    torch.testing.assert_close(run.u, lorenz96.subgrid_forcing(whole.y[5:]), rtol=0, atol=1e-13)


# ---------------------------------------------------------------------------------------------
# Closures

def test_the_exact_subgrid_term_as_closure_reproduces_the_two_scale_x_tendency(start):
    x, y = start
    exact = lorenz96.subgrid_forcing(y)
    assert torch.equal(lorenz96.tendency_one_scale(x, closure=lambda _: exact), lorenz96.tendencies(x, y)[0])


def test_no_closure_is_a_zero_closure(start):
    x, y = start
    zero = lorenz96.tendency_one_scale(x, closure=torch.zeros_like)
    assert torch.equal(lorenz96.tendency_one_scale(x), zero)
    assert torch.equal(lorenz96.tendencies(x, torch.zeros_like(y))[0], zero)
    none = lorenz96.integrate_one_scale(x, steps=20, every=10, progress=False)
    assert torch.equal(none.x, lorenz96.integrate_one_scale(x, steps=20, every=10, closure=torch.zeros_like,
                                                            progress=False).x)


def test_a_network_closure_runs_without_gradients_in_integrate_and_with_them_in_a_step(start):
    net = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    modes = []

    def closure(x):
        modes.append(torch.is_grad_enabled())
        return net(x.unsqueeze(-1)).squeeze(-1)

    run = lorenz96.integrate_one_scale(start[0], steps=3, closure=closure, progress=False)
    assert modes == [False] * 12 and not run.x.requires_grad
    lorenz96.step_one_scale(start[0], closure=closure).square().sum().backward()  # online training
    assert modes[-1] and all(p.grad is not None for p in net.parameters())


# ---------------------------------------------------------------------------------------------
# Blow-up: reported where it happens, never returned as NaN

def test_a_step_too_long_is_reported_where_the_state_blows_up(start):
    with pytest.raises(lorenz96.BlowUpError, match=r"^the integration blew up: NaN or infinite values appeared at step "
                       r"\d+ \(t = [\d.]+\) in \d of 4 members \(the first is \(\d,\)\); try a smaller dt, or a "
                       "closure that keeps X bounded$") as error:
        lorenz96.integrate_one_scale(start[0], steps=400, dt=0.2, every=2, progress=False)
    e = error.value
    assert 0 < e.step < 400 and math.isclose(e.time, e.step * 0.2) and e.members
    assert len(e.trajectory.t) == (e.step - 1) // 2 + 1 and torch.isfinite(e.trajectory.x).all()


def test_a_closure_that_drives_x_to_infinity_is_named(start):
    with pytest.raises(lorenz96.BlowUpError, match=r"^the closure returned NaN or infinite values for a finite X at "
                       r"step \d+ \(t = [\d.]+\) in \d of 4 members \(the first is \(\d,\)\)$") as error:
        lorenz96.integrate_one_scale(start[0], steps=400, every=10, closure=lorenz96.polynomial([0, 0, 0, 1]),
                                     progress=False)
    e = error.value
    assert e.members and set(e.members) <= {(0,), (1,), (2,), (3,)} and torch.isfinite(e.trajectory.x).all()


def test_a_closure_returning_nan_is_named():
    x = torch.tensor([[1.0, -2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]], dtype=torch.float64)
    with pytest.raises(lorenz96.BlowUpError, match=re.escape(
            "the closure returned NaN or infinite values for a finite X at step 1 (t = 0.005) in 1 of 2 members "
            "(the first is (0,))")) as error:
        lorenz96.integrate_one_scale(x, steps=5, closure=torch.sqrt, progress=False)
    assert error.value.members == [(0,)] and len(error.value.trajectory.t) == 1


def test_a_two_scale_step_too_long_is_reported():
    x, y = state()
    with pytest.raises(lorenz96.BlowUpError, match=r"blew up: .* at step \d+ \(t = .*\) in the state; try a smaller dt$"):
        lorenz96.integrate(x, y, steps=1000, dt=0.05, progress=False)


# ---------------------------------------------------------------------------------------------
# The bad-input matrix: a clear exception whose message names the value and what is valid

X, Y = state(members=(2,))


def says(*parts: str) -> str:
    return ".*".join(map(re.escape, parts))


def case(call, error, *parts, id):
    return pytest.param(call, error, says(*parts), id=id)


def nan_at(t, index):
    t = t.clone()
    t[index] = NAN
    return t


TENSOR = "must be a torch.Tensor"
RUN = dict(steps=4, progress=False)
ERRORS = [
    case(lambda: lorenz96.tendencies(X.tolist(), Y), TypeError, f"x {TENSOR}", "got list", id="x-list"),
    case(lambda: lorenz96.tendencies(X.long(), Y), TypeError, "x must be a tensor of floating-point numbers",
         "torch.int64", id="x-integer"),
    case(lambda: lorenz96.tendencies(X, Y.numpy()), TypeError, f"y {TENSOR}", "got ndarray", id="y-ndarray"),
    case(lambda: lorenz96.tendencies(X[0, 0], Y), ValueError, "x must have shape (..., K) with K >= 1",
         "got shape ()", id="x-0d"),
    case(lambda: lorenz96.tendencies(X[:, :0], Y[:, :0]), ValueError, "K >= 1", "got shape (2, 0)", id="K-zero"),
    case(lambda: lorenz96.tendencies(X, Y[:, :7]), ValueError, "y must have shape (..., K, J) = (2, 8, 'J')",
         "got shape (2, 7, 32)", id="K-mismatch"),
    case(lambda: lorenz96.tendencies(X, Y[:1]), ValueError, "to match x of shape (2, 8)", "got shape (1, 8, 32)",
         id="batch-mismatch"),
    case(lambda: lorenz96.tendencies(X, Y[..., 0]), ValueError, "y must have shape (..., K, J)", "got shape (2, 8)",
         id="y-without-J"),
    case(lambda: lorenz96.tendencies(X, Y[..., :0]), ValueError, "J >= 1", "got shape (2, 8, 0)", id="J-zero"),
    case(lambda: lorenz96.tendencies(X, Y, b=0), ValueError, "b must be positive and finite", "got 0", id="b-zero"),
    case(lambda: lorenz96.tendencies(X, Y, c=-10.0), ValueError, "c must be positive", "got -10.0", id="c-negative"),
    case(lambda: lorenz96.tendencies(X, Y, F=NAN), ValueError, "F must be a finite number, got nan", id="F-nan"),
    case(lambda: lorenz96.tendencies(X, Y, h="1"), ValueError, "h must be a finite number, got '1'", id="h-str"),
    case(lambda: lorenz96.advection_y(X[0]), ValueError, "y must have shape (..., K, J), got shape (8,)",
         id="advection_y-1d"),
    case(lambda: lorenz96.subgrid_forcing(Y.int()), TypeError, "y must be a tensor of floating-point", id="U-int"),
    case(lambda: lorenz96.step(X, Y, 0.0), ValueError, "dt must be positive and finite (model time units), got 0.0",
         id="step-dt-zero"),
    case(lambda: lorenz96.step(X, Y, -0.001), ValueError, "dt must be positive", "got -0.001", id="step-dt-negative"),
    case(lambda: lorenz96.integrate(X, Y, steps=4, dt=INF), ValueError, "dt must be positive and finite", "got inf",
         id="dt-inf"),
    case(lambda: lorenz96.integrate_one_scale(X, steps=4, dt=NAN), ValueError, "dt must be positive and finite",
         "got nan", id="dt-nan"),
    case(lambda: lorenz96.integrate(X, Y, steps=4.0), ValueError, "steps must be a non-negative integer, got 4.0",
         id="steps-float"),
    case(lambda: lorenz96.integrate(X, Y, steps=-1), ValueError, "steps must be a non-negative integer, got -1",
         id="steps-negative"),
    case(lambda: lorenz96.integrate(X, Y, steps=True), ValueError, "steps must be a non-negative integer, got True",
         id="steps-bool"),
    case(lambda: lorenz96.integrate(X, Y, steps=10, every=0), ValueError, "every must be a positive integer, got 0",
         id="every-zero"),
    case(lambda: lorenz96.integrate(X, Y, steps=10, every=3), ValueError, "every must divide steps",
         "got steps=10, every=3", id="every-not-a-divisor"),
    case(lambda: lorenz96.integrate(X, Y, **RUN, dtype=torch.float16), ValueError,
         "dtype must be torch.float64 or torch.float32, got torch.float16", id="dtype-half"),
    case(lambda: lorenz96.integrate(X, Y, **RUN, keep_y=1), TypeError, "keep_y must be True or False, got 1",
         id="keep_y-int"),
    case(lambda: lorenz96.integrate(nan_at(X, (1, 3)), Y, **RUN), ValueError,
         "x has NaN or infinite values in 1 of 2 members (the first is (1,)); the initial state must be finite",
         id="x-nan"),
    case(lambda: lorenz96.step(X, nan_at(Y, (0, 2, 5)) * INF), ValueError,
         "y has NaN or infinite values in 2 of 2 members (the first is (0,))", id="y-inf"),
    case(lambda: lorenz96.step_one_scale(nan_at(X[0], 0)), ValueError,
         "x has NaN or infinite values in the state", id="step-x-nan"),
    case(lambda: lorenz96.integrate_one_scale(X, **RUN, closure="net"), TypeError,
         "closure must be a callable X -> U or None, got str 'net'", id="closure-not-callable"),
    case(lambda: lorenz96.integrate_one_scale(X, **RUN, closure=lambda x: x.sum(-1)), ValueError,
         "closure must return a tensor of X's shape (2, 8) (one U_k per X_k), got shape (2,)",
         id="closure-wrong-shape"),
    case(lambda: lorenz96.integrate_one_scale(X, **RUN, closure=lambda x: 0.0), ValueError,
         "closure must return a tensor of X's shape (2, 8)", "got float", id="closure-returns-float"),
    case(lambda: lorenz96.tendency_one_scale(X, closure=lambda x: x[..., None]), ValueError,
         "closure must return a tensor of X's shape", "got shape (2, 8, 1)", id="tendency-closure-shape"),
    case(lambda: lorenz96.step_one_scale(X, closure=lambda x: x / 0), lorenz96.BlowUpError,
         "the closure returned NaN or infinite values for a finite X at step 1", id="closure-inf"),
    case(lambda: lorenz96.polynomial([]), ValueError, "coefficients must be a non-empty sequence of finite numbers",
         id="polynomial-empty"),
    case(lambda: lorenz96.polynomial([1.0, NAN]), ValueError, "finite numbers, got [1.0, nan]", id="polynomial-nan"),
    case(lambda: lorenz96.truth(0, steps=4, every=2), ValueError, "members must be a positive integer, got 0",
         id="truth-no-members"),
    case(lambda: lorenz96.truth(2, steps=4, every=2, K=-8), ValueError, "K must be a positive integer, got -8",
         id="truth-K-negative"),
    case(lambda: lorenz96.truth(2, steps=4, every=2, J=0), ValueError, "J must be a positive integer, got 0",
         id="truth-J-zero"),
    case(lambda: lorenz96.truth(2, steps=4, every=2, spin_up=0.5), ValueError,
         "spin_up must be a non-negative integer number of steps, got 0.5", id="truth-spin_up-float"),
    case(lambda: lorenz96.truth(2, steps=4, every=2, seed=1.5), ValueError, "seed must be an integer", "got 1.5",
         id="truth-seed-float"),
    case(lambda: lorenz96.truth(2, steps=4, every=2, device="tpu"), ValueError,
         "device must be a torch.device or a name like 'cpu' or 'cuda', got 'tpu'", id="truth-device"),
]


@pytest.mark.bad_input
@pytest.mark.parametrize(("call", "error", "match"), ERRORS)
def test_lorenz96_rejects(call, error, match):
    with pytest.raises(error, match=match):
        call()
