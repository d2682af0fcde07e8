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

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from robustlens.expert import sentences
from robustlens.expert.names import TOKEN as _TOKEN
from robustlens.expert.names import heads_key, name_positions, without_names
from robustlens.expert.words import NEGATIONS as NEGATIONS
from robustlens.expert.words import STOPWORDS as STOPWORDS
from robustlens.expert.words import Token as _Token
from robustlens.expert.words import leading_negation as _leading_negation
from robustlens.expert.words import negation_scope as _negation_scope
from robustlens.expert.words import split_phrases as split_phrases
from robustlens.expert.words import stem as stem
from robustlens.expert.words import strip_negation as _strip_negation
from robustlens.expert.words import tokens as _tokens
from robustlens.expert.words import worded as _worded
from robustlens.expert.words import words as _words

SCORE_DIGITS = 4  # scores are rounded so batching order cannot change a result
MAX_GAP = 2  # content words allowed between two words of an example phrase
COORDINATORS = frozenset({"or", "and"})  # not counted as skipped: they join the words around them
OVERLAP_MARGIN = 0.15  # extra similarity a semantic match needs when it shares only some example words
ONE_WORD_MARGIN = 0.35  # extra similarity a one-word clause needs: "paper", "houses" mean little alone
LabelKey = tuple[tuple[str, tuple[str, ...]], ...]

# Direction, place and light words whose opposites sentence embeddings barely separate: a label with an
# example using one of a pair never matches a clause using the other ("over the water" vs "underwater",
# "daylight" vs "dark"/"night").
_LIGHT = ("day", "daytime", "daylight", "sunny", "sunlit", "bright", "brightly")
_DARK = ("night", "nighttime", "dark", "darkness", "dim", "dimly", "dusk")
_WET = ("wet", "drops", "droplets", "splash", "splashes", "spray", "condensation", "misted")
OPPOSITES = (
    ("over", "under"),
    ("above", "below"),
    ("above", "under"),
    ("over", "underwater"),
    ("above", "underwater"),
    ("indoor", "outdoor"),
    ("inside", "outside"),
    *((light, dark) for light in _LIGHT for dark in _DARK),
    # water ON the optics means the camera is in air: "wet optics" is no underwater scene
    *((wet, under) for wet in _WET for under in ("underwater", "subsea", "submerged")),
)


@dataclass(frozen=True)
class PhraseMatch:
    """One clause of the user's text matched to one label."""

    phrase: str  # the user's words (one clause)
    label: str  # the label matched
    score: float  # cosine similarity (semantic) or 1.0 (lexical)
    method: Literal["lexical", "semantic"]
    negated: bool = False  # "no rain", "never outdoors", "without flash": the user rules it OUT
    example: str = field(default="", compare=False)  # the label's example phrase that matched


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
            joined = example[k].group == example[k - 1].group
            nxt = _next_hit(clause, pos, stem_, 0 if joined else MAX_GAP, names)
            # a hyphenated example's words stand side by side ("back-lit" is not "back from the light")
            if nxt is None or (joined and clause[nxt].pos != clause[pos].pos + 1):
                break
            used.append(nxt)
            pos = nxt
        else:
            if _whole_compounds(clause, used):
                return start, used[-1] - start + 1 - len(used)
    return None


def _next_hit(clause: list[_Token], pos: int, stem_: str, gap: int, names: frozenset[int]) -> int | None:
    """Index of the next ``stem_`` after ``pos`` with at most ``gap`` words skipped; a coordinator
    is no skipped word ("warm bedroom or bathroom bulbs" are warm bulbs)."""
    skipped = 0
    for j in range(pos + 1, len(clause)):
        if clause[j].stem == stem_ and clause[j].pos not in names:
            return j
        skipped += clause[j].stem not in COORDINATORS
        if skipped > gap:
            return None
    return None


def _loose(example: str, lowered: str) -> bool:
    """Whether ``example`` is NOT said word for word in the clause (``lowered``: its words, padded)."""
    return f" {' '.join(_words(example))} " not in lowered


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


@lru_cache(maxsize=64)
def _by_first_stem(key: LabelKey) -> dict[str, tuple[tuple[int, int], ...]]:
    """(label index, example index) of every example, by the stem of its first word: a clause can
    only hit examples whose first word it holds, so each clause tries a few dozen, not thousands."""
    index: dict[str, list[tuple[int, int]]] = {}
    for order, (_label, examples) in enumerate(_label_tokens(key)):
        for k, example in enumerate(examples):
            if example:
                index.setdefault(example[0].stem, []).append((order, k))
    return {first: tuple(pairs) for first, pairs in index.items()}


