"""The corruption commands, driven through the real CLI entry point."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from robustlens.cli import main
from robustlens.corruptions import FAMILIES, REGISTRY
from robustlens.data.images import load_image

PLAN = """
seed: 3
severities: [1, 5]
specs:
  - name: noisy
    rationale: sensor noise
    recipe: [{name: gaussian_noise}]
  - name: salt
    recipe: [{name: impulse_noise, params: {}}]
"""


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "robustlens", *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.fixture
def image_tree(tmp_path: Path, astronaut: np.ndarray) -> Path:
    root = tmp_path / "in"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.roll(astronaut, i * 17, axis=1)[:96, :128]).save(root / cls / f"{i}.jpg")
    (root / "b" / "broken.jpg").write_bytes(b"not really a jpeg")
    (root / "notes.txt").write_text("ignored")
    return root


def test_list_json_covers_all_families(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["corruptions", "list", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert len(items) >= 40
    assert {i["family"] for i in items} == set(FAMILIES)
    assert all(i["summary"] and i["params"] for i in items)


def test_list_by_family(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["corruptions", "list", "--family", "noise", "--json"]) == 0
    assert {i["family"] for i in json.loads(capsys.readouterr().out)} == {"noise"}


def test_show_prints_ladder(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["corruptions", "show", "gaussian_noise", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["params"]["sigma"]["severity_ladder"] == [0.0, 0.08, 0.12, 0.18, 0.26, 0.38]


def test_wrong_name_exits_2_with_suggestion_and_no_traceback() -> None:
    result = run_cli("corruptions", "show", "gausian_noise")
    assert result.returncode == 2
    assert "gaussian_noise" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_wrong_family_exits_2() -> None:
    result = run_cli("corruptions", "list", "--family", "weathr")
    assert result.returncode == 2 and "weather" in result.stderr


def test_preview_writes_grid(tmp_path: Path, image_tree: Path) -> None:
    out = tmp_path / "g.png"
    assert (
        main(
            [
                "corruptions",
                "preview",
                "fog",
                "--image",
                str(image_tree / "a" / "0.jpg"),
                "--out",
                str(out),
                "--cell",
                "64",
            ]
        )
        == 0
    )
    grid = load_image(out)
    assert grid.shape[1] > 6 * 64 and grid.shape[0] >= 64
    tiles = [grid[30:90, 4 + 8 + i * 72 : 4 + 8 + i * 72 + 60] for i in range(6)]
    assert not np.array_equal(tiles[0], tiles[5])


def test_preview_of_a_plan_has_a_row_per_spec(tmp_path: Path, image_tree: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    out = tmp_path / "g.png"
    assert (
        main(
            [
                "corruptions",
                "preview",
                str(plan),
                "--image",
                str(image_tree / "a" / "0.jpg"),
                "--out",
                str(out),
                "--cell",
                "64",
            ]
        )
        == 0
    )
    one = tmp_path / "one.png"
    main(
        [
            "corruptions",
            "preview",
            "fog",
            "--image",
            str(image_tree / "a" / "0.jpg"),
            "--out",
            str(one),
            "--cell",
            "64",
        ]
    )
    assert load_image(out).shape[0] > load_image(one).shape[0] * 1.5


def test_corrupt_mirrors_tree_records_skips_and_resumes(tmp_path: Path, image_tree: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    out = tmp_path / "out"
    args = [
        "corrupt",
        "--plan",
        str(plan),
        "--input",
        str(image_tree),
        "--output",
        str(out),
        "--severities",
        "1-5",
    ]
    assert main(args) == 0
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert len(files) == 2 * 5 * 4
    assert "noisy/s5/a/0.png" in files and "salt/s1/b/1.png" in files
    skipped = json.loads((out / "skipped.json").read_text())
    assert [s["path"] for s in skipped] == ["b/broken.jpg"]
    first = (out / "noisy" / "s3" / "a" / "1.png").read_bytes()
    (out / "noisy" / "s3" / "a" / "1.png").unlink()
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert "1 written" in result.stdout
    assert (out / "noisy" / "s3" / "a" / "1.png").read_bytes() == first


def test_corrupt_piped_prints_progress_lines_and_writes_lossless_pngs(
    tmp_path: Path, image_tree: Path
) -> None:
    """With stdout a pipe (CI, `| tee`) rich draws no bar, so plain lines say the work's start and end;
    the fast PNG level (save_image) is still lossless: every copy decodes to exactly the pixels the
    corruption made from its source with its seed."""
    from robustlens.corruptions import compile_spec
    from robustlens.corruptions.seeding import corruption_seed
    from robustlens.schemas import CorruptionPlan

    plan_path = tmp_path / "plan.yaml"
    plan_path.write_text(PLAN)
    out = tmp_path / "out"
    result = run_cli("corrupt", "-p", str(plan_path), "-i", str(image_tree), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "[corrupt] 0/20 copies" in result.stdout  # 5 image files x 2 specs x 2 severities
    assert re.search(r"\[corrupt\] 20/20 copies, \d+ min \d\d s elapsed \(done\)", result.stdout)
    plan = CorruptionPlan.from_yaml(PLAN)
    for spec in plan.specs:
        fn = compile_spec(spec)
        for sev in plan.severities:
            for rel in ("a/0.jpg", "a/1.jpg", "b/0.jpg", "b/1.jpg"):
                made = fn(load_image(image_tree / rel), float(sev), corruption_seed(3, rel, spec.name, sev))
                copy = out / spec.name / f"s{sev:g}" / Path(rel).with_suffix(".png")
                assert np.array_equal(load_image(copy), made), copy


def test_corrupt_with_workers_matches_serial(tmp_path: Path, image_tree: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    main(["corrupt", "--plan", str(plan), "--input", str(image_tree), "--output", str(tmp_path / "s")])
    main(
        [
            "corrupt",
            "--plan",
            str(plan),
            "--input",
            str(image_tree),
            "--output",
            str(tmp_path / "p"),
            "-j",
            "2",
        ]
    )
    for f in (tmp_path / "s").rglob("*.png"):
        assert f.read_bytes() == (tmp_path / "p" / f.relative_to(tmp_path / "s")).read_bytes()


def test_invalid_plan_names_the_field(tmp_path: Path, image_tree: Path) -> None:
    plan = tmp_path / "bad.yaml"
    plan.write_text(
        "specs:\n  - name: x\n    recipe: [{name: gaussian_noise, ladder: {sigma: [1,2,3,4,9]}}]\n"
    )
    result = run_cli(
        "corrupt", "--plan", str(plan), "--input", str(image_tree), "--output", str(tmp_path / "o")
    )
    assert result.returncode == 2
    assert "sigma" in result.stderr and "Traceback" not in result.stderr


def test_bad_severities_exit_2(tmp_path: Path, image_tree: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    assert (
        main(
            [
                "corrupt",
                "--plan",
                str(plan),
                "--input",
                str(image_tree),
                "--output",
                str(tmp_path / "o"),
                "--severities",
                "2-9",
            ]
        )
        == 2
    )


def test_unknown_command_and_missing_option_exit_2_without_traceback() -> None:
    for args in (["no-such-command"], ["eval", "--plan", "x.yaml"]):
        result = run_cli(*args)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr + result.stdout
        assert "Error" in result.stderr + result.stdout


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert "robustlens" in capsys.readouterr().out
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("run", "chat", "eval", "corrupt", "corruptions", "report", "demo", "models", "evals"):
        assert command in out


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_show_json_gives_numeric_ranges_and_simple_types(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every parameter of every primitive: a plain type name and either numeric min/max, choices or bool."""
    assert main(["corruptions", "show", name, "--json"]) == 0
    text = capsys.readouterr().out
    assert "Annotated" not in text and "FieldInfo" not in text and "typing." not in text
    params = json.loads(text)["params"]
    assert params, name
    for pname, p in params.items():
        where = f"{name}.{pname}"
        assert re.fullmatch(r"(float|int|bool|choice|tuple of (float|int))", p["type"]), where
        if p["type"] == "choice":
            assert p["choices"] and p["default"] in p["choices"], where
        elif p["type"] == "bool":
            assert isinstance(p["default"], bool), where
        else:
            r = p["range"]
            assert isinstance(r["min"], int | float) and isinstance(r["max"], int | float), where
            assert r["min"] <= r["max"], where
            values = p["default"] if p["type"].startswith("tuple") else [p["default"]]
            assert all(r["min"] <= v <= r["max"] for v in values), where
            if p["type"].startswith("tuple"):
                assert p["length"] == len(p["default"]), where


def test_list_and_show_fit_80_columns_with_numeric_ranges() -> None:
    """One subprocess at COLUMNS=80: `corruptions list` and `show` of every primitive stay within 80
    columns, and the human-readable ranges are numbers, not pydantic annotations."""
    script = (
        "import sys\n"
        "from robustlens.cli import main\n"
        "from robustlens.corruptions import REGISTRY\n"
        "assert main(['corruptions', 'list']) == 0\n"
        "for n in sorted(REGISTRY):\n"
        "    assert main(['corruptions', 'show', n]) == 0, n\n"
    )
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "COLUMNS": "80", "TERM": "dumb"}
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Annotated" not in out and "FieldInfo" not in out
    too_wide = [line for line in out.splitlines() if len(line) > 80]
    assert not too_wide, too_wide[:3]
    assert "3 x 0 .. 1" in out  # fog's RGB colour: three values, each in 0..1
    assert "pincushion |" in out  # lens_distortion's choices, not a Literal[...]
