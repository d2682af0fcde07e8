"""The Ray executor on a real local Ray instance (2 CPUs): same files as the local executor, a driver
killed mid-run resumes, a worker killed mid-shard is retried without duplicate records, and
failures are clear errors."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from robustlens.cli import main
from robustlens.errors import UserInputError
from robustlens.evaluation import ray_cluster
from robustlens.evaluation.engine_options import EngineOptions, _Silent
from robustlens.evaluation.loader import CellImages, CellJob
from robustlens.evaluation.ray_executor import encode_on_ray, plan_shards
from robustlens.schemas import AuditResult
from tests.fixtures import PLAN_YAML, textile_folder

MODEL = "demo:textile"


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray_cluster.release()
    ray.shutdown()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ray")
    plan = root / "plan.yaml"
    plan.write_text(PLAN_YAML)
    data = textile_folder(root / "data", per_class=4)
    local = root / "local"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ROBUSTLENS_CACHE", str(root / "cache-local"))
        assert main(eval_args(plan, data, local, "local")) == 0
    return {"plan": plan, "data": data, "local": local, "root": root}


def eval_args(plan: Path, data: Path, out: Path, executor: str, *extra: str) -> list[str]:
    return [
        "eval", "--plan", str(plan), "--data", str(data), "--model", MODEL, "--out", str(out),
        "--workers", "0", "--batch-size", "4", "--bootstrap", "100", "--executor", executor, *extra,
    ]  # fmt: skip


def assert_same_run(a: Path, b: Path) -> None:
    """Every stored cell (records and embeddings), text embedding and metric equal."""
    files = sorted(p.relative_to(a) for p in (a / "cells").rglob("*") if p.is_file())
    assert len(files) == 2 * 5, files  # clean + 2 specs x 2 severities, .jsonl and .npy each
    assert files == sorted(p.relative_to(b) for p in (b / "cells").rglob("*") if p.is_file())
    for f in [*files, *(p.relative_to(a) for p in (a / "text").iterdir())]:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    ra, rb = AuditResult.load(a / "result.json"), AuditResult.load(b / "result.json")
    assert ra.cells == rb.cells and ra.summary == rb.summary and ra.skipped == rb.skipped


def test_shards_align_to_batches() -> None:
    jobs = [CellJob(("a", 1.0), None, 1.0, tuple(range(10))), CellJob(("b", 1.0), None, 1.0, (0, 1))]
    shards = [(s.job, s.start, s.stop) for s in plan_shards(jobs, 3, 2)]
    assert shards == [(0, 0, 6), (0, 6, 10), (1, 0, 2)]


def test_worker_exception_names_the_model_cell_and_images(cluster: str, setup: dict[str, Path]) -> None:
    """Runs first: the encoder actor it starts is the one the next test's run reuses."""
    paths = sorted(str(p) for p in setup["data"].rglob("textile_*.jpg"))[:3]
    ids = [Path(p).name for p in paths]
    broken = functools.partial(np.reshape, shape=(7,))  # the preprocessing raises in the task
    job = CellJob(("fog", 3.0), None, 3.0, (0, 1, 2))
    dataset = CellImages([job], paths, ids, broken, 0, 224)
    runner = SimpleNamespace(options=EngineOptions(executor="ray"), progress=_Silent())
    with pytest.raises(UserInputError) as err:
        list(encode_on_ray(runner, SimpleNamespace(id=MODEL, embed_dim=128), dataset, 2))
    text = str(err.value)
    assert MODEL in text and "fog at severity 3" in text and ids[0] in text and "reshape" in text


def test_same_files_as_local_even_when_workers_die(
    cluster: str, setup: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A corruption task and an encoder actor each die mid-shard once (the test hook); the shards are
    retried and the run stores exactly the local executor's files, each record once."""
    monkeypatch.setenv("ROBUSTLENS_CACHE", str(tmp_path / "cache"))  # every embedding computed on Ray
    faults = tmp_path / "faults"
    faults.mkdir()
    monkeypatch.setenv(ray_cluster.FAULT_ENV, str(faults))
    out = tmp_path / "ray"
    assert main(eval_args(setup["plan"], setup["data"], out, "ray")) == 0
    assert sorted(p.name for p in faults.iterdir()) == ["actor", "task"], "both faults should fire"
    for records in (out / "cells").rglob("*.jsonl"):
        assert len(records.read_text().splitlines()) == 12, records
    assert_same_run(setup["local"], out)


def test_killed_driver_resumes_to_the_same_run(
    cluster: str, setup: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI, joining the running cluster by address, SIGKILLed after some cells; then resumed."""
    monkeypatch.setenv("ROBUSTLENS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(ray_cluster.FAULT_ENV, raising=False)
    out = tmp_path / "killed"
    args = eval_args(setup["plan"], setup["data"], out, "ray", "--ray-address", cluster)
    cmd = [sys.executable, "-m", "robustlens", *args]
    proc = subprocess.Popen(cmd, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not list((out / "cells").glob("*/noise/s1.jsonl")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert 0 < len(list((out / "cells").rglob("*.jsonl"))) < 5, "the kill should land mid-audit"
    assert not (out / "result.json").exists()
    assert main(args) == 0  # this process is connected already: the resumed driver
    assert_same_run(setup["local"], out)


def test_clear_errors_for_bad_settings(cluster: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UserInputError, match="the Ray cluster has none"):
        ray_cluster.encoder_pool(ray, MODEL, None, "cuda", True)
    monkeypatch.setenv(ray_cluster.ENCODERS_ENV, "two")
    with pytest.raises(UserInputError, match="ROBUSTLENS_RAY_ENCODERS='two'"):
        ray_cluster.encoder_pool(ray, MODEL, None, "cpu", True)
    assert not ray_cluster._pool, "no actor was started"
    with pytest.raises(UserInputError, match=r"127\.0\.0\.1:1"):
        ray_cluster._check_reachable("127.0.0.1:1")


def test_clear_errors_without_ray_or_with_device_corruption(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = SimpleNamespace(options=EngineOptions(executor="ray", corrupt_on="device"), progress=_Silent())
    with pytest.raises(UserInputError, match="--corrupt-on device is not available with --executor ray"):
        next(encode_on_ray(runner, SimpleNamespace(id=MODEL), CellImages([], [], [], str, 0, 224), 4))
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(UserInputError, match=r"robustlens\[ray\]"):
        ray_cluster.connect(None)


def test_on_ray_corruptions_stay_in_cpu_tasks_for_a_gpu_model() -> None:
    """``corrupt_on='auto'`` would put a GPU model's cells on the device path; on Ray they run in the
    CPU tasks, and the run folder must say so (not 'corrupted on cuda')."""
    import torch

    from robustlens.evaluation.device_path import model_on_device

    gpu_model = SimpleNamespace(image_transform=SimpleNamespace(splittable=True), device=torch.device("cuda"))
    assert model_on_device(EngineOptions(executor="local"), gpu_model)
    assert not model_on_device(EngineOptions(executor="ray"), gpu_model)
