"""result.json is derived data: read it, or rebuild it from the finished cells when it is damaged.

The manifest says what was asked and the cells hold every per-image record, so a lost or truncated
summary loses nothing; ``RunStore.write_result`` writes the rebuilt one.
"""

from __future__ import annotations

from pathlib import Path

from robustlens.errors import UserInputError
from robustlens.evaluation.store import RunStore, damaged
from robustlens.schemas import AuditResult


def load_result(root: Path) -> AuditResult:
    """The run's AuditResult; a damaged result.json is rebuilt from the finished cells.

    result.json is derived data (a summary of the cells), so losing it loses nothing: the manifest
    says what was asked and the cells hold every per-image record.
    """
    from pydantic import ValidationError

    root = Path(root)
    path = root / "result.json"
    try:
        return AuditResult.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValueError, ValidationError, RecursionError):
        pass
    return rebuild_result(root)


def rebuild_result(root: Path) -> AuditResult:
    """Summarise the cells again (from manifest.json) and rewrite result.json."""
    from pydantic import ValidationError

    from robustlens.evaluation.summary import summarize
    from robustlens.schemas import CorruptionPlan, DomainBrief

    store = RunStore(root)
    manifest = store.read_manifest()
    if manifest is None:
        raise damaged(
            root / "result.json", "it is not a valid result and there is no manifest.json to rebuild it from"
        )
    try:
        plan = CorruptionPlan.model_validate(manifest["plan"])
        brief = DomainBrief.model_validate(manifest["brief"]) if manifest.get("brief") else None
        models = list(manifest["models"])
    except (KeyError, TypeError, ValidationError):
        raise damaged(store.manifest_path, "it lacks the plan or models of the run") from None
    try:
        result = summarize(
            store,
            plan,
            models,
            manifest.get("reference_model"),
            brief=brief,
            n_boot=int(manifest.get("n_boot", 1000)),
        )
    except FileNotFoundError:
        raise UserInputError(
            f"{root} is an unfinished run: result.json is missing or damaged and some cells are not done.",
            why="result.json is written when every cell of the run is finished.",
            fix="Re-run the same `robustlens eval` command to resume and finish the run.",
            field="out",
        ) from None
    from robustlens.evaluation.ood import with_stored_ood

    result = with_stored_ood(root, result)  # the OOD section lives in RUN/ood.json, not in the cells
    store.write_result(result)
    return result
