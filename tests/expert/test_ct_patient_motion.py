"""A patient who moves during a CT rotation blurs the reconstruction: the projections no longer agree, so
edges smear and double (Boas & Fleischmann 2012, "CT artifacts: causes and reduction techniques",
Imaging in Medicine 4(2)). Motion blur is therefore possible in CT when something moves; an MRI scan
still shows motion as ghosting along the phase-encoding direction, never as a photographic smear."""

from __future__ import annotations

from robustlens.expert.critic import critique
from robustlens.schemas import CorruptionSpec, DomainBrief, PrimitiveCall
from tests.expert.planned import planned_names


def brief(scanner: str, motion: str) -> DomainBrief:
    return DomainBrief(
        domain="emergency head imaging",
        description="Triage of head scans for bleeding.",
        imaging_setup=scanner,
        deployment_conditions=[motion, "images sent as JPEG"],
        labels=["bleed", "no bleed"],
    )


def test_a_moving_patient_blurs_a_ct_scan() -> None:
    moving = brief("A 16-slice CT scanner.", "confused patients move their heads")
    assert "motion_blur" in planned_names(moving)
    assert "motion_blur" in planned_names(brief("Helical CT.", "head motion"))


def test_an_mri_scan_shows_the_same_motion_as_ghosting() -> None:
    names = planned_names(brief("A 1.5 T MRI scanner.", "confused patients move their heads"))
    assert "motion_blur" not in names
    assert "mri_ghosting" in names


def test_the_rule_critic_rules_motion_blur_out_for_mri_only() -> None:
    spec = CorruptionSpec(name="smear", recipe=[PrimitiveCall(name="motion_blur")])
    ct = critique(spec, brief("A 16-slice CT scanner.", "the patient moves"))
    mri = critique(spec, brief("A 1.5 T MRI scanner.", "the patient moves"))
    assert not any("ruled out" in r for r in ct.reasons), ct.reasons  # at most a severity bound
    assert not mri.realistic and any("ruled out by the chain" in r for r in mri.reasons), mri.reasons
