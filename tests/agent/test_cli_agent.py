"""`robustlens chat` through piped stdin and `robustlens run` on an example brief, as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.fixtures import textile_folder

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "HF_HUB_OFFLINE": "1", "COLUMNS": "120"}
ENV.pop("ROBUSTLENS_LLM_MODEL", None)
ENV.pop("ROBUSTLENS_LLM_BASE_URL", None)


def test_chat_through_piped_stdin(tmp_path: Path) -> None:
    images = textile_folder(tmp_path / "images", per_class=3, broken=False)
    answers = [
        "textile production line",  # domain
        "inspection camera over a weaving line",  # description
        "industrial RGB camera with LED bars",  # imaging setup
        "vibration, dust",  # deployment conditions
        str(images),  # image source
        "defect-free fabric, fabric with a small local defect, fabric with a global defect across the weave",
        "demo:textile",  # models
        "",  # reference model (none)
        "2",  # max corruptions
        "1, 3",  # severities
        "",  # max images (all)
        "4",  # seed
        "",  # plan review: Enter approves
    ]
    run = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "robustlens", "chat", "--out", str(run)],
        input="\n".join(answers) + "\n",
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    transcript = result.stdout
    assert "offline expert" in transcript and "Which deployment domain" in transcript
    assert "Planned 2 corruptions (offline expert)" in transcript
    assert (run / "report" / "report.html").is_file()
    brief = json.loads((run / "manifest.json").read_text())["brief"]
    assert brief["domain"] == "textile production line" and brief["seed"] == 4


def test_run_example_brief_offline(tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "robustlens",
            "run",
            str(ROOT / "examples" / "textile_line.yaml"),
            "--out",
            str(run),
            "--max-images",
            "24",
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "offline expert" in result.stdout and "Report:" in result.stdout
    audit = json.loads((run / "result.json").read_text())
    assert audit["models"] == ["demo:textile"] and audit["plan"]["planner"] == "offline-expert"
    assert all(v["critic"]["critic"] == "offline-rules" for v in audit["validation"])


def test_incomplete_brief_is_a_clear_error(tmp_path: Path) -> None:
    brief = tmp_path / "b.yaml"
    brief.write_text("domain: dashcam\nmodels: [demo:textile]\n")
    result = subprocess.run(
        [sys.executable, "-m", "robustlens", "run", str(brief), "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "image" in result.stderr.lower()
