"""CLIP, SigLIP and ALIGN through transformers: tiny random models saved locally, loaded as ``hf:/dir``.

Each family is checked against transformers' own forward pass (so scale, bias, padding and the
attention mask are the family's, not CLIP's), and run through a real ``robustlens eval`` subprocess.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from robustlens.errors import UserInputError
from robustlens.models import load_model
from robustlens.schemas import AuditResult
from tests.fixtures import random_image

FAMILIES = ["clip", "siglip", "align"]
PROMPTS = ["a photo of a cat", "a torn shirt", "fabric"]


def _reference_logits(folder: Path, family: str, pixels: torch.Tensor) -> np.ndarray:
    """logits_per_image from transformers' forward, tokenised as each family's model card shows."""
    import transformers

    model = transformers.AutoModel.from_pretrained(folder).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    if family == "siglip":  # SigLIP: max_length padding, input_ids only (trained without a mask)
        tokens = tokenizer(PROMPTS, padding="max_length", max_length=16, return_tensors="pt")
        tokens = {"input_ids": tokens["input_ids"]}
    else:
        tokens = dict(tokenizer(PROMPTS, padding=True, return_tensors="pt"))
    with torch.no_grad():
        return model(pixel_values=pixels, **tokens).logits_per_image.numpy()


@pytest.mark.parametrize("family", FAMILIES)
def test_family_matches_transformers_forward(family: str, tiny_hf: Callable[[str], Path]) -> None:
    folder = tiny_hf(family)
    model = load_model(f"hf:{folder}", device="cpu")
    assert model.weights.startswith("local:") and model.image_size == 32
    pixels = torch.stack([model.image_transform(random_image(i, (50, 70))) for i in range(2)])
    assert pixels.shape == (2, 3, 32, 32)
    images, texts = model.encode_images(pixels), model.encode_texts(PROMPTS)
    assert images.shape == (2, model.embed_dim) and texts.shape == (3, model.embed_dim)
    assert np.allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    ours = model.logit_scale * images @ texts.T + (model.logit_bias or 0.0)
    np.testing.assert_allclose(ours, _reference_logits(folder, family, pixels), rtol=1e-4, atol=1e-4)


def test_family_specific_logits(tiny_hf: Callable[[str], Path]) -> None:
    siglip = load_model(f"hf:{tiny_hf('siglip')}", device="cpu")
    assert math.isclose(siglip.logit_scale, 10.0, rel_tol=1e-5) and siglip.logit_bias == pytest.approx(-10.0)
    align = load_model(f"hf:{tiny_hf('align')}", device="cpu")
    assert align.logit_scale == pytest.approx(1 / 0.05, rel=1e-5) and align.logit_bias is None
    clip = load_model(f"hf:{tiny_hf('clip')}", device="cpu")
    assert clip.logit_scale == pytest.approx(math.exp(2.6592), rel=1e-3) and clip.logit_bias is None


def _class_folders(root: Path) -> Path:
    for c, cls in enumerate(["cat", "dog"]):
        (root / cls).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(random_image(10 * c + i, (40, 48))).save(root / cls / f"{i}.png")
    return root


def test_zero_shot_eval_subprocess(tiny_hf: Callable[[str], Path], tmp_path: Path) -> None:
    """One real `robustlens eval` with the three families side by side (one process: ~10 s, not 30)."""
    plan = tmp_path / "plan.yaml"
    plan.write_text("severities: [2]\nspecs: [{name: noise, recipe: [{name: gaussian_noise}]}]\n")
    data, out = _class_folders(tmp_path / "data"), tmp_path / "run"
    model_ids = [f"hf:{tiny_hf(family)}" for family in FAMILIES]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "COLUMNS": "120"}
    args = ["eval", "--plan", str(plan), "--data", str(data), "--out", str(out)]
    args += [a for m in model_ids for a in ("--model", m)]
    result = subprocess.run(
        [sys.executable, "-m", "robustlens", *args, "-j", "0", "--bootstrap", "20", "--device", "cpu"],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "Loading weights" not in result.stderr, "transformers' progress bars leak into the CLI"
    audit = AuditResult.load(out / "result.json")
    assert audit.models == model_ids and audit.labelled
    for model_id in model_ids:
        cells = {(c.corruption, c.severity): c for c in audit.cells if c.model_id == model_id}
        assert set(cells) == {("clean", 0.0), ("noise", 2.0)}, model_id
        for cell in cells.values():
            assert cell.n_images == 4
            assert 0.0 <= cell.metrics["accuracy"].value <= 1.0
            assert all(math.isfinite(m.value) for m in cell.metrics.values()), (model_id, cell.metrics)


def test_sentencepiece_tokenizer_without_the_package_says_what_to_install(
    tiny_hf: Callable[[str], Path], tmp_path: Path
) -> None:
    """Real SigLIP checkpoints ship a SentencePiece tokenizer (spiece.model, SiglipTokenizer)."""
    import importlib.util
    import shutil

    if importlib.util.find_spec("sentencepiece") is not None:
        pytest.skip("sentencepiece is installed here")
    folder = tmp_path / "siglip-spiece"
    folder.mkdir()
    for name in ("config.json", "model.safetensors", "preprocessor_config.json"):
        shutil.copy(tiny_hf("siglip") / name, folder / name)
    (folder / "tokenizer_config.json").write_text('{"tokenizer_class": "SiglipTokenizer"}')
    (folder / "spiece.model").write_bytes(b"\0" * 64)
    with pytest.raises(UserInputError) as err:
        load_model(f"hf:{folder}", device="cpu")
    assert "SentencePiece" in err.value.what and err.value.fix == "pip install sentencepiece"


@pytest.mark.parametrize("family", FAMILIES)
def test_half_precision_checkpoint_runs_in_float32(
    family: str, tiny_hf: Callable[[str], Path], tmp_path: Path
) -> None:
    """Hub checkpoints are often saved in fp16; transformers 5 keeps that dtype on load."""
    import shutil

    import transformers

    folder = tmp_path / f"{family}-fp16"
    shutil.copytree(tiny_hf(family), folder)
    transformers.AutoModel.from_pretrained(folder).half().save_pretrained(folder)
    model = load_model(f"hf:{folder}", device="cpu")
    pixels = torch.stack([model.image_transform(random_image(i, (50, 70))) for i in range(2)])
    images, texts = model.encode_images(pixels), model.encode_texts(PROMPTS)
    assert images.shape == (2, model.embed_dim) and texts.shape == (3, model.embed_dim)
    assert np.isfinite(images).all() and np.isfinite(texts).all()
