"""annlib.cache: a result's key follows the code its training executes, not the bytes of annlib.

Each case edits a copy of the package and compares the two checksums before and after:
``code_checksum`` (part of every experiment's key) and ``library_checksum`` (the book build's
fingerprint: every chapter re-executes when it changes).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import annlib
from annlib import cache, experiments
from annlib.experiments import Experiment

PACKAGE = Path(cache.__file__).parent
REPO = PACKAGE.parent


@pytest.fixture
def package(tmp_path):
    copy = tmp_path / "annlib"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def edit(package: Path, module: str, old: str, new: str) -> None:
    path = package / f"{module}.py"
    text = path.read_text()
    assert text.count(old) >= 1, f"{old!r} is not in {module}.py"
    path.write_text(text.replace(old, new, 1))


# (what is edited, module, old, new, training key changes, library checksum changes)
EDITS = [
    ("a docstring in train.fit", "train", "Train ``model`` with ``optimizer``", "Fit ``model`` with ``optimizer``",
     False, False),
    ("the module docstring of train", "train", '"""Training: ``fit`` a model', '"""Training, edited: ``fit`` a model',
     False, False),
    ("a comment in train.fit", "train", "# diverged: no use finishing the epoch", "# diverged (edited comment)",
     False, False),
    ("formatting in train.fit", "train", "history, best_state, best_loss = History(), None, math.inf",
     "history, best_state, best_loss = (History(),\n                                   None, math.inf)", False, False),
    ("a docstring in plotting", "plotting", "The book-wide colour of ``name``", "The colour of ``name``", False, False),
    ("code in plotting", "plotting", '_CYCLE = ["#E69F00"', '_CYCLE = ["#000000"', False, True),
    ("code in experiments.select", "experiments", 'raise ValueError(f"no run has a finite {by}',
     'raise RuntimeError(f"no run has a finite {by}', False, True),
    ("code in sweep (how runs are scheduled)", "sweep", "reverse=True)", "reverse=False)", False, True),
    ("code in cache (what an entry keeps)", "cache", '"meta": {"results_version"', '"meta": {"version"', True, True),
    ("code in run (what is cached)", "experiments", "if path is not None and not history.interrupted",
     "if path is not None", True, True),
    ("a presentation method of Result", "experiments", '"epochs run": h.epochs', '"epochs": h.epochs', True, True),
    ("code in train.fit", "train", "if step % 100 == 99", "if step % 50 == 49", True, True),
    ("code in models", "models", "nn.Dropout(dropout)", "nn.Dropout(dropout * 1)", True, True),
    ("code in data.random_shift", "data", "blank = -MEAN / STD", "blank = 0.0", True, True),
    ("code in mnist.read_idx", "mnist", 'dtype=">i4", count=ndim', 'dtype=">u4", count=ndim', True, True),
    ("a comment in _checks", "_checks", "    return value\n", "    return value  # a comment\n", False, False),
    ("code in _checks (a real change)", "_checks", "value >= 1", "value >= 0", True, True),
    ("code in Experiment.build_optimizer", "experiments", "momentum=self.momentum, foreach=True",
     "momentum=self.momentum, foreach=False", True, True),
    ("code in the MSE loss of the experiments", "experiments", "logits.softmax(dim=1)", "logits.softmax(dim=-1)",
     True, True),
    ("code in train_model", "experiments", "torch.manual_seed(config.seed)", "torch.manual_seed(config.seed + 1)",
     True, True),
    # Forms a tracer of names would miss: the training path is whole modules, so it fails closed.
    ("a statement that is not a definition", "experiments", 'LOSSES = {"cross_entropy": F.cross_entropy, "mse": '
     '_mse_on_one_hot}', 'LOSSES = {"cross_entropy": F.cross_entropy, "mse": _mse_on_one_hot}\n'
     'LOSSES.update(mse=F.l1_loss)', True, True),
    ("a definition inside an if block", "experiments", "_TRAINING = threading.Lock()\n",
     "_TRAINING = threading.Lock()\nif True:\n    _TRAINING = threading.RLock()\n", True, True),
    ("a function-local import of a teaching module", "experiments", "    _check_config(config)\n    _check_flags("
     "validate=validate, progress=progress)\n", "    _check_config(config)\n    from annlib import optim  # noqa\n"
     "    _check_flags(validate=validate, progress=progress)\n", True, True),
]


@pytest.mark.parametrize("what, module, old, new, key_changes, library_changes", EDITS, ids=[e[0] for e in EDITS])
def test_an_edit_changes_the_keys_only_if_it_changes_the_code(package, what, module, old, new, key_changes,
                                                              library_changes):
    code, library = cache.code_checksum(package), cache.library_checksum(package)
    edit(package, module, old, new)
    assert (cache.code_checksum(package) != code) == key_changes, what
    assert (cache.library_checksum(package) != library) == library_changes, what


def test_the_installed_package_and_its_copy_have_the_same_checksums(package):
    assert cache.code_checksum(package) == cache.code_checksum() == experiments.code_checksum()
    assert cache.library_checksum(package) == cache.library_checksum()


def test_paths_starting_with_a_tilde_are_in_the_home_directory(package, monkeypatch):
    """``~`` in ``$ANNLIB_CACHE_DIR`` and in a package path is the home directory, as in a shell."""
    monkeypatch.setenv("HOME", str(package.parent))
    monkeypatch.setenv("ANNLIB_CACHE_DIR", "~/results")
    assert cache.cache_dir() == package.parent / "results" == experiments.cache_dir()
    assert cache.code_checksum("~/annlib") == cache.code_checksum(package)
    assert cache.library_checksum("~/annlib") == cache.library_checksum(package)
    assert cache.training_sources("~/annlib") == cache.training_sources(package)


def test_the_training_path_is_what_training_executes():
    sources = cache.training_sources()
    assert set(sources) == {"__init__", "_checks", "_files", "_fitcheck", "cache", "data", "experiments", "lorenz96",
                            "mnist", "models", "subgrid", "train"}   # not plotting, sweep, published, functional, optim, testing
    assert "__version__" not in sources["__init__"]
    assert "def train_model(" in sources["experiments"] and "class Experiment" in sources["experiments"]
    assert "def select(" not in sources["experiments"] and "_SELECT_BY" not in sources["experiments"]
    assert "annlib.sweep" not in sources["experiments"]
    assert all('"""' not in source for source in sources.values())  # docstrings are not part of it


