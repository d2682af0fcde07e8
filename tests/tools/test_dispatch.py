"""Whatever an LLM sends to whichever registered tool, ``dispatch`` answers with an error message the
LLM can act on; it never raises and never runs a stage on unbounded input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from robustlens.schemas import CorruptionPlan, CorruptionSpec, DomainBrief, PrimitiveCall
from robustlens.tools import TOOLS, ToolContext, dispatch

BRIEF = DomainBrief(domain="textile line", models=["openclip:rl-tiny-a"])
PLAN = CorruptionPlan(
    specs=[CorruptionSpec(name="fog", recipe=[PrimitiveCall(name="fog")])], severities=[1, 3], planner="llm"
)


def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(run_dir=tmp_path, brief=BRIEF, plan=PLAN)


def _properties(name: str) -> list[str]:
    return list(TOOLS[name].args.model_json_schema().get("properties", {}))


def bad_inputs(name: str) -> dict[str, str]:
    props = _properties(name) or ["zzz"]
    return {
        "not JSON": "{not json",
        "a JSON array": "[1, 2, 3]",
        "a JSON string": '"propose"',
        "wrong types": json.dumps({p: [[{"x": 1}]] for p in props}),
        "huge strings": json.dumps({p: "x" * 500_000 for p in props}),
        "huge string under the size cap": json.dumps({p: "x" * 90_000 for p in props}),
        "deeply nested": '{"a": ' + "[" * 50_000 + "]" * 50_000 + "}",
        "unclosed deep nesting": "[" * 100_000,
        "out of range": json.dumps({p: 10**30 for p in props}),
        "negative": json.dumps({p: -1 for p in props}),
        "unknown field": json.dumps({"zzz_unknown": 1}),
    }


CASES = [(name, case) for name in sorted(TOOLS) for case in bad_inputs(name)]


@pytest.mark.parametrize(("name", "case"), CASES)
def test_dispatch_answers_every_bad_call_with_an_error(name: str, case: str, tmp_path: Path) -> None:
    ok, out = dispatch(name, bad_inputs(name)[case], ctx(tmp_path))
    assert not ok
    body = json.loads(out)
    assert isinstance(body, dict) and body["error"] and len(out) < 10_000


def test_every_tool_bounds_its_string_and_list_fields() -> None:
    """Each string and array in every tool's schema has a maximum (nested specs and briefs too)."""

    def walk(schema: Any, defs: dict[str, Any], path: str, seen: set[str]) -> list[str]:
        found: list[str] = []
        if not isinstance(schema, dict):
            return found
        if "$ref" in schema:
            ref = schema["$ref"].rsplit("/", 1)[-1]
            return [] if ref in seen else walk(defs[ref], defs, path, seen | {ref})
        kind = schema.get("type")
        if kind == "string" and "maxLength" not in schema and "enum" not in schema and "const" not in schema:
            found.append(path)
        if kind == "array" and "maxItems" not in schema:
            found.append(path)
        if kind == "object" and "properties" not in schema and "maxProperties" not in schema:
            found.append(path)
        if kind in ("number", "integer") and not {"maximum", "exclusiveMaximum"} & set(schema):
            found.append(path)
        for key, sub in schema.get("properties", {}).items():
            found += walk(sub, defs, f"{path}.{key}", seen)
        for key in ("items", "additionalProperties"):
            found += walk(schema.get(key), defs, f"{path}[]", seen)
        for sub in schema.get("anyOf", []):
            found += walk(sub, defs, path, seen)
        return found

    unbounded = []
    for name, t in TOOLS.items():
        schema = t.args.model_json_schema()
        unbounded += walk(schema, schema.get("$defs", {}), name, set())
    assert not unbounded, f"unbounded tool fields: {unbounded}"


