"""annlib.optim against its oracle, torch.optim, in float64.

The core test runs an annlib optimizer and its torch namesake side by side on the same random
problem for 100 steps, with random hyperparameters passed explicitly to both and two parameter
groups with different settings, and compares every parameter and every state buffer after every
step. The rest: defaults, ``state_dict`` round trips (also across the two libraries), a parameter
that never gets a gradient, bad hyperparameters, and a few facts the chapter states.
"""

from __future__ import annotations

import copy
import inspect
import math
import re

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annlib import optim, testing

settings.register_profile(
    "optim", deadline=None, max_examples=50, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
# Applied per test, on top of whatever profile is loaded (conftest's "ci" when run by pytest).
PROFILE = settings.get_profile("optim")

PAIRS = {
    "SGD": (optim.SGD, torch.optim.SGD),
    "Adagrad": (optim.Adagrad, torch.optim.Adagrad),
    "RMSprop": (optim.RMSprop, torch.optim.RMSprop),
    "Adam": (optim.Adam, torch.optim.Adam),
}
NAMES = list(PAIRS)
# torch's engineering options that annlib leaves out on purpose.
OMITTED = {"foreach", "fused", "capturable", "differentiable", "maximize", "decoupled_weight_decay"}
TORCH_ONLY = dict(foreach=False)  # force torch's plain per-parameter loop
RTOL = 1e-6
STEPS = 100


# ----------------------------------------------------------------------------- hyperparameters


def floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def zero_or(lo: float, hi: float) -> st.SearchStrategy[float]:
    """0 (the default, which skips a branch) or a value in [lo, hi], lo > 0 so it matters."""
    return st.one_of(st.just(0.0), floats(lo, hi))


EPS = st.one_of(st.just(1e-8), floats(1e-10, 1e-3))


@st.composite
def sgd_settings(draw):
    momentum = draw(zero_or(0.1, 0.9))
    nesterov = momentum > 0 and draw(st.booleans())
    return dict(lr=draw(floats(1e-3, 0.05)), momentum=momentum,
                dampening=0.0 if nesterov else draw(zero_or(0.1, 0.9)),
                weight_decay=draw(zero_or(1e-3, 0.1)), nesterov=nesterov)


SETTINGS = {
    "SGD": sgd_settings(),
    "Adagrad": st.fixed_dictionaries(dict(
        lr=floats(1e-3, 0.3), lr_decay=zero_or(1e-3, 0.5), weight_decay=zero_or(1e-3, 0.1),
        initial_accumulator_value=zero_or(1e-3, 1.0), eps=st.one_of(st.just(1e-10), EPS))),
    "RMSprop": st.fixed_dictionaries(dict(
        lr=floats(1e-4, 1e-2), alpha=floats(0.5, 0.999), eps=EPS,
        weight_decay=zero_or(1e-3, 0.1), momentum=zero_or(0.1, 0.9), centered=st.booleans())),
    "Adam": st.fixed_dictionaries(dict(
        lr=floats(1e-4, 1e-2), betas=st.tuples(floats(0.0, 0.99), floats(0.5, 0.9999)), eps=EPS,
        weight_decay=zero_or(1e-3, 0.1), amsgrad=st.booleans())),
}
# Fixed non-default settings that switch every branch on, for the tests that are not random.
BUSY = {
    "SGD": dict(lr=0.03, momentum=0.9, dampening=0.0, weight_decay=0.01, nesterov=True),
    "Adagrad": dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1,
                    eps=1e-10),
    "RMSprop": dict(lr=3e-3, alpha=0.9, eps=1e-8, weight_decay=0.01, momentum=0.5, centered=True),
    "Adam": dict(lr=3e-3, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.01, amsgrad=True),
}
GROUP1 = {  # different settings for the second parameter group
    "SGD": dict(lr=0.01, momentum=0.5, dampening=0.3, weight_decay=0.0, nesterov=False),
    "Adagrad": dict(lr=0.05, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.5,
                    eps=1e-6),
    "RMSprop": dict(lr=1e-3, alpha=0.99, eps=1e-6, weight_decay=0.0, momentum=0.0,
                    centered=False),
    "Adam": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0, amsgrad=False),
}


# ----------------------------------------------------------------------------- the problem


