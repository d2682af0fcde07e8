"""The expert's knowledge is data with a schema: every name resolves, broken files fail naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from robustlens.corruptions import FAMILIES, REGISTRY
from robustlens.errors import UserInputError
from robustlens.expert.chain import CHAIN_PATH, load_cues
from robustlens.expert.knowledge import KNOWLEDGE_PATH, load_knowledge
from robustlens.expert.physics import PHYSICS_PATH, atom_error, load_physics


def test_every_name_in_the_knowledge_exists() -> None:
    kb = load_knowledge()
    physics = load_physics()
    assert set(physics.primitives) == set(REGISTRY)  # every primitive says which chain link produces it
    for d in kb.domains:
        assert {s.primitive for s in d.suitable} <= set(REGISTRY)
        assert {u.family for u in d.unsuitable if u.family} <= set(FAMILIES)
        assert set(d.conditions) <= set(kb.conditions)
    for name, p in physics.primitives.items():
        assert set(p.serves) <= set(kb.conditions), name
        for conj in [*p.needs, *p.excluded_by, *p.implied, *(rule.when for rule in p.caps)]:
            assert all(atom_error(a, set(kb.conditions)) is None for a in conj.split("&")), (name, conj)


def test_every_condition_has_example_phrases() -> None:
    assert all(phrases for phrases in load_knowledge().conditions.values())
    assert all(p for values in load_cues()["facts"].values() for p in values.values())


@pytest.mark.parametrize(
    ("source", "edit", "field"),
    [
        (
            PHYSICS_PATH,
            lambda d: d["primitives"]["rain"].update(needs=["scene=moon"]),
            "primitives.rain.needs",
        ),
        (
            PHYSICS_PATH,
            lambda d: d["primitives"]["rain"].update(serves=["drizzle_x"]),
            "primitives.rain.serves",
        ),
        (PHYSICS_PATH, lambda d: d["primitives"].update(rainn=d["primitives"]["rain"]), "primitives.rainn"),
        (
            PHYSICS_PATH,
            lambda d: d["primitives"]["jpeg"].update(implied=["processing=carrier_pigeon"]),
            "primitives.jpeg.implied",
        ),
        (CHAIN_PATH, lambda d: d["facts"]["light"].update(sonar=["sonar"]), "facts.light.sonar"),
        (CHAIN_PATH, lambda d: d["modality"].update(phone="sonar"), "modality.phone"),
        (
            CHAIN_PATH,
            lambda d: d["vetoes"].update({"sensor=drone_camera": ["scene=moon"]}),
            "vetoes.sensor=drone_camera",
        ),
    ],
)
def test_a_broken_file_names_the_field(tmp_path: Path, source: Path, edit: object, field: str) -> None:
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    edit(data)  # type: ignore[operator]
    broken = tmp_path / source.name
    broken.write_text(yaml.safe_dump(data), encoding="utf-8")
    loader = load_physics if source == PHYSICS_PATH else load_cues
    with pytest.raises(UserInputError) as err:
        loader(str(broken))
    assert err.value.field == field, err.value


def test_a_broken_knowledge_base_is_a_user_input_error(tmp_path: Path) -> None:
    data = yaml.safe_load(KNOWLEDGE_PATH.read_text(encoding="utf-8"))
    data["domains"][0]["suitable"][0]["primitive"] = "gausian_noise"
    broken = tmp_path / "knowledge.yaml"
    broken.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(UserInputError) as err:
        load_knowledge(broken)
    assert "gausian_noise" in str(err.value) and err.value.field == "knowledge"
