"""The result cache: finished runs kept on disk, under a key that names what made them.

An entry's key (:func:`annlib.experiments.cache_key`) is a SHA-256 of the config's canonical
JSON, :data:`RESULTS_VERSION`, the data's checksum, torch's version, the kind of device and
:func:`code_checksum`: a hash of the code a training run executes, read as Python sees it (the
syntax tree, docstrings removed), so that a comment, a docstring or a reformatting changes no
key and reruns nothing, while any change to what training computes reruns everything.
:func:`library_checksum` is the same rule over all of annlib: the book's build re-executes its
chapters when it changes (``book/_ext``).

The directory is ``$ANNLIB_CACHE_DIR`` (a ``~`` at its start is the home directory, as in a
shell), else ``~/.cache/annlib/experiments``; on a cluster, a
directory on a shared filesystem lets every worker and the notebook meet there. Entries are
written whole or not at all, and an entry whose checksum fails is ignored (and recomputed).
"""

from __future__ import annotations

import ast
import base64
import functools
import hashlib
import json
import logging
import os
from pathlib import Path

import torch

from annlib import _checks
from annlib._files import atomic_write

__all__ = ["RESULTS_VERSION", "NOT_TRAINING_DEFINITIONS", "NOT_TRAINING_IMPORTS", "TRAINING_ROOT", "StaleCodeError",
           "WEIGHTS_SUFFIX", "cache_dir", "check_entry", "code_checksum", "library_checksum", "load_entry", "read_entry",
           "read_weights", "seal", "training_sources", "write_entry", "write_weights"]

log = logging.getLogger("annlib.cache")

RESULTS_VERSION = 1  # bump when a change alters results in a way the code checksum would miss
PACKAGE = Path(__file__).parent
# The training path is experiments.py and every annlib module that it or annlib/__init__.py
# imports, and those import in turn (anywhere in a module, inside functions too), each read whole.
# Left out, by name: experiments.py's choosing code, its import of the sweep scheduler and that of
# the fetching of published results (a module training does not import is not on the path:
# plotting, functional, optim, testing, sweep, published).
TRAINING_ROOT = "experiments"
NOT_TRAINING_DEFINITIONS = ("select", "_SELECT_BY")   # top-level names of experiments.py: choosing
NOT_TRAINING_IMPORTS = {"sweep": {"default_workers", "run_all"},   # re-exported, never called by training
                        "published": {"fetch_entry", "fetch_weights"}}   # fetch what another build trained


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


@functools.lru_cache(maxsize=64)
def _normalized(source: str) -> ast.Module:
    return _without_docstrings(ast.parse(source))


@functools.lru_cache(maxsize=64)
def _unparsed(source: str) -> str:
    return ast.unparse(_normalized(source))


def _tree(package: Path, module: str) -> ast.Module:
    return _normalized((package / f"{module}.py").read_text(encoding="utf-8"))


