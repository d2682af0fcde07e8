"""``--corrupt-on``: corruptions on the model's device, run on CPU torch through the real CLI.

The device path must work on CPU (slowly) so CI covers it: same cells fresh, resumed or streamed,
close to the CPU workers' cells at model resolution, and refused before anything is computed when a
primitive has no device kernel.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from robustlens.cli import main
from robustlens.corruptions.device import KERNELS, _load_kernels
from robustlens.evaluation import device_path
from robustlens.report.corruption_site import corruption_site
from robustlens.schemas import AuditResult
from tests.fixtures import PLAN_YAML, textile_folder, tiny_checkpoint

MODEL = "openclip:rl-tiny-a"  # 64 px input, random weights: fast; what matters is the images it sees


@pytest.fixture(scope="module", autouse=True)
def own_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """This module's runs share one embedding cache of their own. The session's cache may already hold
    these images' embeddings from another module's run of the same tiny model with other batch sizes,
    whose float sums differ in the last digits: the byte-for-byte comparisons here would then compare
    that module's arithmetic, not this path's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ROBUSTLENS_CACHE", str(tmp_path_factory.mktemp("device-path-cache")))
        yield


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("device_path")
    plan = root / "plan.yaml"
    plan.write_text(PLAN_YAML.replace("[1, 3]", "[3]"))  # gaussian_noise and defocus_blur at severity 3
    return {
        "plan": plan,
        "data": textile_folder(root / "data", per_class=3, broken=False),
        "ckpt": tiny_checkpoint("rl-tiny-a", root / "a.pt", seed=1),
        "root": root,
    }


def run(s: dict[str, Path], out: Path, *extra: str) -> int:
    return main(
        [
            "eval",
            "--plan",
            str(s["plan"]),
            "--data",
            str(s["data"]),
            "--model",
            MODEL,
            "--checkpoint",
            str(s["ckpt"]),
            "--out",
            str(out),
            "--workers",
            "0",
            "--bootstrap",
            "50",
            "--batch-size",
            "4",  # three batches per cell: per-batch work shows
            *extra,
        ]
    )


def cells(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted((out / "cells").rglob("*.jsonl"))}


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


DECODED: Counter[str] = Counter()  # image path -> decodes during the device run
HOST_ENCODES: list[int] = []  # batch sizes through ``encode_images`` (a host copy each) in that run


@pytest.fixture(scope="module")
def device_run(setup: dict[str, Path]) -> Path:
    """A device run on a cold embedding cache, counting every image decode (``load_image``) and
    every batch encoded through ``encode_images``."""
    from robustlens.evaluation import loader
    from robustlens.models.base import VisionLanguageModel

    real, encode = loader.load_image, VisionLanguageModel.encode_images

    def counting(path: str, *args: Any, **kwargs: Any) -> Any:
        DECODED[str(path)] += 1
        return real(path, *args, **kwargs)

    def counted(self: VisionLanguageModel, pixels: Any) -> Any:
        HOST_ENCODES.append(len(pixels))
        return encode(self, pixels)

    out = setup["root"] / "device"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loader, "load_image", counting)
        patch.setattr(VisionLanguageModel, "encode_images", counted)
        patch.setenv("ROBUSTLENS_CACHE", str(setup["root"] / "cold-cache"))
        assert run(setup, out, "--corrupt-on", "device") == 0
    return out


def test_device_mode_decodes_every_image_once(device_run: Path) -> None:
    """The clean pass's model-resolution pixels become the ``inputs`` copies the device kernels
    corrupt: one decode and resize per image, not a second pass for the copies (cold cache)."""
    assert len(DECODED) == 9 and set(DECODED.values()) == {1}, DECODED
    assert not (device_run / "inputs").exists(), "copies and the clean pass's scratch rows go with the run"


def test_device_cells_stay_on_the_device_until_written(device_run: Path) -> None:
    """Only the clean pass encodes batch by batch to the host (4 + 4 + 1 images); the device
    cells keep their features on the device and copy each cell to the host once."""
    assert HOST_ENCODES == [4, 4, 1]
    dev = AuditResult.load(device_run / "result.json")
    assert all(c.n_images == 9 for c in dev.cells) and len(dev.cells) == 3


@pytest.fixture(scope="module")
def cpu_model_run(setup: dict[str, Path]) -> Path:
    out = setup["root"] / "cpu_model"
    assert run(setup, out, "--corrupt-on", "cpu", "--corrupt-at", "model") == 0
    return out


