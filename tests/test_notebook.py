"""annlib.notebook.glue: myst-nb's glue where it is installed, and without it (Colab) the figures and
tables a page shows, once, and not the numbers and words it puts in sentences."""

import sys

import matplotlib

matplotlib.use("Agg")

import IPython.display  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from IPython.display import Markdown  # noqa: E402

from annlib import notebook  # noqa: E402


@pytest.fixture
def shown(monkeypatch):
    """What glue displays, without myst-nb (importing it raises ImportError, as in Colab)."""
    monkeypatch.setitem(sys.modules, "myst_nb", None)
    values = []
    monkeypatch.setattr(IPython.display, "display", lambda value: values.append(value))
    yield values
    plt.close("all")


def test_with_myst_nb_it_is_myst_nbs_glue(monkeypatch):
    import myst_nb

    calls = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, variable, display=True: calls.append((name, variable, display)))
    notebook.glue("x", 1.5, display=False)
    assert calls == [("x", 1.5, False)]


@pytest.mark.parametrize("value", [0.25, 3, "a phrase", Markdown("**Adam**")], ids=["float", "int", "str", "markdown"])
def test_without_myst_nb_words_and_numbers_for_the_prose_are_not_shown(shown, value):
    notebook.glue("name", value, display=False)
    assert shown == []


def test_without_myst_nb_display_true_shows_the_value(shown):
    notebook.glue("name", 0.25)
    assert shown == [0.25]


def test_without_myst_nb_a_table_is_shown(shown):
    table = pd.DataFrame({"accuracy": [0.97, 0.98]})
    notebook.glue("table", table, display=False)
    notebook.glue("styled", table.style, display=False)
    assert shown[0] is table and len(shown) == 2


def test_without_myst_nb_a_figure_is_shown_once_and_closed(shown):
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    notebook.glue("fig", fig, display=False)
    assert shown == [fig]
    assert not plt.fignum_exists(fig.number)  # the inline backend will not show it again
    fig2 = plt.figure()
    plt.close(fig2)                           # a chapter may close a figure before gluing it
    notebook.glue("fig2", fig2, display=False)
    assert shown == [fig, fig2]


@pytest.mark.bad_input
@pytest.mark.parametrize("name, display, message", [
    (3, False, "name must be a string, got int 3"),
    ("x", "no", "display must be True or False, got 'no'"),
])
def test_bad_inputs(shown, name, display, message):
    with pytest.raises(TypeError, match=message):
        notebook.glue(name, 1.0, display=display)
