"""Imaging-chain facts: what the offline expert infers from a brief before it plans anything.

The expert reasons from the physics of the imaging chain (scene -> light -> optics/sensor ->
processing/transmission), not from a domain keyword: a corruption is plausible when a link of the
chain can produce it, and impossible when a physical fact rules it out ("no sky in view -> no sun
flare", "in-body -> no weather", "transmission modality -> no lens flare"). Domain entries of the
knowledge base only rank candidates. Every fact carries the brief's own words that support it, so
rationales and the "what I understood" summary in ``chat`` quote the user, not a template.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from robustlens.schemas import Model

Scene = Literal["in_body", "indoor", "outdoor", "underwater", "orbit", "aerial", "page", "slide"]
Mover = Literal["camera", "subject", "platform"]
Light = Literal[
    "sun",
    "artificial",
    "led_ring",
    "strobe",
    "flash",
    "fluorescent",
    "low_light",
    "transmission",
    "none",
    "laser",  # coherent light (a laser line, OCT's source): speckle, as in coherent ultrasound
]
Sensor = Literal[
    "phone",
    "consumer_camera",
    "industrial_camera",
    "vehicle_camera",
    "cctv",
    "drone_camera",
    "satellite",
    "endoscope",
    "dermatoscope",
    "fundus_camera",
    "microscope",
    "xray",
    "ct",
    "mri",
    "ultrasound",
    "scanner",
    "thermal",
]
Modality = Literal["photograph", "transmission", "tomographic", "acoustic", "scan", "microscopy"]
Processing = Literal["jpeg", "video_codec", "resize", "bandwidth_limited", "print", "fax", "screenshot"]
# What the imaged specimen carries: stain batches and scanner colour profiles only vary a specimen
# somebody stained (H&E, Giemsa, Pap, Gram); a gem, a wafer or a label-free cell has no stain to vary.
Specimen = Literal["stained"]
# Whether the sensor records colour: a one-channel (monochrome) sensor shows no colour cast, saturation,
# colour fringes or chroma noise (robustlens/expert/colours.py reads it from the brief's words).
Colour = Literal["mono"]
FACT_FIELDS = ("scene", "moving", "light", "sensor", "modality", "processing", "specimen", "colour")


class Evidence(Model):
    """One inferred fact and the words of the brief that support it."""

    fact: str = Field(description="'<field>=<value>', e.g. 'scene=underwater' or 'sky_in_view=False'")
    phrases: list[str] = Field(default_factory=list, description="the brief's words, verbatim")
    method: Literal["lexical", "semantic", "default", "user"] = "lexical"


class ConditionMatch(Model):
    """A deployment condition the user named, matched to a knowledge-base condition."""

    phrase: str = Field(description="the user's words")
    condition: str = Field(description="knowledge-base condition name, e.g. 'camera_shake'")
    score: float = Field(ge=0.0, le=1.0, description="similarity (1.0 for an exact lexical match)")
    method: Literal["lexical", "semantic", "user"] = "lexical"


class ChainFacts(Model):
    """The imaging chain of one deployment, inferred from a brief (lists are sets, sorted).

    Empty lists and ``None`` mean "the brief does not say": the planner then stays conservative
    (keeps a condition the user named, excludes only what a stated fact rules out).
    """

    scene: list[Scene] = Field(default_factory=list)
    moving: list[Mover] = Field(default_factory=list)
    light: list[Light] = Field(default_factory=list)
    sensor: list[Sensor] = Field(default_factory=list)
    modality: Modality | None = None
    processing: list[Processing] = Field(default_factory=list)
    specimen: list[Specimen] = Field(default_factory=list)
    colour: list[Colour] = Field(default_factory=list)
    sky_in_view: bool | None = None
    conditions: list[ConditionMatch] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    ruled_out: list[str] = Field(
        default_factory=list, description="conditions the user ruled out ('no rain', 'never at night')"
    )

    def has(self, field: str, value: object) -> bool:
        """True when ``field`` (a list or scalar fact) holds ``value``."""
        current = getattr(self, field)
        return value in current if isinstance(current, list) else current == value

    def condition_names(self) -> list[str]:
        """The knowledge-base conditions matched, in the order the user named them (unique)."""
        return list(dict.fromkeys(c.condition for c in self.conditions))


class ExpectedFacts(Model):
    """What a scenario asserts about its chain (for the routing metric): a fact not given is not scored.

    List fields are checked as "must contain at least these", scalars as equality.
    """

    scene: list[Scene] | None = None
    moving: list[Mover] | None = None
    light: list[Light] | None = None
    sensor: list[Sensor] | None = None
    modality: Modality | None = None
    processing: list[Processing] | None = None
    specimen: list[Specimen] | None = None
    colour: list[Colour] | None = None
    sky_in_view: bool | None = None

    def mismatches(self, facts: ChainFacts) -> list[str]:
        """Human-readable differences between what was expected and what was inferred."""
        out = []
        for name in (*FACT_FIELDS, "sky_in_view"):
            want = getattr(self, name)
            if want is None:
                continue
            got = getattr(facts, name)
            if isinstance(want, list):
                missing = [w for w in want if w not in got]
                if missing:
                    out.append(f"{name}: expected {missing} among {got}")
            elif got != want:
                out.append(f"{name}: expected {want}, inferred {got}")
        return out
