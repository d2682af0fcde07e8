"""What a deployment condition says about a light: that it is coloured, uneven, or shines into the lens.

Light of one colour tints every surface it falls on, and a camera balanced for white light records that
tint as a colour cast (von Kries 1902 adaptation; Finlayson et al. 2001, "Color by correlation", IEEE
PAMI, model the cast as the illuminant's colour). Users say so about the lamp, in words no condition
example needs to hold: "very dim red lighting", "the LED panel turns yellower as it ages", "coloured
gels". A lamp said to light unevenly ("uneven backlight", "the flash lights the corners unevenly") is
uneven illumination, a flat-field error whatever the lamp is called (Young 2000, "Shading correction:
compensation for illumination and sensor inhomogeneities", Current Protocols in Cytometry). A lamp aimed
at the camera, or one named alone as a problem ("headlamps"), puts a bright source in view: glare and
flare (Reinhard et al. 2010, "High Dynamic Range Imaging", ch. 10, veiling glare), and so does one
mirrored into it ("the sun bounces off the panels straight into the camera").

So this module reads the clause: a hue word modifying a light noun, a comparative of hue in a clause
that names a light, a word of unevenness beside a light, a light aimed "into"/"at" the lens. The hue of
the *subject* ("red apples under the lamps") is not the light's: the hue must stand right before the
lamp word (one word may sit between). A signal light ("cars run the red light") and negated clauses say
nothing. The word lists are data (``chain.yaml``: ``lights``); this module only applies them.
"""

from __future__ import annotations

import functools

from robustlens.expert.cues import load_cues
from robustlens.expert.words import compound_positions, light_compound, negation_at, words

__all__ = ["COLOUR_CAST", "GLARE", "SUN", "UNEVEN", "light_reading"]

COLOUR_CAST, GLARE, SUN, UNEVEN = "color_cast", "glare", "sun", "uneven_light"


@functools.cache
def _lists() -> dict[str, frozenset[str]]:
    lists = load_cues().get("lights") or {}
    return {key: frozenset(lists.get(key) or []) for key in lists}


def _lamp(word: str) -> bool:
    """A light-source noun: listed, or a compound of light or lamp ("spotlights", "headlamp"; no flight)."""
    return word in _lists()["lamps"] or word.endswith(("lamp", "lamps")) or light_compound(word)


def light_reading(clause: str) -> str | None:
    """The condition ``clause`` names by describing a light (``COLOUR_CAST``, ``GLARE``, ``SUN``,
    ``UNEVEN``) or None."""
    ws = words(clause)
    if not ws or negation_at(ws, compound_positions(clause)) is not None:
        return None
    lists = _lists()
    lamps = [i for i, w in enumerate(ws) if _lamp(w)]
    if (lamps or "sun" in ws) and set(ws) & lists["reflect"]:  # a bright source mirrored into the lens
        return GLARE
    if lamps and not set(ws) & lists["traffic"] and _tinted(ws, lamps):
        return COLOUR_CAST
    if _uneven(ws):
        return UNEVEN
    aimed = _aimed(ws)
    if aimed is not None:
        return aimed
    if len(ws) <= 3 and ws[-1] in lists["dazzlers"]:  # "headlamps", "oncoming headlights" named alone
        return GLARE
    return None


def _tinted(ws: list[str], lamps: list[int]) -> bool:
    """A hue right before a light word (one word may sit between), or a comparative of hue beside one."""
    lists = _lists()
    if any(w in lists["hues"] for i in lamps for w in ws[max(0, i - 2) : i]):
        return True
    redder = set(ws) & lists["redder"]
    if not redder:
        return False
    return bool(redder - lists["warmer"]) or bool(set(ws) & lists["shifts"])


def _uneven(ws: list[str]) -> bool:
    """A word of unevenness right before a light ("uneven backlight", "patchy LED lighting": one word may
    sit between) or a few words after one ("the lighting is uneven", "the flash lights the corners
    unevenly"); further away it is something else's ("uneven floor under the lights")."""
    lists = _lists()
    lit = [i for i, w in enumerate(ws) if _lamp(w) or w in lists["lit"]]
    return any(
        w in lists["uneven"] and any(0 < j - i <= 2 or 0 < i - j <= 4 for j in lit) for i, w in enumerate(ws)
    )


def _aimed(ws: list[str]) -> str | None:
    """A light (or the sun) and then a word aiming it at the camera: "lights into lens", "low sun straight
    into the camera", "spotlights point at the camera"."""
    lists = _lists()
    for i, w in enumerate(ws):
        if w in lists["into"] and any(x in lists["eyes"] for x in ws[i + 1 : i + 4]):
            before = ws[:i]
            if "sun" in before:
                return SUN
            if any(_lamp(x) for x in before):
                return GLARE
    return None
