"""PyTorch baseline for bench/compute.bench.ts: the same small CNN as
src/core/train/model.ts ('small-cnn': 3 x [conv3x3 no bias, batch norm, ReLU,
max-pool 2x2] with 16/32/64 channels, global average pool, dense), the same
batch (64 x 64x64x3, 200 classes), one training step = forward, softmax
cross-entropy, backward, gradients flattened into one vector (what a worker
sends to the parameter server). Prints one JSON object on its last line.

Warm-up steps (oneDNN builds its kernels for each shape on first use) are run
first and not timed. The JSON carries the parameter count, so the caller can check
that both sides train the same model, and CPU time per step (all threads of this
process), which other load on a shared machine does not inflate.

usage: python3 torch_cnn.py --threads N --steps S [--warmup W]
"""
import argparse
import json
import os
import resource
import time

import torch
import torch.nn as nn


def small_cnn(classes: int) -> nn.Module:
    layers = []
    cin = 3
    for width in (16, 32, 64):
        layers += [nn.Conv2d(cin, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2)]
        cin = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--classes", type=int, default=200)
    a = p.parse_args()
    # Intra-op threads are what "same number of threads" means; the inter-op pool
    # is unused by a single CPU training step but is capped too.
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(a.threads)
    torch.manual_seed(0)
    model = small_cnn(a.classes).train()
    x = torch.randn(a.batch, 3, 64, 64)
    y = torch.randint(0, a.classes, (a.batch,))
    loss_fn = nn.CrossEntropyLoss()

    def step() -> float:
        model.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        torch.cat([q.grad.reshape(-1) for q in model.parameters()]).numpy()
        return float(loss)

    for _ in range(a.warmup):
        step()
    faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    t0 = time.perf_counter()
    c0 = time.process_time()
    step_seconds = []
    for _ in range(a.steps):
        s0 = time.perf_counter()
        step()
        step_seconds.append(time.perf_counter() - s0)
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0
    print(json.dumps({
        "threads": torch.get_num_threads(),
        "parameters": sum(q.numel() for q in model.parameters()),
        "warmupSteps": a.warmup,
        "steps": a.steps,
        "batch": a.batch,
        "secondsPerStep": seconds / a.steps,
        "samplesPerSecond": a.steps * a.batch / seconds,
        "cpuSecondsPerStep": cpu_seconds / a.steps,
        "samplesPerCpuSecond": a.steps * a.batch / cpu_seconds,
        "fastestStepSeconds": min(step_seconds),
        "medianStepSeconds": sorted(step_seconds)[len(step_seconds) // 2],
        # glibc's malloc hands activations of >= its mmap threshold back to the kernel
        # and maps them fresh: page faults (zeroed pages) in most steps, 2-3x the time of
        # a step without them. MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ remove them.
        "minorPageFaultsPerStep": faults / a.steps,
        "mallocTuned": "MALLOC_MMAP_THRESHOLD_" in os.environ,
        "torch": torch.__version__,
        "mkldnn": torch.backends.mkldnn.is_available(),
        "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
