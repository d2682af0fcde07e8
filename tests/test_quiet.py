"""No third-party progress bars, warnings or log lines reach a robustlens command's output, in the
CLI process and in its worker processes, while robustlens's own messages still do.

The triggers are real library calls: a transformers image processor fed a read-only array (torch's
"not writable" UserWarning, raised inside transformers), a huggingface_hub tqdm bar and a
transformers logger warning. ``ROBUSTLENS_SHOW_WARNINGS=1`` is the control that shows they fire.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings

import pytest

PROBE = """
import sys
from robustlens.cli.app import app, main

@app.command("noise-probe")
def noise_probe() -> None:
    from robustlens.workers import init_worker, worker_context
    from tests.test_quiet import make_noise

    make_noise("main")
    if "--main-only" not in sys.argv:
        with worker_context().Pool(1, initializer=init_worker) as pool:
            pool.apply(make_noise, ("worker",))

sys.exit(main(["noise-probe"]))
"""
THIRD_PARTY_MARKS = ("not writable", "hfbar-main", "hflog-main", "hfbar-worker", "hflog-worker")
OWN_MARKS = ("own-log-main", "own-warning-main", "own-log-worker", "own-warning-worker")


def make_noise(tag: str) -> None:
    """Real third-party noise, then robustlens's own messages (a log line and a warning)."""
    import numpy as np
    import transformers
    from huggingface_hub.utils import tqdm

    image = np.zeros((8, 8, 3), np.uint8)
    image.setflags(write=False)
    processor = transformers.CLIPImageProcessor(
        size={"shortest_edge": 8}, crop_size={"height": 8, "width": 8}
    )
    processor(images=image, return_tensors="pt")
    for _ in tqdm(range(3), desc=f"hfbar-{tag}"):
        pass
    transformers.utils.logging.get_logger("transformers.modeling_utils").warning(f"hflog-{tag}")
    logging.getLogger("robustlens.probe").warning(f"own-log-{tag}")
    warnings.warn(f"own-warning-{tag}", UserWarning, stacklevel=1)


def _probe(show: bool, *args: str) -> str:
    pytest.importorskip("transformers")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_HUB_DISABLE", "TRANSFORMERS_V"))}
    env.pop("ROBUSTLENS_QUIET", None)
    env.update(NO_ALBUMENTATIONS_UPDATE="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    if show:
        env["ROBUSTLENS_SHOW_WARNINGS"] = "1"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, timeout=240
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout + proc.stderr


def test_third_party_noise_is_silenced_and_own_messages_are_not() -> None:
    out = _probe(show=False)
    leaked = [m for m in THIRD_PARTY_MARKS if m in out]
    assert not leaked, f"third-party output leaked: {leaked}\n{out}"
    assert all(m in out for m in OWN_MARKS), out


def test_show_warnings_switch_shows_everything() -> None:
    """The control: the same probe with the switch on prints every trigger, so they are real (the
    worker runs the same function, so the main process suffices here)."""
    out = _probe(True, "--main-only")
    expected = [m for m in (*THIRD_PARTY_MARKS, *OWN_MARKS) if "worker" not in m]
    assert all(m in out for m in expected), out
