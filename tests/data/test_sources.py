"""Image sources: class folders, flat folders, manifests (with captions), demo sets, subsampling."""

from __future__ import annotations

import io
import json
import os
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
    assert "not found" in reasons["../outside.png"] and "not found" in reasons["imgs/missing.png"]


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


# ---------------------------------------------------------------- bad input in folders


def _bytes_img(folder: Path, name: bytes, seed: int = 0) -> None:
    """An image under a file name that is not UTF-8 (written through the bytes API)."""
    fd = os.open(os.path.join(os.fsencode(folder), name), os.O_WRONLY | os.O_CREAT, 0o644)
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(buf, "PNG")
    os.write(fd, buf.getvalue())
    os.close(fd)


def test_non_utf8_names_in_class_and_flat_folders_are_used_as_escaped_text(tmp_path: Path) -> None:
    classes = tmp_path / "classes"
    _img(classes / "cat" / "a.png")
    (classes / "dog").mkdir()
    _bytes_img(classes / "dog", b"caf\xe9.png")
    os.mkdir(os.path.join(os.fsencode(classes), b"r\xe9seau"))
    _bytes_img(Path(os.fsdecode(os.path.join(os.fsencode(classes), b"r\xe9seau"))), b"x.png")
    s = open_images(classes)
    assert [i.id for i in s.items] == ["cat/a.png", "dog/caf\\xe9.png", "r\\xe9seau/x.png"]
    assert s.class_names == ["cat", "dog", "r\\xe9seau"]
    json.dumps([i.id for i in s.items]).encode("utf-8")  # ids are valid text everywhere
    assert len(s.fingerprint()) == 24  # hashing the ids and reading the files works
    flat = tmp_path / "flat"
    flat.mkdir()
    _bytes_img(flat, b"\xff\xfe.png")
    f = open_images(flat)
    assert [i.id for i in f.items] == ["\\xff\\xfe.png"] and f.content_hashes()


def test_markup_like_names_survive_as_data(tmp_path: Path) -> None:
    _img(tmp_path / "[bold]" / "[/x].png")
    _img(tmp_path / "plain" / "a [red]b[/red].png")
    s = open_images(tmp_path)
    assert s.class_names == ["[bold]", "plain"]
    assert [i.id for i in s.items] == ["[bold]/[/x].png", "plain/a [red]b[/red].png"]


def test_links_fifos_and_unreadable_entries_are_recorded_as_skipped(tmp_path: Path) -> None:
    _img(tmp_path / "cat" / "a.png")
    _img(tmp_path / "dog" / "b.png")
    (tmp_path / "dog" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    (tmp_path / "dog" / "self.jpg").symlink_to(tmp_path / "dog" / "self.jpg")
    (tmp_path / "dog" / "loop").symlink_to(tmp_path / "dog")
    os.mkfifo(tmp_path / "dog" / "y.png")  # opening it would block: it must never be opened
    (tmp_path / "dog" / "missing_dir").symlink_to(tmp_path / "no_such_folder")
    s = open_images(tmp_path)
    assert [i.id for i in s.items] == ["cat/a.png", "dog/b.png"]
    reasons = {k.path: k.reason for k in s.skipped}
    assert "broken symbolic link" in reasons["dog/gone.png"]
    assert "loop" in reasons["dog/self.jpg"] and "loop" in reasons["dog/loop"]
    assert "not a regular file" in reasons["dog/y.png"]
    assert "broken symbolic link" in reasons["dog/missing_dir"]


def test_linked_class_folder_is_followed(tmp_path: Path) -> None:
    _img(tmp_path / "elsewhere" / "x.png")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cat").symlink_to(tmp_path / "elsewhere")
    _img(tmp_path / "data" / "dog" / "y.png")
    assert [i.id for i in open_images(tmp_path / "data").items] == ["cat/x.png", "dog/y.png"]


def test_unreadable_subfolder_is_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As root chmod 000 does not stop listing, so the listing itself fails as it would for a user.
    _img(tmp_path / "cat" / "a.png")
    _img(tmp_path / "dog" / "b.png")
    _img(tmp_path / "dog" / "locked" / "c.png")
    real = os.listdir

    def listdir(path: object) -> list[str]:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "listdir", listdir)
    s = open_images(tmp_path)
    assert [i.id for i in s.items] == ["cat/a.png", "dog/b.png"]
    assert [(k.path, "Permission denied" in k.reason) for k in s.skipped] == [("dog/locked", True)]


def test_file_that_fails_to_read_is_dropped_and_recorded(tmp_path: Path) -> None:
    _img(tmp_path / "a.png")
    (tmp_path / "z.png").symlink_to("/proc/self/mem")  # a regular file whose reads fail (EIO)
    s = open_images(tmp_path)
    assert [i.id for i in s.items] == ["a.png", "z.png"]
    hashes = s.content_hashes()
    assert len(hashes) == 1 and [i.id for i in s.items] == ["a.png"]
    assert [(k.path, "cannot be read" in k.reason) for k in s.skipped] == [("z.png", True)]


# ---------------------------------------------------------------- bad input in manifests


def test_jsonl_row_without_path_names_the_line(tmp_path: Path) -> None:
    _img(tmp_path / "x.png")
    (tmp_path / "m.jsonl").write_text('{"path": "x.png"}\n{"label": "a"}\n')
    with pytest.raises(UserInputError, match="line 2 has no 'path'") as err:
        open_images(tmp_path / "m.jsonl")
    assert err.value.field == "data" and err.value.fix


