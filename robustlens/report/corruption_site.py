"""Where an audit's corruptions ran, for the report's Reproducibility section (issue 14).

The engine records per model, in the manifest's ``corruption_sites``, whether corruptions ran in CPU
worker processes or as device kernels on the model's device, and at which resolution.
"""

from __future__ import annotations

from typing import Any


def corruption_site(identity: dict[str, Any], sites: dict[str, Any]) -> dict[str, str]:
    """Where corruptions ran (``corrupt_on``, issue 14): device kernels imply the model-resolution
    input (the ImageNet-C protocol, Hendrycks & Dietterich 2019); ``sites`` is the manifest's per model."""
    resolutions = {str(s.get("resolution")) for s in sites.values()}
    at = resolutions.pop() if len(resolutions) == 1 else str(identity.get("corrupt_at", "native"))

    def where(site: dict[str, Any]) -> str:
        if site.get("on") != "device":
            return "CPU worker processes"
        cpu = site.get("cpu_specs") or []
        rest = f" ({', '.join(cpu)} in CPU worker processes: no device kernel)" if cpu else ""
        return f"{site.get('device')} (device kernels), at {site.get('resolution')} resolution{rest}"

    texts = {m: where(s) for m, s in sites.items()}
    if not texts:
        return {"corrupt_at": at, "corrupted_on": "CPU worker processes"}
    if len(set(texts.values())) == 1:
        return {"corrupt_at": at, "corrupted_on": next(iter(texts.values()))}
    return {"corrupt_at": at, "corrupted_on": "; ".join(f"{m}: {t}" for m, t in texts.items())}
