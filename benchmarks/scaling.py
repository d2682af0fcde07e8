"""Ray executor scaling: throughput with 1 and 2 local workers (and their ratio), with 1 GPU actor when
a GPU is available, and the local executor on the same machine as the baseline; then where the time
of a Ray run goes (corruption tasks, encoder actor, driver).

A "worker" is one encoder actor plus one CPU for corruption tasks: k workers = a local Ray instance
with 2k CPUs and k CPU encoder actors (``ROBUSTLENS_RAY_ENCODERS=k``). The GPU row is a local
instance with every CPU and one GPU actor. Throughput = images / seconds over the corrupted cells
(``timings.jsonl``), so Ray's start-up and the encoders' model loading (during the clean pass) are
excluded; each run's wall time, start-up included, is printed beside it. Ray is started once per
row, all in this process, so the rows share one machine state. On a machine with fewer free cores
than 2k, k workers cannot be faster than k-1: the header prints the cores this process may use.

Usage: python benchmarks/scaling.py [--model demo:textile] [--images 96] [--batch-size 16]
       [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import numpy as np
import ray
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import make_images

from robustlens.data.sources import open_images
from robustlens.evaluation import ray_cluster
from robustlens.evaluation.engine import EngineOptions, evaluate
from robustlens.evaluation.loader import CellImages, CellJob
from robustlens.evaluation.ray_executor import plan_shards
from robustlens.models import load_model
from robustlens.schemas import CorruptionPlan, CorruptionSpec, PrimitiveCall

PLAN = CorruptionPlan(
    specs=[
        CorruptionSpec(name=n, recipe=[PrimitiveCall(name=n)])
        for n in ("gaussian_noise", "defocus_blur", "fog", "jpeg")
    ],
    severities=[1, 3],
    seed=0,
)


def one_run(executor: str, folder: Path, out: Path, model: str, batch: int, device: str) -> dict:
    options = EngineOptions(
        batch_size=batch,
        workers=1 if executor == "local" else 0,
        device=device,
        use_cache=False,
        fresh=True,
        n_boot=0,
        executor=executor,
    )
    start = time.perf_counter()
    evaluate(PLAN, open_images(folder), [model], out, options=options)
    wall = time.perf_counter() - start
    cells = [json.loads(line) for line in (out / "timings.jsonl").read_text().splitlines()]
    images, seconds = sum(c["images"] for c in cells), sum(c["seconds"] for c in cells)
    return {"images_per_s": round(images / seconds, 1), "wall_s": round(wall, 1)}


def ray_row(cpus: int, gpus: int, encoders: int, folder: Path, out: Path, args: argparse.Namespace) -> dict:
    os.environ[ray_cluster.ENCODERS_ENV] = str(encoders)
    start = time.perf_counter()
    ray.init(
        num_cpus=cpus,
        num_gpus=gpus,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.ERROR,
    )
    init = time.perf_counter() - start
    try:
        device = "auto" if gpus else "cpu"
        row = one_run("ray", folder, out, args.model, args.batch_size, device)
        if not gpus and encoders == 1:
            row["stages"] = stages(folder, args)
    finally:
        ray_cluster.release()
        ray.shutdown()
    return {**row, "ray_init_s": round(init, 1)}


def stages(folder: Path, args: argparse.Namespace) -> dict:
    """Where the time goes: corruption tasks alone (per CPU, every CPU of this instance busy) and the
    encoder actor alone (one CPU, pixels already in the object store)."""
    model = load_model(args.model, device="cpu")
    items = open_images(folder).items
    jobs = [CellJob((s.name, 3.0), s.model_dump_json(), 3.0, tuple(range(len(items)))) for s in PLAN.specs]
    dataset = CellImages(
        jobs, [str(i.path) for i in items], [i.id for i in items], model.image_transform, 0, model.image_size
    )
    shards = plan_shards(jobs, args.batch_size)
    prepare = ray_cluster.remote_prepare(ray)
    data = ray.put(dataset)
    ray.get([prepare.remote(data, 0, 0, 1, None)[0]])  # warm the task workers (imports)
    start = time.perf_counter()
    pixels = [prepare.remote(data, s.job, s.start, s.stop, None)[0] for s in shards]
    ray.wait(pixels, num_returns=len(pixels))
    corrupt = time.perf_counter() - start
    pool = ray_cluster.encoder_pool(ray, args.model, None, "cpu", True)
    ray.get(pool.actors[0].encode.remote(pixels[0], args.batch_size, None))  # model loaded, warm
    start = time.perf_counter()
    ray.get([pool.actors[0].encode.remote(p, args.batch_size, None) for p in pixels])
    encode = time.perf_counter() - start
    n = sum(s.stop - s.start for s in shards)
    shard_mb = float(np.prod(ray.get(pixels[0]).shape)) * (1 if dataset.uint8 else 4) / 2**20
    return {
        "corrupt_tasks_images_per_s_per_cpu": round(n / corrupt / ray.cluster_resources()["CPU"], 1),
        "encoder_actor_images_per_s": round(n / encode, 1),
        "shard_mib": round(shard_mb, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="demo:textile")
    parser.add_argument("--images", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    load = os.getloadavg()[0]
    print(
        f"model {args.model}, {args.images} images x {len(PLAN.specs) * len(PLAN.severities)} cells, "
        f"batch {args.batch_size}, {cores} cores, load {load:.1f}, "
        f"torch {torch.__version__}, ray {ray.__version__}"
    )
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "images"
        make_images(folder, args.images)
        results["local (1 DataLoader worker)"] = one_run(
            "local", folder, root / "local", args.model, args.batch_size, "cpu"
        )
        for k in (1, 2):
            results[f"ray, {k} worker(s)"] = ray_row(2 * k, 0, k, folder, root / f"ray{k}", args)
        if torch.cuda.is_available():
            results["ray, 1 GPU actor"] = ray_row(cores, 1, 1, folder, root / "gpu", args)
    for name, row in results.items():
        extra = f"  (Ray start {row['ray_init_s']} s)" if "ray_init_s" in row else ""
        print(f"{name:30s} {row['images_per_s']:8.1f} img/s   wall {row['wall_s']:6.1f} s{extra}")
    one, two = results["ray, 1 worker(s)"]["images_per_s"], results["ray, 2 worker(s)"]["images_per_s"]
    results["ratio_2_over_1"] = round(two / one, 2)
    print(f"2 workers / 1 worker: {results['ratio_2_over_1']:.2f}x")
    st = results["ray, 1 worker(s)"]["stages"]
    print(
        f"stages (1 worker): corruption tasks {st['corrupt_tasks_images_per_s_per_cpu']} img/s per CPU, "
        f"encoder actor {st['encoder_actor_images_per_s']} img/s, "
        f"shard {st['shard_mib']} MiB in the object store"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
