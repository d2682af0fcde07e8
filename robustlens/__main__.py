"""``python -m robustlens`` runs the command line."""

from robustlens.cli.app import entry

entry()
