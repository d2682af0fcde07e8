"""OOD detection under corruption end to end: a real `robustlens eval --ood demo:natural` run of the
demo model on a handful of demo images, its stored section, report and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robustlens.cli import main
from robustlens.evaluation.ood import ood_section
from robustlens.evaluation.store import RunStore
from robustlens.report.context import build_context
from robustlens.report.html import render_html
from robustlens.report.markdown import render_markdown
from robustlens.schemas import AuditResult

PLAN = """
seed: 3
severities: [5]
specs:
  - name: blur
    rationale: defocus
    recipe: [{name: defocus_blur}]
"""


def _args(plan: Path, out: Path, *extra: str) -> list[str]:
    base = ["eval", "-p", str(plan), "-d", "demo:textile", "-m", "demo:textile", "-o", str(out), "-j", "0"]
    return [*base, "--max-images", "9", "--bootstrap", "50", *extra]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ood")
    (root / "plan.yaml").write_text(PLAN, encoding="utf-8")
    assert main(_args(root / "plan.yaml", root / "run", "--ood", "demo:natural")) == 0
    return root / "run"


def test_eval_prints_one_ood_sentence_per_model(run: Path, capsys) -> None:
    assert main(_args(run.parent / "plan.yaml", run, "--ood", "demo:natural")) == 0  # resumes: no work
    out = " ".join(capsys.readouterr().out.split())
    assert "OOD: demo:textile (MCM (max concept matching)) tells demo:natural from clean images" in out


def test_eval_with_ood_stores_the_section(run: Path) -> None:
    result = AuditResult.load(run / "result.json")
    section = result.summary["ood"]
    assert section["source"] == "demo:natural" and section["n_ood"] == 18
    scores = section["models"]["demo:textile"]
    assert set(scores) == {"mcm", "knn"}
    cells = {(c["corruption"], c["severity"]): c for c in scores["mcm"]["cells"]}
    assert set(cells) == {("clean", 0.0), ("blur", 5.0)}
    clean = cells[("clean", 0.0)]
    n = len(json.loads((run / "images.json").read_text())["images"])
    assert clean["n_id"] == n >= 6
    # the demo model knows textiles: natural photos match its fabric prompts worse than fabric does
    assert clean["auroc"]["value"] > 0.5
    for c in [*scores["mcm"]["cells"], *scores["knn"]["cells"]]:
        for m in ("auroc", "fpr95"):
            assert 0.0 <= c[m]["ci_low"] <= c[m]["value"] <= c[m]["ci_high"] <= 1.0
    assert scores["knn"]["n_bank"] + scores["knn"]["cells"][0]["n_id"] == n  # bank and ID query split
    assert len(json.loads((run / "ood" / "demo_textile.json").read_text())["ids"]) == 18
    # post hoc and deterministic: recomputed from the stored embeddings, the same section
    again = ood_section(
        RunStore(run), result.plan, ["demo:textile"], "demo:natural", section["fingerprint"], 50
    )
    assert again == json.loads(json.dumps(section))


def test_report_has_the_ood_section(run: Path) -> None:
    ctx = build_context(run)
    md = render_markdown(ctx)
    page = render_html(ctx)
    assert '<h2 id="ood">OOD detection under corruption</h2>' in page and 'href="#ood"' in page
    assert "## OOD detection under corruption" in md
    assert "demo:textile (MCM (max concept matching)) tells demo:natural from clean images" in md


def test_missing_ood_folder_is_a_clear_error_before_the_run(tmp_path: Path, capsys) -> None:
    (tmp_path / "plan.yaml").write_text(PLAN, encoding="utf-8")
    out = tmp_path / "run"
    assert main(_args(tmp_path / "plan.yaml", out, "--ood", str(tmp_path / "nowhere"))) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "OOD image set not found" in err and "Traceback" not in err
    assert not out.exists()


def test_brief_and_api_check_the_ood_set_before_anything_runs(tmp_path: Path) -> None:
    import robustlens
    from robustlens.audit import open_brief_images
    from robustlens.errors import UserInputError
    from robustlens.schemas import DomainBrief, ImageSource

    nowhere = str(tmp_path / "nowhere")
    brief = DomainBrief(domain="textile", image_source=ImageSource(kind="demo", path="textile"), ood=nowhere)
    with pytest.raises(UserInputError, match="OOD image set not found") as err:
        open_brief_images(brief)
    assert err.value.field == "ood"
    (tmp_path / "plan.yaml").write_text(PLAN, encoding="utf-8")
    with pytest.raises(UserInputError, match="OOD image set not found"):
        robustlens.evaluate(
            tmp_path / "plan.yaml", "demo:textile", "demo:textile", tmp_path / "run", ood=nowhere
        )
    assert not (tmp_path / "run").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserInputError, match=r"OOD image set .*No images found"):
        open_brief_images(brief.model_copy(update={"ood": str(empty)}))
