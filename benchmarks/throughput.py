"""Evaluation throughput against the bare image encoder, and the cost of an immediate re-run.

Measured side by side in one process on the same model, device and batch size:
  (a) bare encoder: preprocessed tensors already in memory -> encode_images, images/s;
  (b) full eval: the engine over a plan (decode, corrupt in DataLoader workers, preprocess, encode,
      records, atomic writes), images/s over the corrupted cells;
  (c) b / a (target >= 0.9);
  (d) wall time of an immediate re-run / the first run's (target <= 5%).

Usage: python benchmarks/throughput.py [--model openclip:ViT-B-32/random] [--images 512]
       [--batch-size N] [--workers N] [--device auto] [--json out.json]
Images are generated from scikit-image's bundled photos (random 256-400 px crops), so the benchmark
runs anywhere without the demo data.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import numpy as np
import skimage.data
import torch
from PIL import Image

from robustlens.data.sources import open_images
from robustlens.evaluation.engine import EngineOptions, evaluate
from robustlens.evaluation.loader import default_workers
from robustlens.models import load_model
from robustlens.schemas import CorruptionPlan, CorruptionSpec, PrimitiveCall

PLAN = CorruptionPlan(
    specs=[
        CorruptionSpec(name=n, recipe=[PrimitiveCall(name=n)])
        for n in ("gaussian_noise", "defocus_blur", "fog", "jpeg")
    ],
    severities=[1, 3, 5],
    seed=0,
)


def make_images(folder: Path, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    photos = [skimage.data.astronaut(), skimage.data.coffee(), skimage.data.chelsea(), skimage.data.rocket()]
    for cls in ("a", "b"):
        (folder / cls).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        photo = photos[i % len(photos)]
        side = int(rng.integers(256, 400))
        top = int(rng.integers(0, photo.shape[0] - side + 1)) if photo.shape[0] > side else 0
        left = int(rng.integers(0, photo.shape[1] - side + 1)) if photo.shape[1] > side else 0
        crop = photo[top : top + side, left : left + side]
        Image.fromarray(crop).save(folder / ("a" if i % 2 else "b") / f"{i:05d}.jpg", quality=92)


def bare_encoder(model_id: str, folder: Path, batch: int, device: str, amp: bool, repeats: int) -> float:
    model = load_model(model_id, device=device, amp=amp)
    images = open_images(folder)
    pixels = torch.stack(
        [model.image_transform(np.asarray(Image.open(i.path).convert("RGB"))) for i in images.items]
    )
    if model.device.type == "cuda":
        pixels = pixels.pin_memory()
    model.encode_images(pixels[:batch])  # warm-up (cudnn autotune, allocator)
    sync(model.device)
    start = time.perf_counter()
    for _ in range(repeats):
        for i in range(0, len(pixels), batch):
            model.encode_images(pixels[i : i + batch])
    sync(model.device)
    return repeats * len(pixels) / (time.perf_counter() - start)


def loader_only(model_id: str, folder: Path, batch: int, workers: int, device: str, corrupt_at: str) -> float:
    """(e) the DataLoader alone (decode/corrupt/preprocess, no encoding), over the same plan."""
    from robustlens.evaluation.loader import CellImages, CellJob, make_loader

    model = load_model(model_id, device=device)
    items = open_images(folder).items
    paths, ids = [str(i.path) for i in items], [i.id for i in items]
    inputs = None
    if corrupt_at == "model":
        arr = np.stack(
            [model.image_transform.geometry(np.asarray(Image.open(p).convert("RGB"))) for p in paths]
        )
        inputs = str(folder.parent / "inputs.npy")
        np.save(inputs, arr)
    jobs = [
        CellJob((s.name, sev), s.model_dump_json(), sev, tuple(range(len(items))))
        for s in PLAN.specs
        for sev in PLAN.severities
    ]
    dataset = CellImages(jobs, paths, ids, model.image_transform, 0, model.image_size, inputs=inputs)
    start = time.perf_counter()
    n = sum(len(pos) for _, pos, _, _ in make_loader(dataset, batch, workers, model.device))
    return n / (time.perf_counter() - start)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="openclip:ViT-B-32/random")
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-amp", action="store_true")
    parser.add_argument("--corrupt-at", default="native", choices=["native", "model"])
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    amp = not args.no_amp
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "images"
        make_images(folder, args.images)
        probe = load_model(args.model, device=args.device, amp=amp)
        device = probe.device
        batch = args.batch_size or (128 if device.type == "cuda" else 32)
        workers = args.workers if args.workers is not None else default_workers(device)
        del probe
        bare = bare_encoder(
            args.model, folder, batch, args.device, amp, repeats=3 if device.type == "cuda" else 1
        )
        options = EngineOptions(
            batch_size=batch,
            workers=workers,
            device=args.device,
            amp=amp,
            use_cache=False,
            n_boot=200,
            corrupt_at=args.corrupt_at,
        )
        out = Path(tmp) / "run"
        images = open_images(folder)
        start = time.perf_counter()
        evaluate(PLAN, images, [args.model], out, options=options)
        first = time.perf_counter() - start
        start = time.perf_counter()
        evaluate(PLAN, open_images(folder), [args.model], out, options=options)
        rerun = time.perf_counter() - start
        timings = [json.loads(x) for x in (out / "timings.jsonl").read_text().splitlines()]
        loader = loader_only(args.model, folder, batch, workers, args.device, args.corrupt_at)
        full = sum(t["images"] for t in timings) / sum(t["seconds"] for t in timings)
    gpu = torch.cuda.get_device_name(0) if device.type == "cuda" else f"cpu x{os.cpu_count()}"
    figures = {
        "model": args.model,
        "device": gpu,
        "amp": amp and device.type == "cuda",
        "batch_size": batch,
        "workers": workers,
        "images": args.images,
        "corrupt_at": args.corrupt_at,
        "cells": len(timings),
        "bare_encoder_img_s": round(bare, 1),
        "full_eval_img_s": round(full, 1),
        "ratio": round(full / bare, 3),
        "loader_only_img_s": round(loader, 1),
        "first_run_s": round(first, 2),
        "rerun_s": round(rerun, 3),
        "rerun_fraction": round(rerun / first, 4),
    }
    print(
        f"throughput: {args.model} on {gpu}, batch {batch}, {workers} workers, AMP {figures['amp']}, "
        f"corrupt at {args.corrupt_at}"
    )
    print(f"  (a) bare image encoder      {bare:9.1f} img/s")
    print(
        f"  (b) full eval (corrupted)   {full:9.1f} img/s   over {len(timings)} cells x {args.images} images"
    )
    print(f"  (c) ratio b/a               {full / bare:9.3f}       (target >= 0.9)")
    print(f"  (e) DataLoader alone        {loader:9.1f} img/s   (decode, corrupt, preprocess; no encoder)")
    print(
        f"  (d) re-run / first run      {rerun:.2f} s / {first:.2f} s = {rerun / first:.2%}   (target <= 5%)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
