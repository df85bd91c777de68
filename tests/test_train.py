import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from annlib import models, train


def blobs(n=200, seed=0):
    """Two separable Gaussian blobs in 2-D: an easy problem that trains in milliseconds."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randn(n, 2, generator=g) + 3 * y.unsqueeze(1).float()
    return x, y


def make(seed=0, sizes=(2, 16, 2), **kw):
    torch.manual_seed(seed)
    return models.mlp(list(sizes), **kw)


def test_fit_learns_and_records_every_epoch():
    model = make()
    h = train.fit(model, torch.optim.Adam(model.parameters(), lr=0.05), blobs(), val_data=blobs(seed=1),
                  test_data=blobs(seed=2), epochs=5, batch_size=16, device="cpu", progress=False)
    assert h.epochs == 5 and len(h.val_loss) == len(h.val_acc) == len(h.epoch_time) == 5
    assert h.train_loss[-1] < h.train_loss[0] and h.test_acc > 0.9
    assert not h.diverged and not h.interrupted and h.wall_time > 0


def test_same_seed_same_numbers():
    runs = []
    for _ in range(2):
        model = make(dropout=0.3)
        h = train.fit(model, torch.optim.SGD(model.parameters(), lr=0.1), blobs(), val_data=blobs(seed=1),
                      epochs=3, batch_size=8, seed=7, device="cpu", progress=False)
        runs.append((h.to_dict(), [p.clone() for p in model.parameters()]))
    (h1, p1), (h2, p2) = runs
    h1.pop("epoch_time"), h2.pop("epoch_time")
    assert h1 == h2 and all(torch.equal(a, b) for a, b in zip(p1, p2))


def test_divergence_returns_history_marked_diverged():
    model = make()
    h = train.fit(model, torch.optim.SGD(model.parameters(), lr=1e30), blobs(), val_data=blobs(seed=1),
                  test_data=blobs(seed=2), epochs=5, batch_size=16, device="cpu", progress=False)
    assert h.diverged and h.diverged_epoch == h.epochs <= 2
    assert not math.isfinite(h.train_loss[-1]) and h.test_acc is None


def test_early_stopping_restores_best_weights():
    x, y = blobs(40)
    y_noise = y[torch.randperm(40, generator=torch.Generator().manual_seed(0))]  # labels to memorize
    model = make(sizes=(2, 256, 256, 2))
    val = blobs(200, seed=1)
    h = train.fit(model, torch.optim.Adam(model.parameters(), lr=1e-2), (x, y_noise), val_data=val,
                  epochs=60, batch_size=8, patience=3, device="cpu", progress=False)
    best = min(range(h.epochs), key=h.val_loss.__getitem__) + 1
    assert h.best_epoch == best and h.epochs == best + 3 < 60
    assert train.evaluate(model, val)[0] == pytest.approx(h.val_loss[best - 1])


def test_ctrl_c_returns_the_history_so_far():
    steps = {"n": 0}

    def loss_fn(logits, y):
        steps["n"] += 1
        if steps["n"] == 30:  # in the third epoch of 13 steps
            raise KeyboardInterrupt
        return F.cross_entropy(logits, y)

    model = make()
    h = train.fit(model, torch.optim.SGD(model.parameters(), lr=0.1), blobs(), epochs=10, batch_size=16,
                  loss_fn=loss_fn, device="cpu", progress=False)
    assert h.interrupted and h.epochs == 2


def test_l1_penalty_shrinks_weights():
    norms = []
    for l1 in (0.0, 0.05):
        model = make()
        train.fit(model, torch.optim.SGD(model.parameters(), lr=0.1), blobs(), epochs=5, batch_size=16,
                  l1=l1, device="cpu", progress=False)
        with torch.no_grad():
            norms.append(train.l1_penalty(model).item())
    assert norms[1] < 0.7 * norms[0]


def test_evaluate_counts_correct_predictions():
    model = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    loss, acc = train.evaluate(model, (x, torch.tensor([0, 1, 1, 1])), batch_size=3)
    assert acc == 0.75
    assert loss == pytest.approx(F.cross_entropy(x, torch.tensor([0, 1, 1, 1])).item())


@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"epochs": 2.0}, "epochs must be a positive integer"),
    ({"epochs": 1, "patience": 2}, r"early stopping \(patience=2\) needs val_data"),
    ({"epochs": 1, "l1": -1.0}, "l1 must be a finite number >= 0, got -1.0"),
    ({"epochs": 3, "lr_steps": {4: 0.1}}, r"lr_steps epochs must be integers in \[1, 3\]"),
    ({"epochs": 3, "lr_steps": {0: 0.1}}, "lr_steps epochs must be"),
    ({"epochs": 3, "lr_steps": {2.0: 0.1}}, "lr_steps epochs must be"),
    ({"epochs": 3, "lr_steps": {2: 0.0}}, "lr_steps learning rates must be positive"),
    ({"epochs": 3, "lr_steps": {2: math.nan}}, "lr_steps learning rates must be positive"),
    ({"epochs": 1, "augment": lambda x: x[:-1]}, "augment returned 199 rows for 200 labels"),
])
def test_bad_arguments(kwargs, message):
    model = make()
    with pytest.raises(ValueError, match=message):
        train.fit(model, torch.optim.SGD(model.parameters(), lr=0.1), blobs(), **kwargs)


def test_history_round_trips_through_dict():
    h = train.History(train_loss=[1.0, float("nan")], train_acc=[0.5, 0.1], epoch_time=[0.1, 0.1],
                      diverged_epoch=2)
    again = train.History.from_dict(h.to_dict())
    assert again.diverged_epoch == 2 and again.train_acc == h.train_acc and math.isnan(again.train_loss[1])


@pytest.mark.parametrize("env, progress, disabled", [("1", None, True), ("", None, False),
                                                     ("1", True, False), ("", False, True)])
def test_progress_bar_follows_tqdm_disable_unless_told(monkeypatch, env, progress, disabled):
    # tqdm.notebook ignores TQDM_DISABLE, so fit reads it itself: the book build sets it.
    monkeypatch.setenv("TQDM_DISABLE", env)
    bar = train._progress_bar(10, progress)
    try:
        assert bar.disable is disabled
    finally:
        bar.close()


def test_lr_steps_set_the_learning_rate_from_their_epoch_on():
    model = make()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    seen = []

    def record(x):  # called at the start of each epoch, after the schedule has set the rate
        seen.append([group["lr"] for group in optimizer.param_groups])
        return x

    train.fit(model, optimizer, blobs(), epochs=5, lr_steps={3: 0.01, 5: 0.001}, augment=record,
              device="cpu", progress=False)
    assert seen == [[0.1], [0.1], [0.01], [0.01], [0.001]]


def test_each_epoch_trains_on_what_augment_returns():
    model = make()
    first = model[1].weight.detach().clone()           # Flatten, Linear, ...
    calls = []

    def blank(x):
        calls.append(x.shape)
        return torch.zeros_like(x)                     # no input: the first layer's weights get no gradient

    train.fit(model, torch.optim.SGD(model.parameters(), lr=0.5), blobs(), epochs=3, augment=blank,
              device="cpu", progress=False)
    assert calls == [torch.Size([200, 2])] * 3
    assert torch.equal(model[1].weight, first)
    assert not torch.equal(model[1].bias, torch.zeros_like(model[1].bias))  # the rest did train


def test_history_without_test_keeps_everything_but_the_test_numbers():
    history = train.History(train_loss=[1.0], val_loss=[0.5], val_acc=[0.8], test_loss=0.4, test_acc=0.9, best_epoch=1)
    blind = history.without_test()
    assert (blind.test_loss, blind.test_acc) == (None, None) and history.test_acc == 0.9
    assert blind.val_acc == [0.8] and blind.best_epoch == 1


@pytest.mark.parametrize("was_training", [True, False])
def test_evaluate_restores_the_mode_even_when_the_loss_raises(was_training):
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Dropout(0.5)).train(was_training)

    calls = []

    def broken_loss(logits, y):  # fails in the evaluation loop, after evaluate's check of the data
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("loss failed")
        return F.cross_entropy(logits, y)

    with pytest.raises(RuntimeError, match="loss failed"):
        train.evaluate(model, (torch.randn(4, 3), torch.tensor([0, 1, 0, 1])), loss_fn=broken_loss)
    assert len(calls) == 2
    assert model.training is was_training and model[1].training is was_training
