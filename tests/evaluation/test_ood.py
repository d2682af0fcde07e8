"""OOD detection under corruption end to end: a real `robustlens eval --ood demo:natural` run of the
demo model on a handful of demo images, its stored section, report and errors; the section survives
what rewrites result.json (a rebuild from the cells, a resume without ``--ood``), the engine's loaded
model encodes the OOD set (one load per model), and a brief's ``ood:`` works through ``robustlens
run`` (offline expert) and the Python API."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from robustlens.cli import main
from robustlens.evaluation.engine_options import EngineOptions
from robustlens.evaluation.ood import attach_ood, ood_section
from robustlens.evaluation.rebuild import load_result
from robustlens.evaluation.store import RunStore
from robustlens.report.context import build_context
from robustlens.report.html import render_html
from robustlens.report.markdown import render_markdown
from robustlens.schemas import AuditResult

PLAN = """
seed: 3
severities: [5]
specs:
  - name: blur
    rationale: defocus
    recipe: [{name: defocus_blur}]
"""


def _args(plan: Path, out: Path, *extra: str) -> list[str]:
    base = ["eval", "-p", str(plan), "-d", "demo:textile", "-m", "demo:textile", "-o", str(out), "-j", "0"]
    return [*base, "--max-images", "9", "--bootstrap", "50", *extra]


LOADS: list[str] = []  # model ids, one per real load_model call made by the module's --ood run


def counting_loads(mp: pytest.MonkeyPatch, loads: list[str]) -> None:
    """Count every real model load (the engine's and the OOD encoder's), then load as usual."""
    import robustlens.evaluation.engine as engine
    import robustlens.models as models

    real = models.load_model

    def load_model(model_id: str, *args, **kwargs):
        loads.append(model_id)
        return real(model_id, *args, **kwargs)

    mp.setattr(models, "load_model", load_model)
    mp.setattr(engine, "load_model", load_model)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ood")
    (root / "plan.yaml").write_text(PLAN, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        counting_loads(mp, LOADS)
        assert main(_args(root / "plan.yaml", root / "run", "--ood", "demo:natural")) == 0
    return root / "run"


def test_eval_prints_one_ood_sentence_per_model(run: Path, capsys) -> None:
    assert main(_args(run.parent / "plan.yaml", run, "--ood", "demo:natural")) == 0  # resumes: no work
    out = " ".join(capsys.readouterr().out.split())
    assert "OOD: demo:textile (MCM (max concept matching)) tells demo:natural from clean images" in out


def test_eval_with_ood_stores_the_section(run: Path) -> None:
    result = AuditResult.load(run / "result.json")
    section = result.summary["ood"]
    assert section["source"] == "demo:natural" and section["n_ood"] == 18
    scores = section["models"]["demo:textile"]
    assert set(scores) == {"mcm", "knn"}
    cells = {(c["corruption"], c["severity"]): c for c in scores["mcm"]["cells"]}
    assert set(cells) == {("clean", 0.0), ("blur", 5.0)}
    clean = cells[("clean", 0.0)]
    n = len(json.loads((run / "images.json").read_text())["images"])
    assert clean["n_id"] == n >= 6
    # the demo model knows textiles: natural photos match its fabric prompts worse than fabric does
    assert clean["auroc"]["value"] > 0.5
    for c in [*scores["mcm"]["cells"], *scores["knn"]["cells"]]:
        for m in ("auroc", "fpr95"):
            assert 0.0 <= c[m]["ci_low"] <= c[m]["value"] <= c[m]["ci_high"] <= 1.0
    assert scores["knn"]["n_bank"] + scores["knn"]["cells"][0]["n_id"] == n  # bank and ID query split
    assert len(json.loads((run / "ood" / "demo_textile.json").read_text())["ids"]) == 18
    # post hoc and deterministic: recomputed from the stored embeddings, the same section
    again = ood_section(
        RunStore(run), result.plan, ["demo:textile"], "demo:natural", section["fingerprint"], 50
    )
    assert again == json.loads(json.dumps(section))


def test_report_has_the_ood_section(run: Path) -> None:
    ctx = build_context(run)
    md = render_markdown(ctx)
    page = render_html(ctx)
    assert '<h2 id="ood">OOD detection under corruption</h2>' in page and 'href="#ood"' in page
    assert "## OOD detection under corruption" in md
    assert "demo:textile (MCM (max concept matching)) tells demo:natural from clean images" in md


def test_missing_ood_folder_is_a_clear_error_before_the_run(tmp_path: Path, capsys) -> None:
    (tmp_path / "plan.yaml").write_text(PLAN, encoding="utf-8")
    out = tmp_path / "run"
    assert main(_args(tmp_path / "plan.yaml", out, "--ood", str(tmp_path / "nowhere"))) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "OOD image set not found" in err and "Traceback" not in err
    assert not out.exists()


def test_brief_and_api_check_the_ood_set_before_anything_runs(tmp_path: Path) -> None:
    import robustlens
    from robustlens.audit import open_brief_images
    from robustlens.errors import UserInputError
    from robustlens.schemas import DomainBrief, ImageSource

    nowhere = str(tmp_path / "nowhere")
    brief = DomainBrief(domain="textile", image_source=ImageSource(kind="demo", path="textile"), ood=nowhere)
    with pytest.raises(UserInputError, match="OOD image set not found") as err:
        open_brief_images(brief)
    assert err.value.field == "ood"
    (tmp_path / "plan.yaml").write_text(PLAN, encoding="utf-8")
    with pytest.raises(UserInputError, match="OOD image set not found"):
        robustlens.evaluate(
            tmp_path / "plan.yaml", "demo:textile", "demo:textile", tmp_path / "run", ood=nowhere
        )
    assert not (tmp_path / "run").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserInputError, match=r"OOD image set .*No images found"):
        open_brief_images(brief.model_copy(update={"ood": str(empty)}))


SENTENCE = "demo:textile (MCM (max concept matching)) tells demo:natural from clean images"


def _copy(run: Path, dest: Path) -> Path:
    shutil.copytree(run, dest, ignore=shutil.ignore_patterns(".robustlens.lock"))
    return dest


def test_ood_section_survives_a_rebuild_and_a_resume_without_ood(run: Path, tmp_path: Path) -> None:
    section = AuditResult.load(run / "result.json").summary["ood"]
    assert json.loads((run / "ood.json").read_text())["section"] == section  # stored apart
    copy = _copy(run, tmp_path / "run")
    (copy / "result.json").write_text("{ damaged", encoding="utf-8")
    assert load_result(copy).summary["ood"] == section  # rebuilt from the cells + ood.json
    assert AuditResult.load(copy / "result.json").summary["ood"] == section
    assert SENTENCE in render_markdown(build_context(copy))
    # resume without --ood after losing a cell: the engine re-summarises, the run keeps its OOD set
    next((copy / "cells").rglob("s5.jsonl")).unlink()
    assert main(_args(run.parent / "plan.yaml", copy)) == 0
    assert AuditResult.load(copy / "result.json").summary["ood"] == section


def test_the_engine_model_encodes_the_ood_set_once(run: Path, tmp_path: Path, monkeypatch) -> None:
    assert LOADS == ["demo:textile"]  # the module's `eval --ood` run: one load, the engine's
    # the old way, for comparison: OOD attached to the finished run afterwards loads the model again
    # (the engine does not load a finished model) and encodes without the embedding cache
    other = _copy(run, tmp_path / "run")
    shutil.rmtree(other / "ood")
    (other / "ood.json").unlink()
    loads: list[str] = []
    counting_loads(monkeypatch, loads)
    options = EngineOptions(use_cache=False, n_boot=50, workers=0)
    result = attach_ood(AuditResult.load(other / "result.json"), other, "demo:natural", options)
    assert loads == ["demo:textile"]
    assert result.summary["ood"] == AuditResult.load(run / "result.json").summary["ood"]  # the same numbers


def _brief(tmp_path: Path) -> Path:
    brief = {
        "domain": "textile production line",
        # label-free (no prompts to encode: the agent's cheapest path); MCM is pinned by the eval run above
        "image_source": {"kind": "demo", "path": "demo:textile"},
        "models": ["demo:textile"],
        "deployment_conditions": ["focus drift"],  # plans defocus blur, which passes validation
        "budget": {"max_corruptions": 1, "severities": [4], "max_images": 9, "max_iterations": 0},
        "ood": "demo:natural",
    }
    path = tmp_path / "brief.yaml"
    path.write_text(json.dumps(brief), encoding="utf-8")
    return path


def _check(result: AuditResult, out: Path) -> None:
    section = result.summary["ood"]
    assert result.plan.planner == "offline-expert" and section["source"] == "demo:natural"
    assert set(section["models"]["demo:textile"]) == {"knn"}  # no class prompts: the kNN score only
    cells = section["models"]["demo:textile"]["knn"]["cells"]
    assert len(cells) == 2 and cells[0]["corruption"] == "clean"  # clean + the one planned cell
    assert json.loads((out / "ood.json").read_text())["section"] == section
    assert "## OOD detection under corruption" in (out / "report" / "report.md").read_text()


def test_brief_ood_through_robustlens_run_and_the_api(tmp_path: Path, monkeypatch) -> None:
    import robustlens

    monkeypatch.delenv("ROBUSTLENS_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("ROBUSTLENS_LLM_MODEL", raising=False)
    brief = _brief(tmp_path)
    assert main(["run", str(brief), "--out", str(tmp_path / "cli"), "--workers", "0"]) == 0
    _check(AuditResult.load(tmp_path / "cli" / "result.json"), tmp_path / "cli")
    result = robustlens.run(brief, out=tmp_path / "api", workers=0)
    _check(result, tmp_path / "api")
