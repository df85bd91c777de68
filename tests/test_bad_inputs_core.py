"""The bad-input matrix of the core modules: functional, optim, models, plotting, testing.

Every case is one test item marked ``bad_input``. A case either raises a clear exception at
annlib's boundary, whose message names the bad value and what would be valid (the ``*_ERRORS``
tables), or gives a documented defined result, checked against torch as the oracle where torch
has the same function (the ``*_DEFINED`` tables; each module's docstring documents them).
"""

import math
import re
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from annlib import functional, models, optim, plotting, testing, train  # noqa: E402

NAN, INF = float("nan"), float("inf")


def says(*parts: str) -> str:
    """A pattern matching a message that contains ``parts`` in this order."""
    return ".*".join(map(re.escape, parts))


def case(call, error, *parts, id):
    return pytest.param(call, error, says(*parts), id=id)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ---------------------------------------------------------------------------------------------
# functional: errors

X = torch.randn(2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
Y = torch.tensor([0, 2])
P = torch.tensor([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]], dtype=torch.float64)
TENSOR = "must be a torch.Tensor"
REAL = "must be a tensor of real numbers (floating point or integer), got dtype"
REAL_OR_BOOL = "must be a tensor of real numbers (floating point, integer or bool), got dtype"
FLOATING = "must be a tensor of floating-point numbers, got dtype"
FLOAT = f"{FLOATING} torch.int64"
CONVERT = "convert it first, e.g. with .float()"
REDUCTIONS = "is not one of 'none', 'mean', 'sum'"

FUNCTIONAL_ERRORS = []
for _name in ["sigmoid", "tanh", "relu"]:
    _f = getattr(functional, _name)
    FUNCTIONAL_ERRORS += [
        case(lambda f=_f: f([1.0, 2.0]), TypeError, f"x {TENSOR}", "got list [1.0, 2.0]",
             "torch.as_tensor", id=f"{_name}-list"),
        case(lambda f=_f: f(np.array([1.0, 2.0])), TypeError, f"x {TENSOR}", "got ndarray",
             "array([1., 2.])", id=f"{_name}-ndarray"),
        case(lambda f=_f: f("x"), TypeError, f"x {TENSOR}", "got str 'x'", id=f"{_name}-str"),
        case(lambda f=_f: f(1.5), TypeError, f"x {TENSOR}", "got float 1.5", id=f"{_name}-float"),
        case(lambda f=_f: f(torch.tensor([1 + 1j])), TypeError,
             f"x {REAL if _name == 'relu' else REAL_OR_BOOL} torch.complex64", id=f"{_name}-complex-tensor"),
    ]
FUNCTIONAL_ERRORS += [  # torch.relu rejects bools too; sigmoid and tanh take them (as torch does)
    case(lambda: functional.relu(torch.tensor([True])), TypeError, f"x {REAL} torch.bool", id="relu-bool-tensor"),
]
for _name in ["softmax", "log_softmax", "logsumexp"]:
    _f = getattr(functional, _name)
    FUNCTIONAL_ERRORS += [
        case(lambda f=_f: f([[1.0, 2.0]], 1), TypeError, f"x {TENSOR}", "got list [[1.0, 2.0]]",
             id=f"{_name}-list"),
        case(lambda f=_f: f(X, 2), ValueError, "dim=2 is out of range for 2-d input",
             "valid: [-2, 1]", id=f"{_name}-dim-too-big"),
        case(lambda f=_f: f(X, -3), ValueError, "dim=-3 is out of range for 2-d input",
             "valid: [-2, 1]", id=f"{_name}-dim-too-negative"),
        case(lambda f=_f: f(torch.tensor(1.0), 1), ValueError, "dim=1 is out of range for 0-d",
             "valid: [-1, 0]", id=f"{_name}-0d-dim-1"),
        case(lambda f=_f: f(X, 1.0), TypeError, "dim must be an int, got 1.0", id=f"{_name}-float-dim"),
        case(lambda f=_f: f(X, None), TypeError, "dim must be an int, got None", id=f"{_name}-dim-none"),
        case(lambda f=_f: f(X, "1"), TypeError, "dim must be an int, got '1'", id=f"{_name}-str-dim"),
        case(lambda f=_f: f(X, True), TypeError, "dim must be an int, got True", id=f"{_name}-bool-dim"),
        case(lambda f=_f: f(X, np.True_), TypeError, "dim must be an int, got np.True_", id=f"{_name}-numpy-bool-dim"),
    ]
for _name in ["softmax", "log_softmax"]:  # torch rejects integers and bools here: so does annlib
    _f = getattr(functional, _name)
    FUNCTIONAL_ERRORS += [
        case(lambda f=_f, d=_dtype: f(torch.tensor([1, 0]).to(d), 0), TypeError,
             f"x {FLOATING} {_dtype}; {CONVERT}", id=f"{_name}-{str(_dtype)[6:]}-tensor")
        for _dtype in (torch.uint8, torch.int64, torch.bool)
    ]
FUNCTIONAL_ERRORS += [
    case(lambda: functional.logsumexp(X, 1, keepdim="no"), TypeError,
         "keepdim must be True or False, got 'no'", id="logsumexp-str-keepdim"),
]
for _name in ["l1_loss", "mse_loss"]:
    _f = getattr(functional, _name)
    FUNCTIONAL_ERRORS += [
        case(lambda f=_f: f([1.0], torch.ones(1)), TypeError, f"input {TENSOR}", "got list [1.0]",
             id=f"{_name}-list-input"),
        case(lambda f=_f: f(torch.ones(2), np.ones(2)), TypeError, f"target {TENSOR}",
             "got ndarray", id=f"{_name}-ndarray-target"),
        case(lambda f=_f: f(torch.ones(4, 1), torch.ones(4)), ValueError,
             "input shape (4, 1) and target shape (4,) differ", "must be equal", id=f"{_name}-broadcast"),
        case(lambda f=_f: f(torch.ones(0), torch.ones(3)), ValueError,
             "input shape (0,) and target shape (3,) differ", id=f"{_name}-empty-vs-full"),
        case(lambda f=_f: f(torch.ones(2, dtype=torch.long), torch.ones(2)), TypeError,
             f"input {FLOAT}", id=f"{_name}-integer-input"),
        case(lambda f=_f: f(torch.ones(2), torch.ones(2, dtype=torch.bool)), TypeError,
             f"target {REAL} torch.bool", id=f"{_name}-bool-target"),
        case(lambda f=_f: f(torch.ones(2), torch.ones(2), reduction="avg"), ValueError,
             f"reduction='avg' {REDUCTIONS}", id=f"{_name}-unknown-reduction"),
        case(lambda f=_f: f(torch.ones(2), torch.ones(2), reduction="batchmean"), ValueError,
             f"reduction='batchmean' {REDUCTIONS}", id=f"{_name}-batchmean"),
        case(lambda f=_f: f(torch.ones(2), torch.ones(2), reduction=None), ValueError,
             f"reduction=None {REDUCTIONS}", id=f"{_name}-reduction-none-object"),
    ]
