"""The run directory: manifest, per-cell per-image records, embeddings, summary — all written atomically.

Layout::

    RUN/manifest.json                 what was asked (plan, models, data fingerprint, seed, versions)
    RUN/images.json                   the images evaluated (ids, labels, content hashes) and skipped files
    RUN/cells/<model>/<corruption>/s<severity>.jsonl   one record per image (written last = cell done)
    RUN/cells/<model>/<corruption>/s<severity>.npy     float16 image embeddings, same order
    RUN/text/<model>.npy              class text embeddings
    RUN/ood/<model>.npy (+ .json)     clean embeddings of the --ood image set (ids, fingerprint)
    RUN/result.json                   AuditResult (summary with intervals); rebuilt from the cells
    RUN/timings.jsonl                 wall-clock per cell (kept apart so result files are reproducible)
    RUN/.robustlens-run.json          marker: this folder is a robustlens run (run id, version)
    RUN/.robustlens.lock              flock'ed while a process writes the run

A cell is finished when its ``.jsonl`` exists: the embeddings are written first and every file is
replaced atomically, so a kill at any point leaves either a whole cell or none.

A folder is written to (or cleaned by ``--fresh``) only when robustlens made it: it is empty, has the
marker, or has a valid robustlens manifest (runs of older versions). Anything else is the user's and is
refused, so a mistyped ``--out`` never deletes or mixes the user's files.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from robustlens.errors import UserInputError

if TYPE_CHECKING:
    from robustlens.investigate.records import Investigation
    from robustlens.schemas import AuditResult, DomainBrief

CLEAN = "clean"
RESULT_FILE = "result.json"
BRIEF_FILE = "brief.yaml"
MARKER = ".robustlens-run.json"
LOCK = ".robustlens.lock"
# What ``--fresh`` removes: only files the run store writes (never anything else in the folder).
RUN_OUTPUTS = (
    "cells",
    "text",
    "inputs",
    "result.json",
    "images.json",
    "timings.jsonl",
    "report",
    "investigation.json",
    "ood",
    "ood.json",
)
# Written by the agent (chat/run) before the evaluation creates the manifest.
AGENT_FILES = ("agent.sqlite", "agent.sqlite-journal", "agent.sqlite-wal", "agent.sqlite-shm", "previews")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def model_slug(model_id: str) -> str:
    """A filesystem-safe folder name for a model id."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model_id).strip("_")[:120]


def severity_name(severity: float) -> str:
    return f"s{severity:g}"


