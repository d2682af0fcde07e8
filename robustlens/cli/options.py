"""Parsing helpers shared by commands."""

from __future__ import annotations

import typer

from robustlens.errors import UserInputError

LLM_HELP = "OpenAI-compatible endpoint (default: $ROBUSTLENS_LLM_BASE_URL; none = offline expert)."
# The planner/critic endpoint options of the commands that plan (`plan`, `evals run`): one definition.
LLM_BASE_URL = typer.Option(None, "--llm-base-url", help=LLM_HELP)
PLANNER_MODEL = typer.Option(
    None, "--llm-model", help="Planner model (default: $ROBUSTLENS_LLM_MODEL; none = offline expert)."
)
CRITIC_BASE_URL = typer.Option(None, "--critic-base-url", help="Critic endpoint (default: the planner's).")
CRITIC_MODEL = typer.Option(
    None, "--critic-model", help="Critic model (default: the planner's; none = offline rule critic)."
)

# Where and how the engine runs (eval, run, chat): one definition.
# None = the brief's `execution`, else the default.
CORRUPT_ON = typer.Option(
    None,
    "--corrupt-on",
    help="Where corruptions run: auto (the model's device when it is a GPU and every primitive of a spec "
    "has a device kernel, else cpu), cpu (worker processes) or device (the model's device; slow on CPU).",
)
TARGET_CI_WIDTH = typer.Option(
    None,
    "--target-ci-width",
    min=0.001,
    max=1.0,
    help="Adaptive sampling: stop adding images to a cell once its 95% interval is narrower than this "
    "(e.g. 0.1); default: every image in every cell.",
)
DEVICE = typer.Option(
    "auto", "--device", help="Where the model runs: auto (a GPU when there is one), cpu, cuda, cuda:N or mps."
)
CORRUPT_AT = typer.Option(
    "native",
    "--corrupt-at",
    help="'native': corrupt the stored image; 'model': corrupt the resized model input (as ImageNet-C "
    "does; much faster for large images).",
)
EXECUTOR = typer.Option(None, "--executor", help="local (default: this machine) or ray (a Ray cluster).")
RAY_ADDRESS = typer.Option(
    None, "--ray-address", help="With --executor ray: the cluster address, or 'auto' (a running `ray start`)."
)


def parse_severities(text: str) -> list[float]:
    """'1-5' -> [1..5]; '1,3,5' -> [1,3,5]; '0.5,2.5' -> fractional; ranges step by 1."""
    values: list[float] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            if "-" in part[1:]:
                lo_s, hi_s = part.split("-", 1) if not part.startswith("-") else (part, "")
                lo, hi = float(lo_s), float(hi_s)
                if hi < lo:
                    raise ValueError(part)
                v = lo
                while v <= hi + 1e-9:
                    values.append(round(v, 6))
                    v += 1.0
            else:
                values.append(float(part))
    except ValueError:
        values = []
    if not values or any(not 0 <= v <= 5 for v in values):
        raise UserInputError(
            f"Invalid --severities {text!r}.",
            why="severities are numbers in 0..5 (0 = clean, 5 = the strongest rung of the ladder).",
            fix="Use a range like '1-5', a list like '1,3,5', or fractions like '2.5'.",
            field="severities",
        )
    return sorted(set(values))
