"""annlib.functional against its oracle, torch: values and gradients, then every bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from annlib import functional
from annlib.testing import TOLERANCES as TOL
from annlib.testing import assert_matches_oracle, value_and_grads


DTYPES = (torch.float32, torch.float64)

# Ordinary values, plus the extremes and the kinks where a from-scratch formula goes wrong.
VALUES = st.one_of(
    st.floats(-30, 30, allow_nan=False, width=32),
    st.sampled_from([0.0, -1e4, 1e4, -100.0, 100.0, 1e-8]),
)
SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)


def tensors(shape=SHAPES, elements=VALUES):
    """Strategy for a tensor of the given shape strategy in float32 or float64."""
    arrays = hnp.arrays(np.float64, shape, elements=elements)
    return st.tuples(arrays, st.sampled_from(DTYPES)).map(lambda a: torch.tensor(a[0], dtype=a[1]))


# ----------------------------------------------------------------------------- activations

ELEMENTWISE = [
    (functional.sigmoid, torch.sigmoid),
    (functional.tanh, torch.tanh),
    (functional.relu, torch.relu),
]


@pytest.mark.parametrize(("ours", "oracle"), ELEMENTWISE, ids=lambda f: f.__name__)
@given(x=tensors())
def test_elementwise_activation_matches_torch(ours, oracle, x):
    got = assert_matches_oracle(ours, oracle, x)
    assert torch.isfinite(got).all()


@pytest.mark.parametrize(
    ("ours", "oracle"),
    [(functional.softmax, torch.softmax), (functional.log_softmax, torch.log_softmax)],
    ids=["softmax", "log_softmax"],
)
@given(data=st.data(), x=tensors())
def test_softmax_family_matches_torch(ours, oracle, data, x):
    dim = data.draw(st.integers(-x.dim(), x.dim() - 1), label="dim")
    got = assert_matches_oracle(lambda t: ours(t, dim), lambda t: oracle(t, dim), x)
    assert torch.isfinite(got).all()


@given(data=st.data(), x=tensors())
def test_logsumexp_matches_torch(data, x):
    dim = data.draw(st.integers(-x.dim(), x.dim() - 1), label="dim")
    keepdim = data.draw(st.booleans(), label="keepdim")
    assert_matches_oracle(
        lambda t: functional.logsumexp(t, dim, keepdim=keepdim),
        lambda t: torch.logsumexp(t, dim, keepdim=keepdim),
        x,
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_gradients_at_zero_match_torch(dtype):
    # relu'(0) = 0 in torch; sigmoid'(0) = 1/4 and tanh'(0) = 1 catch a |x| whose gradient is 0.
    slopes = {functional.relu: 0.0, functional.sigmoid: 0.25, functional.tanh: 1.0}
    for ours, expected in slopes.items():
        x = torch.zeros(1, dtype=dtype, requires_grad=True)
        ours(x).sum().backward()
        assert x.grad.item() == expected, ours.__name__
    x = torch.tensor([-1.0, 0.0, 2.0], dtype=dtype)
    _, (grad,) = value_and_grads(functional.relu, x)
    _, (torch_grad,) = value_and_grads(torch.relu, x)
    assert grad[1] == 0 and torch.equal(grad, torch_grad)


@pytest.mark.parametrize("dtype", DTYPES)
def test_extreme_inputs_stay_finite(dtype):
    x = torch.tensor([[-1e4, 0.0, 1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    log2 = float(np.log(2))
    expected = {
        functional.sigmoid: [[0.0, 0.5, 1.0], [1.0, 1.0, 0.0]],
        functional.tanh: [[-1.0, 0.0, 1.0], [1.0, 1.0, -1.0]],
        functional.relu: [[0.0, 0.0, 1e4], [1e4, 1e4, 0.0]],
        lambda t: functional.softmax(t, 1): [[0.0, 0.0, 1.0], [0.5, 0.5, 0.0]],
        lambda t: functional.log_softmax(t, 1): [[-2e4, -1e4, 0.0], [-log2, -log2, -2e4 - log2]],
        lambda t: functional.logsumexp(t, 1): [1e4, 1e4 + log2],
    }
    for fn, want in expected.items():
        got = fn(x)
        assert torch.isfinite(got).all()
        torch.testing.assert_close(got, torch.tensor(want, dtype=dtype), **TOL[dtype])


def test_logsumexp_of_all_minus_inf_is_minus_inf_like_torch():
    x = torch.tensor([[-float("inf"), -float("inf")], [0.0, -float("inf")]], dtype=torch.float64)
    torch.testing.assert_close(functional.logsumexp(x, 1), torch.logsumexp(x, 1))
    torch.testing.assert_close(functional.log_softmax(x[1:], 1), torch.log_softmax(x[1:], 1))


# ------------------------------------------------------------ integer and bool inputs

# The values of each integer dtype where computing on the integers goes wrong: -x of a uint8
# wraps around (-1 is 255), and -x or 2·x of the extremes of a signed dtype overflows.
INTEGER_VALUES = {
    torch.uint8: [0, 1, 2, 3, 127, 128, 200, 254, 255],
    torch.int8: [-128, -127, -1, 0, 1, 3, 64, 127],
    torch.int16: [-32768, -100, -1, 0, 1, 100, 32767],
    torch.int32: [-2**31, -1000, -1, 0, 1, 1000, 2**31 - 1],
    torch.int64: [-2**63, -2**62, -1, 0, 1, 2**62, 2**63 - 1],
    torch.bool: [True, False, True, True],
}
CONVERTING = [  # torch converts integers and bools to its default floating-point dtype here
    ("sigmoid", functional.sigmoid, torch.sigmoid),
    ("tanh", functional.tanh, torch.tanh),
    ("logsumexp", lambda x: functional.logsumexp(x, 0), lambda x: torch.logsumexp(x, 0)),
    ("logsumexp-2d", lambda x: functional.logsumexp(x.reshape(-1, 1).expand(-1, 2), 1),
     lambda x: torch.logsumexp(x.reshape(-1, 1).expand(-1, 2), 1)),
]


@pytest.fixture(params=[torch.float32, torch.float64], ids=["default-float32", "default-float64"])
def default_dtype(request):
    before = torch.get_default_dtype()
    torch.set_default_dtype(request.param)
    yield request.param
    torch.set_default_dtype(before)


@pytest.mark.parametrize("dtype", INTEGER_VALUES, ids=lambda d: str(d)[6:])
@pytest.mark.parametrize(("name", "ours", "oracle"), CONVERTING, ids=[c[0] for c in CONVERTING])
def test_integer_and_bool_inputs_are_converted_as_torch_converts_them(name, ours, oracle, dtype, default_dtype):
    """Same dtype (torch's default) and values as torch, never an integer that wrapped around."""
    x = torch.tensor(INTEGER_VALUES[dtype], dtype=dtype)
    got, expected = ours(x), oracle(x)
    assert got.dtype == expected.dtype == default_dtype
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("dtype", [d for d in INTEGER_VALUES if d != torch.bool], ids=lambda d: str(d)[6:])
def test_relu_of_integers_keeps_their_dtype_as_torch_does(dtype):
    x = torch.tensor(INTEGER_VALUES[dtype], dtype=dtype)
    got = functional.relu(x)
    assert got.dtype == dtype and torch.equal(got, torch.relu(x))


@pytest.mark.parametrize("dtype", INTEGER_VALUES, ids=lambda d: str(d)[6:])
@pytest.mark.parametrize(("ours", "oracle"), [(functional.softmax, torch.softmax),
                                               (functional.log_softmax, torch.log_softmax)],
                         ids=["softmax", "log_softmax"])
def test_softmax_family_rejects_integers_and_bools_as_torch_does(ours, oracle, dtype):
    x = torch.tensor(INTEGER_VALUES[dtype], dtype=dtype)
    with pytest.raises(NotImplementedError):
        oracle(x, 0)
    with pytest.raises(TypeError, match=f"x must be a tensor of floating-point numbers, got dtype {dtype}; "
                                        r"convert it first, e.g. with \.float\(\)"):
        ours(x, 0)
    torch.testing.assert_close(ours(x.float(), 0), oracle(x.float(), 0))  # the fix the message names


def test_relu_rejects_bools_as_torch_does():
    with pytest.raises(NotImplementedError):
        torch.relu(torch.tensor([True]))
    with pytest.raises(TypeError, match="x must be a tensor of real numbers .*, got dtype torch.bool"):
        functional.relu(torch.tensor([True]))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int64, torch.bool], ids=lambda d: str(d)[6:])
