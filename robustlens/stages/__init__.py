"""Stages of the agent's loop as plain typed functions (the graph's nodes only call them).

``validate``: check a plan, revise or keep it with replacements; ``decide``: what to evaluate next
after an evaluation; ``narrative``: the LLM's executive summary, or the template's.
"""


def short(text: str, limit: int = 300) -> str:
    """A failure reason short enough for a transcript line and a plan label."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
