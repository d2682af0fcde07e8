"""The run store touches only folders robustlens made, and only the files it wrote (real files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robustlens.errors import UserInputError
from robustlens.evaluation.store import MARKER, RunStore, check_run_folder, claim, is_run_folder

IDENTITY = {"specs": {"noise": "abc"}, "dataset": "d", "models": ["demo:textile"], "seed": 0}


def open_run(root: Path, fresh: bool = False) -> RunStore:
    store = RunStore(root)
    store.open(IDENTITY, {"versions": {"robustlens": "test"}}, fresh)
    return store


def test_a_new_run_is_marked(tmp_path: Path) -> None:
    store = open_run(tmp_path / "run")
    store.close()
    marker = json.loads((tmp_path / "run" / MARKER).read_text())
    assert marker["run_id"] and marker["robustlens"]
    assert is_run_folder(tmp_path / "run")


def test_fresh_does_not_follow_a_symlinked_cells_folder(tmp_path: Path) -> None:
    """A `cells` link to the user's own folder is removed as a link; what it points at is kept."""
    user = tmp_path / "user_data"
    user.mkdir()
    (user / "precious.txt").write_text("keep")
    run = tmp_path / "run"
    open_run(run).close()
    (run / "cells").symlink_to(user, target_is_directory=True)
    open_run(run, fresh=True).close()
    assert (user / "precious.txt").read_text() == "keep"
    assert not (run / "cells").exists()


def test_an_older_run_with_a_valid_manifest_counts_as_a_run(tmp_path: Path) -> None:
    run = tmp_path / "old"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"identity": IDENTITY, "versions": {}}))
    (run / "cells").mkdir()
    check_run_folder(run)  # no error
    assert is_run_folder(run)


@pytest.mark.parametrize(
    "entries",
    [["report/index.html"], ["cells/x.jsonl"], ["images.json"], ["manifest.json"], ["holiday.jpg"]],
)
def test_foreign_folders_are_refused_and_untouched(tmp_path: Path, entries: list[str]) -> None:
    folder = tmp_path / "mine"
    for entry in entries:
        (folder / entry).parent.mkdir(parents=True, exist_ok=True)
        (folder / entry).write_text('{"not": "robustlens"}')
    with pytest.raises(UserInputError, match="not a robustlens run folder") as info:
        claim(folder)
    assert info.value.field == "out"
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == sorted(entries)


def test_an_agent_started_folder_is_accepted(tmp_path: Path) -> None:
    run = tmp_path / "chat"
    (run / "previews").mkdir(parents=True)
    (run / "agent.sqlite").write_bytes(b"SQLite format 3\x00")
    claim(run)
    assert (run / MARKER).is_file()


def test_the_lock_is_reentrant_in_one_process_and_released_on_close(tmp_path: Path) -> None:
    first = open_run(tmp_path / "run")
    second = open_run(tmp_path / "run")  # same process (e.g. the agent evaluating twice): allowed
    second.close()
    first.close()


def test_a_different_audit_without_finished_cells_starts_over(tmp_path: Path) -> None:
    """A failed first attempt (no cell finished) must not block the corrected retry."""
    run = tmp_path / "run"
    open_run(run).close()
    retry = RunStore(run)
    assert retry.open({**IDENTITY, "models": ["demo:other"]}, {"versions": {}}, fresh=False) is False
    retry.close()
    assert retry.read_manifest()["identity"]["models"] == ["demo:other"]


def test_a_different_audit_with_finished_cells_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    open_run(run).close()
    (run / "cells" / "m" / "noise").mkdir(parents=True)
    (run / "cells" / "m" / "noise" / "s1.jsonl").write_text("{}\n")
    with pytest.raises(UserInputError, match="holds a different audit"):
        RunStore(run).open({**IDENTITY, "seed": 1}, {"versions": {}}, fresh=False)
    assert (run / "cells" / "m" / "noise" / "s1.jsonl").exists()


def test_a_damaged_manifest_is_a_user_error(tmp_path: Path) -> None:
    run = tmp_path / "run"
    open_run(run).close()
    (run / "manifest.json").write_text('{"identity": ')
    with pytest.raises(UserInputError, match="is damaged"):
        RunStore(run).read_manifest()
