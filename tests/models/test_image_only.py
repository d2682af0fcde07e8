"""Image-only encoders (tiny random DINOv2 and timm ViT saved locally) through the real engine and report."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from robustlens.data.sources import open_images
from robustlens.errors import UserInputError
from robustlens.evaluation.engine import evaluate
from robustlens.evaluation.engine_options import EngineOptions
from robustlens.models import load_model
from robustlens.models.base import uint8_chw
from robustlens.schemas import AuditResult, CorruptionPlan, CorruptionSpec, PrimitiveCall
from tests.fixtures import textile_folder

PLAN = CorruptionPlan(
    specs=[
        CorruptionSpec(name="noise", rationale="sensor noise", recipe=[PrimitiveCall(name="gaussian_noise")]),
        CorruptionSpec(name="blur", rationale="defocus", recipe=[PrimitiveCall(name="defocus_blur")]),
    ],
    severities=[3],
    seed=5,
)
DRIFT = {"cosine", "l2_drift", "knn_flip"}
PROBES = {"knn_accuracy", "probe_accuracy"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tiny_hf: Callable[[str], Path]) -> dict[str, Path]:
    """24 labelled textile images; a DINOv2-only audit and a mixed demo:textile + DINOv2 audit."""
    root = tmp_path_factory.mktemp("image-only")
    data = textile_folder(root / "data", per_class=8, broken=False)
    dino = f"hf:{tiny_hf('dinov2')}"
    options = EngineOptions(workers=0, n_boot=200, use_cache=False, device="cpu")
    for name, models in {"alone": [dino], "mixed": ["demo:textile", dino]}.items():
        evaluate(PLAN, open_images(data), models, root / name, options=options)
    return {"root": root, "dino": Path(dino.removeprefix("hf:"))}


def _result(run: Path) -> AuditResult:
    return AuditResult.load(run / "result.json")


def test_image_only_audit_gives_drift_radius_and_knn_accuracy(runs: dict[str, Path]) -> None:
    result = _result(runs["root"] / "alone")
    dino = result.models[0]
    for cell in result.cells:
        assert cell.n_images == 24
        assert not {"accuracy", "lfp", "ece"} & set(cell.metrics)  # no text tower: no zero-shot metrics
        assert set(cell.metrics) >= PROBES
        if cell.corruption != "clean":
            assert DRIFT | {"knn_accuracy_drop", "probe_accuracy_drop"} <= set(cell.metrics)
            assert 0.0 <= cell.metrics["knn_flip"].value <= 1.0
    entry = result.summary["models"][dino]
    assert all(entry["divergence_radius"][c]["value"] > 0 for c in ("noise", "blur"))
    assert entry["probe"]["stratified"] and entry["probe"]["n_support"] == 12
    manifest = json.loads((runs["root"] / "alone" / "manifest.json").read_text())
    assert manifest["image_only_models"] == [dino]
    # Deterministic and independent of the other models in the run: the mixed audit holds the very
    # same DINOv2 cells (records, embeddings, metrics with intervals).
    mixed = _result(runs["root"] / "mixed")
    for cell in result.cells:
        twin = mixed.cell(dino, cell.corruption, cell.severity)
        assert twin is not None and twin.metrics == cell.metrics
        for run in ("alone", "mixed"):
            assert (runs["root"] / run / cell.records_path).read_bytes() == (
                runs["root"] / "alone" / cell.records_path
            ).read_bytes()


def test_mixed_audit_report_says_which_metrics_apply(runs: dict[str, Path]) -> None:
    from robustlens.report.render import write_report

    run = runs["root"] / "mixed"
    result = _result(run)
    demo, dino = result.models
    assert "accuracy" in result.cell(demo, "clean", 0.0).metrics
    assert "knn_accuracy" not in result.cell(demo, "clean", 0.0).metrics
    assert "knn_flip" in result.cell(demo, "blur", 3.0).metrics  # label-free: every model
    assert "knn_accuracy" in result.cell(dino, "clean", 0.0).metrics
    files = write_report(run, formats="md,html")
    md = files["md"].read_text()
    section = md.split("## Which metrics apply to which model", 1)[1].split("\n## ", 1)[0]
    assert f"`{demo}` (image-text) | `{dino}` (image-only) |" in section
    assert "| Zero-shot accuracy, accuracy drop, CE/mCE | text tower + labels | yes | no |" in section
    assert (
        "| kNN / linear-probe accuracy and drop, kNN LFP | image-only models + labels | no | yes |" in section
    )
    assert "| Divergence Radius | every model | yes | yes |" in section
    assert "12 support / 12 query images" in section
    summary = md.split("## Executive summary", 1)[1].split("\n## ", 1)[0]
    assert "not judged: no accuracy drop in this run (image-only" in summary  # not "no drop"
    html = files["html"].read_text()
    assert 'id="metric-scope"' in html and "(image-only)" in html
    from rich.console import Console

    from robustlens.cli.summary import print_summary

    terminal = Console(record=True, width=200)
    print_summary(result, to=terminal)
    assert "probe acc" in terminal.export_text()  # the CLI table shows the probe for image-only models


def test_timm_vit_from_a_saved_folder(tiny_hf: Callable[[str], Path]) -> None:
    folder = tiny_hf("timm_vit")
    model = load_model(f"timm:{folder}", device="cpu")
    assert model.image_only and model.embed_dim == 32 and model.image_size == 32
    assert model.weights.startswith("local:")
    transform = model.image_transform
    assert getattr(transform, "splittable", False)  # --corrupt-at model and the device path work
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (40 + 9 * i, 52, 3), dtype=np.uint8) for i in range(3)]
    full = model.encode_images(torch.stack([transform(im) for im in images]))
    split = model.encode_images(torch.stack([uint8_chw(transform.geometry(im)) for im in images]))
    assert full.dtype == np.float32 and np.allclose(np.linalg.norm(full, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(split, full, atol=1e-5)
    with pytest.raises(UserInputError, match="image-only encoder: it has no text tower"):
        model.encode_texts(["a photo of a defect"])


def test_timm_architecture_with_a_local_checkpoint(tmp_path: Path) -> None:
    """``timm:NAME --checkpoint FILE``: the file's weights (its classifier head dropped), not random ones."""
    import timm

    torch.manual_seed(7)
    trained = timm.create_model("test_vit", pretrained=False)  # with a 1000-class head
    path = tmp_path / "test_vit.pth"
    torch.save(trained.state_dict(), path)
    model = load_model("timm:test_vit", checkpoint=path, device="cpu")
    assert model.weights.startswith("checkpoint:") and model.image_only
    image = np.random.default_rng(3).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    pixels = model.image_transform(image)[None]
    with torch.no_grad():
        expected = trained.forward_head(trained.forward_features(pixels), pre_logits=True)
    expected = torch.nn.functional.normalize(expected, dim=-1).numpy()
    np.testing.assert_allclose(model.encode_images(pixels), expected, atol=1e-5)


