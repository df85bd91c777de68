"""Learning the subgrid term of the two-scale Lorenz-96 model: the climate chapter's data.

The "real world" is an ensemble of :data:`MEMBERS` independent two-scale trajectories
(:func:`annlib.lorenz96.truth`, F = 20): :data:`TIME_UNITS` model time units each, after a
spin-up of :data:`SPIN_UP`, sampled every :data:`SAMPLE_DT`. A parameterization learns U_k, the fast
variables' effect on X_k, from the resolved state X alone. The samples are split **by
trajectory**: training, validation and test sets are different members (:data:`SPLIT`), so no
test sample has a near-copy a moment earlier or later in the training set (consecutive samples
are 0.997 correlated). :func:`random_split` is the wrong way, kept to measure how much it flatters.

What a network sees of X (``inputs``, see :data:`INPUTS`): ``"local"``, X_k alone (one network
applied to every k, as Wilks's polynomial is); ``"neighbours"``, (X_{k−1}, X_k, X_{k+1}); ``"all"``,
the whole ring X, predicting all K values of U at once. Inputs are standardized with the training
set's mean and standard deviation of X (:attr:`Data.scale`); targets are U in model units.

The truth is generated once and kept in the experiment cache (``lorenz96-<key>.pt`` in
:func:`annlib.cache.cache_dir`), under a key of the settings, the integrator's code and torch's
version; ``benchmarks/lorenz96.py`` measures what it costs.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from annlib import _checks, lorenz96
from annlib._files import atomic_save
from annlib.cache import _unparsed, cache_dir
from annlib.data import Splits

__all__ = ["MEMBERS", "SPLIT", "TIME_UNITS", "SAMPLE_DT", "SPIN_UP", "THIN", "INPUTS", "Data", "truth_data", "load",
           "features", "random_split", "fit_polynomial", "closure"]

log = logging.getLogger("annlib.subgrid")

MEMBERS, TIME_UNITS, SAMPLE_DT, SPIN_UP, SEED = 64, 20, 0.01, 10, 0   # SPIN_UP and TIME_UNITS in model time units
SPLIT = {"train": range(0, 40), "val": range(40, 52), "test": range(52, 64)}  # members of each set
THIN = 5             # the training sets keep every 5th sample: 0.05 time units apart
INPUTS = {"local": (1, 1), "neighbours": (3, 1), "all": (lorenz96.K, lorenz96.K)}  # (inputs, outputs) per row
_EVERY = round(SAMPLE_DT / lorenz96.DT_TWO_SCALE)


def _settings() -> dict:
    steps = lambda time_units: round(time_units / lorenz96.DT_TWO_SCALE)  # noqa: E731
    return {"members": MEMBERS, "steps": steps(TIME_UNITS), "every": _EVERY, "spin_up": steps(SPIN_UP), "seed": SEED,
            "F": lorenz96.F}


def _key() -> str:
    source = _unparsed((Path(lorenz96.__file__)).read_text(encoding="utf-8"))
    material = json.dumps(_settings(), sort_keys=True) + source + f"torch {torch.__version__}"
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def truth_data(*, cache: bool = True, progress: bool | None = None) -> lorenz96.Trajectory:
    """The truth ensemble: x and u of shape (samples, :data:`MEMBERS`, K), float64, t from 0.

    From the cache when it is there (``cache=False`` or ``ANNLIB_NO_CACHE=1``: always generate);
    a damaged cache file is regenerated. Generated on the CPU, whatever the default device.
    """
    _checks.check_flag(cache, "cache")
    use_cache = cache and not os.environ.get("ANNLIB_NO_CACHE")
    path = cache_dir() / f"lorenz96-{_key()}.pt"
    if use_cache and path.exists():
        try:
            saved = torch.load(path, weights_only=True)
            return lorenz96.Trajectory(saved["t"], saved["x"], saved["u"])
        except Exception as error:  # damaged: never trust it, regenerate
            log.warning("ignoring unreadable Lorenz-96 data %s (%s)", path, error)
    s = _settings()
    trajectory = lorenz96.truth(s["members"], steps=s["steps"], every=s["every"], spin_up=s["spin_up"],
                                seed=s["seed"], F=s["F"], progress=progress)
    if use_cache:
        try:
            atomic_save(path, {"t": trajectory.t, "x": trajectory.x, "u": trajectory.u})
        except OSError as error:
            log.warning("could not cache the Lorenz-96 data in %s (%s)", path, error)
    return trajectory


def features(x: torch.Tensor, inputs: str) -> torch.Tensor:
    """What a network is given of X (..., K): (..., K, 1) for "local", (..., K, 3) for
    "neighbours" (X_{k−1}, X_k, X_{k+1} around the ring), x itself for "all"."""
    _check_inputs(inputs)
    if inputs == "local":
        return x.unsqueeze(-1)
    if inputs == "neighbours":
        return torch.stack([x.roll(1, -1), x, x.roll(-1, -1)], dim=-1)
    return x


def _rows(x: torch.Tensor, u: torch.Tensor, inputs: str, scale: tuple[float, float]):
    n_in, n_out = INPUTS[inputs]
    f = (features(x, inputs) - scale[0]) / scale[1]
    return f.reshape(-1, n_in).float(), u.reshape(-1, n_out).float()


@dataclass(frozen=True)
class Data:
    """One way of presenting the truth to a network: ``splits`` (float32 rows, inputs
    standardized) and the ``scale`` (mean, std) of X that standardized them."""

    inputs: str
    splits: Splits
    scale: tuple[float, float]


def load(inputs: str = "local", *, thin: int = THIN, trajectory: lorenz96.Trajectory | None = None,
         device: str | torch.device = "cpu") -> Data:
    """The truth as (features, U) rows, split by trajectory (:data:`SPLIT`); the training set
    keeps every ``thin``-th sample (validation and test keep every one)."""
    _check_inputs(inputs)
    thin = _checks.check_positive_int(thin, "thin")
    device = _checks.device(device)
    truth = trajectory if trajectory is not None else truth_data()
    x, u = truth.x, truth.u
    members = {name: list(r) for name, r in SPLIT.items()}
    train_x = x[::thin, members["train"]]
    scale = (train_x.mean().item(), train_x.std().item())
    pairs = {name: _rows(x[::thin if name == "train" else 1, m], u[::thin if name == "train" else 1, m],
                         inputs, scale) for name, m in members.items()}
    move = {name: (a.to(device), b.to(device)) for name, (a, b) in pairs.items()}
    return Data(inputs, Splits(**move, source=f"Lorenz-96 truth, {MEMBERS} members"), scale)


def random_split(pair: tuple[torch.Tensor, torch.Tensor], pair2: tuple[torch.Tensor, torch.Tensor], *,
                 seed: int = 0):
    """Pool two sets and split them again at random into sets of the same sizes: samples a moment
    apart land on both sides. Returns (first, second)."""
    x, y = torch.cat([pair[0], pair2[0]]), torch.cat([pair[1], pair2[1]])
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(_checks.check_seed(seed)))
    first, second = order[:len(pair[0])], order[len(pair[0]):]
    return (x[first], y[first]), (x[second], y[second])


def fit_polynomial(x: torch.Tensor, u: torch.Tensor, degree: int = 3) -> list[float]:
    """Least-squares coefficients a₀..a_d (lowest order first) of U_k ≈ Σ a_i X_k^i over all
    samples, in float64: the closure of :func:`annlib.lorenz96.polynomial`."""
    degree = _checks.check_positive_int(degree, "degree")
    if x.shape != u.shape:
        raise ValueError(f"x and u must have the same shape, got {tuple(x.shape)} and {tuple(u.shape)}")
    X, U = x.reshape(-1).double(), u.reshape(-1, 1).double()
    design = torch.stack([X ** i for i in range(degree + 1)], dim=1)
    return torch.linalg.lstsq(design, U).solution.squeeze(1).tolist()


def closure(net: nn.Module, inputs: str, scale: tuple[float, float]):
    """A trained network as the one-scale model's closure X (..., K) → U (..., K), in float64:
    standardizes X as in training, applies a float64 copy of ``net`` in eval mode."""
    _check_inputs(inputs)
    n_in, n_out = INPUTS[inputs]
    net = copy.deepcopy(net).double().eval()
    mean, std = scale

    def u(x: torch.Tensor) -> torch.Tensor:
        f = (features(x, inputs) - mean) / std
        return net(f.reshape(-1, n_in)).reshape(x.shape)

    return u


def _check_inputs(inputs) -> None:
    if not (isinstance(inputs, str) and inputs in INPUTS):
        raise ValueError(f"inputs must be one of {sorted(INPUTS)}, got {inputs!r}")
