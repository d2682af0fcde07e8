"""A real OpenAI-compatible HTTP server on localhost that answers from a script.

Requests are routed by what they ask for (which tools are offered, whether JSON is requested), each
route answering from its own queue, so a test scripts the planner, the critic, the decision and the
narrative independently. Every request is recorded for assertions.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Step = dict[str, Any]


def tool_call(name: str, arguments: Any) -> Step:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"tool_calls": [(name, text)]}


def message(text: str) -> Step:
    return {"content": text}


def error(status: int, text: str) -> Step:
    return {"status": status, "error": text}


def delayed(seconds: float, step: Step) -> Step:
    return {**step, "delay": seconds}


def raw(body: str | bytes, content_type: str = "application/json", status: int = 200) -> Step:
    """A verbatim HTTP body (invalid JSON, text/plain, pathological nesting)."""
    data = body.encode() if isinstance(body, str) else body
    return {"raw": data, "content_type": content_type, "status_raw": status}


def no_choices() -> Step:
    """A well-formed completion whose ``choices`` list is empty."""
    return {"no_choices": True}


def hang() -> Step:
    """Never answer (until the server shuts down): the client must time out."""
    return {"hang": True}


def route_of(request: dict[str, Any]) -> str:
    tools = {t["function"]["name"] for t in request.get("tools", [])}
    text = json.dumps(request.get("messages", []))
    if "submit_brief" in tools:
        return "interview"
    if "propose_plan" in tools:
        return "planner"
    if "finish" in tools:
        return "decide"
    if "sceptical domain expert" in text:
        return "critic"
    if "executive summary" in text:
        return "narrative"
    return "other"


class ScriptedLLM:
    def __init__(self, script: dict[str, list[Step]], default: Callable[[str], Step] | None = None) -> None:
        self.script = {k: list(v) for k, v in script.items()}
        self.default = default or (lambda route: message("ok"))
        self.requests: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.lock = threading.Lock()
        self.closing = threading.Event()
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> ScriptedLLM:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()

    def routes(self) -> list[str]:
        return [r for r, _, _ in self.requests]

    def next_step(self, route: str) -> Step:
        with self.lock:
            queue = self.script.get(route)
            return queue.pop(0) if queue else self.default(route)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                route = route_of(body)
                with outer.lock:
                    outer.requests.append((route, body, dict(self.headers)))
                step = outer.next_step(route)
                if step.get("delay"):
                    time.sleep(step["delay"])
                if step.get("hang"):
                    outer.closing.wait(600)
                    return
                if "raw" in step:
                    self._send_bytes(step["status_raw"], step["raw"], step["content_type"])
                    return
                if "status" in step:
                    payload = {"error": {"message": step["error"], "type": "invalid_request_error"}}
                    self._send(step["status"], payload)
                    return
                self._send(200, completion(step, body.get("model", "scripted")))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                self._send_bytes(status, json.dumps(payload).encode(), "application/json")

            def _send_bytes(self, status: int, data: bytes, content_type: str) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass

        return Handler


def completion(step: Step, model: str) -> dict[str, Any]:
    if step.get("no_choices"):
        return {
            "id": "chatcmpl-scripted",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [],
        }
    msg: dict[str, Any] = {"role": "assistant", "content": step.get("content")}
    if step.get("tool_calls"):
        msg["tool_calls"] = [
            {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": a}}
            for i, (n, a) in enumerate(step["tool_calls"])
        ]
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {"index": 0, "message": msg, "finish_reason": "tool_calls" if step.get("tool_calls") else "stop"}
        ],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }
