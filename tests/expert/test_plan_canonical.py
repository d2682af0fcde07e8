"""Plans cover every condition the user names, whatever its wording or order (issue 12)."""

from __future__ import annotations

from robustlens.expert.critic import critique
from robustlens.expert.direct import direct_matches
from robustlens.expert.planner import analyse, plan_from_brief
from robustlens.schemas import Budget, DomainBrief
from tests.expert.planned import planned_names as _names

LABELS = DomainBrief(
    domain="shelf label reader",
    imaging_setup="store staff photograph shelf labels with their phones",
    # no knowledge-base condition knows this effect by these words; the primitive's own description does
    deployment_conditions=["rainbow edges around the printed digits"],
    budget=Budget(max_corruptions=4),
)


def test_a_condition_no_knowledge_base_entry_knows_is_matched_to_a_primitive() -> None:
    a = analyse(LABELS)
    clause = "rainbow edges around the printed digits"
    assert not [m for m in a.facts.conditions if m.phrase == clause], "no knowledge-base condition knows it"
    assert [d.primitive for d in a.direct] == ["chromatic_aberration"]
    spec = next(s for s in plan_from_brief(LABELS).specs if s.name == "chromatic_aberration")
    assert "rainbow edges around the printed digits" in spec.rationale
    assert critique(spec, LABELS).realistic
    # only what the chain allows: no colour fringes for a CT slice, whatever the words say
    assert direct_matches(["rainbow edges around the printed digits"], candidates=["xray_low_dose"]) == []
    assert direct_matches(["no rainbow edges"], candidates=["chromatic_aberration"]) == []


def test_the_order_of_the_named_conditions_does_not_change_the_plan() -> None:
    conditions = [
        "fog rolls in at dawn",
        "rain on the lens",
        "the mast shakes in the wind",
        "low sun straight into the camera",
        "snow in winter",
        "dust from the road",
    ]
    brief = DomainBrief(
        domain="roadside webcam",
        imaging_setup="outdoor camera on a mast with the sky in view, JPEG upload",
        deployment_conditions=conditions,
        budget=Budget(max_corruptions=5),
    )
    first = _names(brief)
    for order in (conditions[::-1], conditions[2:] + conditions[:2]):
        assert sorted(_names(brief.model_copy(update={"deployment_conditions": order}))) == sorted(first)


def test_a_named_condition_beats_a_domain_objection() -> None:
    # the drone prior objects to frost (icing grounds an aircraft), but this user names it
    brief = DomainBrief(
        domain="drone inspection of wind turbines",
        imaging_setup="drone camera flying outdoors around the turbine blades",
        deployment_conditions=["frost on the lens on cold mornings"],
        budget=Budget(max_corruptions=4),
    )
    a = analyse(brief)
    assert a.prior_ok and a.domain.objection("frost") is not None
    assert "frost" in a.candidates and "frost" in _names(brief)


def test_the_sensor_wins_over_a_domain_prior_that_objects_to_it() -> None:
    # an MRI-like prior from the words, a CT chain from the user's confirmed facts: CT's own noise
    brief = DomainBrief(
        domain="brain MRI",
        imaging_setup="1.5 T clinical MRI scanners",
        chain={"sensor": ["ct"], "modality": "tomographic"},
        budget=Budget(max_corruptions=4),
    )
    assert analyse(brief).conflict == "xray_low_dose"
    assert "xray_low_dose" in _names(brief) and "mri_ghosting" not in _names(brief)
