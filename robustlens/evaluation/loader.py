"""Corrupt-and-preprocess in DataLoader worker processes, in batches aligned to cells.

One DataLoader serves every pending cell of a model (no worker restart per cell). Batches never
straddle two cells and always start at the cell's first image, so a cell's embeddings are computed
in the same batches whether the run is fresh or resumed: results are identical either way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from robustlens.corruptions.compiler import CompiledCorruption, compile_spec
from robustlens.corruptions.seeding import corruption_seed
from robustlens.data.images import BadImage, load_image, to_rgb
from robustlens.models.base import PilTransform, uint8_chw
from robustlens.schemas import CorruptionSpec
from robustlens.workers import init_worker, worker_context

T = TypeVar("T")


@dataclass(frozen=True)
class CellJob:
    """One cell to compute: a spec (None = clean) at a severity, over image indices."""

    key: tuple[str, float]
    spec_json: str | None
    severity: float
    indices: tuple[int, ...]


class CellImages(Dataset):
    """Item ``(job, position)`` -> (job index, position, pixels, error or '').

    Pixels are the model's full preprocessing (float) unless the transform is splittable, in which
    case they are uint8 at model resolution and normalised on the device. With ``inputs`` (a .npy
    of images already resized and cropped to the model input, see ``corrupt_at='model'``) nothing
    is decoded or resized per cell: the corruption is applied to what the model sees.
    """

    def __init__(
        self,
        jobs: Sequence[CellJob],
        paths: Sequence[str],
        ids: Sequence[str],
        transform: Callable[[np.ndarray], torch.Tensor],
        run_seed: int,
        image_size: int,
        inputs: str | None = None,
    ) -> None:
        self.jobs = list(jobs)
        self.paths = list(paths)
        self.ids = list(ids)
        self.transform = transform
        self.run_seed = run_seed
        self.image_size = image_size
        self.inputs = inputs
        # a model transform split into geometry (workers) + normalisation (device) ships uint8 pixels
        self.geometry: Callable[[np.ndarray], np.ndarray] | None = (
            transform.geometry if isinstance(transform, PilTransform) and transform.splittable else None
        )
        self.uint8 = self.geometry is not None
        self._compiled: dict[int, CompiledCorruption] = {}
        self._memmap: np.ndarray | None = None

    def __len__(self) -> int:
        return sum(len(j.indices) for j in self.jobs)

    def __getstate__(self) -> dict[str, object]:
        # Sent to each worker: compiled corruptions and the memory map are rebuilt there.
        return {**self.__dict__, "_compiled": {}, "_memmap": None}

    def corruption(self, job_index: int) -> CompiledCorruption | None:
        job = self.jobs[job_index]
        if job.spec_json is None:
            return None
        if job_index not in self._compiled:
            self._compiled[job_index] = compile_spec(CorruptionSpec.model_validate_json(job.spec_json))
        return self._compiled[job_index]

    def __getitem__(self, item: tuple[int, int]) -> tuple[int, int, torch.Tensor, str]:
        job_index, pos = item
        job = self.jobs[job_index]
        idx = job.indices[pos]
        if self.inputs is not None:
            if self._memmap is None:
                self._memmap = np.load(self.inputs, mmap_mode="r")
            image = np.array(self._memmap[idx])
        else:
            try:
                image = load_image(self.paths[idx])
            except BadImage as exc:
                dtype = torch.uint8 if self.uint8 else torch.float32
                return job_index, pos, torch.zeros(3, self.image_size, self.image_size, dtype=dtype), str(exc)
        corruption = self.corruption(job_index)
        if corruption is not None:
            seed = corruption_seed(self.run_seed, self.ids[idx], corruption.name, job.severity)
            image = corruption(image, job.severity, seed)
        rgb = np.ascontiguousarray(to_rgb(image))
        if self.inputs is not None:
            return job_index, pos, uint8_chw(rgb), ""
        if self.geometry is not None:
            return job_index, pos, uint8_chw(self.geometry(rgb)), ""
        return job_index, pos, self.transform(rgb), ""


class CellBatches(Sampler[list[tuple[int, int]]]):
    """Batches of (job, position) that never straddle two cells."""

    def __init__(self, jobs: Sequence[CellJob], batch_size: int) -> None:
        self.jobs = jobs
        self.batch_size = batch_size

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for j, job in enumerate(self.jobs):
            for start in range(0, len(job.indices), self.batch_size):
                stop = min(start + self.batch_size, len(job.indices))
                yield [(j, p) for p in range(start, stop)]

    def __len__(self) -> int:
        return sum(-(-len(j.indices) // self.batch_size) for j in self.jobs)


def collate(
    batch: list[tuple[int, int, torch.Tensor, str]],
) -> tuple[int, list[int], torch.Tensor, list[str]]:
    job = batch[0][0]
    return job, [b[1] for b in batch], torch.stack([b[2] for b in batch]), [b[3] for b in batch]


def default_workers(device: torch.device) -> int:
    """Worker processes: on CUDA keep the GPU fed; on CPU one per core (at most 8), run at low
    priority (``WORKER_NICE``) so the encoder's threads win every contended core and the workers fill
    the gaps. Measured side by side on 2 quiet cores (``benchmarks/throughput.py --variants``,
    ViT-S-32, native resolution): 1 worker at equal priority reached 0.84 of the shared-core limit,
    1 nice worker 0.87, 2 nice workers 0.94, and an encoder shrunk to leave the workers a core 0.64."""
    cores = os.cpu_count() or 1
    if device.type == "cuda":
        return max(2, min(16, cores - 1))
    return max(1, min(8, cores))


#: CPU sharing while DataLoader workers run beside a CPU encoder (``benchmarks/throughput.py
#: --variants`` measures each choice side by side): the workers' niceness (0 = as the encoder)...
WORKER_NICE = 19
#: ...and whether the encoder keeps one torch thread per core ("all") or leaves the workers theirs
#: ("spare": cores - workers threads while the loader runs)
ENCODER_THREADS = "all"
PREFETCH = 4


def make_loader(dataset: CellImages, batch_size: int, workers: int, device: torch.device) -> DataLoader:
    """Workers come from a fork server (``robustlens.workers``), never a fork of this threaded
    process, and run single-threaded: see that module for the hang this prevents."""
    return DataLoader(
        dataset,
        batch_sampler=CellBatches(dataset.jobs, batch_size),
        num_workers=workers,
        collate_fn=collate,
        pin_memory=device.type == "cuda",
        prefetch_factor=PREFETCH if workers > 0 else None,
        persistent_workers=False,
        worker_init_fn=partial(start_worker, WORKER_NICE if device.type == "cpu" else 0) if workers else None,
        multiprocessing_context=worker_context(dataset.transform) if workers > 0 else None,
    )


def start_worker(nice: int, *args: object) -> None:
    """``init_worker`` (single-threaded libraries), then lower this worker's CPU priority by
    ``nice``: on a CPU run the encoder, not the workers, should win a contended core."""
    init_worker(*args)
    if nice:
        os.nice(nice)


def share_cores(batches: Iterable[T], workers: int, device: torch.device) -> Iterator[T]:
    """``batches`` of a DataLoader with ``workers`` processes feeding a CPU encoder. With
    ``ENCODER_THREADS = "spare"`` the encoder runs cores - workers torch threads (at least one)
    meanwhile, so encoder threads and workers do not oversubscribe the cores; restored afterwards."""
    before = torch.get_num_threads()
    if device.type == "cpu" and workers > 0 and ENCODER_THREADS == "spare":
        torch.set_num_threads(max(1, (os.cpu_count() or 1) - workers))
    try:
        yield from batches
    finally:
        torch.set_num_threads(before)


class InputsWriter:
    """Collects model-resolution uint8 copies from the clean pass into one .npy (memory-mapped by
    the workers); written under a temporary name and renamed when complete, so resume can trust it."""

    def __init__(self, path: Path, n: int) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.partial")
        self.n = n
        self.array: np.memmap | None = None

    def write(self, positions: list[int], pixels: torch.Tensor) -> None:
        if self.array is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            shape = (self.n, pixels.shape[2], pixels.shape[3], pixels.shape[1])
            self.array = np.lib.format.open_memmap(self.tmp, mode="w+", dtype=np.uint8, shape=shape)
        self.array[positions] = pixels.permute(0, 2, 3, 1).numpy()

    def finish(self) -> None:
        if self.array is None:
            return
        self.array.flush()
        self.array = None
        self.tmp.replace(self.path)
