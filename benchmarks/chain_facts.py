"""Imaging-chain facts on the dev split: routing, fact consistency across paraphrases, speed.

Issue 12 asks for facts that carry to deployments the expert has never seen. This script measures
them inside dev only (it never reads ``evals/scenarios/heldout``), split into two fixed halves by
sorted scenario name (A: even index, tuned against; B: odd index, reported): a change that lifts A
but not B has memorised phrasings.

Prints per set (dev, A, B):
- routing: share of scenarios whose ``expect_facts`` hold for the scenario's own brief (as
  ``robustlens evals run`` scores it) and share of all briefs (paraphrases included) that hold;
- fact consistency: share of scenarios whose briefs (brief + paraphrases) give identical fact fields,
  and the mean per-field agreement (a field agrees when every brief gives it the same value);
- warm ``infer_chain`` seconds per brief (wall mean and max, and CPU, over all dev briefs, second pass).

Usage: python benchmarks/chain_facts.py [--scenarios evals/scenarios/dev] [--show]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

FIELDS = ("scene", "moving", "light", "sensor", "modality", "processing", "sky_in_view")


def _row(facts: Any) -> dict[str, Any]:
    return {f: tuple(v) if isinstance(v := getattr(facts, f), list) else v for f in FIELDS}


def facts_of(scenarios: list[Any]) -> dict[str, list[Any]]:
    """Each scenario's inferred facts, one per brief (its own brief first, then the paraphrases)."""
    from robustlens.expert.chain import infer_chain

    return {sc.name: [infer_chain(brief) for brief in sc.briefs()] for sc in scenarios}


def measure(scenarios: list[Any], inferred: dict[str, list[Any]]) -> dict[str, Any]:
    """Routing and consistency figures for ``scenarios`` (each with its paraphrases' ``inferred`` facts)."""
    base_ok = briefs_ok = briefs_n = same = 0
    field_agree = dict.fromkeys(FIELDS, 0)
    wrong: dict[str, list[str]] = {}
    for sc in scenarios:
        rows = []
        for i, facts in enumerate(inferred[sc.name]):
            rows.append(_row(facts))
            if sc.expect_facts is not None:
                miss = sc.expect_facts.mismatches(facts)
                briefs_n += 1
                briefs_ok += not miss
                base_ok += not miss and i == 0
                if miss:
                    wrong[f"{sc.name}~{i}"] = miss
        same += all(r == rows[0] for r in rows)
        for f in FIELDS:
            field_agree[f] += all(r[f] == rows[0][f] for r in rows)
    n = max(len(scenarios), 1)
    return {
        "scenarios": len(scenarios),
        "routing": base_ok / n,
        "routing_all_briefs": briefs_ok / max(briefs_n, 1),
        "facts_identical": same / n,
        "field_agreement": sum(field_agree.values()) / (n * len(FIELDS)),
        "per_field": {f: round(v / n, 3) for f, v in field_agree.items()},
        "wrong": wrong,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="evals/scenarios/dev")
    parser.add_argument("--show", action="store_true", help="list every wrong brief of half A (tuned on)")
    args = parser.parse_args()
    if "heldout" in Path(args.scenarios).parts:
        raise SystemExit("this script measures dev only: the held-out split is never tuned against")

    from robustlens.evals.scenarios import load_scenarios
    from robustlens.expert.chain import infer_chain

    dev = sorted(load_scenarios(args.scenarios), key=lambda s: s.name)
    halves = {"dev": dev, "A": dev[0::2], "B": dev[1::2]}
    t0 = time.perf_counter()
    inferred = facts_of(dev)
    cold = time.perf_counter() - t0
    figures = {name: measure(group, inferred) for name, group in halves.items()}
    briefs = [b for sc in dev for b in sc.briefs()]
    times = []
    cpu = time.process_time()
    for brief in briefs:
        t = time.perf_counter()
        infer_chain(brief)
        times.append(time.perf_counter() - t)
    cpu = (time.process_time() - cpu) / len(briefs)
    print(f"{'set':4} {'n':>3} {'routing':>8} {'all-briefs':>10} {'identical':>9} {'field-agree':>11}")
    for name, fig in figures.items():
        print(
            f"{name:4} {fig['scenarios']:>3} {fig['routing']:>8.3f} {fig['routing_all_briefs']:>10.3f} "
            f"{fig['facts_identical']:>9.3f} {fig['field_agreement']:>11.3f}"
        )
    print("per-field agreement (dev):", figures["dev"]["per_field"])
    print(f"first pass (all dev briefs, cold caches) {cold:.1f} s")
    print(
        f"warm infer_chain per brief: wall mean {sum(times) / len(times):.4f} s, max {max(times):.4f} s; "
        f"CPU {cpu:.4f} s (wall counts waiting for a shared CPU)"
    )
    if args.show:
        for key, miss in sorted(figures["A"]["wrong"].items()):
            print(f"  {key}: {'; '.join(miss)}")


if __name__ == "__main__":
    main()
