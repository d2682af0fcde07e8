"""Bounded argument types for LLM tools: the shared schemas with every field limited.

Why separate from ``robustlens.schemas``: a brief or plan the user writes may be as long as they like,
but what an LLM sends through a tool is untrusted and gets firm limits — string lengths, list lengths,
severities 0..5, spec counts within the largest budget — so a junk or hostile call is refused at the
schema, with a message the LLM can act on, before any stage runs. Each type validates into the
ordinary schema type (``to_schema``) for the stages.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field

from robustlens.schemas import (
    SCHEMA_VERSION,
    Budget,
    CorruptionSpec,
    DomainBrief,
    Execution,
    ImageSource,
    PrimitiveCall,
)

SHORT = 200  # names, labels, conditions, model ids
TEXT = 4_000  # free texts: descriptions, rationales, notes, narratives
MAX_SPECS = 64  # Budget.max_corruptions' upper bound
MAX_STEPS = 8  # primitives in one recipe
MAX_SEVERITIES = 16

Severity = Annotated[float, Field(ge=0.0, le=5.0)]
Short = Annotated[str, Field(max_length=SHORT)]
Value = Annotated[float, Field(ge=-1e6, le=1e6)]  # a primitive parameter; the compiler checks physics


class ToolPrimitiveCall(PrimitiveCall):
    name: str = Field(max_length=64)
    params: dict[Short, Any] = Field(default_factory=dict, max_length=16)
    ladder: dict[Short, Annotated[list[Value], Field(max_length=8)]] = Field(
        default_factory=dict,
        max_length=16,
        description="override of severity 1..5 values for ladder params",
    )


class ToolCorruption(CorruptionSpec):
    name: str = Field(max_length=64)
    rationale: str = Field("", max_length=TEXT)
    # narrower steps than the schema's (bounded for the LLM); list is invariant, the data is the same
    recipe: list[ToolPrimitiveCall] = Field(min_length=1, max_length=MAX_STEPS)  # type: ignore[assignment]
    extra_severities: list[Severity] = Field(default_factory=list, max_length=MAX_SEVERITIES)

    def to_schema(self, source: str) -> CorruptionSpec:
        return CorruptionSpec.model_validate({**self.model_dump(), "source": source})


class ToolBudget(Budget):
    severities: list[Severity] = Field(
        default_factory=lambda: [1.0, 2.0, 3.0, 4.0, 5.0], min_length=1, max_length=MAX_SEVERITIES
    )
    max_images: int | None = Field(None, ge=1, le=1_000_000, description="subsample the dataset to this many")


class ToolImageSource(ImageSource):
    path: str = Field(max_length=1_000, description="leave empty: the user names the images")
    class_names: list[Short] | None = Field(None, max_length=1_000)


class ToolExecution(Execution):
    """Execution settings as the LLM may submit them: no cluster address (that comes from the user)."""

    ray_address: None = Field(None, description="always empty: the cluster address comes from the user")


class ToolBrief(DomainBrief):
    """The brief as the LLM may submit it: bounded, and without local weights (``checkpoints``
    come from the user's brief file or flags, never from the LLM)."""

    schema_version: int = Field(SCHEMA_VERSION, ge=1, le=SCHEMA_VERSION)
    domain: str = Field(max_length=SHORT, description="short name of the deployment domain")
    description: str = Field("", max_length=TEXT)
    imaging_setup: str = Field("", max_length=TEXT, description="sensor, optics, lighting, resolution")
    deployment_conditions: list[Short] = Field(default_factory=list, max_length=32)
    labels: list[Short] | None = Field(None, max_length=1_000, description="class names; None = label-free")
    image_source: ToolImageSource | None = None
    models: list[Short] = Field(
        default_factory=list,
        max_length=8,
        description="model ids the USER named, e.g. openclip:ViT-B-32/openai or hf:ORG/NAME",
    )
    reference_model: Short | None = None
    checkpoints: dict[Short, Short] = Field(
        default_factory=dict, max_length=0, description="always empty: local weights come from the user"
    )
    budget: ToolBudget = Field(default_factory=ToolBudget)
    chain: dict[Short, bool | Short | Annotated[list[Short], Field(max_length=16)]] = Field(
        default_factory=dict, max_length=8, description="leave empty: the user confirms the imaging chain"
    )
    execution: ToolExecution = Field(default_factory=ToolExecution)
    ood: Short | None = Field(None, description="OOD set, only if the user named one (demo:natural)")
    seed: int = Field(0, ge=0, le=2**31 - 1)

    def to_schema(self) -> DomainBrief:
        return DomainBrief.model_validate(self.model_dump())


# A model id the LLM may pass on: a registry prefix and an ORG/NAME or ARCH/TAG, never a path.
HUB_ID = re.compile(
    r"^(openclip:(hf-hub:)?|hf:|demo:)[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$"
)


def is_hub_id(model_id: str) -> bool:
    """True for ids that name a published model (no local folder, no path, no '..')."""
    return bool(HUB_ID.match(model_id)) and ".." not in model_id
