"""Planted-unrealistic test of a critic: does it flag corruptions an expert rules out?

For every scenario, specs are planted from its rules:

- ``forbidden``: each must_not primitive (a forbidden family contributes one representative, e.g. rain
  for weather, or all its members with ``all_family_members=True``) at its default ladder;
- ``too_strong``: each severity-bounded primitive at its full default ladder (severity 5 beyond the bound);
- ``realistic``: the first allowed member of each must_include_any group, at a moderate strength: its
  ladder capped at default-ladder severity ``REALISTIC_CAP`` (3) or the scenario's bound if lower, so a
  negative is unambiguous (the critic may rightly object to a primitive's most extreme default level).

The critic's "unrealistic" flag is scored as a binary classifier: precision = flagged-and-planted /
flagged, recall = flagged-and-planted / planted. Critic failures (an LLM error) are recorded and left
out of both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

from pydantic import Field

from robustlens.corruptions import REGISTRY
from robustlens.corruptions.base import LADDER_STEPS, interpolate
from robustlens.evals.scenarios import Scenario, members
from robustlens.schemas import CorruptionSpec, CriticVerdict, DomainBrief, Model, PrimitiveCall

Kind = Literal["forbidden", "too_strong", "realistic"]
Critic = Callable[[CorruptionSpec, DomainBrief], CriticVerdict]
REALISTIC_CAP = 3.0

# The member that best stands for a forbidden family ("rain on MRI", "snow in a microscope").
REPRESENTATIVE = {
    "weather": "rain",
    "satellite": "cloud_cover",
    "document": "halftone",
    "manufacturing": "vibration_blur",
    "medical": "mri_ghosting",
    "noise": "impulse_noise",
    "blur": "zoom_blur",
    "light": "white_balance",
    "optics": "water_droplets",
    "digital": "color_quantization",
    "geometric": "flip",
}


class CriticCase(Model):
    """A spec with a known answer: ``unrealistic`` is the expert's ground truth."""

    scenario: str
    kind: Kind
    unrealistic: bool
    spec: CorruptionSpec
    why: str = ""


class CriticOutcome(Model):
    scenario: str
    kind: Kind
    spec: str
    unrealistic: bool
    flagged: bool | None = Field(None, description="critic said unrealistic; None when the critic failed")
    score: float | None = None
    reasons: list[str] = Field(default_factory=list)
    error: str | None = None


class CriticEval(Model):
    critic: str
    cases: list[CriticOutcome] = Field(default_factory=list)
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    true_negatives: int = 0
    errors: int = 0
    precision: float | None = Field(None, description="None when nothing was flagged")
    recall: float | None = Field(None, description="None when nothing was planted")

    def misses(self) -> list[CriticOutcome]:
        """Planted specs the critic let through."""
        return [c for c in self.cases if c.unrealistic and c.flagged is False]

    def false_alarms(self) -> list[CriticOutcome]:
        """Realistic specs the critic rejected."""
        return [c for c in self.cases if not c.unrealistic and c.flagged is True]


def capped_ladder(primitive: str, param: str, bound: float) -> list[float]:
    """Severities 1..5 mapped onto the default ladder's 0..bound, so severity 5 sits at the bound."""
    points = REGISTRY[primitive].ladder_values(param)
    return [round(interpolate(points, s * bound / LADDER_STEPS), 6) for s in range(1, LADDER_STEPS + 1)]


def _spec(prefix: str, primitive: str, why: str, bound: float | None = None) -> CorruptionSpec:
    ladder = {}
    if bound is not None and bound < LADDER_STEPS:
        ladder = {p: capped_ladder(primitive, p, bound) for p in REGISTRY[primitive].ladder}
    call = PrimitiveCall(name=primitive, ladder=ladder)
    return CorruptionSpec(name=f"{prefix}_{primitive}", rationale=why, recipe=[call], source="user")


