"""The book's own results, fetched from where the book is published, so a reader starts from them.

The build that made the published pages ran every experiment of the book and put each result
beside the HTML: ``_results/<key>.json`` (the cache entry of :mod:`annlib.cache`, under the key
that fixes its config, the code, the data, torch's version and the kind of device) and, for the
networks :func:`annlib.experiments.run_model` keeps, ``_results/<key>.weights``. When a result is
not in the local cache, :func:`annlib.experiments.run`, ``run_all`` and ``run_model`` ask for it
here: a result is used only if it is the entry of exactly that key and config and its SHA-256
matches its contents; it is then stored in the local cache (marked as published) and used. Any
failure (offline, a 404, a slow server, a damaged or mismatched entry) leaves the run to train
locally, as without this module. Entries are JSON, parsed with :mod:`json`: nothing fetched is
ever executed.

Where: :data:`URL` (the book's address, ``html.baseurl`` in ``_config.yml``, plus ``_results/``),
or ``$ANNLIB_RESULTS_URL``; ``ANNLIB_NO_FETCH=1`` turns fetching off. The key holds torch's
version and the device kind, so a session whose torch or device (a GPU) differs from the build's
finds nothing and trains: its numbers would not be the build's.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from annlib import cache as _cache
from annlib._files import atomic_write

__all__ = ["URL", "TIMEOUT_S", "MAX_BYTES", "fetch_entry", "fetch_weights", "publish", "results_url"]

log = logging.getLogger("annlib.published")

URL = "https://annlib.github.io/ann-pytorch-book/_results/"  # _config.yml's html.baseurl + "_results/" (a test checks)
TIMEOUT_S = 10.0           # for one file, connecting and reading together
MAX_BYTES = 32 * 2**20     # the largest file accepted (the book's largest, a network's weights, is about 7 MiB)
_RETRY_AFTER_S = 300.0     # after a server could not be reached, try it again only this much later
_DOWN: dict[str, float] = {}   # base URL -> time before which it is not tried again
_LOCK = threading.Lock()


def results_url() -> str | None:
    """Where published results are looked up (ending in ``/``), or None when fetching is off.

    ``ANNLIB_NO_FETCH`` set to anything but ``""``, ``0``, ``false`` or ``no`` turns it off;
    ``$ANNLIB_RESULTS_URL`` (http or https) replaces :data:`URL`.
    """
    if os.environ.get("ANNLIB_NO_FETCH", "").strip().lower() not in ("", "0", "false", "no"):
        return None
    url = os.environ.get("ANNLIB_RESULTS_URL", "").strip() or URL
    if urllib.parse.urlsplit(url).scheme not in ("http", "https") or not urllib.parse.urlsplit(url).netloc:
        raise ValueError(f"ANNLIB_RESULTS_URL must be an http or https address, got {url!r} "
                         f"(set ANNLIB_NO_FETCH=1 to fetch nothing)")
    return url if url.endswith("/") else url + "/"


class _Unreachable(Exception):
    """The server did not answer in time, or refused, or its name did not resolve."""


def _get(url: str) -> bytes | None:
    """The body at ``url``; None for a 404; :class:`_Unreachable` or ``ValueError`` otherwise."""
    deadline = time.monotonic() + TIMEOUT_S
    request = urllib.request.Request(url, headers={"User-Agent": "annlib"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            chunks, size = [], 0
            while chunk := response.read(2**16):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise ValueError(f"larger than {MAX_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise _Unreachable(f"no whole answer within {TIMEOUT_S:g} s")
                chunks.append(chunk)
            return b"".join(chunks)
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise ValueError(f"HTTP {error.code}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
        raise _Unreachable(getattr(error, "reason", error)) from None


def _fetch(base: str, name: str, dest: Path, accept: Callable[[dict], bytes]) -> bool:
    """Fetch ``base + name``; if ``accept(parsed JSON)`` returns the bytes to keep, write them to
    ``dest`` atomically and return True. Every failure is logged and returns False."""
    with _LOCK:
        if _DOWN.get(base, 0.0) > time.monotonic():
            return False
    url = base + name
    try:
        body = _get(url)
        if body is None:
            log.debug("%s: not published", url)
            return False
        keep = accept(json.loads(body))
    except _Unreachable as error:
        with _LOCK:
            first = _DOWN.get(base, 0.0) <= time.monotonic()
            _DOWN[base] = time.monotonic() + _RETRY_AFTER_S
        if first:
            log.warning("the book's published results at %s cannot be reached (%s): training here instead "
                        "(set ANNLIB_NO_FETCH=1 to stop asking)", base, error)
        return False
    except Exception as error:  # damaged, another config's, too large, a server error: never trust it
        log.warning("ignoring the published result %s (%s): training here instead", url, error)
        return False
    try:
        atomic_write(dest, keep)
    except OSError as error:
        log.warning("could not store the published result %s in %s (%s)", url, dest, error)
        return False
    return True


def fetch_entry(path: Path, config_json: str) -> bool:
    """Fetch the published entry of ``path``'s key into ``path`` (the local cache), marked with
    where it came from (``meta["published"]``); True if it was fetched and is valid."""
    base = results_url()
    if base is None:
        return False

    def accept(entry: dict) -> bytes:
        entry = _cache.check_entry(entry, path.stem, config_json)
        entry.pop("sha256")
        return _cache.seal({**entry, "meta": {**entry.get("meta", {}), "published": base + path.name}})

    return _fetch(base, path.name, path, accept)


def fetch_weights(path: Path, config_json: str) -> bool:
    """Fetch the published weights of ``path``'s key (``<key>.weights``) into ``path``; True if
    they were fetched and are valid."""
    base = results_url()
    if base is None:
        return False

    def accept(entry: dict) -> bytes:
        _cache.check_entry(entry, path.name.removesuffix(_cache.WEIGHTS_SUFFIX), config_json)
        return json.dumps(entry, indent=1).encode()

    return _fetch(base, path.name, path, accept)


def publish(cache: str | os.PathLike, destination: str | os.PathLike) -> dict[str, int]:
    """Copy the entries of ``cache`` that this code would look up into ``destination``: those
    whose file name is the key of their config under the code, data and torch of this process
    (entries of older code are left out), each with its weights where they were kept. Returns
    counts: ``{"entries": n, "weights": m, "bytes": total}``. The build calls it (``book/_ext``).
    """
    from annlib.experiments import Experiment, cache_key

    cache, destination = Path(cache), Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    counts = {"entries": 0, "weights": 0, "bytes": 0}
    for path in sorted(cache.glob("*.json")):
        try:
            entry = json.loads(path.read_text())
            config = Experiment(**entry["config"])
            loaded = _cache.load_entry(path, config.to_json())
            current = cache_key(config, device=entry["meta"]["device"]) == path.stem
        except Exception:  # not an experiment's entry (the Lorenz-96 truth is .pt), or unreadable
            continue
        if loaded is None or not current or "published" in loaded[1]:
            continue
        files = [path]
        weights = path.with_suffix(_cache.WEIGHTS_SUFFIX)
        if _cache.read_weights(weights, config.to_json()) is not None:
            files.append(weights)
            counts["weights"] += 1
        for file in files:
            shutil.copyfile(file, destination / file.name)
            counts["bytes"] += file.stat().st_size
        counts["entries"] += 1
    return counts
