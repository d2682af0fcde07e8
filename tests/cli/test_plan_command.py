"""`robustlens plan` through the real entry point: offline, a scripted LLM, a failing LLM, bad briefs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from robustlens.cli import main
from robustlens.userfiles import load_specs
from tests.agent.scripted_server import ScriptedLLM, error, message, tool_call

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "windshield_camera.yaml"


@pytest.fixture(autouse=True)
def _no_llm_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("ROBUSTLENS_LLM_MODEL", "ROBUSTLENS_LLM_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COLUMNS", "200")


def test_offline_plan_json_and_plan_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plan.yaml"
    assert main(["plan", str(EXAMPLE), "--out", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)  # stdout is exactly one JSON object
    assert {"chain_facts", "plan", "verdicts"} <= set(doc)
    names = [s["name"] for s in doc["plan"]["specs"]]
    assert names and [v["spec"] for v in doc["verdicts"]] == names
    assert all(v["critic"] == "offline-rules" for v in doc["verdicts"])
    brief_words = " ".join(str(v) for v in yaml.safe_load(EXAMPLE.read_text()).values()).lower()
    evidence = doc["chain_facts"]["evidence"]
    assert evidence and all(p.lower() in brief_words for e in evidence for p in e["phrases"]), (
        "quotes the brief"
    )
    assert all(s["rationale"] for s in doc["plan"]["specs"])
    assert {c["spec"] for c in doc["caps"]} == set(names)
    # the file is what `robustlens eval --plan` reads, and it is the plan shown
    _, plan = load_specs(out)
    assert plan is not None and plan.model_dump(mode="json") == doc["plan"]


def test_human_output_shows_facts_rationales_caps_and_verdicts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(EXAMPLE)]) == 0
    text = capsys.readouterr().out
    assert "What I understood" in text and "Planner: offline" in text and '<- "' in text
    assert "capped at" in text and "(default" in text, "ladder ends are compared with the registry default"
    assert "realistic" in text and "offline-rules" in text


def test_rationales_read_as_paragraphs_on_an_80_column_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each rationale is printed whole (wrapped, not cut into a table column beside other columns)."""
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["plan", str(EXAMPLE), "--json"]) == 0
    specs = json.loads(capsys.readouterr().out)["plan"]["specs"]
    assert main(["plan", str(EXAMPLE)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines if line.startswith("    ")) <= 80
    flat = " ".join(" ".join(lines).split())
    for k, spec in enumerate(specs, 1):
        assert f"{k}. {spec['name']}" in flat
        assert "why: " + " ".join(spec["rationale"].split()) in flat, spec["name"]


def test_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--help"]) == 0
    assert "robustlens plan examples/" in capsys.readouterr().out


def test_missing_and_invalid_briefs_are_user_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", str(tmp_path / "nope.yaml")]) == 2
    assert "File not found" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"domain": "dashcam", "budget": {"max_corruptions": 0}}), encoding="utf-8")
    assert main(["plan", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "max_corruptions" in err and "Traceback" not in err


def test_a_misspelt_field_names_the_field_meant(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """ "Extra inputs are not permitted" alone leaves the user to guess the right name: the closest
    known field is named, at the top level and inside a nested section (budget)."""
    brief = yaml.safe_load(EXAMPLE.read_text())
    brief["deployment_condition"] = brief.pop("deployment_conditions", ["fog"])
    brief.setdefault("budget", {})["max_corruption"] = 3
    typo = tmp_path / "typo.yaml"
    typo.write_text(yaml.safe_dump(brief), encoding="utf-8")
    assert main(["plan", str(typo)]) == 2
    err = " ".join(capsys.readouterr().err.replace("│", " ").split())
    assert "deployment_condition: Extra inputs are not permitted. Did you mean: deployment_conditions?" in err
    assert "budget.max_corruption: Extra inputs are not permitted. Did you mean: max_corruptions?" in err


def _llm_args(server: ScriptedLLM) -> list[str]:
    return ["--llm-base-url", server.base_url, "--llm-model", "planner-1", "--llm-timeout", "5"]


def test_llm_plan_is_used(capsys: pytest.CaptureFixture[str]) -> None:
    proposal = {"specs": [{"name": "wet", "rationale": "rain on the glass", "recipe": [{"name": "rain"}]}]}
    verdict = message('{"realistic": false, "score": 0.2, "reasons": ["scripted"]}')
    with ScriptedLLM({"planner": [tool_call("propose_plan", proposal)], "critic": [verdict]}) as server:
        assert main(["plan", str(EXAMPLE), "--json", *_llm_args(server)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in doc["plan"]["specs"]] == ["wet"] and doc["planner"] == "llm (planner-1)"
    assert doc["verdicts"][0]["critic"] == "planner-1" and doc["verdicts"][0]["realistic"] is False


def test_failing_llm_degrades_to_the_offline_expert_labelled(capsys: pytest.CaptureFixture[str]) -> None:
    refused = error(403, "request refused by policy")
    with ScriptedLLM({"planner": [refused] * 3, "critic": [refused] * 20}) as server:
        assert main(["plan", str(EXAMPLE), "--json", *_llm_args(server)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["planner"].startswith("offline-expert (stood in: LLM planning failed")
    assert doc["notes"] and "offline expert planned instead" in doc["notes"][0]
    assert all(v["critic"].startswith("offline-rules (LLM critic unavailable") for v in doc["verdicts"])
