"""Shared fixtures: tiny synthetic MNIST-shaped IDX files, so data tests never touch the network."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from hypothesis import settings

from annlib import data, mnist

settings.register_profile("ci", deadline=None, max_examples=100, derandomize=True, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _no_published_results(monkeypatch):
    """No test asks the book's published results for anything, but those that serve their own
    (tests/test_published.py)."""
    monkeypatch.setenv("ANNLIB_NO_FETCH", "1")


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + np.asarray(array.shape, dtype=">i4").tobytes()
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """A root with four small valid IDX files, and MNIST_MD5 patched to their checksums."""
    rng = np.random.default_rng(0)
    files = {
        "train-images-idx3-ubyte": idx_bytes(rng.integers(0, 256, (60, 28, 28))),
        "train-labels-idx1-ubyte": idx_bytes(np.arange(60) % 10),
        "t10k-images-idx3-ubyte": idx_bytes(rng.integers(0, 256, (20, 28, 28))),
        "t10k-labels-idx1-ubyte": idx_bytes(np.arange(20) % 10),
    }
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name, content in files.items():
        (raw / name).write_bytes(content)
    monkeypatch.setattr(mnist, "MNIST_MD5", {n: hashlib.md5(c).hexdigest() for n, c in files.items()})
    monkeypatch.setattr(mnist, "_LOADED", {})
    return tmp_path, files


def synthetic_splits(**kwargs) -> data.Splits:
    """A small problem shaped like MNIST (784 features, 10 classes) that a small MLP can learn."""
    g = torch.Generator().manual_seed(0)

    def pair(n):
        y = torch.arange(n) % 10
        return torch.randn(n, 784, generator=g) + y.unsqueeze(1).float(), y

    return data.Splits(train=pair(200), val=pair(50), test=pair(50), source="synthetic")


def install_synthetic_splits() -> None:
    """Run first in each experiment worker process (sweep._WORKER_SETUP): the same data there."""
    data.mnist_splits = synthetic_splits


# The reliability counts: every bad-input case is a test marked ``bad_input``, every injected
# fault a test marked ``fault``; the summary at the end of the run says how many were tried and
# how many passed (a bad input gave a clear error or its documented result; a fault was survived
# with nothing valid lost).
_MARKED = {"bad_input": {"tried": 0, "passed": 0}, "fault": {"tried": 0, "passed": 0}}


DIVERGENCE: dict[tuple[str, float], str] = {}
EPOCHS_NOTE = "final validation accuracy, or the epoch the loss became NaN or infinite"  # (optimizer, lr) → outcome, from test_divergence.py


def pytest_configure(config):
    config.addinivalue_line("markers", "bad_input: one case of the bad-input matrix (counted in the summary)")
    config.addinivalue_line("markers", "fault: one injected fault (counted in the summary)")


def pytest_runtest_logreport(report):
    if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
        return
    for marker, counts in _MARKED.items():
        if marker in report.keywords:
            counts["tried"] += 1
            counts["passed"] += report.outcome == "passed"


def pytest_terminal_summary(terminalreporter):
    bad, fault = _MARKED["bad_input"], _MARKED["fault"]
    if bad["tried"] or fault["tried"] or DIVERGENCE:
        terminalreporter.write_sep("-", "reliability")
        terminalreporter.write_line(f"bad-input matrix: {bad['tried']} cases tried, {bad['passed']} gave a clear "
                                    f"error or their documented result")
        terminalreporter.write_line(f"fault injection: {fault['tried']} faults injected, {fault['passed']} "
                                    f"survived with nothing valid lost")
    if DIVERGENCE:
        names = list(dict.fromkeys(name for name, _ in DIVERGENCE))
        rates = sorted({lr for _, lr in DIVERGENCE})
        terminalreporter.write_line(f"divergence matrix ({len(DIVERGENCE)} runs, {EPOCHS_NOTE}):")
        terminalreporter.write_line(f"{'':>20}" + "".join(f"{f'lr={lr:g}':>15}" for lr in rates))
        for name in names:
            terminalreporter.write_line(f"{name:>20}" + "".join(f"{DIVERGENCE.get((name, lr), '-'):>15}" for lr in rates))
