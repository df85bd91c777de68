"""The oracle helpers must be able to fail: each is fed a wrong implementation."""

import pytest
import torch

from annlib import optim, testing


def test_matching_implementation_passes_and_returns_its_value():
    x = torch.linspace(-3, 3, 7, dtype=torch.float64)
    value = testing.assert_matches_oracle(lambda t: 1 / (1 + torch.exp(-t)), torch.sigmoid, x)
    assert torch.allclose(value, torch.sigmoid(x))


def test_wrong_value_or_wrong_gradient_fails():
    x = torch.linspace(-3, 3, 7, dtype=torch.float64)
    with pytest.raises(AssertionError):
        testing.assert_matches_oracle(lambda t: torch.sigmoid(t) + 1e-3, torch.sigmoid, x)
    # same values, wrong gradient: the straight-through trick hides the function from autograd
    with pytest.raises(AssertionError):
        testing.assert_matches_oracle(lambda t: t + (torch.sigmoid(t) - t).detach(), torch.sigmoid, x)


def test_dtype_must_be_kept():
    x = torch.zeros(3, dtype=torch.float32)
    with pytest.raises(AssertionError, match="expected torch.float32"):
        testing.assert_matches_oracle(lambda t: torch.sigmoid(t.double()), torch.sigmoid, x)


def test_max_relative_error():
    a = torch.tensor([1.0, 2.0, 4.0])
    assert testing.max_relative_error(a, a) == 0.0
    assert testing.max_relative_error(a + torch.tensor([0.0, 0.0, 0.4]), a) == pytest.approx(0.1)
    assert testing.max_relative_error(torch.ones(2), torch.zeros(2)) == float("inf")
    with pytest.raises(AssertionError):
        testing.max_relative_error(a, a[:2])


def test_assert_same_state_catches_a_different_buffer():
    def setup(lr):
        w = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
        opt = optim.Adam([w], lr=lr)
        w.grad = torch.full_like(w, 0.5)
        opt.step()
        return {"w": w}, opt

    (pa, oa), (pb, ob) = setup(1e-3), setup(1e-3)
    testing.assert_same_state(pa, pb, oa, ob)
    pc, oc = setup(2e-3)
    with pytest.raises(AssertionError, match="parameter w"):
        testing.assert_same_state(pa, pc, oa, oc)
    with torch.no_grad():
        ob.state[pb["w"]]["exp_avg"].mul_(2)
    with pytest.raises(AssertionError, match="exp_avg"):
        testing.assert_same_state(pa, pb, oa, ob)
