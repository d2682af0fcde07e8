"""A broken LLM never ends a run: the offline expert and critic stand in, labelled, in bounded time.

The graph runs in-process against the scripted server (a real OpenAI-compatible HTTP server driven
through the real ``openai`` client); the end-to-end variants run ``robustlens run`` through the CLI's
``main`` with its LLM flags and default workers (the subprocess one with ``-j 0``), and read what the
user gets: the report, result.json, the manifest, the output. The never-answering endpoint runs as a
real subprocess under a process timeout (a hang must fail, not block); the other failure modes run
in-process, since a process start (imports, phrase model, fork server) costs more than the run and
proves nothing more about them.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from robustlens.agent.session import chat, run_brief
from robustlens.investigate.records import load_investigation
from robustlens.schemas import Budget
from tests.agent.scripted_server import ScriptedLLM, error, hang, message, raw, tool_call
from tests.agent.test_graph import GOOD_PLAN, REALISTIC, _llm_services, brief_for
from tests.fixtures import textile_folder, tiny_checkpoint

JUNK_VERDICT = message('{"realistic": "maybe", "score": 7}')


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("llm-failures")
    return {
        "images": textile_folder(root / "images", per_class=4),
        "ckpt": tiny_checkpoint("rl-tiny-a", root / "a.pt", seed=1),
    }


def _report_texts(run_dir: Path) -> str:
    return "\n".join(
        p.read_text() for p in (run_dir / "report").glob("report.*") if p.suffix in (".html", ".md")
    )


def test_an_unreadable_endpoint_leaves_the_whole_run_to_the_offline_expert(
    data: dict[str, Path], tmp_path: Path
) -> None:
    with ScriptedLLM({}, default=lambda route: raw('{"choices": [oops')) as server:
        lines: list[str] = []
        state = run_brief(brief_for(data), _llm_services(server, data, tmp_path), lines.append)
        sent = len(server.requests)
    assert sent == 1, "after the first unreadable body, nothing else is sent (circuit breaker)"
    assert state["planner"].startswith("offline-expert (stood in: LLM planning failed")
    assert any("LLM planning failed" in line and "offline expert planned instead" in line for line in lines)
    critic_notes = [line for line in lines if "offline rule critic judged instead" in line]
    assert critic_notes and "(not retried: " in critic_notes[0]
    assert critic_notes[0].count("(") == critic_notes[0].count(")"), "the note closes its brackets"
    assert all(
        v["critic"]["critic"].startswith("offline-rules (LLM critic unavailable") for v in state["validation"]
    )
    assert any("template summary stands in" in line for line in lines)
    report = _report_texts(tmp_path)
    assert "stood in: LLM planning failed" in report and "LLM critic unavailable" in report


def test_a_junk_critic_is_replaced_by_the_rule_critic_and_the_llm_plan_is_kept(
    data: dict[str, Path], tmp_path: Path
) -> None:
    script = {"planner": [tool_call("propose_plan", GOOD_PLAN)], "critic": [JUNK_VERDICT, message("")]}
    with ScriptedLLM(script) as server:
        lines: list[str] = []
        state = run_brief(brief_for(data), _llm_services(server, data, tmp_path), lines.append)
    assert state["planner"] == "llm" and [s["name"] for s in state["plan"]["specs"]] == ["vibration", "lint"]
    critics = [v["critic"]["critic"] for v in state["validation"]]
    assert all(c.startswith("offline-rules (LLM critic unavailable: scripted-1") for c in critics), critics
    assert any("LLM critic failed for 2 spec(s)" in line for line in lines)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["agent"]["planner"] == "llm"
    assert manifest["agent"]["critic_stood_in"].startswith("offline-rules (LLM critic unavailable")


def test_a_failing_decision_falls_back_to_the_offline_rule(data: dict[str, Path], tmp_path: Path) -> None:
    brief = brief_for(data, budget=Budget(max_corruptions=2, severities=[1, 3, 5], max_iterations=1))
    script = {
        "planner": [tool_call("propose_plan", GOOD_PLAN)],
        "critic": [REALISTIC, REALISTIC],
        "decide": [error(500, "overloaded")] * 5,
    }
    with ScriptedLLM(script) as server:
        lines: list[str] = []
        state = run_brief(brief, _llm_services(server, data, tmp_path), lines.append)
    assert any("LLM decision failed" in line and "offline policy decided instead" in line for line in lines)
    assert Path(state["report"]["html"]).is_file()
    log = load_investigation(tmp_path)
    assert log is not None and log.steps, "the offline follow-ups are logged"
    assert all(s.planner.startswith("offline-expert (stood in: LLM decision failed") for s in log.steps)
    assert all("overloaded" in s.planner for s in log.steps)


def test_a_failing_interview_hands_over_to_the_questionnaire(data: dict[str, Path], tmp_path: Path) -> None:
    answers = {
        "domain": "textile production line",
        "description": "camera over a weaving line",
        "imaging_setup": "industrial RGB camera",
        "deployment_conditions": "vibration, dust",
        "image_source": str(data["images"]),
        "labels": "defect-free fabric, fabric with a small local defect, fabric with a global defect",
        "models": "openclip:rl-tiny-a",
        "max_corruptions": "2",
        "severities": "1, 3",
        "max_images": "",
        "seed": "3",
        "plan_review": "approve",
    }
    asked: list[str] = []

    def ask(question: dict[str, Any]) -> str:
        asked.append(question["field"])
        assert len(asked) < 40, f"the interview loops: {asked}"
        return answers.get(question["field"], "")

    script = {"interview": [message("Hello! What does your camera look at?"), raw("[" * 100_000)]}
    with ScriptedLLM(script) as server:
        lines: list[str] = []
        state = chat(_llm_services(server, data, tmp_path), ask, lines.append)
    assert asked[0] == "chat" and "domain" in asked
    assert any("LLM interview failed" in line and "questionnaire takes over" in line for line in lines)
    assert state["brief"]["domain"] == "textile production line"
    assert Path(state["report"]["html"]).is_file()


def test_bad_plans_and_refinements_go_back_to_the_llm_as_messages(
    data: dict[str, Path], tmp_path: Path
) -> None:
    def spec(name: str) -> dict[str, Any]:
        return {"name": name, "rationale": "r", "recipe": [{"name": "dust"}]}

    brief = brief_for(data, budget=Budget(max_corruptions=2, severities=[1, 3], max_iterations=1))
    script = {
        "planner": [
            tool_call("propose_plan", {**GOOD_PLAN, "severities": [99]}),
            tool_call("propose_plan", {"specs": [spec("lint"), spec("lint")]}),
            tool_call("propose_plan", {"specs": [spec("clean")]}),
            tool_call("propose_plan", GOOD_PLAN),
        ],
        "critic": [REALISTIC, REALISTIC],
        "decide": [
            tool_call("refine_plan", {"add_severities": [7]}),
            tool_call("refine_plan", {"add_specs": [spec("fluff"), spec("fluff")]}),
            tool_call("finish", {"reason": "enough"}),
        ],
    }
    with ScriptedLLM(script) as server:
        state = run_brief(brief, _llm_services(server, data, tmp_path))
    assert state["planner"] == "llm" and state["plan"]["severities"] == [1.0, 3.0]
    planner = [b for r, b, _ in server.requests if r == "planner"][-1]["messages"]
    results = [json.loads(m["content"]) for m in planner if m["role"] == "tool"]
    assert "less than or equal to 5" in results[0]["error"]
    assert "unique" in results[1]["error"] and "reserved" in results[2]["error"]
    decide = [b for r, b, _ in server.requests if r == "decide"][-1]["messages"]
    results = [json.loads(m["content"]) for m in decide if m["role"] == "tool"]
    assert "less than or equal to 5" in results[0]["error"] and "unique" in results[1]["error"]
    assert server.routes().count("decide") == 3 and not state.get("iteration"), "finish ended the loop"


# --------------------------------------------------------------------------- end to end, real processes

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "HF_HUB_OFFLINE": "1", "COLUMNS": "160"}
for key in ("ROBUSTLENS_LLM_MODEL", "ROBUSTLENS_LLM_BASE_URL", "OPENAI_API_KEY"):
    ENV.pop(key, None)


@pytest.fixture(scope="module")
def brief_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("e2e")
    images = textile_folder(root / "images", per_class=2)
    brief = {
        "domain": "textile production line",
        "description": "inspection camera over a weaving line",
        "imaging_setup": "industrial RGB camera, LED bar lights",
        "deployment_conditions": ["vibration", "dust"],
        "labels": ["defect-free fabric", "fabric with a small local defect", "fabric with a global defect"],
        "image_source": {"kind": "class_folders", "path": str(images)},
        "models": ["demo:textile"],
        "budget": {"max_corruptions": 2, "severities": [3], "max_iterations": 0},
        "seed": 1,
    }
    path = root / "brief.yaml"
    path.write_text(yaml.safe_dump(brief))
    return path


@pytest.fixture(scope="module")
def one_spec_brief_file(brief_file: Path) -> Path:
    """The brief with one corruption, for the real process: what it checks is the LLM calls' bound
    and the stand-ins' labels, which one planned corruption shows as well as two."""
    brief = yaml.safe_load(brief_file.read_text())
    brief["budget"]["max_corruptions"] = 1
    path = brief_file.with_name("one-spec-brief.yaml")
    path.write_text(yaml.safe_dump(brief))
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_args(brief: Path, out: Path, base_url: str, timeout: float) -> list[str]:
    args = ["run", str(brief), "--out", str(out)]
    return [*args, "--llm-base-url", base_url, "--llm-model", "broken-1", "--llm-timeout", f"{timeout:g}"]


