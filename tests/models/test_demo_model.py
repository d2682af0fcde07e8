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


# --------------------------------------------------------------------------- demo:textile-robust


def test_robust_weights_are_small_and_documented() -> None:
    """The second demo model ships under 2 MB with its seeded recipe and measured accuracy."""
    meta = json.loads(metadata_path("textile-robust").read_text())
    size = weights_path("textile-robust").stat().st_size
    assert size < 2 * 1024 * 1024 and meta["size_bytes"] == size
    assert meta["n_test"] == 400 and meta["seed"] == 0
    assert meta["model"] == "demo:textile-robust" and "photometric_augment" in meta["augmentations"]
    assert meta["accuracy"] < json.loads(metadata_path().read_text())["accuracy"], "the price of robustness"


def test_committed_robust_weights_reproduce_reported_accuracy() -> None:
    meta = json.loads(metadata_path("textile-robust").read_text())
    measured = zero_shot_accuracy("demo:textile-robust")
    assert measured["accuracy"] == pytest.approx(meta["accuracy"], abs=0.005)
    assert measured["balanced_accuracy"] == pytest.approx(meta["balanced_accuracy"], abs=0.005)


def _accuracy_under(model_id: str, items: list, corruption: str, severity: float) -> float:
    import torch

    from robustlens.corruptions import single
    from robustlens.data.demo import TEXTILE_CLASSES, TEXTILE_PROMPT_NAMES
    from robustlens.data.images import load_image, to_rgb
    from robustlens.evaluation.zeroshot import DEFAULT_TEMPLATES, class_embeddings, prompts

    model = load_model(model_id, device="cpu")
    names = [TEXTILE_PROMPT_NAMES[c] for c in TEXTILE_CLASSES]
    text = class_embeddings(model.encode_texts(prompts(names, DEFAULT_TEMPLATES)), len(names))
    corrupt = single(corruption)
    images = [corrupt(to_rgb(load_image(p)), severity, i) for i, (p, _) in enumerate(items)]
    pixels = torch.stack([model.image_transform(im) for im in images])
    labels = np.array([TEXTILE_CLASSES.index(c) for _, c in items])
    return float(((model.encode_images(pixels) @ text.T).argmax(axis=1) == labels).mean())


def test_robust_model_holds_up_better_under_vibration_blur() -> None:
    """The point of the second model: under the demo's vibration blur (severity 2, 1.5 px) the
    augmented model keeps more of its accuracy than demo:textile, which calls defects defect-free."""
    from robustlens.data.demo import textile_split

    items = textile_split("test")[::8]  # 50 images, every class
    fragile = _accuracy_under("demo:textile", items, "vibration_blur", 2)
    robust = _accuracy_under("demo:textile-robust", items, "vibration_blur", 2)
    assert robust >= fragile + 0.15, (fragile, robust)


def test_demo_brief_audits_both_models_against_a_reference() -> None:
    from importlib.resources import files
    from pathlib import Path

    from robustlens.models.registry import known_models
    from robustlens.schemas import DomainBrief
    from robustlens.userfiles import load_model as load_user_file

    brief = load_user_file(DomainBrief, Path(str(files("robustlens") / "plans" / "textile_brief.yaml")))
    assert brief.models == ["demo:textile", "demo:textile-robust"]
    assert brief.reference_model == "demo:textile-robust"
    assert set(brief.models) <= set(known_models("demo")["demo"])
    assert all(weights_path(m.removeprefix("demo:")).is_file() for m in brief.models)


def test_registry_lists_and_suggests_the_robust_model() -> None:
    from robustlens.errors import UserInputError
    from robustlens.models.catalog import is_cached

    assert is_cached("demo:textile-robust")
    with pytest.raises(UserInputError) as err:
        load_model("demo:textile-robst", device="cpu")
    assert "Did you mean: demo:textile-robust" in str(err.value)


def test_photometric_augment_is_seeded_and_keeps_clean_images() -> None:
    """The robust recipe's augmentation: same seed -> same batch; unpicked images stay untouched."""
    import torch

    from robustlens.models.train_demo import _gaussian_blur, photometric_augment

    x = torch.rand(64, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    a = photometric_augment(x, torch.Generator().manual_seed(0))
    assert torch.equal(a, photometric_augment(x, torch.Generator().manual_seed(0)))
    assert not torch.equal(a, photometric_augment(x, torch.Generator().manual_seed(1)))
    untouched = (a == x).flatten(1).all(1).float().mean().item()
    assert 0.3 < untouched < 0.9 and a.min() >= 0 and a.max() <= 1
    flat = torch.full((2, 3, 16, 16), 0.4)
    assert torch.allclose(_gaussian_blur(flat, torch.tensor([0.5, 1.5])), flat)  # kernels sum to 1
    blurred = _gaussian_blur(x[:2], torch.tensor([0.5, 1.5]))
    assert blurred[1].std() < blurred[0].std() < x[0].std()
