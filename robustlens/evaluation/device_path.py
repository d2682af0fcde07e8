"""Corruptions on the model's device (issue 14): decode and resize once, corrupt and encode on the device.

An audit encodes every corrupted image once, so on a GPU the CPU-side corruption in DataLoader
workers, not the encoder, sets the pace. On the device path each valid image is decoded and
resized/cropped to the model input once (the ``corrupt_at='model'`` copies, ``inputs/*.npy``), held
as a uint8 tensor on the device for all cells of the model (streamed from the memory map in chunks
when it does not fit :data:`RESIDENT_BUDGET`), and every batch is corrupted by the device kernels
(``robustlens.corruptions.device``) and encoded where it lies. Corrupting the model input is the
ImageNet-C protocol (Hendrycks & Dietterich, ICLR 2019); the device path therefore always corrupts at
model resolution, and the run records it ("corrupted on: cuda, at model resolution").

``corrupt_on`` per model: ``cpu`` never; ``device`` always (a transform that cannot be split into
geometry + normalisation, or a spec primitive without a kernel, is a ``UserInputError`` before any
cell is computed); ``auto`` when the model is on CUDA/MPS and its transform is splittable, and then
per job: specs whose primitives all have kernels run on the device, the others in DataLoader workers
over the same model-resolution copies. Seeds are the CPU path's (``corruption_seed`` per image) and
batches never straddle cells, so a cell is identical fresh or resumed on one device type.
"""

from __future__ import annotations

import contextlib
import copy
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from robustlens.corruptions.compiler import compile_spec
from robustlens.corruptions.device import corrupt_batch, missing_kernels
from robustlens.corruptions.seeding import corruption_seed
from robustlens.errors import UserInputError
from robustlens.evaluation.engine_options import EngineOptions, f16
from robustlens.evaluation.loader import CellImages, CellJob
from robustlens.models.base import pick_device
from robustlens.schemas import CorruptionPlan, CorruptionSpec

ACCELERATORS = ("cuda", "mps")
# Bytes of model-resolution images held on the device; None: a quarter of free GPU memory on CUDA,
# 2 GiB elsewhere. Above it, batches are read from the memory map (pinned, copied asynchronously).
RESIDENT_BUDGET: int | None = None
# Corrupt the next batch in a background thread while this one encodes (None: on CUDA only; on CPU
# the two would compete for the same cores).
PREFETCH: bool | None = None

Encoded = tuple[CellJob, np.ndarray, dict[int, str], float]


def run_site(options: EngineOptions) -> str | None:
    """The run identity's ``corrupt_on``: ``device:<type>`` when corrupted cells may run on the device,
    None otherwise (so run folders made before the device path existed still resume)."""
    if options.corrupt_on == "cpu" or (options.executor == "ray" and options.corrupt_on == "auto"):
        return None  # on Ray, corruptions run in CPU tasks (see ray_executor)
    kind = pick_device(options.device).type
    if options.corrupt_on == "device" or kind in ACCELERATORS:
        return f"device:{kind}"
    return None


def check_kernels(plan: CorruptionPlan, corrupt_on: str) -> None:
    """With ``--corrupt-on device``, every primitive of every spec needs a device kernel."""
    if corrupt_on != "device":
        return
    missing = sorted({name for spec in plan.specs for name in missing_kernels(spec)})
    if missing:
        raise UserInputError(
            f"--corrupt-on device: no device kernel for {', '.join(missing)}.",
            why="these primitives exist only as CPU (numpy) implementations so far.",
            fix="Use --corrupt-on auto (device where kernels exist, CPU workers otherwise) or cpu.",
            field="corrupt_on",
        )


def model_on_device(options: EngineOptions, model: Any) -> bool:
    """Whether this model's corrupted cells run in device mode (at model resolution)."""
    if options.corrupt_on == "cpu" or (options.executor == "ray" and options.corrupt_on == "auto"):
        return False  # on Ray, corruptions run in CPU tasks (see ray_executor)
    splittable = bool(getattr(model.image_transform, "splittable", False))
    if options.corrupt_on == "device" and not splittable:
        raise UserInputError(
            f"--corrupt-on device is not available for {model.id}.",
            why="its preprocessing cannot be split into resize/crop (once) and normalisation (on device).",
            fix="Use --corrupt-on auto or cpu for this model.",
            field="corrupt_on",
        )
    return splittable and (options.corrupt_on == "device" or model.device.type in ACCELERATORS)


def record_site(runner: Any, model: Any, on_device: bool, cpu_specs: Sequence[str] = ()) -> None:
    """Note in the manifest where this model's corruptions ran (the report's Reproducibility section)."""
    manifest = runner.store.read_manifest() or {}
    sites = dict(manifest.get("corruption_sites") or {})
    resolution = "model" if on_device or runner.options.corrupt_at == "model" else "native"
    site: dict[str, Any] = {
        "on": "device" if on_device else "workers",  # device kernels, or DataLoader worker processes
        "device": model.device.type,
        "resolution": resolution,
    }
    old = sites.get(model.id) or {}
    specs = sorted({*old.get("cpu_specs", []), *cpu_specs}) if on_device else []
    if specs:
        site["cpu_specs"] = specs
    if sites.get(model.id) != site:
        sites[model.id] = site
        runner.store.update_manifest(corruption_sites=sites)


