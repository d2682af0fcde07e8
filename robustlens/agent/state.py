"""The agent's typed state. Only small, serialisable things live here (checkpointed to SQLite);
images, embeddings and results stay in the run directory."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict


class AgentState(TypedDict, total=False):
    answers: dict[str, Any]  # offline questionnaire answers so far
    drafts: dict[str, str]  # answers taken back (back / edit FIELD), shown as the default when re-asked
    given: list[str]  # questionnaire fields set on the command line (never asked)
    pending: dict[str, Any] | None  # the question waiting for the user
    reply: str | None  # the user's answer to it
    messages: list[dict[str, Any]]  # LLM interview conversation (OpenAI message format)
    brief: dict[str, Any] | None
    plan: dict[str, Any] | None
    planner: str  # "llm" or "offline-expert"
    feedback: str  # validation / critic findings for the next planning round
    revisions: int
    validation: list[dict[str, Any]]
    interactive: bool  # a chat: the user reviews the plan before evaluation (``run`` never asks)
    reviewed: bool  # the user approved the plan
    review_note: str | None  # what the last review command did, shown with the table
    iteration: int
    refine: bool  # decide() found something worth evaluating again
    analysis: dict[str, Any] | None
    report: dict[str, str] | None
    events: Annotated[list[str], operator.add]  # transcript lines shown to the user
