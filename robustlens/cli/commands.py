"""Import every command module so each registers itself on ``app``."""

from robustlens.cli import (  # noqa: F401
    agent,
    corruptions,
    demo,
    evals,
    evaluate,
    examples,
    harden,
    models,
    plan,
    report,
)
