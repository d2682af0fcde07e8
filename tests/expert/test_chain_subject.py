"""Chain facts come from THIS deployment's words (issue 12): names, neighbours, class names and
night-only cameras do not set facts they do not describe; a modality named outright is read as one.

Every brief here is written for the test, in words of its own (not taken from the eval scenarios).
"""

from __future__ import annotations

import pytest

from robustlens.expert.chain import infer_chain
from robustlens.expert.names import name_positions
from robustlens.expert.phrases import match_phrases
from robustlens.expert.words import words
from robustlens.schemas import DomainBrief


def _brief(
    domain: str, description: str = "", setup: str = "", conditions: list[str] | None = None, **kw: object
) -> DomainBrief:
    return DomainBrief(
        domain=domain,
        description=description,
        imaging_setup=setup,
        deployment_conditions=conditions or [],
        **kw,
    )


def _named(text: str, heads: frozenset[str] = frozenset()) -> list[str]:
    return [w for i, w in enumerate(words(text)) if i in name_positions(text, heads)]


def test_names_are_found_by_quotes_capitalised_runs_and_name_nouns() -> None:
    assert _named("tomatoes of the 'Morning Mist' kind") == ["morning", "mist"]
    assert _named("a poster of Gone with the Wind hangs by the till") == ["gone", "wind"]
    assert _named("boxes for the Thunder brewery") == ["thunder"]
    assert _named("the Rain Room is on the second floor") == ["rain", "room"]
    # a description, a heading or an acronym is not a name
    assert _named("a wet street at night") == []
    assert _named("Night Shelf Camera Audit") == []
    assert _named("an MRI of the knee") == []
    assert _named("sent to the MRI suite", frozenset({"suite"})) == ["mri"]


def test_a_name_sets_no_condition_nor_light() -> None:
    labels = {"fog": ["fog", "mist"], "rain": ["rain", "wet"]}
    hits = match_phrases(["we bottle the 'Morning Mist' lemonade"], labels, threshold=0.6)
    assert not [m for m in hits if m.label == "fog"]
    facts = infer_chain(
        _brief(
            "bottling line label check",
            "Check labels on bottles of the Midnight Sun soda brand.",
            "A mono industrial camera over the conveyor, lit by a white LED bar.",
        )
    )
    assert "sun" not in facts.light and "low_light" not in facts.light
    assert facts.has("sensor", "industrial_camera")


def test_a_neighbouring_department_sets_no_sensor() -> None:
    facts = infer_chain(
        _brief(
            "dermatology photo triage",
            "Photos of rashes taken by nurses; the MRI department down the corridor has its own system.",
            "Nurses take the pictures with a clinic phone under the room lights.",
        )
    )
    assert "mri" not in facts.sensor and facts.modality == "photograph"
    assert facts.has("sensor", "phone")


@pytest.mark.parametrize(
    ("domain", "description", "setup"),
    [
        # a modality word before a place noun names the place
        (
            "cafeteria tray recognition",
            "Recognise meals on trays in the canteen beside the hospital X-ray wing.",
            "A ceiling webcam looks down at the tray rail.",
        ),
        # an instrument that takes no pictures
        (
            "glacier time-lapse",
            "Sort glacier photos by snow cover.",
            "A DSLR in a weatherproof box shoots once an hour. The station also has a gamma-ray "
            "spectrometer and an X-ray dosimeter, which take no pictures.",
        ),
        # a job another system does ("screened separately by")
        (
            "pier luggage watch",
            "Flag bags left unattended on the pier.",
            "A colour CCTV camera on a pole watches the pier. Bags are screened separately by the terminal's "
            "X-ray machine.",
        ),
    ],
)
def test_an_x_ray_that_is_not_this_camera_sets_no_sensor(domain: str, description: str, setup: str) -> None:
    facts = infer_chain(_brief(domain, description, setup))
    assert "xray" not in facts.sensor and "transmission" not in facts.light
    assert facts.modality == "photograph"


def test_a_rolling_vessel_moves_the_camera_it_carries() -> None:
    facts = infer_chain(
        _brief(
            "trawler catch camera",
            "Count fish on the sorting table.",
            "A camera above the sorting table of a trawler; the boat rolls in a swell.",
        )
    )
    assert facts.has("moving", "platform")


def test_class_names_are_what_the_pictures_show_not_the_camera() -> None:
    facts = infer_chain(
        _brief(
            "rooftop bird counter",
            "Label each clip as gull, pigeon, drone or helicopter.",
            "A fixed camera on the roof looks up at the sky.",
            labels=["gull", "pigeon", "drone", "helicopter"],
        )
    )
    assert "drone_camera" not in facts.sensor and "aerial" not in facts.scene
    assert "platform" not in facts.moving and facts.sky_in_view is True


def test_a_camera_that_only_works_at_night_sees_no_sun() -> None:
    facts = infer_chain(
        _brief(
            "owl nest box watch",
            "",
            "An outdoor infrared camera on a tree trunk that records only at night.",
        )
    )
    assert facts.has("scene", "outdoor") and "sun" not in facts.light
    day = infer_chain(_brief("owl nest box watch", "", "An outdoor camera on a tree trunk."))
    assert "sun" in day.light  # the outdoor default still holds for a camera with no such limit


def test_named_modalities_and_devices_read_right() -> None:
    oct_ = infer_chain(_brief("eye clinic", "", "Optical coherence tomography of the optic nerve head."))
    assert oct_.modality == "tomographic" and "ct" not in oct_.sensor
    sem = infer_chain(
        _brief("metal fracture study", "", "Fracture surfaces imaged with an electron microscope.")
    )
    assert sem.has("sensor", "microscope") and sem.has("light", "none")
    film = infer_chain(_brief("home movie rescue", "", "Old 8 mm reels go through a film scanner."))
    assert film.has("sensor", "scanner") and film.modality == "scan"
