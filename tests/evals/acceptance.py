"""The offline expert's acceptance test over the development split, shared by two test modules.

The test plans every dev scenario and one of its paraphrases (a few minutes on two cores); one module per
half (even and odd positions in the sorted scenario list) lets two test workers share it. Each module then
runs the rule critic's planted test on its half, after the acceptance tests, so the chain analyses of those
briefs are already cached in that worker (run cold, the critic test alone took ~55 s).

Planning is ~0.3 s of MiniLM per brief on one core, and the split grows by a held-out split each session:
planning all three paraphrases of every scenario here took 820 of the suite's ~2,100 CPU seconds, over the
15-minute CI line. So each scenario's paraphrases take turns (the k-th scenario checks paraphrase k mod 3,
which spreads terse, long and lay wording evenly over the split), and ``robustlens evals run --split dev``
still plans and scores every paraphrase, which each planner change is measured with.
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
    "alloy_wheel_casting_radioscopy",
    "bladder_scanner_ward_ultrasound",
    "braille_homework_phone_reader",
    "car_body_paint_stripe_tunnel",
    "chat_screenshot_translator",
    "colposcopy_clinic",
    "concrete_3d_printer_bead_camera",
    "ctpa_pulmonary_embolism_night_telerad",
    "curling_house_overhead_camera",
    "deep_sea_lander_camera",
    "equine_dental_float_camera",
    "equine_overground_airway_endoscopy",
    "fetal_brain_mri_third_trimester",
    "fetoscopy_laser_twin_surgery",
    "hobby_brick_sorter_camera",
    "hull_cleaning_crawler_camera",
    "hydro_dam_trash_rack_camera",
    "ice_core_linescan_freezer_lab",
    "ice_hockey_catwalk_camera",
    "iss_cupola_handheld_earth_photos",
    "lyme_rash_hiker_phone_triage",
    "mars_helicopter_downward_navcam",
    "metal_powder_bed_recoat_camera",
    "mountain_hut_door_counter",
    "nail_fungus_phone_check",
    "nailfold_capillaroscopy_usb_microscope",
    "oral_lesion_community_phone_screen",
    "outback_stock_trough_camera",
    "oyster_reef_drop_camera",
    "pilot_ladder_boarding_camera",
    "polling_tally_sheet_phone_photo",
    "pool_robot_cleaner_camera",
    "racing_pigeon_loft_trap_camera",
    "sidewalk_delivery_robot_camera",
    "snowplough_route_camera",
    "sunspot_backyard_solar_telescope",
    "tablet_coating_pan_camera",
    "tea_withering_trough_camera",
    "tractor_rear_hitch_camera",
    "trawler_fish_hold_camera",
    "trout_hatchery_egg_picker",
    "ureteroscopy_laser_stone_video",
    "vivarium_home_cage_camera",
    "wind_blade_prepreg_layup_camera",
}


def half(parity: int) -> list[Any]:
    """Every other dev scenario from ``parity`` with its position in the split (which paraphrase it
    checks), a known failure marked as a strict xfail."""
    return [
        pytest.param(
            s,
            i,
            id=s.name,
            marks=[pytest.mark.xfail(strict=True, reason="known offline-expert failure")]
            if s.name in KNOWN_FAILING
            else [],
        )
        for i, s in list(enumerate(DEV))[parity::2]
    ]


def check(scenario: Scenario, position: int) -> None:
    """Acceptance: the brief covers every required group, and neither it nor its paraphrase number
    ``position`` mod 3 plans a forbidden or too-strong corruption. The offline expert is deterministic,
    so each brief is planned once (one seed). The brief is judged before the paraphrase is planned, so
    a known failure costs one plan; group coverage of every paraphrase is tracked by
    `robustlens evals run --split dev`."""
    alone = scenario.model_copy(update={"paraphrases": []})
    (score,) = run_evals([alone], "offline", seeds=1, critic="none").scenarios
    missing = sorted({tuple(g) for r in score.runs for g in r.missing_groups})
    assert score.validity == 1.0
    assert score.violation_messages == [], score.violation_messages
    assert missing == [], f"plan {score.runs[0].primitives} covers none of {missing}"
    assert score.coverage == 1.0
    if not scenario.paraphrases:
        return
    k = position % len(scenario.paraphrases)
    reworded = scenario.paraphrases[k].apply(scenario.brief)  # same rules, other words
    other = scenario.model_copy(update={"brief": reworded, "paraphrases": []})
    (row,) = run_evals([other], "offline", seeds=1, critic="none").scenarios
    assert row.violation_messages == [], (f"paraphrase {k + 1}", row.violation_messages)


def check_critic(parity: int) -> None:
    """The offline rule critic flags at least 90 % of the unrealistic specs planted in one half's
    scenarios (recall), and fails on none of them."""
    result = evaluate_critic(DEV[parity::2], "offline")
    assert result.critic == "offline-rules" and result.errors == 0
    assert result.precision is not None and result.recall is not None
    misses = [f"{c.scenario}/{c.spec}" for c in result.misses()]
    assert result.recall >= 0.9, f"recall {result.recall:.3f}; missed {len(misses)}: {misses}"