class RunStore:
    """Reads and writes one run directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # ------------------------------------------------------------------ manifest

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def read_manifest(self) -> dict[str, Any] | None:
        """The manifest, None when there is none; ``UserInputError`` when it is damaged."""
        if not self.manifest_path.exists():
            return None
        data = read_run_json(self.manifest_path)
        if not isinstance(data, dict):
            raise damaged(self.manifest_path, "it is not a JSON object")
        return data

    def open(self, identity: dict[str, Any], manifest: dict[str, Any], fresh: bool) -> bool:
        """Create or reopen the run; returns True when resuming. ``identity`` must match to resume.

        Refuses folders robustlens did not make (see the module docstring) and takes the run lock,
        held until ``close()`` or the end of the process.
        """
        claim(self.root)
        self.lock()
        existing = None if fresh and (self.root / MARKER).exists() else self.read_manifest()
        if existing is not None and not fresh:
            old = existing.get("identity", {})
            changed = sorted(k for k in identity if k != "specs" and old.get(k) != identity[k])
            old_specs, new_specs = old.get("specs", {}), identity.get("specs", {})
            changed += [
                f"spec {n}" for n in sorted(set(old_specs) & set(new_specs)) if old_specs[n] != new_specs[n]
            ]
            if changed and not self.has_finished_cells():
                # A run that failed before finishing any cell holds nothing to keep: start it over,
                # so the corrected retry of a failed command is not refused as "a different audit".
                return self.open(identity, manifest, fresh=True)
            if changed:
                raise UserInputError(
                    f"{self.root} holds a different audit (changed: {', '.join(changed)}).",
                    why="resuming would mix results of different specs, data, models or seeds.",
                    fix="Use another --out directory, or add --fresh to discard the old results.",
                    field="out",
                )
            # Extending an audit (new corruptions or severities) keeps every finished cell.
            self.update_manifest(identity={**identity, "specs": {**old_specs, **new_specs}}, **manifest)
            return True
        if fresh:
            for child in RUN_OUTPUTS:
                target = self.root / child
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                elif target.exists() or target.is_symlink():
                    target.unlink()
        write_json(self.manifest_path, {"identity": identity, **manifest})
        return False

    # ------------------------------------------------------------------ lock

    def lock(self) -> None:
        """Take the run lock (once per process and folder); a second process fails at once."""
        key = str(self.root.resolve())
        if key in _LOCKS:
            return
        fd = os.open(self.root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UserInputError(
                f"{self.root} is in use by another robustlens process.",
                why="two processes writing one run folder would mix or overwrite each other's results.",
                fix="Wait for the other run to finish (re-running then resumes), or use another --out.",
                field="out",
            ) from None
        _LOCKS[key] = fd

    def close(self) -> None:
        """Release the run lock (it is also released when the process ends, crash included)."""
        fd = _LOCKS.pop(str(self.root.resolve()), None)
        if fd is not None:
            os.close(fd)

    def update_manifest(self, **fields: Any) -> None:
        data = self.read_manifest() or {}
        data.update(fields)
        write_json(self.manifest_path, data)

    # ------------------------------------------------------------------ result, brief, previews

    @property
    def result_path(self) -> Path:
        return self.root / RESULT_FILE

    def write_result(self, result: AuditResult) -> Path:
        """RUN/result.json: the one writer of the run's summary (engine, rebuild, agent all call it)."""
        atomic_write_text(self.result_path, result.to_json())
        return self.result_path

    def read_result(self) -> AuditResult:
        """The run's AuditResult; a damaged result.json is rebuilt from the finished cells."""
        from robustlens.evaluation.rebuild import load_result

        return load_result(self.root)

    def write_investigation(self, investigation: Investigation) -> Path:
        """RUN/investigation.json: the follow-ups after the first pass (envelope, slices, chains, log)."""
        from robustlens.investigate.records import INVESTIGATION_FILE

        path = self.root / INVESTIGATION_FILE
        atomic_write_text(path, investigation.to_json())
        return path

    def write_brief(self, brief: DomainBrief, header: Sequence[str] = ()) -> Path:
        """RUN/brief.yaml: the brief the audit ran with, runnable again with ``robustlens run``;
        ``header`` lines go on top as YAML comments."""
        text = "".join(f"# {line}\n" for line in header) + brief.to_yaml()
        atomic_write_text(self.root / BRIEF_FILE, text)
        return self.root / BRIEF_FILE

    def preview_path(self, spec_name: str) -> Path:
        """RUN/previews/<spec>.png: the severity grid shown before evaluation."""
        return self.root / "previews" / f"{spec_name}.png"

    # ------------------------------------------------------------------ images

    def write_images(self, images: list[dict[str, Any]], skipped: list[dict[str, str]]) -> None:
        write_json(self.root / "images.json", {"images": images, "skipped": skipped})

    def read_images(self) -> dict[str, Any] | None:
        path = self.root / "images.json"
        data: dict[str, Any] | None = read_run_json(path) if path.exists() else None
        return data

    # ------------------------------------------------------------------ cells

    def cell_dir(self, model_id: str, corruption: str) -> Path:
        return self.root / "cells" / model_slug(model_id) / corruption

    def records_path(self, model_id: str, corruption: str, severity: float) -> Path:
        return self.cell_dir(model_id, corruption) / f"{severity_name(severity)}.jsonl"

    def embeddings_path(self, model_id: str, corruption: str, severity: float) -> Path:
        return self.cell_dir(model_id, corruption) / f"{severity_name(severity)}.npy"

    def has_finished_cells(self) -> bool:
        cells = self.root / "cells"
        return cells.is_dir() and next(cells.rglob("*.jsonl"), None) is not None

    def is_done(self, model_id: str, corruption: str, severity: float) -> bool:
        return self.records_path(model_id, corruption, severity).exists()

    def write_cell(
        self,
        model_id: str,
        corruption: str,
        severity: float,
        records: Iterable[dict[str, Any]],
        embeddings: np.ndarray,
    ) -> Path:
        emb_path = self.embeddings_path(model_id, corruption, severity)
        buf = _npy_bytes(embeddings.astype(np.float16))
        atomic_write_bytes(emb_path, buf)
        lines = "".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in records)
        path = self.records_path(model_id, corruption, severity)
        atomic_write_text(path, lines)
        return path

    def read_records(self, model_id: str, corruption: str, severity: float) -> list[dict[str, Any]]:
        path = self.records_path(model_id, corruption, severity)
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]

    def read_embeddings(self, model_id: str, corruption: str, severity: float) -> np.ndarray:
        return np.load(self.embeddings_path(model_id, corruption, severity)).astype(np.float32)

    # ------------------------------------------------------------------ text, timings

    def text_path(self, model_id: str) -> Path:
        return self.root / "text" / f"{model_slug(model_id)}.npy"

    def write_text_embeddings(self, model_id: str, emb: np.ndarray) -> None:
        atomic_write_bytes(self.text_path(model_id), _npy_bytes(emb.astype(np.float32)))

    def write_ood_embeddings(self, model_id: str, emb: np.ndarray, meta: dict[str, Any]) -> None:
        """A model's embeddings of the OOD set (``evaluation.ood``); the .json (ids, fingerprint) last."""
        path = self.root / "ood" / f"{model_slug(model_id)}.npy"
        atomic_write_bytes(path, _npy_bytes(emb.astype(np.float16)))
        write_json(path.with_suffix(".json"), meta)

    def read_ood_embeddings(self, model_id: str) -> tuple[np.ndarray, dict[str, Any]] | None:
        """(embeddings, meta) stored for a model, or None when there are none (or they are damaged)."""
        path = self.root / "ood" / f"{model_slug(model_id)}.npy"
        try:
            meta, emb = json.loads(path.with_suffix(".json").read_text(encoding="utf-8")), np.load(path)
        except (OSError, ValueError):
            return None
        return (emb.astype(np.float32), meta) if len(emb) == len(meta.get("ids", ())) else None

    def log_timing(self, entry: dict[str, Any]) -> None:
        with open(self.root / "timings.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, sort_keys=True) + "\n")

    def timings(self) -> list[dict[str, Any]]:
        path = self.root / "timings.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


_LOCKS: dict[str, int] = {}


def is_run_folder(root: Path) -> bool:
    """True for a folder robustlens made: it has the marker or a valid robustlens manifest."""
    root = Path(root)
    if (root / MARKER).is_file():
        return True
    try:
        data = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and isinstance(data.get("identity"), dict) and "versions" in data


def check_run_folder(root: Path) -> None:
    """``UserInputError`` unless ``root`` is absent, empty, a robustlens run or an agent's start."""
    root = Path(root)
    if not root.exists() and not root.is_symlink():
        return
    if not root.is_dir():
        raise UserInputError(
            f"--out {root} is a file, not a folder.",
            why="a run is a folder of result files.",
            fix="Give a new folder name to --out (it is created).",
            field="out",
        )
    try:
        entries = sorted(p.name for p in root.iterdir())
    except OSError as exc:
        raise UserInputError(
            f"--out {root} cannot be read.",
            why=exc.strerror or str(exc),
            fix="Use another --out.",
            field="out",
        ) from None
    if not entries or is_run_folder(root):
        return
    if "agent.sqlite" in entries and set(entries) <= {*AGENT_FILES, LOCK, "brief.yaml"}:
        return  # an agent run started here and has not evaluated yet
    shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
    raise UserInputError(
        f"--out {root} is not empty and is not a robustlens run folder (it holds: {shown}).",
        why="robustlens only writes to (and with --fresh, deletes from) folders it created, "
        "so it never mixes with or deletes your files.",
        fix="Give a new or empty folder to --out; an existing run folder resumes.",
        field="out",
    )


def claim(root: Path) -> Path:
    """Make ``root`` a run folder (created, marked) after checking it is safe to write to."""
    root = Path(root)
    check_run_folder(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        if not (root / MARKER).exists():
            from robustlens import __version__

            write_json(root / MARKER, {"run_id": uuid.uuid4().hex[:12], "robustlens": __version__})
    except OSError as exc:
        raise UserInputError(
            f"Cannot create the run folder {root}.",
            why=exc.strerror or str(exc),
            fix="Give --out a folder in a writable location.",
            field="out",
        ) from None
    return root


def damaged(path: Path, why: str) -> UserInputError:
    """The error for a truncated or foreign run file: what is damaged and how to recover."""
    return UserInputError(
        f"The run folder {path.parent} is damaged: {path.name} cannot be read.",
        why=f"{why} (the file was truncated, edited, or is not a robustlens file).",
        fix=f"Re-run the same `robustlens eval` with --fresh --out {path.parent} to recompute it, "
        "or use another --out.",
        field="out",
    )


def read_run_json(path: Path) -> Any:
    """Parse a run file; ``UserInputError`` (damaged run) instead of a decoding traceback."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:
        raise damaged(Path(path), f"it is not valid JSON ({str(exc).splitlines()[0][:120]})") from None


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()
