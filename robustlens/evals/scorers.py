"""Pure scoring functions for corruption plans against a scenario's expert rules.

DeepBench (arXiv 2506.23663) checked LLM-chosen corruptions against expert whitelist/blacklist
rules per domain over 10 seeded runs and a majority vote; these scorers generalise that check:
forbidden primitives or families (``violations``), required groups (``coverage``), physical severity
bounds (``violations``/``severity_excess``), plus validity, diversity and run-to-run consistency.
Nothing here plans, prints or touches the network.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Collection, Iterable, Sequence

from robustlens.corruptions import REGISTRY, compile_plan
from robustlens.corruptions.base import LADDER_STEPS, interpolate
from robustlens.errors import UserInputError
from robustlens.evals.scenarios import Rules
from robustlens.schemas import CorruptionPlan, CorruptionSpec, PrimitiveCall

TOLERANCE = 1e-4  # relative slack: ladders in plans are often rounded to a few digits


def plan_primitives(plan: CorruptionPlan) -> list[str]:
    """Every primitive a plan uses (over all recipes), in first-use order, without repeats."""
    return list(dict.fromkeys(call.name for spec in plan.specs for call in spec.recipe))


def _matches(rule: str, primitive: str) -> bool:
    """A rule name matches a primitive by its own name or by its family."""
    return rule == primitive or (primitive in REGISTRY and REGISTRY[primitive].family == rule)


def forbidden_hits(primitives: Iterable[str], rules: Rules) -> list[str]:
    """must_not messages for a set of primitive names (used for plans and majority plans)."""
    out = []
    for name in dict.fromkeys(primitives):
        hit = rules.rule_for(name)
        if hit is not None:
            rule, why = hit
            scope = "" if rule == name else f" (family {rule})"
            out.append(f"{name}{scope} must not appear: {why}")
    return out


def severity_excess(call: PrimitiveCall, bound: float, severities: Sequence[float]) -> list[str]:
    """Ladder parameters of ``call`` stronger, at some planned severity, than the bound allows.

    A parameter's strength is its distance from the identity value. At each planned severity the
    call's (possibly overridden) ladder is interpolated and compared with the default ladder
    interpolated at ``bound`` (in default-ladder severity units, e.g. ``scan_skew: 3`` = 3.5 deg):
    ``|ladder(s) - identity| > |default(bound) - identity|`` is an excess. For a non-monotonic default
    ladder the limit is the strongest default value at or below the bound. Fixed params are not checked.
    """
    if call.name not in REGISTRY:
        return []
    info = REGISTRY[call.name]
    grid = [float(s) for s in range(LADDER_STEPS + 1) if s <= bound] + [float(bound)]
    top = [float(s) for s in severities if s > 0] or [float(LADDER_STEPS)]
    out = []
    for param in info.ladder:
        identity = info.identity[param]
        default = info.ladder_values(param)
        limit = max(abs(interpolate(default, s) - identity) for s in grid)
        try:
            points = info.ladder_values(param, call.ladder.get(param))
        except (TypeError, ValueError):
            continue  # a malformed ladder is a validity problem, not a severity one
        strength, at = max((abs(interpolate(points, s) - identity), s) for s in top)
        if strength > limit * (1 + TOLERANCE) + 1e-12:
            value = interpolate(points, at)
            allowed = identity + limit if value >= identity else identity - limit
            out.append(
                f"{call.name}.{param} = {value:g} at severity {at:g} exceeds the physical bound "
                f"{allowed:g} (default-ladder severity {bound:g})"
            )
    return out


def violations(plan: CorruptionPlan, rules: Rules) -> list[str]:
    """Every rule a plan breaks, one message each: forbidden primitives/families and severity bounds.

    A forbidden primitive is reported once per spec that uses it (prefixed with the spec name); a
    bounded primitive is checked at every severity the plan evaluates.
    """
    out = []
    for spec in plan.specs:
        out += [f"{spec.name}: {msg}" for msg in forbidden_hits((c.name for c in spec.recipe), rules)]
        out += _breaches(spec, rules, plan.severities)
    return out


def _breaches(spec: CorruptionSpec, rules: Rules, severities: Sequence[float]) -> list[str]:
    out = []
    for call in spec.recipe:
        bound = rules.severity_bounds.get(call.name)
        if bound is not None:
            out += [f"{spec.name}: {msg}" for msg in severity_excess(call, bound, severities)]
    return out


def severity_breaches(plan: CorruptionPlan, rules: Rules) -> list[str]:
    """The severity-bound part of ``violations``: ladders stronger than the scenario's physical bounds."""
    return [msg for spec in plan.specs for msg in _breaches(spec, rules, plan.severities)]


def missing_groups(primitives: Collection[str], rules: Rules) -> list[list[str]]:
    """The must_include_any groups none of whose members (primitive or family) is among ``primitives``."""
    return [g for g in rules.must_include_any if not any(_matches(r, p) for r in g for p in primitives)]


def group_coverage(primitives: Collection[str], rules: Rules) -> float:
    """Share of must_include_any groups satisfied by a set of primitive names (1.0 without groups)."""
    groups = rules.must_include_any
    if not groups:
        return 1.0
    return (len(groups) - len(missing_groups(primitives, rules))) / len(groups)


def coverage(plan: CorruptionPlan, rules: Rules) -> float:
    """Share of the scenario's must_include_any groups with at least one member in the plan."""
    return group_coverage(plan_primitives(plan), rules)


def validity(plan: CorruptionPlan | None) -> bool:
    """Whether the plan exists and compiles against the primitive registry."""
    if plan is None:
        return False
    try:
        compile_plan(plan)
    except UserInputError:
        return False
    return True


def diversity(plan: CorruptionPlan) -> float:
    """Distinct primitive families in the plan divided by its number of specs, capped at 1.0.

    1.0 means every spec comes from a different family; a plan of five blurs scores 0.2.
    """
    families = {REGISTRY[p].family for p in plan_primitives(plan) if p in REGISTRY}
    return min(1.0, len(families) / len(plan.specs))


def jaccard(a: Collection[str], b: Collection[str]) -> float:
    """|A ∩ B| / |A ∪ B| (two empty sets are identical: 1.0)."""
    sa, sb = set(a), set(b)
    return 1.0 if not sa and not sb else len(sa & sb) / len(sa | sb)


def _sets(plans: Sequence[CorruptionPlan | Collection[str]]) -> list[set[str]]:
    return [set(plan_primitives(p)) if isinstance(p, CorruptionPlan) else set(p) for p in plans]


def consistency(plans: Sequence[CorruptionPlan | Collection[str]]) -> float:
    """Mean pairwise Jaccard similarity of the primitive sets chosen across K seeded runs (1.0 if K < 2)."""
    sets = _sets(plans)
    pairs = list(itertools.combinations(sets, 2))
    return sum(jaccard(a, b) for a, b in pairs) / len(pairs) if pairs else 1.0


def majority_plan(plans: Sequence[CorruptionPlan | Collection[str]]) -> list[str]:
    """Primitives chosen in more than half of the K runs (DeepBench's majority vote), most frequent first."""
    sets = _sets(plans)
    counts = Counter(p for s in sets for p in s)
    return sorted((p for p, n in counts.items() if n > len(sets) / 2), key=lambda p: (-counts[p], p))
