"""Keep third-party chatter out of robustlens's terminal output.

Why: ``chat``, ``run`` and ``eval`` draw their own progress bars and tables. Libraries underneath
add download/"Loading weights" tqdm bars (huggingface_hub, transformers), update checks
(albumentations), fork notices (tokenizers) and UserWarnings about their own internals (torch,
torchvision, timm, open_clip, transformers) that a user cannot act on and that break the layout.

``quiet_third_party`` is called once at CLI start, before any of those libraries is imported (most
read their settings from the environment at import time). It only touches warnings issued from
third-party modules and third-party loggers: robustlens's own warnings and messages stay visible.
``ROBUSTLENS_SHOW_WARNINGS=1`` turns it off for debugging. Worker processes (started from a fork
server, so they do not inherit the parent's warning filters) call ``apply_in_worker``.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import warnings

ENVIRONMENT = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # huggingface_hub (and transformers') tqdm bars
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "TOKENIZERS_PARALLELISM": "false",  # "the current process just got forked ..." notices
    "NO_ALBUMENTATIONS_UPDATE": "1",  # albumentations' update check (also a network call)
    "TF_CPP_MIN_LOG_LEVEL": "3",
}
THIRD_PARTY = (
    "torch",
    "torchvision",
    "timm",
    "open_clip",
    "transformers",
    "huggingface_hub",
    "tokenizers",
    "safetensors",
    "albumentations",
    "albucore",
    "langgraph",
    "langchain_core",
    "skimage",
    "matplotlib",
    "PIL",
    "cv2",
    "httpx",
    "openai",
    "urllib3",
)
SWITCH = "ROBUSTLENS_QUIET"  # set by quiet_third_party so worker processes follow the parent
SHOW = "ROBUSTLENS_SHOW_WARNINGS"
_MODULES = rf"({'|'.join(map(re.escape, THIRD_PARTY))})(\..*)?"


def quiet_third_party() -> bool:
    """Silence third-party progress bars, warnings and log messages; False when disabled by SHOW."""
    if os.environ.get(SHOW, "").strip() not in ("", "0"):
        return False
    for key, value in ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    os.environ[SWITCH] = "1"
    warnings.filterwarnings("ignore", module=_MODULES)
    for name in THIRD_PARTY:
        logging.getLogger(name).setLevel(logging.ERROR)
    _already_imported()
    return True


def apply_in_worker() -> None:
    """In a worker process: the same silence as the parent that started it, if it chose silence."""
    if os.environ.get(SWITCH) == "1":
        quiet_third_party()


def _already_imported() -> None:
    """Libraries imported before the call read their settings already: tell them directly."""
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    if "huggingface_hub" in sys.modules:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()


__all__ = ["apply_in_worker", "quiet_third_party"]
