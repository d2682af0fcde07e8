"""A spec that fails validation only because its ladder is out of scale is rescaled, not replaced."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from robustlens.replacement import validate_with_replacements
from robustlens.schemas import CorruptionPlan, CorruptionSpec, DomainBrief, PrimitiveCall
from robustlens.stages.validate import _summary
from robustlens.validation import Thresholds, validate_spec

BRIEF = DomainBrief(
    domain="restaurant menu reader",
    imaging_setup="Diners hold their own phones over the table",
    deployment_conditions=["greasy fingerprints on the lens", "shaky hands"],
)
# severity 5 inside the critic's plausibility bound for this brief (as the planner writes it)
DIRTY = CorruptionSpec(
    name="dirty_lens",
    recipe=[PrimitiveCall(name="dirty_lens", ladder={"strength": [0.12, 0.24, 0.36, 0.48, 0.6]})],
)


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[np.ndarray]:
    """Smooth photo-like JPEGs (gradients and a disc), written and read back like the user's files."""
    out = []
    folder = tmp_path_factory.mktemp("photos")
    for k in range(2):
        y, x = np.mgrid[0:384, 0:512]
        im = np.stack([x * 255 / 512, y * 255 / 384, np.full(x.shape, 120.0)], -1).astype(np.uint8)
        cv2.circle(im, (200 + 30 * k, 180), 60, (200, 40, 40), -1)
        path = folder / f"p{k}.jpg"
        cv2.imwrite(str(path), im, [cv2.IMWRITE_JPEG_QUALITY, 92])
        out.append(cv2.imread(str(path))[:, :, ::-1].copy())
    return out


@pytest.fixture(scope="module")
def small_photos() -> list[np.ndarray]:
    """Six 160x120 photo-like images (cheap: these tests are about the stretch, not the size)."""
    out = []
    for k in range(6):
        y, x = np.mgrid[0:120, 0:160]
        im = np.stack([x * 255 / 160, y * 255 / 120, np.full(x.shape, 90.0 + 10 * k)], -1).astype(np.uint8)
        cv2.circle(im, (64 + 8 * k, 60), 20, (200, 40, 40), -1)
        _, buf = cv2.imencode(".jpg", im, [cv2.IMWRITE_JPEG_QUALITY, 92])
        out.append(cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1].copy())
    return out


def _one(name: str, primitive: str, **ladder: list[float]) -> CorruptionSpec:
    return CorruptionSpec(name=name, recipe=[PrimitiveCall(name=primitive, ladder=ladder)])


def _failed(spec: CorruptionSpec, images: list[np.ndarray]) -> set[str]:
    return {c.name for c in validate_spec(spec, images).checks if not c.passed}


def _kept(plan: CorruptionPlan | None, reports: list, name: str) -> tuple[CorruptionSpec, list[float]]:
    assert plan is not None
    (spec,) = plan.specs
    (report,) = [r for r in reports if r.spec_name == name]
    assert spec.name == name and report.ok and any(c.name == "rescaled" for c in report.checks)
    return spec, list(report.ssim_by_severity.values())


def _plan(*specs: CorruptionSpec) -> CorruptionPlan:
    return CorruptionPlan(specs=list(specs), planner="test")


def test_a_too_mild_ladder_is_rescaled_and_keeps_its_primitive(photos: list[np.ndarray]) -> None:
    assert not validate_spec(DIRTY, photos).ok  # the premise: s1 is indistinguishable from clean
    plan, reports, notes = validate_with_replacements(_plan(DIRTY), BRIEF, photos)
    assert plan is not None
    (spec,) = plan.specs
    assert spec.name == "dirty_lens" and [c.name for c in spec.recipe] == ["dirty_lens"]
    (report,) = [r for r in reports if r.spec_name == "dirty_lens"]
    values = list(report.ssim_by_severity.values())
    assert report.ok and values[0] < Thresholds().identity_ssim
    assert spec.recipe[0].ladder["strength"][-1] == pytest.approx(0.6)  # s5 kept for the critic's bound
    assert "ladder rescaled" in notes[0] and "severity 1" in notes[0]
    assert "ladder rescaled" in plan.notes and "ladder rescaled" in spec.rationale
    assert any(c.name == "rescaled" for c in report.checks)
    # the run's summary line says the pass came after rescaling, not a plain "1 pass"
    assert _summary(reports) == ["Validated 1 spec: 1 pass (1 after rescaling the ladder: dirty_lens)."]


