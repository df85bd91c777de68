"""fit, evaluate and History for regression (real-valued targets), the metrics they report, and the
checks of the data against the model that run before the first step."""

import functools
import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from annlib import _fitcheck, models, train


def waves(n=256, seed=0, outputs=2):
    """y = (sin 2x₀, x₀·x₁, ...): a smooth regression target of 2 inputs."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 2, generator=g) * 2 - 1
    columns = [torch.sin(2 * x[:, 0]), x[:, 0] * x[:, 1], x[:, 1] ** 2][:outputs]
    return x, torch.stack(columns, dim=1)


def net(outputs=2, seed=0, **kw):
    torch.manual_seed(seed)
    return models.mlp([2, 32, 32, outputs], **kw)


def test_regression_fit_reports_losses_and_metrics_but_no_accuracy():
    model = net()
    h = train.fit(model, torch.optim.Adam(model.parameters(), lr=1e-2), waves(), val_data=waves(seed=1),
                  test_data=waves(seed=2), epochs=20, batch_size=32, loss_fn=F.mse_loss,
                  metrics={"r2": train.r2_score}, device="cpu", progress=False)
    assert h.epochs == 20 and h.train_loss[-1] < h.train_loss[0] / 5
    assert h.train_acc == [] and h.val_acc == [] and h.test_acc is None
    assert len(h.val_metrics["r2"]) == 20 and h.val_metrics["r2"][-1] > h.val_metrics["r2"][0]
    assert h.test_metrics["r2"] > 0.9
    # the recorded test R² is the R² of the returned model on the test set
    x, y = waves(seed=2)
    with torch.no_grad():
        assert h.test_metrics["r2"] == pytest.approx(train.r2_score(model.eval()(x), y).item(), abs=1e-6)
    assert h.without_test().test_metrics == {} and h.test_metrics  # the copy only
    assert train.History.from_dict(h.to_dict()) == h


def test_regression_early_stopping_restores_the_lowest_validation_loss():
    model = net()
    x, y = waves(24)
    h = train.fit(model, torch.optim.Adam(model.parameters(), lr=3e-2), (x, y + 0.3 * torch.randn_like(y)),
                  val_data=waves(200, seed=1), epochs=40, batch_size=4, loss_fn=F.mse_loss, patience=4,
                  device="cpu", progress=False)
    assert h.best_epoch == min(range(h.epochs), key=h.val_loss.__getitem__) + 1
    assert train.evaluate(model, waves(200, seed=1), loss_fn=F.mse_loss)[0] == pytest.approx(
        h.val_loss[h.best_epoch - 1], rel=1e-6)


def test_classification_metrics_are_recorded_beside_the_accuracy():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(100, 2, generator=g)
    y = (x[:, 0] > 0).long()
    model = net(outputs=2)
    error_rate = lambda out, y: (out.argmax(dim=1) != y).float().mean()  # noqa: E731
    h = train.fit(model, torch.optim.Adam(model.parameters(), lr=1e-2), (x, y), val_data=(x, y), epochs=3,
                  metrics={"error": error_rate}, device="cpu", progress=False)
    assert h.val_metrics["error"] == pytest.approx([1 - a for a in h.val_acc], abs=1e-6)


def test_evaluate_returns_no_accuracy_for_real_targets_and_metrics_on_the_whole_set():
    model = net()
    x, y = waves(300)
    loss, accuracy = train.evaluate(model, (x, y), loss_fn=F.mse_loss)
    assert accuracy is None and loss == pytest.approx(F.mse_loss(model(x), y).item(), rel=1e-5)
    # batches of 7: the metric is of the whole set's outputs, not a mean of per-batch values
    loss_b, accuracy_b, scores = train.evaluate(model, (x, y), loss_fn=F.mse_loss, batch_size=7,
                                                metrics={"r2": train.r2_score})
    with torch.no_grad():
        assert scores["r2"] == pytest.approx(train.r2_score(model(x), y).item(), abs=1e-6)
    assert accuracy_b is None and loss_b == pytest.approx(loss, rel=1e-5)


def test_r2_score_against_its_definition():
    g = torch.Generator().manual_seed(0)
    y = torch.randn(50, 3, generator=g) * torch.tensor([1.0, 10.0, 0.1])
    y_hat = y + 0.3 * torch.randn(50, 3, generator=g)
    per_column = [1 - ((y[:, d] - y_hat[:, d]) ** 2).sum() / ((y[:, d] - y[:, d].mean()) ** 2).sum() for d in range(3)]
    assert train.r2_score(y_hat, y).item() == pytest.approx(sum(per_column).item() / 3, rel=1e-6)
    assert train.r2_score(y, y).item() == 1.0
    assert train.r2_score(y.mean(dim=0).expand(50, 3), y).item() == pytest.approx(0.0, abs=1e-6)
    assert train.r2_score(y_hat[:, 0], y[:, 0]).item() == pytest.approx(per_column[0].item(), rel=1e-6)
    assert math.isnan(train.r2_score(torch.zeros(5), torch.ones(5)).item())  # constant targets: undefined


@pytest.mark.parametrize("outputs, targets, error, pattern", [
    (torch.zeros(4), torch.zeros(4, 1), ValueError, "same shape"),
    (torch.zeros(1), torch.zeros(1), ValueError, "N >= 2"),
    (torch.zeros(4, dtype=torch.long), torch.zeros(4), TypeError, "outputs must be a tensor of floating-point"),
    ([0.0, 1.0], torch.zeros(2), TypeError, "outputs must be a torch.Tensor"),
], ids=["shapes", "one-sample", "integer", "list"])
def test_r2_score_rejects(outputs, targets, error, pattern):
    with pytest.raises(error, match=pattern):
        train.r2_score(outputs, targets)


def test_binary_targets_with_one_output_and_bce():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(80, 2, generator=g)
    y = (x[:, :1] > 0).float()
    model = net(outputs=1)
    h = train.fit(model, torch.optim.Adam(model.parameters(), lr=1e-2), (x, y), epochs=5,
                  loss_fn=F.binary_cross_entropy_with_logits, device="cpu", progress=False)
    assert h.train_loss[-1] < h.train_loss[0] and h.train_acc == []


def test_class_probabilities_with_cross_entropy_are_accepted():
    x, _ = waves(64)
    y = torch.rand(64, 3, generator=torch.Generator().manual_seed(1)).softmax(dim=1)
    model = net(outputs=3)
    h = train.fit(model, torch.optim.SGD(model.parameters(), lr=0.1), (x, y), epochs=2, device="cpu",
                  progress=False)
    assert h.epochs == 2 and h.train_acc == []


def test_integer_inputs_to_an_embedding_are_not_a_mistake():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2))
    x = torch.randint(0, 10, (40, 3), generator=torch.Generator().manual_seed(0))
    h = train.fit(model, torch.optim.Adam(model.parameters()), (x, x[:, 0] % 2), epochs=2, device="cpu",
                  progress=False)
    assert h.epochs == 2


def test_an_optimizer_of_part_of_the_model_is_accepted():
    model = net()
    h = train.fit(model, torch.optim.SGD(model[-1].parameters(), lr=0.1), waves(), epochs=1,
                  loss_fn=F.mse_loss, device="cpu", progress=False)
    assert h.epochs == 1


def test_the_check_draws_no_random_number_and_changes_no_state():
    """The forward pass of the check runs in eval mode without gradients: dropout draws nothing,
    batch norm's running statistics stay, and the model leaves in the mode it came in."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 2)).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    x, y = waves()
    assert _fitcheck.check_data(model, (x, y), "train_data", loss_fn=F.mse_loss, rows=64,
                                device=torch.device("cpu")) == _fitcheck.VALUES
    assert torch.equal(torch.get_rng_state(), rng) and model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_a_data_mistake_in_the_test_set_stops_fit_before_any_training_step():
    model = net()
    calls = []

    def counting_mse(out, y):
        calls.append(out.requires_grad)
        return F.mse_loss(out, y)

    x, y = waves(seed=2)
    with pytest.raises(ValueError, match="test_data: y has shape"):
        train.fit(model, torch.optim.Adam(model.parameters()), waves(), test_data=(x, y[:, :1]), epochs=3,
                  loss_fn=counting_mse, device="cpu", progress=False)
    assert calls == [False]  # the train set's check only: no step was taken