@lru_cache(maxsize=8192)
def _stems(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in _words(text) if w not in STOPWORDS)


def content_stems(text: str) -> frozenset[str]:
    """The stems of a text's content words (stop words dropped), as the lexical matcher sees them."""
    return _stems(text)


def opposed(clause: str, example: str) -> bool:
    """The clause and the example use opposite direction/place words (over vs under, indoor vs outdoor)."""
    a, b = _sides(clause), _sides(example)
    # a side of a pair in the clause, the other side in the example and not in the clause too
    return bool(a and b) and any((i, 1 - s) in b and (i, 1 - s) not in a for i, s in a)


@lru_cache(maxsize=8192)
def _sides(text: str) -> frozenset[tuple[int, int]]:
    """(pair index, side) of each ``OPPOSITES`` word the text holds: most texts hold none, and the
    matcher asks about every (clause, example) pair it scores, so this is looked up, not recomputed."""
    stems = _stems(text)
    pairs = enumerate(_stemmed_opposites())
    return frozenset((i, side) for i, pair in pairs for side in (0, 1) if pair[side] in stems)


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
    by_first = _by_first_stem(key)
    clauses = [str(p).strip() for p in phrases]
    found: list[list[PhraseMatch]] = []
    raw = dict(key)
    for clause in clauses:
        words = _words(clause)
        scope = _negation_scope(clause)
        tokens = _tokens(clause)
        lowered = f" {' '.join(words)} "
        names = name_positions(clause, head_set)
        ranked: list[tuple[int, int, bool, int, PhraseMatch]] = []
        candidates: dict[int, list[int]] = {}
        for first in {t.stem for t in tokens}:
            for order, k in by_first.get(first, ()):
                candidates.setdefault(order, []).append(k)
        for order in sorted(candidates):
            label, examples = lexicon[order]
            spots = [
                (gap, -len(e), loose, start, k)
                for k in candidates[order]
                for e in [examples[k]]
                if (hit := _lexical_hit(tokens, e, names))
                for start, gap in [hit]
                for loose in [_loose(raw[label][k], lowered)]
                # several words with one content word ("at an angle", "site to site") only as written:
                # its one word alone ("angle", "sit") says much less
                if not (loose and len(e) == 1 and len(_words(raw[label][k])) > 1)
            ]
            if spots:  # tightest, longest hit first: "camera flash" beats "camera ... shaking"; then the
                # example said word for word ("at any angle" is rotation's, not perspective's "at an angle")
                gap, size, loose, start, k = min(spots)
                negated = scope is not None and scope[0] <= tokens[start].pos < scope[1]
                text = raw[label][k]
                match = PhraseMatch(clause, label, 1.0, "lexical", negated, text)
                ranked.append((gap, size, loose, order, match))
        hits = [m for *_, m in sorted(ranked, key=lambda r: r[:4])]
        found.append(hits[:top_k])
    # a clause with no content word left once a negation cue is removed ("none", "no") means nothing
    unnamed = [without_names(c, head_set) for c in clauses]
    todo = [i for i, hits in enumerate(found) if len(hits) < top_k and _worded(_strip_negation(unnamed[i]))]
    if todo and threshold <= 1.0 and semantic_available():  # no cosine exceeds 1: lexical only
        read = [_denied_or_stated(unnamed[i]) for i in todo]
        scored = _label_scores([text for text, _ in read], key, threshold)
        for i, (_, whole), scores in zip(todo, read, scored, strict=True):
            have = {m.label for m in found[i]}
            negated = whole and _leading_negation(clauses[i])
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
        against: dict[int, bool] = {}  # a label with an example opposed to the clause is ruled out whole
        for col in np.flatnonzero(row >= threshold):
            index, score = owners[col], round(float(row[col]), SCORE_DIGITS)
            label = key[index][0]
            if score <= scores.get(label, (-1.0, ""))[0] or score < threshold + _margin(clause, texts[col]):
                continue
            if index not in against:
                against[index] = any(opposed(clause, example) for example in key[index][1])
            if not against[index]:
                scores[label] = (score, texts[col])
        out.append(scores)
    return out


def _denied_or_stated(clause: str) -> tuple[str, bool]:
    """What the sentence model reads in a clause, and whether a leading negation covers all of it: "no rain
    at all" is read as "rain at all", denied; "without the lamps everything is dark" as "everything is
    dark", stated (the cue denies only its noun phrase, ``words.negation_scope``)."""
    scope = _negation_scope(clause)
    ws = _words(clause)
    if scope is not None and scope[1] < len(ws) and _leading_negation(clause):
        rest = " ".join(ws[scope[1] :])
        if _worded(rest):
            return rest, False
    return _strip_negation(clause), True
