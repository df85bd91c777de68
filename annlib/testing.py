"""Oracle comparisons: check a from-scratch implementation against PyTorch's own.

The test suite and the chapters' exercises use the same helpers, so a reader who writes their
own activation, loss or optimizer can check it exactly the way annlib's are checked.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping

import torch

__all__ = ["TOLERANCES", "value_and_grads", "assert_matches_oracle", "max_relative_error",
           "assert_same_state"]

TOLERANCES = {torch.float64: dict(rtol=1e-7, atol=1e-7), torch.float32: dict(rtol=1e-4, atol=1e-5)}


def value_and_grads(fn: Callable[..., torch.Tensor], *inputs: torch.Tensor
                    ) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
    """Evaluate ``fn`` on fresh leaf copies of ``inputs`` and backpropagate a fixed random cotangent.

    A random cotangent (rather than ``.sum()``) lets the check see the whole Jacobian: for softmax,
    ``softmax(x).sum()`` is constant and its gradient is 0 whatever the implementation.
    """
    leaves = [x.detach().clone().requires_grad_(True) for x in inputs]
    out = fn(*leaves)
    cotangent = torch.randn(out.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out.backward(cotangent.to(out.dtype))
    return out.detach(), [leaf.grad for leaf in leaves]


def assert_matches_oracle(ours: Callable[..., torch.Tensor], oracle: Callable[..., torch.Tensor],
                          *inputs: torch.Tensor) -> torch.Tensor:
    """Assert that the values and input gradients of ``ours`` equal the ``oracle``'s.

    ``ours`` runs in the inputs' dtype (and must keep it); the oracle always runs in float64, so
    a float32 result is checked against the exact answer with :data:`TOLERANCES`. Returns the
    value of ``ours``.
    """
    tol = TOLERANCES[inputs[0].dtype]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # e.g. torch's kl_div warns about "mean"
        expected, expected_grads = value_and_grads(oracle, *(x.double() for x in inputs))
    got, got_grads = value_and_grads(ours, *inputs)
    if got.dtype != inputs[0].dtype or got.shape != expected.shape:
        raise AssertionError(f"got {got.dtype} {tuple(got.shape)}, expected {inputs[0].dtype} {tuple(expected.shape)}")
    torch.testing.assert_close(got.double(), expected, **tol)
    for g, e in zip(got_grads, expected_grads):
        torch.testing.assert_close(g.double(), e, equal_nan=True, **tol)
    return got


def max_relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """max|actual − expected| / max|expected| (0 when both are all zeros)."""
    if actual.dtype != expected.dtype or actual.shape != expected.shape:
        raise AssertionError(f"{actual.dtype} {tuple(actual.shape)} vs {expected.dtype} {tuple(expected.shape)}")
    err = (actual - expected).abs().max().item() if actual.numel() else 0.0
    scale = expected.abs().max().item() if expected.numel() else 0.0
    return 0.0 if err == 0 else err / scale if scale else float("inf")


def assert_same_state(params_a: Mapping[str, torch.Tensor], params_b: Mapping[str, torch.Tensor],
                      opt_a: torch.optim.Optimizer, opt_b: torch.optim.Optimizer, *,
                      rtol: float = 1e-6, when: str = "") -> None:
    """Assert that named parameters and every per-parameter state buffer of two optimizers agree."""
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