def device_mode(runner: Any, model: Any) -> bool:
    """:func:`model_on_device`, recorded in the run's manifest (called once per model, before its cells)."""
    on_device = model_on_device(runner.options, model)
    record_site(runner, model, on_device)
    return on_device


def use_device_path(runner: Any, model: Any, dataset: CellImages) -> bool:
    """Whether this dataset's jobs go through :func:`encode_on_device`: corrupted cells over the
    model-resolution copies of a model in device mode (the clean pass stays on the local path)."""
    if dataset.inputs is None or all(job.spec_json is None for job in dataset.jobs):
        return False
    return model_on_device(runner.options, model)


class DeviceImages:
    """The model-resolution uint8 images (N, 3, H, W), resident on the device or streamed."""

    def __init__(self, path: str, device: torch.device, budget: int | None = None) -> None:
        self.path = path
        self.device = device
        self.array = np.load(path, mmap_mode="r")  # (N, H, W, 3) uint8
        n, h, w, _ = self.array.shape
        self.resident: torch.Tensor | None = None
        if self.array.nbytes <= (budget if budget is not None else _budget(device)):
            self.resident = torch.empty((n, 3, h, w), dtype=torch.uint8, device=device)
            for start in range(0, n, 256):
                self.resident[start : start + 256] = self._read(np.arange(start, min(n, start + 256)))

    def _read(self, rows: np.ndarray) -> torch.Tensor:
        if len(rows) and rows[-1] - rows[0] == len(rows) - 1 and bool(np.all(np.diff(rows) == 1)):
            chunk = np.array(self.array[rows[0] : rows[-1] + 1])  # a contiguous slice: one read
        else:
            chunk = np.array(self.array[rows])
        host = torch.from_numpy(chunk).permute(0, 3, 1, 2)
        if self.device.type == "cuda":
            return host.contiguous().pin_memory().to(self.device, non_blocking=True)
        return host.to(self.device).contiguous()

    def take(self, rows: Sequence[int]) -> torch.Tensor:
        index = np.asarray(rows, dtype=np.int64)
        if self.resident is None:
            return self._read(index)
        if len(index) and index[-1] - index[0] == len(index) - 1 and bool(np.all(np.diff(index) == 1)):
            return self.resident[int(index[0]) : int(index[-1]) + 1]
        return self.resident[torch.from_numpy(index).to(self.device)]


def _budget(device: torch.device) -> int:
    if RESIDENT_BUDGET is not None:
        return RESIDENT_BUDGET
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free // 4)
    return 2 << 30


def device_images(runner: Any, inputs: str, device: torch.device) -> DeviceImages:
    """One resident copy per runner and model input (adaptive rounds call the engine repeatedly)."""
    cached = getattr(runner, "_device_images", None)
    if cached is None or cached.path != inputs or cached.device != device:
        runner._device_images = None  # free the previous model's copy first
        cached = runner._device_images = DeviceImages(inputs, device)
    return cached


def _spec(job: CellJob) -> CorruptionSpec:
    assert job.spec_json is not None
    return CorruptionSpec.model_validate_json(job.spec_json)


def encode_on_device(
    runner: Any, model: Any, dataset: CellImages, batch: int, workers: int = 0
) -> Iterator[Encoded]:
    """Yield (job, f16 embeddings, {}, seconds) per job, in job order, like ``_encode_local``.

    Jobs whose spec lacks a kernel (``auto`` only; ``device`` refuses them before anything runs) and
    clean jobs go through the DataLoader over the same model-resolution copies."""
    assert dataset.inputs is not None
    on_device = [job.spec_json is not None and not missing_kernels(_spec(job)) for job in dataset.jobs]
    local = sorted(
        {_spec(j).name for j, d in zip(dataset.jobs, on_device, strict=True) if not d and j.spec_json}
    )
    if local and runner.options.corrupt_on == "device":
        names = sorted({n for j in dataset.jobs if j.spec_json for n in missing_kernels(_spec(j))})
        raise UserInputError(
            f"--corrupt-on device: no device kernel for {', '.join(names)}.",
            fix="Use --corrupt-on auto (device where kernels exist, CPU workers otherwise) or cpu.",
            field="corrupt_on",
        )
    record_site(runner, model, True, local)
    images = device_images(runner, dataset.inputs, model.device)
    start = 0
    while start < len(dataset.jobs):  # consecutive runs of one kind, so jobs are yielded in order
        stop = start + 1
        while stop < len(dataset.jobs) and on_device[stop] == on_device[start]:
            stop += 1
        if on_device[start]:
            yield from _device_jobs(runner, model, dataset, images, dataset.jobs[start:stop], batch)
        else:
            part = copy.copy(dataset)
            part.jobs, part._compiled = dataset.jobs[start:stop], {}
            yield from runner._encode_local(model, part, batch, workers)
        start = stop


