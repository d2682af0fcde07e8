"""Import every command module so each registers itself on ``app``."""

from robustlens.cli import agent, corruptions, demo, evals, evaluate, examples, models, report  # noqa: F401