@pytest.mark.parametrize("name", ["m.csv", "m.jsonl"])
def test_manifest_that_is_not_utf8(tmp_path: Path, name: str) -> None:
    text = "path,label\ncaf\xe9.png,a\n" if name.endswith(".csv") else '{"path": "caf\xe9.png"}\n'
    (tmp_path / name).write_bytes(text.encode("latin-1"))
    with pytest.raises(UserInputError, match="not UTF-8") as err:
        open_images(tmp_path / name)
    assert err.value.field == "data" and "UTF-8" in err.value.fix


def test_csv_with_byte_order_mark_reads_its_path_column(tmp_path: Path) -> None:
    _img(tmp_path / "x.png")
    (tmp_path / "m.csv").write_text("path,label\nx.png,a\n", encoding="utf-8-sig")
    assert [i.id for i in open_images(tmp_path / "m.csv").items] == ["x.png"]


@pytest.mark.parametrize("name", ["m.csv", "m.jsonl"])
def test_empty_manifest(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("")
    with pytest.raises(UserInputError, match="has no rows"):
        open_images(tmp_path / name)


def test_one_row_without_label_is_an_error_naming_the_row(tmp_path: Path) -> None:
    for j in range(3):
        _img(tmp_path / f"{j}.png", j)
    (tmp_path / "m.csv").write_text("path,label\n0.png,a\n1.png,\n2.png,b\n")
    with pytest.raises(UserInputError, match=r"1 row\(s\) have no label \(line 3\)") as err:
        open_images(tmp_path / "m.csv")
    assert err.value.field == "data" and "label" in err.value.fix
    (tmp_path / "m.jsonl").write_text('{"path": "0.png", "label": 1}\n{"path": "1.png"}\n')
    with pytest.raises(UserInputError, match=r"line 2"):
        open_images(tmp_path / "m.jsonl")


def test_duplicate_rows_with_conflicting_labels(tmp_path: Path) -> None:
    _img(tmp_path / "x.png")
    _img(tmp_path / "y.png", 1)
    (tmp_path / "m.csv").write_text("path,label\nx.png,cat\ny.png,dog\n./x.png,dog\n")
    with pytest.raises(
        UserInputError, match=r"x.png is listed twice .*'cat' \(line 2\) and 'dog' \(line 4\)"
    ):
        open_images(tmp_path / "m.csv")
    (tmp_path / "same.csv").write_text("path,label\nx.png,cat\ny.png,dog\nx.png,cat\n")
    s = open_images(tmp_path / "same.csv")
    assert [i.id for i in s.items] == ["x.png", "y.png"]
    assert [(k.path, k.reason) for k in s.skipped] == [("x.png", "line 4: duplicate of line 2")]


def test_manifest_paths_outside_its_folder(tmp_path: Path) -> None:
    _img(tmp_path / "other" / "x.png")
    _img(tmp_path / "lists" / "y.png", 1)
    (tmp_path / "lists" / "m.jsonl").write_text(
        '{"path": "../other/x.png"}\n'
        f'{{"path": "{tmp_path / "other" / "x.png"}"}}\n'
        '{"path": "y.png"}\n{"path": "../other/missing.png"}\n'
    )
    s = open_images(tmp_path / "lists" / "m.jsonl")
    assert [i.id for i in s.items] == ["../other/x.png", "y.png"]
    reasons = {k.path: k.reason for k in s.skipped}
    assert reasons["../other/missing.png"] == "line 4: file not found"
    assert "duplicate of line 1" in reasons[str(tmp_path / "other" / "x.png")]


def test_manifest_entries_that_are_not_files_and_json_lists(tmp_path: Path) -> None:
    _img(tmp_path / "x.png")
    (tmp_path / "d.png").mkdir()
    os.mkfifo(tmp_path / "f.png")
    (tmp_path / "m.json").write_text(json.dumps([{"path": p} for p in ["x.png", "d.png", "f.png"]], indent=1))
    s = open_images(tmp_path / "m.json")
    assert [i.id for i in s.items] == ["x.png"]
    assert {k.path: k.reason for k in s.skipped} == {
        "d.png": "line 2: not a regular file",
        "f.png": "line 3: not a regular file",
    }
    (tmp_path / "deep.jsonl").write_text("[" * 100_000 + "\n")
    with pytest.raises(UserInputError, match="line 1"):
        open_images(tmp_path / "deep.jsonl")


def test_a_subsample_still_screens_and_reports_every_file(tmp_path: Path) -> None:
    """Files the draw leaves out are screened too: a broken and an empty file are recorded as skipped
    whatever the draw picks, the draw holds the number asked for, and the usable count is kept."""
    for i, cls in enumerate(["cat", "dog"]):
        for j in range(6):
            _img(tmp_path / cls / f"{j}.png", i * 10 + j)
    (tmp_path / "cat" / "zz_empty.jpg").write_bytes(b"")
    (tmp_path / "dog" / "zz_broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    s = open_images(tmp_path, max_images=4, seed=0)
    assert len(s.items) == 4 and s.n_found == 12
    assert {k.path: k.reason for k in s.skipped} == {
        "cat/zz_empty.jpg": "empty file (0 bytes)",
        "dog/zz_broken.jpg": "not a readable image (unknown or corrupt format)",
    }
    assert s.provenance()["n_found"] == 12 and s.provenance()["n_images"] == 4
    assert open_images(tmp_path).n_found is None  # no subsample: nothing to say
