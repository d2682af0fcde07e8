"""What runs on the Ray cluster: the connection, the CPU corruption task and the encoder actors.

Design (issue 15): corruption and preprocessing run in stateless CPU tasks (one per shard of a
cell), whose pixel batches go into Ray's object store; encoders are actors that load the model
once and encode shards taken from the object store, one actor per GPU (``num_gpus=1``), or on a
cluster without GPUs a configurable number of single-CPU actors. So the encoders never spend time
corrupting, the CPU work spreads over every node, and a lost worker costs one shard: tasks are
retried (``max_retries``), actors restarted with their pending calls retried
(``max_restarts``/``max_task_retries``). Ray is optional: imported here only, on first use.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Any

import numpy as np

from robustlens.errors import UserInputError
from robustlens.evaluation.loader import CellImages

RETRIES = 3  # a killed task or actor is retried this many times before the run fails
# Test hook (tests/evaluation/test_ray_executor.py): a folder. The first corruption task and the
# first encoder call that find no marker file ``task`` / ``actor`` in it create it and kill their
# own process mid-shard (os._exit), as a crashed or pre-empted worker would. Unset: no effect.
FAULT_ENV = "ROBUSTLENS_RAY_FAULT"
# Encoder actors on a cluster without GPUs (default: half the cluster's CPUs, at least one).
ENCODERS_ENV = "ROBUSTLENS_RAY_ENCODERS"

_remote: dict[str, Any] = {}


def import_ray() -> Any:
    """The ``ray`` module, or a clear error when the optional dependency is missing."""
    try:
        import ray
    except ImportError:
        raise UserInputError(
            "--executor ray needs Ray, which is not installed.",
            why="Ray is an optional dependency of robustlens.",
            fix="pip install 'robustlens[ray]' (or use --executor local, the default).",
            field="executor",
        ) from None
    return ray


def connect(address: str | None) -> Any:
    """Ray, initialised once per process: ``auto`` joins the cluster of a running ``ray start``, a
    ``host:port`` (or ``ray://host:port``) joins that one, None starts a local instance sized to this
    machine. A process that already initialised Ray keeps its connection."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    if address and address != "auto":
        _check_reachable(address)
    # Every worker error is turned into a UserInputError by the driver; without this, shards still
    # in flight when it is raised print their own tracebacks as "unhandled" errors.
    os.environ.setdefault("RAY_IGNORE_UNHANDLED_ERRORS", "1")
    try:
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.ERROR,
        )
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        where = f"at {address!r}" if address else "(a local instance)"
        raise UserInputError(
            f"Cannot connect to the Ray cluster {where}.",
            why=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            fix="Start the head node with `ray start --head` (then --ray-address auto), give the "
            "head's host:port, or leave --ray-address unset to start a local instance.",
            field="ray_address",
        ) from None
    return ray


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """A plain TCP connect first: Ray itself retries an unreachable address for minutes."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            return
    except (OSError, ValueError) as exc:
        raise UserInputError(
            f"Cannot connect to the Ray cluster at {address!r}.",
            why=f"nothing answers there ({exc})." if port.isdigit() else "an address is host:port or auto.",
            fix="Check the head node's address (`ray status` on the head prints it), or use "
            "--ray-address auto on a node of the cluster.",
            field="ray_address",
        ) from None


def _fault_once(folder: str | None, kind: str) -> None:
    if not folder:
        return
    marker = Path(folder) / kind
    try:
        marker.touch(exist_ok=False)
    except FileExistsError:
        return
    os._exit(1)  # the process dies mid-shard: Ray must retry the shard elsewhere


def prepare_shard(
    dataset: CellImages, job_index: int, start: int, stop: int, fault: str | None
) -> tuple[np.ndarray, dict[int, str]]:
    """CPU task: decode, corrupt and preprocess positions [start, stop) of one cell.

    Returns the pixel batch (uint8 or float32, exactly what the local DataLoader would collate) and
    the per-position errors of unreadable images (zeros in their place, as locally)."""
    from robustlens.workers import init_worker

    init_worker()  # single-threaded OpenCV/torch, as in the local DataLoader workers
    pixels, errors = [], {}
    for pos in range(start, stop):
        if pos == start + 1:
            _fault_once(fault, "task")
        _, _, image, error = dataset[(job_index, pos)]
        pixels.append(image.numpy())
        if error:
            errors[pos] = error
    return np.stack(pixels), errors


class Encoder:
    """Actor: one model, loaded once, encoding shards in the engine's batches."""

    def __init__(self, model_id: str, checkpoint: str | None, device: str, amp: bool, threads: int) -> None:
        os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
        import torch

        from robustlens.models import load_model
        from robustlens.quiet import apply_in_worker

        apply_in_worker()
        torch.set_num_threads(threads)
        self.model = load_model(model_id, checkpoint, device, amp)

    def encode(self, pixels: np.ndarray, batch: int, fault: str | None) -> np.ndarray:
        """Float32 embeddings of a shard; batches start at the shard's start (a batch multiple)."""
        import torch

        out = []
        for i in range(0, len(pixels), batch):
            if i > 0:
                _fault_once(fault, "actor")
            # a copy: arrays from the object store are read-only, and torch wants writable memory
            out.append(self.model.encode_images(torch.from_numpy(np.array(pixels[i : i + batch]))))
        return np.concatenate(out)


