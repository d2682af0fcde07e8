"""OpenAI-compatible chat client (OpenAI, Ollama, vLLM, llama.cpp server, LM Studio).

Why a wrapper over the ``openai`` SDK: the agent needs one behaviour across very different
endpoints — tool calling with schemas generated from pydantic models, a JSON-object fallback for
endpoints without tool support, bounded retries with exponential backoff (the SDK's own retries are
disabled so the policy is ours and visible), per-call timeouts, and token usage recorded for the run
manifest. The API key is held privately and never appears in ``describe()``, logs or run files.

Failure policy (one place for every endpoint): whatever goes wrong at the SDK boundary — a status
error, a timeout, a refused connection, a body that is not JSON, ``text/plain``, JSON nested so deep
the parser recurses out, a completion without choices — becomes an ``LLMError``, which callers turn
into the offline expert's answer. Time is bounded by a circuit breaker: once a request has failed for
good on transport (timeouts, connection errors, 429/5xx after retries, unusable bodies), every later
call of this client fails fast with the same error. Worst case before the offline expert takes over:
``timeout x (TIMEOUT_RETRIES + 1) + backoff`` for an endpoint that never answers (timeouts get fewer
retries than 429/5xx), ``timeout x (max_retries + 1) + backoff x (2**max_retries - 1)`` for one that
keeps failing with 429/5xx; a second, separately configured critic client adds its own share once.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from robustlens.errors import UserInputError, describe_validation

ENV_BASE_URL = "ROBUSTLENS_LLM_BASE_URL"
ENV_MODEL = "ROBUSTLENS_LLM_MODEL"
ENV_KEY = "OPENAI_API_KEY"


class LLMError(Exception):
    """The endpoint failed for good (after retries), refused, or answered unusably."""


class LLMBadRequest(LLMError):
    """The endpoint rejected the request's form (unsupported tools, images, response format)."""


