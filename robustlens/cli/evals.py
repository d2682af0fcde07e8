"""`robustlens evals run`: does the planner choose realistic corruptions for a domain?"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from robustlens.cli.app import app, console
from robustlens.cli.evaluate import fmt
from robustlens.cli.options import CRITIC_BASE_URL, CRITIC_MODEL, LLM_BASE_URL, PLANNER_MODEL

evals_app = typer.Typer(
    help="Agent-quality evals: plan expert-ruled domain scenarios and score the plans.", no_args_is_help=True
)
app.add_typer(evals_app, name="evals")


def _num(value: float | None, digits: int = 2) -> str:
    return fmt(None if value is None else {"value": value}, digits)


def _critic_config(main: Any, base_url: str | None, model: str | None, timeout: float) -> Any:
    """The critic's LLM config: its own flags, else the planner's LLM, else None (offline rules)."""
    from robustlens.llm.client import LLMConfig

    return LLMConfig.for_critic(main, base_url, model, timeout)


def _row(score: Any) -> list[str]:
    style = "green" if score.passed else "red"
    return [
        f"[{style}]{score.name}[/{style}]",
        f"{score.matched_domain} ({score.match_confidence:.2f})",
        str(score.violations),
        _num(score.coverage),
        _num(score.validity),
        _num(score.diversity),
        _num(score.consistency),
    ]


SPLITS = ("dev", "heldout", "all")
DEFAULT_SCENARIOS = Path("evals/scenarios")


def _load(scenarios: Path | None, split: str) -> list[Any]:
    """The split's scenarios: from ``--scenarios`` when given (only its ``dev``/``heldout`` subfolder's
    when it has the split's; a folder without one is taken whole), else from evals/scenarios. A
    suite folder with both splits must not mix held-out scores into a development run."""
    from robustlens.errors import UserInputError
    from robustlens.evals import load_scenarios

    if split not in SPLITS:
        raise UserInputError(
            f"Unknown split {split!r}.", fix=f"Use one of: {', '.join(SPLITS)}.", field="split"
        )
    if scenarios is not None:
        loaded = load_scenarios(scenarios)
        chosen = [s for s in loaded if s.split == split] if split != "all" else []
        return chosen or loaded
    loaded = load_scenarios(DEFAULT_SCENARIOS)
    if split == "all":
        return loaded
    chosen = [s for s in loaded if s.split == split]
    if not chosen:
        raise UserInputError(
            f"No scenarios in the {split} split (folder {DEFAULT_SCENARIOS / split}).",
            fix="Run from the repository root, or pass --scenarios DIR.",
            field="split",
        )
    return chosen


def _print_splits(report: Any) -> None:
    table = Table(title="Per split (routing: chain facts right; consistency: Jaccard over paraphrases)")
    for col in ("split", "passed", "violations", "missing", "severity", "routing", "consistency"):
        table.add_column(col, justify="left" if col == "split" else "right", no_wrap=True)
    for s in report.splits:
        routing = f"{_num(s.routing)} ({s.routed})" if s.routing is not None else "-"
        cons = (
            f"{_num(s.consistency_mean)} (min {_num(s.consistency_min)})"
            if s.consistency_mean is not None
            else "-"
        )
        table.add_row(
            s.split or "-",
            f"{s.passed}/{s.scenarios}",
            str(s.violations),
            str(s.missing_groups),
            str(s.severity_breaches),
            routing,
            cons,
        )
    console.print(table)
    for s in report.splits:
        if s.split == "all":
            continue
        for name, wrong in s.routing_mismatches.items():
            console.print(f"[yellow]routing[/yellow] {name}: {'; '.join(wrong)}")


@evals_app.command("run")
def run_cmd(
    scenarios: Path | None = typer.Option(
        None,
        "--scenarios",
        "-s",
        help="Folder (subfolders included) or one file of scenario YAML files; --split picks its "
        "dev/heldout subfolder when it has one.",
    ),
    split: str = typer.Option(
        "all",
        "--split",
        help="dev (tuned against), heldout (never tuned against) or all: the folders of evals/scenarios.",
    ),
    seeds: int = typer.Option(3, "--seeds", "-k", min=1, max=100, help="Seeded runs per scenario (K)."),
    only: list[str] = typer.Option([], "--only", help="Run only this scenario (repeat for several)."),
    llm_base_url: str | None = LLM_BASE_URL,
    llm_model: str | None = PLANNER_MODEL,
    critic_base_url: str | None = CRITIC_BASE_URL,
    critic_model: str | None = CRITIC_MODEL,
    offline_critic: bool = typer.Option(
        False, "--offline-critic", help="Test the offline rule critic even when an LLM is configured."
    ),
    timeout: float = typer.Option(60.0, "--llm-timeout", min=1, help="Seconds per LLM request."),
    out: Path = typer.Option(
        Path("evals-report.json"), "--out", "-o", help="Where to write the JSON report."
    ),
    oracle_facts: bool = typer.Option(
        False,
        "--oracle-facts",
        help="Plan with each scenario's expect_facts as the user's confirmed chain facts (measures "
        "planning apart from fact inference; routing still scores inference).",
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Exit 1 unless every scenario has no violation and full coverage."
    ),
) -> None:
    """Plan every scenario (and its paraphrases) K times, score the plans against the expert rules,
    and test the critic. Per split: scenarios passing, violations, missing groups, severity breaches,
    routing (chain facts right) and consistency across paraphrases.

    Example: robustlens evals run --split heldout --seeds 1

    Plans, per-run scores, majority plans and every critic verdict are in the JSON report.
    """
    from robustlens.evals import run_evals, select_scenarios
    from robustlens.llm.client import LLMClient, LLMConfig

    chosen = select_scenarios(_load(scenarios, split), only)
    planner_cfg = LLMConfig.resolve(base_url=llm_base_url, model=llm_model, timeout=timeout)
    critic_cfg = (
        None if offline_critic else _critic_config(planner_cfg, critic_base_url, critic_model, timeout)
    )
    planner: Any = LLMClient(planner_cfg) if planner_cfg else "offline"
    critic: Any = LLMClient(critic_cfg) if critic_cfg else "offline"
    if planner_cfg is None:
        console.print(
            "No LLM configured: evaluating the offline expert (deterministic knowledge-base planner)."
        )
    else:
        console.print(f"Planner: LLM {planner_cfg.model} at {planner_cfg.base_url or 'the OpenAI API'}.")
    console.print(
        f"Critic: {'offline rule critic' if critic_cfg is None else 'LLM ' + critic_cfg.model}. "
        f"{len(chosen)} scenario(s) x {seeds} seed(s)."
        + (" Chain facts: the scenarios' expect_facts (--oracle-facts)." if oracle_facts else "")
    )
    with console.status("planning…") as status:
        report = run_evals(
            chosen,
            planner,
            seeds,
            critic,
            progress=lambda s: status.update(f"planned {s.name} ({s.violations} violations)"),
            oracle_facts=oracle_facts,
        )
    table = Table(title=f"Agent evals: {report.planner}, K={report.seeds}")
    table.add_column("scenario", no_wrap=True)
    table.add_column("domain matched", no_wrap=True)
    for col in ("violations", "coverage", "validity", "diversity", "consistency"):
        table.add_column(col, justify="right")
    for score in report.scenarios:
        table.add_row(*_row(score))
    console.print(table)
    for score in report.scenarios:
        for msg in score.violation_messages:
            console.print(f"[red]violation[/red] {score.name}: {msg}")
        missing = {tuple(g) for r in score.runs for g in r.missing_groups}
        for group in sorted(missing):
            console.print(f"[yellow]missing[/yellow] {score.name}: none of {', '.join(group)}")
    _print_splits(report)
    console.print(
        f"Totals: {report.total_violations} violations, mean coverage {_num(report.mean_coverage)}, "
        f"validity {_num(report.validity)}; "
        f"{len(report.passed)}/{len(report.scenarios)} briefs passed (scenarios and paraphrases)."
    )
    ce = report.critic_eval
    if ce is not None:
        console.print(
            f"Critic {ce.critic} on {len(ce.cases)} planted/realistic specs: "
            f"precision {_num(ce.precision, 3)}, recall {_num(ce.recall, 3)} "
            f"(TP {ce.true_positives}, FP {ce.false_positives}, "
            f"FN {ce.false_negatives}, TN {ce.true_negatives}, errors {ce.errors})."
        )
    report.save(out)
    console.print(f"Report: {out}")
    if strict and report.failed:
        raise typer.Exit(1)
