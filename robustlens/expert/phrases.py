"""Match the user's free-text phrases to labels (conditions, chain facts): lexical first, then semantic.

Users describe deployments in their own words ("the camera shakes", "bad light", "liquid on the
lens", "older scanners", "slow connection"); whole-word keyword lists miss most of them and still
fire on distractors ("over the water" is not underwater). Two matchers, in order:

- **Lexical**: normalised words with light stemming (shakes/shaking/shaken -> shake, scanners ->
  scanner). An example phrase hits when all its content words occur in the clause in the same order
  (at most two words apart), and a hyphenated compound ("lighting-fast") only hits as a whole. A hit
  scores 1.0 and always wins.
- **Semantic**: cosine similarity of sentence embeddings from the MiniLM-L6 sentence model the project
  already ships (all-MiniLM-L6-v2, Reimers & Gurevych 2019, "Sentence-BERT", EMNLP; mean pooling,
  L2-normalised), phrase against each label's best example, thresholded. A clause whose direction or
  place words contradict the example's (over vs under, indoor vs outdoor) is not matched: sentence
  embeddings barely separate such antonyms.

Negation ("no rain", "never outdoors", "without flash") is read from the clause, not the embedding: the
cue is removed before matching and the match is flagged ``negated`` so the caller rules the label out.
Everything runs on CPU, deterministically; the model loads from the installed package and never
downloads (offline flags are forced), and when it cannot load the matcher is lexical only.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from robustlens.expert import sentences
from robustlens.expert.names import TOKEN as _TOKEN
from robustlens.expert.names import heads_key, name_positions, without_names

SCORE_DIGITS = 4  # scores are rounded so batching order cannot change a result
MAX_GAP = 2  # content words allowed between two words of an example phrase
OVERLAP_MARGIN = 0.15  # extra similarity a semantic match needs when it shares only some example words
ONE_WORD_MARGIN = 0.35  # extra similarity a one-word clause needs: "paper", "houses" mean little alone
LabelKey = tuple[tuple[str, tuple[str, ...]], ...]


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_SPLIT = re.compile(
    r"[,;:!?()\[\]\n]+"  # punctuation; brackets set off label lists ("(crack, none)")
    r"|(?<=[a-z])/(?=[a-z])"  # "sun/shadows" names two things
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
    "can't cannot hasn't haven't shouldn't lacks lacking absent"
)
NEGATION_PAIRS = (("free", "of"),)
# Direction, place and light words whose opposites sentence embeddings barely separate: a label with an
# example using one of a pair never matches a clause using the other ("over the water" vs "underwater",
# "daylight" vs "dark"/"night").
_LIGHT = ("day", "daytime", "daylight", "sunny", "sunlit", "bright", "brightly")
_DARK = ("night", "nighttime", "dark", "darkness", "dim", "dimly", "dusk")
OPPOSITES = (
    ("over", "under"),
    ("above", "below"),
    ("above", "under"),
    ("over", "underwater"),
    ("above", "underwater"),
    ("indoor", "outdoor"),
    ("inside", "outside"),
    *((light, dark) for light in _LIGHT for dark in _DARK),
)
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
    "carried": "carry",
    "carries": "carry",
}


@dataclass(frozen=True)
class PhraseMatch:
    """One clause of the user's text matched to one label."""

    phrase: str  # the user's words (one clause)
    label: str  # the label matched
    score: float  # cosine similarity (semantic) or 1.0 (lexical)
    method: Literal["lexical", "semantic"]
    negated: bool = False  # "no rain", "never outdoors", "without flash": the user rules it OUT
    example: str = field(default="", compare=False)  # the label's example phrase that matched


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
class _Token:
    stem: str
    group: int  # tokens of one hyphenated compound share a group
    pos: int  # index of the word in ``_words(text)`` (for "does a negation cue come before it")


def _tokens(text: str) -> list[_Token]:
    """Content-word tokens (stop words dropped, hyphenated compounds kept together as a group)."""
    out: list[_Token] = []
    pos = 0
    for group, raw in enumerate(_TOKEN.findall(text.lower().replace("\u2019", "'"))):
        parts = [p for p in raw.split("-") if p]
        if not (len(parts) == 1 and parts[0] in STOPWORDS):
            out.extend(_Token(stem(p), group, pos + k) for k, p in enumerate(parts))
        pos += len(parts)
    return out


def _words(text: str) -> list[str]:
    return [w for raw in _TOKEN.findall(text.lower().replace("\u2019", "'")) for w in raw.split("-") if w]


def _negation_at(words: list[str], compound: frozenset[int] = frozenset()) -> int | None:
    """Index of the first negation cue among the clause's words, or None; a word inside a hyphenated
    compound ("no-glow flash", "non-stop") is part of a name, not a negation."""
    for i, word in enumerate(words):
        if i in compound:
            continue
        if word in NEGATIONS or (word, *words[i + 1 : i + 2]) in NEGATION_PAIRS:
            return i
    return None


