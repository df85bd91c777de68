import pytest
import torch
from torch import nn

from annlib import models


def test_mlp_layers_and_output_shape():
    net = models.mlp([784, 32, 16, 10], activation="tanh", dropout=0.2)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Flatten", "Linear", "Tanh", "Dropout", "Linear", "Tanh", "Dropout", "Linear"]
    assert net(torch.zeros(5, 1, 28, 28)).shape == (5, 10)
    assert net(torch.zeros(5, 784)).shape == (5, 10)


@pytest.mark.parametrize("spec", ["sigmoid", nn.Sigmoid(), nn.Sigmoid])
def test_activation_by_name_module_or_class(spec):
    net = models.mlp([4, 3, 3, 2], activation=spec)
    acts = [m for m in net if isinstance(m, nn.Sigmoid)]
    assert len(acts) == 2 and acts[0] is not acts[1]


def test_unknown_activation_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown activation 'relu6'; valid: \['elu', 'gelu', .*'tanh'\]"):
        models.mlp([4, 2], activation="relu6")
    with pytest.raises(ValueError, match="unknown activation"):
        models.mlp([4, 3, 2], activation="relu6")
    with pytest.raises(TypeError, match="activation must be"):
        models.mlp([4, 3, 2], activation=42)


@pytest.mark.parametrize("sizes", [[784], [], [784, 0, 10], [784, -3], [784, 2.5, 10], [784, True]])
def test_bad_sizes(sizes):
    with pytest.raises(ValueError, match="sizes must be"):
        models.mlp(sizes)


@pytest.mark.parametrize("p", [-0.1, 1.0, 2])
def test_bad_dropout(p):
    with pytest.raises(ValueError, match="dropout must be in"):
        models.mlp([4, 3, 2], dropout=p)


def test_count_parameters():
    assert models.count_parameters(models.mlp([784, 128, 64, 10])) == 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10
    assert models.count_parameters(models.mlp([3, 2])) == 8
