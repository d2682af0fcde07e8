"""The Ray executor (issue 15): the engine's encoding seam, run on a Ray cluster.

The unit of work is a shard: (model, cell, a run of image positions). Shard boundaries are
multiples of the batch size and batches start at the shard's start, so every batch the encoder
sees is the batch the local executor would see: embeddings are bit-identical on the same device
type. Per shard, a CPU task corrupts and preprocesses into the object store and an encoder actor
(see ``ray_cluster``) encodes from there. The driver keeps a bounded window of shards in flight,
assembles the results by shard index (a retried shard is stored once, never twice), advances the
progress bar per shard and yields whole cells in job order; the engine alone writes the run store,
so a killed driver resumes exactly like a local run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robustlens.errors import UserInputError
from robustlens.evaluation.engine_options import f16
from robustlens.evaluation.loader import CellImages, CellJob
from robustlens.evaluation.ray_cluster import FAULT_ENV, connect, encoder_pool, remote_prepare

SHARD_BATCHES = 2  # batches per shard: small enough to spread a cell, large enough to amortise a call


@dataclass(frozen=True)
class Shard:
    job: int
    start: int
    stop: int


def plan_shards(jobs: list[CellJob], batch: int, per_shard: int = SHARD_BATCHES) -> list[Shard]:
    """Shards of every job in job order, each ``per_shard`` batches long (the last one shorter)."""
    size = batch * per_shard
    return [
        Shard(j, start, min(start + size, len(job.indices)))
        for j, job in enumerate(jobs)
        for start in range(0, len(job.indices), size)
    ]


@dataclass
class _Assembly:
    """Finished shards, gathered per job until the job is complete."""

    shards: list[Shard]
    parts: dict[int, list[tuple[int, np.ndarray]]] = field(default_factory=dict)
    errors: dict[int, dict[int, str]] = field(default_factory=dict)
    count: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for s in self.shards:
            self.count[s.job] = self.count.get(s.job, 0) + 1

    def add(self, shard: Shard, emb: np.ndarray, errors: dict[int, str]) -> None:
        self.parts.setdefault(shard.job, []).append((shard.start, emb))
        self.errors.setdefault(shard.job, {}).update(errors)

    def complete(self, job: int) -> bool:
        return len(self.parts.get(job, [])) == self.count.get(job, 0)

    def pop(self, job: int, dim: int) -> tuple[np.ndarray, dict[int, str]]:
        parts = sorted(self.parts.pop(job, []), key=lambda p: p[0])
        emb = np.concatenate([e for _, e in parts]) if parts else np.zeros((0, dim), np.float32)
        return emb, self.errors.pop(job, {})


def encode_on_ray(
    runner: Any, model: Any, dataset: CellImages, batch: int
) -> Iterator[tuple[CellJob, np.ndarray, dict[int, str], float]]:
    """Yield (job, f16 embeddings, {position: error}, seconds) per job, in job order, computed on Ray."""
    options = runner.options
    if options.corrupt_on == "device":
        raise UserInputError(
            "--corrupt-on device is not available with --executor ray.",
            why="on Ray, corruptions run in CPU tasks spread over the cluster, not on the encoders' GPUs.",
            fix="Use --corrupt-on auto (or cpu) with --executor ray, or --executor local on one GPU.",
            field="corrupt_on",
        )
    ray = connect(options.ray_address)
    pool = encoder_pool(ray, model.id, options.checkpoints.get(model.id), options.device, options.amp)
    prepare = remote_prepare(ray)
    fault = os.environ.get(FAULT_ENV) or None
    shards = plan_shards(dataset.jobs, batch)
    done = _Assembly(shards)
    window = 2 * (int(ray.cluster_resources().get("CPU", 1)) + len(pool.actors))
    data = ray.put(dataset)
    inflight: dict[Any, tuple[int, Any, int]] = {}  # embeddings ref -> (shard, errors ref, actor)
    queued, next_job = 0, 0
    start = time.perf_counter()
    while next_job < len(dataset.jobs):
        while queued < len(shards) and len(inflight) < window:
            s = shards[queued]
            pixels, errors = prepare.remote(data, s.job, s.start, s.stop, fault)
            actor = pool.pick()
            pool.load[actor] += 1
            inflight[pool.actors[actor].encode.remote(pixels, batch, fault)] = (queued, errors, actor)
            queued += 1
        while next_job < len(dataset.jobs) and done.complete(next_job):
            emb, errs = done.pop(next_job, model.embed_dim)
            now = time.perf_counter()
            yield dataset.jobs[next_job], f16(emb), errs, now - start
            start, next_job = now, next_job + 1
        if not inflight:
            continue
        [ready], _ = ray.wait(list(inflight), num_returns=1)
        index, errors_ref, actor = inflight.pop(ready)
        pool.load[actor] -= 1
        shard = shards[index]
        try:
            emb, errs = ray.get(ready), ray.get(errors_ref)
        except ray.exceptions.RayError as exc:
            raise shard_error(exc, model.id, dataset, shard) from None
        done.add(shard, emb, errs)
        runner.progress.advance(shard.stop - shard.start)


def shard_error(exc: Exception, model_id: str, dataset: CellImages, shard: Shard) -> UserInputError:
    """A worker's failure as one clear error naming the model, the cell and the shard's images."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, UserInputError):
        return cause
    job = dataset.jobs[shard.job]
    ids = [dataset.ids[job.indices[p]] for p in range(shard.start, shard.stop)]
    shown = ", ".join(ids[:5]) + (f" (+{len(ids) - 5} more)" if len(ids) > 5 else "")
    corruption, severity = job.key
    reason = str(cause if cause is not None else exc).strip().splitlines()
    return UserInputError(
        f"A Ray worker failed on {model_id}, cell {corruption} at severity {severity:g}, "
        f"images {shown} (positions {shard.start}-{shard.stop - 1}).",
        why=(reason[-1] if reason else type(exc).__name__),
        fix="Check those images and that robustlens, the model weights and the data are the same on "
        "every node (a shared filesystem); or rerun with --executor local to see the full traceback.",
        field="executor",
    )
