"""The agent's typed state. Only small, serialisable things live here (checkpointed to SQLite);
images, embeddings and results stay in the run directory."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict


class AgentState(TypedDict, total=False):
    answers: dict[str, Any]  # offline questionnaire answers so far
    pending: dict[str, Any] | None  # the question waiting for the user
    reply: str | None  # the user's answer to it
    messages: list[dict[str, Any]]  # LLM interview conversation (OpenAI message format)
    brief: dict[str, Any] | None
    plan: dict[str, Any] | None
    planner: str  # "llm" or "offline-expert"
    feedback: str  # validation / critic findings for the next planning round
    revisions: int
    validation: list[dict[str, Any]]
    iteration: int
    refine: bool  # decide() found something worth evaluating again
    analysis: dict[str, Any] | None
    report: dict[str, str] | None
    events: Annotated[list[str], operator.add]  # transcript lines shown to the user
