"""The divergence matrix: every optimizer at learning rates up to 10 either trains or is reported
as diverged with its epoch; never a crash, never a NaN left where a table would show a number."""

import dataclasses
import math

import pytest
import torch

from annlib import experiments, models, optim, train
from conftest import DIVERGENCE

LEARNING_RATES = (1e-3, 1e-2, 1e-1, 1.0, 3.0, 10.0)
EPOCHS = 4

# name → a function of (parameters, lr) giving the optimizer: the torch ones exactly as the
# book's experiments build them (fused kernels), and annlib's from-scratch ones.
BOOK = experiments.Experiment()
OPTIMIZERS = {
    "sgd": lambda p, lr: dataclasses.replace(BOOK, optimizer="sgd", lr=lr).build_optimizer(p),
    "sgd+momentum": lambda p, lr: dataclasses.replace(BOOK, optimizer="sgd", lr=lr, momentum=0.9).build_optimizer(p),
    "adagrad": lambda p, lr: dataclasses.replace(BOOK, optimizer="adagrad", lr=lr).build_optimizer(p),
    "rmsprop": lambda p, lr: dataclasses.replace(BOOK, optimizer="rmsprop", lr=lr).build_optimizer(p),
    "adam": lambda p, lr: dataclasses.replace(BOOK, optimizer="adam", lr=lr).build_optimizer(p),
    "annlib.SGD+momentum": lambda p, lr: optim.SGD(p, lr=lr, momentum=0.9),
    "annlib.Adagrad": lambda p, lr: optim.Adagrad(p, lr=lr),
    "annlib.RMSprop": lambda p, lr: optim.RMSprop(p, lr=lr),
    "annlib.Adam": lambda p, lr: optim.Adam(p, lr=lr),
}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: one thread is faster, and much faster when other processes share the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def digits_like(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A small MNIST-like problem: pixels in [0, 1], each class a sparse prototype plus noise."""
    prototypes = (torch.rand(10, 784, generator=torch.Generator().manual_seed(0)) < 0.2).float()
    y = torch.arange(n) % 10
    return (prototypes[y] + 0.5 * torch.rand(n, 784, generator=generator)).clamp(0, 1), y


def outcome(name: str, lr: float) -> str:
    """Train with optimizer ``name`` at ``lr``, check the history and its table row, say what happened."""
    g = torch.Generator().manual_seed(1)
    train_data, val_data, test_data = digits_like(500, g), digits_like(100, g), digits_like(100, g)
    torch.manual_seed(0)
    model = models.mlp([784, 32, 10])
    history = train.fit(model, OPTIMIZERS[name](model.parameters(), lr), train_data, val_data=val_data,
                        test_data=test_data, epochs=EPOCHS, batch_size=20, device="cpu", progress=False)
    row = experiments.Result(experiments.Experiment(lr=lr, epochs=EPOCHS), history).summary()
    numbers = [value for value in row.values() if isinstance(value, float)]
    assert all(math.isfinite(value) for value in numbers), f"a NaN or inf would reach a table: {row}"
    if history.diverged:
        assert 1 <= history.diverged_epoch == history.epochs <= EPOCHS
        assert row["diverged at epoch"] == history.diverged_epoch and row["final train loss"] is None
        assert history.test_acc is None and history.test_loss is None
        return f"diverged at {history.diverged_epoch}"
    else:
        assert history.epochs == EPOCHS
        assert all(math.isfinite(v) for v in history.train_loss + history.val_loss + [history.test_loss])
        assert all(torch.isfinite(p).all() for p in model.parameters())
    return f"{100 * history.val_acc[-1]:.0f}% val"


@pytest.mark.parametrize("lr", LEARNING_RATES)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_trains_or_reports_divergence(name, lr):
    DIVERGENCE[name, lr] = outcome(name, lr)  # printed as a matrix at the end of the run


def test_the_learning_rates_span_learning_and_failing():
    """At 1e-2 plain SGD learns the problem; at 10 it fails to learn, with finite numbers to show."""
    assert outcome("sgd", 1e-2) == "100% val" and outcome("sgd", 10.0) == "10% val"


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_an_exploding_learning_rate_is_reported_with_its_epoch(name):
    """Beyond the matrix: at lr=1e30 every optimizer's loss overflows, and the run says when."""
    assert outcome(name, 1e30) == "diverged at 1"
