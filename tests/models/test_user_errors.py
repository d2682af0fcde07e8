"""User mistakes around models: bad checkpoints, devices this machine lacks. Each is a clear error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from robustlens.errors import UserInputError
from robustlens.models import load_model
from robustlens.models.base import pick_device
from tests.fixtures import PLAN_YAML, random_image, tiny_checkpoint


def _text(path: Path) -> Path:
    path.write_text("these are my notes, not weights\n")
    return path


def _truncated(path: Path) -> Path:
    full = tiny_checkpoint("rl-tiny-a", path.with_suffix(".full"))
    path.write_bytes(full.read_bytes()[:4000])
    return path


def _tensor(path: Path) -> Path:
    torch.save(torch.zeros(3), path)
    return path


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _other_arch(path: Path) -> Path:
    return tiny_checkpoint("rl-tiny-b", path)


def _foreign_safetensors(path: Path) -> Path:
    from safetensors.torch import save_file

    save_file({"classifier.weight": torch.zeros(2, 2)}, str(path.with_suffix(".safetensors")))
    return path.with_suffix(".safetensors")


BAD_CHECKPOINTS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "missing path": (lambda p: p, "no such file"),
    "a folder": (_folder, "it is a folder"),
    "an empty file": (_empty, "the file is empty"),
    "a text file": (_text, "is not a readable weights file"),
    "a truncated .pt": (_truncated, "is not a readable weights file"),
    "a pickled tensor": (_tensor, "holds a Tensor, not a state dict"),
    "weights of another architecture": (_other_arch, "of another architecture (12 unexpected keys"),
    "a safetensors of another model": (_foreign_safetensors, "missing keys, e.g."),
}


@pytest.mark.parametrize("case", list(BAD_CHECKPOINTS))
def test_bad_checkpoint_names_model_path_and_fix(case: str, tmp_path: Path) -> None:
    make, why = BAD_CHECKPOINTS[case]
    path = make(tmp_path / "weights.pt")
    with pytest.raises(UserInputError) as err:
        load_model("openclip:rl-tiny-a", checkpoint=path, device="cpu")
    message = err.value.message()
    assert "openclip:rl-tiny-a" in message and str(path) in message
    assert why in message, message
    assert err.value.fix and err.value.field == "checkpoint"


def test_checkpoint_with_an_id_that_names_its_own_weights(tmp_path: Path) -> None:
    ckpt = tiny_checkpoint("rl-tiny-a", tmp_path / "a.pt")
    with pytest.raises(UserInputError, match="cannot be combined"):
        load_model("openclip:hf-hub:org/name", checkpoint=ckpt, device="cpu")
    with pytest.raises(UserInputError, match="must be a folder saved with save_pretrained"):
        load_model("hf:org/name", checkpoint=ckpt, device="cpu")


def _cli(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, str]:
    """The CLI's ``main`` in-process: exit code and stderr without panel borders and line wrapping."""
    from robustlens.cli import main

    code = main(args)
    return code, " ".join(capsys.readouterr().err.replace("│", " ").split())


def test_bad_checkpoint_through_the_cli_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "plan.yaml").write_text(PLAN_YAML)
    notes = _text(tmp_path / "notes.pt")
    args = ["eval", "--plan", str(tmp_path / "plan.yaml"), "--data", "demo:natural"]
    args += ["--model", "openclip:rl-tiny-a", "--checkpoint", str(notes), "--out", str(tmp_path / "run")]
    code, err = _cli(capsys, [*args, "-j", "0"])
    assert code == 2, err
    assert "Cannot load checkpoint" in err and "not a readable weights file" in err


def _unavailable_devices() -> list[str]:
    """Devices this machine lacks, whatever machine runs the test."""
    names = ["banana", "cuda:-1", "meta", f"cuda:{torch.cuda.device_count() + 7}"]
    if not torch.cuda.is_available():
        names.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is None or not mps.is_available():
        names.append("mps")
    return names


@pytest.mark.parametrize("device", _unavailable_devices())
def test_unavailable_device_is_a_user_error(device: str) -> None:
    with pytest.raises(UserInputError) as err:
        pick_device(device)
    assert repr(device) in err.value.what
    assert "--device auto" in err.value.fix and "cpu" in err.value.fix
    assert err.value.field == "device"


@pytest.mark.parametrize("device", ["auto", "cpu", "CPU", " cpu "])
def test_available_devices_are_returned(device: str) -> None:
    assert pick_device(device).type in ("cpu", "cuda", "mps")


def test_unavailable_device_through_the_cli_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "plan.yaml").write_text(PLAN_YAML)
    args = [
        "eval",
        "--plan",
        str(tmp_path / "plan.yaml"),
        "--data",
        "demo:natural",
        "--model",
        "demo:textile",
    ]
    args += ["--out", str(tmp_path / "run"), "--device", "cuda:7", "-j", "0"]
    if torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    code, err = _cli(capsys, args)
    assert code == 2, err
    assert "'cuda:7'" in err and "--device auto" in err
    assert not (tmp_path / "run").exists(), "checked before the run folder is created: no debris"


def test_degenerate_weights_are_named_not_crashed_on(tmp_path: Path) -> None:
    """A checkpoint whose image projection is all zeros: a clear error naming the model, not NaN metrics."""
    state = torch.load(tiny_checkpoint("rl-tiny-a", tmp_path / "a.pt"), weights_only=True)
    state["visual.proj"] = torch.zeros_like(state["visual.proj"])
    torch.save(state, tmp_path / "zero.pt")
    model = load_model("openclip:rl-tiny-a", checkpoint=tmp_path / "zero.pt", device="cpu")
    assert model.encode_texts(["a cat"]).shape == (1, 64)  # the text tower is fine
    pixels = torch.stack([model.image_transform(random_image(i)) for i in range(2)])
    with pytest.raises(UserInputError, match=r"openclip:rl-tiny-a produced 2 zero or non-finite image"):
        model.encode_images(pixels)
