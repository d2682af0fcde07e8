"""The chat and run a user expects: answers checked when given, back/help/edit, plain defaults, a plan
review before evaluation, brief.yaml that `robustlens run` reruns, checkpoints, `run --json` and
`--fail-on`, inputs checked before anything is created, literal text at 80 columns, Ctrl-C that says
how to resume. Chats are real `robustlens` processes driven through piped stdin; the checks that
refuse bad input before anything starts call the CLI's own ``main`` in-process (exit code and stderr
are all they concern; one process start each cost several seconds)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from robustlens.agent.interview import interview_step
from robustlens.agent.review import apply_review
from robustlens.schemas import CorruptionPlan, DomainBrief
from tests.fixtures import textile_folder

ENV = {
    **os.environ,
    "NO_ALBUMENTATIONS_UPDATE": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "COLUMNS": "80",
    "PYTHONUNBUFFERED": "1",
}
ENV.pop("ROBUSTLENS_LLM_MODEL", None)
ENV.pop("ROBUSTLENS_LLM_BASE_URL", None)
CLI = [sys.executable, "-m", "robustlens"]


def _cli(
    *args: str, stdin: str = "", cwd: Path | None = None, timeout: int = 300
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args], input=stdin, capture_output=True, text=True, env=ENV, timeout=timeout, cwd=cwd
    )


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return textile_folder(tmp_path_factory.mktemp("chat") / "im[/x]ages", per_class=2, broken=False)


# --------------------------------------------------------------------------- the whole chat, end to end


def test_chat_commands_review_and_brief_roundtrip(tmp_path: Path, images: Path) -> None:
    """The chat audits an open_clip model with a --checkpoint, so the rerun of its brief.yaml also
    shows that `robustlens run` loads the brief's checkpoints (one real `run` serves both)."""
    from tests.fixtures import tiny_checkpoint

    ckpt = tiny_checkpoint("rl-tiny-a", tmp_path / "a.pt", seed=1)
    run = tmp_path / "r[/x]un"
    replies = [
        "textile [/x] line",  # domain, with rich markup that must print literally
        "help",  # description: shows help and the commands
        "back",  # -> domain again, the old answer as default
        "",  # Enter keeps 'textile [/x] line'
        "weaving camera",  # description
        "",  # imaging setup
        "",  # deployment conditions: the default is none, not the literal "[]"
        "",  # image source: Enter takes --data
        "a, b",  # labels: 2 names for 3 class folders -> re-asked
        "",  # labels: Enter takes the folder names
        "demo:nope",  # reference model -> unknown demo model, re-asked
        "",  # reference model: none
        "99",  # max corruptions -> out of range, re-asked
        "edit domain",  # jump back to the domain
        "textile production line",
        "2",  # max corruptions (the question that was pending before the edit)
        "",  # severities: Enter takes the shown default 1, 2, 3, 4, 5
        "6",  # max images
        "",  # seed
        "drop nosuch",  # plan review
        "add snwo",  # a typo: did-you-mean (snow is no textile condition, so never planned here)
        "add snow",
        "drop snow",
        "severities 1,3",
        "",  # approve
    ]
    result = _cli(
        "chat", "--out", str(run), "--data", str(images), "-m", "openclip:rl-tiny-a",
        "--checkpoint", f"openclip:rl-tiny-a={ckpt}", "-j", "0", "--batch-size", "8",
        stdin="\n".join(replies) + "\n",
        cwd=tmp_path,
    )  # fmt: skip
    transcript = result.stdout
    (tmp_path / "transcript.txt").write_text(transcript)
    assert result.returncode == 0, transcript[-3000:] + result.stderr[-3000:]
    # rich wraps at 80 columns, long paths mid-word: compare with the line breaks taken out
    out = " ".join(transcript.split())
    unwrapped = transcript.replace("\n", "")
    assert "Traceback" not in result.stderr
    # markup in answers and paths prints literally
    assert "textile [/x] line" in out and f"[{images}]" in unwrapped
    assert "Report written:" in out and f"{run}/report/report.html" in unwrapped  # events, too
    # help, back, edit
    assert "Commands: 'back'" in out
    assert "[textile [/x] line]" in out  # the previous answer is the default after 'back'
    # answers checked when given, re-asked with the reason
    assert "2 class names given for 3 classes" in out
    assert "Unknown demo model 'demo:nope'" in out
    assert "99 is outside 1..64" in out
    # models came from --model: never asked
    assert "Which models should be audited?" not in out
    # plain defaults
    assert "[1, 2, 3, 4, 5]" in out and "[1.0, 2.0" not in out and "[[]]" not in out
    # plan review
    assert "No corruption named 'nosuch'" in out
    assert "Did you mean: snow" in out
    assert "Added snow." in out and "Dropped snow." in out
    assert "Severities: 1, 3." in out and "Plan approved" in out
    assert out.count("Corruption plan (") >= 5  # the table again after each review command
    # readable at 80 columns: nothing wider, nothing cut with an ellipsis
    # (piped stdin echoes no newline, so each "you: " prompt shares a line with what follows it)
    lines = transcript.splitlines()
    assert "…" not in transcript and max(len(line.replace("you: ", "")) for line in lines) <= 80

    brief = yaml.safe_load((run / "brief.yaml").read_text())
    assert brief["domain"] == "textile production line"
    assert brief["deployment_conditions"] == [] and brief["labels"] == ["global", "local", "nominal"]
    assert brief["models"] == ["openclip:rl-tiny-a"] and brief["reference_model"] is None
    assert brief["checkpoints"] == {"openclip:rl-tiny-a": str(ckpt)}
    assert brief["budget"]["severities"] == [1.0, 3.0] and brief["budget"]["max_images"] == 6
    assert brief["image_source"]["path"] == str(images.resolve())
    audit = json.loads((run / "result.json").read_text())
    assert audit["plan"]["severities"] == [1.0, 3.0] and len(audit["plan"]["specs"]) == 2

    # the saved brief reruns with `robustlens run` (with its checkpoint); --json is one document on
    # stdout; a gate trips (a real process: --json redirects stdout at the file-descriptor level)
    rerun = _cli(
        "run", str(run / "brief.yaml"), "--out", str(tmp_path / "rerun"), "-j", "0", "--json",
        "--fail-on", "accuracy_drop>-1",
        cwd=tmp_path,
    )  # fmt: skip
    assert rerun.returncode == 1, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    doc = json.loads(rerun.stdout)
    assert doc["models"] == ["openclip:rl-tiny-a"] and doc["severities"] == [1.0, 3.0]
    assert doc["ok"] is False and doc["gates"]["tripped"] and "gate tripped" in rerun.stderr
    assert Path(doc["report"]["html"]).is_file()
    assert "Corruption plan (2 corruptions;" in rerun.stderr and "…" not in rerun.stderr  # 80 columns
    manifest = json.loads((tmp_path / "rerun" / "manifest.json").read_text())
    assert manifest["brief"]["domain"] == "textile production line"
    assert manifest["identity"]["checkpoints"] == {"openclip:rl-tiny-a": str(ckpt)}  # the brief's


