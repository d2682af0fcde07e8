"""The committed demo model reproduces its reported held-out accuracy, through the regular adapter."""

from __future__ import annotations

import json

import numpy as np
import pytest

from robustlens.models import load_model
from robustlens.models.demo import metadata_path, weights_path
from robustlens.models.train_demo import zero_shot_accuracy


def test_weights_are_small_and_documented() -> None:
    meta = json.loads(metadata_path().read_text())
    assert weights_path().stat().st_size <= 25 * 1024 * 1024
    assert meta["size_bytes"] == weights_path().stat().st_size
    assert meta["accuracy"] >= 0.9 and meta["n_test"] == 400


def test_committed_weights_reproduce_reported_accuracy() -> None:
    meta = json.loads(metadata_path().read_text())
    measured = zero_shot_accuracy()
    assert measured["accuracy"] == pytest.approx(meta["accuracy"], abs=0.005)
    assert measured["balanced_accuracy"] == pytest.approx(meta["balanced_accuracy"], abs=0.005)


def test_paraphrased_prompts_still_work() -> None:
    """The frozen MiniLM text tower understands wording it never saw in training."""
    import torch

    from robustlens.data.demo import TEXTILE_CLASSES, textile_split
    from robustlens.data.images import load_image, to_rgb

    model = load_model("demo:textile", device="cpu")
    items = textile_split("test")[::8]
    pixels = torch.stack([model.image_transform(to_rgb(load_image(p))) for p, _ in items])
    labels = np.array([TEXTILE_CLASSES.index(c) for _, c in items])
    names = [
        "pristine cloth without any flaw",
        "cloth with a hole in one spot",
        "material whose entire weave is messed up",
    ]
    pred = (model.encode_images(pixels) @ model.encode_texts(names).T).argmax(axis=1)
    assert (pred == labels).mean() >= 0.9
    assert model.id == "demo:textile" and model.weights.startswith("demo:")
