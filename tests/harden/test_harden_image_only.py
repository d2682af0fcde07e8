"""``robustlens harden`` on image-only towers (a tiny timm ViT folder, a tiny DINOv2 folder, a timm
architecture with random weights): the same objective lowers DR on held-out images, the hardened
weights load back through the loader, and the paired table reports the linear-probe accuracy (the
utility of a model with no zero-shot head)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from robustlens.api import load_plan
from robustlens.data.sources import open_images
from robustlens.evaluation.engine_options import EngineOptions
from robustlens.harden.compare import compare
from robustlens.harden.towers import reload_with
from robustlens.harden.train import HardenConfig, harden
from robustlens.models import load_model
from tests.fixtures import textile_folder
from tests.harden.test_harden import TRAIN_PLAN
from tests.models.tiny_hf import tiny_dinov2, tiny_timm_vit

# Probe accuracy may move by at most this much on the test's few held-out query images (the anchor
# term's job; one query image of 6 is 0.167).
PROBE_ACCURACY_MARGIN = 0.34


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 32 px tiny models: thread hand-offs cost more than the maths
    root = tmp_path_factory.mktemp("harden-image-only")
    (root / "train.yaml").write_text(TRAIN_PLAN)
    yield {"root": root, "data": textile_folder(root / "data", per_class=6, broken=False)}
    torch.set_num_threads(threads)


def _harden(setup: dict, model_id: str, out: Path, steps: int, checkpoint: str | None = None):
    config = HardenConfig(
        model=model_id, checkpoint=checkpoint, steps=steps, batch_size=8, lr=1e-3, seed=0,
        holdout_fraction=0.5, checkpoint_every=50, device="cpu",
    )  # fmt: skip
    model = load_model(model_id, checkpoint, "cpu")
    images = open_images(setup["data"])
    plan = load_plan(setup["root"] / "train.yaml")
    return harden(config, model, images, plan, out), model, images, plan


def _same_embeddings(trained, model_id: str, weights: Path) -> None:
    """The loader reads back exactly the trained weights."""
    reload, checkpoint = reload_with(model_id, weights)
    loaded = load_model(reload, checkpoint, "cpu")
    pixels = torch.rand(
        3, 3, trained.image_size, trained.image_size, generator=torch.Generator().manual_seed(0)
    )
    np.testing.assert_allclose(loaded.encode_images(pixels), trained.encode_images(pixels), atol=1e-5)
    base = load_model(model_id, None, "cpu")
    assert not np.allclose(base.encode_images(pixels), trained.encode_images(pixels), atol=1e-4)


def test_hardening_a_timm_tower_lowers_dr_and_keeps_probe_accuracy(setup: dict) -> None:
    folder = tiny_timm_vit(setup["root"] / "timm")
    model_id, out = f"timm:{folder}", setup["root"] / "timm-out"
    run, trained, images, plan = _harden(setup, model_id, out, steps=8)
    assert run.weights == out / "hardened" and (run.weights / "model.safetensors").is_file()
    _same_embeddings(trained, model_id, run.weights)
    table = compare(
        model_id, None, run.weights, images, run.held_out, plan, ["blur"], out,
        options=EngineOptions(device="cpu", workers=0), n_boot=500,
    )  # fmt: skip
    rows = {(r["metric"], r["spec"], r["severity"]): r for r in table["rows"]}
    dr = rows[("divergence_radius", "blur", None)]
    assert dr["kind"] == "trained" and dr["ci_high"] < 0, dr  # paired interval excludes 0
    assert abs(rows[("clean_probe_accuracy", None, None)]["diff"]) <= PROBE_ACCURACY_MARGIN
    assert {("probe_accuracy", "blur", 3.0), ("probe_accuracy", "blur", 5.0)} <= set(rows)
    assert ("clean_accuracy", None, None) not in rows  # no zero-shot head
    assert "clean probe accuracy" in (out / "comparison.md").read_text()


@pytest.mark.parametrize("family", ["dinov2", "timm_random"])
def test_hardened_image_only_weights_load_back(setup: dict, family: str) -> None:
    if family == "dinov2":
        model_id = f"hf:{tiny_dinov2(setup['root'] / 'dinov2')}"
    else:
        model_id = "timm:test_vit/random"
    out = setup["root"] / f"{family}-out"
    run, trained, _, _ = _harden(setup, model_id, out, steps=2)
    assert run.weights is not None
    assert run.weights.name == ("hardened" if family == "dinov2" else "hardened.pt")
    _same_embeddings(trained, model_id, run.weights)
