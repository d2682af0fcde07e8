"""The offline expert's fixed questionnaire: free-text answers -> a ``DomainBrief``.

The questions are data (``knowledge.yaml``); each answer is parsed and checked as it is given, so a
chat can re-ask at once.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from robustlens.errors import UserInputError
from robustlens.expert.knowledge import (
    GENERIC,
    Question,
    load_knowledge,
    match_domain,
)
from robustlens.schemas import (
    Budget,
    DomainBrief,
    ImageSource,
)

NONE_WORDS = {"none", "no", "n/a", "na", "-", "label-free", "unlabeled", "unlabelled", "no labels"}

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
