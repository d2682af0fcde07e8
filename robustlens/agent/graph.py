"""The LangGraph graph: interview -> plan -> validate/critique -> review -> evaluate -> inspect -> decide
-> report.

Nodes are thin (``nodes.py``: each calls one stage); this module only wires them, with separate
input / state / output types (``state.py``) and ``Literal`` routers. ``ask_user`` and ``review`` (the chat's
plan review; a pass-through for ``run``) are the only places that interrupt: nodes that call an LLM
never interrupt, so a resumed graph never repeats an LLM call.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from langgraph.graph import END, START, StateGraph

from robustlens.agent.nodes import Nodes, Services
from robustlens.agent.state import CHECKPOINT_TYPES, AgentInput, AgentOutput, AgentState

THREAD = {"configurable": {"thread_id": "audit"}}


def build_graph(services: Services, checkpointer: Any | None = None) -> Any:
    n = Nodes(services)
    g = StateGraph(AgentState, input_schema=AgentInput, output_schema=AgentOutput)
    g.add_node("interview", n.interview)
    g.add_node("ask_user", n.ask_user)
    g.add_node("plan", n.plan)
    g.add_node("validate", n.validate)
    g.add_node("review", n.review)
    g.add_node("evaluate", n.evaluate)
    g.add_node("inspect", n.inspect)
    g.add_node("decide", n.decide)
    g.add_node("report", n.report)
    g.add_edge(START, "interview")
    g.add_conditional_edges("interview", n.after_interview, {"ask": "ask_user", "plan": "plan"})
    g.add_edge("ask_user", "interview")
    g.add_edge("plan", "validate")
    g.add_conditional_edges("validate", n.after_validate, {"revise": "plan", "evaluate": "review"})
    g.add_conditional_edges("review", n.after_review, {"review": "review", "evaluate": "evaluate"})
    g.add_edge("evaluate", "inspect")
    g.add_edge("inspect", "decide")
    g.add_conditional_edges("decide", n.after_decide, {"iterate": "evaluate", "report": "report"})
    g.add_edge("report", END)
    return g.compile(checkpointer=checkpointer)


def sqlite_checkpointer(run_dir: Path) -> Any:
    """Checkpoints in RUN/agent.sqlite, so `robustlens chat --resume RUN` continues where it stopped."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    from langgraph.checkpoint.sqlite import SqliteSaver

    run_dir.mkdir(parents=True, exist_ok=True)
    # the state's schema objects are rebuilt from the checkpoint; only these classes are allowed
    allowed = [(t.__module__, t.__name__) for t in CHECKPOINT_TYPES]
    serde = JsonPlusSerializer(allowed_msgpack_modules=allowed)
    return SqliteSaver(sqlite3.connect(run_dir / "agent.sqlite", check_same_thread=False), serde=serde)


def topology(graph: Any) -> list[tuple[str, str]]:
    """Sorted (source, target) edges: the graph's shape, for snapshot tests and docs."""
    return sorted((e.source, e.target) for e in graph.get_graph().edges)