# --------------------------------------------------------------------------- Ctrl-C and resume


def test_ctrl_c_says_how_to_resume_and_resume_continues(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chat is a real process interrupted by SIGINT; the resume runs the CLI's ``main``
    in-process on a piped stdin (what it prints and its exit code are the point)."""
    import io

    from robustlens.cli import main

    run = tmp_path / "r[/x]un"
    proc = subprocess.Popen(
        [*CLI, "chat", "--out", str(run)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        cwd=tmp_path,
    )
    assert proc.stdin is not None
    proc.stdin.write("textile line\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 120
    while not (run / "agent.sqlite").exists() or not _asked_description(run):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    assert "kept in" in " ".join(err.split()) and f"robustlens chat --resume '{run}'" in err

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO("weaving camera\n"))
    capsys.readouterr()
    code = main(["chat", "--resume", str(run)])
    resumed = capsys.readouterr()
    said = " ".join(resumed.out.split())
    assert "Describe the task" in said  # the pending question, asked again
    assert "How are the images captured?" in said  # and the chat went on
    assert code == 1 and "Input ended" in resumed.err, resumed.out[-2000:] + resumed.err
    assert "Traceback" not in resumed.err


def _asked_description(run: Path) -> bool:
    """True once the checkpoint holds the second question (the first answer was taken)."""
    import sqlite3

    try:
        with sqlite3.connect(run / "agent.sqlite") as db:
            return (
                db.execute("select count(*) from writes").fetchone()[0] > 0 and _pending(run) == "description"
            )
    except sqlite3.Error:
        return False


def _pending(run: Path) -> str | None:
    from robustlens.agent.graph import THREAD, build_graph, sqlite_checkpointer
    from robustlens.agent.session import make_services

    graph = build_graph(make_services(run), sqlite_checkpointer(run))
    pending = graph.get_state(THREAD).values.get("pending") or {}
    return pending.get("field")


def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """The CLI in-process: exit code and stderr without panel borders and line wrapping."""
    from robustlens.cli import main

    code = main(list(args))
    err = capsys.readouterr().err
    return code, " ".join(err.replace("│", " ").split())


# --------------------------------------------------------------------------- inputs checked first


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing_images", "Dataset not found"),
        ("class_count", "2 class names given for 3 classes"),
        ("unknown_model", "Unknown demo model"),
        ("missing_checkpoint", "Checkpoint for demo:textile not found"),
        ("no_models", "names no model"),
        ("bad_gate", "Invalid --fail-on"),
        ("checkpoint_flag", "Checkpoint for demo:textile not found"),
    ],
)
def test_run_checks_inputs_before_creating_anything(
    tmp_path: Path, images: Path, case: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    brief = {
        "domain": "textile line",
        "labels": ["nominal", "local", "global"],
        "image_source": {"kind": "class_folders", "path": str(images)},
        "models": ["demo:textile"],
    }
    extra: list[str] = []
    if case == "missing_images":
        brief["image_source"]["path"] = str(tmp_path / "nowhere")  # type: ignore[index]
    elif case == "class_count":
        brief["labels"] = ["good", "bad"]
    elif case == "unknown_model":
        brief["models"] = ["demo:textil"]
    elif case == "missing_checkpoint":
        brief["checkpoints"] = {"demo:textile": str(tmp_path / "none.pt")}
    elif case == "no_models":
        brief["models"] = []
    elif case == "bad_gate":
        extra = ["--fail-on", "accuracy_drop>>1"]
    else:
        extra = ["--checkpoint", f"demo:textile={tmp_path / 'gone.pt'}"]
    path = tmp_path / "brief.yaml"
    path.write_text(yaml.safe_dump(brief))
    out = tmp_path / "out"
    code, err = _main(capsys, "run", str(path), "--out", str(out), *extra)
    assert code == 2 and message in err, err
    assert not out.exists()  # nothing that would block the corrected retry


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "/no/such/folder"], "Dataset not found"),
        (["-m", "demo:nope"], "Unknown demo model"),
        (["--checkpoint", "weights.pt"], "is not MODEL_ID=PATH"),
        (["-m", "demo:textile", "--checkpoint", "demo:textile=/no/such.pt"], "not found"),
        (["-j", "-1"], "--workers"),
    ],
)
def test_chat_flags_are_checked_before_the_chat_starts(
    tmp_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "chat"
    code, err = _main(capsys, "chat", "--out", str(out), *args)  # a chat that started would read stdin
    assert code == 2 and message in err, err
    assert not out.exists()


def test_resume_of_a_missing_chat_creates_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _main(capsys, "chat", "--resume", str(tmp_path / "nochat"))
    assert code == 2 and "No chat to resume" in err, err
    assert not (tmp_path / "nochat").exists()


def test_chat_checkpoint_flag_is_saved_in_the_brief(
    tmp_path: Path, images: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process chat (``main`` reading a piped stdin): the flag's way into brief.yaml is the point."""
    import io

    weights = tmp_path / "w.pt"
    from robustlens.models.demo import weights_path

    weights.write_bytes(weights_path().read_bytes())  # the demo honours --checkpoint: real weights
    run = tmp_path / "run"
    replies = ["textile line", "", "", "", "", "", "", "1", "", "", ""]  # Enter takes every default
    from robustlens.cli import main

    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(replies) + "\n"))
    code = main(
        ["chat", "--out", str(run), "--data", str(images), "-m", "demo:textile",
         "--checkpoint", f"demo:textile={weights}"]
    )  # fmt: skip
    said = capsys.readouterr()
    # stdin ends at the plan review: the chat pauses, and what it established is kept
    assert code == 1 and "Input ended" in said.err, said.out[-2000:] + said.err
    assert "Run this plan?" in said.out
    brief = yaml.safe_load((run / "brief.yaml").read_text())
    assert brief["checkpoints"] == {"demo:textile": str(weights)}
    assert brief["labels"] == ["global", "local", "nominal"] and brief["budget"]["max_corruptions"] == 1


