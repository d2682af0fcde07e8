"""Images per second per corruption primitive on ONE core at 224 px (target >= 200 img/s).

Usage: python benchmarks/corruption_speed.py [--size 224] [--severity 3] [--seconds 0.5] [--json out.json]
Threads are pinned to one (OpenCV, OpenMP, BLAS) before anything imports numpy.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import argparse
import json
import time

import cv2
import numpy as np
import skimage.data

from robustlens.corruptions import REGISTRY, single

TARGET = 200.0


def images(size: int) -> list[np.ndarray]:
    raw = [skimage.data.astronaut(), skimage.data.coffee(), skimage.data.chelsea(), skimage.data.rocket()]
    out = []
    for im in raw:
        s = min(im.shape[:2])
        out.append(cv2.resize(np.ascontiguousarray(im[:s, :s]), (size, size), interpolation=cv2.INTER_AREA))
    return out


def measure(name: str, pics: list[np.ndarray], severity: float, seconds: float) -> float:
    corruption = single(name)
    for i in range(3):
        corruption(pics[i % len(pics)], severity, seed=i)
    n, start = 0, time.perf_counter()
    while True:
        corruption(pics[n % len(pics)], severity, seed=n)
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and n >= 10:
            return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--severity", type=float, default=3.0)
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--only", nargs="*", help="primitive names")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    pics = images(args.size)
    rows = []
    for name in sorted(REGISTRY, key=lambda n: (REGISTRY[n].family, n)):
        if args.only and name not in args.only:
            continue
        rate = measure(name, pics, args.severity, args.seconds)
        info = REGISTRY[name]
        rows.append(
            {"name": name, "family": info.family, "backend": info.backend, "img_per_s": round(rate, 1)}
        )
    print(f"corruption speed: 1 core, {args.size}x{args.size} RGB, severity {args.severity:g}")
    print(f"{'family':<14}{'primitive':<22}{'backend':<16}{'img/s':>9}")
    for r in rows:
        flag = "" if r["img_per_s"] >= TARGET else f"   < {TARGET:.0f}"
        print(f"{r['family']:<14}{r['name']:<22}{r['backend']:<16}{r['img_per_s']:>9.0f}{flag}")
    slow = [r["name"] for r in rows if r["img_per_s"] < TARGET]
    rates = [r["img_per_s"] for r in rows]
    print(
        f"{len(rows)} primitives; median {np.median(rates):.0f} img/s; "
        f"below target: {', '.join(slow) or 'none'}"
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
