"""`robustlens eval` / `report` never lose the user's data and fail with clear errors.

Real runs on the bundled demo set and demo model, through the real CLI (in-process ``main`` where the
output is all that matters, real subprocesses for locks, Ctrl-C, terminal width and completion).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robustlens.cli import main
from robustlens.schemas import AuditResult
from tests.fixtures import textile_folder

PLAN = """
seed: 5
severities: [1, 2, 3, 4, 5]
specs:
  - name: noise
    rationale: sensor noise at line speed
    recipe: [{name: gaussian_noise}]
  - name: blur
    rationale: defocus
    recipe: [{name: defocus_blur}]
"""
ROBUSTLENS = str(Path(sys.executable).parent / "robustlens")  # the installed console script
CLI = [ROBUSTLENS]
ENV = {
    **os.environ,
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "NO_ALBUMENTATIONS_UPDATE": "1",
    "COLUMNS": "250",  # error panels on one line each, so messages can be matched whole
}


def eval_args(plan: Path, out: Path, *extra: str, data: str = "demo:textile") -> list[str]:
    base = ["eval", "-p", str(plan), "-d", data, "-m", "demo:textile", "-o", str(out), "-j", "0"]
    return [*base, "--max-images", "6", "--bootstrap", "10", *extra]


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env=env or ENV, timeout=timeout, check=False
    )


def metrics(out: Path) -> dict[tuple[str, str, float], dict]:
    result = AuditResult.load(out / "result.json")
    return {(c.model_id, c.corruption, c.severity): c.model_dump()["metrics"] for c in result.cells}


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plan") / "plan.yaml"
    path.write_text(PLAN)
    return path


@pytest.fixture(scope="module")
def finished(plan: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished run (10 cells + clean); tests copy it before changing anything."""
    out = tmp_path_factory.mktemp("finished") / "run"
    assert main(eval_args(plan, out)) == 0
    return out


@pytest.fixture
def run_copy(finished: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    (out / ".robustlens.lock").unlink(missing_ok=True)
    return out


def flat(text: str) -> str:
    """Error text without panel borders and line wrapping, for matching whole sentences."""
    return " ".join(text.replace("│", " ").split())


def no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr


# ---------------------------------------------------------------- 1. folders robustlens did not make


def test_fresh_on_a_foreign_folder_deletes_nothing(plan: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "mine"
    (out / "report").mkdir(parents=True)
    (out / "cells").mkdir()
    (out / "report" / "thesis.md").write_text("my thesis")
    (out / "cells" / "notes.txt").write_text("my notes")
    assert main(eval_args(plan, out, "--fresh")) == 2
    err = flat(capsys.readouterr().err)
    assert "not a robustlens run folder" in err and "--out" in err
    assert (out / "report" / "thesis.md").read_text() == "my thesis"
    assert (out / "cells" / "notes.txt").read_text() == "my notes"
    assert sorted(p.name for p in out.iterdir()) == ["cells", "report"]  # nothing written either


def test_a_foreign_images_json_is_not_overwritten(plan: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "photos"
    out.mkdir()
    (out / "images.json").write_text('{"my": "catalogue"}')
    assert main(eval_args(plan, out)) == 2
    assert "not a robustlens run folder" in flat(capsys.readouterr().err)
    assert (out / "images.json").read_text() == '{"my": "catalogue"}'


def test_fresh_in_a_run_folder_removes_only_what_robustlens_wrote(run_copy: Path, plan: Path) -> None:
    (run_copy / "my_notes.txt").write_text("keep me")
    assert (run_copy / ".robustlens-run.json").is_file()
    before = metrics(run_copy)
    (run_copy / "cells" / "demo_textile" / "noise" / "s9.jsonl").write_text("stale\n")
    assert main(eval_args(plan, run_copy, "--fresh")) == 0
    assert (run_copy / "my_notes.txt").read_text() == "keep me"
    assert not (run_copy / "cells" / "demo_textile" / "noise" / "s9.jsonl").exists()
    assert metrics(run_copy) == before


def test_a_run_of_an_older_version_without_marker_resumes(run_copy: Path, plan: Path) -> None:
    (run_copy / ".robustlens-run.json").unlink()
    timings = (run_copy / "timings.jsonl").read_text()
    assert main(eval_args(plan, run_copy)) == 0
    assert (run_copy / "timings.jsonl").read_text() == timings  # nothing recomputed
    assert (run_copy / ".robustlens-run.json").is_file()  # and now marked


# ---------------------------------------------------------------- 2. the run lock


HOLD_LOCK = """
import sys, time
from pathlib import Path
from robustlens.evaluation.store import RunStore, claim
store = RunStore(claim(Path(sys.argv[1])))
store.lock()
print("locked", flush=True)
time.sleep(120)
"""


def test_a_second_process_on_one_run_folder_fails_at_once(plan: Path, tmp_path: Path, capsys) -> None:
    """The lock is held by a real process; this test's own process is the second one (an in-process
    ``main``: its exit code and message are what matters, and a process start costs seconds)."""
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(out)], stdout=subprocess.PIPE, text=True, env=ENV
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert main(eval_args(plan, out)) == 2
        err = capsys.readouterr().err
        assert "in use by another robustlens process" in flat(err)
        assert "Traceback" not in err, err
        assert not (out / "manifest.json").exists()
    finally:
        holder.kill()  # a crash: the kernel releases the lock
        holder.wait()
    assert main(eval_args(plan, out, "--max-images", "4")) == 0


# ---------------------------------------------------------------- 3. inputs checked before anything exists


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (["-m", "openclip:no-such-arch"], "Unknown open_clip architecture"),
        (["-m", "demo:nope"], "Unknown demo model"),
        (["-m", "demo:textil"], "Did you mean: demo:textile, demo:textile-robust?"),  # what to type
        (["-m", "nope:model"], "Unrecognised model id"),
        (["-m", "hf:/no/such/saved/model"], "Model folder not found"),
        (["--checkpoint", "demo:textile=/no/such/weights.pt"], "Checkpoint for demo:textile not found"),
        (["-d", "/no/such/photos"], "Dataset not found"),
    ],
)
def test_bad_inputs_leave_no_debris_and_the_retry_works(
    plan: Path, tmp_path: Path, capsys, bad: list[str], message: str
) -> None:
    out = tmp_path / "run"
    args = eval_args(plan, out, "--max-images", "4")
    if bad[0] == "-d":
        args[args.index("-d") + 1] = bad[1]
    else:
        args += bad
    assert main(args) == 2
    assert message in flat(capsys.readouterr().err)
    assert not out.exists()


