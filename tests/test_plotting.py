import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from annlib import plotting, train  # noqa: E402


def history(diverged=False):
    h = train.History(train_loss=[1.0, 0.5, 0.4], train_acc=[0.6, 0.8, 0.9], val_loss=[1.1, 0.6, 0.7],
                      val_acc=[0.5, 0.7, 0.8], epoch_time=[1, 1, 1], best_epoch=2)
    if diverged:
        h.train_loss[-1], h.diverged_epoch = float("nan"), 3
    return h


def test_plot_history_draws_both_splits_and_returns_axes():
    fig, ax = plt.subplots()
    assert plotting.plot_history(history(), ax=ax) is ax
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:2] == ["training", "validation"] and "best epoch (restored)" in labels
    assert list(ax.get_lines()[1].get_ydata()) == [1.1, 0.6, 0.7]
    plt.close(fig)


def test_plot_history_labels_the_loss_cross_entropy_only_for_classification():
    fig, (ax_c, ax_r) = plt.subplots(1, 2)
    assert plotting.plot_history(history(), ax=ax_c).get_ylabel() == "cross-entropy loss"
    regression = train.History(train_loss=[3.0, 2.0], val_loss=[3.1, 2.2], epoch_time=[1, 1],
                               val_metrics={"r2": [0.5, 0.6]})
    assert plotting.plot_history(regression, ax=ax_r).get_ylabel() == "loss"
    plt.close(fig)


def test_plot_histories_marks_divergence_and_keeps_colours():
    fig, ax = plt.subplots()
    plotting.plot_histories({"adam": history(), "sgd": history(diverged=True)}, metric="train_loss", ax=ax)
    lines = ax.get_lines()
    assert lines[0].get_color() == plotting.color("adam") and lines[1].get_color() == plotting.color("sgd")
    assert lines[2].get_marker() == "x"
    plt.close(fig)


def test_colour_is_stable_for_unknown_names():
    assert plotting.color("my-run") == plotting.color("my-run")
    assert plotting.color("Adam") == plotting.COLORS["adam"]


def test_bad_metric():
    with pytest.raises(ValueError, match="metric must be"):
        plotting.plot_history(history(), metric="f1")


@pytest.mark.parametrize("group", [["sgd", "sgd+momentum", "adagrad", "rmsprop", "adam"],
                                   ["relu", "sigmoid", "tanh"], ["L1", "MSE", "cross-entropy", "Huber"],
                                   ["no regularization", "early stopping", "dropout (p=0.5)",
                                    "L2 penalty (weight decay)", "L1 penalty"]])
def test_names_drawn_in_one_figure_get_distinct_fixed_colours(group):
    colours = [plotting.color(name) for name in group]
    assert len(set(colours)) == len(group)
    assert all(name.lower() in plotting.COLORS for name in group)


def test_autograd_graph_finds_every_operation_and_leaf_at_its_longest_depth():
    w, b = torch.randn(3, requires_grad=True), torch.randn(1, requires_grad=True)
    x = torch.randn(4, 3)                      # data: needs no gradient, so not in the graph
    loss = torch.sigmoid(x @ w + b).sum()
    depth, edges = plotting.autograd_graph(loss.grad_fn)
    by_name = {node.name(): d for node, d in depth.items() if not hasattr(node, "variable")}
    assert by_name == {"SumBackward0": 0, "SigmoidBackward0": 1, "AddBackward0": 2, "MvBackward0": 3}
    leaves = {id(node.variable): d for node, d in depth.items() if hasattr(node, "variable")}
    assert leaves == {id(w): 4, id(b): 3}
    assert len(edges) == 5
    with pytest.raises(ValueError, match="no backward graph"):
        plotting.autograd_graph(w.detach().grad_fn)


def test_plot_autograd_graph_labels_leaves_by_name_or_shape():
    w, v = torch.randn(3, requires_grad=True), torch.randn(2, 3, requires_grad=True)
    fig, ax = plt.subplots()
    plotting.plot_autograd_graph((v @ w).sum(), names={w: "w"}, ax=ax)
    texts = sorted(t.get_text() for t in ax.texts if t.get_text())      # arrows are empty annotations
    assert texts == ["2×3.grad +=", "MvBackward0", "SumBackward0", "w.grad +="], texts
    plt.close(fig)


