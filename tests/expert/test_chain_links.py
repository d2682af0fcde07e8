"""A satellite that carries pictures home is a transmission link, not the sensor: a camera whose frames go
out over a satellite uplink is no spectral imager in orbit (no band misalignment, no orbit scene).

Briefs are written for these tests in new words (not taken from the eval scenarios).
"""

from __future__ import annotations

from robustlens.expert.chain import infer_chain
from robustlens.schemas import DomainBrief


def _brief(setup: str) -> DomainBrief:
    return DomainBrief(domain="remote weather station", description="Judge cloud cover.", imaging_setup=setup)


def test_a_satellite_uplink_is_a_link_not_the_sensor() -> None:
    setup = "A webcam on a mountain hut looks at the valley; frames leave over a satellite uplink."
    facts = infer_chain(_brief(setup))
    assert "satellite" not in facts.sensor and "orbit" not in facts.scene, facts.evidence
    assert "bandwidth_limited" in facts.processing, facts.evidence


def test_satellite_imagery_still_sets_the_sensor() -> None:
    facts = infer_chain(_brief("Cloud masks are drawn on multispectral satellite imagery of the valley."))
    assert "satellite" in facts.sensor and "orbit" in facts.scene, facts.evidence
