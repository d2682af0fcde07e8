"""The public Python API, called for real: a light ``import robustlens``, ``corrupt`` on a sample
image, ``evaluate`` with the demo model on a few textile images, user mistakes raising the CLI's
``UserInputError``, and the README's "Python API" block executed as written (so it cannot rot)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import robustlens
from robustlens import UserInputError
from robustlens.corruptions import single
from tests.fixtures import PLAN_YAML, textile_folder

REPO = Path(__file__).resolve().parents[1]
FOG_PLAN = {"severities": [2], "specs": [{"name": "fog", "recipe": [{"name": "fog"}]}]}


def test_import_is_light_and_keeps_the_audit_module() -> None:
    """``import robustlens`` loads no torch/numpy/pydantic; names resolve on first use; the stage
    module ``robustlens.audit`` is not shadowed by any API function."""
    script = (
        "import json, sys, robustlens\n"
        "names = ('torch', 'numpy', 'pydantic', 'open_clip', 'robustlens.api')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "from robustlens import audit\n"
        "print(json.dumps({'heavy': heavy, 'audit': audit.__name__, 'all': robustlens.__all__}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["heavy"] == [], f"`import robustlens` imported {got['heavy']}"
    assert got["audit"] == "robustlens.audit"
    for name in ("run", "evaluate", "corrupt", "load_brief", "load_plan", "write_report", "AuditResult"):
        assert name in got["all"]
    assert "audit" not in got["all"]
    for name in robustlens.__all__:
        assert getattr(robustlens, name) is not None, name
    with pytest.raises(AttributeError):
        robustlens.no_such_name  # noqa: B018
    assert (REPO / "robustlens" / "py.typed").is_file()


def test_corrupt_matches_the_cli_primitive_and_accepts_every_input_form(
    tmp_path: Path, samples: list[np.ndarray]
) -> None:
    image = samples[0][:96, :128]
    out = robustlens.corrupt(image, "fog", severity=2.5, seed=7)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.array_equal(out, single("fog")(image, 2.5, 7)), "the same pixels as the CLI's path"
    assert np.array_equal(out, robustlens.corrupt(image, "fog", 2.5, seed=7)), "deterministic"
    assert not np.array_equal(out, image)
    assert np.array_equal(robustlens.corrupt(image, "fog", severity=0), image), "severity 0 = identity"

    path = tmp_path / "photo.png"
    Image.fromarray(image).save(path)
    spec = {"name": "foggy", "recipe": [{"name": "fog"}]}
    assert np.array_equal(robustlens.corrupt(str(path), spec, 2.5, seed=7), out)
    assert np.array_equal(
        robustlens.corrupt(Image.open(path), robustlens.CorruptionSpec(**spec), 2.5, 7), out
    )
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text("name: foggy\nrecipe: [{name: fog}]\n")
    assert np.array_equal(robustlens.corrupt(path, str(spec_file), 2.5, seed=7), out)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda img: robustlens.corrupt(img.astype(np.float32), "fog"), "image"),
        (lambda img: robustlens.corrupt(img[:, :, :2], "fog"), "image"),
        (lambda img: robustlens.corrupt([[1, 2]], "fog"), "image"),
        (lambda img: robustlens.corrupt("/no/such/photo.png", "fog"), "image"),
        (lambda img: robustlens.corrupt(img, "fgo"), "name"),
        (lambda img: robustlens.corrupt(img, "fog", severity=7), "severity"),
        (lambda img: robustlens.corrupt(img, "fog", severity=float("nan")), "severity"),
        (lambda img: robustlens.corrupt(img, "fog", seed=1.5), "seed"),
        (
            lambda img: robustlens.corrupt(
                img, {"name": "x", "recipe": [{"name": "fog", "params": {"density": 9}}]}
            ),
            None,
        ),
        (lambda img: robustlens.load_plan("/no/such/plan.yaml"), "plan"),
        (lambda img: robustlens.load_brief(42), "brief"),
        (lambda img: robustlens.write_report("/no/such/run"), "run_dir"),
        (
            lambda img: robustlens.evaluate({"specs": "nope"}, "demo:textile", "demo:textile", "/tmp/x"),
            "specs",
        ),
        (lambda img: robustlens.evaluate(FOG_PLAN, "demo:textile", [], "/tmp/x"), "models"),
        (lambda img: robustlens.run({"domain": "x", "models": []}), "models"),
        (lambda img: robustlens.run({"domain": 3}), "domain"),
    ],
)
def test_user_mistakes_raise_the_cli_error(call, field: str | None, samples: list[np.ndarray]) -> None:
    with pytest.raises(UserInputError) as err:
        call(samples[0][:64, :64])
    assert err.value.what, "says what was wrong"
    if field is not None:
        assert field in (err.value.field or "") + err.value.what, (field, err.value.field, err.value.what)


def test_evaluate_a_folder_with_the_demo_model_then_report(tmp_path: Path) -> None:
    data = textile_folder(tmp_path / "images", per_class=2)
    plan_path = tmp_path / "plan.yaml"
    plan_path.write_text(PLAN_YAML)
    out = tmp_path / "run"
    result = robustlens.evaluate(plan_path, data, "demo:textile", out, workers=0, bootstrap=20, device="cpu")
    assert isinstance(result, robustlens.AuditResult)
    plan = robustlens.load_plan(plan_path)
    expected = {("clean", 0.0)} | {(s.name, float(v)) for s in plan.specs for v in plan.severities}
    assert {(c.corruption, c.severity) for c in result.cells} == expected
    assert all(c.model_id == "demo:textile" and c.n_images == 6 for c in result.cells)
    assert any(s.path.endswith("zz_broken.jpg") for s in result.skipped), "the broken file is a recorded skip"
    assert robustlens.AuditResult.load(out / "result.json") == result
    paths = robustlens.write_report(out, formats=["md", "json"])
    assert sorted(paths) == ["json", "md"] and paths["md"].is_file()
    again = robustlens.evaluate(
        str(plan_path), str(data), ["demo:textile"], str(out), workers=0, bootstrap=20
    )
    assert [c.metrics for c in again.cells] == [c.metrics for c in result.cells], "a re-run resumes"


def _readme_block() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the Python API section has one runnable example"
    return blocks[0]


def test_readme_python_api_example_runs_as_written(tmp_path: Path) -> None:
    """The README block, executed in a fresh interpreter in an empty folder: it evaluates, reports and
    runs the offline agent audit end to end, leaving the files it promises."""
    (tmp_path / "example.py").write_text(_readme_block())
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "NO_ALBUMENTATIONS_UPDATE": "1"}
    env.pop("ROBUSTLENS_LLM_BASE_URL", None)
    env.pop("ROBUSTLENS_LLM_MODEL", None)
    proc = subprocess.run(
        [sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "fog 2.0" in proc.stdout
    assert (tmp_path / "runs/api-eval/report/report.md").is_file()
    assert (tmp_path / "runs/api-audit/report/report.html").is_file()
    assert "offline-expert ->" in proc.stdout, proc.stdout
