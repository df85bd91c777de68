import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

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
