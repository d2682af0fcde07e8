"""`run` and `chat` on ordinary photos with DEFAULT workers finish instead of hanging.

Photo-sized JPEGs make OpenCV run its thread pool in the parent (validation, previews); workers
forked from that parent used to block forever in OpenCV (`pthread_cond_destroy`). Each command
runs as a real subprocess under a timeout, so a hang fails the test instead of blocking CI.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

ENV = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "HF_HUB_OFFLINE": "1", "COLUMNS": "120"}
for key in ("ROBUSTLENS_LLM_MODEL", "ROBUSTLENS_LLM_BASE_URL"):
    ENV.pop(key, None)
HANG = 240  # seconds: a finished run takes well under this on 2 busy cores
LABELS = ["defect-free fabric", "fabric with a small local defect"]


def photo_folder(root: Path, per_class: int = 3, size: tuple[int, int] = (1600, 1200)) -> Path:
    """Class folders of textured, several-hundred-KB JPEGs made from scikit-image sample photos."""
    import skimage.data

    rng = np.random.default_rng(0)
    names = ["astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field"]
    for c, cls in enumerate(["defect-free", "local"]):
        (root / cls).mkdir(parents=True, exist_ok=True)
        for j in range(per_class):
            base = getattr(skimage.data, names[(c * per_class + j) % len(names)])()
            photo = np.asarray(Image.fromarray(base).convert("RGB").resize(size), dtype=np.int16)
            photo = photo + rng.integers(-12, 12, photo.shape, dtype=np.int16)
            Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).save(
                root / cls / f"p{j}.jpg", quality=90
            )
    return root


BAD = {  # what a real photo folder also holds -> the reason recorded in images.json
    "local/gone.jpg": "broken symbolic link",
    "local/pipe.png": "not a regular file",
    "local/[/x]empty.jpg": "empty file (0 bytes)",
    "defect-free/huge.png": "decoding limit",
    "defect-free/mem.jpg": "cannot be read",
}


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = photo_folder(tmp_path_factory.mktemp("photos") / "images")
    assert min(p.stat().st_size for p in root.rglob("*.jpg")) > 200_000
    (root / "local" / "gone.jpg").symlink_to(root / "nowhere.jpg")
    os.mkfifo(root / "local" / "pipe.png")  # reading it would block the run
    (root / "local" / "[").mkdir()  # a path holding rich markup: "[/x]"
    (root / "local" / "[/x]empty.jpg").write_bytes(b"")
    (root / "defect-free" / "mem.jpg").symlink_to("/proc/self/mem")  # a file whose reads fail (EIO)
    Image.new("L", (8000, 7000)).save(root / "defect-free" / "huge.png")  # 56 MP, 55 KB on disk
    latin1 = os.path.join(os.fsencode(root / "local"), b"caf\xe9.jpg")  # a file name that is not UTF-8
    with open(latin1, "wb") as fh:
        fh.write((root / "local" / "p0.jpg").read_bytes())
    return root


def _check_images(run: Path) -> None:
    """The broken files are recorded as skipped; the photo with a Latin-1 name is used."""
    listing = json.loads((run / "images.json").read_text())
    reasons = {s["path"]: s["reason"] for s in listing["skipped"]}
    for path, reason in BAD.items():
        assert reason in reasons.get(path, ""), (path, reasons)
    assert "local/caf\\xe9.jpg" in [i["id"] for i in listing["images"]]


def _robustlens(args: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI as a real process in its own process group, so a hang kills its workers too."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "robustlens", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        cwd=cwd,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(stdin, timeout=HANG)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"robustlens {args[0]} hung for {HANG} s (DataLoader workers?): ...{out[-1500:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


BRIEF = {
    "schema_version": 1,
    "domain": "textile production line",
    "description": "inspection camera over a weaving line",
    "imaging_setup": "industrial RGB camera with LED bars",
    "deployment_conditions": ["vibration", "dust"],
    "labels": LABELS,
    # one corruption at one severity: the deadlock struck at a run's first corrupted cell, and every
    # further cell only repeated the same worker start on the same photos
    "budget": {"max_corruptions": 1, "severities": [3], "max_iterations": 0},
    "models": ["demo:textile"],
    "seed": 0,
}


def _cells(run: Path) -> str:
    return json.dumps(json.loads((run / "result.json").read_text())["cells"], sort_keys=True)


def _check_workers(run: Path) -> None:
    timings = [json.loads(line) for line in (run / "timings.jsonl").read_text().splitlines()]
    assert timings and all(t["workers"] > 0 for t in timings)  # the default: worker processes


@pytest.fixture(scope="module")
def first_run(photos: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``robustlens run`` on the photos once; the chat below audits the same brief again."""
    root = tmp_path_factory.mktemp("run")
    (root / "brief.yaml").write_text(
        yaml.safe_dump({**BRIEF, "image_source": {"kind": "class_folders", "path": str(photos)}})
    )
    done = _robustlens(["run", str(root / "brief.yaml"), "--out", str(root / "run")], root)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root / "run"


def test_run_on_photos_with_default_workers_repeatedly(first_run: Path) -> None:
    """Two processes with default workers audit the same brief: this ``run`` and the chat below.
    The fork deadlock is not a rare race (with the old ``fork`` start method every run, 3 of 3, hung
    at its first cell), so each of them catches it; the chat's cells equal this run's, so worker
    processes give the same numbers every time."""
    _check_workers(first_run)
    _check_images(first_run)


def test_chat_on_photos_with_default_workers(photos: Path, first_run: Path, tmp_path: Path) -> None:
    """Also the offline chat through piped stdin, end to end (it was a separate, same-cost test in
    tests/agent/test_cli_agent.py): the transcript, Enter approving the plan, the answers in the brief.
    The answers are the run's brief, so its cells must equal the run's (the same numbers every time)."""
    answers = [
        "textile production line",  # domain
        "inspection camera over a weaving line",  # description
        "industrial RGB camera with LED bars",  # imaging setup
        "vibration, dust",  # deployment conditions
        str(photos),  # image source
        ", ".join(LABELS),  # class names
        "demo:textile",  # models
        "",  # reference model (none)
        "1",  # max corruptions
        "3",  # severities
        "",  # max images (all)
        "0",  # seed
        "",  # the plan review: Enter approves
    ]
    run = tmp_path / "run"
    done = _robustlens(["chat", "--out", str(run)], tmp_path, stdin="\n".join(answers) + "\n")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    transcript = done.stdout
    assert "offline expert" in transcript and "Which deployment domain" in transcript
    assert "Planned 1 corruption" in transcript and "(offline expert)" in transcript
    assert (run / "report" / "report.html").is_file()
    brief = json.loads((run / "manifest.json").read_text())["brief"]
    assert brief["domain"] == "textile production line" and brief["seed"] == 0
    _check_images(run)
    _check_workers(run)
    assert _cells(run) == _cells(first_run)  # and the same numbers as the run's worker processes
