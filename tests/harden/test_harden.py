"""``robustlens harden`` on a tiny open_clip model: the objective lowers DR on held-out images, resume is
exact, the hardened weights load with --checkpoint, bad input is a clear error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from robustlens.api import load_plan
from robustlens.data.sources import open_images
from robustlens.errors import UserInputError
from robustlens.evaluation.engine_options import EngineOptions
from robustlens.harden.compare import compare, comparison_plan
from robustlens.harden.train import CHECKPOINT, HARDENED, HardenConfig, harden
from robustlens.models import load_model
from tests.fixtures import textile_folder, tiny_checkpoint

ARCH = "rl-tiny-a"
TRAIN_PLAN = """
seed: 3
severities: [3, 5]
specs:
  - {name: blur, rationale: defocus, recipe: [{name: defocus_blur}]}
"""
TEST_PLAN = """
seed: 3
severities: [3, 5]
specs:
  - {name: fog, rationale: held-out corruption, recipe: [{name: fog}]}
"""
# Clean zero-shot accuracy may move by at most this much (the anchor term's job); on the test's
# 12 held-out images one image is 0.083.
CLEAN_ACCURACY_MARGIN = 0.25


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 64 px tiny ViT: thread hand-offs cost more than the maths
    root = tmp_path_factory.mktemp("harden")
    data = textile_folder(root / "data", per_class=8, broken=False)
    base = tiny_checkpoint(ARCH, root / "base.pt", seed=1)
    (root / "train.yaml").write_text(TRAIN_PLAN)
    (root / "test.yaml").write_text(TEST_PLAN)
    yield {"root": root, "data": data, "base": base}
    torch.set_num_threads(threads)


def _config(base: Path, steps: int, lr: float = 1e-3) -> HardenConfig:
    return HardenConfig(
        model=f"openclip:{ARCH}",
        checkpoint=str(base),
        steps=steps,
        batch_size=8,
        lr=lr,
        seed=0,
        holdout_fraction=0.5,
        checkpoint_every=2,
        device="cpu",
    )


def _run(setup: dict, out: Path, steps: int, **kw: object):
    images = open_images(setup["data"])
    model = load_model(f"openclip:{ARCH}", setup["base"], "cpu")
    plan = load_plan(setup["root"] / "train.yaml")
    return harden(_config(setup["base"], steps), model, images, plan, out, **kw), images, plan


def test_hardening_lowers_dr_on_held_out_images_and_keeps_clean_accuracy(setup: dict) -> None:
    out = setup["root"] / "lowers"
    run, images, plan = _run(setup, out, steps=10)
    table = compare(
        f"openclip:{ARCH}",
        str(setup["base"]),
        out / HARDENED,
        images,
        run.held_out,
        comparison_plan(plan, load_plan(setup["root"] / "test.yaml")),
        ["blur"],
        out,
        options=EngineOptions(device="cpu", workers=0),
        n_boot=500,
    )
    rows = {(r["metric"], r["spec"], r["severity"]): r for r in table["rows"]}
    dr = rows[("divergence_radius", "blur", None)]
    assert dr["kind"] == "trained" and dr["ci_high"] < 0, dr  # paired interval excludes 0
    assert rows[("divergence_radius", "fog", None)]["kind"] == "held-out"
    assert abs(rows[("clean_accuracy", None, None)]["diff"]) <= CLEAN_ACCURACY_MARGIN
    assert {s for _, s, _ in rows} == {None, "blur", "fog"}
    assert (out / "comparison.md").read_text().count("\n|") >= len(table["rows"])


def test_resume_after_interruption_gives_the_same_weights(setup: dict) -> None:
    whole, _, _ = _run(setup, setup["root"] / "whole", steps=5)

    def stop(step: int, _: object) -> None:
        if step == 3:
            raise KeyboardInterrupt

    cut = setup["root"] / "cut"
    with pytest.raises(KeyboardInterrupt):
        _run(setup, cut, steps=5, on_step=stop)
    assert torch.load(cut / CHECKPOINT, weights_only=True)["step"] == 3 and not (cut / HARDENED).exists()
    resumed, _, _ = _run(setup, cut, steps=5)
    assert resumed.resumed_from == 3 and len(resumed.history) == 5
    a = torch.load(setup["root"] / "whole" / HARDENED, weights_only=True)
    b = torch.load(cut / HARDENED, weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert [h["total"] for h in resumed.history] == [h["total"] for h in whole.history]


def test_hardened_checkpoint_loads_with_checkpoint_flag(setup: dict) -> None:
    out = setup["root"] / "whole"
    if not (out / HARDENED).exists():
        _run(setup, out, steps=5)
    base = load_model(f"openclip:{ARCH}", setup["base"], "cpu")
    hardened = load_model(f"openclip:{ARCH}", out / HARDENED, "cpu")
    assert hardened.weights.startswith("checkpoint:") and hardened.weights != base.weights
    pixels = torch.rand(2, 3, 64, 64)
    assert not (hardened.encode_images(pixels) == base.encode_images(pixels)).all()


def test_a_checkpoint_from_other_settings_is_refused(setup: dict) -> None:
    out = setup["root"] / "other"
    _run(setup, out, steps=1)
    images = open_images(setup["data"])
    model = load_model(f"openclip:{ARCH}", setup["base"], "cpu")
    plan = load_plan(setup["root"] / "train.yaml")
    with pytest.raises(UserInputError, match=r"other settings .*lr"):
        harden(_config(setup["base"], 2, lr=0.5), model, images, plan, out)


def _cli(setup: dict, data: Path, out: Path, *extra: str) -> list[str]:
    """`robustlens harden` on the tiny base model with the training plan, on CPU, plus ``extra``."""
    base = ["harden", "--model", f"openclip:{ARCH}", "--checkpoint", str(setup["base"]), "--data", str(data)]
    return [*base, "--plan", str(setup["root"] / "train.yaml"), "--out", str(out), "--device", "cpu", *extra]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--holdout-fraction", "1.5"], "holdout-fraction"),
        (["--steps", "0"], "--steps 0"),
        (["--plan", "missing.yaml"], "missing.yaml"),
    ],
)
def test_bad_input_is_a_clear_error(
    setup: dict, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from robustlens.cli import main

    argv = _cli(setup, setup["data"], setup["root"] / "bad", *args)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_bad_compare_plan_fails_before_training(setup: dict, capsys: pytest.CaptureFixture[str]) -> None:
    from robustlens.cli import main

    bad = setup["root"] / "bad-compare.yaml"
    bad.write_text(TEST_PLAN.replace("name: fog}", "name: jpeg_compression}"))
    out = setup["root"] / "bad-compare"
    argv = _cli(setup, setup["data"], out, "--compare", str(bad))
    assert main(argv) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "Unknown corruption primitive 'jpeg_compression'" in err and "Traceback" not in err
    assert not (out / CHECKPOINT).exists()  # nothing trained


def test_demo_model_loads_a_hardened_checkpoint(tmp_path: Path) -> None:
    """`demo:textile --checkpoint OUT/hardened.pt` (the README example) uses the file's weights."""
    from safetensors.torch import load_file

    from robustlens.models.demo import weights_path

    state = load_file(str(weights_path("textile")))  # the shipped weights, one tensor changed
    name = next(k for k in state if k.startswith("visual.") and state[k].is_floating_point())
    state[name] = state[name] * 0.5
    torch.save(state, tmp_path / HARDENED)
    loaded = load_model("demo:textile", tmp_path / HARDENED, "cpu")
    assert loaded.weights.startswith("checkpoint:") and loaded.id == "demo:textile"
    assert torch.equal(loaded.model.state_dict()[name].cpu(), state[name])
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(UserInputError, match="the file is empty"):
        load_model("demo:textile", tmp_path / "empty.pt", "cpu")


