"""The offline expert: what robustlens uses when no LLM is configured.

Three deterministic stages built on the knowledge base (``knowledge.yaml``):

- a fixed questionnaire (``QUESTIONS``, ``next_question``, ``apply_answer``, ``brief_from_answers``)
  that turns free-text answers into a ``DomainBrief``;
- a planner (``plan_from_brief``) that picks the domain's realistic primitives, conditions the user
  named first, and caps each ladder at the domain's physical limit;
- a rule critic (``critique``) that rejects corruptions the knowledge base rules out, does not list
  for a recognised domain, or that are stronger than physically plausible in the domain.

Same brief in, same plan out: no randomness, no network, so it doubles as a baseline for the LLM.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from robustlens.corruptions import REGISTRY, compile_plan
from robustlens.corruptions.base import LADDER_STEPS, PrimitiveInfo, interpolate
from robustlens.errors import UserInputError
from robustlens.llm.knowledge import (
    GENERIC,
    Domain,
    Question,
    Suitable,
    domain_for,
    load_knowledge,
    match_domain,
    score_domains,
)
from robustlens.schemas import (
    Budget,
    CorruptionPlan,
    CorruptionSpec,
    CriticVerdict,
    DomainBrief,
    ImageSource,
    PrimitiveCall,
)

PLANNER = "offline-expert"
CRITIC = "offline-rules"
NONE_WORDS = {"none", "no", "n/a", "na", "-", "label-free", "unlabeled", "unlabelled", "no labels"}
PRIORITY_SCORE = {1: 1.0, 2: 0.9, 3: 0.8}
UNKNOWN_SCORE = 0.5  # generic domain: an unlisted primitive is plausible by default
UNLISTED_SCORE = 0.3  # recognised domain: the knowledge base lists what occurs there
TOLERANCE = 1e-4  # relative slack when comparing a ladder with its bound (ladders are rounded)

# --------------------------------------------------------------------------- the questionnaire

QUESTIONS: list[Question] = load_knowledge().questions
_BY_FIELD = {q.field: q for q in QUESTIONS}


def next_question(answers: dict[str, Any]) -> Question | None:
    """The first unanswered question (with help tailored to the domain), or None when all are answered."""
    for q in QUESTIONS:
        if q.field not in answers:
            if q.field == "deployment_conditions" and answers.get("domain"):
                domain, _ = match_domain(DomainBrief(domain=str(answers["domain"])))
                if domain.name != GENERIC:
                    typical = ", ".join(c.replace("_", " ") for c in domain.conditions)
                    return q.model_copy(update={"help": f"{q.help} Typical for {domain.title}: {typical}."})
            return q
    return None


def apply_answer(answers: dict[str, Any], question: Question, text: str) -> dict[str, Any]:
    """A copy of ``answers`` with the parsed answer; UserInputError (naming the field) if it is invalid.

    A model answer may carry local weights as ``MODEL_ID=PATH`` items: the ids go to the field and the
    paths to ``answers["checkpoints"]`` (a model is named in one place, with its weights)."""
    raw = (text or "").strip()
    checkpoints: dict[str, str] = {}
    if question.kind == "models" and "=" in raw:
        raw, checkpoints = _split_checkpoints(question, raw)
    # 'none' is an answer only where nothing is a meaningful value (label-free, no reference model, ...)
    nullable = question.kind == "labels" or (not question.required and question.default in (None, "", []))
    if not raw or raw.lower() in {"default", "skip"}:
        if question.required and question.default is None:
            raise _bad(question, "An answer is required.", "this field has no sensible default.")
        value = copy.deepcopy(question.default)
    elif raw.lower() in NONE_WORDS and nullable:
        value = [] if question.kind == "list" else question.default if question.default == "" else None
    else:
        value = _parse(question, raw)
    updated = {**answers, question.field: value}
    if checkpoints:
        updated["checkpoints"] = {**dict(answers.get("checkpoints") or {}), **checkpoints}
    return updated


def shown_default(question: Question, value: Any = ...) -> str:
    """A default (or a previous answer) as the user would type it: ``1, 2, 3``, ``none``, ``demo:textile``.

    Entering the shown text gives the same value back, so Enter can always mean "the shown text"."""
    if value is ...:
        if question.required and question.default is None:
            return ""
        value = question.default
    if value is None or value == []:
        return "" if question.kind == "text" else "none"
    if isinstance(value, list):
        return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _split_checkpoints(question: Question, raw: str) -> tuple[str, dict[str, str]]:
    """``a, b=PATH`` -> (``a, b``, {b: PATH}); model ids never contain '='."""
    ids, found = [], {}
    for item in (s.strip() for s in re.split(r"[,;\n]", raw)):
        model, sep, path = item.partition("=")
        model, path = model.strip(), path.strip()
        if sep and (not model or not path):
            raise _bad(
                question,
                f"{item!r} is not MODEL_ID=PATH.",
                "local weights are given as the model id, '=', and the checkpoint's path.",
                "Write e.g. openclip:ViT-B-32=/models/vitb32.pt, or the model id alone.",
            )
        if model:
            ids.append(model)
        if sep:
            found[model] = path
    return ", ".join(ids), found


def brief_from_answers(answers: dict[str, Any]) -> DomainBrief:
    """Assemble the brief; missing optional answers take their defaults."""
    missing = [
        q.field
        for q in QUESTIONS
        if q.required and (q.field not in answers if q.kind == "labels" else not answers.get(q.field))
    ]
    if missing:
        raise UserInputError(
            f"The brief is incomplete: {', '.join(missing)} not answered.",
            why="an audit needs a domain, a label set (or 'none') and at least one model.",
            fix="Answer the remaining questions.",
            field=missing[0],
        )

    def get(field: str) -> Any:
        return answers.get(field, copy.deepcopy(_BY_FIELD[field].default))

    try:
        return DomainBrief(
            domain=str(get("domain")),
            description=get("description") or "",
            imaging_setup=get("imaging_setup") or "",
            deployment_conditions=list(get("deployment_conditions") or []),
            labels=get("labels"),
            image_source=_source(get("image_source"), get("labels")),
            models=list(get("models") or []),
            reference_model=get("reference_model"),
            checkpoints=_named_checkpoints(answers),
            budget=Budget(
                max_corruptions=get("max_corruptions"),
                severities=get("severities"),
                max_images=get("max_images"),
            ),
            seed=get("seed"),
        )
    except ValidationError as exc:
        raise UserInputError(
            f"The answers do not form a valid brief: {exc}",
            fix="Correct the fields named above.",
            field="brief",
        ) from None


def _named_checkpoints(answers: dict[str, Any]) -> dict[str, str]:
    """Checkpoints of the models still named (an edited model answer drops its old weights)."""
    named = {*(answers.get("models") or []), answers.get("reference_model")}
    return {m: p for m, p in dict(answers.get("checkpoints") or {}).items() if m in named}


def run_interview(
    ask: Callable[[Question], str], answers: dict[str, Any] | None = None, retries: int = 3
) -> DomainBrief:
    """Drive the questionnaire with ``ask`` (a prompt function or a script); re-asks after a bad answer."""
    answers = dict(answers or {})
    while (q := next_question(answers)) is not None:
        for attempt in range(retries):
            try:
                answers = apply_answer(answers, q, ask(q))
                break
            except UserInputError:
                if attempt == retries - 1:
                    raise
    return brief_from_answers(answers)


def _parse(q: Question, raw: str) -> Any:
    if q.kind == "text":
        return raw
    items = [s.strip() for s in re.split(r"[,;\n]", raw) if s.strip()]
    if q.kind == "list":
        return items
    if q.kind == "labels":
        dupes = sorted({i for i in items if items.count(i) > 1})
        if len(items) < 2 or dupes:
            raise _bad(
                q,
                f"Got {len(items)} class name(s){'; repeated: ' + ', '.join(dupes) if dupes else ''}.",
                "zero-shot classification chooses between at least two distinct classes.",
                "Give two or more distinct names separated by commas, or 'none' for a label-free audit.",
            )
        return items
    if q.kind == "models":
        from robustlens.models.registry import parse_model_id

        for item in items:
            try:
                parse_model_id(item)
            except UserInputError as exc:
                raise UserInputError(exc.what, exc.why, exc.fix, field=q.field) from None
        if not q.multiple and len(items) != 1:
            raise _bad(q, f"Expected one model id, got {len(items)}.", "only one reference model is used.")
        return items if q.multiple else items[0]
    values = [v for item in items for v in _numbers(q, item)]
    if len(values) != 1 and not (q.multiple and values):
        raise _bad(
            q, f"Expected {'numbers' if q.multiple else 'one number'}, got {raw!r}.", f"expected: {q.help}"
        )
    return sorted(set(values)) if q.multiple else values[0]


def _numbers(q: Question, item: str) -> list[float | int]:
    span = re.fullmatch(r"(\d+)\s*(?:-|\.\.)\s*(\d+)", item)
    parts = list(range(int(span[1]), int(span[2]) + 1)) if span and q.multiple else [item]
    out: list[float | int] = []
    how = "numbers separated by commas" if q.multiple else "one number"
    for p in parts:
        try:
            v = float(p)
        except ValueError:
            raise _bad(
                q, f"{item!r} is not a number.", f"expected: {q.help}", f"Answer with {how}."
            ) from None
        if q.kind == "int" and not v.is_integer():
            raise _bad(q, f"{item!r} is not a whole number.", f"expected: {q.help}", f"Answer with {how}.")
        lo, hi = q.minimum, q.maximum
        if not math.isfinite(v) or (lo is not None and v < lo) or (hi is not None and v > hi):
            rng = f"{lo:g}..{hi:g}" if hi is not None else f">= {lo:g}"
            raise _bad(q, f"{p!s} is outside {rng}.", f"expected: {q.help}", f"Give values within {rng}.")
        out.append(int(v) if q.kind == "int" else v)
    return out


def _bad(q: Question, what: str, why: str = "", fix: str = "") -> UserInputError:
    return UserInputError(f"Invalid answer for {q.field}: {what}", why=why, fix=fix or q.help, field=q.field)


def _source(path: str | None, labels: list[str] | None) -> ImageSource | None:
    if not path:
        return None
    if path.startswith("demo:"):
        return ImageSource(kind="demo", path=path.removeprefix("demo:"))
    if path.lower().endswith((".csv", ".jsonl", ".json")):
        return ImageSource(kind="manifest", path=path)
    return ImageSource(kind="class_folders" if labels else "flat", path=path)


# --------------------------------------------------------------------------- the planner


def plan_from_brief(brief: DomainBrief) -> CorruptionPlan:
    """A deterministic plan: the matched domain's suitable primitives, best-fitting first.

    Selection is greedy: first one primitive for each deployment condition the brief names (in the
    order named), then by priority (a condition match raises it one level), number of matched
    conditions, family variety, and knowledge-base order.
    A primitive whose ``max_severity`` is below 5 gets a rescaled ladder, so severity 5 of the plan
    is the strongest physically plausible level in this domain rather than the registry's default.
    """
    kb = load_knowledge()
    domain, confidence = domain_for(brief, kb)
    conditions = [c for c in kb.recognise_conditions(brief.deployment_conditions) if c in domain.conditions]
    ruled = [u.primitive or u.family for u in domain.unsuitable if u.contextual]
    chosen = _select(domain, conditions, brief.budget.max_corruptions)
    specs = [_spec(entry, conditions) for entry in chosen]
    ranked = score_domains(brief, kb)
    evidence = ", ".join(ranked[0].hits) if ranked and ranked[0].score > 0 else ""
    matched_by = (
        f"matched domain '{domain.name}' ({domain.title}) by the keywords {evidence}, "
        f"confidence {confidence:.2f}"
        if evidence
        else "no domain keyword matched, so generic photography rules apply"
    )
    notes = (
        f"Offline expert: {matched_by}. Deployment conditions recognised for this domain: "
        f"{', '.join(conditions) or 'none'}. "
        + (f"Ruled out by what the brief says: {', '.join(map(str, ruled))}. " if ruled else "")
        + f"Picked {len(specs)} of {len(domain.suitable)} suitable "
        "primitives: one per named condition first, then by priority and family variety; ladders are "
        "capped at each primitive's physically plausible maximum for the domain."
    )
    plan = CorruptionPlan(
        specs=specs, severities=brief.budget.severities, seed=brief.seed, planner=PLANNER, notes=notes
    )
    compile_plan(plan)  # the knowledge base is validated, but a plan that cannot run must never leave here
    return plan


def _select(domain: Domain, conditions: list[str], budget: int) -> list[Suitable]:
    chosen: list[Suitable] = []
    covered: set[str] = set()
    families: dict[str, int] = {}
    pool = list(enumerate(domain.suitable))
    while pool and len(chosen) < budget:
        keys = [_rank(i, e, conditions, covered, families) for i, e in pool]
        _, entry = pool.pop(keys.index(min(keys)))
        chosen.append(entry)
        covered |= set(entry.conditions)
        fam = REGISTRY[entry.primitive].family
        families[fam] = families.get(fam, 0) + 1
    return chosen


def _rank(
    index: int, entry: Suitable, conditions: list[str], covered: set[str], families: dict[str, int]
) -> tuple[int, int, int, int, int]:
    """Sort key, smallest first: covers the earliest still-uncovered condition; then priority, raised
    one level when the entry matches a named condition (a relevant priority-2 ranks with an
    unconditional priority-1); then more matched conditions, an unused family, knowledge-base order."""
    matched = set(entry.conditions) & set(conditions)
    new = [c for c in conditions if c in matched and c not in covered]
    first_new = conditions.index(new[0]) if new else len(conditions)
    family_uses = families.get(REGISTRY[entry.primitive].family, 0)
    return (first_new, entry.priority - bool(matched), -len(matched), family_uses, index)


def _spec(entry: Suitable, conditions: list[str]) -> CorruptionSpec:
    info = REGISTRY[entry.primitive]
    matched = [c for c in conditions if c in entry.conditions]
    rationale = entry.rationale
    if matched:
        rationale += f" Relevant to the deployment conditions named: {', '.join(matched)}."
    ladder: dict[str, list[float]] = {}
    if entry.max_severity < LADDER_STEPS:
        ladder = {p: capped_ladder(info, p, entry.max_severity) for p in info.ladder}
        rationale += (
            f" Severity 5 is capped at the registry's severity {entry.max_severity:g}, "
            "the strongest level physically plausible here."
        )
    call = PrimitiveCall(name=entry.primitive, params=dict(entry.params), ladder=ladder)
    return CorruptionSpec(name=entry.primitive, rationale=rationale, recipe=[call], source="offline")


def capped_ladder(info: PrimitiveInfo, param: str, max_severity: float) -> list[float]:
    """Ladder values for severities 1..5 that reach the default ladder's value at ``max_severity``."""
    points = info.ladder_values(param)
    return [
        float(f"{interpolate(points, s * max_severity / LADDER_STEPS):.6g}")
        for s in range(1, LADDER_STEPS + 1)
    ]


