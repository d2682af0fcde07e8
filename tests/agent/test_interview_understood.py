"""`chat` shows what the expert understood (chain facts and conditions, with the brief's own words) and
lets the user correct it; the corrections live in the brief, so the saved brief.yaml and the plan
follow them. Driven through the real interview step the chat node calls, answer by answer."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from robustlens.agent.interview import UNDERSTOOD, interview_step
from robustlens.errors import UserInputError
from robustlens.evaluation.engine import EngineOptions
from robustlens.schemas import DomainBrief

ANSWERS = {
    "domain": "harbour crane inspection",
    "description": "Outdoor cameras on the quay watch the cranes; the camera shakes in the wind",
    "imaging_setup": "industrial camera on a mast, daylight",
    "deployment_conditions": "rain, fog",
    "image_source": "demo:textile",
}


def _step(state: dict, reply: str, **kw: object) -> dict:
    return {**state, **interview_step({**state, "reply": reply}, models=["demo:textile"], **kw)}  # type: ignore[arg-type]


def _answer_all(tmp_path: Path, confirm: bool) -> dict:
    state = interview_step({}, models=["demo:textile"], confirm=confirm)
    while state.get("pending") and state["pending"]["field"] != UNDERSTOOD:
        reply = ANSWERS.get(state["pending"]["field"], "")
        state = _step(state, reply, run_dir=tmp_path, confirm=confirm)
    return state


def test_chat_shows_what_it_understood_and_a_correction_changes_brief_and_plan(tmp_path: Path) -> None:
    from robustlens.expert.chain import infer_chain

    state = _answer_all(tmp_path, confirm=True)
    question = state["pending"]
    assert question["field"] == UNDERSTOOD and not state.get("brief")
    text = question["text"]
    # the panel names the brief's own words behind each fact and condition
    assert "What I understood:" in text and "scene: " in text and "outdoor" in text
    assert '"the camera shakes' in text or "the camera shakes in the wind" in text
    assert "rain" in text and "fog" in text and "Enter to accept" in text
    original = DomainBrief.model_validate(question["brief"])

    # invalid corrections: a clear message, the same question again, nothing changed
    for reply, message in [
        ("scene=indor", "Did you mean: indoor"),
        ("sky_in_view=maybe", "not yes or no"),
        ("wether=sunny", "No chain fact is named 'wether'"),
        ("add flying saucers", "I know no deployment condition"),
        ("please hurry", "Not a correction"),
    ]:
        bad = _step(state, reply, run_dir=tmp_path, confirm=True)
        assert bad["pending"]["field"] == UNDERSTOOD and message in bad["pending"]["error"], (reply, bad)
        assert bad["pending"]["brief"] == question["brief"]

    # a valid correction: shown again with the change, then accepted with Enter
    state = _step(state, "scene=indoor; sky_in_view=no; no rain", run_dir=tmp_path, confirm=True)
    assert "Changed:" in state["pending"]["notice"] and state["pending"]["field"] == UNDERSTOOD
    assert "scene: indoor" in state["pending"]["text"] and "sky in view: no" in state["pending"]["text"]
    state = _step(state, "", run_dir=tmp_path, confirm=True)
    brief = DomainBrief.model_validate(state["brief"])
    assert brief.chain == {"scene": ["indoor"], "sky_in_view": False}
    assert "no rain" in brief.deployment_conditions and "rain" not in brief.deployment_conditions
    facts = infer_chain(brief)
    assert facts.scene == ["indoor"] and facts.sky_in_view is False and "rain" not in facts.condition_names()

    # the saved brief reproduces the corrections (and heads them with the summary)
    saved = (tmp_path / "brief.yaml").read_text()
    assert yaml.safe_load(saved)["chain"] == {"scene": ["indoor"], "sky_in_view": False}
    assert "# What I understood:" in saved

    # ... and so does the plan: the corrected brief plans differently from the original
    from robustlens.expert.planner import plan_from_brief

    before = {s.name for s in plan_from_brief(original).specs}
    after = {s.name for s in plan_from_brief(brief).specs}
    assert before != after
    assert not any("rain" in name for name in after), after


def test_back_from_the_summary_reopens_the_last_question(tmp_path: Path) -> None:
    state = _answer_all(tmp_path, confirm=True)
    help_ = _step(state, "help", confirm=True)["pending"]
    assert "FIELD=VALUE" in help_["notice"] and help_["field"] == UNDERSTOOD
    back = _step(state, "back", confirm=True)
    assert back["pending"]["field"] == "seed"
    edit = _step(state, "edit description", confirm=True)
    assert edit["pending"]["field"] == "description" and "camera shakes" in edit["pending"]["default"]


def test_scripted_answers_are_never_asked_to_confirm(tmp_path: Path) -> None:
    """Piped stdin / scripted replies: the summary is an event, printed once, and nothing is asked."""
    state = _answer_all(tmp_path, confirm=False)
    assert state["pending"] is None and state["brief"]["domain"] == ANSWERS["domain"]
    summary = [e for e in state["events"] if e.startswith("What I understood:")]
    assert len(summary) == 1 and "the camera shakes" in summary[0]
    assert yaml.safe_load((tmp_path / "brief.yaml").read_text())["chain"] == {}


def test_run_prints_the_summary(capsys: pytest.CaptureFixture[str]) -> None:
    from robustlens.cli.agent_output import print_understood

    brief = DomainBrief(
        domain="night parking",
        description="Phone photos of number plates in an underground car park",
        deployment_conditions=["headlight glare", "no rain"],
        chain={"sky_in_view": False},
    )
    print_understood(brief)
    out = " ".join(capsys.readouterr().out.split())
    assert "What I understood:" in out and "sky in view: no <- you set this" in out
    assert "glare" in out and '"headlight glare"' in out


class _AtReview(Exception):
    """Stops the chat at the plan review: planning saw the confirmed brief, nothing is evaluated."""


def test_llm_brief_is_shown_and_corrected_before_planning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The LLM path: a submitted brief is shown as chain facts with its words; a correction reaches the
    brief the run saves (brief.yaml), so the plan is made from it."""
    import robustlens.agent.interview as interview
    from robustlens.agent.session import chat, make_services
    from robustlens.llm.client import LLMConfig
    from tests.agent.scripted_server import ScriptedLLM, message, tool_call
    from tests.agent.test_graph import GOOD_PLAN, REALISTIC, brief_for
    from tests.fixtures import textile_folder

    monkeypatch.setattr(interview, "_interactive", lambda: True)  # a person at a terminal
    images = textile_folder(tmp_path / "images", per_class=2)
    brief = brief_for(
        {"images": images}, description="a camera over the loom; dusty hall", models=["demo:textile"]
    )
    submitted = brief.model_dump(mode="json")
    script = {
        "interview": [message("What does your camera look at?"), tool_call("submit_brief", submitted)],
        "planner": [tool_call("propose_plan", GOOD_PLAN)],
        "critic": [REALISTIC, REALISTIC],
    }
    asked: list[dict] = []
    replies = iter(["A weaving line; model demo:textile.", "scene=outdor", "scene=outdoor; no dust", ""])

    def ask(question: dict) -> str:
        asked.append(question)
        if question.get("field") == "plan_review":
            raise _AtReview
        return next(replies)

    with ScriptedLLM(script) as server:
        config = LLMConfig(base_url=server.base_url, model="scripted-1", api_key="sk-test", timeout=10)
        services = make_services(tmp_path / "run", config, options=EngineOptions(workers=0), data=str(images))
        with pytest.raises(_AtReview):
            chat(services, ask)
    fields = [q.get("field") for q in asked]
    assert fields == ["chat", UNDERSTOOD, UNDERSTOOD, UNDERSTOOD, "plan_review"], fields
    assert '"industrial RGB camera' in asked[1]["text"] and "dust" in asked[1]["text"]  # the brief's words
    assert "Did you mean: outdoor" in asked[2]["error"]
    assert "scene: outdoor  <- you set this" in asked[3]["text"] and "ruled out: dust" in asked[3]["text"]
    saved = yaml.safe_load((tmp_path / "run" / "brief.yaml").read_text())
    assert saved["chain"] == {"scene": ["outdoor"]} and "no dust" in saved["deployment_conditions"]
    assert "dust" not in saved["deployment_conditions"]


def test_corrections_parse_lists_additions_and_clearing() -> None:
    from robustlens.agent.understood import apply_corrections

    brief = DomainBrief(domain="loading dock", deployment_conditions=["no fog", "rain"])
    changed, notes = apply_corrections(brief, "moving=camera,subject, add fog; modality=photograph")
    assert changed.chain == {"moving": ["camera", "subject"], "modality": "photograph"}
    assert changed.deployment_conditions == ["rain", "fog"]  # 'add fog' replaces the earlier 'no fog'
    assert notes[0] == "moving = camera, subject." and notes[1].startswith("Added fog")
    cleared, _ = apply_corrections(changed, "moving=")
    assert cleared.chain == {"modality": "photograph"}
    with pytest.raises(UserInputError, match="modality takes one value"):
        apply_corrections(brief, "modality=photograph,scan")
