"""Which words of a clause are part of a name, not a description of the imaging chain.

Briefs name things: a carrot variety ('Purple Haze'), a hospital wing (the Frost Wing), a family
(the Frost family papers), a club, a brand. A cue matcher that reads such a word as physics plans haze
for a grow tent or frost for a microfilm archive. Four general signs mark a name, in the way English
writes names rather than in any list of the names themselves:

- **quotes**: a word inside quotation marks ('Purple Haze', "Snowflake") is a label someone gave;
- **a run of capitalised words** inside a clause (the Purple Haze, "Singin' in the Rain"): two or
  more title-case words in a row (small words between them allowed) are a proper noun, unless the
  whole clause is written in title case (a heading such as "Dental Camera Triage");
- **a name noun right after a capitalised word** (the Frost family, Snowflake Club, the Sun ward, the
  X-Ray series): the word qualifies a name, a brand, a product or a place ("a wet street" is weather,
  "Wet Street" an address);
- **a capitalised word after a naming verb** ("a product range called X-Ray", "known as Snow").

Callers pass extra ``heads`` for narrower cases (a modality word before "clinic" or "room" names the
department next door, not this device). Positions are indices into ``words.words(text)``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache


# Nouns whose preceding word is part of a name ("the Frost family", "a Snowflake club").
def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


NAME_NOUNS = _wordset(
    "family families brand brands club clubs wing ward street avenue lane company inc ltd llc gmbh "
    "variety varieties cultivar cultivars breed hotel restaurant cafe bar pub brewery cola soda beer "
    "drink drinks trademark "
    # products: "the vendor's X-Ray series", "the Fog app", "Snow firmware" name a product, not physics
    "series edition model models version software app apps firmware product products range toolkit "
    # places: "Rain camp", "the Snow valley road", "Frost village"
    "camp village town city county district valley hill hills river lake bay island mountain road square "
    "estate site sites centre center"
)
#: one word (hyphenated compounds kept whole); ``phrases`` tokenises with the same pattern, so positions align
TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?(?:-[a-z0-9]+)*")
_QUOTED = re.compile(
    r"(?<![\w'])(['\"\u2018\u201c])([^'\"\u2018\u2019\u201c\u201d]{1,60}?)['\"\u2019\u201d](?![\w])"
)
_STOP = _wordset("a an the of and or for to in on at by with our their my your its this that")


def _spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, original word) per word, aligned with ``words.words`` (hyphen parts split)."""
    return [(s, e, w) for s, e, w, _ in _parts(text)]


def _parts(text: str) -> list[tuple[int, int, str, int]]:
    """(start, end, original word, compound index) per word: the parts of "X-ray" share an index."""
    out = []
    lowered = text.lower().replace("\u2019", "'")
    for group, m in enumerate(TOKEN.finditer(lowered)):
        start = m.start()
        for part in m.group(0).split("-"):
            if part:
                out.append((start, start + len(part), text[start : start + len(part)], group))
            start += len(part) + 1
    return out


NAMING = _wordset("called named dubbed branded titled nicknamed")


def _naming(before: str, earlier: str) -> bool:
    """Whether the words before a capitalised word introduce a name ("called", "known as")."""
    return before in NAMING or (before == "as" and earlier in ("known", "sold", "marketed"))


def _title(word: str) -> bool:
    """Capitalised like a name ("Frost", "Haze"), not an acronym ("MRI", "JPEGs") or a lowercase word."""
    if len(word) > 2 and word.endswith("s") and word[:-1].isupper():
        return False
    return word[:1].isupper() and any(c.islower() for c in word[1:])


def _capitalised_runs(words: list[str]) -> set[int]:
    """Positions of runs of two or more capitalised words, small words allowed between them as in a
    title ("The Snow Queen", "Singin' in the Rain"). The clause's first word may be capitalised only
    because a sentence starts there, so it joins a run but counts towards the two only when the word
    right after it is capitalised too ("Snow Line 41 buses": a sentence capitalises one word, not two)."""
    out: set[int] = set()
    run: list[int] = []
    for i, word in enumerate([*words, ""]):
        if word and _title(word):
            run.append(i)
            continue
        if word.lower() in _STOP and run:
            continue  # "in the" inside a title
        if len([k for k in run if k > 0]) + (0 in run and 1 in run) >= 2:
            out.update(run)
        run = []
    return out


@lru_cache(maxsize=65536)
def name_positions(text: str, heads: frozenset[str] = frozenset()) -> frozenset[int]:
    """Positions of the words of ``text`` that belong to a name (quotes, capitalised runs, a name
    noun after them); ``heads`` adds nouns that make the word before them a name."""
    spans = _spans(text)
    out: set[int] = set()
    for m in _QUOTED.finditer(text):
        out.update(i for i, (s, e, _) in enumerate(spans) if s >= m.start(2) and e <= m.end(2))
    content = [i for i, (_, _, w) in enumerate(spans) if w.lower() not in _STOP]
    # a heading ("Dental Camera Triage") capitalises every word, from the first (a two-word one is a name)
    heading = len(content) >= 3 and _title(spans[0][2]) and all(_title(spans[i][2]) for i in content)
    if not heading:
        out.update(_capitalised_runs([w for _, _, w in spans]))
    parts = _parts(text)
    for i, (_, _, word) in enumerate(spans[1:], start=1):
        before = spans[i - 1][2]
        whole = " ".join(p[2] for p in parts if p[3] == parts[i][3])  # "X Ray" of "X-Ray"
        if (
            parts[i - 1][3] != parts[i][3]
            and _title(whole)
            and _naming(before.lower(), spans[i - 2][2].lower() if i > 1 else "")
        ):
            out.add(i)  # "a range called X-Ray", "known as Snow": what follows is the name
        if before.lower() in _STOP:
            continue
        # "a wet street" describes the street; "Sun Street" names one: a name noun needs a capital
        if word.lower() in heads or (word.lower() in NAME_NOUNS and _title(before) and not heading):
            out.add(i - 1)
    groups = {g for i, (*_, g) in enumerate(parts) if i in out}  # all of "X-ray", not "ray"
    return frozenset(i for i, (*_, g) in enumerate(parts) if g in groups)


def heads_key(heads: Collection[str]) -> frozenset[str]:
    """``heads`` as the hashable set ``name_positions`` takes."""
    return frozenset(h.lower() for h in heads)


def without_names(text: str, heads: frozenset[str] = frozenset()) -> str:
    """``text`` without the words of its names, for the sentence model (which reads 'Haze' as haze)."""
    names = name_positions(text, heads)
    if not names:
        return text
    return " ".join(w.lower() for i, (_, _, w) in enumerate(_spans(text)) if i not in names)
