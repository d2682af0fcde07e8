"""Model adapters: real open_clip and transformers models (tiny, local weights), clear errors offline."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from robustlens.errors import UserInputError
from robustlens.models import known_models, load_model
from tests.fixtures import random_image, tiny_checkpoint


def test_openclip_local_checkpoint_round_trip(tmp_path: Path) -> None:
    ckpt = tiny_checkpoint("rl-tiny-a", tmp_path / "a.pt", seed=3)
    model = load_model("openclip:rl-tiny-a", checkpoint=ckpt, device="cpu")
    assert model.weights.startswith("checkpoint:") and model.embed_dim == 64 and model.image_size == 64
    pixels = torch.stack([model.image_transform(random_image(i)) for i in range(3)])
    emb = model.encode_images(pixels)
    assert emb.shape == (3, 64) and emb.dtype == np.float32
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    text = model.encode_texts(["a photo of fabric", "a torn shirt"])
    assert text.shape == (2, 64)
    again = load_model("openclip:rl-tiny-a", checkpoint=ckpt, device="cpu")
    assert np.array_equal(again.encode_images(pixels), emb)
    other = load_model("openclip:rl-tiny-a", checkpoint=tiny_checkpoint("rl-tiny-a", tmp_path / "b.pt", 4))
    assert other.cache_key != model.cache_key, "different weights must not share cached embeddings"


def test_checkpoint_of_another_architecture_is_a_user_error(tmp_path: Path) -> None:
    ckpt = tiny_checkpoint("rl-tiny-b", tmp_path / "b.pt")
    with pytest.raises(UserInputError, match="Cannot load checkpoint"):
        load_model("openclip:rl-tiny-a", checkpoint=ckpt)


@pytest.mark.parametrize(
    ("model_id", "message"),
    [
        ("openclip:ViT-B-23/openai", "Did you mean: ViT-B-32"),
        ("openclip:ViT-B-32/laion2b", "laion2b_s34b_b79k"),
        ("openclip:ViT-B-32", "--checkpoint"),
        ("clip:ViT-B-32", "openclip"),
        ("hf:", "hf:openai/clip-vit-base-patch32 or hf:/path/to/saved_model"),
        ("openclip:", "openclip:ViT-B-32/laion2b_s34b_b79k"),
        ("nonsense", "Examples: openclip:"),
        ("openclip:NoSuchArch/tag", "Unknown open_clip architecture 'NoSuchArch'"),
        ("openclip:ViT-B32/openai", "Did you mean: ViT-B-32"),
        ("ViT-B-32/openai", "Did you mean: openclip:ViT-B-32/openai?"),
        ("openai/clip-vit-base-patch32", "Did you mean: hf:openai/clip-vit-base-patch32?"),
        ("hf:./no/such/folder", "Model folder not found"),
        ("hf:not a repo!", "is not a Hugging Face model id"),
    ],
)
def test_bad_ids_explain_themselves(model_id: str, message: str) -> None:
    with pytest.raises(UserInputError) as err:
        load_model(model_id)
    assert message in err.value.message()


def test_missing_pretrained_weights_fail_fast_offline(tmp_path: Path) -> None:
    """Real download path with the hub unreachable: a clear message within seconds, exit code 2."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "empty-hf"), "COLUMNS": "200"}
    plan = tmp_path / "plan.yaml"
    plan.write_text("specs: [{name: n, recipe: [{name: gaussian_noise}]}]\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "robustlens",
            "eval",
            "--plan",
            str(plan),
            "--data",
            "demo:natural",
            "--model",
            "openclip:ViT-B-32/laion2b_s34b_b79k",
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,  # a bound only a hang reaches
    )
    assert result.returncode == 2, result.stderr
    assert "not available here" in result.stderr and "--checkpoint" in result.stderr
    assert "Traceback" not in result.stderr


def test_known_models_lists_pretrained_pairs() -> None:
    known = known_models()
    assert "openclip:ViT-B-32/laion2b_s34b_b79k" in known["openclip"]
    assert any(m.startswith("hf:") for m in known["hf"])


def test_hf_clip_adapter_on_a_local_model(tiny_hf: Callable[[str], Path]) -> None:
    folder = tiny_hf("clip")
    model = load_model(f"hf:{folder}", device="cpu")
    assert model.embed_dim == 16 and model.image_size == 32
    assert model.weights.startswith("local:")
    pixels = torch.stack([model.image_transform(random_image(i, (50, 70))) for i in range(2)])
    assert pixels.shape == (2, 3, 32, 32)
    emb = model.encode_images(pixels)
    text = model.encode_texts(["a photo of a cat", "a photo of a dog", "fabric"])
    assert emb.shape == (2, 16) and text.shape == (3, 16)
    assert np.allclose(np.linalg.norm(text, axis=1), 1.0, atol=1e-5)


def test_hf_missing_model_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("transformers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserInputError, match="hf:nobody/no-such-model-robustlens are not available here"):
        load_model("hf:nobody/no-such-model-robustlens")