def segmentation(n=12, classes=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 5, 5, generator=g), torch.randint(0, classes, (n, 5, 5), generator=g)


def conv(classes=4):
    torch.manual_seed(0)
    return nn.Conv2d(3, classes, 3, padding=1)


def test_segmentation_labels_per_position_and_ignored_labels_are_accepted_and_not_counted():
    x, y = segmentation()
    y[0, 0, :] = -100                            # unlabelled pixels: cross-entropy's default ignore_index
    model = conv()
    h = train.fit(model, torch.optim.SGD(model.parameters(), lr=0.1), (x, y), val_data=(x, y), epochs=2,
                  device="cpu", progress=False)
    with torch.no_grad():
        predicted = model.eval()(x).argmax(dim=1)
    kept = y != -100
    expected = ((predicted == y) & kept).sum().item() / kept.sum().item()   # a fraction of the labelled pixels
    assert 0 <= h.val_acc[-1] <= 1 and h.val_acc[-1] == pytest.approx(expected)
    y[1, 1, :] = 255                             # another ignore_index, named on the loss
    loss = nn.CrossEntropyLoss(ignore_index=255)
    with pytest.raises(ValueError, match=r"\(or 255, the label the loss ignores\), found values from -100 to 3"):
        train.fit(model, torch.optim.SGD(model.parameters(), lr=0.1), (x, y), epochs=1, loss_fn=loss,
                  device="cpu", progress=False)
    y[0, 0, :] = 0
    assert train.fit(model, torch.optim.SGD(model.parameters(), lr=0.1), (x, y), epochs=1, loss_fn=loss,
                     device="cpu", progress=False).epochs == 1


