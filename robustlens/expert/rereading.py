"""Re-read a named condition by where the user puts it and by what the light does across the view.

The condition matcher reads words; some physical distinctions need the rest of the user's item:

- **Where the stuff is.** Particles and water degrade a picture in two ways. Suspended between the
  camera and the scene they scatter light and veil the whole view (haze, fog: Narasimhan & Nayar 2002,
  "Vision and the Atmosphere", IJCV); settled on the window they blot or smear parts of it (dust,
  drops on the lens). One word names both ("dust", "mist", "grit", "spray"), so the item's place words
  decide: words of the air ("hangs", "fills", "a cloud of", "airborne", "in the air") move a deposit
  reading to its airborne partner, words of a surface ("on the window", "coats", "sticks to", "settles
  on") move an airborne reading to its deposit partner, and an item with
  both names both effects, so each gets its own pick (issue 12: dust in the air and on the window are
  two corruptions). A bare "cloud" beside such a medium is the medium's cloud, not the sky's.
- **A cloudy liquid.** "Cloudy" beside a liquid ("the saline turns pink and cloudy") is turbidity in the
  fluid, which veils the view as water does (``water``), not the sky's clouds.
- **Light and darkness side by side.** "Dark" means night only when the whole scene is dark. A clause
  that calls one part of the view dark ("the back of the shelf is black", "dark areas across the
  floor") or brighter than another ("the pillow is brighter than the foot of the bed") describes light
  that varies across the field (uneven
  illumination); an item about an exposure that must hold bright and dark things at once ("a white
  shirt beside a black coat: no exposure suits both") asks more range than one frame holds, so
  highlights clip (overexposure). Neither is night, unless a time word ("at night", "after dark") says
  so; darkness past the lamps' reach ("beyond the lamps it is dark") stays the scene's own darkness.

- **A film, not drops.** A window that mists or steams up ("steam fogs the camera window") carries a
  film (misted); it is read as drops on the lens too only where the item names drops.
- **A lens that bends.** "The fisheye lens bends the wall edges" names the lens's own distortion
  (wide angle), not a warped subject: a clause read as both keeps the lens reading only.

The word lists are data (``chain.yaml``: ``reread``); this module only applies them.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from robustlens.expert.cues import load_cues
from robustlens.expert.phrases import PhraseMatch, content_stems
from robustlens.expert.words import leading_negation, stem, words

__all__ = ["reread"]

# the airborne and the deposited form of one stuff (knowledge.yaml conditions)
PARTNERS = {"dust": "haze", "haze": "dust", "lens_water": "fog", "fog": "lens_water"}
AIRBORNE = frozenset({"haze", "fog"})
MEDIA = frozenset(PARTNERS) | {"smear"}


@functools.cache
def _lists() -> dict[str, frozenset[str]]:
    """The word lists (``chain.yaml``: ``reread``), stemmed: surface words (with the air words, matched as
    written: ``_air_words``) decide where particles and water are; dark, bright, part-of-the-view,
    exposure and time words read light beside dark."""
    lists: dict[str, Any] = load_cues().get("reread") or {}
    keys = ("surface", "dark", "bright", "part", "exposure", "time", "liquid", "drops")
    return {key: frozenset(stem(w) for p in lists.get(key) or [] for w in p.split()) for key in keys}


@functools.cache
def _air_words() -> frozenset[str]:
    return frozenset(w for p in (load_cues().get("reread") or {}).get("air") or [] for w in words(p))


@functools.cache
def _air_phrases() -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(words(p)) for p in (load_cues().get("reread") or {}).get("air_phrases") or [])


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
    lists = _lists()
    # air words as written: "a cloud of dust" is airborne, a "cloudy" window is a film on the glass
    air = bool(set(ws) & _air_words()) or any(_has(ws, p) for p in _air_phrases())
    surface = bool(stems & lists["surface"])
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
        readings[clause] = _one_per_condition(out)


def _light(item: Sequence[str], readings: dict[str, list[PhraseMatch]]) -> None:
    """Darkness beside light in one item: uneven illumination or more range than the exposure holds."""
    have = {m.label for c in item for m in readings.get(c, [])}
    _, item_stems = _stemmed(" ".join(item))
    lists = _lists()
    dark, part = lists["dark"], lists["part"]
    timed = bool(item_stems & lists["time"]) or any(_has(words(c), ("after", "dark")) for c in item)
    for clause in item:
        ws, stems = _stemmed(clause)
        # "bright snow fools the exposure": highlights clip, with no dark word needed
        # "the pillow is much brighter than the foot of the bed": one part of the view against another;
        # "the flame is far brighter than everything else" asks more range than one exposure holds
        compared = "than" in ws and bool(stems & (lists["bright"] | dark)) and not timed
        whole = compared and bool({"everything", "anything", "else"} & set(ws[ws.index("than") :]))
        glaring = bool(stems & lists["bright"] and (stems & lists["exposure"] or whole))
        compared = compared and not whole
        if not (stems & dark or glaring or compared) or leading_negation(clause):
            continue
        # "far from the lights" is past the lamps' reach (the scene's darkness), not a dark part of a lit view
        # a part named elsewhere in an item setting bright beside dark counts ("some spots bright, some dark")
        named = stems & part or (item_stems & part and item_stems & lists["bright"])
        parts = (named or compared) and not glaring and not _has(ws, ("side", "by", "side"))
        parts = parts and not _has(ws, ("far", "from"))
        # at a time of day a dark part is the time's darkness ("dark for half the day", "a dark sky after
        # dusk") unless the clause sets light against it ("unlit except at the gate", "a bright porch")
        if parts and (not timed or stems & lists["bright"] or "except" in ws):
            reading, said = "uneven_light", have & PARTIAL
        elif glaring or (
            item_stems & lists["bright"]
            and (item_stems & lists["exposure"] or "overexposed" in have)
            and not timed
        ):
            reading, said = "overexposed", have & {"overexposed"}
        else:
            continue
        hits = readings.get(clause, [])
        # a dark part of a lit view, or dark things, are no night
        if not timed and (parts or reading == "overexposed"):
            hits = [m for m in hits if not (m.label == "night" and content_stems(m.example) <= dark)]
        if not said:
            hits.append(_lexical(clause, reading, " ".join(sorted(stems & (dark | part)))))
        readings[clause] = hits
        return


def _liquid(item: Sequence[str], readings: dict[str, list[PhraseMatch]]) -> None:
    """A cloudy liquid is turbid: "the saline turns cloudy" scatters light in the fluid (water), not the sky's
    clouds, unless the item names the sky."""
    ws, stems = _stemmed(" ".join(item))
    if not stems & _lists()["liquid"] or {"sky", "skies"} & set(ws):
        return
    for clause in item:
        hits = readings.get(clause, [])
        if any(m.label == "clouds" for m in hits):
            moved = [dataclasses.replace(m, label="water") if m.label == "clouds" else m for m in hits]
            readings[clause] = _one_per_condition(moved)


# (kept, dropped, unless): a clause read as both conditions names one effect, the kept one, unless it
# has a word of the ``reread`` list ``unless``: a fisheye that "bends the wall edges" is the lens, not a
# warped subject; a window that "steams up" carries a film, not drops, unless the item names drops
SAME_EFFECT = (("wide_angle", "warp", None), ("misted", "lens_water", "drops"))


def _same_effect(item: Sequence[str], readings: dict[str, list[PhraseMatch]]) -> None:
    """One effect read twice in a clause keeps its closer reading (``SAME_EFFECT``)."""
    for clause in item:
        hits = readings.get(clause, [])
        for kept, dropped, unless in SAME_EFFECT:
            said = {m.label for m in hits}
            if {kept, dropped} <= said and not (unless and _stemmed(clause)[1] & _lists()[unless]):
                hits = [m for m in hits if m.label != dropped]
        readings[clause] = hits


def _one_per_condition(hits: list[PhraseMatch]) -> list[PhraseMatch]:
    """The first reading of each condition, in order (a re-reading can name one condition twice)."""
    unique: dict[str, PhraseMatch] = {}
    for m in hits:
        unique.setdefault(m.label, m)
    return list(unique.values())


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
        _liquid(clauses, out)
        _same_effect(clauses, out)
    return {c: kept for c, ms in out.items() if (kept := [m for m in ms if m.label in known])}