def _spec(name: str) -> dict[str, Any]:
    return {"name": name, "rationale": "r", "recipe": [{"name": "fog"}]}


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"specs": [_spec("a")], "severities": [99]}, "less than or equal to 5"),
        ({"specs": [_spec("a"), _spec("a")]}, "unique"),
        ({"specs": [_spec("clean")]}, "reserved"),
        ({"specs": [_spec(f"s{i}") for i in range(9)]}, "budget allows 8"),
    ],
)
def test_propose_plan_refuses_bad_plans_with_a_message(
    arguments: dict[str, Any], expected: str, tmp_path: Path
) -> None:
    c = ctx(tmp_path)
    ok, out = dispatch("propose_plan", json.dumps(arguments), c)
    assert not ok and expected in json.loads(out)["error"] and c.plan == PLAN


def test_refine_plan_refuses_severity_7_and_a_plan_the_schema_rejects(tmp_path: Path) -> None:
    c = ctx(tmp_path)
    ok, out = dispatch("refine_plan", json.dumps({"add_severities": [7]}), c)
    assert not ok and "less than or equal to 5" in out
    # Two new specs of the same name pass the argument schema; the plan built from them does not:
    # the ValidationError raised inside the tool body comes back as a message, not an exception.
    ok, out = dispatch("refine_plan", json.dumps({"add_specs": [_spec("rain2"), _spec("rain2")]}), c)
    assert not ok and "unique" in json.loads(out)["error"] and c.plan == PLAN


def test_a_value_error_inside_a_tool_body_is_a_tool_message(tmp_path: Path) -> None:
    ok, out = dispatch("describe_primitive", json.dumps({"name": "no_such_primitive"}), ctx(tmp_path))
    assert not ok and "error" in json.loads(out)


# ----------------------------------------------------------------- the LLM cannot choose files or models

BRIEF_ARGS = {"domain": "dashcam", "labels": ["car", "truck"]}


@pytest.mark.parametrize(
    "models",
    [
        ["hf:/some/dir"],
        ["hf:../../weights"],
        ["openclip:local-dir:/tmp/x"],
        ["openclip:ViT-B-32/../../etc"],
        ["/home/user/model.pt"],
        ["hf:org/name/extra"],
        ["hf:C:\\models\\clip"],
    ],
)
def test_submit_brief_refuses_model_paths(models: list[str], tmp_path: Path) -> None:
    c = ToolContext(run_dir=tmp_path)
    ok, out = dispatch("submit_brief", json.dumps({**BRIEF_ARGS, "models": models}), c)
    assert not ok and "--model" in json.loads(out)["error"] and c.brief is None


def test_submit_brief_keeps_only_models_the_user_named(tmp_path: Path) -> None:
    said = ToolContext(run_dir=tmp_path, user_text="Please audit openclip:ViT-B-32/openai for me.")
    ok, out = dispatch("submit_brief", json.dumps({**BRIEF_ARGS, "models": ["hf:google/siglip-base"]}), said)
    assert not ok and "never named" in out and said.brief is None
    ok, _ = dispatch("submit_brief", json.dumps({**BRIEF_ARGS, "models": ["openclip:ViT-B-32/openai"]}), said)
    assert ok and said.brief is not None and said.brief.models == ["openclip:ViT-B-32/openai"]


def test_the_users_models_win_over_the_llms(tmp_path: Path) -> None:
    c = ToolContext(run_dir=tmp_path, models=["hf:/the/users/folder"])
    ok, out = dispatch("submit_brief", json.dumps({**BRIEF_ARGS, "models": ["hf:/some/dir"]}), c)
    assert ok and c.brief is not None and c.brief.models == ["hf:/the/users/folder"]
    assert json.loads(out)["models"] == ["hf:/the/users/folder"]


def test_checkpoints_never_come_from_the_llm(tmp_path: Path) -> None:
    c = ToolContext(run_dir=tmp_path, models=["openclip:ViT-B-32"])
    args = {**BRIEF_ARGS, "checkpoints": {"openclip:ViT-B-32": "/etc/passwd"}}
    ok, out = dispatch("submit_brief", json.dumps(args), c)
    assert not ok and "checkpoints" in json.loads(out)["error"] and c.brief is None
