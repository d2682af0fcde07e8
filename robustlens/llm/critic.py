"""The critic: a second, separately configured LLM that judges whether a corruption is realistic.

When the critic model accepts images it is shown thumbnails of the corrupted samples (OpenAI vision
message format); an endpoint that refuses images is asked again with text only. A verdict is checked
strictly (``realistic`` must be a JSON boolean, ``score`` in 0..1): anything else is an ``LLMError``,
which ``audit.critique_spec`` answers with the offline rule critic, labelled.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence

from pydantic import BaseModel, Field, StrictBool

from robustlens.llm.client import LLMBadRequest, LLMClient
from robustlens.prompts import load
from robustlens.schemas import CorruptionSpec, CriticVerdict, DomainBrief

MAX_REASONS = 10
MAX_REASON_CHARS = 500


class _Verdict(BaseModel):
    realistic: StrictBool  # "maybe" or "yes" is not a verdict
    score: float = Field(ge=0.0, le=1.0)
    reasons: list[str] = Field(default_factory=list)


def llm_critique(
    client: LLMClient,
    spec: CorruptionSpec,
    brief: DomainBrief,
    ssim: dict[str, float],
    thumbnails: Sequence[bytes] = (),
) -> CriticVerdict:
    """Ask the critic model for a verdict on one spec (PNG thumbnails optional)."""
    text = load("critic").format(
        brief=brief.model_dump_json(exclude={"image_source", "models"}, indent=1),
        spec=spec.model_dump_json(indent=1),
        ssim=json.dumps(ssim),
    )
    use_images = bool(thumbnails) and client.config.vision is not False
    messages = [{"role": "user", "content": _content(text, thumbnails if use_images else ())}]
    try:
        verdict = client.complete_json(messages, _Verdict)
    except LLMBadRequest:  # the endpoint refused the images: ask again with text only
        if not use_images:
            raise
        client.config = type(client.config)(**{**client.config.__dict__, "vision": False})
        verdict = client.complete_json([{"role": "user", "content": text}], _Verdict)
    assert isinstance(verdict, _Verdict)
    reasons = [r[:MAX_REASON_CHARS] for r in verdict.reasons[:MAX_REASONS]]
    return CriticVerdict(
        realistic=verdict.realistic, score=verdict.score, reasons=reasons, critic=client.name
    )


def _content(text: str, thumbnails: Sequence[bytes]) -> str | list[dict[str, object]]:
    if not thumbnails:
        return text
    parts: list[dict[str, object]] = [{"type": "text", "text": text}]
    for png in thumbnails:
        url = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        parts.append({"type": "image_url", "image_url": {"url": url}})
    return parts