def test_cross_entropy_rejects_integer_weights_as_torch_does(dtype):
    """-w of uint8 weights would wrap around (w = 1 gave -w = 255): torch rejects them, so does annlib."""
    logits, target = torch.randn(3, 2, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 1])
    weight = torch.tensor([1, 2]).to(dtype)
    with pytest.raises(RuntimeError):
        torch.nn.functional.cross_entropy(logits, target, weight=weight)
    with pytest.raises(TypeError, match=f"weight must be a tensor of floating-point numbers, got dtype {dtype}"):
        functional.cross_entropy(logits, target, weight=weight)
    torch.testing.assert_close(functional.cross_entropy(logits, target, weight=weight.float()),
                               torch.nn.functional.cross_entropy(logits, target, weight=weight.float()))


@pytest.mark.parametrize("dim", [np.int64(1), np.int32(-1), np.uint8(1)], ids=repr)
def test_numpy_integer_dim_is_the_python_integer(dim):
    x = torch.randn(2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for fn in (functional.softmax, functional.log_softmax, functional.logsumexp):
        assert torch.equal(fn(x, dim), fn(x, int(dim)))


# ----------------------------------------------------------------------------- losses

REDUCTIONS = ("none", "mean", "sum")


@st.composite
def pairs(draw, shape=SHAPES):
    """Two tensors of one shape and one dtype."""
    x = draw(tensors(shape=shape))
    y = draw(hnp.arrays(np.float64, x.shape, elements=VALUES))
    return x, torch.tensor(y, dtype=x.dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["l1_loss", "mse_loss"])
@given(xy=pairs())
def test_regression_losses_match_torch(name, reduction, xy):
    ours, oracle = getattr(functional, name), getattr(torch.nn.functional, name)
    assert_matches_oracle(
        lambda x, y: ours(x, y, reduction=reduction),
        lambda x, y: oracle(x, y, reduction=reduction),
        *xy,
    )


@st.composite
def classification(draw):
    """Logits (N, C), integer targets (N,) and optionally class weights (C,)."""
    n, c = draw(st.integers(1, 6)), draw(st.integers(1, 5))
    logits = draw(tensors(shape=st.just((n, c))))
    target = torch.tensor(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    weights = draw(st.none() | hnp.arrays(np.float64, c, elements=st.floats(0.1, 10)))
    weight = None if weights is None else torch.tensor(weights, dtype=logits.dtype)
    return logits, target, weight


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(case=classification())
def test_cross_entropy_matches_torch(reduction, case):
    logits, target, weight = case
    w64 = None if weight is None else weight.double()
    got = assert_matches_oracle(
        lambda z: functional.cross_entropy(z, target, weight=weight, reduction=reduction),
        lambda z: torch.nn.functional.cross_entropy(z, target, weight=w64, reduction=reduction),
        logits,
    )
    assert torch.isfinite(got).all()  # logits of ±1e4 included


def test_cross_entropy_weighted_mean_divides_by_target_weights():
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [1.0, 1.0]], dtype=torch.float64)
    target, weight = torch.tensor([0, 0, 1]), torch.tensor([1.0, 3.0], dtype=torch.float64)
    total = functional.cross_entropy(logits, target, weight=weight, reduction="sum")
    mean = functional.cross_entropy(logits, target, weight=weight)
    torch.testing.assert_close(mean, total / (1.0 + 1.0 + 3.0))  # Σ w_{yₙ} = 5, not N = 3
    expected = torch.nn.functional.cross_entropy(logits, target, weight=weight)
    torch.testing.assert_close(mean, expected)


