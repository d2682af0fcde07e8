"""The offline expert's acceptance test over the development split, shared by two test modules.

The test plans every dev scenario and its paraphrases (a few minutes on two cores); one module per half
(even and odd positions in the sorted scenario list) lets two test workers share it. Each module then runs
the rule critic's planted test on its half, after the acceptance tests, so the chain analyses of those
briefs are already cached in that worker (run cold, the critic test alone took ~55 s).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from robustlens.evals import evaluate_critic, load_scenarios, run_evals
from robustlens.evals.scenarios import Scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "evals" / "scenarios"
# the acceptance test is the development split's: the held-out split is never tuned against
DEV = sorted((s for s in load_scenarios(SCENARIOS) if s.split != "heldout"), key=lambda s: s.name)

# Scenarios of the retired held-out splits that the offline expert still fails
# (issue 12 is not resolved; its note gives each cause). Strict: a fix that makes one pass fails here
# until it is removed from this list, so the list can only shrink.
KNOWN_FAILING = {
    "bladder_scanner_ward_ultrasound",
    "chat_screenshot_translator",
    "colposcopy_clinic",
    "concrete_3d_printer_bead_camera",
    "deep_sea_lander_camera",
    "equine_dental_float_camera",
    "fetal_brain_mri_third_trimester",
    "fetoscopy_laser_twin_surgery",
    "glacier_timelapse",
    "gym_rep_counter_camera",
    "hobby_brick_sorter_camera",
    "hull_cleaning_crawler_camera",
    "hydro_dam_trash_rack_camera",
    "ice_hockey_catwalk_camera",
    "jigsaw_piece_finder_phone_app",
    "mars_helicopter_downward_navcam",
    "mountain_hut_door_counter",
    "nail_fungus_phone_check",
    "oral_lesion_community_phone_screen",
    "oyster_reef_drop_camera",
    "pool_robot_cleaner_camera",
    "sled_dog_checkpoint_camera",
    "snowplough_route_camera",
    "solar_sail_boom_camera",
    "tablet_coating_pan_camera",
    "tea_withering_trough_camera",
    "thermal_building_survey",
    "trawler_fish_hold_camera",
    "trout_hatchery_egg_picker",
    "vivarium_home_cage_camera",
}


def half(parity: int) -> list[Any]:
    """Every other dev scenario from ``parity``, a known failure marked as a strict xfail."""
    return [
        pytest.param(
            s,
            id=s.name,
            marks=[pytest.mark.xfail(strict=True, reason="known offline-expert failure")]
            if s.name in KNOWN_FAILING
            else [],
        )
        for s in DEV[parity::2]
    ]


def check(scenario: Scenario) -> None:
    """Acceptance: the brief covers every required group, and neither it nor any paraphrase plans a
    forbidden or too-strong corruption. The offline expert is deterministic, so each brief is planned
    once (one seed); the paraphrases' group coverage is tracked by `robustlens evals run --split dev`."""
    report = run_evals([scenario], "offline", seeds=1, critic="none")
    score = report.scenarios[0]
    missing = sorted({tuple(g) for r in score.runs for g in r.missing_groups})
    assert score.validity == 1.0
    assert score.violation_messages == [], score.violation_messages
    assert missing == [], f"plan {score.runs[0].primitives} covers none of {missing}"
    assert score.coverage == 1.0
    for row in report.scenarios[1:]:  # the paraphrases: same rules, other words
        assert row.paraphrase_of == scenario.name
        assert row.violation_messages == [], (row.name, row.violation_messages)


def check_critic(parity: int) -> None:
    """The offline rule critic flags at least 90 % of the unrealistic specs planted in one half's
    scenarios (recall), and fails on none of them."""
    result = evaluate_critic(DEV[parity::2], "offline")
    assert result.critic == "offline-rules" and result.errors == 0
    assert result.precision is not None and result.recall is not None
    misses = [f"{c.scenario}/{c.spec}" for c in result.misses()]
    assert result.recall >= 0.9, f"recall {result.recall:.3f}; missed {len(misses)}: {misses}"
