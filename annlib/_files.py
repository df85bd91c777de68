"""Files written whole or not at all: what the MNIST files, the result cache and saved tensors are written with."""

from __future__ import annotations

import contextlib
import glob
import io
import os
import tempfile
import time
from pathlib import Path

import torch

_STALE_PART_S = 3600  # a temporary file this old was left by a writer that was killed


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename: no partial file ever.

    A writer killed before the rename (SIGKILL, power loss) leaves its ``.part`` file, which no
    reader looks at; the next write of ``path`` removes those older than an hour.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for part in path.parent.glob(f".{glob.escape(path.name)}.*.part"):
        with contextlib.suppress(OSError):  # another process may remove it first
            if time.time() - part.stat().st_mtime > _STALE_PART_S:
                part.unlink()



def atomic_save(path: Path, obj) -> None:
    """``torch.save(obj)`` to ``path`` through :func:`atomic_write`: readers never see half a file."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write(path, buffer.getvalue())