def test_cross_entropy_accepts_other_integer_targets():
    logits = torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    target = torch.tensor([0, 2, 1, 2])
    expected = torch.nn.functional.cross_entropy(logits, target)
    for dtype in (torch.int32, torch.uint8):
        torch.testing.assert_close(functional.cross_entropy(logits, target.to(dtype)), expected)


@st.composite
def distributions(draw):
    """Log-probabilities (any reals, as torch allows) and target distributions with some 0s."""
    shape = draw(SHAPES)
    log_q = draw(tensors(shape=st.just(shape)))
    elements = st.sampled_from([0.0]) | st.floats(1e-3, 10)
    mass = draw(hnp.arrays(np.float64, shape, elements=elements))
    mass[..., 0] += 1.0  # every row has some mass
    p = torch.tensor(mass / mass.sum(axis=-1, keepdims=True), dtype=log_q.dtype)
    return log_q, p


@pytest.mark.parametrize("reduction", (*REDUCTIONS, "batchmean"))
@given(case=distributions())
def test_kl_div_matches_torch(reduction, case):
    log_q, p = case
    assert_matches_oracle(
        lambda x: functional.kl_div(x, p, reduction=reduction),
        lambda x: torch.nn.functional.kl_div(x, p.double(), reduction=reduction),
        log_q,
    )


