"""annlib: the tested companion package of *Implementing Artificial Neural Networks in PyTorch*.

Import the modules you need by name, like torch's own namespaces::

    from annlib import data, models, train

Importing annlib has no side effects: no seeding, no downloads, no prints, no rcParams.
"""

from pathlib import Path as _Path

__version__ = "0.1.0"
# The source files as they were before any submodule loaded: annlib.cache keys results by the code
# this process runs, and refuses when the files on disk no longer are that code.
_SOURCES_AT_IMPORT = {path.stem: path.read_bytes() for path in _Path(__file__).parent.glob("*.py")}
