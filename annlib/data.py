"""What the book trains on: MNIST as standardized tensors, its splits, minibatches and shifts.

:func:`mnist_splits` serves the verified files of :mod:`annlib.mnist` as float features in memory:
a seeded training/validation split of the 60,000 training images and the 10,000 test images.
:class:`Batches` cuts a pair ``(x, y)`` into shuffled minibatches, and :func:`random_shift` moves
digits by whole pixels (a data augmentation). The names of :mod:`annlib.mnist` are re-exported
here (``data.ensure_mnist()``, ``data.load_mnist()``), so one import serves a chapter.

Sizes, seeds and shifts may be Python's or NumPy's integers (not bools), and a ``root`` may start
with ``~``, as everywhere in annlib.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from annlib import _checks
from annlib.mnist import (MNIST, MNIST_MD5, SOURCES, MNISTUnavailableError, data_checksum, default_root,
                          ensure_mnist, load_mnist, read_idx)

__all__ = [
    "MNIST_MD5", "SOURCES", "MNIST", "MNISTUnavailableError", "Batches", "Splits",
    "default_root", "ensure_mnist", "read_idx", "load_mnist", "to_features",
    "train_val_split", "mnist_splits", "data_checksum", "random_shift", "MEAN", "STD",
]

MEAN, STD = 0.1307, 0.3081  # pixel mean and standard deviation of the training images


def to_features(images: torch.Tensor) -> torch.Tensor:
    """uint8 images (N, 28, 28) → float32 features (N, 784), standardized: (x/255 − μ)/σ.

    Any (N, H, W) gives (N, H·W); no images (N = 0) give an empty (0, H·W) tensor.
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a torch.Tensor of uint8 images (N, H, W), got {type(images).__name__}")
    if images.dtype != torch.uint8 or images.dim() != 3:
        raise ValueError(f"expected uint8 images of shape (N, H, W), got {images.dtype} {tuple(images.shape)}")
    return (images.reshape(len(images), images.shape[1] * images.shape[2]).float() / 255 - MEAN) / STD


