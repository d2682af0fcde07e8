"""The ``robustlens`` command line (typer + rich). Each command group lives in its own module."""

from robustlens.cli.app import app, main

__all__ = ["app", "main"]
