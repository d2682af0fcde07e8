"""Write corrupted copies of an image tree: OUTPUT/<spec>/s<severity>/<relative path>.

Used by ``robustlens corrupt`` to hand corrupted data to other tools. Every output is written
atomically, so an interrupted run is resumed by running the same command again (existing files
are kept unless ``overwrite``). Unreadable files are skipped and listed in ``skipped.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from robustlens.corruptions.compiler import CompiledCorruption, compile_plan
from robustlens.corruptions.seeding import corruption_seed
from robustlens.data.images import BadImage, is_image_path, load_image, save_image
from robustlens.errors import UserInputError
from robustlens.schemas import CorruptionPlan, SkippedFile
from robustlens.workers import init_worker, worker_context


@dataclass
class CopyReport:
    written: int = 0
    existing: int = 0
    images: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)


def severity_dir(severity: float) -> str:
    return f"s{severity:g}"


def iter_images(root: Path) -> Iterator[Path]:
    """Image files under ``root`` in a stable (sorted) order, hidden files excluded."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and is_image_path(path) and not any(p.startswith(".") for p in path.parts):
            yield path


def output_path(output: Path, spec: str, severity: float, rel: Path, keep_format: bool) -> Path:
    target = output / spec / severity_dir(severity) / rel
    return target if keep_format else target.with_suffix(".png")


def write_copies(
    plan: CorruptionPlan,
    input_dir: Path,
    output_dir: Path,
    severities: Sequence[float],
    *,
    workers: int = 1,
    keep_format: bool = False,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> CopyReport:
    """Corrupt every image under ``input_dir`` with every spec at every severity."""
    if not input_dir.is_dir():
        raise UserInputError(
            f"Input folder not found: {input_dir}",
            why="--input must be a folder of images (subfolders are mirrored).",
            fix="Pass an existing folder.",
            field="input",
        )
    if output_dir.resolve().is_relative_to(input_dir.resolve()):
        raise UserInputError(
            "The output folder lies inside the input folder.",
            why="corrupted copies would be picked up as inputs on the next run.",
            fix="Choose an --output outside the --input tree.",
            field="output",
        )
    compile_plan(plan)  # validate before any work
    paths = list(iter_images(input_dir))
    report = CopyReport(images=len(paths))
    jobs = [(str(input_dir), str(p.relative_to(input_dir)), str(output_dir)) for p in paths]
    config = (plan.model_dump_json(), tuple(float(s) for s in severities), keep_format, overwrite)
    per_image = len(plan.specs) * len(severities)
    if workers > 1 and len(jobs) > 1:
        # A fork server, not a fork of this process (its OpenCV/torch thread pools can deadlock a child).
        with ProcessPoolExecutor(
            workers, mp_context=worker_context(), initializer=_pool_init, initargs=config
        ) as pool:
            results = pool.map(_one, jobs, chunksize=4)
            _collect(results, report, per_image, progress)
    else:
        _init(*config)
        _collect(map(_one, jobs), report, per_image, progress)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "plan.yaml").write_text(plan.to_yaml(), encoding="utf-8")
    skipped = [s.model_dump() for s in report.skipped]
    (output_dir / "skipped.json").write_text(json.dumps(skipped, indent=2), encoding="utf-8")
    return report


def _collect(
    results: Iterator[tuple[int, int, str | None, str]],
    report: CopyReport,
    per_image: int,
    progress: Callable[[int], None] | None,
) -> None:
    for written, existing, reason, rel in results:
        report.written += written
        report.existing += existing
        if reason is not None:
            report.skipped.append(SkippedFile(path=rel, reason=reason))
        if progress:
            progress(per_image)


class _WorkerState(TypedDict, total=False):
    """What each worker process holds (set once by ``_init``)."""

    plan: CorruptionPlan
    compiled: dict[str, CompiledCorruption]
    severities: tuple[float, ...]
    keep: bool
    overwrite: bool


_STATE: _WorkerState = {}


def _pool_init(plan_json: str, severities: tuple[float, ...], keep_format: bool, overwrite: bool) -> None:
    init_worker()
    _init(plan_json, severities, keep_format, overwrite)


def _init(plan_json: str, severities: tuple[float, ...], keep_format: bool, overwrite: bool) -> None:
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    plan = CorruptionPlan.model_validate_json(plan_json)
    _STATE.update(
        _WorkerState(
            plan=plan,
            compiled=compile_plan(plan),
            severities=severities,
            keep=keep_format,
            overwrite=overwrite,
        )
    )


def _one(job: tuple[str, str, str]) -> tuple[int, int, str | None, str]:
    root, rel_s, out_s = job
    rel, out = Path(rel_s), Path(out_s)
    plan = _STATE["plan"]
    compiled = _STATE["compiled"]
    targets = [
        (name, sev, output_path(out, name, sev, rel, bool(_STATE["keep"])))
        for name in compiled
        for sev in _STATE["severities"]
    ]
    todo = [t for t in targets if _STATE["overwrite"] or not t[2].exists()]
    if not todo:
        return 0, len(targets), None, rel.as_posix()
    try:
        image = load_image(Path(root) / rel)
    except BadImage as exc:
        return 0, 0, str(exc), rel.as_posix()
    for name, sev, target in todo:
        seed = corruption_seed(plan.seed, rel.as_posix(), name, sev)
        save_image(compiled[name](image, sev, seed), target)
    return len(todo), len(targets) - len(todo), None, rel.as_posix()
