"""Places read from general words: body passages a scope enters are in the body; enclosed and underground
places are indoors (so no sky); a picture gallery or library is no room. Briefs written for these tests."""

from __future__ import annotations

import pytest

from robustlens.expert.chain import infer_chain
from tests.expert.briefs import make_brief


@pytest.mark.parametrize(
    ("setup", "scene"),
    [
        ("A clip-on scope on the phone looks down the ear canal at the eardrum.", "in_body"),
        ("A flexible scope is passed through the nostril to view the vocal cords.", "in_body"),
        ("The meters sit in a dark cellar; people photograph them with the phone's torch.", "indoor"),
        ("A camera on a cable is lowered down the mine shaft.", "indoor"),
        ("Fixed cameras in the windowless museum rooms count visitors.", "indoor"),
    ],
)
def test_general_place_words_set_the_scene(setup: str, scene: str) -> None:
    facts = infer_chain(make_brief(setup, ["dim light"]))
    assert scene in facts.scene, facts.scene
    assert facts.sky_in_view is False


@pytest.mark.parametrize(
    "setup",
    [
        "Users pick a picture from the phone gallery and the app sorts it.",
        "Images come from the photo library.",
    ],
)
def test_a_picture_gallery_or_library_is_no_room(setup: str) -> None:
    assert "indoor" not in infer_chain(make_brief(setup, ["blur"])).scene
