"""Model adapters: real open_clip and transformers models (tiny, local weights), clear errors offline."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
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
    start = time.monotonic()
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
        timeout=120,
    )
    elapsed = time.monotonic() - start
    assert result.returncode == 2, result.stderr
    assert "not available here" in result.stderr and "--checkpoint" in result.stderr
    assert "Traceback" not in result.stderr
    assert elapsed < 60


def test_known_models_lists_pretrained_pairs() -> None:
    known = known_models()
    assert "openclip:ViT-B-32/laion2b_s34b_b79k" in known["openclip"]
    assert any(m.startswith("hf:") for m in known["hf"])


def _tiny_hf_clip(folder: Path) -> Path:
    """A real transformers CLIP model with random weights and a real CLIP BPE tokenizer, saved locally."""
    transformers = pytest.importorskip("transformers")
    import open_clip.tokenizer as oct

    simple = oct.SimpleTokenizer()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(simple.encoder))
    with gzip.open(oct.default_bpe()) as fh:
        bpe = fh.read().decode("utf-8").split("\n")[1 : 49152 - 256 - 2 + 1]
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(bpe) + "\n")
    sot, eot = simple.decoder[simple.sot_token_id], simple.decoder[simple.eot_token_id]
    tokenizer = transformers.CLIPTokenizer(
        str(folder / "vocab.json"),
        str(folder / "merges.txt"),
        bos_token=sot,
        eos_token=eot,
        pad_token=eot,
        unk_token=eot,
    )
    config = transformers.CLIPConfig(
        text_config={
            "vocab_size": len(simple.encoder),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 77,
        },
        vision_config={
            "image_size": 32,
            "patch_size": 8,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
        },
        projection_dim=16,
    )
    torch.manual_seed(0)
    transformers.CLIPModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    transformers.CLIPImageProcessor(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    ).save_pretrained(folder)
    return folder


def test_hf_clip_adapter_on_a_local_model(tmp_path: Path) -> None:
    folder = _tiny_hf_clip(tmp_path / "tiny-clip")
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
    with pytest.raises(UserInputError, match="Cannot load hf:"):
        load_model("hf:nobody/no-such-model-robustlens")
