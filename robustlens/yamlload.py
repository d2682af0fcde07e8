"""YAML parsing through libyaml's C parser when PyYAML was built with it.

The knowledge base (four files) is parsed at every CLI start and the eval suite's ~380 scenario files
by every eval run; the pure-Python parser spends ~1 s and ~5 s on them, the C parser a tenth of that,
and both build the same objects (``tests/test_yamlload.py`` checks every file the project ships).
"""

from __future__ import annotations

from typing import Any

import yaml

_FAST = getattr(yaml, "CSafeLoader", None)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load(text)``, parsed by the C loader when available. A document the C loader rejects
    is parsed again by the pure-Python one, so the error (its wording, line and column) is the same on
    every install."""
    if _FAST is None:
        return yaml.safe_load(text)
    try:
        return yaml.load(text, Loader=_FAST)
    except yaml.YAMLError:
        return yaml.safe_load(text)
