"""Image sources: class folders, flat folders, manifests (with captions), demo sets, subsampling."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from robustlens.data.sources import open_images
from robustlens.errors import UserInputError


def _img(path: Path, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(path)


def test_class_folders(tmp_path: Path) -> None:
    for i, cls in enumerate(["cat", "dog_breed"]):
        for j in range(3):
            _img(tmp_path / cls / f"{j}.png", i * 10 + j)
    _img(tmp_path / "stray.png")
    (tmp_path / ".hidden").mkdir()
    _img(tmp_path / ".hidden" / "x.png")
    s = open_images(tmp_path)
    assert s.kind == "class_folders" and s.labelled
    assert s.class_names == ["cat", "dog breed"]
    assert [i.id for i in s.items][:2] == ["cat/0.png", "cat/1.png"]
    assert [(k.path, "class folder" in k.reason) for k in s.skipped] == [("stray.png", True)]
    assert open_images(tmp_path, labels=False).labelled is False
    renamed = open_images(tmp_path, class_names=["a cat", "a dog"])
    assert renamed.class_names == ["a cat", "a dog"]
    with pytest.raises(UserInputError, match="2 classes"):
        open_images(tmp_path, class_names=["one"])


def test_flat_folder_is_label_free(tmp_path: Path) -> None:
    for j in range(4):
        _img(tmp_path / f"{j}.jpg", j)
    s = open_images(tmp_path)
    assert s.kind == "flat" and not s.labelled and len(s.items) == 4


def test_csv_manifest_with_captions_and_escapes(tmp_path: Path) -> None:
    for j in range(3):
        _img(tmp_path / "imgs" / f"{j}.png", j)
    (tmp_path / "m.csv").write_text(
        "path,label,caption\nimgs/0.png,b,a red thing\nimgs/1.png,a,a blue thing\nimgs/2.png,b,green\n"
        "../outside.png,a,nope\nimgs/missing.png,a,gone\n"
    )
    s = open_images(tmp_path / "m.csv")
    assert s.class_names == ["a", "b"] and [i.label for i in s.items] == [1, 0, 1]
    assert s.has_captions and s.items[0].caption == "a red thing"
    reasons = {k.path: k.reason for k in s.skipped}
    assert "leaves the manifest" in reasons["../outside.png"] and "not found" in reasons["imgs/missing.png"]


def test_jsonl_manifest_without_labels(tmp_path: Path) -> None:
    _img(tmp_path / "x.png")
    (tmp_path / "m.jsonl").write_text(json.dumps({"path": "x.png", "caption": "hello"}) + "\n")
    s = open_images(tmp_path / "m.jsonl")
    assert not s.labelled and s.items[0].caption == "hello"
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    with pytest.raises(UserInputError, match="line 1"):
        open_images(tmp_path / "bad.jsonl")


def test_manifest_needs_path_column(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("file,label\nx.png,a\n")
    with pytest.raises(UserInputError, match="'path' column"):
        open_images(tmp_path / "m.csv")


def test_missing_and_empty_sources(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="not found"):
        open_images(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserInputError, match="No images"):
        open_images(tmp_path / "empty")


def test_stratified_subsample_is_seeded(tmp_path: Path) -> None:
    s1 = open_images("demo:textile", max_images=40, seed=3)
    s2 = open_images("demo:textile", max_images=40, seed=3)
    s3 = open_images("demo:textile", max_images=40, seed=4)
    assert [i.id for i in s1.items] == [i.id for i in s2.items] != [i.id for i in s3.items]
    counts = np.bincount([i.label for i in s1.items])
    assert len(s1.items) == 40 and counts.tolist() == [20, 10, 10]


def test_demo_sources() -> None:
    textile = open_images("demo:textile")
    assert len(textile.items) == 400 and textile.labelled
    assert len(open_images("demo:textile-train").items) == 1600
    natural = open_images("demo:natural")
    assert not natural.labelled and len(natural.items) >= 12
    with pytest.raises(UserInputError, match="demo"):
        open_images("demo:nope")
