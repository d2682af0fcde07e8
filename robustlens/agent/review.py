"""The chat's plan review: the user approves the checked plan or changes it before evaluation.

Commands are plain words (``approve``, ``drop NAME``, ``add PRIMITIVE``, ``severities 1,3,5``); a
mistake is answered with a note (and a did-you-mean) and the table is shown again, never an error
that ends the chat.
"""

from __future__ import annotations

from robustlens.errors import UserInputError, did_you_mean
from robustlens.schemas import CorruptionPlan, DomainBrief

REVIEW_HELP = (
    "Enter or 'approve' runs this plan; 'drop NAME' removes a corruption; 'add PRIMITIVE' adds a "
    "registered corruption with its default ladder (`robustlens corruptions list`); "
    "'severities 1,3,5' changes the severities."
)
APPROVE = {"", "approve", "approved", "yes", "y", "ok", "run", "go"}


def apply_review(
    plan: CorruptionPlan, brief: DomainBrief, text: str
) -> tuple[CorruptionPlan, DomainBrief, str, bool]:
    """(plan, brief, note, approved) after one review command; the inputs are never modified."""
    word, _, arg = str(text).strip().partition(" ")
    word, arg = word.lower(), arg.strip()
    if word in APPROVE and not arg:
        return plan, brief, "", True
    if word in ("drop", "add") and arg:
        new, note = (_drop if word == "drop" else _add)(plan, arg)
        return new, brief, note, False
    if word in ("severities", "severity") and arg:
        new, changed, note = _severities(plan, brief, arg)
        return new, changed, note, False
    if word in ("help", "?"):
        return plan, brief, REVIEW_HELP, False
    return plan, brief, f"Not a review command: {text.strip()!r}. {REVIEW_HELP}", False


def _drop(plan: CorruptionPlan, name: str) -> tuple[CorruptionPlan, str]:
    names = [s.name for s in plan.specs]
    if name not in names:
        return plan, f"No corruption named {name!r} in the plan. {did_you_mean(name, names)}".strip()
    if len(names) == 1:
        return plan, f"{name} is the only corruption left; add another before dropping it."
    specs = [s for s in plan.specs if s.name != name]
    return plan.model_copy(update={"specs": specs}), f"Dropped {name}."


def _add(plan: CorruptionPlan, primitive: str) -> tuple[CorruptionPlan, str]:
    from robustlens.corruptions import REGISTRY, compile_plan
    from robustlens.schemas import CorruptionSpec, PrimitiveCall

    if primitive not in REGISTRY:
        hint = did_you_mean(primitive, REGISTRY) or "See `robustlens corruptions list`."
        return plan, f"No corruption primitive named {primitive!r}. {hint}"
    if primitive in {s.name for s in plan.specs}:
        return plan, f"{primitive} is already in the plan."
    spec = CorruptionSpec(
        name=primitive,
        rationale="Added by the user at plan review (the primitive's default ladder).",
        recipe=[PrimitiveCall(name=primitive)],
        source="user",
    )
    new = plan.model_copy(update={"specs": [*plan.specs, spec]})
    compile_plan(new)
    return new, f"Added {primitive}."


def _severities(
    plan: CorruptionPlan, brief: DomainBrief, text: str
) -> tuple[CorruptionPlan, DomainBrief, str]:
    from robustlens.expert.questionnaire import QUESTIONS, apply_answer

    question = next(q for q in QUESTIONS if q.field == "severities")
    try:
        values = apply_answer({}, question, text)["severities"]
    except UserInputError as exc:
        return plan, brief, exc.message()
    budget = brief.budget.model_copy(update={"severities": values})
    shown = ", ".join(f"{v:g}" for v in values)
    new_plan = plan.model_copy(update={"severities": values})
    return new_plan, brief.model_copy(update={"budget": budget}), f"Severities: {shown}."
