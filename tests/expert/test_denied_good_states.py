"""A denied good state states the fault: "we often don't get it quite sharp" is a focus problem, "the
camera is never level" a tilt; a denied fault ("no focus problems", "no rain") still rules it out."""

from __future__ import annotations

import pytest

from robustlens.expert.clauses import denies_good_state
from robustlens.expert.conditions import match_conditions
from robustlens.schemas import DomainBrief
from tests.expert.planned import planned_names as _names


@pytest.mark.parametrize(
    ("clause", "fault"),
    [
        ("the photos are never quite sharp", True),
        ("nobody can hold the scope steady", True),
        ("the tripod is not level on the gravel", True),
        ("the slide is rarely in focus at the edges", False),  # "rarely" is no negation cue
        ("no focus problems", False),
        ("the volunteers work without a steady hand", True),
        ("not a clean room", True),
    ],
)
def test_which_denials_deny_a_good_state(clause: str, fault: bool) -> None:
    assert denies_good_state(clause) is fault


def named_and_ruled_out(*items: str) -> tuple[list[str], list[str]]:
    brief = DomainBrief(domain="line", imaging_setup="A colour camera.", deployment_conditions=list(items))
    named, ruled_out = match_conditions(brief)
    return [m.condition for m in named], ruled_out


def test_a_picture_that_is_never_sharp_is_a_focus_problem() -> None:
    named, ruled_out = named_and_ruled_out("the nurse focuses by eye and the picture is never really sharp")
    assert "focus_drift" in named and "focus_drift" not in ruled_out


def test_a_denied_fault_still_rules_it_out() -> None:
    named, ruled_out = named_and_ruled_out("no focus problems: the lens is fixed")
    assert "focus_drift" not in named and "focus_drift" in ruled_out


def test_a_bench_camera_that_is_never_sharp_plans_a_defocus() -> None:
    bench = DomainBrief(
        domain="seed counting",
        description="Count seeds on germination paper in a lab.",
        imaging_setup="A fixed colour camera on a copy stand above the bench, LED panel light.",
        deployment_conditions=[
            "the technician focuses by hand and the picture is never quite sharp",
            "the paper is sometimes wet and shiny",
            "the panel light gets weaker over the months",
        ],
    )
    assert "defocus_blur" in _names(bench)