def test_the_corrected_retry_after_a_bad_model_runs(plan: Path, tmp_path: Path) -> None:
    """Old main: the bad model wrote a manifest first, and the retry was 'a different audit'."""
    out = tmp_path / "run"
    assert main(eval_args(plan, out, "--max-images", "4", "--reference", "openclip:no-such-arch")) == 2
    assert main(eval_args(plan, out, "--max-images", "4")) == 0


def test_one_class_folder_is_refused_before_anything_is_written(plan: Path, tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    textile_folder(data, per_class=2, broken=False)
    for extra in ("local", "global"):
        shutil.rmtree(data / extra)
    out = tmp_path / "run"
    assert main(eval_args(plan, out, data=str(data))) == 2
    err = flat(capsys.readouterr().err)
    assert "at least two" in err and "--labels none" in err
    assert not out.exists()


# ---------------------------------------------------------------- 10. odd --out


def test_out_that_is_a_file_or_a_system_folder(plan: Path, tmp_path: Path, capsys) -> None:
    afile = tmp_path / "results.txt"
    afile.write_text("mine")
    assert main(eval_args(plan, afile)) == 2
    assert "is a file, not a folder" in flat(capsys.readouterr().err)
    assert afile.read_text() == "mine"
    assert main(eval_args(plan, afile / "run")) == 2
    assert "is a file" in flat(capsys.readouterr().err)
    for system in ("/proc/robustlens-run", "/sys/robustlens-run"):
        assert main(eval_args(plan, Path(system))) == 2
        assert "a system folder" in flat(capsys.readouterr().err)


def test_out_on_a_read_only_file_system(plan: Path, tmp_path: Path) -> None:
    """Root ignores permission bits, so a read-only bind mount (private mount namespace) stands in."""
    ro = tmp_path / "ro"
    ro.mkdir()
    mount = f"mount --bind {ro} {ro} && mount -o remount,bind,ro {ro}"
    probe = subprocess.run(["unshare", "-m", "sh", "-c", mount], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a read-only mount here: {probe.stderr!r}")
    command = " ".join([mount, "&&", "exec", *CLI, *eval_args(plan, ro / "run")])
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", command],
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "not writable" in flat(proc.stderr) and "read-only" in flat(proc.stderr)
    no_traceback(proc)


# ---------------------------------------------------------------- 4. damaged run files


def test_truncated_result_json_is_rebuilt_from_the_cells(run_copy: Path, plan: Path, capsys) -> None:
    before = metrics(run_copy)
    text = (run_copy / "result.json").read_text()
    (run_copy / "result.json").write_text(text[: len(text) // 2])
    assert main(["report", str(run_copy), "-f", "json"]) == 0
    assert "rebuilding" in flat(capsys.readouterr().err)
    assert metrics(run_copy) == before
    (run_copy / "result.json").write_text("not json at all \x00")
    assert main(eval_args(plan, run_copy)) == 0  # eval's finished-run path rebuilds it too
    assert metrics(run_copy) == before


@pytest.mark.parametrize("content", ['{"identity": {"specs"', "\x89PNG binary", "[1, 2]"])
def test_damaged_manifest_is_a_clear_error(run_copy: Path, plan: Path, capsys, content: str) -> None:
    (run_copy / "manifest.json").write_text(content)
    assert main(eval_args(plan, run_copy)) == 2
    err = flat(capsys.readouterr().err)
    assert "is damaged" in err and "manifest.json" in err and "--fresh" in err
    assert main(["report", str(run_copy)]) == 2
    assert "is damaged" in flat(capsys.readouterr().err)
    if content.startswith("{"):
        assert main(eval_args(plan, run_copy, "--fresh")) == 0  # the suggested fix works


def test_report_on_a_folder_that_is_not_a_run(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "result.json").write_text('{"totally": "different"}')
    assert main(["report", str(folder)]) == 2
    assert "not a robustlens run folder" in flat(capsys.readouterr().err)
    assert not (folder / "report").exists()


def test_report_on_a_damaged_run_file_written_by_a_foreign_tool(run_copy: Path, capsys) -> None:
    (run_copy / "result.json").write_text('{"run_id": 3}')
    (run_copy / "manifest.json").write_text('{"identity": {}, "versions": {}}')  # no plan: cannot rebuild
    assert main(["report", str(run_copy)]) == 2
    assert "is damaged" in flat(capsys.readouterr().err)


# ---------------------------------------------------------------- 5. plan files


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


SPEC = "{name: %s, rationale: r, recipe: [{name: %s}]}"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("latin1.yaml", "seed: 1\nspecs: [{name: café, rationale: r}]\n".encode("latin-1"), "not UTF-8"),
        ("deep.yaml", "a: " + "[" * 5000 + "]" * 5000, "nested too deeply"),
        ("deep.json", '{"a": ' + "[" * 100000 + "]" * 100000 + "}", "nested too deeply"),
        ("list.yaml", "- noise\n- blur\n", "holds a list"),
        ("scalar.yaml", "just some words\n", "holds a text string"),
        ("clean.yaml", "specs: [" + SPEC % ("clean", "gaussian_noise") + "]", "specs.0.name"),
        ("prim.yaml", "specs: [" + SPEC % ("fog", "no_such_primitive") + "]", "no_such_primitive"),
        ("sev.yaml", "severities: [9]\nspecs: [" + SPEC % ("fog", "fog") + "]", "severities"),
    ],
)
def test_bad_plan_files_exit_2_naming_the_problem(
    tmp_path: Path, capsys, name: str, content: bytes | str, message: str
) -> None:
    plan = write(tmp_path, name, content)
    out = tmp_path / "run"
    assert main(eval_args(plan, out)) == 2
    assert message in flat(capsys.readouterr().err)
    assert not out.exists()


def test_severities_2_and_2_0000001_are_one_cell(tmp_path: Path) -> None:
    plan = write(
        tmp_path, "p.yaml", "severities: [2, 2.0000001]\nspecs: [" + SPEC % ("noise", "gaussian_noise") + "]"
    )
    out = tmp_path / "run"
    assert main(eval_args(plan, out, "--max-images", "4")) == 0
    assert sorted(p.name for p in (out / "cells" / "demo_textile" / "noise").glob("*.jsonl")) == ["s2.jsonl"]
    assert [c.severity for c in AuditResult.load(out / "result.json").cells if c.corruption == "noise"] == [
        2.0
    ]


# ---------------------------------------------------------------- 6. Ctrl-C


def test_ctrl_c_says_what_is_kept_and_the_same_command_resumes(
    finished: Path, plan: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    args = eval_args(plan, out)
    proc = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.monotonic() + 120
    while not list((out / "cells").rglob("*.jsonl")) if (out / "cells").exists() else True:
        assert proc.poll() is None and time.monotonic() < deadline, "eval ended before a cell was written"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "Interrupted" in err and "finished cell(s)" in err
    assert "Resume with: robustlens eval -p" in err and str(out) in err
    assert not (out / "result.json").exists()
    assert main(args) == 0  # the same command
    assert metrics(out) == metrics(finished)


# ---------------------------------------------------------------- 7. rich markup in paths


def test_markup_in_paths_is_printed_literally(plan: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(eval_args(plan, Path("run"), data="[bold]photos[/x]")) == 2
    assert "Dataset not found: [bold]photos[/x]" in flat(capsys.readouterr().err)
    assert main(eval_args(plan, Path("[/x]out"), "--fail-on", "[/x]>1")) == 2
    assert "Invalid --fail-on '[/x]>1'" in flat(capsys.readouterr().err)


def test_markup_in_data_and_out_paths_of_a_real_run(plan: Path, tmp_path: Path) -> None:
    """Also the progress of a process whose stdout is not a terminal (one real run serves both): a CI
    log or `| tee` gets no live bar, but plain lines saying each model's start and end, so a long run
    never looks hung."""
    data = tmp_path / "data[/x]"
    textile_folder(data, per_class=2, broken=False)
    broken = data / "nominal" / "[bold]zz[/x].jpg"  # a folder "[bold]zz[" holding "x].jpg"
    broken.parent.mkdir()
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    out = tmp_path / "run[/x][bold]"
    proc = cli(*eval_args(plan, out, "--max-images", "6", data=str(data)), env={**ENV, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    no_traceback(proc)
    assert f"Results: {out / 'result.json'}" in proc.stdout
    assert "nominal/[bold]zz[/x].jpg" in proc.stdout  # the skipped file, listed literally
    assert "[demo:textile] 0/11 cells done at start" in proc.stdout  # progress as lines
    assert re.search(
        r"\[demo:textile\] 11/11 cells, [\d.]+ img/s, \d+ min \d\d s elapsed \(model done\)", proc.stdout
    )


def test_a_subsampled_run_reports_what_was_found_used_and_skipped(plan: Path, tmp_path: Path) -> None:
    """With --max-images the report names the folder's usable images, the sample and the skipped
    files (an empty and a broken one), not the sample as if it were the dataset."""
    data = textile_folder(tmp_path / "data", per_class=4)  # 12 images + a broken file
    (data / "nominal" / "zz_empty.jpg").write_bytes(b"")
    out = tmp_path / "run"
    assert main(eval_args(plan, out, data=str(data))) == 0  # --max-images 6
    assert main(["report", str(out), "--format", "md"]) == 0
    assert "12 images found, 6 used (seeded subsample), 2 skipped" in flat(
        (out / "report" / "report.md").read_text()
    )
    reasons = {s.path: s.reason for s in AuditResult.load(out / "result.json").skipped}
    assert reasons["nominal/zz_empty.jpg"] == "empty file (0 bytes)"
    assert "global/zz_broken.jpg" in reasons


def test_progress_is_printed_as_lines_when_stdout_is_not_a_terminal(plan: Path, tmp_path: Path) -> None:
    """A CI log or `| tee` gets no live bar: plain lines say each model's start and end, so a long run
    never looks hung (asserted on the real run of test_markup_in_data_and_out_paths_of_a_real_run).
    With --json they go to stderr and stdout stays one document."""
    js = cli(*eval_args(plan, tmp_path / "run2"), "--json")
    assert js.returncode == 0 and json.loads(js.stdout)
    assert "[demo:textile] 0/11 cells done at start" in js.stderr


def test_large_images_at_native_resolution_get_a_hint(tmp_path: Path, capsys) -> None:
    """Photo-sized images corrupted at native resolution make a slow audit: the run says so and names
    --corrupt-at model before it starts; at model resolution, or with small images, it says nothing."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("nominal", "global"):
        (tmp_path / "big" / cls).mkdir(parents=True)
        pixels = rng.integers(0, 255, (1000, 1200, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / "big" / cls / "0.jpg", quality=90)
    big = str(tmp_path / "big")
    plan = write(
        tmp_path, "one.yaml", "severities: [3]\nspecs: [{name: noise, recipe: [{name: gaussian_noise}]}]"
    )
    assert main(eval_args(plan, tmp_path / "a", data=big)) == 0
    said = flat(capsys.readouterr().out)
    assert "Hint: these images are about 1.2 MP (1200x1000, median of 2)" in said
    assert "--corrupt-at model corrupts the resized model input" in said
    assert main(eval_args(plan, tmp_path / "b", "--corrupt-at", "model", data=big)) == 0
    assert main(eval_args(plan, tmp_path / "c")) == 0  # the 64 px demo images
    assert "Hint:" not in capsys.readouterr().out


# ---------------------------------------------------------------- 8. --json and --fail-on


def test_eval_json_is_one_document_on_stdout(run_copy: Path, plan: Path, capsys) -> None:
    assert main(eval_args(plan, run_copy, "--json")) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)  # nothing else on stdout
    assert doc["result"] == str(run_copy / "result.json") and doc["models"] == ["demo:textile"]
    assert len(doc["cells"]) == 11
    cell = next(c for c in doc["cells"] if c["corruption"] == "noise" and c["severity"] == 3)
    assert set(cell["metrics"]["accuracy"]) == {"value", "ci_low", "ci_high"}
    assert "accuracy" in doc["summary"]["demo:textile"]["mean_corrupted"]
    assert "6 images" in captured.err


def test_report_json_and_gates(run_copy: Path, capsys) -> None:
    assert main(["report", str(run_copy), "--json", "-f", "json,csv", "--fail-on", "accuracy_drop>=-1"]) == 1
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert set(doc["report"]) == {"json", "csv"} and Path(doc["report"]["csv"]).is_file()
    assert doc["gates"]["passed"] is False and len(doc["gates"]["failed"]) == 10  # every corrupted cell
    assert "demo:textile blur s5: accuracy_drop" in flat(captured.err)


def test_fail_on_exit_codes(run_copy: Path, plan: Path, capsys) -> None:
    result = AuditResult.load(run_copy / "result.json")
    drops = {c.corruption: c.metrics["accuracy_drop"].value for c in result.cells if c.corruption != "clean"}
    assert main(eval_args(plan, run_copy, "--fail-on", f"accuracy_drop>{max(drops.values()) + 0.01}")) == 0
    assert "All 1 gate(s) passed" in flat(capsys.readouterr().err)
    gate = f"blur:accuracy_drop>={min(drops.values()) - 0.01}"
    assert main(eval_args(plan, run_copy, "--fail-on", gate, "--fail-on", "accuracy<-1")) == 1
    err = flat(capsys.readouterr().err)
    assert "blur s" in err and "noise s" not in err and "failed the --fail-on gates" in err
    for bad, message in [
        ("accuracy_dorp>0.2", "accuracy_drop"),
        ("accuracy_drop 0.2", "[CORRUPTION:]METRIC OP NUMBER"),
        ("fog:lfp>0.1", "not in the plan"),
        ("blur:mce>1", "one value per model"),
    ]:
        assert main(eval_args(plan, run_copy, "--fail-on", bad)) == 2, bad
        assert message in flat(capsys.readouterr().err)


def test_help_documents_exit_codes(capsys) -> None:
    for args in (["eval", "--help"], ["report", "--help"], ["--help"]):
        assert main(args) == 0
        out = " ".join(capsys.readouterr().out.split())
        assert "Exit codes" in out and "1 a --fail-on gate tripped" in out and "130" in out


# ---------------------------------------------------------------- 9. completion and 80 columns


def test_shell_completion(capsys) -> None:
    assert main(["completion", "bash"]) == 0  # the scripts in-process; the completion itself below
    assert "_robustlens_completion" in capsys.readouterr().out
    assert main(["completion", "zsh"]) == 0
    assert "_ROBUSTLENS_COMPLETE=complete_zsh" in capsys.readouterr().out
    assert main(["completion", "tcsh"]) == 2
    assert "Unknown shell" in flat(capsys.readouterr().err)
    env = {
        **ENV,
        "_ROBUSTLENS_COMPLETE": "complete_bash",
        "COMP_WORDS": "robustlens eval --fa",
        "COMP_CWORD": "2",
    }
    words = subprocess.run([ROBUSTLENS], env=env, capture_output=True, text=True, check=False, timeout=60)
    assert "--fail-on" in words.stdout.split()


def test_summary_is_readable_at_80_columns(run_copy: Path, plan: Path) -> None:
    proc = cli(*eval_args(plan, run_copy), env={**ENV, "COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    assert "…" not in proc.stdout
    assert all(len(line) <= 80 for line in proc.stdout.splitlines())
    for header in ("corruption", "sev", "accuracy", "acc. drop", "bal. acc", "lfp", "cosine", "ece"):
        assert header in proc.stdout
    assert "(1/" in proc.stdout  # the metrics are split over tables rather than squeezed
