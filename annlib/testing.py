"""Oracle comparisons: check a from-scratch implementation against PyTorch's own.

The test suite and the chapters' exercises use the same helpers, so a reader who writes their
own activation, loss or optimizer can check it exactly the way annlib's are checked.

Notes
-----
A disagreement is an AssertionError (these are assertions). Arguments that cannot be compared at
all are a TypeError or ValueError naming the bad value and what is valid: a non-tensor or
non-float input, a dtype without :data:`TOLERANCES`, a function whose output is not a tensor
computed from the inputs, parameter dicts with different names, a negative, NaN or bool
``rtol`` (Python's and NumPy's reals are accepted).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping

import torch

from annlib import _checks

__all__ = ["TOLERANCES", "value_and_grads", "assert_matches_oracle", "max_relative_error",
           "assert_same_state"]

TOLERANCES = {torch.float64: dict(rtol=1e-7, atol=1e-7), torch.float32: dict(rtol=1e-4, atol=1e-5)}


def _check_inputs(fn: object, inputs: tuple, name: str = "fn") -> None:
    if not callable(fn):
        raise TypeError(f"{name} must be a callable taking the inputs, got {fn!r:.60}")
    if not inputs:
        raise ValueError(f"no inputs given: pass at least one floating-point tensor after {name}")
    for i, x in enumerate(inputs):
        _checks.check_type(x, f"inputs[{i}]", torch.Tensor, "a floating-point torch.Tensor")
        if not x.is_floating_point():
            raise TypeError(f"inputs[{i}] must be a floating-point tensor (autograd needs one), "
                            f"got dtype {x.dtype}")


def value_and_grads(fn: Callable[..., torch.Tensor], *inputs: torch.Tensor
                    ) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
    """Evaluate ``fn`` on fresh leaf copies of ``inputs`` and backpropagate a fixed random cotangent.

    A random cotangent (rather than ``.sum()``) lets the check see the whole Jacobian: for softmax,
    ``softmax(x).sum()`` is constant and its gradient is 0 whatever the implementation.
    """
    _check_inputs(fn, inputs)
    leaves = [x.detach().clone().requires_grad_(True) for x in inputs]
    out = fn(*leaves)
    _checks.check_type(out, "fn's output", torch.Tensor, "a torch.Tensor")
    if not out.requires_grad:
        raise ValueError("fn's output does not depend on its inputs through autograd; compute it "
                         "from them with tensor operations (no .detach(), .item() or no_grad)")
    cotangent = torch.randn(out.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out.backward(cotangent.to(out.dtype))
    return out.detach(), [leaf.grad for leaf in leaves]


def assert_matches_oracle(ours: Callable[..., torch.Tensor], oracle: Callable[..., torch.Tensor],
                          *inputs: torch.Tensor) -> torch.Tensor:
    """Assert that the values and input gradients of ``ours`` equal the ``oracle``'s.

    ``ours`` runs in the inputs' dtype (and must keep it); the oracle always runs in float64, so
    a float32 result is checked against the exact answer with :data:`TOLERANCES`. NaN where the
    oracle gives NaN counts as equal, in values and gradients. Returns the value of ``ours``.
    """
    _check_inputs(ours, inputs, "ours")
    _check_inputs(oracle, inputs, "oracle")
    if inputs[0].dtype not in TOLERANCES:
        raise TypeError(f"inputs[0] has dtype {inputs[0].dtype}; valid: {', '.join(map(str, TOLERANCES))}")
    tol = TOLERANCES[inputs[0].dtype]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # e.g. torch's kl_div warns about "mean"
        expected, expected_grads = value_and_grads(oracle, *(x.double() for x in inputs))
    got, got_grads = value_and_grads(ours, *inputs)
    if got.dtype != inputs[0].dtype or got.shape != expected.shape:
        raise AssertionError(f"got {got.dtype} {tuple(got.shape)}, expected {inputs[0].dtype} {tuple(expected.shape)}")
    torch.testing.assert_close(got.double(), expected, equal_nan=True, **tol)
    for i, (g, e) in enumerate(zip(got_grads, expected_grads)):
        if g is None or e is None:
            if (g is None) != (e is None):
                raise AssertionError(f"gradient of inputs[{i}]: got {'None' if g is None else 'a tensor'}, "
                                     f"expected {'None' if e is None else 'a tensor'}")
            continue
        torch.testing.assert_close(g.double(), e, equal_nan=True, **tol)
    return got


def max_relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """max|actual − expected| / max|expected| (0 when both are all zeros).

    Notes
    -----
    Tensors of different dtypes or shapes raise AssertionError. Equal entries (equal infinities
    too) and entries NaN in both count as no error; a NaN or infinity in only one makes the
    error inf. The scale is the largest finite |expected|. Empty tensors give 0.
    """
    _checks.check_type(actual, "actual", torch.Tensor, "a torch.Tensor")
    _checks.check_type(expected, "expected", torch.Tensor, "a torch.Tensor")
    if actual.dtype != expected.dtype or actual.shape != expected.shape:
        raise AssertionError(f"{actual.dtype} {tuple(actual.shape)} vs {expected.dtype} {tuple(expected.shape)}")
    if not actual.numel():
        return 0.0
    same = (actual == expected) | (actual.isnan() & expected.isnan())
    diff = (actual - expected).abs().masked_fill(same, 0)
    err = diff.nan_to_num(nan=float("inf"), posinf=float("inf")).max().item()
    scale = expected.abs().nan_to_num(nan=0.0, posinf=0.0).max().item()
    return 0.0 if err == 0 else err / scale if scale else float("inf")


def assert_same_state(params_a: Mapping[str, torch.Tensor], params_b: Mapping[str, torch.Tensor],
                      opt_a: torch.optim.Optimizer, opt_b: torch.optim.Optimizer, *,
                      rtol: float = 1e-6, when: str = "") -> None:
    """Assert that named parameters and every per-parameter state buffer of two optimizers agree."""
    _checks.check_type(params_a, "params_a", Mapping, "a dict of name → parameter")
    _checks.check_type(params_b, "params_b", Mapping, "a dict of name → parameter")
    _checks.check_type(opt_a, "opt_a", torch.optim.Optimizer, "a torch.optim.Optimizer")
    _checks.check_type(opt_b, "opt_b", torch.optim.Optimizer, "a torch.optim.Optimizer")
    if params_a.keys() != params_b.keys():
        raise ValueError(f"params_a and params_b must name the same parameters, got "
                         f"{sorted(params_a)} and {sorted(params_b)}")
    if not _checks.is_number(rtol):  # Python's or NumPy's, not a bool
        raise TypeError(f"rtol must be a float >= 0, got {type(rtol).__name__} {rtol!r}")
    if not rtol >= 0:  # NaN fails too
        raise ValueError(f"rtol must be >= 0, got {rtol}")
    for name in params_a:
        pairs = [(f"parameter {name}", params_a[name].detach(), params_b[name].detach())]
        sa, sb = opt_a.state.get(params_a[name], {}), opt_b.state.get(params_b[name], {})
        if sa.keys() != sb.keys():
            raise AssertionError(f"{when}: state keys of {name}: {sorted(sa)} vs {sorted(sb)}")
        pairs += [(f"state[{name}][{key!r}]", sa[key], sb[key]) for key in sb]
        for what, a, b in pairs:
            error = max_relative_error(a, b)
            if error > rtol:
                raise AssertionError(f"{when}: {what}: relative error {error:.3g} > {rtol:g}")