def test_calibration_bins_confidence_and_accuracy_by_hand():
    # confidences 0.95, 0.92 (bin 9: one right, one wrong), 0.55 (bin 5: right), 0.35 (bin 3: wrong)
    probs = torch.tensor([[0.95, 0.05, 0.0], [0.04, 0.92, 0.04], [0.55, 0.45, 0.0], [0.35, 0.33, 0.32]])
    y = torch.tensor([0, 2, 0, 1])
    curve = plotting.calibration(probs, y, bins=10)
    torch.testing.assert_close(curve.confidence, torch.tensor([0.35, 0.55, 0.935], dtype=torch.float64))
    torch.testing.assert_close(curve.accuracy, torch.tensor([0.0, 1.0, 0.5], dtype=torch.float64))
    assert curve.count.tolist() == [1, 1, 2]
    assert curve.ece == pytest.approx((0.35 + 0.45 + 2 * 0.435) / 4)


def test_calibration_of_calibrated_predictions_is_near_zero_and_of_overconfident_ones_is_not():
    generator = torch.Generator().manual_seed(0)
    confidence = 0.5 + 0.5 * torch.rand(200_000, generator=generator, dtype=torch.float64)
    right = torch.rand(200_000, generator=generator, dtype=torch.float64) < confidence  # right as often as claimed
    probs = torch.stack([confidence, 1 - confidence], dim=1)
    y = torch.where(right, 0, 1)
    assert plotting.calibration(probs, y).ece < 0.01
    always_wrong_half = torch.where(torch.arange(200_000) % 2 == 0, 0, 1)  # right half the time at any confidence
    assert plotting.calibration(probs, always_wrong_half).ece == pytest.approx(0.75 - 0.5, abs=0.01)


def test_plot_reliability_draws_the_diagonal_and_one_curve_each():
    probs = torch.tensor([[0.9, 0.1], [0.6, 0.4]])
    curves = {"adam": plotting.calibration(probs, torch.tensor([0, 1]))}
    fig, ax = plt.subplots()
    assert plotting.plot_reliability(curves, ax=ax) is ax
    lines = ax.get_lines()
    assert len(lines) == 2 and list(lines[0].get_xdata()) == [0, 1]
    assert lines[1].get_color() == plotting.color("adam") and "ECE" in lines[1].get_label()
    plt.close(fig)


@pytest.mark.bad_input
@pytest.mark.parametrize("args, kwargs, error, message", [
    (([[0.5, 0.5]], torch.tensor([0])), {}, TypeError, "probs must be a float tensor"),
    ((torch.tensor([[0.5, 0.5]]), [0]), {}, TypeError, "y must be an integer tensor"),
    ((torch.tensor([0.5, 0.5]), torch.tensor([0])), {}, ValueError, r"shape \(N, C\), got .* of shape \(2,\)"),
    ((torch.empty(0, 3), torch.empty(0, dtype=torch.long)), {}, ValueError, "non-empty"),
    ((torch.tensor([[0.5, 0.5]]), torch.tensor([0.0])), {}, ValueError, "y must be an integer tensor"),
    ((torch.tensor([[0.5, 0.5]]), torch.tensor([0, 1])), {}, ValueError, r"shape \(1,\)"),
    ((torch.tensor([[2.0, -1.0]]), torch.tensor([0])), {}, ValueError, "non-negative"),
    ((torch.tensor([[0.3, 0.3]]), torch.tensor([0])), {}, ValueError, "sum to 1"),
    ((torch.tensor([[float("nan"), 1.0]]), torch.tensor([0])), {}, ValueError, "finite"),
    ((torch.tensor([[0.5, 0.5]]), torch.tensor([0])), {"bins": 0}, ValueError, "bins must be a positive integer"),
    ((torch.tensor([[0.5, 0.5]]), torch.tensor([0])), {"bins": True}, ValueError, "bins must be a positive integer"),
])
def test_calibration_bad_inputs(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        plotting.calibration(*args, **kwargs)


@pytest.mark.bad_input
@pytest.mark.parametrize("curves, error, message", [
    ([1], TypeError, "curves must be a dict"),
    ({"a": (1, 2, 3, 0.1)}, TypeError, r"curves\['a'\] must be an annlib.plotting.Calibration"),
])
def test_plot_reliability_bad_inputs(curves, error, message):
    fig, ax = plt.subplots()
    with pytest.raises(error, match=message):
        plotting.plot_reliability(curves, ax=ax)
    plt.close(fig)