def test_a_broken_recipe_still_goes_to_the_replacement_proposer(photos: list[np.ndarray]) -> None:
    broken = CorruptionSpec(name="smudge", recipe=[PrimitiveCall(name="dirty_lens", params={"nope": 1})])
    asked: list[str] = []

    def propose(plan: CorruptionPlan, spec: CorruptionSpec, reason: str) -> CorruptionSpec | None:
        asked.append(spec.name)
        return None

    plan, _, notes = validate_with_replacements(_plan(broken), BRIEF, photos, propose=propose)
    assert asked == ["smudge"] and plan is None
    assert "dropped" in notes[0] and "rescaled" not in notes[0]


def test_a_ladder_that_destroys_at_severity_5_is_pulled_back_toward_the_identity(
    small_photos: list[np.ndarray],
) -> None:
    """The expert's own shot-noise ladder for a phone brief leaves SSIM ~0.03 at severity 5 on smooth
    photos (noise swamps the little structure there is): it is weakened, not swapped for another noise."""
    ladder = [0.0133, 0.0307, 0.0573, 0.1067, 0.2]
    shot = _one("shot_noise", "shot_noise", strength=ladder)
    assert _failed(shot, small_photos) == {"not_destroyed"}  # the premise
    plan, reports, notes = validate_with_replacements(_plan(shot), BRIEF, small_photos)
    spec, values = _kept(plan, reports, "shot_noise")
    new = spec.recipe[0].ladder["strength"]
    assert values[-1] > Thresholds().destroyed_ssim + 0.03 and values == sorted(values, reverse=True)
    share = new[-1] / ladder[-1]  # one share of the distance from the identity (0) for every severity
    assert 0 < share < 1 and new == pytest.approx([v * share for v in ladder], abs=1e-6)
    assert "severity 5 destroyed" in notes[0] and "pulled back" in notes[0]


def test_a_reversed_ladder_is_sorted(small_photos: list[np.ndarray]) -> None:
    """Shaky hands, but the ladder was written strongest first: SSIM rises with severity. Sorting each
    parameter by its distance from the identity restores the order and keeps the same values."""
    length, decay = [31.0, 31.0, 31.0, 27.0, 16.8], [12.0, 8.8, 6.2, 4.2, 2.6]
    blur = _one("motion_blur", "motion_blur", length=length, decay=decay)
    assert _failed(blur, small_photos) == {"monotone"}  # the premise
    plan, reports, notes = validate_with_replacements(_plan(blur), BRIEF, small_photos)
    spec, values = _kept(plan, reports, "motion_blur")
    assert spec.recipe[0].ladder == {"length": sorted(length), "decay": sorted(decay)}
    assert values == sorted(values, reverse=True)
    assert "did not fall" in notes[0] and "sorted" in notes[0] and "then" not in notes[0]


def test_a_reversed_ladder_that_then_destroys_is_sorted_and_pulled_back(
    small_photos: list[np.ndarray],
) -> None:
    """Reversed, its strongest value hidden at severity 1: sorted, severity 5 destroys, so pulled back."""
    shot = _one("shot_noise", "shot_noise", strength=[0.2, 0.1067, 0.0573, 0.0307, 0.0133])
    plan, reports, notes = validate_with_replacements(_plan(shot), BRIEF, small_photos)
    spec, values = _kept(plan, reports, "shot_noise")
    new = spec.recipe[0].ladder["strength"]
    assert new == sorted(new) and new[-1] < 0.2 and values[-1] > Thresholds().destroyed_ssim
    assert "sorted; then severity 5 destroyed" in notes[0]
