"""Reading the expert's YAML data files (cue phrases, fact prototypes, physics) with errors that name
the file and the entry: the knowledge is data a user may edit, so a typo must say where it is."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from robustlens.errors import UserInputError
from robustlens.yamlload import load_yaml

BadEntry = Callable[[Path, str, str], UserInputError]


def entry_error(kind: str, why: str) -> BadEntry:
    """``bad(file, what, field)``: the UserInputError for a malformed entry of a ``kind`` file."""

    def bad(file: Path, what: str, field: str) -> UserInputError:
        return UserInputError(
            f"Invalid {kind} file {file}: {what}", why=why, fix="Correct the entry named above.", field=field
        )

    return bad


def read_yaml(file: Path, bad: BadEntry, field: str) -> Any:
    """The parsed file ({} when empty); invalid YAML raises ``bad`` naming ``field``."""
    try:
        return load_yaml(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise bad(file, f"not valid YAML: {exc}", field) from None
