"""The primitive names the offline expert plans for a brief, shared by the planner tests."""

from __future__ import annotations

from robustlens.expert.planner import plan_from_brief
from robustlens.schemas import DomainBrief


def planned_names(brief: DomainBrief) -> list[str]:
    """The names of the specs ``plan_from_brief`` chooses, in plan order."""
    return [s.name for s in plan_from_brief(brief).specs]