def _device_jobs(
    runner: Any, model: Any, dataset: CellImages, images: DeviceImages, jobs: list[CellJob], batch: int
) -> Iterator[Encoded]:
    """Corrupt and encode batch after batch without waiting for the device: the features stay on it
    until the cell is complete, then are checked and copied to the host once (``_cell_embeddings``)."""
    began = time.perf_counter()
    parts: list[tuple[Sequence[int], torch.Tensor, torch.Tensor | None]] = []
    source = _corrupted(dataset, images, jobs, batch)
    ahead = PREFETCH if PREFETCH is not None else model.device.type == "cuda"
    for job, rows, pixels in _ahead(source, model.device) if ahead else source:
        parts.append((rows, *_features(model, pixels)))
        runner.progress.advance(len(rows))
        if sum(len(r) for r, _, _ in parts) == len(job.indices):
            emb = _cell_embeddings(model, dataset, images, job, parts)
            now = time.perf_counter()
            yield job, f16(emb), {}, now - began
            parts, began = [], now


def _features(model: Any, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One batch's image features, left on the device (``encode_images`` without its host copy and
    checks), and under fp16 autocast a device flag: whether they are all finite."""
    with torch.inference_mode():
        x = model._normalise_on_device(pixels) if pixels.dtype == torch.uint8 else pixels
        with model.autocast():
            feats = model._encode_images(x)
        finite = torch.isfinite(feats).all() if model._half() else None
    return feats.float(), finite


def _cell_embeddings(
    model: Any,
    dataset: CellImages,
    images: DeviceImages,
    job: CellJob,
    parts: list[tuple[Sequence[int], torch.Tensor, torch.Tensor | None]],
) -> np.ndarray:
    """The cell's unit embeddings on the host: one synchronisation per cell instead of per batch.

    As ``encode_images``: a batch whose fp16 features overflowed is encoded again in fp32 (its
    corrupted pixels rebuilt from the same seeds, so the same bytes), and zero or non-finite
    embeddings are refused by ``model._unit``."""
    flags = [f for _, _, f in parts if f is not None]
    if flags and not bool(torch.stack(flags).all()):
        compiled = compile_spec(_spec(job))
        for i, (rows, _, finite) in enumerate(parts):
            if finite is not None and not bool(finite):
                pixels = _corrupt(dataset, images, job, compiled, rows)
                with torch.inference_mode():
                    feats = model._encode_images(model._normalise_on_device(pixels).float())
                parts[i] = (rows, feats.float(), None)
    return np.asarray(model._unit(torch.cat([f for _, f, _ in parts]), "image"))


def _corrupt(
    dataset: CellImages, images: DeviceImages, job: CellJob, compiled: Any, rows: Sequence[int]
) -> torch.Tensor:
    seeds = [corruption_seed(dataset.run_seed, dataset.ids[i], compiled.name, job.severity) for i in rows]
    with torch.inference_mode():
        return corrupt_batch(compiled, images.take(rows), job.severity, seeds)


def _corrupted(
    dataset: CellImages, images: DeviceImages, jobs: list[CellJob], batch: int
) -> Iterator[tuple[CellJob, Sequence[int], torch.Tensor]]:
    """(job, rows, corrupted uint8 batch) in order, in the local path's batch boundaries."""
    for job in jobs:
        compiled = compile_spec(_spec(job))
        for first in range(0, len(job.indices), batch):
            rows = job.indices[first : first + batch]
            yield job, rows, _corrupt(dataset, images, job, compiled, rows)


def _ahead(
    source: Iterator[tuple[CellJob, Sequence[int], torch.Tensor]], device: torch.device, depth: int = 2
) -> Iterator[tuple[CellJob, Sequence[int], torch.Tensor]]:
    """``source`` run ``depth`` batches ahead in a thread (on CUDA on a side stream), so corrupting
    batch k+1 overlaps encoding batch k instead of waiting for its result to reach the host."""
    items: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    stream = torch.cuda.Stream(device) if device.type == "cuda" else None
    if stream is not None:
        stream.wait_stream(torch.cuda.current_stream(device))  # the resident images are written

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            with torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext():
                for item in source:
                    event = torch.cuda.Event() if stream is not None else None
                    if event is not None:
                        event.record(stream)
                    if not put((item, event)):
                        return
        except BaseException as exc:  # re-raised in the consumer
            put((exc, None))
        put((None, None))

    thread = threading.Thread(target=work, name="robustlens-corrupt-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, event = items.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            if event is not None:
                torch.cuda.current_stream(device).wait_event(event)
                item[2].record_stream(torch.cuda.current_stream(device))
            yield item
    finally:
        stop.set()
        thread.join()
