"""One real audit for every report test: tiny open_clip models through the real CLI on the labelled
textile folder, 2 corruptions x 2 severities, two audited models plus a reference with random weights.

``rl-tiny-b`` with seed 4 is used because its predictions vary across images (most random tiny
models predict one class for everything), so the run has real flips and confusions to report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from robustlens.cli import main
from robustlens.report.render import write_report
from robustlens.schemas import AuditResult
from tests.fixtures import PLAN_YAML, textile_folder, tiny_checkpoint

A, B, REF = "openclip:rl-tiny-a", "openclip:rl-tiny-b", "openclip:rl-tiny-a/random"


@dataclass(frozen=True)
class Run:
    dir: Path
    result: AuditResult
    paths: dict[str, Path]


@pytest.fixture(scope="session")
def audit_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("report")
    plan = root / "plan.yaml"
    # Plan seed 0: its noise draw costs rl-tiny-a one image at severity 3, so the run has a real
    # accuracy drop to analyse (random tiny models rarely lose accuracy; the seed is a fixture choice).
    plan.write_text(PLAN_YAML.replace("seed: 5", "seed: 0"))
    data = textile_folder(root / "labelled")
    ckpt_a = tiny_checkpoint("rl-tiny-a", root / "a.pt", seed=1)
    ckpt_b = tiny_checkpoint("rl-tiny-b", root / "b.pt", seed=4)
    out = root / "run"
    args = ["eval", "--plan", str(plan), "--data", str(data), "--model", A, "--model", B]
    args += ["--reference", REF, "--checkpoint", f"{A}={ckpt_a}", "--checkpoint", f"{B}={ckpt_b}"]
    args += ["--out", str(out), "--workers", "0", "--bootstrap", "200"]
    assert main(args) == 0
    paths = write_report(out)
    return Run(out, AuditResult.load(out / "result.json"), paths)
