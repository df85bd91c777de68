"""Training throughput: annlib's tensor-resident loop against the naive torchvision pipeline.

Both train the same 784-128-64-10 MLP with Adam (lr=1e-3) in this process, on the real MNIST:

- naive: ``torchvision.datasets.MNIST`` + ``ToTensor``/``Normalize`` + ``DataLoader(shuffle=True)``
  and the textbook loop;
- annlib: ``annlib.train.fit`` over the standardized images held in one tensor, with the
  optimizer as ``annlib.experiments`` builds it (torch's fused Adam kernel).

A third line times a bare loop over the same tensors (no metrics, no divergence check), the
floor that annlib's loop can at best reach; a fourth, a sweep as ``experiments.run_all`` runs it:
one worker process per core, each training on one thread, their samples per second added up.

The hardware limit: the training FLOPs of one sample (forward, weight gradients, input gradients
of every layer but the first: the matrix products, which are nearly all the work) times samples
per second gives the achieved GFLOP/s, printed beside what ``torch.mm`` alone reaches on exactly
the matrix products of one training step at that batch size, in the same run (``mm``).

For each batch size (``--batch-sizes``, default 32 64 256 10000) prints samples per second (the
median of ``--repeats``) and GFLOP/s; the last line is ``speedup=<x>``, annlib over naive at
batch size 64. Usage: ``python benchmarks/throughput.py [--batch-sizes 32 64] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from annlib import data, experiments, models, train


SIZES = (784, 128, 64, 10)


def training_flops_per_sample(sizes=SIZES) -> int:
    """Multiply-adds ×2 of the forward pass, the weight gradients and the input gradients."""
    layers = list(zip(sizes[:-1], sizes[1:]))
    forward = sum(2 * i * o for i, o in layers)
    weight_grads = forward
    input_grads = sum(2 * i * o for i, o in layers[1:])  # the images need no gradient
    return forward + weight_grads + input_grads


def mm_gflops(batch_size: int, sizes=SIZES, seconds: float = 0.5) -> float:
    """GFLOP/s of torch.mm alone on the matrix products of one training step at this batch size."""
    layers = list(zip(sizes[:-1], sizes[1:]))
    xs = [torch.randn(batch_size, i) for i, _ in layers]        # each layer's input
    ws = [torch.randn(o, i) for i, o in layers]                 # weights, as nn.Linear holds them
    gs = [torch.randn(batch_size, o) for _, o in layers]        # gradients of each layer's output

    def step():
        for x, w in zip(xs, ws):
            torch.mm(x, w.t())                                  # forward
        for x, g in zip(xs, gs):
            torch.mm(g.t(), x)                                  # weight gradients
        for w, g in list(zip(ws, gs))[1:]:
            torch.mm(g, w)                                      # input gradients

    for _ in range(3):
        step()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        steps += 1
    return steps * batch_size * training_flops_per_sample(sizes) / (time.perf_counter() - start) / 1e9


def naive_samples_per_second(batch_size: int, samples: int) -> float:
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((data.MEAN,), (data.STD,))])
    dataset = datasets.MNIST(data.default_root(), train=True, download=False, transform=transform)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True)
    torch.manual_seed(0)
    model = models.mlp([784, 128, 64, 10])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    warm_up = min(5, max(1, len(loader) // 4))
    seen, start = 0, None
    for step, (x, y) in enumerate(loader):
        if step == warm_up:
            seen, start = 0, time.perf_counter()
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seen += len(x)
        if start is not None and seen >= samples:
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


def _sweep_worker(batch_size: int, barrier) -> float:
    torch.set_num_threads(1)
    x, y, model, optimizer = _tensor_setup()
    barrier.wait()  # all workers train at the same time
    history = train.fit(model, optimizer, (x, y), epochs=1, batch_size=batch_size, device="cpu", progress=False)
    return len(x) / history.wall_time


def sweep_samples_per_second(batch_size: int, workers: int) -> float:
    """``workers`` processes training at once, one thread each (as run_all runs a sweep): the sum."""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(workers)
        pool = context.Pool(workers)
        try:
            rates = pool.starmap(_sweep_worker, [(batch_size, barrier)] * workers)
        finally:
            pool.close()  # let the workers exit by themselves: terminate() leaks their semaphores
            pool.join()
    return sum(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 64, 256, 10_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive-samples", type=int, default=20_000, help="samples timed per naive run")
    args = parser.parse_args()
    data.ensure_mnist()
    workers = experiments.default_workers(torch.device("cpu"))
    flops = training_flops_per_sample()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {workers} sweep workers; "
          f"{flops / 1e6:.3f} MFLOP per training sample of the {'-'.join(map(str, SIZES))} MLP")
    header = f"{'batch':>6} {'naive':>9} {'floor':>9} {'annlib':>9} {'sweep':>9}   GFLOP/s: {'annlib':>6} {'sweep':>6} {'mm':>6}   speedup"
    print(header + "\n" + " " * 7 + "(samples per second)")
    speedups = {}
    for batch_size in args.batch_sizes:
        median = lambda f, *a: statistics.median(f(*a) for _ in range(args.repeats))  # noqa: E731
        naive = median(naive_samples_per_second, batch_size, args.naive_samples)
        plain = median(plain_samples_per_second, batch_size)
        fast = median(annlib_samples_per_second, batch_size)
        sweep = median(sweep_samples_per_second, batch_size, workers)
        mm = median(mm_gflops, batch_size)
        speedups[batch_size] = fast / naive
        print(f"{batch_size:>6} {naive:>9,.0f} {plain:>9,.0f} {fast:>9,.0f} {sweep:>9,.0f}   "
              f"{' ' * 8}{fast * flops / 1e9:>6.1f} {sweep * flops / 1e9:>6.1f} {mm:>6.1f}   "
              f"{fast / naive:.1f}x (sweep {sweep / naive:.1f}x)", flush=True)
    if 64 in speedups:
        print(f"speedup={speedups[64]:.1f}")


if __name__ == "__main__":
    main()
