"""Import every command module so each registers itself on ``app``."""

from robustlens.cli import agent, corruptions, demo, evals, evaluate, report  # noqa: F401