def _compound_positions(text: str) -> frozenset[int]:
    """Positions (in ``_words(text)``) of the words that belong to a hyphenated compound."""
    out: set[int] = set()
    pos = 0
    for raw in _TOKEN.findall(text.lower().replace("\u2019", "'")):
        parts = [p for p in raw.split("-") if p]
        if len(parts) > 1:
            out.update(range(pos, pos + len(parts)))
        pos += len(parts)
    return frozenset(out)


def _worded(text: str) -> bool:
    """Whether a clause has a real word to embed: "130 km" or "none" alone has no meaning to match."""
    return any(len(w) >= 4 and w.isalpha() for w in _words(text) if w not in STOPWORDS)


def _leading_negation(text: str) -> bool:
    """A negation cue before the clause's first content word ("no rain", "without flash"): the whole
    clause is denied. A later cue ("focus not quite right") negates something else, not the clause."""
    words = _words(text)
    at = _negation_at(words, _compound_positions(text))
    if at is None:
        return False
    first = next((i for i, w in enumerate(words) if w not in STOPWORDS and w not in NEGATIONS), len(words))
    return at < first


def _strip_negation(text: str) -> str:
    words = _words(text)
    at = _negation_at(words, _compound_positions(text))
    if at is None:
        return text
    skip = 2 if tuple(words[at : at + 2]) in NEGATION_PAIRS else 1
    return " ".join(words[:at] + words[at + skip :])


def _lexical_hit(
    clause: list[_Token], example: list[_Token], names: frozenset[int] = frozenset()
) -> tuple[int, int] | None:
    """(start, words skipped) in clause tokens when all of ``example``'s content words occur in order,
    at most MAX_GAP apart (adjacent within one of the example's hyphenated compounds: "two-sided" is
    not "two lamps at the sides"), and no hyphenated compound of the clause is only partly used."""
    if not example:
        return None
    want = [t.stem for t in example]
    for start, token in enumerate(clause):
        if token.stem != want[0] or token.pos in names:
            continue
        used, pos = [start], start
        for k, stem_ in enumerate(want[1:], start=1):
            gap = 0 if example[k].group == example[k - 1].group else MAX_GAP
            nxt = next(
                (
                    j
                    for j in range(pos + 1, min(len(clause), pos + 2 + gap))
                    if clause[j].stem == stem_ and clause[j].pos not in names
                ),
                None,
            )
            if nxt is None:
                break
            used.append(nxt)
            pos = nxt
        else:
            if _whole_compounds(clause, used):
                return start, used[-1] - start + 1 - len(used)
    return None


def _whole_compounds(clause: list[_Token], used: list[int]) -> bool:
    groups = {clause[i].group for i in used}
    for group in groups:
        members = [i for i, t in enumerate(clause) if t.group == group]
        if len(members) > 1 and not set(members) <= set(used):
            return False
    return True


@lru_cache(maxsize=64)
def _label_tokens(key: LabelKey) -> tuple[tuple[str, tuple[list[_Token], ...]], ...]:
    return tuple((label, tuple(_tokens(e) for e in examples)) for label, examples in key)


@lru_cache(maxsize=8192)
def _stems(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in _words(text) if w not in STOPWORDS)


def content_stems(text: str) -> frozenset[str]:
    """The stems of a text's content words (stop words dropped), as the lexical matcher sees them."""
    return _stems(text)


def _opposed(clause: str, example: str) -> bool:
    """The clause and the example use opposite direction/place words (over vs under, indoor vs outdoor)."""
    a, b = _stems(clause), _stems(example)
    for sx, sy in _stemmed_opposites():
        if (sx in a and sy in b and sy not in a) or (sy in a and sx in b and sx not in a):
            return True
    return False


@lru_cache(maxsize=1)
def _stemmed_opposites() -> tuple[tuple[str, str], ...]:
    return tuple((stem(x), stem(y)) for x, y in OPPOSITES)


def _margin(clause: str, example: str) -> float:
    """How much more similarity than the threshold a (clause, example) pair needs; inf = never a match.

    Sentence embeddings score surface overlap: "lighting-fast checkout" is close to "shop lighting".
    So a pair whose only shared words sit inside a hyphenated compound of the clause is ruled out, and
    a pair sharing some but not all of the example's words needs OVERLAP_MARGIN more.
    """
    a, b = _stems(clause), _stems(example)
    shared = a & b
    if len(a) == 1 and not shared:
        return ONE_WORD_MARGIN
    if not shared:
        return 0.0
    compounds = [_stems(raw) for raw in _TOKEN.findall(clause.lower()) if "-" in raw]
    if all(any(s in c and not c <= b for c in compounds) for s in shared):
        return float("inf")
    return 0.0 if b <= a else OVERLAP_MARGIN


