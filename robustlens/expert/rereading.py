"""Re-read a named condition by where the user puts it and by what the light does across the view.

The condition matcher reads words; two physical distinctions need the rest of the user's item:

- **Where the stuff is.** Particles and water degrade a picture in two ways. Suspended between the
  camera and the scene they scatter light and veil the whole view (haze, fog: Narasimhan & Nayar 2002,
  "Vision and the Atmosphere", IJCV); settled on the window they blot or smear parts of it (dust,
  drops on the lens). One word names both ("dust", "mist", "grit", "spray"), so the item's place words
  decide: words of the air ("hangs", "fills", "a cloud of", "airborne", "in the air") move a deposit
  reading to its airborne partner, words of a surface ("on the window", "coats", "sticks to", "settles
  on") move an airborne reading to its deposit partner, and an item with
  both names both effects, so each gets its own pick (issue 12: dust in the air and on the window are
  two corruptions). A bare "cloud" beside such a medium is the medium's cloud, not the sky's.
- **Light and darkness side by side.** "Dark" means night only when the whole scene is dark. A clause
  that calls one part of the view dark ("the back of the shelf is black", "dark areas across the
  floor") describes light that varies across the field (uneven
  illumination); an item about an exposure that must hold bright and dark things at once ("a white
  shirt beside a black coat: no exposure suits both") asks more range than one frame holds, so
  highlights clip (overexposure). Neither is night, unless a time word ("at night", "after dark") says
  so; darkness past the lamps' reach ("beyond the lamps it is dark") stays the scene's own darkness.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence

from robustlens.expert.phrases import PhraseMatch, content_stems
from robustlens.expert.words import leading_negation, stem, words

__all__ = ["reread"]

# the airborne and the deposited form of one stuff (knowledge.yaml conditions)
PARTNERS = {"dust": "haze", "haze": "dust", "lens_water": "fog", "fog": "lens_water"}
AIRBORNE = frozenset({"haze", "fog"})
MEDIA = frozenset(PARTNERS) | {"smear"}


def _stems(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in text.split())


# a mass suspended in the air (a veil), not single specks that float or drift past
AIR = _stems(
    "airborne aloft atmosphere cloud fill fills filled full hang hangs hanging suspended "
    "plume plumes billow billows"
)
AIR_PHRASES = (("in", "the", "air"), ("the", "air", "is"), ("into", "the", "air"))
SURFACE = _stems(
    "lens lenses window windows glass cover dome housing optics optic port porthole windscreen windshield "
    "visor faceplate coat coats coated coating settle settles settled stick sticks stuck cake cakes caked "
    "crust crusts deposit deposits onto"
)
DARK = _stems("dark darker darkest darkness black blackness unlit gloomy")
BRIGHT = _stems("bright brighter brightest brightly white glaring")
# a part of the view: dark there, lit elsewhere
PART = _stems(
    "side sides half part parts end ends edge edges corner corners middle centre center rest periphery rim "
    "patch patches back"
)
# an item about what one frame holds
EXPOSURE = _stems("exposure exposures highlights")
# words of a time of day or year: darkness then is the scene's ("at the end of the day it is dark")
TIME = _stems(
    "night nights nighttime evening evenings dusk dawn twilight sunset overnight day days afternoon "
    "afternoons morning mornings winter autumn hour hours time shift shifts season"
)
PARTIAL = frozenset({"uneven_light", "dark_corners", "shadow"})  # already says the light varies


def _has(ws: Sequence[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(ws[i : i + n]) == phrase for i in range(len(ws) - n + 1))


def _stemmed(text: str) -> tuple[list[str], frozenset[str]]:
    ws = words(text)
    return ws, frozenset(stem(w) for w in ws)


def _lexical(clause: str, label: str, example: str) -> PhraseMatch:
    return PhraseMatch(clause, label, 1.0, "lexical", False, example)


def _place(item: Sequence[str], readings: dict[str, list[PhraseMatch]]) -> None:
    """Move particles and water to where the item puts them (see the module docstring)."""
    text = " ".join(item)
    ws, stems = _stemmed(text)
    air = bool(stems & AIR) or any(_has(ws, p) for p in AIR_PHRASES)
    surface = bool(stems & SURFACE)
    if not (air or surface):
        return
    for clause in item:
        hits = readings.get(clause, [])
        if not any(m.label in PARTNERS and not m.negated for m in hits):
            continue
        out: list[PhraseMatch] = []
        for m in hits:
            partner = PARTNERS.get(m.label)
            if partner is None or m.negated:
                out.append(m)
                continue
            here = air if m.label in AIRBORNE else surface
            there = surface if m.label in AIRBORNE else air
            if here:
                out.append(m)
            if there:
                out.append(dataclasses.replace(m, label=partner))
        # "a cloud of steam" is the steam's, not the sky's
        if any(m.label in MEDIA for m in out) and "sky" not in words(clause):
            out = [m for m in out if m.label != "clouds"]
        unique: dict[str, PhraseMatch] = {}
        for m in out:
            unique.setdefault(m.label, m)
        readings[clause] = list(unique.values())


def _light(item: Sequence[str], readings: dict[str, list[PhraseMatch]]) -> None:
    """Darkness beside light in one item: uneven illumination or more range than the exposure holds."""
    have = {m.label for c in item for m in readings.get(c, [])}
    _, item_stems = _stemmed(" ".join(item))
    timed = bool(item_stems & TIME) or any(_has(words(c), ("after", "dark")) for c in item)
    for clause in item:
        ws, stems = _stemmed(clause)
        if not stems & DARK or leading_negation(clause):
            continue
        parts = stems & PART and not _has(ws, ("side", "by", "side"))
        if parts:
            reading, said = "uneven_light", have & PARTIAL
        elif item_stems & BRIGHT and (item_stems & EXPOSURE or "overexposed" in have) and not timed:
            reading, said = "overexposed", have & {"overexposed"}
        else:
            continue
        hits = readings.get(clause, [])
        # a dark part of a lit view, or dark things, are no night
        if not timed and (parts or reading == "overexposed"):
            hits = [m for m in hits if not (m.label == "night" and content_stems(m.example) <= DARK)]
        if not said:
            hits.append(_lexical(clause, reading, " ".join(sorted(stems & (DARK | PART)))))
        readings[clause] = hits
        return


def reread(
    items: Mapping[str, Sequence[str]], readings: Mapping[str, list[PhraseMatch]], known: Collection[str]
) -> dict[str, list[PhraseMatch]]:
    """``readings`` (clause -> the conditions it was read as) re-read per deployment condition
    (``items``: the user's item -> its clauses): where particles and water are, and light beside dark.
    Only conditions in ``known`` (the vocabulary matched against) are read."""
    out = {c: list(ms) for c, ms in readings.items()}
    for clauses in items.values():
        _place(clauses, out)
        _light(clauses, out)
    return {c: kept for c, ms in out.items() if (kept := [m for m in ms if m.label in known])}