def random_shift(x: torch.Tensor, max_shift: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each image (a row of 784 standardized pixels) moved by a random whole number of pixels,
    at most ``max_shift`` in each direction; the pixels moved in are blank (a 0 pixel,
    standardized). A data augmentation: a shifted digit is the same digit.

    The shifts are drawn on the CPU from ``generator`` (torch's global one if None), so a seeded
    generator gives the same images on any device. Pixels are moved, never computed on: a NaN
    or infinite pixel moves with its image (or out of it), and no rows give no rows.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor of images as rows of 784 pixels, got {type(x).__name__}")
    if x.dim() != 2 or x.shape[1] != 28 * 28 or not x.is_floating_point():
        raise ValueError(f"expected images as rows of 784 pixels (floating point, standardized), got "
                         f"{x.dtype} of shape {tuple(x.shape)}")
    if generator is not None and not (isinstance(generator, torch.Generator) and generator.device.type == "cpu"):
        raise TypeError(f"generator must be a CPU torch.Generator or None, got {generator!r}")
    if not _checks.is_int(max_shift) or not 0 <= max_shift < 28:
        raise ValueError(f"max_shift must be an integer in [0, 28), got {max_shift!r}")
    max_shift = int(max_shift)  # a NumPy integer as the Python int it stands for
    n, m = len(x), max_shift
    if m == 0:
        return x.clone()
    blank = -MEAN / STD
    padded = torch.nn.functional.pad(x.reshape(n, 28, 28), (m, m, m, m), value=blank)
    dy, dx = (torch.randint(-m, m + 1, (n,), generator=generator).to(x.device) for _ in range(2))
    out = torch.empty(n, 28, 28, dtype=x.dtype, device=x.device)
    for i in range(-m, m + 1):
        for j in range(-m, m + 1):
            pick = (dy == i) & (dx == j)                      # the images shifted by (i, j)
            out[pick] = padded[pick, m + i:m + i + 28, m + j:m + j + 28]
    return out.reshape(n, 784)


def train_val_split(x: torch.Tensor, y: torch.Tensor, *, val_size: int, seed: int = 0
                    ) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Split ``(x, y)`` into a training and a validation part by a seeded permutation."""
    _checks.check_pair((x, y), "(x, y)")
    if not _checks.is_int(val_size) or not 0 < val_size < len(x):
        raise ValueError(f"val_size must be an integer in (0, {len(x)}), got {val_size!r}")
    val_size, seed = int(val_size), _checks.check_seed(seed)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed)).to(x.device)
    val, train = perm[:val_size], perm[val_size:]
    return (x[train], y[train]), (x[val], y[val])


@dataclass(frozen=True)
class Splits:
    """Tensor-resident training, validation and test sets, each a pair ``(x, y)``."""

    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]
    source: str

    def __post_init__(self) -> None:
        for name in ("train", "val", "test"):
            _checks.check_pair(getattr(self, name), name)
        if not isinstance(self.source, str):
            raise TypeError(f"source must be a str, got {self.source!r}")


def mnist_splits(root: str | os.PathLike | None = None, *, val_size: int = 10_000,
                 train_size: int | None = None, seed: int = 0,
                 device: str | torch.device = "cpu") -> Splits:
    """MNIST as standardized features: a seeded train/validation split of the 60,000 training
    images (``train_size`` keeps only the first that many of the training part) and the 10,000
    test images, on ``device``."""
    val_size = _checks.check_positive_int(val_size, "val_size")
    train_size = _checks.check_positive_int(train_size, "train_size", none=True)
    seed = _checks.check_seed(seed)
    device = _checks.device(device)
    mnist = load_mnist(root)
    train, val = train_val_split(to_features(mnist.train_images), mnist.train_labels,
                                 val_size=val_size, seed=seed)
    if train_size is not None:
        if not 0 < train_size <= len(train[0]):
            raise ValueError(f"train_size must be in (0, {len(train[0])}], got {train_size}")
        train = (train[0][:train_size], train[1][:train_size])
    test = (to_features(mnist.test_images), mnist.test_labels)
    move = lambda pair: (pair[0].to(device), pair[1].to(device))  # noqa: E731
    return Splits(train=move(train), val=move(val), test=move(test), source=mnist.source)


class Batches:
    """Minibatches ``(x, y)`` of tensors already in memory: the fast path of every experiment.

    Each pass reshuffles with a seeded :class:`torch.Generator`, so epochs differ from each
    other but a run is reproducible. The last batch may be smaller unless ``drop_last``; a
    ``batch_size`` beyond the number of samples gives one batch of all of them (none with
    ``drop_last``). The values are served as they are: NaN or infinite ones are not looked at.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, *,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        _checks.check_pair((x, y), "(x, y)")
        if len(x) == 0:
            raise ValueError("cannot batch an empty dataset: x and y need at least one row")
        batch_size = _checks.check_positive_int(batch_size, "batch_size")
        _checks.check_flag(shuffle, "shuffle")
        _checks.check_flag(drop_last, "drop_last")
        seed = _checks.check_seed(seed)
        self.x, self.y, self.batch_size = x, y, batch_size
        self.shuffle, self.drop_last = shuffle, drop_last
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        full, rest = divmod(len(self.x), self.batch_size)
        return full + (rest > 0 and not self.drop_last)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        x, y, size = self.x, self.y, self.batch_size
        if not self.shuffle:
            for i in range(len(self)):
                yield x[i * size:(i + 1) * size], y[i * size:(i + 1) * size]
            return
        # One small gather per batch. Permuting the whole set first and then slicing is slower on
        # a CPU (measured 100k against 164k samples/s at batch 64 on MNIST): the full copy streams
        # 188 MB through memory and evicts the cache before any batch uses it.
        order = torch.randperm(len(x), generator=self.generator).to(x.device)
        for i in range(len(self)):
            index = order[i * size:(i + 1) * size]
            yield x[index], y[index]


if __name__ == "__main__":  # python -m annlib.data [ROOT]: what `make data` runs
    from annlib import mnist

    mnist.main(sys.argv[1:])