def test_dinov2_folder_loads_as_image_only_with_a_split_transform(tiny_hf: Callable[[str], Path]) -> None:
    import transformers

    folder = tiny_hf("dinov2")
    model = load_model(f"hf:{folder}", device="cpu")
    assert type(model).__name__ == "HFVisionModel" and model.image_only
    assert model.describe()["embedding"] == "cls_token" and model.embed_dim == 32
    processor = transformers.AutoImageProcessor.from_pretrained(folder)
    image = np.random.default_rng(1).integers(0, 256, (45, 70, 3), dtype=np.uint8)
    ours = model.image_transform(image).numpy()
    theirs = processor(images=image, return_tensors="pt")["pixel_values"][0].numpy()
    # the same resize/crop/normalisation: at most one grey level apart (1 / 255 / std)
    np.testing.assert_allclose(ours, theirs, atol=1.01 / 255 / 0.224)
    with pytest.raises(UserInputError, match="no text tower"):
        model.encode_texts(["x"])
    from robustlens.data.sources import ImageItem
    from robustlens.evaluation.engine import _Runner

    captioned = [ImageItem(id="a.png", path=folder / "a.png", label=0, caption="a torn shirt")]
    assert _Runner._captions(None, model, captioned) is None  # type: ignore[arg-type]  # no retrieval
    clip = load_model(f"hf:{tiny_hf('clip')}", device="cpu")  # a CLIP folder stays a CLIP model
    assert not clip.image_only and type(clip).__name__ == "HFModel"


def test_plan_validation_label_check_works_without_a_text_tower(tiny_hf: Callable[[str], Path]) -> None:
    from robustlens.validation import model_label_check

    check = model_label_check(f"hf:{tiny_hf('dinov2')}", ["nominal", "local", "global"])
    rng = np.random.default_rng(2)
    clean = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(4)]
    assert check(clean, clean) == 1.0  # every image's nearest clean sample is itself
    assert check(clean, clean[::-1]) == 0.0  # reversed: every nearest sample is another image


@pytest.mark.parametrize(
    ("model_id", "checkpoint", "message"),
    [
        ("hf:/no/such/dinov2", None, "Model folder not found"),
        ("timm:/no/such/vit", None, "Model folder not found"),
        ("timm:vit_tiny_patch16_22/random", None, "Did you mean"),
        ("timm:vit_tiny_patch16_224/banana", None, "unknown suffix"),
        ("timm:vit_tiny_patch16_224", "/no/such/weights.pth", "--checkpoint file not found"),
    ],
)
def test_bad_image_only_ids_are_clear_errors(model_id: str, checkpoint: str | None, message: str) -> None:
    with pytest.raises(UserInputError, match=message):
        load_model(model_id, checkpoint=checkpoint, device="cpu")
