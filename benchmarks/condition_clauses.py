"""Named deployment conditions on the dev split: what each clause is understood as, and agreement.

Issue 12 asks that conditions the user names are understood whatever the wording: a lay and an expert
paraphrase of one deployment should name the same conditions. This script measures that inside dev only
(it never reads ``evals/scenarios/heldout``), split into two fixed halves by sorted scenario name (A:
even index, tuned against; B: odd index, reported): a change that lifts A but not B has memorised.

Per brief, the understood set is the knowledge-base conditions matched on its deployment-condition
clauses plus the primitives matched directly (``expert/direct.py``, shown as ``=primitive``) for items
no condition covers. Prints per set (dev, A, B):
- same-set: share of scenarios whose 4 briefs (brief + paraphrases) give the identical understood set;
- jaccard: mean pairwise Jaccard of the understood sets across a scenario's briefs;
- empty: deployment-condition items that yield nothing at all (neither a condition nor a primitive);
- ms/brief: mean wall time of matching one brief's named conditions (first call per brief).

``--show`` prints the clause table of half A (item -> conditions / primitive); ``--eval X.json`` adds the
eval figures (passed, violations, missing groups, consistency) of an ``evals run`` report per half.

Usage: python benchmarks/condition_clauses.py [--scenarios evals/scenarios/dev] [--show] [--eval X.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def understood(brief: Any) -> tuple[set[str], list[str]]:
    """The understood set of one brief and its clause table rows (item -> what it was read as)."""
    from robustlens.expert.cues import _clean
    from robustlens.expert.phrases import split_phrases
    from robustlens.expert.planner import analyse

    a = analyse(brief)
    direct = {d.item: d for d in a.direct}
    found: set[str] = set()
    rows = []
    for item in brief.deployment_conditions:
        clauses = set(_clean(split_phrases(item)))  # as the condition matcher sees them
        conds = [
            f"{m.condition}({m.method[0]}{m.score:.2f}:{m.phrase})"
            for m in a.facts.conditions
            if m.phrase in clauses
        ]
        found |= {m.condition for m in a.facts.conditions if m.phrase in clauses}
        if item in direct:
            found.add(f"={direct[item].primitive}")
            conds.append(f"={direct[item].primitive}({direct[item].method[0]}{direct[item].score:.2f})")
        rows.append(f"    {item!r}: {', '.join(conds) or '-- NOTHING --'}")
    return found, rows


def matching_seconds(brief: Any) -> float:
    """Wall time of matching one brief's named conditions (``match_conditions``: split, lexical,
    semantic, vetting), first call for this brief."""
    from robustlens.expert.conditions import match_conditions

    start = time.perf_counter()
    match_conditions(brief)
    return time.perf_counter() - start


def per_scenario(sc: Any, show: bool = False) -> dict[str, Any]:
    """One scenario's figures: same understood set across its briefs, mean pairwise Jaccard, empties."""
    sets, empty, items, lines = [], 0, 0, [sc.name]
    seconds = [matching_seconds(brief) for brief in sc.briefs()]
    for i, brief in enumerate(sc.briefs()):
        found, rows = understood(brief)
        sets.append(found)
        items += len(rows)
        empty += sum(r.endswith("-- NOTHING --") for r in rows)
        lines += [f"  ~{i} {sorted(found)}", *rows]
    if show:
        print("\n".join(lines))
    pairs = [len(x & y) / len(x | y) if x | y else 1.0 for x, y in itertools.combinations(sets, 2)]
    jaccard = sum(pairs) / max(len(pairs), 1)
    return {
        "same": all(s == sets[0] for s in sets),
        "jaccard": jaccard,
        "empty": empty,
        "items": items,
        "seconds": seconds,
    }


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = max(len(rows), 1)
    return {
        "n": len(rows),
        "same": sum(r["same"] for r in rows) / n,
        "jaccard": sum(r["jaccard"] for r in rows) / n,
        "empty": sum(r["empty"] for r in rows),
        "items": sum(r["items"] for r in rows),
        "ms": 1000 * sum(sum(r["seconds"]) for r in rows) / max(sum(len(r["seconds"]) for r in rows), 1),
    }


def eval_figures(report: dict[str, Any], names: set[str]) -> str:
    rows = [s for s in report["scenarios"] if s["name"].split("~")[0] in names]
    mains = [s for s in rows if s.get("paraphrase_of") is None]
    passed = sum(
        all(
            not run["violations"] and not run["missing_groups"]
            for r in rows
            if r["name"].split("~")[0] == m["name"]
            for run in r["runs"][:1]
        )
        for m in mains
    )
    missing = sum(len(run["missing_groups"]) for r in rows for run in r["runs"][:1])
    violations = sum(len(run["violations"]) for r in rows for run in r["runs"][:1])
    cons = [m["paraphrase_consistency"] for m in mains if m.get("paraphrase_consistency") is not None]
    return (
        f"passed~{passed}/{len(mains)} violations {violations} missing {missing} "
        f"consistency {sum(cons) / max(len(cons), 1):.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="evals/scenarios/dev")
    parser.add_argument("--show", action="store_true", help="print the clause table of half A (tuned on)")
    parser.add_argument("--eval", help="an `evals run` JSON report to split into halves")
    args = parser.parse_args()
    if "heldout" in Path(args.scenarios).parts:
        raise SystemExit("this script measures dev only: the held-out split is never tuned against")
    from robustlens.evals.scenarios import load_scenarios

    dev = sorted(load_scenarios(args.scenarios), key=lambda s: s.name)
    halves = {"dev": dev, "A": dev[0::2], "B": dev[1::2]}
    report = json.loads(Path(args.eval).read_text()) if args.eval else None
    half_a = {s.name for s in halves["A"]}
    results = {sc.name: per_scenario(sc, show=args.show and sc.name in half_a) for sc in dev}
    print(f"{'set':4} {'n':>3} {'same-set':>8} {'jaccard':>8} {'empty':>9} {'ms/brief':>8}  eval")
    for name, group in halves.items():
        fig = summary([results[s.name] for s in group])
        evals = eval_figures(report, {s.name for s in group}) if report else ""
        print(
            f"{name:4} {fig['n']:>3} {fig['same']:>8.3f} {fig['jaccard']:>8.3f} "
            f"{fig['empty']:>4}/{fig['items']:<4} {fig['ms']:>8.1f}  {evals}"
        )


if __name__ == "__main__":
    main()