def _annlib_imports(tree: ast.AST, package: Path) -> set[str]:
    """The annlib modules a piece of code imports, at any depth (``from annlib import x``,
    ``from annlib.x import y``, ``import annlib.x``, relative imports)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module == "annlib" or (node.level and not node.module)):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and (node.module.startswith("annlib.") or node.level):
            found.add(node.module.removeprefix("annlib.").split(".")[0])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("annlib.")}
    return {name for name in found if (package / f"{name}.py").is_file()}


def _defines(statement: ast.stmt) -> set[str]:
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    if isinstance(statement, (ast.Assign, ast.AnnAssign)):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _left_out_import(statement: ast.stmt) -> bool:
    """``from annlib.<m> import <names>`` with ``names`` among :data:`NOT_TRAINING_IMPORTS` of ``m``."""
    if not (isinstance(statement, ast.ImportFrom) and statement.module and statement.module.startswith("annlib.")):
        return False
    allowed = NOT_TRAINING_IMPORTS.get(statement.module.removeprefix("annlib."), set())
    return {alias.name for alias in statement.names} <= allowed and not any(a.asname for a in statement.names)


def _without_version(tree: ast.Module) -> ast.Module:
    """``annlib/__init__.py`` less ``__version__ = ...``: a release number computes nothing."""
    return ast.Module(body=[s for s in tree.body if "__version__" not in _defines(s)], type_ignores=[])


def training_sources(package: str | os.PathLike | None = None) -> dict[str, str]:
    """The code of the training path, normalized: ``{module: source}``.

    :data:`TRAINING_ROOT` less :data:`NOT_TRAINING_DEFINITIONS` and the imports of
    :data:`NOT_TRAINING_IMPORTS`; ``__init__`` less its ``__version__``; and every annlib module
    those import, and those import in turn, whole. Each is its syntax tree without docstrings,
    written back by ``ast.unparse``.
    """
    package = _checks.user_path(package, "package") if package is not None else PACKAGE
    root = _tree(package, TRAINING_ROOT)
    kept = [s for s in root.body if not (_defines(s) and _defines(s) <= set(NOT_TRAINING_DEFINITIONS))
            and not _left_out_import(s)]
    root = ast.Module(body=kept, type_ignores=[])
    init = _without_version(_tree(package, "__init__"))
    sources = {TRAINING_ROOT: ast.unparse(root), "__init__": ast.unparse(init)}
    todo = (_annlib_imports(root, package) | _annlib_imports(init, package)) - set(sources)
    while todo:
        module = sorted(todo)[0]
        text = (package / f"{module}.py").read_text(encoding="utf-8")
        sources[module] = _unparsed(text)
        todo = (todo | _annlib_imports(_normalized(text), package)) - set(sources)
    return sources


def _hash(pieces: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(pieces):
        digest.update(name.encode() + b"\0" + pieces[name].encode() + b"\0")
    return digest.hexdigest()[:16]


class StaleCodeError(RuntimeError):
    """A file of the training path changed on disk after this process imported annlib."""


def code_checksum(package: str | os.PathLike | None = None) -> str:
    """A hash of the training path's code (:func:`training_sources`): part of every result's key.

    Without ``package``, that of annlib's own files, and only while they are the code this process
    runs: a file of the training path that differs from what it was when annlib was first imported
    here raises :class:`StaleCodeError` (restart the kernel, or the workers), since the running
    code may be the old one and its results must not be stored under the key of the new.
    """
    if package is not None:
        return _hash(training_sources(package))
    from annlib import _SOURCES_AT_IMPORT

    files = {path.stem: path.read_bytes() for path in sorted(PACKAGE.glob("*.py"))}
    signature = hashlib.sha256(b"\0".join(name.encode() + b"\0" + text for name, text in files.items())).digest()
    if signature in _CHECKED:
        return _CHECKED[signature]
    sources = training_sources(PACKAGE)
    changed = [f"{name}.py" for name in sorted(sources) if files.get(name) != _SOURCES_AT_IMPORT.get(name)]
    if changed:
        raise StaleCodeError(f"annlib's training code changed on disk after this process imported annlib "
                             f"({', '.join(changed)}): restart the kernel (or the workers) so that results are "
                             f"stored under the code that computed them")
    _CHECKED[signature] = _hash(sources)
    return _CHECKED[signature]


_CHECKED: dict[bytes, str] = {}  # the checksum of the package's files, by a hash of them all


def library_checksum(package: str | os.PathLike | None = None) -> str:
    """A hash of every annlib module's code, docstrings and comments left out."""
    package = _checks.user_path(package, "package") if package is not None else PACKAGE
    modules = sorted(package.glob("*.py"))
    if not modules:
        raise ValueError(f"package {str(package)!r} holds no Python modules: nothing to checksum")
    return _hash({path.stem: _unparsed(path.read_text(encoding="utf-8")) for path in modules})


def cache_dir() -> Path:
    """``$ANNLIB_CACHE_DIR`` (``~`` expanded), else ``~/.cache/annlib/experiments`` (a ``ValueError`` if it
    is a file)."""
    path = _checks.user_path(os.environ.get("ANNLIB_CACHE_DIR") or Path.home() / ".cache" / "annlib" / "experiments",
                             "ANNLIB_CACHE_DIR")
    if path.exists() and not path.is_dir():
        raise ValueError(f"the experiment cache {path} (ANNLIB_CACHE_DIR) is a file; it must be a directory")
    return path


