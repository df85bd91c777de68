"""The result cache: finished runs kept on disk, under a key that names what made them.

An entry's key is a SHA-256 of the config's canonical JSON, :data:`RESULTS_VERSION`, the data's
checksum and :func:`code_checksum`: a hash of the code a training run executes, read as Python
sees it (the syntax tree, docstrings removed), so that a comment, a docstring or a reformatting
changes no key and reruns nothing, while any change to what training computes reruns everything.
:func:`library_checksum` is the same rule over all of annlib: the book's build re-executes its
chapters when it changes (``book/_ext``).

The directory is ``$ANNLIB_CACHE_DIR``, else ``~/.cache/annlib/experiments``; on a cluster, a
directory on a shared filesystem lets every worker and the notebook meet there. Entries are
written whole or not at all, and an entry whose checksum fails is ignored (and recomputed).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import logging
import os
from pathlib import Path

import torch

from annlib._files import atomic_write

__all__ = ["RESULTS_VERSION", "TRAINING_ROOTS", "cache_dir", "code_checksum", "library_checksum",
           "read_entry", "training_sources", "write_entry"]

log = logging.getLogger("annlib.cache")

RESULTS_VERSION = 1  # bump when a change alters results in a way the code checksum would miss
PACKAGE = Path(__file__).parent
# Where a training run starts: these definitions of experiments.py. Everything they refer to in
# that module, and every annlib module they (and those modules) import, is the training path.
TRAINING_ROOTS = ("experiments", ("Experiment", "train_model"))


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


@functools.lru_cache(maxsize=64)
def _parsed(path: Path, mtime_ns: int, size: int) -> ast.Module:
    return _without_docstrings(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))


def _tree(package: Path, module: str) -> ast.Module:
    path = package / f"{module}.py"
    stat = path.stat()
    return _parsed(path, stat.st_mtime_ns, stat.st_size)


def _annlib_imports(tree: ast.AST, package: Path) -> set[str]:
    """The annlib modules a module imports (``from annlib import x``, ``import annlib.x``, ...)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module == "annlib" or (node.level and not node.module)):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and (node.module.startswith("annlib.") or node.level):
            found.add(node.module.removeprefix("annlib.").split(".")[0])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("annlib.")}
    return {name for name in found if (package / f"{name}.py").is_file()}


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _defined(statement: ast.stmt) -> set[str]:
    """The names a top-level statement defines (a def, a class, an assignment, an import)."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        return set().union(*(_names(t) for t in targets))
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in statement.names}
    return set()


def training_sources(package: str | os.PathLike | None = None) -> dict[str, str]:
    """The code of the training path, normalized: ``{"module" or "module:name": source}``.

    From :data:`TRAINING_ROOTS` it follows, within their module, every top-level definition they
    refer to (and those refer to), and then every annlib module reached by an import, whole.
    Each piece is its syntax tree without docstrings, written back as source by ``ast.unparse``.
    """
    package = Path(package) if package is not None else PACKAGE
    root_module, roots = TRAINING_ROOTS
    tree = _tree(package, root_module)
    chosen: dict[int, ast.stmt] = {}
    modules: set[str] = set()
    todo, visited = list(roots), set()
    while todo:
        name = todo.pop()
        if name in visited:
            continue
        visited.add(name)
        for statement in tree.body:
            if isinstance(statement, (ast.Import, ast.ImportFrom)):  # one imported name, not its neighbours
                for alias in statement.names:
                    if (alias.asname or alias.name).split(".")[0] == name:
                        one = (ast.Import(names=[alias]) if isinstance(statement, ast.Import) else
                               ast.ImportFrom(module=statement.module, names=[alias], level=statement.level))
                        modules |= _annlib_imports(one, package)
            elif name in _defined(statement) and id(statement) not in chosen:
                chosen[id(statement)] = statement
                todo.extend(_names(statement) - _defined(statement))
    sources = {f"{root_module}:{'+'.join(sorted(_defined(s)))}": ast.unparse(s) for s in chosen.values()}
    seen: set[str] = set()
    while modules - seen - {root_module}:
        module = sorted(modules - seen - {root_module})[0]
        seen.add(module)
        module_tree = _tree(package, module)
        sources[module] = ast.unparse(module_tree)
        modules |= _annlib_imports(module_tree, package)
    return sources


def _hash(pieces: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(pieces):
        digest.update(name.encode() + b"\0" + pieces[name].encode() + b"\0")
    return digest.hexdigest()[:16]


def code_checksum(package: str | os.PathLike | None = None) -> str:
    """A hash of the training path's code (:func:`training_sources`): part of every result's key."""
    return _hash(training_sources(package))


def library_checksum(package: str | os.PathLike | None = None) -> str:
    """A hash of every annlib module's code, docstrings and comments left out."""
    package = Path(package) if package is not None else PACKAGE
    return _hash({path.stem: ast.unparse(_tree(package, path.stem)) for path in sorted(package.glob("*.py"))})


def cache_dir() -> Path:
    """``$ANNLIB_CACHE_DIR``, else ``~/.cache/annlib/experiments`` (a ``ValueError`` if it is a file)."""
    path = Path(os.environ.get("ANNLIB_CACHE_DIR") or Path.home() / ".cache" / "annlib" / "experiments")
    if path.exists() and not path.is_dir():
        raise ValueError(f"the experiment cache {path} (ANNLIB_CACHE_DIR) is a file; it must be a directory")
    return path


def _digest(entry: dict) -> str:
    """SHA-256 of an entry's canonical JSON, less its own ``sha256``: any changed byte shows."""
    body = {name: value for name, value in entry.items() if name != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def read_entry(path: Path, config_json: str):
    """The cached :class:`~annlib.train.History` of the config whose canonical JSON is
    ``config_json``, or None if the entry is missing, damaged or another config's."""
    from annlib.train import History

    try:
        entry = json.loads(path.read_text())
        if entry["sha256"] != _digest(entry):
            raise ValueError("its checksum does not match its contents")
        if entry["key"] != path.stem or entry["config"] != json.loads(config_json):
            raise ValueError("it is the entry of another config")
        return History.from_dict(entry["history"])
    except FileNotFoundError:
        return None
    except Exception as error:  # corrupted or unreadable: ignore it and recompute, never trust it
        log.warning("ignoring unreadable cache entry %s (%s)", path, error)
        return None


def write_entry(path: Path, config_json: str, history, device: str) -> None:
    """Write the entry atomically (a temporary file, then a rename): readers see the old entry or
    the new one, never half of one, however many processes write it at once."""
    entry = {"key": path.stem, "config": json.loads(config_json), "history": history.to_dict(),
             "meta": {"results_version": RESULTS_VERSION, "torch": torch.__version__, "device": device}}
    entry["sha256"] = _digest(entry)
    atomic_write(path, json.dumps(entry, indent=1).encode())
