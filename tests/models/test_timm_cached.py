"""`robustlens models list --cached` marks timm ids whose published weights are in the HF cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SNAPSHOT = "0123456789abcdef0123456789abcdef01234567"


def _cache_repo(hub: Path, repo: str, filename: str) -> None:
    """A repo laid out as huggingface_hub writes it (refs/main -> a snapshot holding ``filename``)."""
    folder = hub / ("models--" + repo.replace("/", "--"))
    (folder / "snapshots" / SNAPSHOT).mkdir(parents=True)
    (folder / "snapshots" / SNAPSHOT / filename).write_bytes(b"weights")
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text(SNAPSHOT)


def test_cached_timm_ids_are_marked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from huggingface_hub import constants

    from robustlens.cli.app import main
    from robustlens.models.catalog import is_cached

    hub = tmp_path / "hub"
    _cache_repo(hub, "timm/vit_small_patch14_dinov2.lvd142m", "model.safetensors")
    _cache_repo(hub, "timm/resnet18.a1_in1k", "pytorch_model.bin")  # not in the known list
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no torch-hub downloads either
    assert is_cached("timm:vit_small_patch14_dinov2.lvd142m")
    assert is_cached("timm:hf-hub:timm/vit_small_patch14_dinov2.lvd142m")
    assert not is_cached("timm:vit_base_patch14_dinov2.lvd142m")
    assert not is_cached("timm:vit_tiny_patch16_224/random")  # built, not downloaded
    assert main(["models", "list", "--cached", "--json", "--prefix", "timm"]) == 0
    ids = {m["id"] for m in json.loads(capsys.readouterr().out)["models"]}
    assert ids == {"timm:vit_small_patch14_dinov2.lvd142m", "timm:resnet18.a1_in1k"}
