"""The narrative stage: the LLM writes the report's executive summary from the analysis numbers.

Any LLM failure leaves the template summary in place, and the transcript says why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from robustlens.llm.client import LLMClient, LLMError
from robustlens.prompts import load
from robustlens.schemas import FailureAnalysis
from robustlens.stages import short


@dataclass(frozen=True)
class Narrative:
    text: str | None  # None: the report's template summary stands in
    source: Literal["llm", "template"] = "template"
    events: list[str] = field(default_factory=list)


def narrate(llm: LLMClient | None, analysis: FailureAnalysis | None) -> Narrative:
    """One chat call over the analysis; no LLM, no analysis, an error or an empty reply -> template."""
    from robustlens.llm.toolloop import cap

    if llm is None or analysis is None:
        return Narrative(None)
    text = load("narrative").format(analysis=analysis.model_dump_json(indent=1))
    try:
        reply = llm.chat([{"role": "system", "content": load("system")}, {"role": "user", "content": text}])
    except LLMError as exc:
        note = f"LLM narrative failed ({short(str(exc))}); the template summary stands in."
        return Narrative(None, "template", [note])
    narrative = cap(reply.content.strip()) or None
    return Narrative(narrative, "llm" if narrative else "template")
