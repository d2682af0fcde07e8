"""Images per second of each device kernel (issue 14) against its numpy primitive.

Usage: python benchmarks/device_kernels.py [--device cpu|cuda] [--batch 64] [--size 224] [--severity 3]
       [--threads 1] [--seconds 1.0] [--only ...] [--json out.json]

Both sides corrupt the same natural images with the same seeds. The numpy primitive runs one image
at a time on one core (OpenCV pinned to one thread, as ``benchmarks/corruption_speed.py``); the
device kernel runs whole batches through ``corrupt_batch`` (uint8 in, uint8 out, on the device,
including the float conversion and rounding). On CPU torch the column is CPU-seconds of this
process with ``--threads`` torch threads, so it compares per core; on CUDA it is wall time after a
warm-up batch, synchronised. Prints a table and, with ``--json``, writes the figures.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(var, "1")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from robustlens.corruptions import REGISTRY, single
from robustlens.corruptions.device import KERNELS, _load_kernels, corrupt_batch
from robustlens.corruptions.seeding import corruption_seed

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corruption_speed import images


def numpy_rate(name: str, pics: list[np.ndarray], severity: float, seconds: float) -> float:
    corrupt = single(name)
    n, start = 0, time.process_time()
    while True:
        corrupt(pics[n % len(pics)], severity, corruption_seed(0, str(n), name, severity))
        n += 1
        elapsed = time.process_time() - start
        if elapsed >= seconds and n >= 4:
            return n / elapsed


def device_rate(name: str, batch: torch.Tensor, severity: float, seconds: float) -> float:
    corrupt = single(name)
    cuda = batch.device.type == "cuda"
    clock = time.perf_counter if cuda else time.process_time
    seeds = [corruption_seed(0, str(i), name, severity) for i in range(batch.shape[0])]
    corrupt_batch(corrupt, batch, severity, seeds)  # warm-up: kernels, codecs, caches
    if cuda:
        torch.cuda.synchronize()
    n, start = 0, clock()
    while True:
        corrupt_batch(corrupt, batch, severity, seeds)
        if cuda:
            torch.cuda.synchronize()
        n += batch.shape[0]
        elapsed = clock() - start
        if elapsed >= seconds and n >= 2 * batch.shape[0]:
            return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--severity", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (device=cpu)")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--only", nargs="*", help="primitive names")
    parser.add_argument("--no-numpy", action="store_true", help="skip the numpy column")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    torch.set_num_threads(args.threads)
    _load_kernels()
    device = torch.device(args.device)
    pics = images(args.size)
    stack = np.stack([pics[i % len(pics)] for i in range(args.batch)])
    batch = torch.from_numpy(stack).permute(0, 3, 1, 2).contiguous().to(device)
    label = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"CPU torch, {args.threads} thread(s)"
    )
    print(f"device kernels on {label}; batch {args.batch}, {args.size} px, severity {args.severity:g}")
    print(f"{'kernel':22s} {'family':10s} {'device img/s':>13s} {'numpy img/s':>12s} {'ratio':>7s}")
    rows = []
    for name in sorted(KERNELS, key=lambda n: (REGISTRY[n].family, n)):
        if args.only and name not in args.only:
            continue
        dev = device_rate(name, batch, args.severity, args.seconds)
        ref = float("nan") if args.no_numpy else numpy_rate(name, pics, args.severity, args.seconds / 2)
        rows.append({"name": name, "family": REGISTRY[name].family, "device": dev, "numpy": ref})
        print(f"{name:22s} {REGISTRY[name].family:10s} {dev:13.0f} {ref:12.0f} {dev / ref:7.2f}", flush=True)
    overall = summary(rows)
    if overall:
        print(
            f"overall: geometric mean {overall['geomean']:.0f} img/s per kernel; every kernel once "
            f"per image {overall['all_kernels']:.2f} img/s"
        )
    missing = sorted(set(REGISTRY) - set(KERNELS))
    print(f"{len(rows)} kernels; no device kernel: {', '.join(missing) or 'none'}")
    if args.json:
        payload = {"device": label, "batch": args.batch, "rows": rows, "overall": overall}
        Path(args.json).write_text(json.dumps(payload, indent=1))


def summary(rows: list[dict]) -> dict[str, float]:
    """The overall figures: geometric mean of the kernels' rates, and the rate of one image through
    every kernel in turn (1 / sum of 1 / rate): what a plan using them all would see."""
    rates = [float(r["device"]) for r in rows if r["device"] > 0]
    if not rates:
        return {}
    geomean = float(np.exp(np.mean(np.log(rates))))
    return {"geomean": geomean, "all_kernels": 1.0 / sum(1.0 / r for r in rates)}


if __name__ == "__main__":
    main()
