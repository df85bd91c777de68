"""annlib: the tested companion package of *Implementing Artificial Neural Networks in PyTorch*.

Import the modules you need by name, like torch's own namespaces::

    from annlib import data, models, train

Importing annlib has no side effects: no seeding, no downloads, no prints, no rcParams.
"""

__version__ = "0.1.0"
