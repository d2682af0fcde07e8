"""Worker processes start clean (fork server, single-threaded) and give bit-identical results.

The regressions run in a subprocess under a timeout: the parent first drives OpenCV's thread pool
on a photo-sized image (as validation and previews do), which used to make forked DataLoader and
`corrupt -j N` workers block forever.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from robustlens.workers import pickled_modules

PHOTOS = """
import cv2, numpy as np
from pathlib import Path
from PIL import Image

def photos(root, n=4):
    rng = np.random.default_rng(0)
    paths = []
    for j in range(n):
        base = np.linspace(0, 255, 1600 * 1200 * 3).reshape(1200, 1600, 3)
        pixels = np.clip(base + rng.integers(-40, 40, base.shape), 0, 255).astype(np.uint8)
        path = Path(root) / "in" / f"p{j}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path, quality=90)
        paths.append(str(path))
    big = cv2.imread(paths[0])
    for _ in range(3):  # the parent's OpenCV thread pool is now running
        cv2.GaussianBlur(big, (31, 31), 5)
        cv2.resize(big, (3200, 2400))
    return paths
"""


def _run(script: str, tmp_path: Path) -> str:
    """Run ``script`` in its own process group: on a hang, it and its workers are killed."""
    code = textwrap.dedent(PHOTOS) + textwrap.dedent(script)
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("worker processes hung after the parent used OpenCV threads")
    assert proc.returncode == 0, err[-3000:]
    return out


def test_dataloader_workers_after_parent_opencv_threads_are_identical(tmp_path: Path) -> None:
    out = _run(
        """
        import sys, torch
        from torchvision import transforms as T
        from robustlens.evaluation.loader import CellImages, CellJob, make_loader
        from robustlens.models.base import PilTransform
        from robustlens.schemas import CorruptionSpec

        if __name__ == "__main__":
            paths = photos(sys.argv[1])
            steps = [T.Resize(64), T.CenterCrop(64), T.ToTensor(), T.Normalize([0.5] * 3, [0.25] * 3)]
            tf = PilTransform(T.Compose(steps))
            spec = CorruptionSpec(name="blur", rationale="test", recipe=[{"name": "defocus_blur"}])
            everyone = (0, 1, 2, 3)
            jobs = [
                CellJob(("clean", 0.0), None, 0.0, everyone),
                CellJob(("blur", 3.0), spec.model_dump_json(), 3.0, everyone),
            ]
            def batches(workers):
                dataset = CellImages(jobs, paths, [f"p{j}" for j in range(4)], tf, 0, 64)
                return [b[2] for b in make_loader(dataset, 3, workers, torch.device("cpu"))]
            inline, pooled = batches(0), batches(2)
            assert len(inline) == len(pooled) == 4
            assert all(torch.equal(a, b) for a, b in zip(inline, pooled))
            print("identical")
        """,
        tmp_path,
    )
    assert "identical" in out


def test_corrupt_with_worker_pool_after_parent_opencv_threads(tmp_path: Path) -> None:
    out = _run(
        """
        import sys
        from pathlib import Path
        from robustlens.data.corrupted_copies import write_copies
        from robustlens.schemas import CorruptionPlan

        if __name__ == "__main__":
            root = Path(sys.argv[1])
            photos(root)
            blur = {"name": "blur", "rationale": "t", "recipe": [{"name": "defocus_blur"}]}
            plan = CorruptionPlan(planner="test", specs=[blur])
            one = write_copies(plan, root / "in", root / "one", [2.0], workers=1)
            two = write_copies(plan, root / "in", root / "two", [2.0], workers=2)
            assert one.written == two.written == 4
            for f in sorted((root / "one").rglob("*.png")):
                assert f.read_bytes() == (root / "two" / f.relative_to(root / "one")).read_bytes()
            print("identical")
        """,
        tmp_path,
    )
    assert "identical" in out


def _roundtrip(transform: object, image: np.ndarray) -> None:
    copy = pickle.loads(pickle.dumps(transform))
    assert torch.equal(copy(image), transform(image))  # type: ignore[operator]


def test_model_transforms_are_picklable_for_workers() -> None:
    """Everything sent to a worker goes through pickle (no fork any more)."""
    from transformers import CLIPImageProcessor, SiglipImageProcessor

    from robustlens.models import load_model
    from robustlens.models.hf import HFImageTransform

    image = np.random.default_rng(0).integers(0, 255, (90, 120, 3), dtype=np.uint8)
    demo = load_model("demo:textile", None, "cpu", True)
    _roundtrip(demo.image_transform, image)
    assert "open_clip.transform" in pickled_modules(demo.image_transform)  # preloaded by the server
    for processor in (CLIPImageProcessor(), SiglipImageProcessor()):
        _roundtrip(HFImageTransform(processor), image)


def test_pickled_modules_names_only_real_modules() -> None:
    from collections import OrderedDict

    modules = pickled_modules({"a": OrderedDict(x=Image.new("L", (2, 2)))})
    assert "collections" in modules and "PIL.Image" in modules
    assert all(m in sys.modules for m in modules)


def test_cpu_sharing_knobs_leave_cores_to_the_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    """``loader.share_cores``/``start_worker``: the variants benchmarks/throughput.py --variants measures."""
    from robustlens.evaluation import loader

    before = torch.get_num_threads()
    monkeypatch.setattr(loader, "ENCODER_THREADS", "spare")
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    seen = [torch.get_num_threads() for _ in loader.share_cores(range(3), 1, torch.device("cpu"))]
    assert seen == [3, 3, 3] and torch.get_num_threads() == before  # cores - workers, then restored
    assert [torch.get_num_threads() for _ in loader.share_cores(range(2), 0, torch.device("cpu"))] == [
        before
    ] * 2
    monkeypatch.setattr(loader, "ENCODER_THREADS", "all")
    assert [torch.get_num_threads() for _ in loader.share_cores(range(2), 1, torch.device("cpu"))] == [
        before
    ] * 2
    code = "import os; from robustlens.evaluation.loader import start_worker as s; b = os.nice(0); s(7)"
    code += "; print(os.nice(0) - b)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "7"  # a niced worker yields a contended core to the encoder


EXITS_EARLY = """
from multiprocessing import forkserver
from robustlens.workers import worker_context

import os, sys

worker_context(modules=("open_clip.transform",))  # as `eval` does before a model check can fail
server = forkserver._forkserver._forkserver_pid
child = os.fork()
if child == 0:
    sys.exit(0)  # a plain forked child's exit runs atexit too, and must leave its parent's server alone
os.waitpid(child, 0)
assert os.waitpid(server, os.WNOHANG) == (0, 0), "a forked child stopped the fork server"
print(server, flush=True)
"""


def test_the_fork_server_ends_with_the_process_that_started_it(tmp_path: Path) -> None:
    """A command that exits while the fork server still imports its preload (a clear error right after
    start) must end the server too: it holds the command's stdout and stderr, so a caller reading the
    output to its end (``| tee``, ``subprocess.run``) would wait for the server's imports."""
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
    with open(tmp_path / "out", "w") as out:
        proc = subprocess.Popen([sys.executable, "-c", EXITS_EARLY], stdout=out, stderr=out, env=env)
        assert proc.wait(timeout=120) == 0, (tmp_path / "out").read_text()
    text = (tmp_path / "out").read_text()
    assert "Traceback" not in text, text
    status = Path(f"/proc/{int(text.split()[0])}/status")
    state = status.read_text().split("State:")[1].split()[0] if status.exists() else "gone"
    assert state in ("gone", "Z"), f"the fork server outlived the process that started it ({state})"
