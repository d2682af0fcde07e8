"""The evaluation engine end to end, through the real CLI, real files and real (tiny) open_clip models."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robustlens.cli import main
from robustlens.schemas import AuditResult
from tests.fixtures import PLAN_YAML, flat_folder, textile_folder, tiny_checkpoint

A, B = "openclip:rl-tiny-a", "openclip:rl-tiny-b"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("engine")
    plan = root / "plan.yaml"
    plan.write_text(PLAN_YAML)
    return {
        "plan": plan,
        "labelled": textile_folder(root / "labelled"),
        "flat": flat_folder(root / "flat"),
        "ckpt_a": tiny_checkpoint("rl-tiny-a", root / "a.pt", seed=1),
        "ckpt_b": tiny_checkpoint("rl-tiny-b", root / "b.pt", seed=2),
        "root": root,
    }


def eval_args(s: dict[str, Path], out: Path, data: str = "labelled", *extra: str) -> list[str]:
    return [
        "eval",
        "--plan",
        str(s["plan"]),
        "--data",
        str(s[data]),
        "--model",
        A,
        "--model",
        B,
        "--reference",
        B,
        "--checkpoint",
        f"{A}={s['ckpt_a']}",
        "--checkpoint",
        f"{B}={s['ckpt_b']}",
        "--out",
        str(out),
        "--workers",
        "0",
        "--bootstrap",
        "200",
        *extra,
    ]


def load(out: Path) -> AuditResult:
    return AuditResult.load(out / "result.json")


def test_two_model_labelled_audit(setup: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(eval_args(setup, out)) == 0
    result = load(out)
    assert result.labelled and result.models == [A, B] and result.reference_model == B
    assert len(result.cells) == 2 * (1 + 2 * 2)
    assert [s.path for s in result.skipped] == ["global/zz_broken.jpg"]
    for cell in result.cells:
        assert cell.n_images == 18
        expected = {"accuracy", "balanced_accuracy", "ece", "nll"}
        if cell.corruption != "clean":
            expected |= {"lfp", "cosine", "l2_drift", "confidence_drop", "accuracy_drop"}
        assert expected <= set(cell.metrics), cell.metrics.keys()
        for name, mv in cell.metrics.items():
            assert mv.ci_low is not None and mv.ci_low - 1e-9 <= mv.value <= mv.ci_high + 1e-9, (name, mv)
    model_a = result.summary["models"][A]
    assert {"mce", "relative_mce", "ce", "divergence_radius", "mean_corrupted"} <= set(model_a)
    assert result.summary["models"][B]["mce"]["value"] == pytest.approx(1.0)
    assert any(p["metric"] == "accuracy" and p["corruption"] == "noise" for p in result.summary["paired"])
    records = (out / "cells").rglob("s3.jsonl")
    rows = [json.loads(x) for x in next(iter(records)).read_text().splitlines()]
    assert len(rows) == 18 and {"id", "label", "pred", "conf", "cos", "l2", "clean_pred"} <= set(rows[0])


def test_unlabeled_folder_gives_label_free_metrics(setup: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "flat"
    assert main(eval_args(setup, out, "flat")) == 0
    result = load(out)
    assert not result.labelled
    corrupted = [c for c in result.cells if c.corruption != "clean"]
    assert all({"cosine", "l2_drift"} <= set(c.metrics) and "accuracy" not in c.metrics for c in corrupted)
    assert "divergence_radius" in result.summary["models"][A]
    out2 = tmp_path / "flat_names"
    assert (
        main([*eval_args(setup, out2, "flat"), "--labels", "none", "--class-names", "person,animal,object"])
        == 0
    )
    assert all("lfp" in c.metrics for c in load(out2).cells if c.corruption != "clean")


def test_rerun_skips_finished_cells_and_is_identical(setup: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(eval_args(setup, out)) == 0
    before = (out / "result.json").read_bytes()
    timings = (out / "timings.jsonl").read_text()
    assert main(eval_args(setup, out)) == 0
    assert (out / "timings.jsonl").read_text() == timings, "finished cells were recomputed"
    assert (out / "result.json").read_bytes() == before


def test_same_inputs_same_files(setup: dict[str, Path], tmp_path: Path) -> None:
    for name in ("x", "y"):
        assert main(eval_args(setup, tmp_path / name, "labelled", "--fresh")) == 0
    for f in (tmp_path / "x" / "cells").rglob("*.jsonl"):
        assert f.read_bytes() == (tmp_path / "y" / f.relative_to(tmp_path / "x")).read_bytes()


def test_changed_plan_refuses_to_mix_results(setup: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(eval_args(setup, out)) == 0
    other = tmp_path / "other.yaml"
    other.write_text(PLAN_YAML.replace("seed: 5", "seed: 6"))
    args = eval_args(setup, out)
    args[args.index(str(setup["plan"]))] = str(other)
    assert main(args) == 2
    assert main([*args, "--fresh"]) == 0
    assert load(out).seed == 6


def test_killed_run_resumes_to_the_same_summary(setup: dict[str, Path], tmp_path: Path) -> None:
    """A real process, really killed (SIGKILL) mid-audit, then re-run (in this process: the resume
    reads only what the killed one left on disk, and a second process start costs seconds): same
    summary as uninterrupted."""
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "HF_HUB_OFFLINE": "1"}
    reference = tmp_path / "uninterrupted"
    assert main(eval_args(setup, reference)) == 0

    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "robustlens", *eval_args(setup, out)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not list((out / "cells").glob("*rl-tiny-a*/noise/s1.jsonl")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    done_before = sorted(p.relative_to(out).as_posix() for p in (out / "cells").rglob("*.jsonl"))
    assert 0 < len(done_before) < 10, "the kill should land mid-audit"
    assert not (out / "result.json").exists()

    assert main(eval_args(setup, out)) == 0
    a, b = load(reference), load(out)
    assert a.cells == [c.model_copy(update={"records_path": c.records_path}) for c in b.cells]
    assert a.summary == b.summary
    assert a.skipped == b.skipped
    for f in (reference / "cells").rglob("*.jsonl"):
        assert f.read_bytes() == (out / f.relative_to(reference)).read_bytes()
    assert not list(out.rglob(".*.tmp")), "no temporary files left behind"


def test_captioned_manifest_gives_retrieval_recall(setup: dict[str, Path], tmp_path: Path) -> None:
    rows = ["path,caption"]
    for n, path in enumerate(sorted(setup["labelled"].rglob("textile_*.jpg"))[:8]):
        rows.append(
            f"{path.relative_to(setup['labelled']).as_posix()},fabric sample number {n} from the loom"
        )
    (setup["labelled"] / "captions.csv").write_text("\n".join(rows) + "\n")
    args = eval_args(setup, tmp_path / "ret")
    args[args.index(str(setup["labelled"]))] = str(setup["labelled"] / "captions.csv")
    assert main(args) == 0
    result = load(tmp_path / "ret")
    for cell in result.cells:
        assert {"i2t_r1", "i2t_r5", "t2i_r10"} <= set(cell.metrics)
        assert 0 <= cell.metrics["i2t_r1"].value <= cell.metrics["i2t_r5"].value <= 1


def test_corrupt_at_model_resolution(setup: dict[str, Path], tmp_path: Path) -> None:
    """Corrupting the resized model input (ImageNet-C style): same cells, skips recorded, resumable."""
    out = tmp_path / "model_res"
    args = [*eval_args(setup, out), "--corrupt-at", "model"]
    assert main(args) == 0
    result = load(out)
    assert [s.path for s in result.skipped] == ["global/zz_broken.jpg"]
    assert all(c.n_images == 18 for c in result.cells)
    assert not (out / "inputs").exists(), "model-resolution copies are removed once the audit is complete"
    native = tmp_path / "native"
    assert main(eval_args(setup, native)) == 0
    clean_model = load(out).cell(A, "clean", 0.0)
    clean_native = load(native).cell(A, "clean", 0.0)
    assert clean_model.metrics["accuracy"] == clean_native.metrics["accuracy"], "clean images are identical"
    blur_model, blur_native = load(out).cell(A, "blur", 3.0), load(native).cell(A, "blur", 3.0)
    assert blur_model.metrics["cosine"].value < blur_native.metrics["cosine"].value, (
        "a defocus sized for 224 px hurts more on the 64 px model input than on the 250 px original"
    )
    (out / "cells" / "openclip_rl-tiny-a" / "noise" / "s3.jsonl").unlink()
    before = (out / "result.json").read_bytes()
    assert main(args) == 0
    assert (out / "result.json").read_bytes() == before, (
        "recomputing a cell at model resolution is reproducible"
    )


def test_extending_a_plan_computes_only_new_cells(setup: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(eval_args(setup, out)) == 0
    before = len((out / "timings.jsonl").read_text().splitlines())
    bigger = tmp_path / "bigger.yaml"
    bigger.write_text(PLAN_YAML.replace("severities: [1, 3]", "severities: [1, 2, 3]"))
    args = eval_args(setup, out)
    args[args.index(str(setup["plan"]))] = str(bigger)
    assert main(args) == 0
    after = (out / "timings.jsonl").read_text().splitlines()
    assert len(after) - before == 2 * 2, "one new severity x 2 corruptions x 2 models"
    assert {c.severity for c in load(out).cells} == {0.0, 1.0, 2.0, 3.0}
    changed = tmp_path / "changed.yaml"
    changed.write_text(PLAN_YAML.replace("gaussian_noise", "shot_noise"))
    args[args.index(str(bigger))] = str(changed)
    assert main(args) == 2, "a changed recipe under an existing name must not reuse its cells"


def test_no_readable_image_is_a_clear_error_before_anything_is_written(tmp_path: Path) -> None:
    from robustlens.data.sources import open_images
    from robustlens.errors import UserInputError
    from robustlens.evaluation.engine import evaluate
    from robustlens.schemas import CorruptionPlan

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.png").symlink_to("/proc/self/mem")  # a regular file whose reads fail
    images = open_images(tmp_path / "data")
    plan = CorruptionPlan.from_yaml(PLAN_YAML)
    with pytest.raises(UserInputError, match="None of the images can be read") as err:
        evaluate(plan, images, [A], tmp_path / "run")
    assert "a.png: file cannot be read" in err.value.why
    assert not (tmp_path / "run").exists()