def _digest(entry: dict) -> str:
    """SHA-256 of an entry's canonical JSON, less its own ``sha256``: any changed byte shows."""
    body = {name: value for name, value in entry.items() if name != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def load_entry(path: Path, config_json: str) -> tuple | None:
    """``(history, meta)`` of the entry at ``path`` for the config whose canonical JSON is
    ``config_json`` (``meta["published"]``: the address it was fetched from, if it was), or None
    if the entry is missing, damaged or another config's."""
    from annlib.train import History

    try:
        entry = check_entry(json.loads(path.read_text()), path.stem, config_json)
        return History.from_dict(entry["history"]), entry.get("meta", {})
    except FileNotFoundError:
        return None
    except Exception as error:  # corrupted or unreadable: ignore it and recompute, never trust it
        log.warning("ignoring unreadable cache entry %s (%s)", path, error)
        return None


def read_entry(path: Path, config_json: str):
    """The cached :class:`~annlib.train.History` of :func:`load_entry`, or None."""
    loaded = load_entry(path, config_json)
    return loaded[0] if loaded is not None else None


def check_entry(entry, key: str, config_json: str) -> dict:
    """``entry`` (a parsed entry, of a history or of weights) if it is whole and the one of ``key``
    and of the config whose canonical JSON is ``config_json``; else a ``ValueError`` saying why."""
    if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
        raise ValueError("it is not a cache entry")
    if entry["sha256"] != _digest(entry):
        raise ValueError("its checksum does not match its contents")
    if entry.get("key") != key or entry.get("config") != json.loads(config_json):
        raise ValueError("it is the entry of another config")
    return entry


def seal(entry: dict) -> bytes:
    """The entry's JSON with its ``sha256`` (re)computed: what :func:`check_entry` accepts."""
    entry = {**entry, "sha256": _digest(entry)}
    return json.dumps(entry, indent=1).encode()


def write_entry(path: Path, config_json: str, history, device: str) -> None:
    """Write the entry atomically (a temporary file, then a rename): readers see the old entry or
    the new one, never half of one, however many processes write it at once."""
    entry = {"key": path.stem, "config": json.loads(config_json), "history": history.to_dict(),
             "meta": {"results_version": RESULTS_VERSION, "torch": torch.__version__, "device": device}}
    atomic_write(path, seal(entry))


WEIGHTS_SUFFIX = ".weights"  # <key>.weights beside <key>.json: a network's weights, as JSON


def write_weights(path: Path, config_json: str, state: dict[str, torch.Tensor]) -> None:
    """Write a network's ``state_dict`` as a JSON entry (each tensor's dtype, shape and raw
    little-endian bytes in base64), atomically; read with :func:`read_weights`. JSON, not a
    pickle: reading it runs no code, so weights may come from anywhere, even the web."""
    tensors = {}
    for name, tensor in state.items():
        tensor = tensor.detach().cpu().contiguous()
        raw = tensor.view(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
        tensors[name] = {"dtype": str(tensor.dtype).removeprefix("torch."), "shape": list(tensor.shape),
                         "base64": base64.b64encode(raw).decode()}
    atomic_write(path, seal({"key": path.name.removesuffix(WEIGHTS_SUFFIX), "config": json.loads(config_json),
                             "weights": tensors}))


_DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16,
           "int64": torch.int64, "int32": torch.int32, "uint8": torch.uint8, "bool": torch.bool}


def read_weights(path: Path, config_json: str) -> dict[str, torch.Tensor] | None:
    """The ``state_dict`` :func:`write_weights` wrote at ``path`` for this config, or None if it
    is missing, damaged or another config's (a warning for the last two)."""
    try:
        entry = check_entry(json.loads(path.read_text()), path.name.removesuffix(WEIGHTS_SUFFIX), config_json)
        state = {}
        for name, item in entry["weights"].items():
            dtype, shape = _DTYPES[item["dtype"]], tuple(item["shape"])
            raw = bytearray(base64.b64decode(item["base64"], validate=True))
            tensor = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
            state[name] = tensor.reshape(shape)
        return state
    except FileNotFoundError:
        return None
    except Exception as error:
        log.warning("ignoring unreadable weights %s (%s)", path, error)
        return None
