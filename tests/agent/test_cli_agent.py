"""`robustlens run` on the shipped example brief (a real process) and on an incomplete one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "HF_HUB_OFFLINE": "1", "COLUMNS": "120"}
ENV.pop("ROBUSTLENS_LLM_MODEL", None)
ENV.pop("ROBUSTLENS_LLM_BASE_URL", None)


# `robustlens chat` through piped stdin, end to end, is tests/e2e/test_worker_hang.py::
# test_chat_on_photos_with_default_workers (the same chat, on photos, with default workers).


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
            "3",  # 1 per class: what is asserted (planner, critic, models) does not depend on the count
            "-j",
            "0",  # no loader processes to start: default workers are tests/e2e/test_worker_hang.py's
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "offline expert" in result.stdout and "Report:" in result.stdout
    # stdout is a pipe: no live bar, so plain lines show the evaluation moving; small images, no hint
    assert "[demo:textile] 0/" in result.stdout and "(model done)" in result.stdout
    assert "Hint:" not in result.stdout
    audit = json.loads((run / "result.json").read_text())
    assert audit["models"] == ["demo:textile"] and audit["plan"]["planner"] == "offline-expert"
    assert all(v["critic"]["critic"] == "offline-rules" for v in audit["validation"])


def test_incomplete_brief_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """In-process (the CLI's ``main``): an exit code and a message, no process start needed."""
    from robustlens.cli import main

    brief = tmp_path / "b.yaml"
    brief.write_text("domain: dashcam\nmodels: [demo:textile]\n")
    assert main(["run", str(brief), "--out", str(tmp_path / "r")]) == 2
    assert "image" in capsys.readouterr().err.lower()


@pytest.mark.parametrize("flag", ["--corrupt-at", "--device"])
def test_a_misspelt_engine_flag_stops_run_before_anything_is_written(
    flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--corrupt-at modle` used to run the whole audit at native resolution without a word."""
    from robustlens.cli import main

    out = tmp_path / "r"
    args = ["run", str(ROOT / "examples" / "textile_line.yaml"), "--out", str(out), flag, "modle"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "'modle'" in err and "Traceback" not in err
    assert not out.exists()