def test_a_model_that_samples_in_eval_mode_draws_the_same_numbers_as_without_the_check():
    """The check restores torch's random state: a model that draws even in eval mode (MC dropout)
    trains on the same numbers as if fit had not looked at the data first."""
    class MCDropout(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(2, 16), nn.Linear(16, 2)

        def forward(self, x):
            return self.b(F.dropout(self.a(x).relu(), 0.3, training=True))

    x, y = waves()
    torch.manual_seed(0)
    model = MCDropout()
    rng = torch.get_rng_state()
    _fitcheck.check_data(model, (x, y), "train_data", loss_fn=F.mse_loss, rows=64, device=torch.device("cpu"))
    assert torch.equal(torch.get_rng_state(), rng)


def test_metrics_are_tried_before_training():
    model = net()
    before = [p.clone() for p in model.parameters()]
    with pytest.raises(ValueError, match=r"metrics\['r2'\] failed on the model's outputs \(1, 2\) and the first 1 "
                                         r"targets of val_data, before training: ValueError: .*N >= 2"):
        train.fit(model, torch.optim.Adam(model.parameters()), waves(), val_data=waves(1, seed=1), epochs=2,
                  loss_fn=F.mse_loss, metrics={"r2": train.r2_score}, device="cpu", progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_r2_score_of_gridded_fields():
    g = torch.Generator().manual_seed(0)
    y = torch.randn(20, 1, 4, 4, generator=g)
    y_hat = y + 0.1 * torch.randn(20, 1, 4, 4, generator=g)
    assert train.r2_score(y_hat, y).item() == pytest.approx(train.r2_score(y_hat.flatten(1), y.flatten(1)).item())


def test_integer_counts_with_a_regression_loss_are_values_not_classes():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 2, generator=g)
    counts = torch.poisson(torch.exp(x[:, :1]), generator=g).long()
    model = net(outputs=1)
    h = train.fit(model, torch.optim.Adam(model.parameters(), lr=1e-2), (x, counts), epochs=2,
                  loss_fn=F.poisson_nll_loss, device="cpu", progress=False)
    assert h.epochs == 2 and h.train_acc == []


class _Sum(nn.Module):
    def forward(self, out):
        return out.sum()


SEG_X, SEG_Y = segmentation()
WAVE_X, WAVE_Y = waves()

# (id, model, x, y, loss_fn or None for the default, pattern of the ValueError)
MORE_MISTAKES = [
    ("one-output-cross-entropy", lambda: nn.Sequential(nn.Linear(2, 1), nn.Flatten(0)), WAVE_X, WAVE_Y[:, 0], None,
     r"the model gives one output per sample, shape \(256,\), but loss_fn is cross-entropy"),
    ("partial-cross-entropy-real-targets", net, WAVE_X, WAVE_Y,
     functools.partial(F.cross_entropy, label_smoothing=0.1), r"y holds real numbers, but loss_fn is cross-entropy"),
    ("scalar-output", lambda: nn.Sequential(nn.Linear(2, 1), _Sum()), WAVE_X, WAVE_Y[:, 0], F.mse_loss,
     r"the model returned outputs of shape \(\) for the first 64 samples of train_data"),
    ("mask-with-channel", conv, SEG_X, SEG_Y.unsqueeze(1), None,
     r"y has shape \(12, 1, 5, 5\) but the model outputs \(12, 4, 5, 5\): integer labels must have shape "
     r"\(12, 5, 5\); use y.squeeze\(1\)"),
    ("images-into-linear", lambda: nn.Sequential(nn.Linear(25, 4)), SEG_X[:, 0], SEG_Y[:, 0, 0], None,
     r"x has shape \(12, 5, 5\), 5 features per sample, but the model's first layer, Linear, takes 25; "
     r"flatten each sample first: x.reshape\(len\(x\), -1\)"),
]


@pytest.mark.parametrize("make, x, y, loss_fn, pattern", [case[1:] for case in MORE_MISTAKES],
                         ids=[case[0] for case in MORE_MISTAKES])
def test_more_mistakes_found_before_training(make, x, y, loss_fn, pattern):
    torch.manual_seed(0)
    model = make()
    before = [p.clone() for p in model.parameters()]
    with pytest.raises(ValueError, match=pattern):
        train.fit(model, torch.optim.SGD(model.parameters(), lr=0.1), (x, y), epochs=1,
                  **({"loss_fn": loss_fn} if loss_fn is not None else {}), device="cpu", progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