FUNCTIONAL_ERRORS += [
    case(lambda: functional.cross_entropy([[1.0, 2.0]], Y[:1]), TypeError, f"logits {TENSOR}",
         "got list", id="cross_entropy-list-logits"),
    case(lambda: functional.cross_entropy(X, [0, 2]), TypeError, f"target {TENSOR}", "got list [0, 2]",
         id="cross_entropy-list-target"),
    case(lambda: functional.cross_entropy(X.long(), Y), TypeError, f"logits {FLOAT}",
         id="cross_entropy-integer-logits"),
    case(lambda: functional.cross_entropy(X[0], Y), ValueError, "logits must be 2-D (N, C)",
         "got shape (3,)", id="cross_entropy-1d-logits"),
    case(lambda: functional.cross_entropy(X[None], Y), ValueError, "logits must be 2-D (N, C)",
         "got shape (1, 2, 3)", id="cross_entropy-3d-logits"),
    case(lambda: functional.cross_entropy(X, torch.tensor([0, 1, 2])), ValueError,
         "target must have shape (N,) = (2,), got (3,)", id="cross_entropy-batch-mismatch"),
    case(lambda: functional.cross_entropy(X, F.one_hot(Y, 3)), ValueError,
         "target must have shape (N,) = (2,), got (2, 3)", id="cross_entropy-one-hot-target"),
    case(lambda: functional.cross_entropy(X, Y.float()), TypeError,
         "target must be a tensor of integer class indices, got dtype torch.float32",
         id="cross_entropy-float-target"),
    case(lambda: functional.cross_entropy(X, Y.bool()), TypeError,
         "integer class indices, got dtype torch.bool", id="cross_entropy-bool-target"),
    case(lambda: functional.cross_entropy(X, torch.tensor([0, 3])), ValueError,
         "target[1] = 3 is not a class index in [0, 3)", id="cross_entropy-class-too-big"),
    case(lambda: functional.cross_entropy(X, torch.tensor([-100, 0])), ValueError,
         "target[0] = -100 is not a class index in [0, 3)", id="cross_entropy-ignore-index"),
    case(lambda: functional.cross_entropy(X, Y, weight=torch.ones(2)), ValueError,
         "weight must have shape (C,) = (3,), got (2,)", id="cross_entropy-weight-shape"),
    case(lambda: functional.cross_entropy(X, Y, weight=[1.0, 1.0, 1.0]), TypeError,
         f"weight {TENSOR}", "got list", id="cross_entropy-list-weight"),
    case(lambda: functional.cross_entropy(X, Y, weight=torch.ones(3, dtype=torch.bool)), TypeError,
         f"weight {FLOATING} torch.bool; {CONVERT}", id="cross_entropy-bool-weight"),
    case(lambda: functional.cross_entropy(X, Y, weight=torch.tensor([1, 2, 1], dtype=torch.uint8)), TypeError,
         f"weight {FLOATING} torch.uint8; {CONVERT}", id="cross_entropy-uint8-weight"),  # torch rejects it too
    case(lambda: functional.cross_entropy(X, Y, weight=torch.ones(3, dtype=torch.long)), TypeError,
         f"weight {FLOAT}; {CONVERT}", id="cross_entropy-int64-weight"),
    case(lambda: functional.cross_entropy(X, Y, reduction="batchmean"), ValueError,
         f"reduction='batchmean' {REDUCTIONS}", id="cross_entropy-batchmean"),
    case(lambda: functional.cross_entropy(X, Y, reduction="Mean"), ValueError,
         f"reduction='Mean' {REDUCTIONS}", id="cross_entropy-capitalised-reduction"),
    case(lambda: functional.kl_div(P.log().tolist(), P), TypeError, f"input {TENSOR}", "got list",
         id="kl_div-list-input"),
    case(lambda: functional.kl_div(P.log(), P[0]), ValueError,
         "input shape (2, 3) and target shape (3,) differ", id="kl_div-broadcast"),
    case(lambda: functional.kl_div(P.long(), P), TypeError, f"input {FLOAT}", id="kl_div-integer-input"),
    case(lambda: functional.kl_div(P.log(), t([-0.5, 1.0, 0.5], [1.0, 0.0, 0.0])), ValueError,
         "target must hold probabilities, found entry -0.5", "valid is >= 0", id="kl_div-negative-target"),
    case(lambda: functional.kl_div(P.log(), torch.full_like(P, NAN)), ValueError,
         "found entry nan; valid is >= 0", id="kl_div-nan-target"),
    case(lambda: functional.kl_div(P.log(), P * 2), ValueError,
         "target rows (last dim) must sum to 1 within 0.001, found sum 2", id="kl_div-rows-sum-2"),
    case(lambda: functional.kl_div(P.log(), torch.zeros(3, 0)), ValueError,
         "input shape (2, 3) and target shape (3, 0) differ", id="kl_div-empty-target"),
    case(lambda: functional.kl_div(torch.zeros(3, 0), torch.zeros(3, 0)), ValueError,
         "must sum to 1 within 0.001, found sum 0", id="kl_div-empty-distributions"),
    case(lambda: functional.kl_div(P.log(), P, reduction="avg"), ValueError,
         "reduction='avg' is not one of 'none', 'mean', 'sum', 'batchmean'", id="kl_div-unknown-reduction"),
]