@pytest.mark.parametrize("reduction", (*REDUCTIONS, "batchmean"))
def test_kl_div_gradient_wrt_both_arguments(reduction):
    gen = torch.Generator().manual_seed(2)
    log_q = torch.log_softmax(torch.randn(4, 5, generator=gen, dtype=torch.float64), dim=1)
    p = torch.softmax(torch.randn(4, 5, generator=gen, dtype=torch.float64), dim=1)  # p > 0
    assert_matches_oracle(
        lambda x, t: functional.kl_div(x, t, reduction=reduction),
        lambda x, t: torch.nn.functional.kl_div(x, t, reduction=reduction),
        log_q,
        p,
    )


def test_kl_div_batchmean_is_mean_kl_per_sample():
    p = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    q = torch.tensor([[0.25, 0.25, 0.5], [0.5, 0.25, 0.25]], dtype=torch.float64)
    # KL per row = Σᵢ pᵢ log(pᵢ/qᵢ) with 0·log 0 = 0: log 2 and log 4.
    kl_rows = torch.tensor([np.log(2), np.log(4)], dtype=torch.float64)
    torch.testing.assert_close(functional.kl_div(q.log(), p, reduction="batchmean"), kl_rows.mean())
    torch.testing.assert_close(functional.kl_div(q.log(), p, reduction="mean"), kl_rows.sum() / 6)


# ----------------------------------------------------------------------------- bad inputs

X = torch.zeros(2, 3)
P = torch.full((2, 3), 1 / 3)
Y = torch.tensor([0, 2])

