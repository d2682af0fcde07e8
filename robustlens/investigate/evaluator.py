"""Evaluate a few follow-up cells into an existing run folder, reusing every finished cell.

The investigation adds cells one spec and one severity at a time (a bisection step, a chain). Going
through ``engine.evaluate`` for each would re-summarise the whole run and reload every model per step;
this runs the engine's per-model runner on a one-spec sub-plan instead, so only the new cells are
computed (clean embeddings and predictions are read back from the run). The run's plan, manifest and
``result.json`` are left as they are: the new rungs are recorded as the spec's ``extra_severities``
(see ``refined_plan``) and in ``investigation.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from robustlens.data.sources import ImageSet
from robustlens.evaluation.engine import EngineOptions, _Runner, _Silent
from robustlens.evaluation.store import _LOCKS, RunStore
from robustlens.investigate.records import Investigation
from robustlens.models import VisionLanguageModel
from robustlens.schemas import CorruptionPlan, CorruptionSpec, canonical_severity


class _FollowUpRunner(_Runner):
    """The engine's runner, reading the class text embeddings the first pass stored (encoding the
    prompts again would cost more than the new cell itself)."""

    loaded: dict[str, VisionLanguageModel]  # the evaluator's: one model kept between follow-up cells

    def load(self, model_id: str) -> VisionLanguageModel:
        if model_id not in self.loaded:
            self.loaded.clear()
            self.loaded[model_id] = super().load(model_id)
        return self.loaded[model_id]

    def _text(self, model: VisionLanguageModel) -> np.ndarray | None:
        path = self.store.text_path(model.id)
        if self.images.class_names and path.exists():
            stored: np.ndarray = np.load(path).astype(np.float32)
            return stored
        return super()._text(model)


class CellEvaluator:
    """Computes missing (model, spec, severity) cells of one run; counts the cells it computed."""

    def __init__(
        self, run_dir: Path, images: ImageSet, seed: int, options: EngineOptions | None = None
    ) -> None:
        self.store = RunStore(Path(run_dir))
        self.images = images
        self.seed = seed
        self.options = options or EngineOptions()
        self.computed: list[tuple[str, str, float]] = []
        self.loaded: dict[str, VisionLanguageModel] = {}

    def ensure(self, model_id: str, spec: CorruptionSpec, severities: Sequence[float]) -> int:
        """Compute the cells of ``spec`` at ``severities`` for ``model_id`` that are not finished yet."""
        todo = [
            s
            for s in sorted({canonical_severity(v) for v in severities})
            if not self.store.is_done(model_id, spec.name, s)
        ]
        if not todo:
            return 0
        sub = CorruptionPlan(
            specs=[spec.model_copy(update={"extra_severities": []})], severities=todo, seed=self.seed
        )
        held = str(self.store.root.resolve()) in _LOCKS  # the caller's lock stays the caller's
        self.store.lock()
        try:
            runner = _FollowUpRunner(
                sub, self.images, [""] * len(self.images.items), self.store, self.options, _Silent()
            )
            runner.loaded = self.loaded
            runner.run_model(model_id)
        finally:
            if not held:
                self.store.close()
        self.computed += [(model_id, spec.name, s) for s in todo]
        return len(todo)


def refined_plan(plan: CorruptionPlan, investigation: Investigation) -> CorruptionPlan:
    """The plan with each spec's bisection rungs as ``extra_severities`` (plan-wide ladder unchanged),
    so extending the run with it reuses every follow-up cell."""
    extra: dict[str, set[float]] = {}
    for t in investigation.envelope:
        extra.setdefault(t.corruption, set()).update(s for s in t.evaluated if s not in plan.severities)
    specs = [
        s.model_copy(update={"extra_severities": sorted({*s.extra_severities, *extra.get(s.name, ())})})
        for s in plan.specs
    ]
    return plan.model_copy(update={"specs": specs})
