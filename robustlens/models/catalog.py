"""The model ids robustlens knows, and which of them have their weights on this machine.

Feeds ``robustlens models list`` (plain, ``--cached``, ``--json``). "Cached" is decided from files
only (the HF hub cache, open_clip's download folder, the bundled demo weights): listing never
touches the network, so it answers offline and at once.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from robustlens.models.hub import cached_hf_repos, hf_cache_dir, hf_cached_file
from robustlens.models.registry import DESCRIPTIONS, known_models


@dataclass(frozen=True)
class ModelEntry:
    id: str
    prefix: str
    description: str
    cached: bool

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def model_catalog(prefix: str | None = None, cached_only: bool = False) -> list[ModelEntry]:
    """Known ids (plus locally cached HF / open_clip hub models not in the known lists)."""
    entries: list[ModelEntry] = []
    repos = cached_hf_repos()
    for pfx, ids in known_models(prefix).items():
        ids = list(ids)
        if pfx == "hf":
            ids += [f"hf:{r}" for r in sorted(repos) if _is_hf_vlm(r) and f"hf:{r}" not in ids]
        if pfx == "openclip":
            ids += [
                f"openclip:hf-hub:{r}" for r in sorted(repos) if hf_cached_file(r, "open_clip_config.json")
            ]
        if pfx == "timm":  # timm's published weights live in the HF cache as timm/NAME.TAG
            ids += [
                f"timm:{r[5:]}" for r in sorted(repos) if r.startswith("timm/") and f"timm:{r[5:]}" not in ids
            ]
        for model_id in ids:
            cached = is_cached(model_id, repos)
            if cached or not cached_only:
                entries.append(ModelEntry(model_id, pfx, DESCRIPTIONS[pfx], cached))
    return entries


def is_cached(model_id: str, repos: set[str] | None = None) -> bool:
    """Are this id's weights on disk here (no network)?"""
    prefix, _, rest = model_id.partition(":")
    if prefix == "demo":
        from robustlens.models.demo import weights_path

        return weights_path(rest).is_file()
    if prefix == "hf":
        return hf_cached_file(rest, "config.json") is not None
    if prefix == "openclip":
        if rest.startswith("hf-hub:"):
            return hf_cached_file(rest.removeprefix("hf-hub:"), "open_clip_config.json") is not None
        arch, _, tag = rest.partition("/")
        return bool(tag) and _openclip_cached(arch, tag, repos if repos is not None else cached_hf_repos())
    if prefix == "timm":
        return _timm_cached(rest)
    return False


def _timm_cached(spec: str) -> bool:
    """timm:NAME[.TAG]: its pretrained weights in the HF cache (timm/NAME.TAG) or torch's hub folder.
    ``/random`` ids and local folders are not downloads, so not "cached" (as ``openclip:ARCH/random``)."""
    if "/" in spec or spec.startswith("hf-hub:"):
        repo = spec.removeprefix("hf-hub:")
        return spec.startswith("hf-hub:") and _hf_weights(repo)
    try:
        import timm

        cfg = timm.models.get_pretrained_cfg(spec)
    except Exception:  # an unknown name or an old timm: simply not cached
        return False
    if cfg is None:
        return False
    if cfg.hf_hub_id and _hf_weights(cfg.hf_hub_id):
        return True
    import torch

    url = cfg.url if isinstance(cfg.url, str) else ""
    return bool(url) and (Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)).is_file()


def _hf_weights(repo: str) -> bool:
    return any(hf_cached_file(repo, n) for n in ("model.safetensors", "pytorch_model.bin"))


def _openclip_cached(arch: str, tag: str, repos: set[str]) -> bool:
    from robustlens.models.openclip import _open_clip, hub_weight_files

    cfg = _open_clip().get_pretrained_cfg(arch, tag) or {}
    hub = cfg.get("hf_hub", "")
    if hub:
        repo, names = hub_weight_files(hub)
        if repo not in repos:  # cheap filter before looking for files
            return False
        return any(hf_cached_file(repo, name) for name in names)
    url = cfg.get("url", "")
    return bool(url) and (Path(os.path.expanduser("~/.cache/clip")) / os.path.basename(url)).is_file()


def _is_hf_vlm(repo: str) -> bool:
    """A cached transformers repo whose config is a CLIP/SigLIP/ALIGN model."""
    config = hf_cached_file(repo, "config.json")
    if not config:
        return False
    try:
        model_type = json.loads(Path(config).read_text(encoding="utf-8")).get("model_type", "")
    except (OSError, ValueError, AttributeError):
        return False
    from robustlens.models.hf import FAMILIES

    return model_type in FAMILIES


def cache_locations() -> dict[str, str]:
    """Where --cached looks (printed so a user can tell which cache was consulted)."""
    return {"huggingface": str(hf_cache_dir()), "open_clip_urls": os.path.expanduser("~/.cache/clip")}
