"""Chain facts from wordings no cue list foresaw: the prototype classifier (issue 12).

Briefs here are written for these tests in lay words (not taken from the eval scenarios): an
endoscope described as a tube with a camera, a paper scanner as "the machine the sheets go through".
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from robustlens.errors import UserInputError
from robustlens.expert import prototypes
from robustlens.expert.chain import infer_chain
from robustlens.expert.prototypes import classify, load_prototypes
from robustlens.schemas import DomainBrief

pytestmark = pytest.mark.skipif(
    prototypes.sentences.encoder() is None, reason="the MiniLM sentence model is not installed"
)


def _brief(domain: str, description: str, setup: str, conditions: list[str] | None = None) -> DomainBrief:
    return DomainBrief(
        domain=domain, description=description, imaging_setup=setup, deployment_conditions=conditions or []
    )


STOMACH = _brief(
    "stomach check-ups",
    "Find ulcers in the pictures.",
    "A thin bendy tube with a tiny camera at its end is passed down the patient's throat.",
)
GULLET = _brief(
    "gut clinic",
    "Spot ulcers.",
    "The doctor feeds a slim flexible tube with a lens and a lamp on its tip into the gullet.",
)


def test_a_lay_description_of_an_endoscope_sets_the_sensor_and_its_implications() -> None:
    facts = infer_chain(STOMACH)
    assert facts.sensor == ["endoscope"] and facts.modality == "photograph"
    assert facts.has("moving", "camera") and facts.sky_in_view is False  # implied by the scope
    evidence = next(e for e in facts.evidence if e.fact == "sensor=endoscope")
    assert evidence.method == "semantic"
    assert evidence.phrases and all(p in STOMACH.imaging_setup for p in evidence.phrases)  # the user's words


def test_two_lay_paraphrases_of_one_scope_give_the_same_sensor_and_modality() -> None:
    a, b = infer_chain(STOMACH), infer_chain(GULLET)
    # the whole sentence votes, not just "a slim flexible tube": its clauses give each other context
    scope = next(v for v in classify(GULLET) if v.field == "sensor")
    assert scope.phrase == GULLET.imaging_setup.rstrip(".")
    assert a.sensor == b.sensor == ["endoscope"]
    assert a.modality == b.modality == "photograph" and a.scene[:1] == b.scene[:1] == ["in_body"]


def test_a_lay_description_of_a_page_scanner() -> None:
    brief = _brief(
        "back-office mail", "Sort the post we receive.", "Each sheet goes through the copier's feeder."
    )
    votes = {v.field: v for v in classify(brief)}
    assert votes["sensor"].value == "scanner"
    assert votes["sensor"].phrase == "Each sheet goes through the copier's feeder"


def test_a_negated_clause_casts_no_vote_and_a_distractor_is_not_the_place() -> None:
    said = _brief("badge desk", "Read staff badges.", "A fixed camera.", ["it works out in the open air"])
    denied = _brief(
        "badge desk", "Read staff badges.", "A fixed camera.", ["it never works out in the open air"]
    )
    assert {v.label for v in classify(said)} >= {"scene=outdoor"}
    assert not any(v.field == "scene" for v in classify(denied))
    assert "outdoor" not in infer_chain(denied).scene
    harbour = _brief("badge desk", "Read staff badges.", "A desk camera in an office next to the harbour.")
    assert "underwater" not in infer_chain(harbour).scene
    under = _brief(
        "sleeper checks", "Find cracked sleepers.", "Cameras under a wagon looking down at the rails."
    )
    assert "aerial" not in infer_chain(under).scene  # looking down from below a wagon is not flying


def test_a_strong_vote_adds_to_the_cue_words_and_the_user_overrides_both() -> None:
    flicker = _brief(
        "tin packing", "Find dented tins.", "Tins roll past a fixed camera.", ["lamps that flicker"]
    )
    vote = next(v for v in classify(flicker) if v.field == "light")
    assert vote.value == "fluorescent" and vote.phrase == "lamps that flicker"  # mains flicker: tubes
    facts = infer_chain(flicker)
    assert facts.light == ["artificial", "fluorescent"]  # "lamps" is a cue word; the vote adds the kind
    methods = {e.fact: e.method for e in facts.evidence}
    assert methods["light=artificial"] == "lexical" and methods["light=fluorescent"] == "semantic"
    corrected = STOMACH.model_copy(update={"chain": {"sensor": ["ultrasound"]}})
    assert infer_chain(corrected).sensor == ["ultrasound"]


def test_without_the_sentence_model_there_are_no_votes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prototypes.sentences, "encoder", lambda: None)
    assert classify(STOMACH) == []


def test_a_broken_prototype_file_names_the_entry(tmp_path: Path) -> None:
    bad = tmp_path / "prototypes.yaml"
    bad.write_text(
        "fields:\n  sensor:\n    threshold: 0.5\n    margin: 0.1\n    values:\n      periscope: [a tube]\n",
        encoding="utf-8",
    )
    with pytest.raises(UserInputError) as err:
        load_prototypes(str(bad))
    assert err.value.field == "fields.sensor.values.periscope"
    bad.write_text("fields:\n  sensor:\n    margin: 0.1\n", encoding="utf-8")
    with pytest.raises(UserInputError) as err:
        load_prototypes(str(bad))
    assert err.value.field == "fields.sensor"


def test_a_clause_about_sending_the_photos_names_no_phone() -> None:
    """The sensor field's background class: uploading over a cellular modem is transmission, not the
    camera; without the background the nearest sensor value would be the phone."""
    brief = _brief(
        "hut weather", "Tell snow from rain.", "each snapshot is uploaded from the hut over a cellular modem"
    )
    assert not any(v.field == "sensor" for v in classify(brief))
    rules = tuple(
        dataclasses.replace(r, values=tuple(v for v in r.values if v[0] != prototypes.OTHER))
        for r in load_prototypes()
    )
    assert any(v.label == "sensor=phone" for v in classify(brief, rules))