INF = float("inf")
BAD_INPUTS = [
    # non-tensor arguments
    (lambda: functional.sigmoid([1.0]), TypeError, "x must be a torch.Tensor, got list"),
    (lambda: functional.tanh(np.zeros(2)), TypeError, "x must be a torch.Tensor, got ndarray"),
    (lambda: functional.relu(1.0), TypeError, "x must be a torch.Tensor, got float"),
    (lambda: functional.mse_loss(X, 0.0), TypeError, "target must be a torch.Tensor, got float"),
    (
        lambda: functional.cross_entropy(X, Y, weight=[1.0] * 3),
        TypeError,
        "weight must be a torch.Tensor",
    ),
    # dim
    (lambda: functional.softmax(X, 2), ValueError, r"dim=2 is out of range .* valid: \[-2, 1\]"),
    (lambda: functional.log_softmax(X, -3), ValueError, r"dim=-3 is out of range"),
    (lambda: functional.logsumexp(X, 5), ValueError, r"dim=5 is out of range"),
    (lambda: functional.softmax(X, 1.0), TypeError, "dim must be an int, got 1.0"),
    (lambda: functional.softmax(X, None), TypeError, "dim must be an int, got None"),
    # reduction
    (
        lambda: functional.l1_loss(X, X, reduction="avg"),
        ValueError,
        "'avg' is not one of 'none', 'mean', 'sum'",
    ),
    (
        lambda: functional.mse_loss(X, X, reduction="batchmean"),
        ValueError,
        "'batchmean' is not one of",
    ),
    (lambda: functional.cross_entropy(X, Y, reduction="max"), ValueError, "'max' is not one of"),
    (
        lambda: functional.kl_div(X, P, reduction="avg"),
        ValueError,
        "'none', 'mean', 'sum', 'batchmean'",
    ),
    # shapes of input and target
    (
        lambda: functional.l1_loss(X, X[:, :1]),
        ValueError,
        r"input shape \(2, 3\) and target shape \(2, 1\)",
    ),
    (
        lambda: functional.mse_loss(X, X[0]),
        ValueError,
        r"input shape \(2, 3\) and target shape \(3,\)",
    ),
    (lambda: functional.kl_div(X, P[:1]), ValueError, r"target shape \(1, 3\) differ"),
    # kl_div target that is not a distribution
    (
        lambda: functional.kl_div(X, torch.tensor([[1.5, -0.5, 0.0]] * 2)),
        ValueError,
        "entry -0.5; valid",
    ),
    (
        lambda: functional.kl_div(X, torch.full((2, 3), 0.3)),
        ValueError,
        r"within 0.001, found sum 0.9",
    ),
    (lambda: functional.kl_div(X, torch.full((2, 3), INF)), ValueError, "found sum inf"),
    (lambda: functional.kl_div(X, torch.full((2, 3), float("nan"))), ValueError, "found entry nan"),
    # cross_entropy shapes, dtypes and class indices
    (
        lambda: functional.cross_entropy(X[0], Y),
        ValueError,
        r"logits must be 2-D \(N, C\), got shape \(3,\)",
    ),
    (lambda: functional.cross_entropy(X[None], Y), ValueError, r"got shape \(1, 2, 3\)"),
    (
        lambda: functional.cross_entropy(X, Y[:1]),
        ValueError,
        r"target must have shape \(N,\) = \(2,\), got \(1,\)",
    ),
    (lambda: functional.cross_entropy(X, Y[None]), ValueError, r"= \(2,\), got \(1, 2\)"),
    (
        lambda: functional.cross_entropy(X, Y.float()),
        TypeError,
        "integer class indices, got dtype torch.float32",
    ),
    (lambda: functional.cross_entropy(X, Y.bool()), TypeError, "got dtype torch.bool"),
    (
        lambda: functional.cross_entropy(X, torch.tensor([0, 3])),
        ValueError,
        r"target\[1\] = 3 is not a class index in \[0, 3\)",
    ),
    (
        lambda: functional.cross_entropy(X, torch.tensor([-1, 0])),
        ValueError,
        r"target\[0\] = -1 is not",
    ),
    (
        lambda: functional.cross_entropy(X, Y, weight=torch.ones(2)),
        ValueError,
        r"weight must have shape \(C,\) = \(3,\), got \(2,\)",
    ),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD_INPUTS, ids=range(len(BAD_INPUTS)))
def test_bad_input_raises(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_public_api():
    assert sorted(functional.__all__) == sorted(
        ["sigmoid", "tanh", "relu", "logsumexp", "softmax", "log_softmax",
         "l1_loss", "mse_loss", "cross_entropy", "kl_div"]
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tanh_keeps_relative_precision_at_tiny_inputs(dtype):
    """1 − e^{−2|x|} cancels to 0 in float32 at |x| = 1e-8; expm1 keeps tanh(x) ≈ x to the last digits."""
    x = torch.tensor([1e-30, 1e-12, 1e-8, -1e-6, 3e-4], dtype=dtype)
    torch.testing.assert_close(functional.tanh(x), torch.tanh(x), rtol=4 * torch.finfo(dtype).eps, atol=0)
