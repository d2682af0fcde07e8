"""The investigation log: every follow-up of the decide step as an ``InvestigationStep``.

The LLM's follow-ups are read back from its tool-call history (the arguments it sent, the tool's
answer), so the log records exactly what ran, with the one-sentence ``why`` the tool required; the
offline policy records its own steps. Both end up in RUN/investigation.json for the report's log.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from robustlens.investigate.records import (
    INVESTIGATION_FILE,
    Investigation,
    InvestigationStep,
    load_investigation,
)

#: The deployment owner's question each follow-up tool answers (issue 13), shown in the log.
QUESTIONS: dict[str, str] = {
    "search_tolerance": "Up to what level of this condition can we still ship?",
    "find_slices": "Which images fail first, and what do they have in common?",
    "evaluate_chain": "What happens when these conditions come together?",
    "class_vulnerability": "Which class absorbs the errors?",
    "refine_plan": "Where exactly does the model break?",
}
RESULT_CHARS = 300


def llm_steps(
    messages: Sequence[dict[str, Any]], tools: Sequence[str], iteration: int, planner: str = "llm"
) -> list[InvestigationStep]:
    """One step per successful call of ``tools`` in an OpenAI-format tool-call history (each
    assistant turn's calls are answered by the tool messages that follow it, in order)."""
    steps = []
    for i, message in enumerate(messages):
        calls = message.get("tool_calls") or []
        answers = [m for m in messages[i + 1 : i + 1 + len(calls)] if m.get("role") == "tool"]
        for call, reply in zip(calls, answers, strict=False):
            name = call.get("function", {}).get("name", "")
            answer = _json(str(reply.get("content") or ""))
            if name not in tools or not isinstance(answer, dict) or "error" in answer:
                continue
            args = _json(call["function"].get("arguments") or "{}")
            args = args if isinstance(args, dict) else {}
            why = str(args.pop("why", "") or args.pop("reason", "") or "")
            steps.append(
                InvestigationStep(
                    iteration=iteration,
                    question=QUESTIONS.get(name, "What else should the audit look at?"),
                    tool=name,
                    arguments=args,
                    result=finding(answer),
                    why=why[:RESULT_CHARS],
                    cells_added=int(answer.get("cells_added") or 0),
                    planner=planner,
                )
            )
    return steps


def finding(answer: dict[str, Any]) -> str:
    """The tool's one-sentence finding, or its answer as cut JSON."""
    text = answer.get("finding") or answer.get("summary")
    if not isinstance(text, str) or not text.strip():
        text = json.dumps(answer, default=str)
    text = " ".join(text.split())
    return text if len(text) <= RESULT_CHARS else text[: RESULT_CHARS - 1] + "…"


def record_steps(
    run_dir: Path, steps: Sequence[InvestigationStep], base: Investigation | None = None
) -> Investigation:
    """Append ``steps`` to the run's investigation (``base``: the one the tools filled in) and write it."""
    from robustlens.evaluation.store import RunStore

    inv = base if base is not None else (load_investigation(run_dir) or Investigation())
    inv = inv.model_copy(update={"steps": [*inv.steps, *steps]})
    store = RunStore(run_dir)
    writer = getattr(store, "write_investigation", None)  # the store's writer (issue 13, T's method)
    if writer is not None:
        writer(inv)
    else:
        inv.save(Path(run_dir) / INVESTIGATION_FILE)
    return inv


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None