class Problem:
    """A tanh MLP 4 → 8 → 2 with an MSE loss on random data, and one parameter it never uses.

    Everything comes from its own ``torch.Generator``, so the global RNG is never touched.
    """

    def __init__(self, seed: int, steps: int = STEPS, batch: int = 16) -> None:
        gen = torch.Generator().manual_seed(seed)

        def randn(*shape: int) -> torch.Tensor:
            return torch.randn(*shape, generator=gen, dtype=torch.float64)

        self.init = dict(W1=randn(8, 4) / 2, b1=randn(8) / 10, W2=randn(2, 8) / 3,
                         b2=randn(2) / 10, unused=randn(3))
        self.x = randn(64, 4)
        self.y = torch.sin(self.x @ randn(4, 2)) + 0.1 * randn(64, 2)
        self.batches = [torch.randperm(64, generator=gen)[:batch] for _ in range(steps)]

    def params(self) -> dict[str, torch.Tensor]:
        """A fresh copy of the initial parameters, as leaves that require grad."""
        return {k: v.clone().requires_grad_() for k, v in self.init.items()}

    @staticmethod
    def groups(p: dict[str, torch.Tensor], group1: dict | None) -> list[dict]:
        """Two parameter groups; the first inherits the defaults and holds the unused one."""
        second = {"params": [p["W2"], p["b2"]], **(group1 or {})}
        return [{"params": [p["W1"], p["b1"], p["unused"]]}, second]

    def loss(self, p: dict[str, torch.Tensor], step: int) -> torch.Tensor:
        i = self.batches[step % len(self.batches)]
        hidden = torch.tanh(self.x[i] @ p["W1"].T + p["b1"])
        return torch.nn.functional.mse_loss(hidden @ p["W2"].T + p["b2"], self.y[i])

    def advance(self, p: dict[str, torch.Tensor], opt: torch.optim.Optimizer, step: int) -> None:
        opt.zero_grad()
        self.loss(p, step).backward()
        opt.step()


def make(cls: type, p: dict[str, torch.Tensor], kwargs: dict, group1: dict | None):
    extra = TORCH_ONLY if cls.__module__.startswith("torch.") else {}
    return cls(Problem.groups(p, group1), **kwargs, **extra)


def assert_close(actual: torch.Tensor, expected: torch.Tensor, what: str) -> None:
    error = testing.max_relative_error(actual, expected)
    assert error <= RTOL, f"{what}: relative error {error:.3g}"


def assert_same(pa: dict, pb: dict, oa: torch.optim.Optimizer, ob: torch.optim.Optimizer,
                when: str) -> None:
    testing.assert_same_state(pa, pb, oa, ob, rtol=RTOL, when=when)


# ----------------------------------------------------------------------------- lockstep with torch


@pytest.mark.parametrize("name", NAMES)
@settings(PROFILE)
@given(seed=st.integers(0, 2**32 - 1), data=st.data())
def test_lockstep_trajectory_matches_torch(name, seed, data):
    kwargs = data.draw(SETTINGS[name], label="defaults (group 0)")
    group1 = data.draw(SETTINGS[name], label="group 1")
    problem = Problem(seed)
    (ours, theirs), pa, pb = PAIRS[name], problem.params(), problem.params()
    oa, ob = make(ours, pa, kwargs, group1), make(theirs, pb, kwargs, group1)
    for step in range(STEPS):
        problem.advance(pa, oa, step)
        problem.advance(pb, ob, step)
        assert_same(pa, pb, oa, ob, f"step {step + 1}")


@pytest.mark.parametrize("name", NAMES)
def test_parameter_without_grad_is_untouched_and_has_torch_state(name):
    problem = Problem(0)
    (ours, theirs), pa, pb = PAIRS[name], problem.params(), problem.params()
    oa, ob = make(ours, pa, BUSY[name], GROUP1[name]), make(theirs, pb, BUSY[name], GROUP1[name])
    for step in range(10):
        problem.advance(pa, oa, step)
        problem.advance(pb, ob, step)
    assert pa["unused"].grad is None
    assert torch.equal(pa["unused"], problem.init["unused"])
    assert_same(pa, pb, oa, ob, "after 10 steps")
    state = oa.state.get(pa["unused"], {})
    if name == "Adagrad":  # torch's Adagrad builds all state in __init__
        assert state["step"].item() == 0
        assert torch.equal(state["sum"], torch.full((3,), 0.1, dtype=torch.float64))
    else:
        assert state == {}


