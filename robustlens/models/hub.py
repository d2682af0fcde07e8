"""Where model weights come from: the local Hugging Face / open_clip caches, or the hub if it answers.

Why this exists: with ``HF_HUB_OFFLINE`` unset and no network, transformers and open_clip retry an
unreachable hub for 30-60 s before failing. The policy here keeps the two cases a user cares about:

- weights in the local cache: load them (without contacting the hub when it is unreachable);
- weights not cached: if ``HF_HUB_OFFLINE`` is set, or a 2.5 s connection probe to the hub (or to the
  configured HTTPS proxy) fails, raise ``UserInputError`` at once, naming the model and the fixes;
  otherwise let the library download as usual, so a user with network still gets the model.

A probe instead of plain ``HF_HUB_OFFLINE`` semantics because a first-time user with network must be
able to download; the probe costs one TCP connect (once per process) and only when the cache misses.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from robustlens.errors import UserInputError

PROBE_TIMEOUT_S = 2.5
_REACHABLE: dict[str, bool] = {}


def offline_mode() -> bool:
    """True when the user asked for no network (``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE``)."""
    return any(
        os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def hub_reachable(timeout: float = PROBE_TIMEOUT_S) -> bool:
    """One TCP connect to the hub (or to the HTTPS proxy when one is set), bounded in time.

    The connect runs in a daemon thread so that a slow DNS resolver (which socket timeouts do not
    bound) cannot stall the caller either. The answer is remembered for the process.
    """
    proxy = next(
        (
            os.environ[k]
            for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
            if os.environ.get(k)
        ),
        "",
    )
    url = urlparse(proxy if proxy else hub_endpoint())
    host = url.hostname or ""
    port = url.port or (443 if url.scheme == "https" else 80)
    key = f"{host}:{port}"
    if key in _REACHABLE:
        return _REACHABLE[key]
    result: list[bool] = []

    def connect() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=connect, daemon=True, name="robustlens-hub-probe")
    thread.start()
    thread.join(timeout + 0.5)
    _REACHABLE[key] = bool(result and result[0])
    return _REACHABLE[key]


def hf_cached_file(repo_id: str, filename: str) -> str | None:
    """Path of ``filename`` of ``repo_id`` in the local HF cache, or None (never touches the network)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        found = try_to_load_from_cache(repo_id, filename)
    except Exception:  # an invalid repo id, an unreadable cache: simply not cached
        return None
    return found if isinstance(found, str) else None


def hf_cache_dir() -> Path:
    try:
        from huggingface_hub import constants

        return Path(constants.HF_HUB_CACHE)
    except ImportError:
        home = os.environ.get("HF_HOME", os.path.join(os.path.expanduser("~"), ".cache", "huggingface"))
        return Path(home) / "hub"


def cached_hf_repos() -> set[str]:
    """Model repos present in the local HF cache (``models--ORG--NAME`` folders with a snapshot)."""
    root = hf_cache_dir()
    if not root.is_dir():
        return set()
    repos = set()
    try:
        entries = list(root.iterdir())
    except OSError:
        return set()
    for entry in entries:
        if entry.name.startswith("models--") and any((entry / "snapshots").glob("*/*")):
            repos.add(entry.name.removeprefix("models--").replace("--", "/"))
    return repos


def not_available(model_id: str, where: str) -> UserInputError:
    """The one message for 'these weights are not here and cannot be fetched now'."""
    reason = (
        "HF_HUB_OFFLINE is set"
        if offline_mode()
        else f"the hub ({hub_endpoint()}) cannot be reached from this machine"
    )
    return UserInputError(
        f"The weights of {model_id} are not available here: not in the local cache ({where}) and {reason}.",
        why="robustlens loads weights from the local cache, or downloads them when the hub answers.",
        fix=(
            "Run once with network access so they are cached; point HF_HOME at a cache that has them; "
            "or use local weights: hf:/path/to/saved_model (save_pretrained folder) or "
            "openclip:ARCH --checkpoint PATH."
        ),
        field="model",
    )


def require_hf_repo(model_id: str, repo_id: str, probe_file: str = "config.json") -> bool:
    """Check that ``repo_id`` can be loaded; return True when it must be loaded from the cache only.

    Cached and hub reachable: False (the library may check for updates). Cached and hub unreachable:
    True (skip the library's retries). Not cached: ``UserInputError`` unless the hub is reachable.
    """
    cached = hf_cached_file(repo_id, probe_file) is not None
    if offline_mode():
        if not cached:
            raise not_available(model_id, str(hf_cache_dir()))
        return True
    reachable = hub_reachable()
    if not cached and not reachable:
        raise not_available(model_id, str(hf_cache_dir()))
    return not reachable


@contextmanager
def hub_offline(active: bool = True) -> Iterator[None]:
    """Make huggingface_hub treat the hub as offline for the block (cache only, no retries).

    open_clip calls ``hf_hub_download`` without ``local_files_only``; when the hub is unreachable
    but the weights are cached, this serves them from the cache at once. ``huggingface_hub`` reads
    ``constants.HF_HUB_OFFLINE`` on every request, so flipping it is enough and is undone after.
    """
    if not active:
        yield
        return
    try:
        from huggingface_hub import constants
    except ImportError:
        yield
        return
    before = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = before
