"""'What I understood': the imaging-chain facts and conditions the expert read from a brief, each with
the user's own words, and the user's corrections to them.

The offline expert plans from the chain facts it infers (``robustlens.expert.chain.infer_chain``), so a
misreading ("over the water" read as underwater) would silently steer the whole audit. Showing the
facts with the words behind them lets the user catch that before anything runs. Corrections are stored
in the brief itself, so the saved brief.yaml reproduces them: fact overrides in ``brief.chain``
({"scene": ["indoor"], "sky_in_view": False}), added conditions and ruled-out ones ("no rain") in
``brief.deployment_conditions``.
"""

from __future__ import annotations

import re
import typing
from typing import Any

from pydantic import ValidationError

from robustlens.errors import UserInputError, did_you_mean
from robustlens.expert.facts import FACT_FIELDS, ChainFacts
from robustlens.schemas import DomainBrief

FIELDS = (*FACT_FIELDS, "sky_in_view")
LABELS = {"moving": "moves", "sky_in_view": "sky in view"}
QUESTION = (
    "Right? Enter to accept, or correct, e.g. 'scene=indoor', 'sky_in_view=no', 'no rain', 'add fog' "
    "(several at once: separate them with ';')."
)
HELP = (
    "A fact: FIELD=VALUE (a list: VALUE,VALUE; empty clears your override) with FIELD one of "
    + ", ".join(FIELDS)
    + ". A condition: 'add CONDITION' or 'no CONDITION'."
)
QUOTE_LIMIT = 80  # characters of the user's words quoted per fact (a longer clause is cut)
_NEGATE = re.compile(r"^(?:no|not|never|without|remove|drop)\s+(.+)$", re.IGNORECASE)
_ADD = re.compile(r"^add\s+(.+)$", re.IGNORECASE)
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}
_UNSET = {"", "?", "unknown", "not said"}


def infer(brief: DomainBrief) -> ChainFacts:
    """The expert's chain facts for ``brief`` (its overrides in ``brief.chain`` applied)."""
    from robustlens.expert.chain import infer_chain

    return infer_chain(brief)


def summary_lines(brief: DomainBrief) -> list[str]:
    """The 'What I understood' panel of a brief; [] when the expert's chain inference is not available."""
    try:
        facts = infer(brief)
    except ImportError:  # the chain inference is part of the expert; without it there is nothing to show
        return []
    return understood_lines(facts)


def understood_lines(facts: ChainFacts) -> list[str]:
    """The panel: one line per fact the brief states (with the words behind it), then the conditions."""
    lines = ["What I understood:"]
    for field in FIELDS:
        value = getattr(facts, field)
        if value is None or value == []:
            continue
        values = value if isinstance(value, list) else [value]
        parts = [(_show(v), _words_for(facts, field, v)) for v in values]
        shown = "; ".join(f"{v} <- {w}" if w else v for v, w in parts)
        if len(parts) == 1 and parts[0][1]:  # one value: the words after a wider gap, as before
            shown = f"{parts[0][0]}  <- {parts[0][1]}"
        lines.append(f"  {LABELS.get(field, field)}: {shown}")
    silent = [LABELS.get(f, f) for f in FIELDS if getattr(facts, f) in (None, [])]
    if silent:
        lines.append(f"  not said: {', '.join(silent)}")
    conditions = []
    for name in facts.condition_names():
        phrases = [c.phrase for c in facts.conditions if c.condition == name]
        user = any(c.method == "user" for c in facts.conditions if c.condition == name)
        conditions.append(
            name + (" (you added it)" if user else f' <- "{_clip(phrases[0])}"' if phrases else "")
        )
    lines.append("  conditions: " + ("; ".join(conditions) if conditions else "none named"))
    if facts.ruled_out:
        lines.append("  ruled out: " + ", ".join(facts.ruled_out))
    return lines


def _clip(text: str, limit: int = QUOTE_LIMIT) -> str:
    """A long clause cut at a word boundary, so a panel line stays readable ("..." marks the cut)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " ..."


def _show(value: object) -> str:
    return {True: "yes", False: "no"}.get(value, str(value)) if isinstance(value, bool) else str(value)


def _words_for(facts: ChainFacts, field: str, value: Any) -> str:
    """The brief's words behind one value of ``field``, quoted ("you set this" for the user's override,
    "implied by" for a default the expert derived from another fact)."""
    words: list[str] = []
    for ev in facts.evidence:
        name, _, got = ev.fact.partition("=")
        if name.strip() != field or got.strip().lower() != str(value).lower():
            continue
        if ev.method == "user":
            words.append("you set this")
        else:
            prefix = "implied by " if ev.method == "default" else ""
            words += [f'{prefix}"{_clip(p)}"' for p in ev.phrases]
    return ", ".join(dict.fromkeys(words))


# --------------------------------------------------------------------------- corrections


def apply_corrections(brief: DomainBrief, text: str) -> tuple[DomainBrief, list[str]]:
    """The brief with the user's corrections applied, and a note per change; UserInputError when one is
    not understood (nothing is applied then, so the question can simply be asked again)."""
    changed, notes = brief, []
    for part in _parts(text):
        changed, note = _apply_one(changed, part)
        notes.append(note)
    return changed, notes


def _parts(text: str) -> list[str]:
    """Corrections separated by ';' (or ','; a bare word after FIELD=VALUE extends that list)."""
    parts: list[str] = []
    for chunk in re.split(r"[;\n]+", text):
        for piece in (p.strip() for p in chunk.split(",")):
            if not piece:
                continue
            if parts and "=" in parts[-1] and "=" not in piece and " " not in piece:
                parts[-1] += "," + piece
            else:
                parts.append(piece)
    return parts


def _apply_one(brief: DomainBrief, part: str) -> tuple[DomainBrief, str]:
    if "=" in part:
        return _set_fact(brief, *(s.strip() for s in part.split("=", 1)))
    if m := _NEGATE.match(part):
        return _rule_out(brief, m.group(1).strip())
    if m := _ADD.match(part):
        return _add(brief, m.group(1).strip())
    raise UserInputError(
        f"Not a correction: {part!r}.",
        why="a correction sets a fact (FIELD=VALUE) or adds or rules out a condition.",
        fix="e.g. 'scene=indoor', 'sky_in_view=no', 'no rain', 'add fog'; Enter accepts.",
        field="understood",
    )


def _set_fact(brief: DomainBrief, field: str, raw: str) -> tuple[DomainBrief, str]:
    field = field.lower().replace(" ", "_")
    if field not in FIELDS:
        hint = did_you_mean(field, FIELDS)
        raise UserInputError(
            f"No chain fact is named {field!r}. {hint}".strip(),
            fix=f"Facts: {', '.join(FIELDS)}.",
            field="understood",
        )
    chain = dict(brief.chain)
    if raw.strip().lower() in _UNSET:
        chain.pop(field, None)
        return brief.model_copy(update={"chain": chain}), f"{field}: back to what the brief says."
    value = _parse_value(field, raw)
    chain[field] = value
    return brief.model_copy(update={"chain": chain}), f"{field} = {_show_value(value)}."


def _parse_value(field: str, raw: str) -> Any:
    if field == "sky_in_view":
        word = raw.strip().lower()
        if word in _YES | _NO:
            return word in _YES
        raise UserInputError(
            f"sky_in_view={raw!r} is not yes or no.",
            fix="Write sky_in_view=yes or sky_in_view=no.",
            field="understood",
        )
    values = [
        v.strip().lower().replace(" ", "_").replace("-", "_") for v in re.split(r"[,+]", raw) if v.strip()
    ]
    value: Any = values[0] if field == "modality" else values
    if field == "modality" and len(values) > 1:
        raise UserInputError(f"modality takes one value, not {len(values)}.", field="understood")
    try:
        ChainFacts.model_validate({field: value})
    except ValidationError:
        allowed = _allowed(field)
        bad = [v for v in values if v not in allowed]
        hint = did_you_mean(bad[0], allowed) if bad else ""
        raise UserInputError(
            f"{field}={raw!r}: {', '.join(bad) or raw} is not a {field} value. {hint}".strip(),
            fix=f"{field} is one of: {', '.join(allowed)}.",
            field="understood",
        ) from None
    return value


def _allowed(field: str) -> list[str]:
    """The Literal values a ChainFacts field accepts (for 'one of: ...')."""
    annotation = ChainFacts.model_fields[field].annotation
    found: list[str] = []

    def walk(tp: Any) -> None:
        if typing.get_origin(tp) is typing.Literal:
            found.extend(str(a) for a in typing.get_args(tp))
        for arg in typing.get_args(tp):
            walk(arg)

    walk(annotation)
    return list(dict.fromkeys(found))


def _show_value(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else _show(value)


def _conditions_named(text: str) -> list[str]:
    """The knowledge-base conditions that ``text`` names, as the expert reads it."""
    probe = DomainBrief(domain="-", deployment_conditions=[text])
    return [c.condition for c in infer(probe).conditions if c.phrase and c.method != "user"]


def _known(text: str) -> list[str]:
    names = _conditions_named(text)
    if not names:
        raise UserInputError(
            f"I know no deployment condition called {text!r}.",
            why="a condition must be one the expert can turn into corruptions.",
            fix="Use the condition's name as shown under 'conditions', or describe it in other words "
            "(e.g. 'add fog', 'no rain').",
            field="understood",
        )
    return names


def _add(brief: DomainBrief, text: str) -> tuple[DomainBrief, str]:
    names = _known(text)
    kept = [c for c in brief.deployment_conditions if not set(_negated(c)) & set(names)]
    conditions = kept if any(c.strip().lower() == text.lower() for c in kept) else [*kept, text]
    return brief.model_copy(update={"deployment_conditions": conditions}), f"Added {', '.join(names)}."


def _rule_out(brief: DomainBrief, text: str) -> tuple[DomainBrief, str]:
    names = _known(text)
    kept = [
        c
        for c in brief.deployment_conditions
        if _is_negation(c) or not set(_conditions_named(c)) & set(names)
    ]
    statement = f"no {text}"
    conditions = kept if statement.lower() in (c.lower() for c in kept) else [*kept, statement]
    return brief.model_copy(update={"deployment_conditions": conditions}), f"Ruled out {', '.join(names)}."


def _is_negation(text: str) -> bool:
    return bool(_NEGATE.match(text.strip()))


def _negated(text: str) -> list[str]:
    """The conditions a ruling-out entry ("no rain") names; [] for any other entry."""
    m = _NEGATE.match(text.strip())
    return _conditions_named(m.group(1)) if m else []