TIMEOUT_RETRIES = 1  # a timed-out request is retried at most once: an endpoint that hangs rarely recovers
MAX_REPLY_CHARS = 200_000  # longer assistant texts are cut (a 5 MB reply is junk, not an answer)
MAX_JSON_SCAN = 200_000  # _first_json looks at most this far into a reply
MAX_JSON_STARTS = 64  # ... and tries at most this many candidate '{' positions


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the LLM sees it: name, description and the JSON schema of a pydantic model."""

    name: str
    description: str
    args: type[BaseModel]

    def openai(self) -> dict[str, Any]:
        schema = self.args.model_json_schema()
        schema.pop("title", None)
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": schema},
        }


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str  # raw JSON text, validated by the tool layer


@dataclass
class Reply:
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)


@dataclass
class Usage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    fallback_json: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class LLMConfig:
    base_url: str | None
    model: str
    api_key: str = field(default="", repr=False)
    timeout: float = 60.0
    max_retries: int = 3
    backoff: float = 1.0
    vision: bool | None = None  # None: try images, fall back to text when the endpoint refuses them

    @classmethod
    def resolve(
        cls,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        **kw: Any,
    ) -> LLMConfig | None:
        """Flags first, then environment; None when no model is configured (offline expert)."""
        model = model or os.environ.get(ENV_MODEL)
        base_url = base_url or os.environ.get(ENV_BASE_URL)
        if not model:
            if base_url:
                raise UserInputError(
                    "An LLM base URL is set but no model name.",
                    fix=f"Pass --llm-model NAME or set {ENV_MODEL} "
                    f"(unset {ENV_BASE_URL} for the offline expert).",
                    field="llm_model",
                )
            return None
        key = api_key or os.environ.get(ENV_KEY) or ("not-needed" if base_url else "")
        if not key:
            raise UserInputError(
                f"No API key for LLM model {model}.",
                fix=f"Set {ENV_KEY}, or point --llm-base-url at a local endpoint (Ollama, vLLM, LM Studio).",
                field="llm_model",
            )
        return cls(base_url=base_url, model=model, api_key=key, **kw)

    @classmethod
    def for_critic(
        cls,
        main: LLMConfig | None,
        base_url: str | None = None,
        model: str | None = None,
        timeout: float = 60.0,
    ) -> LLMConfig | None:
        """The critic's config: its own flags, else the planner's LLM, else None (offline rules)."""
        if not model and not base_url:
            return main
        if main is None and not model:
            return None
        return cls.resolve(
            base_url=base_url or (main.base_url if main else None),
            model=model or (main.model if main else None),
            timeout=timeout,
        )

    def describe(self) -> dict[str, Any]:
        """Safe to persist: no key."""
        return {
            "base_url": self.base_url,
            "model": self.model,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
        }


class LLMClient:
    def __init__(self, config: LLMConfig) -> None:
        import openai

        self.config = config
        self.usage = Usage()
        self.tools_supported = True
        self.broken: str | None = None  # set once a request failed for good on transport: fail fast
        self._openai = openai
        self._client = openai.OpenAI(
            base_url=config.base_url, api_key=config.api_key, timeout=config.timeout, max_retries=0
        )

    @property
    def name(self) -> str:
        return self.config.model

    def chat(
        self, messages: Sequence[dict[str, Any]], tools: Sequence[ToolSpec] = (), temperature: float = 0.0
    ) -> Reply:
        """One assistant turn. Tools go as native tool definitions, or as a JSON protocol in the
        system prompt when the endpoint has rejected native tools once."""
        if tools and self.tools_supported:
            try:
                return self._native(messages, tools, temperature)
            except LLMBadRequest as exc:
                if not _mentions_tools(exc):
                    raise
                self.tools_supported = False
                self.usage.fallback_json = True
        if tools:
            return self._json_protocol(messages, tools, temperature)
        return self._native(messages, (), temperature)

    def complete_json(
        self, messages: Sequence[dict[str, Any]], schema: type[BaseModel], temperature: float = 0.0
    ) -> BaseModel:
        """Ask for a JSON object matching ``schema`` (critic verdicts, narratives)."""
        instruction = "Answer with one JSON object only, no prose, matching this JSON schema:\n" + json.dumps(
            schema.model_json_schema()
        )
        reply = self._native(
            [*messages, {"role": "user", "content": instruction}], (), temperature, json_mode=True
        )
        try:
            data = _first_json(reply.content)
        except LLMError as exc:
            raise LLMError(f"{self.name} answered unusably: {exc}") from None
        try:
            return schema.model_validate(data)
        except ValidationError as exc:
            problems = describe_validation(exc)[:300]
            raise LLMError(
                f"{self.name} answered JSON that does not fit {schema.__name__}: {problems}"
            ) from None

    # ------------------------------------------------------------------ internals

    def _native(
        self,
        messages: Sequence[dict[str, Any]],
        tools: Sequence[ToolSpec],
        temperature: float,
        json_mode: bool = False,
    ) -> Reply:
        kwargs: dict[str, Any] = {
            "model": self.config.model,
            "messages": list(messages),
            "temperature": temperature,
        }
        if tools:
            kwargs["tools"] = [t.openai() for t in tools]
        if json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        response = self._with_retries(kwargs)
        try:
            choice = response.choices[0].message
            calls = [
                ToolCall(str(c.id), str(c.function.name), str(c.function.arguments or "{}"))
                for c in (choice.tool_calls or [])
            ]
            content = str(choice.content or "")
        except Exception as exc:  # a completion of the wrong shape (fields missing or of the wrong type)
            raise self._trip(f"{self.name} answered an unusable completion: {_short(exc)}") from None
        return Reply(content=content[:MAX_REPLY_CHARS], tool_calls=calls)

    def _json_protocol(
        self, messages: Sequence[dict[str, Any]], tools: Sequence[ToolSpec], temperature: float
    ) -> Reply:
        catalogue = "\n".join(
            f"- {t.name}: {t.description}\n  arguments schema: {json.dumps(t.args.model_json_schema())}"
            for t in tools
        )
        system = (
            "You can call tools. To call one, answer with ONLY a JSON object "
            '{"tool": "<name>", "arguments": {...}}. To talk to the user instead, answer '
            '{"message": "<text>"}. Tools:\n' + catalogue
        )
        flat = [{"role": "system", "content": system}, *(_flatten(m) for m in messages)]
        reply = self._native(flat, (), temperature, json_mode=True)
        try:
            data = _first_json(reply.content)
        except LLMError:
            return Reply(content=reply.content)
        if isinstance(data, dict) and "tool" in data:
            args = data.get("arguments", {})
            return Reply(
                tool_calls=[
                    ToolCall(
                        f"json-{self.usage.calls}",
                        str(data["tool"]),
                        json.dumps(args) if not isinstance(args, str) else args,
                    )
                ]
            )
        return Reply(
            content=str(data.get("message", reply.content)) if isinstance(data, dict) else reply.content
        )

    def _with_retries(self, kwargs: dict[str, Any]) -> Any:
        """One request under the failure policy (module docstring): retries with backoff for
        429/5xx (``max_retries``) and timeouts/connection errors (at most ``TIMEOUT_RETRIES``);
        anything else the SDK raises — unparseable bodies included — is an ``LLMError``."""
        if self.broken is not None:
            raise LLMError(f"{self.broken} (not retried: the endpoint already failed in this run)")
        oa = self._openai
        transport = (oa.APITimeoutError, oa.APIConnectionError)
        overloaded = (oa.RateLimitError, oa.InternalServerError)
        attempt = 0
        while True:
            try:
                response = self._client.chat.completions.create(**kwargs)
            except (*transport, *overloaded) as exc:
                limit = self.config.max_retries
                if isinstance(exc, transport):
                    limit = min(limit, TIMEOUT_RETRIES)
                if attempt >= limit:
                    raise self._trip(
                        f"{self.name} failed after {attempt + 1} attempts: {_short(exc)}"
                    ) from None
                self.usage.retries += 1
                time.sleep(self.config.backoff * (2**attempt))
                attempt += 1
                continue
            except (oa.AuthenticationError, oa.PermissionDeniedError, oa.NotFoundError) as exc:
                raise LLMError(f"{self.name} refused the request: {_short(exc)}") from None
            except oa.BadRequestError as exc:
                raise LLMBadRequest(f"{self.name} rejected the request: {_short(exc)}") from None
            except oa.APIStatusError as exc:  # any other HTTP status (409, 422, 418 ...)
                raise LLMError(f"{self.name} answered HTTP {exc.status_code}: {_short(exc)}") from None
            except Exception as exc:  # the SDK parsing a broken body (bad JSON, RecursionError)
                raise self._trip(f"{self.name} answered an unreadable body: {_short(exc)}") from None
            self.usage.calls += 1
            usage = getattr(response, "usage", None)
            if usage is not None:
                self.usage.prompt_tokens += _int(getattr(usage, "prompt_tokens", 0))
                self.usage.completion_tokens += _int(getattr(usage, "completion_tokens", 0))
            choices = getattr(response, "choices", None)
            if not isinstance(choices, list) or not choices:
                what = (
                    "no choices"
                    if isinstance(choices, list)
                    else f"a {type(response).__name__}, not a completion"
                )
                raise self._trip(f"{self.name} returned {what}")
            return response

    def _trip(self, message: str) -> LLMError:
        """Open the circuit breaker: later calls fail fast with this message."""
        self.broken = message
        return LLMError(message)


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _mentions_tools(exc: Exception) -> bool:
    return bool(re.search(r"tool|function", str(exc), re.IGNORECASE))


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__


def _flatten(message: dict[str, Any]) -> dict[str, Any]:
    """Tool-call turns rewritten as plain text for endpoints without tool support."""
    role = message.get("role")
    if role == "tool":
        return {"role": "user", "content": f"[tool result] {message.get('content', '')}"}
    if role == "assistant" and message.get("tool_calls"):
        calls = [
            {"tool": c["function"]["name"], "arguments": c["function"]["arguments"]}
            for c in message["tool_calls"]
        ]
        return {"role": "assistant", "content": json.dumps(calls[0] if len(calls) == 1 else calls)}
    return {"role": role, "content": message.get("content", "")}


def _first_json(text: str) -> Any:
    """The first JSON object in a reply (models like to wrap JSON in prose or code fences).

    Bounded: only the first ``MAX_JSON_SCAN`` characters are looked at and at most ``MAX_JSON_STARTS``
    candidate ``{`` positions are tried, each with one C-speed ``raw_decode`` — so 5 MB of ``{`` or a
    reply nested thousands deep costs milliseconds, never a hang or a RecursionError."""
    text = text.strip()[:MAX_JSON_SCAN]
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        pass
    decoder = json.JSONDecoder()
    start = text.find("{")
    for _ in range(MAX_JSON_STARTS):
        if start == -1:
            break
        try:
            value, _end = decoder.raw_decode(text, start)
        except (json.JSONDecodeError, RecursionError):
            value = None
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    raise LLMError(f"no JSON object in the reply: {text[:200]!r}")