def test_cli_trains_writes_the_card_and_the_paired_table(
    setup: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command end to end: an unreadable file is skipped and named, card + comparison written."""
    import json

    from robustlens.cli import main

    data = textile_folder(setup["root"] / "cli-data", per_class=4, broken=True)
    out = setup["root"] / "cli"
    argv = _cli(setup, data, out, "--compare", str(setup["root"] / "test.yaml"), "--steps", "2")
    argv += ["--holdout-fraction", "0.5"]
    assert main(argv) == 0
    card = json.loads((out / "card.json").read_text())
    assert card["data"]["skipped_unreadable"].keys() == {"global/zz_broken.jpg"}
    assert len(card["data"]["train_ids"]) == len(card["data"]["held_out_ids"]) == 6
    assert not set(card["data"]["train_ids"]) & set(card["data"]["held_out_ids"])
    assert card["steps_done"] == 2 and card["load_with"].endswith(str(out / HARDENED))
    table = json.loads((out / "comparison.json").read_text())
    assert table["n_images"] == 6 and {r["spec"] for r in table["rows"]} == {None, "blur", "fog"}
    assert "Divergence Radius" in capsys.readouterr().out


def test_reload_id_drops_only_an_openclip_tag() -> None:
    """hardened.pt of openclip:ARCH/TAG loads as openclip:ARCH --checkpoint (a tag refuses a checkpoint)."""
    from robustlens.harden.train import reload_id

    assert reload_id("openclip:ViT-B-32/laion2b_s34b_b79k") == "openclip:ViT-B-32"
    assert reload_id("openclip:rl-tiny-a") == "openclip:rl-tiny-a"
    assert reload_id("demo:textile") == "demo:textile"
