"""Drive the graph: non-interactively from a brief (``run``), or as a chat that asks the user at each
interrupt (``chat``). Both stream node events and record LLM usage (never keys) in the manifest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from langgraph.types import Command

from robustlens.agent.graph import THREAD, build_graph, sqlite_checkpointer
from robustlens.agent.nodes import Services
from robustlens.agent.state import AgentInput, to_output
from robustlens.errors import UserInputError
from robustlens.evaluation.engine import EngineOptions, ProgressSink
from robustlens.llm.client import LLMClient, LLMConfig
from robustlens.schemas import DomainBrief
from robustlens.tools import ToolContext

Ask = Callable[[dict[str, Any]], str]
Show = Callable[[str], None]
OnUpdate = Callable[[str, dict[str, Any]], None]  # (node, its state update): for richer displays


def make_services(
    run_dir: Path,
    llm: LLMConfig | None = None,
    critic: LLMConfig | None = None,
    options: EngineOptions | None = None,
    data: str | None = None,
    command: str = "",
    progress: ProgressSink | None = None,
    models: list[str] | None = None,
) -> Services:
    """``models``: the model ids the user named (``--model``); they win over any the LLM submits."""
    main = LLMClient(llm) if llm else None
    judge = (LLMClient(critic) if critic is not llm else main) if critic else main
    ctx = ToolContext(
        run_dir=run_dir,
        data=data,
        models=list(models) if models else None,
        critic=judge,
        options=options or EngineOptions(),
        command=command,
    )
    return Services(run_dir=run_dir, ctx=ctx, llm=main, critic=judge, progress=progress)


def run_brief(
    brief: DomainBrief, services: Services, show: Show = lambda _: None, on_update: OnUpdate | None = None
) -> dict[str, Any]:
    """The brief answers the interview; the audit runs to its report without asking anything."""
    graph = build_graph(services, sqlite_checkpointer(services.run_dir))
    state = _drive(graph, AgentInput(brief=brief, events=[]), None, show, on_update)
    _record(services)
    return state


def chat(
    services: Services,
    ask: Ask,
    show: Show = lambda _: None,
    resume: bool = False,
    brief: DomainBrief | None = None,
    on_update: OnUpdate | None = None,
) -> dict[str, Any]:
    """An interactive audit (the user reviews the plan before it runs); with ``resume`` it continues
    from RUN/agent.sqlite where it stopped, even inside a question or the plan review."""
    graph = build_graph(services, sqlite_checkpointer(services.run_dir))
    if resume:
        snapshot = graph.get_state(THREAD)
        if not snapshot.values:
            raise UserInputError(
                f"No chat to resume in {services.run_dir}.",
                fix="Start one with `robustlens chat --out RUN_DIR`.",
                field="resume",
            )
        if not snapshot.next:
            show("This audit already finished.")
            return to_output(snapshot.values)
        pending = [i.value for t in snapshot.tasks for i in t.interrupts]
        start: Any = Command(resume=ask(pending[0])) if pending else None
    else:
        start = AgentInput(events=[], interactive=True)
        if brief is not None:
            start["brief"] = brief
    state = _drive(graph, start, ask, show, on_update)
    _record(services)
    return state


def _drive(
    graph: Any, start: Any, ask: Ask | None, show: Show, on_update: OnUpdate | None = None
) -> dict[str, Any]:
    payload = start
    while True:
        question = None
        for chunk in graph.stream(payload, THREAD, stream_mode="updates"):
            for node, update in chunk.items():
                if node == "__interrupt__":
                    question = update[0].value
                elif isinstance(update, dict):
                    for line in update.get("events", []) or []:
                        show(line)
                    if on_update is not None:
                        on_update(node, to_output(update))
        if question is None:
            return to_output(graph.get_state(THREAD).values)
        if ask is None:
            raise UserInputError(
                f"The brief is incomplete: the agent needs '{question.get('field', '?')}'.",
                why=str(question.get("text", "")),
                fix="Add that field to the brief file (see examples/), or use `robustlens chat`.",
                field=str(question.get("field", "brief")),
            )
        payload = Command(resume=ask(question))


def _record(services: Services) -> None:
    from robustlens.evaluation.store import RunStore

    store = RunStore(services.run_dir)
    if store.read_manifest() is None:
        return
    llm = services.llm
    critic = services.critic
    store.update_manifest(
        agent={
            # who really planned and judged: "offline-expert (stood in: ...)" when the LLM failed
            "planner": services.usage.get("planner") or ("llm" if llm else "offline-expert"),
            "llm": {**llm.config.describe(), "usage": llm.usage.as_dict()} if llm else None,
            "critic": {**critic.config.describe(), "usage": critic.usage.as_dict()}
            if critic and critic is not llm
            else ("same as llm" if critic else "offline-rules"),
            **({"critic_stood_in": services.usage["critic"]} if services.usage.get("critic") else {}),
        }
    )
