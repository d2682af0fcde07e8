"""Phrase-matcher speed: MiniLM load time, then 100 user phrases against the knowledge base's conditions.

Prints: (a) first load of the sentence model (import + weights, CPU), (b) embedding every label
example once (cached per labels mapping), (c) one match_phrases call with 100 phrases, (d) the same
call again (label embeddings cached), and the phrases/s of (d).

Usage: python benchmarks/phrase_matching.py [--phrases 100] [--top-k 1]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

BASE = [
    "the camera shakes",
    "bad light",
    "liquid on the lens",
    "older scanners",
    "slow connection",
    "over the water",
    "lighting-fast checkout",
    "no rain",
    "never outdoors",
    "without flash",
    "photos sent over whatsapp",
    "dusty warehouse shelves",
    "fog in the mornings",
    "people walk past",
    "cheap phone cameras",
    "night shifts under sodium lamps",
    "uploads over 4G",
    "the conveyor runs fast",
    "images are resized for the web",
    "glossy packaging reflects the lights",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phrases", type=int, default=100)
    parser.add_argument("--top-k", type=int, default=1)
    args = parser.parse_args()

    from robustlens.expert import phrases
    from robustlens.expert.knowledge import load_knowledge

    labels = dict(load_knowledge().conditions)
    clauses = [f"{BASE[i % len(BASE)]} ({i})" if i >= len(BASE) else BASE[i] for i in range(args.phrases)]
    examples = sum(len(v) for v in labels.values())

    t0 = time.perf_counter()
    available = phrases.semantic_available()
    t1 = time.perf_counter()
    phrases.match_phrases(["warm-up"], labels)
    t2 = time.perf_counter()
    found = phrases.match_phrases(clauses, labels, top_k=args.top_k)
    t3 = time.perf_counter()
    phrases.match_phrases(clauses, labels, top_k=args.top_k)
    t4 = time.perf_counter()

    print(f"semantic available: {available}; {len(labels)} labels, {examples} example phrases")
    print(f"(a) model load (first call):          {t1 - t0:7.3f} s")
    print(f"(b) label examples embedded + 1 call: {t2 - t1:7.3f} s")
    print(f"(c) {len(clauses)} phrases, first call:        {t3 - t2:7.3f} s  ({len(found)} matches)")
    rate = len(clauses) / (t4 - t3)
    print(f"(d) {len(clauses)} phrases, cached labels:     {t4 - t3:7.3f} s  ({rate:.0f} phrases/s)")


if __name__ == "__main__":
    main()
