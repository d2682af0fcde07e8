"""Light and print conditions read from the words a user writes: a cast shadow is the shadow primitive
wherever a photograph is taken, a high harsh sun is overexposure (not the sun in the lens), faded
print is ink fading, and silk or flour on the window is a deposit."""

from __future__ import annotations

from robustlens.expert.chain import infer_chain
from robustlens.schemas import DomainBrief
from tests.expert.planned import planned_names as _names

_POLE = "A pole camera looks across the waterhole, the horizon and sky at the top of the frame."


def test_a_machines_own_shadow_is_a_cast_shadow_even_where_the_scene_is_not_named() -> None:
    sprayer = DomainBrief(
        domain="spot spraying",
        description="Tell weeds from crop between the rows.",
        imaging_setup="Colour cameras hang from the sprayer boom over the crop, frames saved as JPEG.",
        deployment_conditions=["the boom and the tractor throw long shadows over the rows in the morning"],
    )
    assert "shadow" in _names(sprayer)
    # a smooth light gradient does not stand in for a shadow's edge
    feeder = DomainBrief(
        domain="bird feeder camera",
        imaging_setup="A camera built into a garden bird feeder, compressed clips over Wi-Fi.",
        deployment_conditions=[
            "harsh desert sun",
            "the feeder's roof shadow across the perch",
            "flapping birds",
        ],
    )
    names = _names(feeder)
    assert "shadow" in names and "overexposure" in names, names
    assert "grid_distortion" not in names, names  # wings beating are a bird moving, no sheet warping
    # a scanner's closed lid: no cast shadow is named, none is planned
    scanner = DomainBrief(domain="invoice scanning", imaging_setup="A sheet-fed office scanner.")
    assert "shadow" not in _names(scanner)


def test_a_high_harsh_sun_is_overexposure_and_a_low_sun_in_view_can_flare() -> None:
    facts = infer_chain(
        DomainBrief(
            domain="wildlife monitoring",
            imaging_setup=_POLE,
            deployment_conditions=["harsh overhead sun"],
        )
    )
    assert "overexposed" in facts.condition_names() and "sun" not in facts.condition_names(), facts.conditions
    low = infer_chain(
        DomainBrief(
            domain="wildlife monitoring",
            imaging_setup=_POLE,
            deployment_conditions=["low sun at dawn"],
        )
    )
    assert "sun" in low.condition_names(), low.conditions


def test_faded_print_is_ink_fading_and_webs_or_flour_on_the_window_are_deposits() -> None:
    passes = DomainBrief(
        domain="airport boarding gate",
        imaging_setup="A reader under a glass window images passes held over it at a tilt.",
        deployment_conditions=[
            "faded thermal-printed passes",
            "folded paper passes",
            "phone screens reflect the LEDs",
        ],
    )
    names = _names(passes)
    assert {"ink_fading", "contrast"} & set(names), names
    # faded print is read from its own words only: a printer that shakes is vibration, no faded ink
    printer = infer_chain(DomainBrief(domain="print farm", deployment_conditions=["shaky printer"]))
    assert "faded_print" not in printer.condition_names(), printer.conditions
    for words in ("spiders spin webs over the lens", "flour settles on the camera's window"):
        facts = infer_chain(DomainBrief(domain="site camera", deployment_conditions=[words]))
        assert "dust" in facts.condition_names(), (words, facts.conditions)
