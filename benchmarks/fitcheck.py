"""What the checks of the data against the model cost per ``fit`` call.

``fit`` checks, before its first step, that the optimizer holds the model's parameters and that
each set's data fit the model (one forward pass on the first 64 samples in eval mode, the label
range or the target shape over the whole set). They run once per call, not per step. This times
them on MNIST-sized tensors (50,000 training, 10,000 validation and 10,000 test samples of 784
standardized features, int64 labels; random numbers, so nothing is downloaded) for the book's
784-128-64-10 network, on one CPU thread as the book's experiments train, and puts them beside
one training epoch of the same call at batch size 64.

Prints the median of ``--repeats`` timings of the checks (ms), one epoch (s) and their ratio.
Usage: ``python benchmarks/fitcheck.py [--repeats 20]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.nn import functional as F

from annlib import _fitcheck, models, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    sets = {name: (torch.randn(n, 784, generator=g), torch.randint(0, 10, (n,), generator=g))
            for name, n in (("train_data", 50_000), ("val_data", 10_000), ("test_data", 10_000))}
    torch.manual_seed(0)
    model = models.mlp([784, 128, 64, 10])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    cpu = torch.device("cpu")

    def checks() -> float:
        start = time.perf_counter()
        _fitcheck.check_optimizer(model, optimizer)
        for name, pair in sets.items():
            _fitcheck.check_data(model, pair, name, loss_fn=F.cross_entropy, rows=64, device=cpu)
        return time.perf_counter() - start

    checks()  # warm-up
    check_s = statistics.median(checks() for _ in range(args.repeats))
    history = train.fit(model, optimizer, sets["train_data"], val_data=sets["val_data"], epochs=1, batch_size=64,
                        device="cpu", progress=False)
    epoch_s = history.epoch_time[0]
    print(f"checks of one fit call (train, val, test; median of {args.repeats}): {1e3 * check_s:.2f} ms")
    print(f"one training epoch with validation (batch 64, 782 steps): {epoch_s:.2f} s")
    print(f"checks / epoch: {check_s / epoch_s:.2e}")


if __name__ == "__main__":
    main()