def test_device_path_on_cpu_is_deterministic_streamed_or_prefetched(
    setup: dict[str, Path], device_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ident = manifest(device_run)
    assert ident["identity"]["corrupt_on"] == "device:cpu"
    assert ident["corruption_sites"][MODEL] == {"on": "device", "device": "cpu", "resolution": "model"}
    where = corruption_site(ident["identity"], ident["corruption_sites"])
    assert where == {"corrupt_at": "model", "corrupted_on": "cpu (device kernels), at model resolution"}
    monkeypatch.setattr(device_path, "RESIDENT_BUDGET", 0)  # not resident: batches from the memory map
    monkeypatch.setattr(device_path, "PREFETCH", True)  # corrupted a batch ahead in a thread (as on CUDA)
    again = tmp_path / "streamed"
    assert run(setup, again, "--corrupt-on", "device") == 0
    assert cells(again) == cells(device_run) and len(cells(again)) == 3


def test_device_cells_are_close_to_the_cpu_path_at_model_resolution(
    device_run: Path, cpu_model_run: Path
) -> None:
    dev, cpu = AuditResult.load(device_run / "result.json"), AuditResult.load(cpu_model_run / "result.json")
    assert cells(device_run) != cells(cpu_model_run), "equivalent kernels, not the numpy path itself"
    for cell in cpu.cells:
        other = dev.cell(MODEL, cell.corruption, cell.severity)
        assert other.n_images == cell.n_images == 9
        assert abs(other.metrics["accuracy"].value - cell.metrics["accuracy"].value) <= 2 / 9
        if cell.corruption != "clean":
            assert abs(other.metrics["cosine"].value - cell.metrics["cosine"].value) <= 0.05


def test_device_run_resumes_only_the_missing_cell(
    setup: dict[str, Path], device_run: Path, tmp_path: Path
) -> None:
    out = shutil.copytree(device_run, tmp_path / "resume")
    timings = (out / "timings.jsonl").read_text()
    (out / "cells" / "openclip_rl-tiny-a" / "blur" / "s3.jsonl").unlink()
    assert run(setup, out, "--corrupt-on", "device") == 0
    assert cells(out) == cells(device_run)
    summary = AuditResult.load(device_run / "result.json").summary
    assert AuditResult.load(out / "result.json").summary == summary
    new = (out / "timings.jsonl").read_text()[len(timings) :].splitlines()
    assert [json.loads(t)["corruption"] for t in new] == ["blur"]
    assert run(setup, out, "--corrupt-on", "cpu") == 2, "cpu cells must not be mixed into a device run"


def test_auto_on_cpu_is_the_cpu_path_and_resumes_old_folders(
    setup: dict[str, Path], cpu_model_run: Path, tmp_path: Path
) -> None:
    assert manifest(cpu_model_run)["identity"]["corrupt_on"] is None
    assert manifest(cpu_model_run)["corruption_sites"][MODEL]["on"] == "workers"
    out = shutil.copytree(cpu_model_run, tmp_path / "auto")
    legacy = manifest(out)
    del legacy["identity"]["corrupt_on"]  # a folder made before the device path existed
    (out / "manifest.json").write_text(json.dumps(legacy))
    (out / "cells" / "openclip_rl-tiny-a" / "noise" / "s3.jsonl").unlink()
    timings = (out / "timings.jsonl").read_text()
    assert run(setup, out, "--corrupt-at", "model") == 0  # auto, on a CPU-only machine
    assert cells(out) == cells(cpu_model_run), "auto on CPU recomputes the cell on the cpu path"
    assert len((out / "timings.jsonl").read_text()[len(timings) :].splitlines()) == 1


def test_device_without_a_kernel_is_refused_before_anything_runs(
    setup: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    _load_kernels()
    monkeypatch.delitem(KERNELS, "defocus_blur")
    out = tmp_path / "refused"
    assert run(setup, out, "--corrupt-on", "device") == 2
    err = capsys.readouterr().err
    assert "defocus_blur" in err and "--corrupt-on auto" in err
    assert not out.exists(), "refused before the run folder exists"


def test_auto_on_an_accelerator_mixes_device_and_worker_jobs(
    setup: dict[str, Path],
    device_run: Path,
    cpu_model_run: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """auto on a GPU, per job: specs with kernels on the device, the others in workers, all at
    model resolution (CPU stands in for the accelerator; defocus_blur pretends to lack a kernel)."""
    _load_kernels()
    monkeypatch.delitem(KERNELS, "defocus_blur")
    monkeypatch.setattr(device_path, "ACCELERATORS", ("cuda", "mps", "cpu"))
    out = tmp_path / "mixed"
    assert run(setup, out) == 0
    site = manifest(out)["corruption_sites"][MODEL]
    assert site["on"] == "device" and site["cpu_specs"] == ["blur"]
    assert main(["report", str(out), "--format", "md"]) == 0
    assert (
        "- **Corrupted on:** cpu (device kernels), at model resolution (blur in CPU worker processes: "
        "no device kernel)" in (out / "report" / "report.md").read_text()
    )
    got, dev, cpu = cells(out), cells(device_run), cells(cpu_model_run)
    for name, data in got.items():
        assert data == (cpu[name] if "/blur/" in name else dev[name]), name


def test_api_takes_and_checks_the_execution_arguments(
    setup: dict[str, Path], device_run: Path, tmp_path: Path
) -> None:
    import robustlens
    from robustlens.errors import UserInputError

    args = (setup["plan"], setup["data"], [MODEL])
    kwargs = {"checkpoints": {MODEL: setup["ckpt"]}, "workers": 0, "bootstrap": 50}
    for bad in ({"corrupt_on": "gpu"}, {"executor": "spark"}, {"target_ci_width": 2.0}):
        with pytest.raises(UserInputError) as err:
            robustlens.evaluate(*args, tmp_path / "bad", **kwargs, **bad)  # type: ignore[arg-type]
        assert err.value.field == next(iter(bad)) and not (tmp_path / "bad").exists()
    out = shutil.copytree(device_run, tmp_path / "api")
    timings = (out / "timings.jsonl").read_text()
    robustlens.evaluate(*args, out, **kwargs, corrupt_on="device")  # type: ignore[arg-type]
    assert (out / "timings.jsonl").read_text() == timings, "the device run's identity: resumed as is"
    with pytest.raises(UserInputError, match=r"changed: corrupt_on\)"):
        robustlens.evaluate(*args, out, **kwargs, corrupt_on="cpu")  # type: ignore[arg-type]


def test_an_fp16_overflow_is_encoded_again_in_fp32_when_the_cell_completes(
    setup: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As ``encode_images`` does per batch: under fp16 autocast a batch whose features overflow is
    encoded again in fp32, here once its cell is complete, from the same corrupted pixels (rebuilt
    from the seeds); the other batches keep their features."""
    import numpy as np

    from robustlens.evaluation.loader import CellImages, CellJob
    from robustlens.models import load_model
    from robustlens.schemas import CorruptionSpec, PrimitiveCall

    model = load_model(MODEL, setup["ckpt"], "cpu")
    pixels = np.random.default_rng(0).integers(0, 256, (5, 64, 64, 3), dtype=np.uint8)
    np.save(tmp_path / "inputs.npy", pixels)
    spec = CorruptionSpec(name="noise", recipe=[PrimitiveCall(name="gaussian_noise")])
    job = CellJob(("noise", 3.0), spec.model_dump_json(), 3.0, tuple(range(5)))
    ids = [f"img{n}" for n in range(5)]
    inputs = str(tmp_path / "inputs.npy")
    dataset = CellImages([job], [""] * 5, ids, model.image_transform, 0, 64, inputs=inputs)
    images = device_path.DeviceImages(inputs, model.device)
    batches = [(0, 1), (2, 3), (4,)]
    compiled = device_path.compile_spec(spec)
    corrupted = [device_path._corrupt(dataset, images, job, compiled, rows) for rows in batches]
    expected = np.concatenate([model.encode_images(p) for p in corrupted])
    real, dtypes = model._encode_images, []

    def overflowing(x: Any) -> Any:
        dtypes.append(x.dtype)
        return real(x) * (float("inf") if len(dtypes) == 2 else 1.0)  # the second batch, once

    monkeypatch.setattr(model, "_encode_images", overflowing)
    monkeypatch.setattr(model, "_half", lambda: True)
    parts = [(rows, *device_path._features(model, p)) for rows, p in zip(batches, corrupted, strict=True)]
    emb = device_path._cell_embeddings(model, dataset, images, job, parts)
    assert len(dtypes) == 4, "three batches and one fp32 re-encode"
    np.testing.assert_array_equal(emb, expected)