@pytest.mark.parametrize("name", NAMES)
def test_add_param_group_later_matches_torch(name):
    problem = Problem(1)
    (ours, theirs), pa, pb = PAIRS[name], problem.params(), problem.params()
    opts = []
    for cls, p in ((ours, pa), (theirs, pb)):
        extra = TORCH_ONLY if cls is theirs else {}
        opt = cls([p["W1"], p["b1"], p["unused"]], **BUSY[name], **extra)
        opt.add_param_group({"params": [p["W2"], p["b2"]], **GROUP1[name]})
        opts.append(opt)
    for step in range(20):
        problem.advance(pa, opts[0], step)
        problem.advance(pb, opts[1], step)
        assert_same(pa, pb, *opts, f"step {step + 1}")


def test_adagrad_starts_every_group_from_the_constructors_accumulator_value_like_torch():
    w = [torch.zeros(2, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    groups = [{"params": [w[0]]}, {"params": [w[1]], "initial_accumulator_value": 5.0}]
    for cls in PAIRS["Adagrad"]:
        opt = cls(groups, initial_accumulator_value=0.5)
        assert opt.param_groups[1]["initial_accumulator_value"] == 5.0  # stored, but not used:
        assert [opt.state[p]["sum"].tolist() for p in w] == [[0.5, 0.5], [0.5, 0.5]]


@pytest.mark.parametrize("name", NAMES)
def test_step_returns_closure_loss_like_torch(name):
    problem = Problem(2)
    (ours, theirs), pa, pb = PAIRS[name], problem.params(), problem.params()
    oa, ob = make(ours, pa, BUSY[name], None), make(theirs, pb, BUSY[name], None)
    for step in range(5):
        losses = []
        for p, opt in ((pa, oa), (pb, ob)):
            def closure(p=p, opt=opt):
                opt.zero_grad()
                loss = problem.loss(p, step)
                loss.backward()
                return loss
            losses.append(opt.step(closure))
        assert math.isclose(losses[0].item(), losses[1].item(), rel_tol=RTOL)
        assert_same(pa, pb, oa, ob, f"step {step + 1}")
    assert oa.step() is None  # no closure, no loss


# ----------------------------------------------------------------------------- defaults


@pytest.mark.parametrize("name", NAMES)
def test_defaults_equal_torch(name):
    ours, theirs = PAIRS[name]
    sig_ours = inspect.signature(ours.__init__).parameters
    sig_torch = inspect.signature(theirs.__init__).parameters
    assert set(sig_ours) == set(sig_torch) - OMITTED
    for arg, p in sig_ours.items():
        assert p.default == sig_torch[arg].default, arg
    w = [torch.zeros(2, requires_grad=True)]
    torch_defaults = {k: v for k, v in theirs(w).defaults.items() if k not in OMITTED}
    assert ours(w).defaults == torch_defaults


@pytest.mark.parametrize("name", ["Adagrad", "RMSprop", "Adam"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_step_counter_is_a_tensor_with_torch_dtype(name, dtype):
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        steps = []
        for cls in PAIRS[name]:
            w = torch.ones(2, dtype=torch.float64, requires_grad=True)
            opt = cls([w])
            w.grad = torch.ones_like(w)
            opt.step()
            steps.append(opt.state[w]["step"])
    finally:
        torch.set_default_dtype(previous)
    assert steps[0].dtype == steps[1].dtype == dtype
    assert steps[0].device == steps[1].device and steps[0].item() == steps[1].item() == 1


# ----------------------------------------------------------------------------- state_dict


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("source, target", [("annlib", "annlib"), ("torch", "torch"),
                                            ("annlib", "torch"), ("torch", "annlib")])
def test_state_dict_round_trip(name, source, target):
    """Run k steps with ``source``, save, load into a fresh ``target`` (built with default
    settings: the state dict restores them) on fresh parameters, and continue. The trajectory
    equals an uninterrupted ``target`` run: bitwise within a library, to RTOL across the two."""
    cls = dict(zip(("annlib", "torch"), PAIRS[name]))
    problem, k, n = Problem(3), 15, 30
    kwargs, group1 = BUSY[name], GROUP1[name]

    p_ref = problem.params()
    ref = make(cls[target], p_ref, kwargs, group1)
    p_src = problem.params()
    src = make(cls[source], p_src, kwargs, group1)
    for step in range(k):
        problem.advance(p_ref, ref, step)
        problem.advance(p_src, src, step)
    saved = copy.deepcopy(src.state_dict())

    p_new = {key: t.detach().clone().requires_grad_() for key, t in p_src.items()}
    new = make(cls[target], p_new, {}, None)
    new.load_state_dict(saved)
    for step in range(k, n):
        problem.advance(p_ref, ref, step)
        problem.advance(p_new, new, step)
        assert_same(p_new, p_ref, new, ref, f"step {step + 1}")
        if source == target:
            for key in p_ref:
                assert torch.equal(p_new[key], p_ref[key])


# ----------------------------------------------------------------------------- chapter claims


def test_sgd_momentum_is_the_textbook_moving_average_with_lr_over_one_minus_beta():
    """torch's v ← βv + g, w ← w − αv equals the textbook v ← βv + (1 − β)g, w ← w − α'v
    (v₀ = 0) with α' = α / (1 − β), on the quadratic L(w) = ½ wᵀAw."""
    gen = torch.Generator().manual_seed(4)
    a = torch.randn(5, 5, generator=gen, dtype=torch.float64)
    A, w0 = a @ a.T / 5 + torch.eye(5, dtype=torch.float64), torch.randn(5, dtype=torch.float64)
    lr, beta = 0.05, 0.9
    w = w0.clone().requires_grad_()
    opt = optim.SGD([w], lr=lr, momentum=beta)
    w_book, v_book = w0.clone(), torch.zeros(5, dtype=torch.float64)
    for _ in range(50):
        w.grad = A @ w.detach()
        opt.step()
        v_book = beta * v_book + (1 - beta) * (A @ w_book)
        w_book = w_book - lr / (1 - beta) * v_book
        assert_close(w.detach(), w_book, "SGD vs textbook momentum")


def first_step(opt_cls: type, scale: float, **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
    """|Δw| after one step from a gradient of the given scale, and |g|."""
    gen = torch.Generator().manual_seed(5)
    w = torch.randn(100, generator=gen, dtype=torch.float64, requires_grad=True)
    w0 = w.detach().clone()
    w.grad = scale * torch.randn(100, generator=gen, dtype=torch.float64)
    opt_cls([w], **kwargs).step()
    return (w.detach() - w0).abs(), w.grad.abs()


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_adam_first_step_moves_every_weight_by_about_lr_whatever_the_gradient_scale(scale):
    """m̂₁ = g and v̂₁ = g², so |Δw| = α·|g|/(|g| + ε) ≈ α: bias correction at work."""
    step, g = first_step(optim.Adam, scale, lr=1e-3, eps=1e-8)
    torch.testing.assert_close(step, 1e-3 * g / (g + 1e-8), rtol=1e-12, atol=0)
    assert (step / 1e-3 - 1).abs().median() < 1e-3


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_rmsprop_first_step_is_about_lr_over_sqrt_one_minus_alpha(scale):
    """v₁ = (1 − β)g², so |Δw| = α·|g|/(√(1 − β)·|g| + ε) ≈ α/√(1 − β) = 10α for β = 0.99."""
    step, g = first_step(optim.RMSprop, scale, lr=1e-3, alpha=0.99, eps=1e-8)
    torch.testing.assert_close(step, 1e-3 * g / (math.sqrt(0.01) * g + 1e-8), rtol=1e-12, atol=0)
    assert (step / 1e-2 - 1).abs().median() < 1e-3


# ----------------------------------------------------------------------------- bad hyperparameters


BAD = [  # (optimizer, arguments, message, does torch raise ValueError too? None: not checked)
    ("SGD", dict(lr=-0.1), "Invalid learning rate: -0.1 (must be >= 0)", True),
    ("SGD", dict(lr=math.nan), "Invalid learning rate: nan", False),
    ("SGD", dict(momentum=-0.5), "Invalid momentum: -0.5", True),
    ("SGD", dict(weight_decay=-1e-4), "Invalid weight_decay: -0.0001", True),
    ("SGD", dict(nesterov=True), "Nesterov momentum requires a momentum", True),
    ("SGD", dict(momentum=0.9, dampening=0.1, nesterov=True), "dampening=0.1", True),
    ("Adagrad", dict(lr=-1.0), "Invalid learning rate: -1.0", True),
    ("Adagrad", dict(lr_decay=-0.5), "Invalid lr_decay: -0.5", True),
    ("Adagrad", dict(weight_decay=-0.5), "Invalid weight_decay: -0.5", True),
    ("Adagrad", dict(initial_accumulator_value=-1.0), "Invalid initial_accumulator_value: -1.0",
     True),
    ("Adagrad", dict(eps=0.0), "Invalid epsilon: 0.0 (must be > 0)", False),
    ("Adagrad", dict(eps=-1e-10), "Invalid epsilon: -1e-10", True),
    ("RMSprop", dict(lr=-0.01), "Invalid learning rate: -0.01", True),
    ("RMSprop", dict(alpha=-0.1), "Invalid alpha: -0.1 (must be in [0, 1))", True),
    ("RMSprop", dict(alpha=1.0), "Invalid alpha: 1.0 (must be in [0, 1))", False),
    ("RMSprop", dict(eps=0.0), "Invalid epsilon: 0.0", False),
    ("RMSprop", dict(momentum=-0.9), "Invalid momentum: -0.9", True),
    ("RMSprop", dict(weight_decay=-0.1), "Invalid weight_decay: -0.1", True),
    ("Adam", dict(lr=-1e-3), "Invalid learning rate: -0.001", True),
    ("Adam", dict(betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0", True),
    ("Adam", dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1", True),
    ("Adam", dict(betas=(0.9,)), "Invalid betas: (0.9,)", None),  # torch: IndexError
    ("Adam", dict(eps=0.0), "Invalid epsilon: 0.0", False),
    ("Adam", dict(weight_decay=-0.1), "Invalid weight_decay: -0.1", True),
]


@pytest.mark.parametrize("name, kwargs, message, torch_too", BAD,
                         ids=[f"{b[0]}-{','.join(b[1])}-{i}" for i, b in enumerate(BAD)])
def test_bad_hyperparameter_raises_value_error(name, kwargs, message, torch_too):
    ours, theirs = PAIRS[name]
    w = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match=re.escape(message)):
        ours(w, **kwargs)
    if torch_too:  # where annlib is no stricter than torch, torch raises ValueError too
        with pytest.raises(ValueError):
            theirs(w, **kwargs)
    elif torch_too is False:  # annlib is stricter here; the docstrings say so
        theirs(w, **kwargs)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("lr", ["0.1", torch.tensor(0.1), True, None, np.True_], ids=repr)
def test_non_float_lr_raises_type_error(name, lr):
    with pytest.raises(TypeError, match=r"Invalid learning rate: .* expected a float"):
        PAIRS[name][0]([torch.zeros(2, requires_grad=True)], lr=lr)


# ----------------------------------------------------------------------------- numbers


def _as_numpy(settings: dict) -> dict:
    """The same settings as NumPy scalars: float32 for the reals, as a sweep grid would give them."""
    convert = lambda v: v if isinstance(v, bool) else tuple(map(np.float32, v)) if isinstance(v, tuple) \
        else np.float32(v)  # noqa: E731
    return {key: convert(value) for key, value in settings.items()}


@pytest.mark.parametrize("name", NAMES)
def test_numpy_settings_are_the_numbers_typed(name):
    """np.float32(0.9) is read as 0.9 (annlib's one rule), so the trajectory is the Python numbers' one."""
    runs = []
    for settings_ in (BUSY[name], _as_numpy(BUSY[name])):
        torch.manual_seed(0)
        w = torch.nn.Parameter(torch.randn(3, dtype=torch.float64))
        opt = PAIRS[name][0]([w], **settings_)
        for _ in range(5):
            w.grad = torch.sin(w.detach() * 3)
            opt.step()
        runs.append((w.detach(), opt.param_groups[0]))
    (w_py, group_py), (w_np, group_np) = runs
    assert torch.equal(w_py, w_np)
    assert {k: v for k, v in group_py.items() if k != "params"} == {k: v for k, v in group_np.items() if k != "params"}
    assert all(type(v) in (float, bool, tuple) for k, v in group_np.items() if k != "params")