def remote_prepare(ray: Any) -> Any:
    if "prepare" not in _remote:
        _remote["prepare"] = ray.remote(num_cpus=1, max_retries=RETRIES, num_returns=2)(prepare_shard)
    return _remote["prepare"]


class EncoderPool:
    """The encoder actors of one model; kept between the clean pass and the cells of a model."""

    def __init__(self, ray: Any, key: tuple[Any, ...], actors: list[Any]) -> None:
        self.ray, self.key, self.actors = ray, key, actors
        self.load = [0] * len(actors)

    def pick(self) -> int:
        """The actor with the fewest shards in flight."""
        return min(range(len(self.actors)), key=lambda i: self.load[i])

    def kill(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)


_pool: list[EncoderPool] = []


def encoder_pool(ray: Any, model_id: str, checkpoint: str | None, device: str, amp: bool) -> EncoderPool:
    """Encoder actors for a model: one per GPU (``device`` auto/cuda and the cluster has GPUs), else
    ``ROBUSTLENS_RAY_ENCODERS`` single-CPU actors (default half the CPUs), leaving CPUs to the tasks."""
    resources = ray.cluster_resources()
    gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 0))
    wants_gpu = device == "auto" or device.startswith("cuda")
    if device.startswith("cuda") and not gpus:
        raise UserInputError(
            f"--device {device} asks for GPUs, but the Ray cluster has none.",
            fix="Use --device auto (CPU encoders) or add GPU nodes to the cluster.",
            field="device",
        )
    if cpus < 2:
        raise UserInputError(
            f"The Ray cluster has {cpus} CPU(s); the Ray executor needs at least 2.",
            why="encoders and corruption tasks each hold a CPU.",
            fix="Start Ray with more CPUs (ray start --num-cpus N) or use --executor local.",
            field="executor",
        )
    if wants_gpu and gpus:
        count, options = gpus, {"num_gpus": 1, "num_cpus": 1}
        actor_device = "cuda"
    else:
        requested = os.environ.get(ENCODERS_ENV, "").strip()
        if requested and not (requested.isdigit() and int(requested) > 0):
            raise UserInputError(
                f"{ENCODERS_ENV}={requested!r} is not a number of encoder actors.",
                fix=f"Set {ENCODERS_ENV} to a whole number >= 1, or unset it (half the cluster's CPUs).",
                field="executor",
            )
        count = int(requested) if requested else max(1, cpus // 2)
        count, options, actor_device = min(count, cpus - 1), {"num_cpus": 1}, "cpu"
    key = (model_id, checkpoint, actor_device, amp, count)
    if _pool and _pool[0].key == key:
        return _pool[0]
    release()
    cls = ray.remote(max_restarts=RETRIES, max_task_retries=RETRIES, **options)(Encoder)
    actors = [cls.remote(model_id, checkpoint, actor_device, amp, 1) for _ in range(count)]
    _pool.append(EncoderPool(ray, key, actors))
    return _pool[0]


def release() -> None:
    """Give the encoder actors (and their GPUs) back to the cluster."""
    while _pool:
        _pool.pop().kill()
