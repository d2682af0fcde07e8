"""--oracle-facts: plan with the scenario's expected chain facts confirmed, to measure planning alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from robustlens.cli import main
from robustlens.evals import load_scenarios, run_evals
from robustlens.evals.runner import with_oracle_facts

# the brief says MRI, the scenario asserts CT: inference and the oracle disagree, so the plans differ
BRIEF = {
    "domain": "brain MRI",
    "imaging_setup": "1.5 T clinical MRI scanners, T1-weighted axial slices exported as grayscale PNG",
    "deployment_conditions": ["patient head motion"],
    "models": ["demo:textile"],
    "budget": {"max_corruptions": 4},
}
SCENARIO = {
    "name": "told_ct",
    "brief": BRIEF,
    "rules": {"must_include_any": [["xray_low_dose"]]},
    "expect_facts": {"sensor": ["ct"], "modality": "tomographic", "sky_in_view": False},
    "paraphrases": [{"description": "tumour triage on axial slices"}],
}


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "dev"
    root.mkdir()
    (root / "told_ct.yaml").write_text(yaml.safe_dump(SCENARIO), encoding="utf-8")
    return root


def test_oracle_facts_override_inference_for_every_brief(folder: Path) -> None:
    (scenario,) = load_scenarios(folder)
    oracle = with_oracle_facts(scenario)
    assert all(
        b.chain == {"sensor": ["ct"], "modality": "tomographic", "sky_in_view": False}
        for b in oracle.briefs()
    )
    assert scenario.brief.chain == {}, "the scenario itself is not changed"

    plain = run_evals([scenario], seeds=1, critic="none")
    told = run_evals([scenario], seeds=1, critic="none", oracle_facts=True)
    assert not plain.oracle_facts and told.oracle_facts
    # inferred as MRI: no CT quantum mottle; with the facts confirmed, every brief plans it
    assert plain.splits[0].missing_groups == 2
    assert told.splits[0].missing_groups == 0 and told.splits[0].passed == 1
    assert all("xray_low_dose" in r.runs[0].primitives for r in told.scenarios)
    assert not any("mri_ghosting" in r.runs[0].primitives for r in told.scenarios)
    # routing still scores what inference got right from the brief as written
    assert told.splits[0].routing == plain.splits[0].routing == 0.0


def test_cli_flag(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("ROBUSTLENS_LLM_MODEL", "ROBUSTLENS_LLM_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    out = tmp_path / "r.json"
    args = ["evals", "run", "--scenarios", str(folder), "-k", "1", "--out", str(out)]
    assert main([*args, "--oracle-facts"]) == 0
    report = json.loads(out.read_text())
    assert report["oracle_facts"] is True and report["splits"][0]["missing_groups"] == 0
