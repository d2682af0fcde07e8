"""The shared word-level reader (robustlens/expert/words.py): every matcher cuts and normalises the user's
text the same way, through public functions, so no module reaches into another's private helpers."""

from __future__ import annotations

import ast
from pathlib import Path

import robustlens.expert as expert_pkg
from robustlens.expert import phrases, words


def test_word_reading_is_public_and_shared() -> None:
    assert words.words("Hand-held scope, can't focus") == ["hand", "held", "scope", "can't", "focus"]
    assert words.leading_negation("without any flash") and not words.leading_negation("focus not right")
    assert words.strip_negation("no drizzle") == "drizzle"
    assert words.split_phrases("glare, wet lens and dust") == ["glare", "wet lens", "dust"]
    assert phrases.split_phrases is words.split_phrases and phrases.stem is words.stem  # one reader, not two


def test_expert_modules_import_no_private_name_of_another_module() -> None:
    private: list[str] = []
    for path in sorted(Path(expert_pkg.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("robustlens.expert."):
                private += [f"{path.name}: {node.module}.{a.name}" for a in node.names if a.name[0] == "_"]
    assert not [p for p in private if ".phrases." in p], private
