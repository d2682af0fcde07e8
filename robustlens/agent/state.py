"""The agent's typed state, with separate input and output types.

Only small, serialisable things live here (checkpointed to RUN/agent.sqlite); images, embeddings
and results stay in the run directory. Schema objects are kept as the pydantic models themselves
(validated once, where they are made), so no node re-validates a dict; the checkpointer is told
which model classes it may rebuild (``CHECKPOINT_TYPES``). Callers get JSON back (``to_output``).
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from pydantic import BaseModel

from robustlens.schemas import CorruptionPlan, DomainBrief, FailureAnalysis, ValidatedPlan, ValidationReport

#: Every pydantic class stored in the state (top level): the SQLite checkpointer rebuilds these only.
CHECKPOINT_TYPES: tuple[type[BaseModel], ...] = (
    DomainBrief,
    CorruptionPlan,
    ValidatedPlan,
    ValidationReport,
    FailureAnalysis,
)


class AgentInput(TypedDict, total=False):
    """What starts a graph: a brief (``run``) or nothing (a chat interviews for one)."""

    brief: DomainBrief
    interactive: bool  # a chat: the user reviews the plan before evaluation (``run`` never asks)
    events: list[str]


class AgentState(TypedDict, total=False):
    answers: dict[str, Any]  # offline questionnaire answers so far (str, list or number per field)
    drafts: dict[str, str]  # answers taken back (back / edit FIELD), shown as the default when re-asked
    given: list[str]  # questionnaire fields set on the command line (never asked)
    pending: dict[str, Any] | None  # the question waiting for the user (the interrupt's payload)
    reply: str | None  # the user's answer to it
    messages: list[dict[str, Any]]  # LLM interview conversation (OpenAI message format)
    brief: DomainBrief | None
    plan: CorruptionPlan | None  # the planner's latest plan (before validation)
    planner: str  # "llm" or "offline-expert" (with "(stood in: ...)" when the LLM failed)
    feedback: str  # validation / critic findings for the next planning round
    revisions: int
    validated: ValidatedPlan | None  # the plan that is evaluated, with its validation reports
    interactive: bool
    reviewed: bool  # the user approved the plan
    review_note: str | None  # what the last review command did, shown with the table
    iteration: int
    refine: bool  # decide() found something worth evaluating again
    analysis: FailureAnalysis | None
    report: dict[str, str] | None  # format -> path
    events: Annotated[list[str], operator.add]  # transcript lines shown to the user


class AgentOutput(TypedDict, total=False):
    """What a finished (or paused) graph hands back, before ``to_output`` makes it JSON."""

    brief: DomainBrief | None
    plan: CorruptionPlan | None
    validated: ValidatedPlan | None
    planner: str
    revisions: int
    iteration: int
    analysis: FailureAnalysis | None
    report: dict[str, str] | None
    events: list[str]


def to_output(values: dict[str, Any]) -> dict[str, Any]:
    """The state (or one node's update) as JSON: models dumped; the validated plan is also shown as
    ``plan`` and ``validation`` (what callers and displays read)."""
    out = {k: (v.model_dump(mode="json") if isinstance(v, BaseModel) else v) for k, v in values.items()}
    validated = values.get("validated")
    if isinstance(validated, ValidatedPlan):
        out["plan"] = validated.plan.model_dump(mode="json")
        out["validation"] = [r.model_dump(mode="json") for r in validated.reports]
    return out