def planted_cases(scenario: Scenario, all_family_members: bool = False) -> list[CriticCase]:
    """The planted (unrealistic) and realistic specs for one scenario, in a fixed order."""
    rules = scenario.rules
    cases: list[CriticCase] = []
    seen: set[tuple[str, str]] = set()

    def add(kind: Kind, primitive: str, why: str, bound: float | None = None) -> None:
        prefix = {"forbidden": "planted", "too_strong": "too_strong", "realistic": "realistic"}[kind]
        if (kind, primitive) in seen:
            return
        seen.add((kind, primitive))
        spec = _spec(prefix, primitive, why, bound)
        cases.append(
            CriticCase(scenario=scenario.name, kind=kind, unrealistic=kind != "realistic", spec=spec, why=why)
        )

    for name, why in rules.must_not.items():
        if name in REGISTRY:
            add("forbidden", name, why)
            continue
        family = members(name)
        picks = family if all_family_members else [REPRESENTATIVE.get(name, family[0])]
        for primitive in picks:
            add("forbidden", primitive, why)
    for primitive, bound in rules.severity_bounds.items():
        if bound < LADDER_STEPS:
            add("too_strong", primitive, f"default ladder beyond the physical bound (severity {bound:g})")
    forbidden = set(rules.forbidden())
    for group in rules.must_include_any:
        allowed = [p for name in group for p in members(name) if p not in forbidden]
        if allowed:
            primitive = allowed[0]
            cap = min(rules.severity_bounds.get(primitive, REALISTIC_CAP), REALISTIC_CAP)
            add("realistic", primitive, f"expert-required group {group}", cap)
    return cases


def offline_critic() -> Critic:
    """The offline rule critic (``robustlens.expert.critic.critique``)."""
    from robustlens.expert.critic import critique

    return critique


def llm_critic(client: Any) -> Critic:
    """An LLM critic through ``llm_critique`` (text only: no SSIM or thumbnails in this test)."""
    from robustlens.llm.critic import llm_critique

    def judge(spec: CorruptionSpec, brief: DomainBrief) -> CriticVerdict:
        return llm_critique(client, spec, brief, ssim={})

    return judge


def evaluate_critic(
    scenarios: Iterable[Scenario],
    critic: Critic | Any = "offline",
    all_family_members: bool = False,
    name: str | None = None,
) -> CriticEval:
    """Run a critic on every planted and realistic case and score its "unrealistic" flag.

    ``critic`` is ``"offline"`` (the rule critic), an ``LLMClient`` (judged with ``llm_critique``) or
    any ``(spec, brief) -> CriticVerdict`` callable.
    """
    from robustlens.llm.client import LLMClient, LLMError

    if critic == "offline":
        judge, label = offline_critic(), "offline-rules"
    elif isinstance(critic, LLMClient):
        judge, label = llm_critic(critic), critic.name
    else:
        judge, label = critic, getattr(critic, "__name__", "custom")
    outcomes = []
    for scenario in scenarios:
        for case in planted_cases(scenario, all_family_members):
            out = CriticOutcome(
                scenario=case.scenario, kind=case.kind, spec=case.spec.name, unrealistic=case.unrealistic
            )
            try:
                verdict = judge(case.spec, scenario.brief)
            except (LLMError, ValueError) as exc:  # ValueError covers pydantic's ValidationError
                out.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
            else:
                out.flagged, out.score, out.reasons = not verdict.realistic, verdict.score, verdict.reasons
            outcomes.append(out)
    return score_outcomes(name or label, outcomes)


def score_outcomes(critic: str, outcomes: list[CriticOutcome]) -> CriticEval:
    """Confusion counts, precision and recall of the "unrealistic" flag."""
    judged = [o for o in outcomes if o.flagged is not None]
    tp = sum(o.unrealistic and bool(o.flagged) for o in judged)
    fp = sum(not o.unrealistic and bool(o.flagged) for o in judged)
    fn = sum(o.unrealistic and not o.flagged for o in judged)
    tn = sum(not o.unrealistic and not o.flagged for o in judged)
    return CriticEval(
        critic=critic,
        cases=outcomes,
        true_positives=tp,
        false_positives=fp,
        false_negatives=fn,
        true_negatives=tn,
        errors=len(outcomes) - len(judged),
        precision=tp / (tp + fp) if tp + fp else None,
        recall=tp / (tp + fn) if tp + fn else None,
    )
