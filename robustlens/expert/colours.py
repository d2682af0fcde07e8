"""Whether the sensor records colour at all: a monochrome camera rules out every colour corruption.

A one-channel sensor (a machine-vision mono camera, an infrared night-vision camera, a greyscale
contact image sensor, a 200 dpi greyscale scan) has no colour channels, so a colour cast, a change
of saturation, chromatic fringes, a reduced palette or chroma noise cannot appear in its images:
those corruptions measure nothing about the deployment (Hendrycks & Dietterich 2019, ICLR, keep
colour-only corruptions out of greyscale benchmarks for the same reason).

A brief says so in words that describe the *image*, and the same words can describe the subject:
"a black-and-white camera" and "taken in black and white" are mono, "black-and-white cows" and
"black-and-white barcodes read by the camera" are not. So the words are read in place, not looked
up: a word only images have ("greyscale", "monochrome") counts anywhere; an ambiguous one ("black
and white", "mono") counts right before an imaging noun ("camera", "frames", "night vision") or
after "in"/"as"; and a brief that also says its images are in colour ("greyscale or colour",
"colour by day", "behind RGB filters") stays colour, since then colour corruptions are possible.
Negated words ("no colour", "not a greyscale camera") state nothing. A sentence model is not used:
it finds "grey skies" close to "greyscale". The word lists are data (``chain.yaml``: ``colour``).
"""

from __future__ import annotations

import functools
import re

from robustlens.expert.cues import load_cues
from robustlens.expert.words import compound_positions, negation_at, words

NEAR = 2  # words allowed between an ambiguous colour word and the imaging noun it describes
BEFORE = ("in", "as", "or", "and", "full", "true")  # "in black and white", "greyscale or colour"


@functools.cache
def _patterns() -> dict[str, re.Pattern[str]]:
    lists = load_cues().get("colour") or {}

    def alt(key: str) -> str:
        phrases = sorted((" ".join(words(p)) for p in lists.get(key) or []), key=len, reverse=True)
        return "|".join(re.escape(p) for p in phrases if p) or r"(?!x)x"

    nouns, gap = alt("image_nouns"), rf"(?:\w+ ){{0,{NEAR}}}"
    before = "|".join(BEFORE)

    def placed(key: str) -> re.Pattern[str]:
        return re.compile(rf"\b(?:(?:{alt(key)}) {gap}(?:{nouns})|(?:{before}) (?:{alt(key)}))\b")

    return {
        "mono": re.compile(rf"\b(?:{alt('mono')})\b"),
        "mono_placed": placed("mono_before"),
        "colour": re.compile(rf"\b(?:{alt('colour')})\b"),
        "colour_placed": placed("colour_before"),
    }


def _said(clause: str, *keys: str) -> bool:
    """Whether one of the ``keys`` patterns occurs in ``clause`` before any negation word."""
    ws = words(clause)
    text = " ".join(ws)
    neg = negation_at(ws, compound_positions(clause))
    cut = len(" ".join(ws[:neg])) if neg is not None else len(text) + 1
    return any((m := _patterns()[k].search(text)) is not None and m.start() < cut for k in keys)


def monochrome(clauses: list[str]) -> list[str]:
    """The clauses that say the images are monochrome, or ``[]`` when none does or when another
    clause says they are in colour (see the module docstring)."""
    if any(_said(c, "colour", "colour_placed") for c in clauses):
        return []
    return [c for c in clauses if _said(c, "mono", "mono_placed")]