# --------------------------------------------------------------------------- the questionnaire step by step


def _step(state: dict, reply: str, **kw: object) -> dict:
    return {**state, **interview_step({**state, "reply": reply}, **kw)}  # type: ignore[arg-type]


def test_answers_are_checked_against_the_disk(tmp_path: Path, images: Path) -> None:
    state = interview_step({})
    assert state["pending"]["field"] == "domain"
    state = _step(state, "back")
    assert "first question" in state["pending"]["notice"]
    state = _step(state, "edit domian")
    assert "Did you mean: domain?" in state["pending"]["notice"]
    state = _step(state, "edit seed")
    assert "not been asked yet" in state["pending"]["notice"]
    state = _step(state, "textile line")
    assert _step(state, "edit suite")["answers"]["description"] == "edit suite"  # an answer, not a command
    for reply in ("", "", "vibration"):
        state = _step(state, reply)
    assert state["pending"]["field"] == "image_source"
    state = _step(state, str(tmp_path / "missing"))
    assert "Dataset not found" in state["pending"]["error"]
    state = _step(state, "")  # no --data: the audit needs images
    assert "needs images" in state["pending"]["error"]
    flat = _step(state, "demo:natural")  # unlabelled images: 'none' is offered, names are refused
    assert flat["pending"]["default"] == "none"
    assert "has no classes" in _step(flat, "a, b")["pending"]["error"]
    state = _step(state, str(images))
    assert state["pending"]["field"] == "labels" and state["pending"]["default"] == "global, local, nominal"
    # folder names in another order are put in label order; mixed names are refused
    assert _step(state, "nominal, local, global")["answers"]["labels"] == ["global", "local", "nominal"]
    assert "are not: scratch" in _step(state, "global, nominal, scratch")["pending"]["error"]
    state = _step(state, "defect-free, small defect, large defect")
    ckpt = tmp_path / "w.pt"
    ckpt.write_bytes(b"weights")
    bad = _step(state, f"demo:textile={tmp_path / 'gone.pt'}")
    assert "Checkpoint for demo:textile not found" in bad["pending"]["error"]
    assert "MODEL_ID=PATH" in _step(state, "=x.pt")["pending"]["error"]
    state = _step(state, f"demo:textile={ckpt}")
    assert state["answers"]["checkpoints"] == {"demo:textile": str(ckpt)}
    # new images with two classes: the three class names no longer fit and are asked again
    two = tmp_path / "two"
    for cls in ("cat", "dog"):
        (two / cls).mkdir(parents=True)
        (two / cls / "a.png").write_bytes((images / "local").glob("*").__next__().read_bytes())
    state = _step(state, "edit image_source")
    state = _step(state, str(two))
    assert "no longer fit" in state["pending"]["notice"] and state["pending"]["field"] == "labels"
    assert state["pending"]["default"] == "cat, dog"
    state = _step(state, "")
    assert state["answers"]["labels"] == ["cat", "dog"]
    while state.get("pending"):
        state = _step(state, "", run_dir=tmp_path / "run")
    brief = yaml.safe_load((tmp_path / "run" / "brief.yaml").read_text())
    assert brief["checkpoints"] == {"demo:textile": str(ckpt)}
    assert brief["deployment_conditions"] == ["vibration"] and brief["image_source"]["path"] == str(two)