def match_phrases(
    phrases: Sequence[str],
    labels: Mapping[str, Sequence[str]],
    *,
    threshold: float = 0.5,
    top_k: int = 1,
    heads: Collection[str] = (),
) -> list[PhraseMatch]:
    """Each phrase -> up to ``top_k`` labels, best first (lexical hits 1.0, then semantic by cosine).

    ``labels`` maps a label to its example phrases (the label name is not an example unless listed, so
    a terse name such as 'water' cannot fire on its own). Words of a name ('Purple Haze', the Frost
    family; ``heads`` adds nouns such as "clinic": ``names.py``) match nothing. Phrases without a
    match are omitted; results keep the order of ``phrases``.
    """
    head_set = heads_key(heads)
    key = tuple((str(label), tuple(str(e) for e in examples)) for label, examples in labels.items())
    lexicon = _label_tokens(key)
    clauses = [str(p).strip() for p in phrases]
    found: list[list[PhraseMatch]] = []
    raw = dict(key)
    for clause in clauses:
        words = _words(clause)
        neg_at = _negation_at(words, _compound_positions(clause))
        tokens = _tokens(clause)
        names = name_positions(clause, head_set)
        ranked: list[tuple[int, int, int, PhraseMatch]] = []
        for order, (label, examples) in enumerate(lexicon):
            spots = [
                (gap, -len(e), start, k)
                for k, e in enumerate(examples)
                if (hit := _lexical_hit(tokens, e, names))
                for start, gap in [hit]
            ]
            if spots:  # tightest, longest hit first: "camera flash" beats "camera ... shaking"
                gap, size, start, k = min(spots)
                negated = neg_at is not None and neg_at < tokens[start].pos
                text = raw[label][k]
                ranked.append((gap, size, order, PhraseMatch(clause, label, 1.0, "lexical", negated, text)))
        hits = [m for *_, m in sorted(ranked, key=lambda r: r[:3])]
        found.append(hits[:top_k])
    # a clause with no content word left once a negation cue is removed ("none", "no") means nothing
    unnamed = [without_names(c, head_set) for c in clauses]
    todo = [i for i, hits in enumerate(found) if len(hits) < top_k and _worded(_strip_negation(unnamed[i]))]
    if todo and semantic_available():
        stripped = [_strip_negation(unnamed[i]) for i in todo]
        for i, scores in zip(todo, _label_scores(stripped, key, threshold), strict=True):
            have = {m.label for m in found[i]}
            negated = _leading_negation(clauses[i])
            best = sorted(
                ((s, lab, ex) for lab, (s, ex) in scores.items() if lab not in have),
                key=lambda x: (-x[0], x[1]),
            )
            for score, label, example in best[: top_k - len(found[i])]:
                found[i].append(PhraseMatch(clauses[i], label, score, "semantic", negated, example))
    return [m for hits in found for m in hits]


def semantic_available() -> bool:
    """False when the MiniLM sentence model cannot load: the matcher is then lexical only."""
    return sentences.encoder() is not None


@lru_cache(maxsize=64)
def _label_embeddings(key: LabelKey) -> tuple[Any, tuple[int, ...], tuple[str, ...]]:
    """All examples of all labels embedded once per labels mapping: (matrix, owner label index, text)."""
    texts, owners = [], []
    for index, (_label, examples) in enumerate(key):
        for text in dict.fromkeys(examples):
            texts.append(text)
            owners.append(index)
    return sentences.cached_embed(texts), tuple(owners), tuple(texts)


def _label_scores(clauses: list[str], key: LabelKey, threshold: float) -> list[dict[str, tuple[float, str]]]:
    """Per clause: label -> (best cosine, its example) over examples clearing the threshold and guards."""
    import numpy as np

    matrix, owners, texts = _label_embeddings(key)
    sims = sentences.embed_clauses(clauses) @ matrix.T
    out = []
    for clause, row in zip(clauses, sims, strict=True):
        scores: dict[str, tuple[float, str]] = {}
        opposed: dict[int, bool] = {}  # a label with an example opposed to the clause is ruled out whole
        for col in np.flatnonzero(row >= threshold):
            index, score = owners[col], round(float(row[col]), SCORE_DIGITS)
            label = key[index][0]
            if score <= scores.get(label, (-1.0, ""))[0] or score < threshold + _margin(clause, texts[col]):
                continue
            if index not in opposed:
                opposed[index] = any(_opposed(clause, example) for example in key[index][1])
            if not opposed[index]:
                scores[label] = (score, texts[col])
        out.append(scores)
    return out
