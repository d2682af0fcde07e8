"""The README's example briefs and plans reach pip users: shipped in the package (identical to
``examples/``, so they never drift), listed and written by the real ``robustlens examples`` command
(through the CLI's ``main``, in-process), and valid for the loaders ``run``, ``eval`` and ``corrupt`` use."""

from __future__ import annotations

import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from robustlens.cli import main
from robustlens.examples import example_files
from robustlens.schemas import DomainBrief
from robustlens.userfiles import load_model, load_specs

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def run_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """The real command through the CLI's ``main``, in-process (what a process would return, stderr
    without panel borders and line wrapping); ``cwd`` runs it from that folder."""

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        with monkeypatch.context() as m:
            if cwd is not None:
                m.chdir(cwd)
            capsys.readouterr()
            code = main(list(args))
            out = capsys.readouterr()
        err = " ".join(out.err.replace("│", " ").split())
        return subprocess.CompletedProcess(list(args), code, out.out, err)

    return run


def test_packaged_examples_are_identical_to_the_repository_examples() -> None:
    # One source: the repository's examples/ is a link to the packaged folder, so the two cannot drift.
    assert (REPO / "examples").resolve() == (REPO / "robustlens" / "examples").resolve()
    repo = {
        p.relative_to(REPO / "examples").as_posix(): p.read_bytes()
        for p in (REPO / "examples").rglob("*.y*ml")
    }
    shipped = {name: res.read_bytes() for name, res in example_files().items()}
    assert repo, "examples/ has files"
    assert shipped.keys() == repo.keys(), "copy examples/ into robustlens/examples/ (same tree)"
    stale = [name for name in repo if shipped[name] != repo[name]]
    assert not stale, f"robustlens/examples/ differs from examples/ for {stale}: copy them over"


def test_examples_are_package_data() -> None:
    data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert {"examples/*.yaml", "examples/plans/*.yaml", "py.typed"} <= set(data["robustlens"])


def test_list_then_write_and_load_every_example(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    listed = run_cli("examples")
    assert listed.returncode == 0, listed.stderr
    for name in example_files():
        assert name in listed.stdout

    done = run_cli("examples", "--out", "examples", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "examples"
    names = example_files()
    assert {p.relative_to(out).as_posix() for p in out.rglob("*.yaml")} == set(names)
    for name in names:
        if name.startswith("plans/"):
            specs, plan = load_specs(out / name)
            assert plan is not None and specs
        else:
            brief = load_model(DomainBrief, out / name)
            assert brief.domain and brief.models
    assert "robustlens run" in done.stdout
    # the README's first command now works from that folder (up to the point of running)
    helped = run_cli("run", "examples/textile_line.yaml", "--help", cwd=tmp_path)
    assert helped.returncode == 0


def test_write_never_overwrites_edits_without_force(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    out = tmp_path / "ex"  # named relative to tmp_path: a short path, so no file name is cut at 80 columns
    assert run_cli("examples", "--out", "ex", cwd=tmp_path).returncode == 0
    edited = out / "textile_line.yaml"
    edited.write_text("# my edits\n" + edited.read_text())
    again = run_cli("examples", "--out", "ex", cwd=tmp_path)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "--force" in again.stderr and "textile_line.yaml" in again.stderr
    assert edited.read_text().startswith("# my edits"), "the user's edit is kept"
    forced = run_cli("examples", "--out", "ex", "--force", cwd=tmp_path)
    assert forced.returncode == 0
    assert edited.read_bytes() == example_files()["textile_line.yaml"].read_bytes()


def test_out_that_is_a_file_is_a_clear_error(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    target = tmp_path / "file.txt"
    target.write_text("not a folder")
    result = run_cli("examples", "--out", str(target))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "is a file" in result.stderr
    assert target.read_text() == "not a folder"