def test_models_from_the_command_line_are_never_asked() -> None:
    state = interview_step({}, models=["demo:textile"])
    for reply in ("textile line", "", "", "", "demo:textile", "none"):
        state = _step(state, reply, models=["demo:textile"])
    assert state["pending"]["field"] == "reference_model" and state["answers"]["models"] == ["demo:textile"]
    assert "--model" in _step(state, "edit models", models=["demo:textile"])["pending"]["notice"]
    state = _step(state, "back", models=["demo:textile"])  # skips the models question
    assert state["pending"]["field"] == "labels"


def test_plan_review_commands() -> None:
    plan = CorruptionPlan.model_validate(
        {
            "specs": [
                {"name": "fog", "recipe": [{"name": "fog"}]},
                {"name": "rain", "recipe": [{"name": "rain"}]},
            ],
            "severities": [1.0, 2.0],
        }
    )
    brief = DomainBrief.model_validate({"domain": "x", "budget": {"severities": [1.0, 2.0]}})
    assert apply_review(plan, brief, "")[3] and apply_review(plan, brief, "approve")[3]
    new, _, note, ok = apply_review(plan, brief, "drop fgo")
    assert new is plan and "Did you mean: fog?" in note and not ok
    new, _, note, _ = apply_review(plan, brief, "add snow")
    assert [s.name for s in new.specs] == ["fog", "rain", "snow"] and new.specs[2].recipe[0].ladder == {}
    assert "already in the plan" in apply_review(plan, brief, "add fog")[2]
    new, changed, note, _ = apply_review(plan, brief, "severities 1-3")
    assert new.severities == [1, 2, 3] and changed.budget.severities == [1, 2, 3]
    assert "outside 0..5" in apply_review(plan, brief, "severities 9")[2]
    one = plan.model_copy(update={"specs": plan.specs[:1]})
    assert "only corruption left" in apply_review(one, brief, "drop fog")[2]
    assert "Not a review command" in apply_review(plan, brief, "please run")[2]
