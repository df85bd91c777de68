"""Lorenz-96 speed: RK4 steps per second of annlib.lorenz96, and what a typical training set costs.

For ensembles of 1, 8 and 64 members, in float64 and float32, times ``lorenz96.integrate`` (the
two-scale model, K = 8, J = 32, dt = 0.001) and ``lorenz96.integrate_one_scale`` (no closure,
dt = 0.005): the median of ``--repeats`` runs of ``--steps`` steps, sampled every 10. Beside each,
the bare RK4 loop over the same tensors (no checks, no samples, no progress bar): the floor the
library's loop can at best reach, so the gap is the price of its per-step NaN check.

Then it generates the typical data set once and prints its wall time: ``lorenz96.truth`` with 8
members, a spin-up of 10 time units, then ``--time-units`` (default 100) sampled every 0.005
(``every=5``), in float64. Usage::

    python benchmarks/lorenz96.py [--steps 2000] [--repeats 3] [--time-units 100] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from annlib import lorenz96


def timed(run, repeats: int) -> float:
    """The median wall time of ``run()`` (after one warm-up call), synchronized on CUDA."""
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        run()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def bare(f, state, dt, steps):
    """The RK4 loop alone: what ``integrate`` does less its checks and its samples."""
    with torch.no_grad():
        for _ in range(steps):
            state = lorenz96._rk4(f, state, dt)
    return state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--time-units", type=int, default=100)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device, n = torch.device(args.device), args.steps
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}; {n} steps, "
          f"median of {args.repeats}")
    print(f"{'model':>10} {'dtype':>8} {'members':>8} {'steps/s':>9} {'bare':>9} {'member-steps/s':>15}")
    g = torch.Generator().manual_seed(0)
    for dtype in (torch.float64, torch.float32):
        for members in (1, 8, 64):
            x = torch.randn(members, 8, generator=g, dtype=dtype).to(device)
            y = 0.1 * torch.randn(members, 8, 32, generator=g, dtype=dtype).to(device)
            two = lambda v: lorenz96._tendencies(*v, 20.0, 1.0, 10.0, 10.0)  # noqa: E731
            one = lambda v: (lorenz96._slow(v[0], 20.0, None),)  # noqa: E731
            cases = [
                ("two-scale", lambda: lorenz96.integrate(x, y, steps=n, every=10, dtype=dtype, progress=False),
                 lambda: bare(two, (x, y), 0.001, n)),
                ("one-scale", lambda: lorenz96.integrate_one_scale(x, steps=n, every=10, dtype=dtype, progress=False),
                 lambda: bare(one, (x,), 0.005, n)),
            ]
            for name, library, floor in cases:
                rate, floor_rate = n / timed(library, args.repeats), n / timed(floor, args.repeats)
                print(f"{name:>10} {str(dtype)[6:]:>8} {members:>8} {rate:>9,.0f} {floor_rate:>9,.0f} "
                      f"{rate * members:>15,.0f}")
    steps = round(args.time_units / lorenz96.DT_TWO_SCALE)
    start = time.perf_counter()
    data = lorenz96.truth(8, steps=steps, every=5, device=device, progress=False)
    seconds = time.perf_counter() - start
    print(f"truth: 8 members, 10 + {args.time_units} time units at dt=0.001 ({10_000 + steps} steps), "
          f"{len(data.t)} samples of (X, U) per member: {seconds:.1f} s")
    print(f"dataset_seconds={seconds:.1f}")


if __name__ == "__main__":
    main()
