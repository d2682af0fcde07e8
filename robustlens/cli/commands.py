"""Import every command module so each registers itself on ``app``."""

from robustlens.cli import corruptions, demo, evaluate  # noqa: F401
