"""``glue`` for the chapters' notebooks outside the book build: Colab, or Jupyter without myst-nb.

The chapters hand computed values to the prose of the built page with myst-nb's ``glue``. The
notebooks made for Colab and for download (``book/_ext/annlib_colab.py``) import this ``glue``
instead, so that they run where myst-nb is not installed (installing it in Colab would pull in
Sphinx and may replace Colab's own IPython). Where myst-nb is installed, this is myst-nb's
``glue``. Elsewhere it shows what the built page shows as a figure or a table, once, and leaves
out the numbers and words that the page places inside sentences.
"""

from __future__ import annotations

from annlib import _checks

__all__ = ["glue"]


def glue(name: str, variable, display: bool = True) -> None:
    """Show ``variable`` as myst-nb's ``glue`` would in a notebook, with or without myst-nb.

    Parameters
    ----------
    name
        The name the prose refers to (kept for myst-nb; unused without it).
    variable
        Any value.
    display
        Show the value here as well as in the prose. Without myst-nb, a matplotlib figure or a
        table (an object with ``to_html``, such as a pandas ``DataFrame`` or ``Styler``) is
        shown even when this is False, because the built page shows it in a figure or table
        directive that a notebook does not render. A figure is closed once shown, so that the
        notebook's inline backend does not show it a second time.

    See Also
    --------
    myst_nb.glue : the build's own.
    """
    _checks.check_type(name, "name", str, "a string")
    _checks.check_flag(display, "display")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        pass
    else:
        myst_glue(name, variable, display=display)
        return

    from IPython.display import display as show
    from matplotlib.figure import Figure

    if isinstance(variable, Figure):
        import matplotlib.pyplot as plt

        show(variable)
        plt.close(variable)
    elif display or hasattr(variable, "to_html"):
        show(variable)
