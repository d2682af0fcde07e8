"""`robustlens evals run` end to end through the real entry point: offline, and against a scripted LLM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from robustlens.cli import main
from robustlens.cli.app import app
from robustlens.evals import load_scenarios, planted_cases, select_scenarios
from tests.agent.scripted_server import ScriptedLLM, message, tool_call

SCENARIOS = Path(__file__).resolve().parents[2] / "evals" / "scenarios"


@pytest.fixture(autouse=True)
def _no_llm_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("ROBUSTLENS_LLM_MODEL", "ROBUSTLENS_LLM_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COLUMNS", "200")


def test_offline_expert_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.json"
    two = ["--only", "mri_brain", "--only", "dashcam"]  # planning is ~0.5 s a brief: keep the test short
    rc = main(["evals", "run", "--scenarios", str(SCENARIOS), *two, "--seeds", "2", "--out", str(out)])
    printed = capsys.readouterr().out
    assert rc == 0
    assert "offline expert" in printed and "consistency" in printed and "recall" in printed
    report = json.loads(out.read_text())
    assert report["planner"] == "offline-expert" and report["seeds"] == 2 and report["temperature"] is None
    chosen = select_scenarios(load_scenarios(SCENARIOS), ["mri_brain", "dashcam"])
    assert [s["name"] for s in report["scenarios"] if s["paraphrase_of"] is None] == ["mri_brain", "dashcam"]
    assert len(report["scenarios"]) == sum(len(s.briefs()) for s in chosen), "one row per paraphrase too"
    assert all(len(s["runs"]) == 2 and s["validity"] == 1.0 for s in report["scenarios"])
    assert report["critic_eval"]["critic"] == "offline-rules"
    assert report["critic_eval"]["recall"] is not None and report["critic_eval"]["precision"] is not None


def test_unknown_scenario_is_a_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["evals", "run", "--scenarios", str(SCENARIOS), "--only", "mri_brian", "--out", "/dev/null"])
    assert rc == 2 and "mri_brain" in capsys.readouterr().err


def _spec(name: str, primitive: str) -> dict[str, object]:
    return {"name": name, "rationale": "scripted", "recipe": [{"name": primitive}]}


MRI_BAD = {  # rain on MRI: must be reported as a violation
    "specs": [
        _spec("bias", "mri_bias_field"),
        _spec("ghost", "mri_ghosting"),
        _spec("noise", "gaussian_noise"),
        _spec("storm", "rain"),
    ]
}
MRI_GOOD = {
    "specs": [
        _spec("bias", "mri_bias_field"),
        _spec("ghost", "mri_ghosting"),
        _spec("noise", "gaussian_noise"),
    ]
}
DASHCAM_GOOD = {
    "specs": [
        _spec("rain", "rain"),
        _spec("night", "low_light"),
        _spec("glare", "glare"),
        _spec("fog", "fog"),
    ]
}


def _without_paraphrases(folder: Path, names: list[str]) -> Path:
    """Copies of the named scenarios without paraphrases (one planner script per brief and seed)."""
    folder.mkdir(parents=True, exist_ok=True)
    for scenario in select_scenarios(load_scenarios(SCENARIOS), names):
        body = scenario.model_dump(mode="json", exclude={"paraphrases", "split"})
        (folder / f"{scenario.name}.yaml").write_text(yaml.safe_dump(body), encoding="utf-8")
    return folder


def test_scripted_llm_planner_and_critic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenarios = _without_paraphrases(tmp_path / "dev", ["mri_brain", "dashcam"])
    chosen = select_scenarios(load_scenarios(scenarios), ["mri_brain", "dashcam"])
    cases = [c for s in chosen for c in planted_cases(s)]
    verdicts = [  # a scripted critic that answers every planted case correctly
        message(json.dumps({"realistic": not c.unrealistic, "score": 0.9, "reasons": [c.why]})) for c in cases
    ]
    script = {
        "planner": [
            tool_call("propose_plan", MRI_BAD),  # mri_brain, seed 0
            tool_call("propose_plan", MRI_GOOD),  # mri_brain, seed 1
            tool_call("propose_plan", DASHCAM_GOOD),  # dashcam, seed 0
            tool_call("propose_plan", DASHCAM_GOOD),  # dashcam, seed 1
        ],
        "critic": verdicts,
    }
    out = tmp_path / "scripted.json"
    with ScriptedLLM(script) as server:
        args = ["evals", "run", "--scenarios", str(scenarios), "--only", "mri_brain", "--only", "dashcam"]
        args += [
            "--seeds",
            "2",
            "--llm-base-url",
            server.base_url,
            "--llm-model",
            "scripted",
            "--out",
            str(out),
        ]
        rc = main(args)
        routes = server.routes()
        planner_requests = [body for route, body, _ in server.requests if route == "planner"]
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert routes.count("planner") == 4 and routes.count("critic") == len(cases)
    assert all(body["temperature"] == 0.7 for body in planner_requests)  # K > 1: sampled runs
    report = json.loads(out.read_text())
    assert report["planner"] == "scripted" and report["temperature"] == 0.7
    assert report["usage"]["planner"]["calls"] == 4 and report["usage"]["critic"]["calls"] == len(cases)
    mri, dash = report["scenarios"]
    assert (mri["name"], dash["name"]) == ("mri_brain", "dashcam")
    assert mri["violations"] == 1 and "rain (family weather)" in mri["violation_messages"][0]
    assert mri["runs"][1]["violations"] == [] and mri["coverage"] == 1.0
    assert mri["consistency"] == pytest.approx(3 / 4) and mri["majority_plan"] == [
        "gaussian_noise",
        "mri_bias_field",
        "mri_ghosting",
    ]
    assert dash["violations"] == 0 and dash["coverage"] == 1.0 and dash["consistency"] == 1.0
    critic = report["critic_eval"]
    assert critic["critic"] == "scripted" and critic["errors"] == 0
    assert critic["precision"] == 1.0 and critic["recall"] == 1.0
    assert "violation" in printed and "rain" in printed


def test_scripted_planner_that_never_proposes_counts_as_invalid(tmp_path: Path) -> None:
    script = {"planner": [message("I would rather chat.")] * 8}
    out = tmp_path / "invalid.json"
    with ScriptedLLM(script) as server:
        scenarios = _without_paraphrases(tmp_path / "dev", ["mri_brain"])
        args = ["evals", "run", "--scenarios", str(scenarios), "--only", "mri_brain", "--seeds", "1"]
        args += ["--llm-base-url", server.base_url, "--llm-model", "scripted", "--out", str(out)]
        args += ["--critic-model", "unscripted"]
        # through the typer app itself: `main` does not yet pass a command's exit code on
        rc = app(args=[*args, "--strict"], standalone_mode=False)
    assert rc == 1
    report = json.loads(out.read_text())
    run = report["scenarios"][0]["runs"][0]
    assert (
        run["valid"] is False and report["scenarios"][0]["validity"] == 0.0 and report["temperature"] == 0.0
    )
    assert report["failed"] == ["mri_brain"]
    assert report["critic_eval"]["critic"] == "unscripted" and report["critic_eval"]["recall"] is None
    assert report["critic_eval"]["errors"] == len(
        report["critic_eval"]["cases"]
    )  # unusable replies, recorded
