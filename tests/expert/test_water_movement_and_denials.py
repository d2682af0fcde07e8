"""Water tints every colour picture taken under it; clauses that say something moves in words no example
uses ("the harvester shakes", "a shaky printer", "the diver floats about"); a denial that describes the
other case of a condition the user names ("without flash ..." beside "the flash bounces off ..."), and
"without" or "no" denies only the phrase after it ("without the lamps everything is dark" states darkness)."""

from __future__ import annotations

import pytest

from robustlens.expert.chain import infer_chain
from robustlens.expert.movers import says_it_moves
from robustlens.expert.words import negation_scope, words
from robustlens.schemas import DomainBrief
from tests.expert.planned import planned_names as _names


def test_a_colour_camera_under_water_plans_a_colour_cast_unasked() -> None:
    # nobody mentions colour, and five named conditions fill most of the budget: water's absorption of
    # red makes the cast unavoidable, so it is planned before a link default (here the codec)
    pen = DomainBrief(
        domain="fish farm net inspection",
        imaging_setup="A colour camera with two lamps on a small underwater drone inspects the pen nets.",
        deployment_conditions=[
            "the water is cloudy with feed and algae",
            "flecks in the water shine in the lamp light",
            "the middle of the picture is bright and the edges dark",
            "the drone wobbles in the current",
            "fouling on the net",
        ],
    )
    assert "underwater" in infer_chain(pen).scene
    assert "white_balance" in _names(pen)


def test_a_mono_camera_under_water_has_no_colour_cast() -> None:
    reef = DomainBrief(
        domain="reef fish census",
        imaging_setup="A monochrome camera on a frame on the sea floor at 12 m looks along the reef.",
        deployment_conditions=["visibility varies from day to day"],
    )
    assert "white_balance" not in _names(reef)


def test_a_colour_camera_in_air_gets_no_colour_cast_from_water_words() -> None:
    quay = DomainBrief(
        domain="quay crane twistlock check",
        imaging_setup="A colour camera on the crane looks down at the container corners on the quay.",
        deployment_conditions=["spray from the harbour on windy days", "the crane sways"],
    )
    assert "underwater" not in infer_chain(quay).scene
    assert "white_balance" not in _names(quay)


@pytest.mark.parametrize(
    "clause",
    [
        "wobbly tripod on the gravel",  # an adjective of motion opens the clause
        "jittery gimbal",
        "the tractor shakes as it ploughs",  # a vehicle that shakes still moves
        "the pump sled skids on the mud",
        "the paddler floats about",  # a particle of aimless movement ends the clause
        "the toddlers wiggle and tumble",
    ],
)
def test_a_clause_that_says_something_moves_in_other_words(clause: str) -> None:
    assert says_it_moves(clause), clause


@pytest.mark.parametrize(
    "clause",
    [
        "flying insects near the lamp",  # a participle naming a thing
        "sliding doors behind the till",
        "rocks and sand on the seabed",  # a noun that is a verb's stem elsewhere
        "in March the fields are flooded",
        "dash cam clips from the fleet",
        "open around the clock",  # a particle of place and time, not of movement
        "dust hangs around",  # dust moves nothing in the picture's sense
    ],
)
def test_words_of_things_places_and_times_move_nothing(clause: str) -> None:
    assert not says_it_moves(clause), clause


def test_a_denial_describing_the_other_case_keeps_the_condition_named_in_words() -> None:
    # "without flash" says what happens when the flash is off; the next condition names the flash's glare
    board = DomainBrief(
        domain="board game score app",
        imaging_setup="Players photograph the finished board with their phones.",
        deployment_conditions=[
            "without flash the kitchen light makes everything yellow",
            "the flash glares on the shiny board",
        ],
    )
    facts = infer_chain(board)
    assert "glare" in set(facts.condition_names()) and "glare" not in facts.ruled_out, facts.ruled_out
    # a denial that stands alone still rules its condition out
    alone = DomainBrief(
        domain="board game score app",
        imaging_setup="Players photograph the finished board with their phones.",
        deployment_conditions=["without flash the kitchen light makes everything yellow"],
    )
    assert "glare" in infer_chain(alone).ruled_out


@pytest.mark.parametrize(
    ("clause", "denied"),
    [
        ("without the lamps everything below 10 m is dark", ["the", "lamps"]),  # the clause after is stated
        ("without flash the kitchen light makes everything yellow", ["flash"]),
        ("no rain or snow", ["rain", "or", "snow"]),
        ("without any artificial light", ["any", "artificial", "light"]),
        ("no glare, the dome is matte", ["glare"]),  # a comma ends the phrase
        ("no windows to the outside", ["windows", "to", "the", "outside"]),  # a preposition's object stays
        ("never at night", ["at", "night"]),  # an adverb denies the rest of the clause
    ],
)
def test_without_and_no_deny_the_phrase_after_them(clause: str, denied: list[str]) -> None:
    scope = negation_scope(clause)
    assert scope is not None
    assert words(clause)[scope[0] : scope[1]] == denied


def test_darkness_stated_after_a_denied_lamp_is_not_ruled_out() -> None:
    net = DomainBrief(
        domain="mussel rope inspection",
        imaging_setup="A colour camera with a lamp on a small underwater robot.",
        deployment_conditions=["without the lamp everything past 8 m is dark", "the robot drifts about"],
    )
    facts = infer_chain(net)
    assert "night" not in facts.ruled_out, facts.ruled_out
    assert "night" in set(facts.condition_names()) or "poor_lighting" in set(facts.condition_names())
    # the lamp itself is what the cue denies: a lone denial still rules its condition out
    plain = DomainBrief(
        domain="mussel rope inspection",
        imaging_setup="A colour camera on a small underwater robot.",
        deployment_conditions=["never dark: the site is shallow"],
    )
    assert "night" in infer_chain(plain).ruled_out
