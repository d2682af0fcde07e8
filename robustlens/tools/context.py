"""What tools act on: the run directory, the brief, the current plan and results (one per session)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from robustlens.data.sources import ImageSet
from robustlens.evaluation.engine import EngineOptions
from robustlens.investigate.records import Investigation
from robustlens.schemas import AuditResult, CorruptionPlan, DomainBrief, FailureAnalysis, ValidationReport
from robustlens.validation import LabelCheck, Thresholds


@dataclass
class ToolContext:
    run_dir: Path
    brief: DomainBrief | None = None
    plan: CorruptionPlan | None = None
    data: str | None = None  # the dataset the USER named (command line or brief file); tools cannot change it
    models: list[str] | None = (
        None  # the models the USER named (--model or brief file); they win over the LLM's
    )
    user_text: str | None = None  # what the user typed in the chat: model ids the LLM names must appear in it
    critic: Any | None = None
    options: EngineOptions = field(default_factory=EngineOptions)
    thresholds: Thresholds = field(default_factory=Thresholds)
    validation: list[ValidationReport] = field(default_factory=list)
    result: AuditResult | None = None
    analysis: FailureAnalysis | None = None
    finished: bool = False
    investigation: Investigation | None = None  # the decide step's findings so far (investigation tools add)
    command: str = ""
    _images: ImageSet | None = None
    _samples: list[np.ndarray] | None = None
    _label_check: LabelCheck | None = None

    def use_brief(self, brief: DomainBrief) -> ToolContext:
        """Point the tools at the graph's brief (the state owns it); a changed brief drops the cached
        images, samples and label check, which were opened for the old one."""
        if self.brief is not None and brief != self.brief:
            changed_images = (brief.image_source, brief.budget.max_images, brief.seed, brief.labels) != (
                self.brief.image_source,
                self.brief.budget.max_images,
                self.brief.seed,
                self.brief.labels,
            )
            if changed_images or brief.models != self.brief.models:
                self._images, self._samples, self._label_check = None, None, None
        self.brief = brief
        return self

    def images(self) -> ImageSet:
        from robustlens.audit import open_brief_images
        from robustlens.errors import ToolError

        if self.brief is None:
            raise ToolError("No brief yet: call submit_brief first.")
        if self._images is None:
            self._images = open_brief_images(self.brief, self.data)
        return self._images

    def label_check(self) -> LabelCheck | None:
        """Prediction agreement with the brief's first model over its class names (None if label-free)."""
        from robustlens.validation import model_label_check

        if self.brief is None or not self.brief.models:
            return None
        names = self.images().class_names
        if not names:
            return None
        if self._label_check is None:
            model = self.brief.models[0]
            weights = self.options.checkpoints.get(model) or self.brief.checkpoints.get(model)
            self._label_check = model_label_check(model, names, weights)
        return self._label_check

    def samples(self) -> list[np.ndarray]:
        from robustlens.validation import sample_images

        if self._samples is None:
            self._samples = sample_images(self.images(), n=6, seed=self.brief.seed if self.brief else 0)
        return self._samples