@pytest.mark.bad_input
@pytest.mark.parametrize(("call", "error", "match"), FUNCTIONAL_ERRORS)
def test_functional_rejects(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------------------------------------
# functional: defined results, torch as the oracle

def t(*values, dtype=torch.float64):
    return torch.tensor(values, dtype=dtype)


EMPTY = torch.zeros(0, dtype=torch.float64)
EMPTY_ROWS, EMPTY_COLS = torch.zeros(0, 3, dtype=torch.float64), torch.zeros(3, 0, dtype=torch.float64)
NO_CLASSES = torch.zeros(0, dtype=torch.long)
ODD = t(NAN, INF, -INF, 0.0, -1.0, 2.0)  # NaN, ±inf and ordinary numbers together
U8 = torch.tensor([0, 1, 3, 128, 255], dtype=torch.uint8)
ROWS = t([1.0, NAN, 0.0], [INF, 0.0, 1.0], [-INF, -INF, -INF], [INF, INF, 0.0], [-INF, 0.0, 1.0])


def pair(ours, oracle, *args, id, **kwargs):
    return pytest.param(lambda: ours(*args, **kwargs), lambda: oracle(*args, **kwargs), id=id)


FUNCTIONAL_DEFINED = []
for _name, _oracle in [("sigmoid", torch.sigmoid), ("tanh", torch.tanh), ("relu", torch.relu)]:
    _f = getattr(functional, _name)
    FUNCTIONAL_DEFINED += [
        pair(_f, _oracle, ODD, id=f"{_name}-nan-and-inf"),
        pair(_f, _oracle, EMPTY, id=f"{_name}-empty"),
        pair(_f, _oracle, torch.tensor([-3, 0, 2]), id=f"{_name}-integer-tensor"),
        pair(_f, _oracle, U8, id=f"{_name}-uint8-tensor"),  # converted before -x, which would wrap around
        pair(_f, _oracle, torch.tensor([-2**63, 2**63 - 1]), id=f"{_name}-int64-extremes"),
    ]
    if _name != "relu":  # torch.relu rejects bools (a case of FUNCTIONAL_ERRORS)
        FUNCTIONAL_DEFINED += [pair(_f, _oracle, torch.tensor([True, False]), id=f"{_name}-bool-tensor")]
for _name, _oracle in [("softmax", torch.softmax), ("log_softmax", torch.log_softmax),
                       ("logsumexp", torch.logsumexp)]:
    _f = getattr(functional, _name)
    FUNCTIONAL_DEFINED += [
        pair(_f, _oracle, ROWS, 1, id=f"{_name}-nan-and-inf-rows"),
        pair(_f, _oracle, EMPTY, 0, id=f"{_name}-empty"),
        pair(_f, _oracle, EMPTY_COLS, 1, id=f"{_name}-reduce-empty-dim"),
        pair(_f, _oracle, EMPTY_ROWS, 0, id=f"{_name}-reduce-dim-of-empty-batch"),
        pair(_f, _oracle, EMPTY_ROWS, 1, id=f"{_name}-empty-batch"),
    ]
FUNCTIONAL_DEFINED += [
    pair(functional.logsumexp, torch.logsumexp, torch.tensor([[1, 2], [3, 4]]), 1, id="logsumexp-integer"),
    pair(functional.logsumexp, torch.logsumexp, U8, 0, id="logsumexp-uint8"),  # x − max(x) would wrap around
    pair(functional.logsumexp, torch.logsumexp, torch.tensor([[True, False], [False, False]]), 1,
         id="logsumexp-bool"),
]
for _name in ["l1_loss", "mse_loss"]:
    _f, _oracle = getattr(functional, _name), getattr(F, _name)
    FUNCTIONAL_DEFINED += [
        pair(_f, _oracle, EMPTY, EMPTY, id=f"{_name}-empty-mean-is-nan"),
        pair(_f, _oracle, EMPTY, EMPTY, reduction="sum", id=f"{_name}-empty-sum-is-0"),
        pair(_f, _oracle, EMPTY, EMPTY, reduction="none", id=f"{_name}-empty-none"),
        pair(_f, _oracle, ODD, t(0.0, 0.0, 0.0, 0.0, 0.0, 0.0), reduction="none", id=f"{_name}-nan-inf-input"),
        pair(_f, _oracle, ODD, ODD, reduction="none", id=f"{_name}-nan-inf-both"),
        pair(_f, _oracle, torch.ones(3), t(1.0, 2.0, 3.0), id=f"{_name}-float32-vs-float64"),
        pair(_f, _oracle, torch.ones(3), torch.tensor([1, 2, 3]), id=f"{_name}-integer-target"),
    ]
_LOGITS = t([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
FUNCTIONAL_DEFINED += [
    pair(functional.cross_entropy, F.cross_entropy, EMPTY_ROWS, NO_CLASSES, id="cross_entropy-empty-mean-is-nan"),
    pair(functional.cross_entropy, F.cross_entropy, EMPTY_ROWS, NO_CLASSES, reduction="sum",
         id="cross_entropy-empty-sum-is-0"),
    pair(functional.cross_entropy, F.cross_entropy, EMPTY_ROWS, NO_CLASSES, reduction="none",
         id="cross_entropy-empty-none"),
    pair(functional.cross_entropy, F.cross_entropy, torch.zeros(0, 0, dtype=torch.float64), NO_CLASSES,
         id="cross_entropy-no-samples-no-classes"),
    pair(functional.cross_entropy, F.cross_entropy, t([NAN, 0.0, 0.0], [1.0, 2.0, 3.0]), Y,
         reduction="none", id="cross_entropy-nan-logit"),
    pair(functional.cross_entropy, F.cross_entropy, t([INF, 0.0, 0.0], [-INF, 2.0, 3.0]), Y,
         reduction="none", id="cross_entropy-inf-logits"),
    pair(functional.cross_entropy, F.cross_entropy, _LOGITS, Y, weight=torch.zeros(3, dtype=torch.float64),
         id="cross_entropy-zero-weights-mean-is-nan"),
    pair(functional.cross_entropy, F.cross_entropy, _LOGITS, Y, weight=t(NAN, 1.0, 1.0),
         id="cross_entropy-nan-weight"),
    pair(functional.kl_div, F.kl_div, EMPTY_ROWS, EMPTY_ROWS, reduction="batchmean",
         id="kl_div-empty-batchmean-is-nan"),
    pair(functional.kl_div, F.kl_div, EMPTY_ROWS, EMPTY_ROWS, reduction="sum", id="kl_div-empty-sum-is-0"),
    pair(functional.kl_div, F.kl_div, t([-INF, 0.0], [NAN, 0.0]), t([0.0, 1.0], [0.5, 0.5]),
         reduction="none", id="kl_div-minus-inf-and-nan-log-prob"),
    pair(functional.kl_div, F.kl_div, t(-INF, 0.0), t(1.0, 0.0), reduction="sum",
         id="kl_div-impossible-target-is-inf"),
]


@pytest.mark.bad_input
@pytest.mark.parametrize(("ours", "oracle"), FUNCTIONAL_DEFINED)
def test_functional_defined_result_matches_torch(ours, oracle):
    got = ours()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch warns about empty means, kl_div "mean"
        expected = oracle()
    assert (got.dtype, got.shape) == (expected.dtype, expected.shape)
    torch.testing.assert_close(got, expected, equal_nan=True)


# ---------------------------------------------------------------------------------------------
# optim: hyperparameters (checked in __init__ as torch does; torch_too: whether torch rejects too)

CLASSES = {"SGD": (optim.SGD, torch.optim.SGD), "Adagrad": (optim.Adagrad, torch.optim.Adagrad),
           "RMSprop": (optim.RMSprop, torch.optim.RMSprop), "Adam": (optim.Adam, torch.optim.Adam)}


def hyper(name, kwargs, error, *parts, torch_too):
    label = ",".join(f"{k}={v!r}" for k, v in kwargs.items())
    return pytest.param(name, kwargs, error, says(*parts), torch_too, id=f"{name}-{label}")


OPTIM_HYPER = []
for _name in CLASSES:
    OPTIM_HYPER += [
        hyper(_name, dict(lr=-0.1), ValueError, "Invalid learning rate: -0.1 (must be >= 0)", torch_too=True),
        hyper(_name, dict(lr=NAN), ValueError, "Invalid learning rate: nan (must be >= 0)",
              torch_too=_name != "SGD"),  # torch's SGD accepts NaN (it tests lr < 0)
        hyper(_name, dict(lr=INF), ValueError, "Invalid learning rate: inf (must be finite and >= 0)",
              torch_too=False),
        hyper(_name, dict(lr="0.1"), TypeError, "Invalid learning rate: '0.1' is a str, expected a float",
              torch_too=True),
        hyper(_name, dict(lr=None), TypeError, "Invalid learning rate: None is a NoneType, expected a float",
              torch_too=True),
        hyper(_name, dict(weight_decay=-1e-4), ValueError, "Invalid weight_decay: -0.0001 (must be >= 0)",
              torch_too=True),
        hyper(_name, dict(weight_decay=NAN), ValueError, "Invalid weight_decay: nan (must be >= 0)",
              torch_too=_name != "SGD"),
    ]
for _name in ["Adagrad", "RMSprop", "Adam"]:
    OPTIM_HYPER += [
        hyper(_name, dict(eps=-1e-8), ValueError, "Invalid epsilon: -1e-08 (must be > 0)", torch_too=True),
        hyper(_name, dict(eps=0.0), ValueError, "Invalid epsilon: 0.0 (must be > 0)", torch_too=False),
        hyper(_name, dict(eps=NAN), ValueError, "Invalid epsilon: nan (must be > 0)", torch_too=True),
    ]
OPTIM_HYPER += [
    hyper("SGD", dict(momentum=-0.9), ValueError, "Invalid momentum: -0.9 (must be in [0, 1))", torch_too=True),
    hyper("SGD", dict(momentum=NAN), ValueError, "Invalid momentum: nan (must be in [0, 1))", torch_too=False),
    hyper("SGD", dict(momentum=9), ValueError, "Invalid momentum: 9 (must be in [0, 1), e.g. 0.9;",
          "stricter than torch, which accepts it", "steps grow without bound", torch_too=False),
    hyper("SGD", dict(momentum=1.0), ValueError, "Invalid momentum: 1.0 (must be in [0, 1)", torch_too=False),
    hyper("SGD", dict(momentum=INF), ValueError, "Invalid momentum: inf (must be in [0, 1))", torch_too=None),
    hyper("SGD", dict(lr=np.True_), TypeError, "Invalid learning rate: np.True_ is a bool, expected a float",
          torch_too=None),
    hyper("SGD", dict(lr=np.float32(NAN)), ValueError, "Invalid learning rate: nan (must be >= 0)", torch_too=None),
    hyper("SGD", dict(momentum=0.9, dampening=-0.1), ValueError,
          "Invalid dampening: -0.1 (must be in [0, 1])", torch_too=False),
    hyper("SGD", dict(momentum=0.9, dampening=1.5), ValueError,
          "Invalid dampening: 1.5 (must be in [0, 1])", torch_too=False),
    hyper("SGD", dict(momentum=0.9, dampening="0"), TypeError,
          "Invalid dampening: '0' is a str, expected a float", torch_too=None),
    hyper("SGD", dict(nesterov=True), ValueError, "Nesterov momentum requires a momentum and zero dampening",
          "got momentum=0.0, dampening=0.0", torch_too=True),
    hyper("SGD", dict(momentum=0.9, dampening=0.1, nesterov=True), ValueError,
          "requires a momentum and zero dampening, got momentum=0.9, dampening=0.1", torch_too=True),
    hyper("SGD", dict(momentum=0.9, nesterov="yes"), TypeError, "Invalid nesterov: 'yes' (must be True or False)",
          torch_too=False),
    hyper("Adagrad", dict(lr_decay=-0.5), ValueError, "Invalid lr_decay: -0.5 (must be >= 0)", torch_too=True),
    hyper("Adagrad", dict(lr_decay=INF), ValueError, "Invalid lr_decay: inf (must be finite and >= 0)",
          torch_too=False),
    hyper("Adagrad", dict(initial_accumulator_value=-1.0), ValueError,
          "Invalid initial_accumulator_value: -1.0 (must be >= 0)", torch_too=True),
    hyper("RMSprop", dict(alpha=1.0), ValueError, "Invalid alpha: 1.0 (must be in [0, 1))", torch_too=False),
    hyper("RMSprop", dict(alpha=-0.1), ValueError, "Invalid alpha: -0.1 (must be in [0, 1))", torch_too=True),
    hyper("RMSprop", dict(alpha=NAN), ValueError, "Invalid alpha: nan (must be in [0, 1))", torch_too=True),
    hyper("RMSprop", dict(momentum=-0.5), ValueError, "Invalid momentum: -0.5 (must be in [0, 1))", torch_too=True),
    hyper("RMSprop", dict(momentum=9.0), ValueError, "Invalid momentum: 9.0 (must be in [0, 1), e.g. 0.9;",
          "stricter than torch", torch_too=False),
    hyper("RMSprop", dict(centered="no"), TypeError, "Invalid centered: 'no' (must be True or False)",
          torch_too=False),
    hyper("Adam", dict(betas=(1.0, 0.999)), ValueError,
          "Invalid beta parameter at index 0: 1.0 (must be in [0, 1))", torch_too=True),
    hyper("Adam", dict(betas=(0.9, 1.0)), ValueError,
          "Invalid beta parameter at index 1: 1.0 (must be in [0, 1))", torch_too=True),
    hyper("Adam", dict(betas=(-0.1, 0.999)), ValueError,
          "Invalid beta parameter at index 0: -0.1 (must be in [0, 1))", torch_too=True),
    hyper("Adam", dict(betas=(0.9, NAN)), ValueError,
          "Invalid beta parameter at index 1: nan (must be in [0, 1))", torch_too=True),
    hyper("Adam", dict(betas=("0.9", 0.999)), TypeError,
          "Invalid beta parameter at index 0: '0.9' is a str, expected a float", torch_too=True),
    hyper("Adam", dict(betas=0.9), ValueError, "Invalid betas: 0.9 (must be a pair (beta1, beta2))",
          torch_too=True),
    hyper("Adam", dict(betas=(0.9,)), ValueError, "Invalid betas: (0.9,) (must be a pair (beta1, beta2))",
          torch_too=True),
    hyper("Adam", dict(betas=(0.9, 0.99, 0.999)), ValueError,
          "Invalid betas: (0.9, 0.99, 0.999) (must be a pair", torch_too=None),
    hyper("Adam", dict(amsgrad=1), TypeError, "Invalid amsgrad: 1 (must be True or False)", torch_too=False),
]


def _w():
    return torch.zeros(2, requires_grad=True)


@pytest.mark.bad_input
@pytest.mark.parametrize(("name", "kwargs", "error", "match", "torch_too"), OPTIM_HYPER)
def test_optimizer_rejects_hyperparameter(name, kwargs, error, match, torch_too):
    ours, theirs = CLASSES[name]
    with pytest.raises(error, match=match):
        ours([_w()], **kwargs)
    if torch_too:  # torch rejects it too (perhaps with a less clear message)
        with pytest.raises((ValueError, TypeError, IndexError)):
            theirs([_w()], **kwargs)
    elif torch_too is False:  # annlib is stricter here; optim's docstrings say so
        theirs([_w()], **kwargs)


# ---------------------------------------------------------------------------------------------
# optim: params, param groups, closures

PARAMS = "params must be an iterable of Tensors or of dicts, such as model.parameters(); got"
OPTIM_ERRORS = []
for _name, (_cls, _) in CLASSES.items():
    OPTIM_ERRORS += [
        case(lambda c=_cls: c(_w()), TypeError, PARAMS, "Tensor", id=f"{_name}-single-tensor"),
        case(lambda c=_cls: c(nn.Linear(2, 1)), TypeError, PARAMS, "Linear", id=f"{_name}-model-not-parameters"),
        case(lambda c=_cls: c(3), TypeError, PARAMS, "int", id=f"{_name}-int-params"),
        case(lambda c=_cls: c([]), ValueError, "params is empty: there is nothing to optimize",
             id=f"{_name}-empty-params"),
        case(lambda c=_cls: c(nn.ReLU().parameters()), ValueError, "params is empty",
             id=f"{_name}-model-without-parameters"),
        case(lambda c=_cls: c([{"params": [_w()], "lr": -1.0}]), ValueError,
             "Invalid learning rate: -1.0 (must be >= 0)", id=f"{_name}-group-negative-lr"),
        case(lambda c=_cls: c([_w()]).add_param_group({"params": [_w()], "weight_decay": NAN}), ValueError,
             "Invalid weight_decay: nan (must be >= 0)", id=f"{_name}-added-group-nan-weight-decay"),
        case(lambda c=_cls: c([_w()]).add_param_group([_w()]), TypeError,
             "a param group must be a dict with a 'params' key, got list", id=f"{_name}-added-group-not-dict"),
        case(lambda c=_cls: c([_w()]).step("loss"), TypeError,
             "closure must be None or a function returning the loss, got 'loss'", id=f"{_name}-closure-not-callable"),
    ]
OPTIM_ERRORS += [
    case(lambda: optim.SGD([1.0, 2.0]), TypeError, "optimizer can only optimize Tensors",
         "one of the params is float", id="SGD-list-of-floats"),
    case(lambda: optim.SGD([{"params": [_w()], "momentum": 0.0, "nesterov": True}], momentum=0.9),
         ValueError, "Nesterov momentum requires a momentum", "momentum=0.0", id="SGD-group-nesterov-no-momentum"),
    case(lambda: optim.Adam([{"params": [_w()], "betas": (0.9, 1.5)}]), ValueError,
         "Invalid beta parameter at index 1: 1.5 (must be in [0, 1))", id="Adam-group-bad-beta"),
    case(lambda: optim.RMSprop([{"params": [_w()], "alpha": 1.0}]), ValueError,
         "Invalid alpha: 1.0 (must be in [0, 1))", id="RMSprop-group-alpha-1"),
    case(lambda: optim.Adagrad([{"params": [_w()], "eps": 0}]), ValueError,
         "Invalid epsilon: 0 (must be > 0)", id="Adagrad-group-zero-eps"),
    case(lambda: optim.SGD([{"params": [_w()], "momentum": 9}], momentum=0.9), ValueError,
         "Invalid momentum: 9 (must be in [0, 1), e.g. 0.9", id="SGD-group-momentum-9"),
]
GROUP_KEYS = {  # what each optimizer's param groups take, besides 'params'
    "SGD": "'lr', 'momentum', 'dampening', 'weight_decay', 'nesterov'",
    "Adagrad": "'lr', 'lr_decay', 'eps', 'weight_decay', 'initial_accumulator_value'",
    "RMSprop": "'lr', 'momentum', 'alpha', 'eps', 'centered', 'weight_decay'",
    "Adam": "'lr', 'betas', 'eps', 'weight_decay', 'amsgrad'",
}
for _name, (_cls, _) in CLASSES.items():
    OPTIM_ERRORS += [
        case(lambda c=_cls: c([{"params": [_w()], "lrr": 0.1}]), ValueError,
             f"param group key(s) ['lrr'] are not settings of {_name}: its param groups take 'params' and "
             f"{GROUP_KEYS[_name]} (torch would keep the unknown key", "check the spelling",
             id=f"{_name}-group-misspelled-key"),
        case(lambda c=_cls: c([_w()]).add_param_group({"params": [_w()], "learning_rate": 0.1, "Lr": 1}), ValueError,
             f"param group key(s) ['Lr', 'learning_rate'] are not settings of {_name}",
             id=f"{_name}-added-group-unknown-keys"),
    ]
OPTIM_ERRORS += [
    case(lambda: optim.Adam([{"params": [_w()], "momentum": 0.9}]), ValueError,
         "param group key(s) ['momentum'] are not settings of Adam", "'betas'", id="Adam-group-momentum"),
    case(lambda: optim.SGD([{"params": [_w()], "betas": (0.9, 0.99)}]), ValueError,
         "param group key(s) ['betas'] are not settings of SGD", id="SGD-group-betas"),
]


@pytest.mark.bad_input
@pytest.mark.parametrize(("call", "error", "match"), OPTIM_ERRORS)
def test_optimizer_rejects(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.bad_input
@pytest.mark.parametrize("name", CLASSES)
def test_torch_keeps_an_unknown_group_key_silently_annlib_names_it(name):
    """The difference the optim docstring states: torch trains the group at the default lr."""
    ours, theirs = CLASSES[name]
    opt = theirs([{"params": [_w()], "lrr": 0.5}], lr=0.01)
    assert opt.param_groups[0]["lrr"] == 0.5 and opt.param_groups[0]["lr"] == 0.01
    with pytest.raises(ValueError, match="not settings of"):
        ours([{"params": [_w()], "lrr": 0.5}], lr=0.01)


@pytest.mark.bad_input
@pytest.mark.parametrize("name", CLASSES)
def test_the_group_keys_torch_writes_itself_are_accepted(name):
    """A scheduler's ``initial_lr`` (needed to resume one) and torch's ``param_names``."""
    w = nn.Parameter(torch.zeros(2))
    opt = CLASSES[name][0]([{"params": [w], "initial_lr": 0.1, "param_names": ["w"]}], lr=0.1)
    torch.optim.lr_scheduler.StepLR(opt, step_size=1, last_epoch=0)  # resuming needs initial_lr
    named = CLASSES[name][0](nn.Linear(2, 1).named_parameters())
    assert named.param_groups[0]["param_names"] == ["weight", "bias"]


@pytest.mark.bad_input
@pytest.mark.parametrize("name", CLASSES)
def test_failed_add_param_group_leaves_the_optimizer_unchanged(name):
    opt = CLASSES[name][0]([_w()])
    with pytest.raises(ValueError):
        opt.add_param_group({"params": [_w()], "lr": -1.0})
    assert len(opt.param_groups) == 1


# optim: defined results. step() checks nothing per parameter: NaN and inf reach the weights and
# the state buffers exactly as in torch, and an empty parameter is updated (trivially) as in torch.

OPTIM_SETTINGS = {
    "SGD": dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.01, nesterov=True),
    "Adagrad": dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1, eps=1e-10),
    "RMSprop": dict(lr=0.01, alpha=0.9, eps=1e-8, weight_decay=0.01, momentum=0.5, centered=True),
    "Adam": dict(lr=0.01, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.01, amsgrad=True),
}
GRADIENTS = {"nan-gradient": [1.0, NAN, -1.0], "inf-gradient": [INF, -INF, 1.0], "empty-parameter": []}


@pytest.mark.bad_input
@pytest.mark.parametrize("grad", GRADIENTS.values(), ids=GRADIENTS.keys())
@pytest.mark.parametrize("name", CLASSES)
def test_optimizer_defined_result_matches_torch(name, grad):
    (ours, theirs), kwargs = CLASSES[name], OPTIM_SETTINGS[name]
    w_a = nn.Parameter(torch.linspace(-1, 1, len(grad), dtype=torch.float64))
    w_b = nn.Parameter(w_a.detach().clone())
    opt_a, opt_b = ours([w_a], **kwargs), theirs([w_b], **kwargs)
    for step in range(3):
        for w, opt in [(w_a, opt_a), (w_b, opt_b)]:
            w.grad = torch.tensor(grad, dtype=torch.float64) if step == 1 else torch.ones_like(w)
            opt.step()
        testing.assert_same_state({"w": w_a}, {"w": w_b}, opt_a, opt_b, when=f"step {step}")
    if grad:
        assert w_a.isnan().any()  # the bad gradient did reach the weights


# ---------------------------------------------------------------------------------------------
# models

VALID_ACTIVATIONS = str(sorted(models.ACTIVATIONS))
SIZES = "sizes must be at least two positive integers, got"
MODELS_ERRORS = [
    case(lambda: models.activation("relu6"), ValueError, "unknown activation 'relu6'", VALID_ACTIVATIONS,
         id="activation-unknown-name"),
    case(lambda: models.activation("ReLU"), ValueError, "unknown activation 'ReLU'", VALID_ACTIVATIONS,
         id="activation-capitalised"),
    case(lambda: models.activation(""), ValueError, "unknown activation ''", VALID_ACTIVATIONS,
         id="activation-empty-name"),
    case(lambda: models.activation(None), TypeError, "activation name must be a str, got None",
         VALID_ACTIVATIONS, id="activation-none"),
    case(lambda: models.activation(["relu"]), TypeError, "activation name must be a str, got ['relu']",
         VALID_ACTIVATIONS, id="activation-list"),
    case(lambda: models.activation(nn.ReLU), TypeError, "activation name must be a str, got <class",
         "ReLU", VALID_ACTIVATIONS, id="activation-class"),
    case(lambda: models.mlp(784), TypeError, "sizes must be a list of layer sizes such as [784, 128, 10], got 784",
         id="mlp-int-sizes"),
    case(lambda: models.mlp("784,10"), TypeError, "sizes must be a list of layer sizes", "got '784,10'",
         id="mlp-str-sizes"),
    case(lambda: models.mlp(None), TypeError, "sizes must be a list of layer sizes", "got None",
         id="mlp-none-sizes"),
    case(lambda: models.mlp([784]), ValueError, SIZES, "[784]", id="mlp-one-size"),
    case(lambda: models.mlp([]), ValueError, SIZES, "[]", id="mlp-no-sizes"),
    case(lambda: models.mlp([784, 0, 10]), ValueError, SIZES, "[784, 0, 10]", id="mlp-zero-size"),
    case(lambda: models.mlp([784, -3]), ValueError, SIZES, "[784, -3]", id="mlp-negative-size"),
    case(lambda: models.mlp([784, 2.5, 10]), ValueError, SIZES, "[784, 2.5, 10]", id="mlp-float-size"),
    case(lambda: models.mlp([784, NAN]), ValueError, SIZES, "[784, nan]", id="mlp-nan-size"),
    case(lambda: models.mlp([784, True]), ValueError, SIZES, "[784, True]", id="mlp-bool-size"),
    case(lambda: models.mlp([784, np.True_]), ValueError, SIZES, "[784, np.True_]", id="mlp-numpy-bool-size"),
    case(lambda: models.mlp([784, np.float64(10)]), ValueError, SIZES, "[784, np.float64(10.0)]",
         id="mlp-numpy-float-size"),
    case(lambda: models.mlp([784, "10"]), ValueError, SIZES, "[784, '10']", id="mlp-str-size"),
    case(lambda: models.mlp([4, 3, 2], activation="relu6"), ValueError, "unknown activation 'relu6'",
         VALID_ACTIVATIONS, id="mlp-unknown-activation"),
    case(lambda: models.mlp([4, 2], activation="Tanh"), ValueError, "unknown activation 'Tanh'",
         VALID_ACTIVATIONS, id="mlp-unknown-activation-no-hidden-layer"),
    case(lambda: models.mlp([4, 3, 2], activation=42), TypeError,
         "activation must be a name, an nn.Module or an nn.Module class, got 42", id="mlp-int-activation"),
    case(lambda: models.mlp([4, 3, 2], activation=torch.relu), TypeError,
         "activation must be a name, an nn.Module or an nn.Module class, got <built-in", "relu",
         id="mlp-function-activation"),
    case(lambda: models.mlp([4, 3, 2], activation=object), TypeError,
         "activation must be a name, an nn.Module or an nn.Module class, got <class 'object'>",
         id="mlp-non-module-class-activation"),
    case(lambda: models.mlp([4, 3, 2], dropout="0.5"), TypeError, "dropout must be a float in [0, 1), got '0.5'",
         id="mlp-str-dropout"),
    case(lambda: models.mlp([4, 3, 2], dropout=None), TypeError, "dropout must be a float in [0, 1), got None",
         id="mlp-none-dropout"),
    case(lambda: models.mlp([4, 3, 2], dropout=True), TypeError, "dropout must be a float in [0, 1), got True",
         id="mlp-bool-dropout"),
    case(lambda: models.mlp([4, 3, 2], dropout=np.True_), TypeError, "dropout must be a float in [0, 1), got np.True_",
         id="mlp-numpy-bool-dropout"),
    case(lambda: models.mlp([4, 3, 2], dropout=np.float32(NAN)), ValueError,
         "dropout must be in [0, 1), got nan", id="mlp-numpy-nan-dropout"),
    case(lambda: models.mlp([4, 3, 2], dropout=-0.1), ValueError, "dropout must be in [0, 1), got -0.1",
         id="mlp-negative-dropout"),
    case(lambda: models.mlp([4, 3, 2], dropout=1.0), ValueError, "dropout must be in [0, 1), got 1.0",
         id="mlp-dropout-1"),
    case(lambda: models.mlp([4, 3, 2], dropout=50), ValueError, "dropout must be in [0, 1), got 50",
         id="mlp-dropout-percent"),
    case(lambda: models.mlp([4, 3, 2], dropout=NAN), ValueError, "dropout must be in [0, 1), got nan",
         id="mlp-nan-dropout"),
    case(lambda: models.count_parameters([torch.zeros(3, requires_grad=True)]), TypeError,
         "model must be an nn.Module, got list", id="count_parameters-list"),
    case(lambda: models.count_parameters(nn.Linear(2, 1).parameters()), TypeError,
         "model must be an nn.Module, got generator", id="count_parameters-generator"),
    case(lambda: models.count_parameters(None), TypeError, "model must be an nn.Module, got NoneType",
         id="count_parameters-none"),
]


@pytest.mark.bad_input
@pytest.mark.parametrize(("call", "error", "match"), MODELS_ERRORS)
def test_models_rejects(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.bad_input
@pytest.mark.parametrize("sizes", [np.array([4, 3, 2]), (4, 3, 2), range(4, 1, -1)], ids=["ndarray", "tuple", "range"])
def test_mlp_defined_result_for_other_integer_sequences(sizes):
    """Documented: any iterable of integers (numpy integers too) is read as a list of ints."""
    net = models.mlp(sizes)
    assert [(m.in_features, m.out_features) for m in net if isinstance(m, nn.Linear)] == [(4, 3), (3, 2)]
    assert models.count_parameters(net) == 4 * 3 + 3 + 3 * 2 + 2


# ---------------------------------------------------------------------------------------------
# plotting

def history(**kwargs):
    return train.History(**{**dict(train_loss=[1.0, 0.5], train_acc=[0.5, 0.7], val_loss=[1.1, 0.6],
                                   val_acc=[0.4, 0.6], epoch_time=[1.0, 1.0]), **kwargs})


def graph():
    w = torch.randn(3, requires_grad=True)
    return w, (w * 2).sum()


METRICS = "'train_loss', 'train_acc', 'val_loss', 'val_acc', 'epoch_time'"
AXES = "ax must be a matplotlib Axes or None, got"
PLOTTING_ERRORS = [
    case(lambda: plotting.color(None), TypeError, "name must be a str such as 'adam', got NoneType None",
         id="color-none"),
    case(lambda: plotting.color(3), TypeError, "name must be a str such as 'adam', got int 3", id="color-int"),
    case(lambda: plotting.color(b"adam"), TypeError, "name must be a str", "got bytes b'adam'", id="color-bytes"),
    case(lambda: plotting.plot_history({"train_loss": [1.0]}), TypeError,
         "history must be an annlib.train.History, got dict", id="plot_history-dict"),
    case(lambda: plotting.plot_history([history()]), TypeError,
         "history must be an annlib.train.History, got list", id="plot_history-list"),
    case(lambda: plotting.plot_history(None), TypeError, "history must be an annlib.train.History, got NoneType",
         id="plot_history-none"),
    case(lambda: plotting.plot_history(history(), metric="accuracy"), ValueError,
         "metric must be 'loss' or 'acc', got 'accuracy'", id="plot_history-unknown-metric"),
    case(lambda: plotting.plot_history(history(), metric="val_loss"), ValueError,
         "metric must be 'loss' or 'acc', got 'val_loss'", id="plot_history-field-name-as-metric"),
    case(lambda: plotting.plot_history(history(), ax="left"), TypeError, AXES, "str 'left'",
         id="plot_history-str-ax"),
    case(lambda: plotting.plot_history(history(), ax=plt.figure()), TypeError, AXES, "Figure",
         id="plot_history-figure-as-ax"),
    case(lambda: plotting.plot_histories([history()]), TypeError,
         "histories must be a dict of name → History, got list", id="plot_histories-list"),
    case(lambda: plotting.plot_histories(history()), TypeError,
         "histories must be a dict of name → History, got History", id="plot_histories-single-history"),
    case(lambda: plotting.plot_histories({"adam": {"val_loss": [1.0]}}), TypeError,
         "histories['adam'] must be an annlib.train.History, got dict", id="plot_histories-dict-value"),
    case(lambda: plotting.plot_histories({1e-3: history()}), TypeError, "name must be a str", "got float 0.001",
         id="plot_histories-number-as-name"),
    case(lambda: plotting.plot_histories({"adam": history()}, metric="val_accuracy"), ValueError,
         f"metric must be one of {METRICS}, got 'val_accuracy'", id="plot_histories-unknown-metric"),
    case(lambda: plotting.plot_histories({"adam": history()}, metric="loss"), ValueError,
         f"metric must be one of {METRICS}, got 'loss'", id="plot_histories-plot_history-metric"),
    case(lambda: plotting.plot_histories({"adam": history()}, metric="best_epoch"), ValueError,
         f"metric must be one of {METRICS}, got 'best_epoch'", id="plot_histories-scalar-field"),
    case(lambda: plotting.plot_histories({"adam": history()}, ax=0), TypeError, AXES, "int 0",
         id="plot_histories-int-ax"),
    case(lambda: plotting.autograd_graph(graph()[1]), TypeError,
         "root must be a backward node such as y.grad_fn, got Tensor; for a tensor y pass y.grad_fn",
         id="autograd_graph-tensor"),
    case(lambda: plotting.autograd_graph("SumBackward0"), TypeError, "root must be a backward node",
         "got str", id="autograd_graph-str"),
    case(lambda: plotting.autograd_graph(graph()[0].grad_fn), ValueError,
         "no backward graph: the tensor has no grad_fn", "requires_grad=True", id="autograd_graph-leaf"),
    case(lambda: plotting.plot_autograd_graph([1.0]), TypeError,
         "tensor must be a torch.Tensor computed with autograd, got list [1.0]", id="plot_autograd_graph-list"),
    case(lambda: plotting.plot_autograd_graph(np.ones(2)), TypeError,
         "tensor must be a torch.Tensor computed with autograd, got ndarray", id="plot_autograd_graph-ndarray"),
    case(lambda: plotting.plot_autograd_graph(graph()[0]), ValueError, "no backward graph", "is it a leaf",
         id="plot_autograd_graph-leaf"),
    case(lambda: plotting.plot_autograd_graph(graph()[1].detach()), ValueError, "no backward graph",
         "torch.no_grad()", id="plot_autograd_graph-detached"),
    case(lambda: plotting.plot_autograd_graph(graph()[1], names={"w": graph()[0]}), TypeError,
         "each key of names must be a tensor, like w in {w: 'w'}, got str 'w'", id="plot_autograd_graph-names-reversed"),
    case(lambda: plotting.plot_autograd_graph(graph()[1], names=["w"]), TypeError,
         "names must be a dict of tensor → label, like {w: 'w'}, or None, got list ['w']",
         id="plot_autograd_graph-names-list"),
    case(lambda: plotting.plot_autograd_graph(graph()[1], names={graph()[0]: 3}), TypeError,
         "each label in names must be a str, got int 3", id="plot_autograd_graph-int-label"),
    case(lambda: plotting.plot_autograd_graph(graph()[1], ax="top"), TypeError, AXES, "str 'top'",
         id="plot_autograd_graph-str-ax"),
    case(lambda: plotting.calibration(torch.full((2, 2), 0.5), torch.tensor([0, 1]), bins=np.True_), ValueError,
         "bins must be a positive integer, got np.True_", id="calibration-numpy-bool-bins"),
    case(lambda: plotting.calibration(torch.full((2, 2), 0.5), torch.tensor([0, 1]), bins=np.float64(10)), ValueError,
         "bins must be a positive integer, got np.float64(10.0)", id="calibration-numpy-float-bins"),
]


@pytest.mark.bad_input
@pytest.mark.parametrize(("call", "error", "match"), PLOTTING_ERRORS)
def test_plotting_rejects(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.bad_input
@pytest.mark.parametrize("name", ["my-run", "", "ADAM with warmup", "relu6"])
def test_color_of_an_unknown_name_is_a_fixed_colour_not_an_error(name):
    """Documented in plotting.color: unknown names get a colour from a fixed cycle."""
    c = plotting.color(name)
    assert c == plotting.color(name) == plotting.color(name.upper())
    assert matplotlib.colors.is_color_like(c)


@pytest.mark.bad_input
@pytest.mark.parametrize("draw", [
    pytest.param(lambda ax: plotting.plot_history(train.History(), ax=ax), id="plot_history-no-epochs"),
    pytest.param(lambda ax: plotting.plot_histories({}, ax=ax), id="plot_histories-no-runs"),
    pytest.param(lambda ax: plotting.plot_histories({"adam": train.History()}, ax=ax), id="plot_histories-run-without-epochs"),
])
def test_plot_of_nothing_is_an_empty_axes_without_warnings(draw):
    fig, ax = plt.subplots()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert draw(ax) is ax
    assert all(len(line.get_xdata()) == 0 for line in ax.get_lines())


@pytest.mark.bad_input
@pytest.mark.parametrize("values", [[1.0, NAN, 0.5], [INF, 1.0, 0.5]], ids=["nan", "inf"])
def test_plot_of_non_finite_values_draws_them_as_matplotlib_does(values):
    fig, ax = plt.subplots()
    plotting.plot_histories({"sgd": history(val_loss=values)}, ax=ax)
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), values)


# ---------------------------------------------------------------------------------------------
# testing

def sig(x):
    return torch.sigmoid(x)


XS = torch.linspace(-2, 2, 5, dtype=torch.float64)
FLOATS = "a floating-point torch.Tensor"


def states():
    w = nn.Parameter(torch.ones(2, dtype=torch.float64))
    opt = optim.Adam([w])
    w.grad = torch.ones_like(w)
    opt.step()
    return {"w": w}, opt


def same_state(**kwargs):
    (pa, oa), (pb, ob) = states(), states()
    testing.assert_same_state(pa, pb, oa, ob, **kwargs)


TESTING_ERRORS = [
    case(lambda: testing.value_and_grads("sigmoid", XS), TypeError,
         "fn must be a callable taking the inputs, got 'sigmoid'", id="value_and_grads-str-fn"),
    case(lambda: testing.value_and_grads(sig), ValueError,
         "no inputs given: pass at least one floating-point tensor", id="value_and_grads-no-inputs"),
    case(lambda: testing.value_and_grads(sig, [1.0, 2.0]), TypeError, f"inputs[0] must be {FLOATS}, got list",
         id="value_and_grads-list-input"),
    case(lambda: testing.value_and_grads(sig, XS, np.ones(2)), TypeError, f"inputs[1] must be {FLOATS}",
         "got ndarray", id="value_and_grads-ndarray-input"),
    case(lambda: testing.value_and_grads(sig, torch.arange(3)), TypeError,
         "inputs[0] must be a floating-point tensor (autograd needs one), got dtype torch.int64",
         id="value_and_grads-integer-input"),
    case(lambda: testing.value_and_grads(lambda x: x.sum().item(), XS), TypeError,
         "fn's output must be a torch.Tensor, got float", id="value_and_grads-python-float-output"),
    case(lambda: testing.value_and_grads(lambda x: x.detach().numpy(), XS), TypeError,
         "fn's output must be a torch.Tensor, got ndarray", id="value_and_grads-ndarray-output"),
    case(lambda: testing.value_and_grads(lambda x: torch.sigmoid(x.detach()), XS), ValueError,
         "fn's output does not depend on its inputs through autograd", "no .detach()",
         id="value_and_grads-detached-output"),
    case(lambda: testing.assert_matches_oracle(sig, torch.sigmoid, XS.half()), TypeError,
         "inputs[0] has dtype torch.float16; valid: torch.float64, torch.float32", id="assert_matches_oracle-float16"),
    case(lambda: testing.assert_matches_oracle(sig, torch.sigmoid, XS.bfloat16()), TypeError,
         "inputs[0] has dtype torch.bfloat16; valid: torch.float64, torch.float32",
         id="assert_matches_oracle-bfloat16"),
    case(lambda: testing.assert_matches_oracle(sig, torch.sigmoid), ValueError,
         "no inputs given: pass at least one floating-point tensor after ours",
         id="assert_matches_oracle-no-inputs"),
    case(lambda: testing.assert_matches_oracle(sig, "torch.sigmoid", XS), TypeError,
         "oracle must be a callable taking the inputs, got 'torch.sigmoid'", id="assert_matches_oracle-str-oracle"),
    case(lambda: testing.assert_matches_oracle(None, torch.sigmoid, XS), TypeError,
         "ours must be a callable taking the inputs, got None", id="assert_matches_oracle-none-ours"),
    case(lambda: testing.assert_matches_oracle(sig, torch.sigmoid, XS.tolist()), TypeError,
         f"inputs[0] must be {FLOATS}, got list", id="assert_matches_oracle-list-input"),
    case(lambda: testing.assert_matches_oracle(torch.relu, torch.relu, torch.arange(3)), TypeError,
         "inputs[0] must be a floating-point tensor (autograd needs one), got dtype torch.int64",
         id="assert_matches_oracle-integer-input"),
    case(lambda: testing.max_relative_error([1.0], torch.ones(1)), TypeError,
         "actual must be a torch.Tensor, got list [1.0]", id="max_relative_error-list"),
    case(lambda: testing.max_relative_error(torch.ones(1), np.ones(1)), TypeError,
         "expected must be a torch.Tensor, got ndarray", id="max_relative_error-ndarray"),
    case(lambda: testing.max_relative_error(torch.ones(1), 1.0), TypeError,
         "expected must be a torch.Tensor, got float 1.0", id="max_relative_error-float"),
    case(lambda: testing.assert_same_state(*[list(states()[0].values())] * 2, states()[1], states()[1]), TypeError,
         "params_a must be a dict of name → parameter, got list", id="assert_same_state-list-of-params"),
    case(lambda: testing.assert_same_state(states()[0], states()[0], states()[1].state_dict(), states()[1]),
         TypeError, "opt_a must be a torch.optim.Optimizer, got dict", id="assert_same_state-state-dict"),
    case(lambda: testing.assert_same_state(states()[0], {"weight": states()[0]["w"]}, states()[1], states()[1]),
         ValueError, "params_a and params_b must name the same parameters, got ['w'] and ['weight']",
         id="assert_same_state-different-names"),
    case(lambda: same_state(rtol=-1e-6), ValueError,
         "rtol must be >= 0, got -1e-06", id="assert_same_state-negative-rtol"),
    case(lambda: same_state(rtol=NAN), ValueError,
         "rtol must be >= 0, got nan", id="assert_same_state-nan-rtol"),
    case(lambda: same_state(rtol="1e-6"), TypeError,
         "rtol must be a float >= 0, got str '1e-6'", id="assert_same_state-str-rtol"),
    case(lambda: same_state(rtol=True), TypeError,
         "rtol must be a float >= 0, got bool True", id="assert_same_state-bool-rtol"),
    case(lambda: same_state(rtol=np.False_), TypeError,
         "rtol must be a float >= 0, got bool np.False_", id="assert_same_state-numpy-bool-rtol"),
    case(lambda: same_state(rtol=np.float32(NAN)), ValueError,
         "rtol must be >= 0, got nan", id="assert_same_state-numpy-nan-rtol"),
]


@pytest.mark.bad_input
@pytest.mark.parametrize(("call", "error", "match"), TESTING_ERRORS)
def test_testing_rejects(call, error, match):
    with pytest.raises(error, match=match):
        call()


# testing: defined results (max_relative_error's Notes; a disagreement is an AssertionError)
A3 = torch.tensor([1.0, 2.0, 4.0])
MAX_RELATIVE_ERROR = [
    pytest.param(t(NAN, 1.0), t(NAN, 1.0), 0.0, id="nan-in-both"),
    pytest.param(t(NAN, 1.0), t(1.0, 1.0), INF, id="nan-in-actual-only"),
    pytest.param(t(1.0, 1.0), t(NAN, 1.0), INF, id="nan-in-expected-only"),
    pytest.param(t(INF, -INF, 2.0), t(INF, -INF, 2.0), 0.0, id="equal-infinities"),
    pytest.param(t(INF, 2.0), t(-INF, 2.0), INF, id="opposite-infinities"),
    pytest.param(t(INF, 2.0), t(1.0, 2.0), INF, id="inf-in-actual-only"),
    pytest.param(t(INF, 3.0), t(INF, 2.0), 0.5, id="finite-error-beside-equal-infinities"),
    pytest.param(EMPTY, EMPTY, 0.0, id="empty"),
    pytest.param(torch.zeros(2), torch.zeros(2), 0.0, id="all-zeros"),
]


@pytest.mark.bad_input
@pytest.mark.parametrize(("actual", "expected", "error"), MAX_RELATIVE_ERROR)
def test_max_relative_error_defined_result(actual, expected, error):
    assert testing.max_relative_error(actual, expected) == error


@pytest.mark.bad_input
@pytest.mark.parametrize(("call", "match"), [
    pytest.param(lambda: testing.max_relative_error(A3, A3[:2]), says("torch.float32 (3,) vs torch.float32 (2,)"),
                 id="max_relative_error-shapes-differ"),
    pytest.param(lambda: testing.max_relative_error(A3, A3.double()), says("torch.float32 (3,) vs torch.float64"),
                 id="max_relative_error-dtypes-differ"),
    pytest.param(lambda: testing.assert_matches_oracle(lambda a, b: a * 2, lambda a, b: a * 2 + 0 * b, XS, XS),
                 says("gradient of inputs[1]: got None, expected a tensor"), id="assert_matches_oracle-input-unused"),
    pytest.param(lambda: testing.assert_matches_oracle(lambda x: torch.sigmoid(x) * NAN, torch.sigmoid, XS),
                 "Tensor-likes are not close", id="assert_matches_oracle-nan-output"),
])
def test_a_disagreement_is_an_assertion_error(call, match):
    with pytest.raises(AssertionError, match=match):
        call()


@pytest.mark.bad_input
@pytest.mark.parametrize("where", ["parameter", "state"])
def test_assert_same_state_does_not_let_nan_through(where):
    (pa, oa), (pb, ob) = states(), states()
    with torch.no_grad():
        (pb["w"] if where == "parameter" else ob.state[pb["w"]]["exp_avg"])[0] = NAN
    with pytest.raises(AssertionError, match="relative error inf"):
        testing.assert_same_state(pa, pb, oa, ob)


@pytest.mark.bad_input
def test_assert_matches_oracle_accepts_nan_where_the_oracle_gives_nan():
    x = t(NAN, -1.0, 0.0, INF)
    got = testing.assert_matches_oracle(functional.sigmoid, torch.sigmoid, x)
    assert math.isnan(got[0]) and got[3] == 1.0
