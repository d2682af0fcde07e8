"""Splits, routing and paraphrase consistency on a small tmp folder of scenarios, planned for real."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from robustlens.cli import main
from robustlens.evals import load_scenarios, run_evals

MRI = {
    "domain": "brain MRI",
    "imaging_setup": "1.5 T clinical MRI scanners, T1-weighted axial slices exported as grayscale PNG",
    "deployment_conditions": ["patient head motion", "older scanners with low signal-to-noise ratio"],
    "models": ["demo:textile"],
    "budget": {"max_corruptions": 4},
}
DASHCAM = {
    "domain": "dashcam on delivery vans",
    "imaging_setup": "windshield camera recording compressed video while driving outdoors",
    "deployment_conditions": ["rain", "night driving"],
    "models": ["demo:textile"],
    "budget": {"max_corruptions": 4},
}
RULES = {"must_not": {"weather": "no weather inside a scanner bore"}}


def _write(folder: Path, name: str, brief: dict, **extra: object) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    body = {"name": name, "brief": brief, **extra}
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(body), encoding="utf-8")


@pytest.fixture()
def suite(tmp_path: Path) -> Path:
    root = tmp_path / "scenarios"
    same = {"domain": "brain MRI", "description": "tumour triage on axial brain MRI slices"}
    # the same deployment in other words: a good planner keeps the plan
    _write(root / "dev", "mri_steady", MRI, rules=RULES, paraphrases=[same])
    # a "paraphrase" that is really another deployment: the plans differ, consistency drops
    other = {k: DASHCAM[k] for k in ("domain", "imaging_setup", "deployment_conditions")}
    _write(root / "dev", "mri_drifting", MRI, rules=RULES, paraphrases=[other])
    _write(root / "heldout", "dashcam_vans", DASHCAM, expect_facts={"scene": ["outdoor"]})
    _write(root / "heldout", "dashcam_wrong", DASHCAM, expect_facts={"scene": ["underwater"]})
    return root


def test_split_is_the_folder_and_loading_is_recursive(suite: Path) -> None:
    found = {s.name: s.split for s in load_scenarios(suite)}
    assert found == {
        "mri_drifting": "dev",
        "mri_steady": "dev",
        "dashcam_vans": "heldout",
        "dashcam_wrong": "heldout",
    }


def test_paraphrase_rows_and_consistency(suite: Path) -> None:
    report = run_evals(load_scenarios(suite / "dev"), seeds=2, critic="none")
    rows = {r.name: r for r in report.scenarios}
    assert set(rows) == {"mri_drifting", "mri_drifting~1", "mri_steady", "mri_steady~1"}
    assert rows["mri_steady"].paraphrase_consistency == 1.0
    assert rows["mri_drifting"].paraphrase_consistency < 0.5
    drifted = rows["mri_drifting~1"]
    assert drifted.paraphrase_of == "mri_drifting" and drifted.paraphrase_consistency is None
    # the dashcam plan of the drifting paraphrase is scored against the MRI rules: weather is a violation
    assert drifted.violations > 0 and rows["mri_drifting"].violations == 0
    (dev,) = report.splits
    assert dev.split == "dev" and dev.scenarios == 2 and dev.rows == 4
    assert dev.passed == 1, "a failing paraphrase fails its scenario"
    assert dev.violations == len(drifted.violation_messages) == drifted.violations / 2, "once per row"
    assert dev.consistency_min == rows["mri_drifting"].paraphrase_consistency
    assert dev.consistency_mean == pytest.approx((1.0 + dev.consistency_min) / 2)
    assert all(len(r.runs) == 2 for r in report.scenarios)


def test_routing_counts_wrong_expected_facts(suite: Path) -> None:
    report = run_evals(load_scenarios(suite), seeds=1, critic="none")
    heldout = next(s for s in report.splits if s.split == "heldout")
    assert heldout.routed == 2 and heldout.routing == 0.5
    assert list(heldout.routing_mismatches) == ["dashcam_wrong"]
    assert "scene" in heldout.routing_mismatches["dashcam_wrong"][0]
    dev = next(s for s in report.splits if s.split == "dev")
    assert dev.routed == 0 and dev.routing is None, "scenarios without expect_facts are not counted"
    assert [s.split for s in report.splits] == ["dev", "heldout", "all"]


def test_split_option_and_scenarios_option(
    suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for var in ("ROBUSTLENS_LLM_MODEL", "ROBUSTLENS_LLM_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evals").mkdir()
    suite.rename(tmp_path / "evals" / "scenarios")  # the default location, relative to the working dir
    out = tmp_path / "r.json"
    assert main(["evals", "run", "--split", "heldout", "--seeds", "1", "--out", str(out)]) == 0
    assert "Per split" in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert {r["split"] for r in report["scenarios"]} == {"heldout"}
    assert [s["split"] for s in report["splits"]] == ["heldout"]
    # --split picks its subfolder of a suite given with --scenarios (no held-out rows in a dev run) ...
    root = tmp_path / "evals" / "scenarios"
    assert main(["evals", "run", "--split", "dev", "--scenarios", str(root), "--out", str(out)]) == 0
    assert {r["split"] for r in json.loads(out.read_text())["scenarios"]} == {"dev"}
    # ... and a folder without that split is taken whole
    dev = tmp_path / "evals" / "scenarios" / "dev"
    assert main(["evals", "run", "--split", "heldout", "--scenarios", str(dev), "--out", str(out)]) == 0
    assert {r["split"] for r in json.loads(out.read_text())["scenarios"]} == {"dev"}
    assert main(["evals", "run", "--split", "test", "--out", str(out)]) == 2
    assert "Unknown split" in capsys.readouterr().err


def test_severity_breaches_are_counted_once_per_row() -> None:
    from robustlens.evals.runner import score_run, score_scenario
    from robustlens.evals.scenarios import Scenario
    from robustlens.evals.splits import summarize_split
    from robustlens.schemas import CorruptionPlan, CorruptionSpec, PrimitiveCall

    scenario = Scenario.model_validate(
        {"name": "skewed", "brief": MRI, "rules": {"severity_bounds": {"scan_skew": 3}}, "split": "dev"}
    )
    plan = CorruptionPlan(specs=[CorruptionSpec(name="skew", recipe=[PrimitiveCall(name="scan_skew")])])
    row = score_scenario(scenario, [score_run(k, plan, scenario) for k in range(3)])
    assert row.severity_breaches == 3 and len(row.runs[0].severity_breaches) == 1
    summary = summarize_split("dev", [row])
    assert summary.severity_breaches == 1 and summary.violations == 1 and summary.passed == 0


def test_llm_plans_each_brief_once_per_seed(suite: Path) -> None:
    from robustlens.llm.client import LLMClient, LLMConfig
    from tests.agent.scripted_server import ScriptedLLM, tool_call

    def plan(*primitives: str) -> dict:
        return tool_call(
            "propose_plan", {"specs": [{"name": p, "recipe": [{"name": p}]} for p in primitives]}
        )

    # brief seed 0, brief seed 1, paraphrase seed 0, paraphrase seed 1
    script = [plan("mri_bias_field", "mri_ghosting"), plan("mri_bias_field")]
    script += [plan("mri_bias_field", "mri_ghosting"), plan("rain")]
    (steady,) = [s for s in load_scenarios(suite / "dev") if s.name == "mri_steady"]
    with ScriptedLLM({"planner": script}) as server:
        client = LLMClient(LLMConfig(base_url=server.base_url, model="p", api_key="k", max_retries=0))
        report = run_evals([steady], client, seeds=2, critic="none")
        assert server.routes().count("planner") == 4
    base, para = report.scenarios
    assert [r.primitives for r in para.runs] == [["mri_bias_field", "mri_ghosting"], ["rain"]]
    assert para.violations == 1 and base.violations == 0  # rain in a scanner bore, scored as its own row
    assert base.paraphrase_consistency == pytest.approx((1.0 + 0.0) / 2)  # seed 0 same plan, seed 1 disjoint
