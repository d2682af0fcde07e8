"""Word-level reading of free text: clauses, words, light stemming, stop words and negation cues.

The phrase matcher (phrases.py), the condition-clause vetting (clauses.py) and the fact prototypes
(prototypes.py) must all cut and normalise the user's text the same way, or a word one of them sees
is not the word another one checks. This module is that one shared tokeniser; it has no model and no
label knowledge. Word positions are indices into ``words(text)`` (hyphen parts split), the same
positions names.py reports.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass

from robustlens.expert.names import TOKEN as _TOKEN


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_SPLIT = re.compile(
    r"[,;:!?()\[\]\n]+"  # punctuation; brackets set off label lists ("(crack, none)")
    r"|(?<!\d[a-z])(?<!\d [a-z])(?<!\d[a-z]{2})(?<!\d [a-z]{2})(?<!\d[a-z]{3})(?<!\d [a-z]{3})"
    r"(?<=[a-z])/(?=[a-z])"  # "sun/shadows" names two things; "15 m/s" and "30 km/h" are units
    r"|\.(?:\s+|$)|\s+(?:and|with|but|while|whereas)\s+",
    re.IGNORECASE,
)
STOPWORDS = _wordset(
    "a an the this that these those of to is are was were be been being it its our their my your "
    "his her we they i you he she them us some any very really quite often sometimes usually mostly "
    "also just there here which who whom whose what when where as at by for from on in into onto"
)
# "on"/"in" are stop words but direction words that decide meaning (over/under, inside/outside) are not.
NEGATIONS = _wordset(
    "no not never without none nor neither isn't aren't wasn't weren't doesn't don't didn't won't "
    "can't cannot hasn't haven't shouldn't lacks lacking absent nobody"
)
NEGATION_PAIRS = (("free", "of"),)
_IRREGULAR = {
    "shaken": "shake",
    "shook": "shake",
    "lit": "light",
    "lighting": "light",
    "older": "old",
    "oldest": "old",
    "ageing": "age",
    "aging": "age",
    "aged": "age",
    "indoors": "indoor",
    "outdoors": "outdoor",
    "blurry": "blur",
    "blurred": "blur",
    "blurring": "blur",
    "slid": "slid-verb",  # past tense of to slide: plates slid in are no microscope slides
    "booking": "booking-noun",  # a ferry booking is no book (no page)
    "bookings": "booking-noun",
    "booked": "booking-noun",
    "livery": "livery-noun",  # an airline's livery is no liver
    "liveries": "livery-noun",
    "carried": "carry",
    "carries": "carry",
}


def split_phrases(text: str) -> list[str]:
    """The clauses of free text: split on , ; . : newlines and on ' and ', ' with ', ' but '."""
    return [part.strip() for part in _SPLIT.split(text or "") if part and part.strip()]


def stem(word: str) -> str:
    """Light, consistent stemming: plural, -ing, -ed and adjective -y forms and a final -e fall away.

    Not a linguistic stemmer: both the user's words and the example phrases go through it, so it only
    has to map the forms of one word together (shake/shakes/shaking/shaken -> 'shak').
    """
    word = _IRREGULAR.get(word, word)
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 4 and word.endswith(("sses", "xes", "zes", "ches", "shes")):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 4 and word.endswith("y") and word[-2] not in "aeiou" and not word.endswith("rry"):
        word = word[:-1]  # rainy -> rain, foggy -> fogg -> fog (below)
        if word[-1] == word[-2] and word[-1] not in "lsz":
            word = word[:-1]
        return word
    for suffix in ("ing", "ed"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            word = word[: -len(suffix)]
            if len(word) > 2 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


@dataclass(frozen=True)
class Token:
    stem: str
    group: int  # tokens of one hyphenated compound share a group
    pos: int  # index of the word in ``words(text)`` (for "does a negation cue come before it")


def tokens(text: str) -> list[Token]:
    """Content-word tokens (stop words dropped, hyphenated compounds kept together as a group)."""
    out: list[Token] = []
    pos = 0
    for group, raw in enumerate(_TOKEN.findall(text.lower().replace("\u2019", "'"))):
        parts = [p for p in raw.split("-") if p]
        if not (len(parts) == 1 and parts[0] in STOPWORDS):
            out.extend(Token(stem(p), group, pos + k) for k, p in enumerate(parts))
        pos += len(parts)
    return out


def words(text: str) -> list[str]:
    """The lower-cased words of a text, hyphenated compounds split into their parts."""
    return [w for raw in _TOKEN.findall(text.lower().replace("\u2019", "'")) for w in raw.split("-") if w]


def negation_at(words: list[str], compound: frozenset[int] = frozenset()) -> int | None:
    """Index of the first negation cue among the clause's words, or None; a word inside a hyphenated
    compound ("no-glow flash", "non-stop") is part of a name, not a negation."""
    for i, word in enumerate(words):
        if i in compound:
            continue
        if word in NEGATIONS or (word, *words[i + 1 : i + 2]) in NEGATION_PAIRS:
            return i
    return None


def compound_positions(text: str) -> frozenset[int]:
    """Positions (in ``words(text)``) of the words that belong to a hyphenated compound."""
    out: set[int] = set()
    pos = 0
    for raw in _TOKEN.findall(text.lower().replace("\u2019", "'")):
        parts = [p for p in raw.split("-") if p]
        if len(parts) > 1:
            out.update(range(pos, pos + len(parts)))
        pos += len(parts)
    return frozenset(out)


def light_compound(word: str) -> bool:
    """A compound of light ("spotlights", "headlight"): a lamp, which moves nothing; a flight is none."""
    return word.endswith(("light", "lights")) and not word.endswith(("flight", "flights"))


@functools.lru_cache(maxsize=16384)  # pure in the text; asked several times per clause
def worded(text: str) -> bool:
    """Whether a clause has a real word to embed: "130 km" or "none" alone has no meaning to match."""
    return any(len(w) >= 4 and w.isalpha() for w in words(text) if w not in STOPWORDS)


@functools.lru_cache(maxsize=16384)  # pure in the text; asked several times per clause
def leading_negation(text: str) -> bool:
    """A negation cue before the clause's first content word ("no rain", "without flash"): the whole
    clause is denied. A later cue ("focus not quite right") negates something else, not the clause."""
    ws = words(text)
    at = negation_at(ws, compound_positions(text))
    if at is None:
        return False
    first = next((i for i, w in enumerate(ws) if w not in STOPWORDS and w not in NEGATIONS), len(ws))
    return at < first


# "without" and "no" deny the noun phrase that follows them ("without the lamps", "no flash or strobe"), not
# the clause after it ("without the lamps everything below 10 m is dark" states darkness): the phrase ends
# at a comma, a new determiner or pronoun, or a verb
NOUN_NEGATIONS = _wordset("without no lacking lacks absent")
PHRASE_ENDS = _wordset(
    "the a an this that these those our their its his her my your everything everyone it they we you he she "
    "there so but which who when while then is are was were be gets get goes go turns turn becomes become "
    "looks look seems seem stays remains makes make gives give has have had can will would could may might"
)

DETERMINERS = _wordset("the a an any our their its his her my your this that these those")
PREPOSITIONS = _wordset("of to in on at from into onto over under near by behind above below across through")


@functools.lru_cache(maxsize=16384)  # pure in the text; asked several times per clause
def negation_scope(text: str) -> tuple[int, int] | None:
    """``(start, end)``: the word positions (``words(text)``) a negation cue denies, or None without one.
    A cue of ``NOUN_NEGATIONS`` denies the phrase after it (leading determiners kept: "without any
    light"); any other cue ("never", "not", "can't") denies the rest of the clause."""
    ws = words(text)
    at = negation_at(ws, compound_positions(text))
    if at is None:
        return None
    start = at + (2 if tuple(ws[at : at + 2]) in NEGATION_PAIRS else 1)
    if ws[at] not in NOUN_NEGATIONS:
        return start, len(ws)
    segments = [len(words(seg)) for seg in text.lower().split(",")]
    commas = set(itertools.accumulate(segments[:-1])) if sum(segments) == len(ws) else set()
    end = start
    while end < len(ws) and ws[end] in DETERMINERS:  # "without the lamps", "without any light"
        end += 1
    # a determiner after a preposition stays in the phrase ("no windows to the outside")
    while end < len(ws) and end not in commas and (ws[end] not in PHRASE_ENDS or _object(ws, end)):
        end += 1
    return start, end


def _object(ws: list[str], i: int) -> bool:
    return ws[i] in DETERMINERS and ws[i - 1] in PREPOSITIONS


@functools.lru_cache(maxsize=16384)  # pure in the text; asked several times per clause
def strip_negation(text: str) -> str:
    """The clause with its negation cue removed, so the matcher sees what is denied ("no rain" -> "rain")."""
    ws = words(text)
    at = negation_at(ws, compound_positions(text))
    if at is None:
        return text
    skip = 2 if tuple(ws[at : at + 2]) in NEGATION_PAIRS else 1
    return " ".join(ws[:at] + ws[at + skip :])