# --------------------------------------------------------------------------- the critic


def critique(spec: CorruptionSpec, brief: DomainBrief) -> CriticVerdict:
    """Judge a spec against the knowledge base for the brief's domain (critic ``offline-rules``).

    Unrealistic when a primitive (or its family) is ruled out for the domain (also by what the brief
    says, e.g. a monochrome camera), when a recognised domain does not list it as suitable (a
    whitelist: score 0.3), or when the spec's severity-5 parameters lie further from the identity
    than the domain's ``max_severity`` allows. Only for the ``generic`` fallback are unlisted
    primitives judged plausible, with a lower score (0.5).
    """
    domain, _ = domain_for(brief)
    reasons: list[str] = []
    scores: list[float] = []
    realistic = True
    if domain.name == GENERIC:
        reasons.append("the domain was not recognised; judged against generic photography rules")
    for call in spec.recipe:
        name = call.name
        if name not in REGISTRY:
            realistic = False
            scores.append(0.0)
            reasons.append(f"{name} is not a registered corruption primitive")
            continue
        objection = domain.objection(name)
        entry = domain.entry(name)
        if objection is not None:
            realistic = False
            scores.append(0.05)
            scope = "" if objection.primitive else f" (family {objection.family})"
            reasons.append(f"{name}{scope} is unrealistic for {domain.title}: {objection.why}")
        elif entry is None and domain.name == GENERIC:
            scores.append(UNKNOWN_SCORE)
            reasons.append(
                f"{name} is not in the knowledge base for {domain.name}; judged plausible by default"
            )
        elif entry is None:
            realistic = False
            scores.append(UNLISTED_SCORE)
            reasons.append(
                f"{name} is unrealistic for {domain.title}: not among the corruptions the knowledge "
                f"base lists for {domain.name}"
            )
        else:
            excess = _excess(REGISTRY[name], call, entry.max_severity)
            if excess:
                realistic = False
                scores.append(0.3)
                reasons.append(
                    f"{name} at severity 5 is stronger than is physically plausible for {domain.title} "
                    f"({'; '.join(excess)}); rescale its ladder so severity 5 stays within the bound"
                )
            else:
                scores.append(PRIORITY_SCORE[entry.priority])
                reasons.append(f"{name}: {entry.rationale}")
    return CriticVerdict(
        realistic=realistic, score=min(scores) if scores else 0.0, reasons=reasons, critic=CRITIC
    )


def _excess(info: PrimitiveInfo, call: PrimitiveCall, max_severity: float) -> list[str]:
    """Ladder parameters whose severity-5 value is further from the identity than the bound allows."""
    out = []
    for param in info.ladder:
        identity = info.identity[param]
        v5 = info.ladder_values(param, call.ladder.get(param))[-1]
        default = info.ladder_values(param)
        grid = [s for s in range(LADDER_STEPS + 1) if s <= max_severity] + [max_severity]
        bound = max(abs(interpolate(default, s) - identity) for s in grid)
        if abs(v5 - identity) > bound * (1 + TOLERANCE) + 1e-12:
            limit = interpolate(default, max_severity)
            out.append(f"{param} = {v5:g}, plausible up to {limit:g} (registry severity {max_severity:g})")
    return out