def test_the_checksum_is_refused_once_the_code_on_disk_is_not_what_this_process_imported(package, monkeypatch):
    monkeypatch.setattr(cache, "PACKAGE", package)
    monkeypatch.setattr(annlib, "_SOURCES_AT_IMPORT", {p.stem: p.read_bytes() for p in package.glob("*.py")})
    assert cache.code_checksum() == cache.code_checksum(package)
    edit(package, "plotting", '_CYCLE = ["#E69F00"', '_CYCLE = ["#000000"')   # not training: still fine
    assert cache.code_checksum() == cache.code_checksum(package)
    edit(package, "train", "Train ``model`` with ``optimizer``", "Fit ``model``")   # even a docstring: the file
    with pytest.raises(cache.StaleCodeError, match=r"changed on disk .*\(train.py\): restart the kernel"):
        cache.code_checksum()


def test_a_module_imported_before_an_edit_and_experiments_after_it_refuse(package, tmp_path):
    # train is loaded, then edited on disk, then experiments is imported: train runs the old code.
    script = (f"from annlib import train\n"
              f"path = {str(package / 'train.py')!r}\n"
              f"open(path, 'a').write('\\n_EDITED = 1\\n')\n"
              f"from annlib import experiments\n"
              f"from annlib.cache import StaleCodeError\n"
              f"try:\n    experiments.cache_key(experiments.Experiment(), device='cpu')\n"
              f"except StaleCodeError as error:\n    print('refused:', error)\n")
    env = {**os.environ, "PYTHONPATH": str(package.parent)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert "refused: annlib's training code changed on disk" in done.stdout, done.stdout + done.stderr


def test_a_module_training_starts_to_import_joins_the_training_path(package):
    edit(package, "train", "from annlib import _checks, _fitcheck\n", "from annlib import _checks, _fitcheck, plotting\n")
    assert "plotting" in cache.training_sources(package)
    code = cache.code_checksum(package)
    edit(package, "plotting", '_CYCLE = ["#E69F00"', '_CYCLE = ["#000000"')
    assert cache.code_checksum(package) != code


@pytest.mark.parametrize("module, old, new, joined", [
    ("experiments", "    _check_config(config)\n    _check_flags(validate=", "    _check_config(config)\n"
     "    from annlib import optim  # noqa\n    _check_flags(validate=", "optim"),     # inside a function
    ("__init__", "from pathlib import Path as _Path\n", "from pathlib import Path as _Path\n"
     "from annlib import functional  # noqa\n", "functional"),                        # by the package
    ("experiments", "from annlib.sweep import default_workers, run_all", "from annlib.sweep import "
     "_estimated_cost, default_workers, run_all", "sweep"),                             # a name training could use
], ids=["function-local", "package", "sweep-name"])
def test_every_way_of_importing_a_module_puts_it_on_the_training_path(package, module, old, new, joined):
    assert joined not in cache.training_sources(package)
    edit(package, module, old, new)
    assert joined in cache.training_sources(package)


def test_the_release_number_is_not_code(package):
    code = cache.code_checksum(package)
    edit(package, "__init__", '__version__ = "', '__version__ = "9.')
    assert cache.code_checksum(package) == code


def test_the_key_of_a_config_follows_the_code_checksum():
    config = Experiment(epochs=1)
    assert experiments.cache_key(config) == experiments.cache_key(config, code=cache.code_checksum())
    assert experiments.cache_key(config, code="a") != experiments.cache_key(config, code="b")
    assert experiments.cache_key(config) != experiments.cache_key(dataclasses.replace(config, seed=1))
    assert experiments.cache_key(config, device="cpu") != experiments.cache_key(config, device="cuda")
    assert experiments.cache_key(config, device="cuda:0") == experiments.cache_key(config, device="cuda:1")


def test_the_book_build_fingerprint_uses_the_library_checksum():
    spec = importlib.util.spec_from_file_location("annlib_build", REPO / "book" / "_ext" / "annlib_build.py")
    extension = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extension)
    assert f"annlib {cache.library_checksum()}" in extension._fingerprint().splitlines()
