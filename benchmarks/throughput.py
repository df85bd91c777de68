"""Training throughput: annlib's tensor-resident loop against the naive torchvision pipeline.

Both train the same 784-128-64-10 MLP with Adam (lr=1e-3) in this process, on the real MNIST:

- naive: ``torchvision.datasets.MNIST`` + ``ToTensor``/``Normalize`` + ``DataLoader(shuffle=True)``
  and the textbook loop;
- annlib: ``annlib.train.fit`` over the standardized images held in one tensor, with the
  optimizer as ``annlib.experiments`` builds it (torch's fused Adam kernel).

A third line times a bare loop over the same tensors (no metrics, no divergence check), the
floor that annlib's loop can at best reach. Prints samples per second (median of ``--repeats``)
for each and, last, ``speedup=<x>`` (annlib over naive).
Usage: ``python benchmarks/throughput.py [--batch-size 64] [--repeats 3] [--naive-steps 300]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from annlib import data, experiments, models, train


def naive_samples_per_second(batch_size: int, steps: int) -> float:
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((data.MEAN,), (data.STD,))])
    dataset = datasets.MNIST(data.default_root(), train=True, download=False, transform=transform)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True)
    torch.manual_seed(0)
    model = models.mlp([784, 128, 64, 10])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    seen, start = 0, None
    for step, (x, y) in enumerate(loader):
        if step == 5:  # after a short warm-up
            seen, start = 0, time.perf_counter()
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seen += len(x)
        if step == steps + 5:
            break
    return seen / (time.perf_counter() - start)


def _tensor_setup():
    """The standardized training images in one tensor, the model and annlib's optimizer."""
    mnist = data.load_mnist()
    x, y = data.to_features(mnist.train_images), mnist.train_labels
    torch.manual_seed(0)
    model = models.mlp([784, 128, 64, 10])
    optimizer = experiments.Experiment(optimizer="adam", lr=1e-3).build_optimizer(model.parameters())
    return x, y, model, optimizer


def annlib_samples_per_second(batch_size: int) -> float:
    x, y, model, optimizer = _tensor_setup()
    history = train.fit(model, optimizer, (x, y), epochs=1, batch_size=batch_size, device="cpu", progress=False)
    return len(x) / history.wall_time


def plain_samples_per_second(batch_size: int) -> float:
    """The floor: a bare loop over shuffled minibatches of one tensor, no metrics, no checks."""
    x, y, model, optimizer = _tensor_setup()
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for index in torch.randperm(len(x)).split(batch_size):
        loss = loss_fn(model(x[index]), y[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return len(x) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive-steps", type=int, default=300)
    args = parser.parse_args()
    data.ensure_mnist()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch size {args.batch_size}")
    naive = statistics.median(naive_samples_per_second(args.batch_size, args.naive_steps) for _ in range(args.repeats))
    fast = statistics.median(annlib_samples_per_second(args.batch_size) for _ in range(args.repeats))
    plain = statistics.median(plain_samples_per_second(args.batch_size) for _ in range(args.repeats))
    print(f"naive DataLoader pipeline: {naive:,.0f} samples/s")
    print(f"bare tensor loop (floor):  {plain:,.0f} samples/s ({plain / naive:.1f}x naive)")
    print(f"annlib tensor-resident:    {fast:,.0f} samples/s")
    print(f"speedup={fast / naive:.1f}")


if __name__ == "__main__":
    main()