def _run(brief: Path, out: Path, base_url: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
    """``robustlens run`` as a real process (a hang meets the subprocess limit). Images load in the
    process (``-j 0``): what it checks is the LLM calls, and starting loader workers costs seconds."""
    cmd = [sys.executable, "-m", "robustlens", *_run_args(brief, out, base_url, timeout), "-j", "0"]
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)


@pytest.fixture
def run_main(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[[Path, Path, str], subprocess.CompletedProcess[str]]:
    """``robustlens run`` through the CLI's ``main`` in this process, in the same environment as
    ``_run`` (no LLM configured but the flags); returns what the process would have."""
    from robustlens.cli import main

    for key in ("ROBUSTLENS_LLM_MODEL", "ROBUSTLENS_LLM_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(key, raising=False)

    def run(brief: Path, out: Path, base_url: str) -> subprocess.CompletedProcess[str]:
        capsys.readouterr()
        args = _run_args(brief, out, base_url, timeout=10)
        code = main(args)
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, captured.out, captured.err)

    return run


def _assert_stood_in(done: subprocess.CompletedProcess[str], out: Path, planner: bool) -> dict[str, Any]:
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    result = json.loads((out / "result.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    report = _report_texts(out)
    critics = [v["critic"]["critic"] for v in result["validation"]]
    assert critics and all(c.startswith("offline-rules (LLM critic unavailable: broken-1") for c in critics)
    assert "LLM critic unavailable" in report
    assert manifest["agent"]["critic_stood_in"].startswith("offline-rules (LLM critic unavailable")
    if planner:
        assert result["plan"]["planner"].startswith("offline-expert (stood in: LLM planning failed: broken-1")
        assert manifest["agent"]["planner"] == result["plan"]["planner"]
        assert "stood in: LLM planning failed" in report
        assert "offline expert planned instead" in " ".join(done.stdout.split())
    _assert_says_who_judged(done.stdout, planner)
    return result


def _assert_says_who_judged(stdout: str, planner: bool) -> None:
    """The header is printed before planning; the run must end naming who really planned, and the
    critic note must close its bracket even when the reason holds one ("(not retried: ...)")."""
    flat = " ".join(stdout.split())
    assert "Planner: LLM broken-1 (offline expert if it fails)" in flat
    if planner:
        assert "Planned by: offline expert (LLM planning failed: broken-1 " in flat
    else:
        assert "Planned by: LLM broken-1" in flat
    note = flat[flat.index("LLM critic failed for") :]
    note = note[: note.index("; the offline rule critic judged instead.")]
    assert note.count("(") == note.count(")") > 0, note


def test_e2e_connection_refused(brief_file: Path, tmp_path: Path, run_main: Callable[..., Any]) -> None:
    done = run_main(brief_file, tmp_path / "run", f"http://127.0.0.1:{_free_port()}/v1")
    result = _assert_stood_in(done, tmp_path / "run", planner=True)
    assert "Connection error" in result["plan"]["planner"]


def test_e2e_invalid_json_bodies(brief_file: Path, tmp_path: Path, run_main: Callable[..., Any]) -> None:
    with ScriptedLLM({}, default=lambda route: raw("{not json at all")) as server:
        done = run_main(brief_file, tmp_path / "run", server.base_url)
    result = _assert_stood_in(done, tmp_path / "run", planner=True)
    assert "unreadable body" in result["plan"]["planner"]


def test_e2e_working_planner_and_junk_critic(
    brief_file: Path, tmp_path: Path, run_main: Callable[..., Any]
) -> None:
    script = {"planner": [tool_call("propose_plan", GOOD_PLAN)]}
    with ScriptedLLM(script, default=lambda route: JUNK_VERDICT) as server:
        done = run_main(brief_file, tmp_path / "run", server.base_url)
    result = _assert_stood_in(done, tmp_path / "run", planner=False)
    assert result["plan"]["planner"] == "llm"
    assert "LLM critic failed" in " ".join(done.stdout.split())


def test_e2e_a_never_answering_endpoint_is_bounded(one_spec_brief_file: Path, tmp_path: Path) -> None:
    """With --llm-timeout 1: two attempts of the first request, then every call fails fast. Only a
    hang (the subprocess limit) fails this test; it asserts no speed."""
    with ScriptedLLM({}, default=lambda route: hang()) as server:
        done = _run(one_spec_brief_file, tmp_path / "run", server.base_url, timeout=1)
        sent = len(server.requests)
    result = _assert_stood_in(done, tmp_path / "run", planner=True)
    assert "timed out" in result["plan"]["planner"] and sent == 2
