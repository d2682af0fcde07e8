"""Import every command module so each registers itself on ``app``."""

from robustlens.cli import agent, corruptions, demo, evaluate  # noqa: F401
