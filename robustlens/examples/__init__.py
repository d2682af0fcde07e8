"""The example briefs and plans the README uses, shipped inside the package.

Why: ``examples/`` at the repository root is not part of the wheel, so a ``pip install robustlens``
user could not run ``robustlens run examples/textile_line.yaml``. These copies are package data (a
test keeps them identical to ``examples/``); ``robustlens examples --out DIR`` writes them out.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from robustlens.errors import UserInputError


def example_files() -> dict[str, Traversable]:
    """Every shipped example by its relative name, e.g. ``textile_line.yaml``, ``plans/textile_plan.yaml``."""
    root = files(__name__)
    found: dict[str, Traversable] = {}
    for sub in ("", "plans"):
        folder = root.joinpath(sub) if sub else root
        for item in sorted(folder.iterdir(), key=lambda t: t.name):
            if item.is_file() and item.name.endswith((".yaml", ".yml")):
                found[f"{sub}/{item.name}" if sub else item.name] = item
    return found


def kind_of(name: str) -> str:
    """'plan' for corruption plans (``plans/``), 'brief' for domain briefs."""
    return "plan" if name.startswith("plans/") else "brief"


def describe(resource: Traversable) -> str:
    """The example's opening comment, as one line: what it is and how to adapt it."""
    lines = []
    for line in resource.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("# ").strip())
    return " ".join(lines)


def write_examples(out: str | Path, force: bool = False) -> dict[str, Path]:
    """Copy every example under ``out`` (``plans/`` kept); returns the written paths by name.

    A file already there with the same content is left as is; a different one is a user's edit and
    is never overwritten without ``force`` (checked for all files before anything is written).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserInputError(
            f"--out {out} is a file, not a folder.", fix="Pass a folder (it is created).", field="out"
        )
    examples = example_files()
    targets = {name: out / name for name in examples}
    changed = [
        str(path)
        for name, path in targets.items()
        if path.exists() and (not path.is_file() or path.read_bytes() != examples[name].read_bytes())
    ]
    if changed and not force:
        raise UserInputError(
            f"{len(changed)} file(s) in {out} differ from the shipped examples: {', '.join(changed)}.",
            why="they may hold your edits; robustlens never overwrites them silently.",
            fix="Choose another --out folder, or add --force to replace them.",
            field="out",
        )
    try:
        for name, path in targets.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            if not (path.is_file() and path.read_bytes() == examples[name].read_bytes()):
                path.write_bytes(examples[name].read_bytes())
    except OSError as exc:
        raise UserInputError(
            f"Cannot write the examples to {out}: {exc.strerror or exc}.",
            fix="Pass a folder you can write to with --out.",
            field="out",
        ) from None
    return targets


__all__ = ["describe", "example_files", "kind_of", "write_examples"]
