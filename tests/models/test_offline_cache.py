"""Weights that are not cached fail in seconds without HF_HUB_OFFLINE; cached ones load with no hub.

Every subprocess here runs with HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE removed (a user's shell),
HF_HOME pointing at a temporary cache, and HF_ENDPOINT at a closed local port, so "the hub is
unreachable" is real and the same on every machine (no test ever downloads).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

SNAPSHOT = "0123456789abcdef0123456789abcdef01234567"
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: connection refused at once


def user_env(hf_home: Path, columns: int = 400) -> dict[str, str]:
    drop = {"HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(HF_HOME=str(hf_home), HF_ENDPOINT=UNREACHABLE, COLUMNS=str(columns), NO_COLOR="1")
    return env


def run_cli(args: list[str], env: dict[str, str], timeout: float = 90) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess; the timeout is a bound only a hang reaches."""
    return subprocess.run(
        [sys.executable, "-m", "robustlens", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


@pytest.fixture(scope="module")
def fake_hf_home(tmp_path_factory: pytest.TempPathFactory, tiny_hf: Callable[[str], Path]) -> Path:
    """An HF cache laid out as huggingface_hub writes it, holding the tiny CLIP as rl-test/tiny-clip."""
    home = tmp_path_factory.mktemp("hf-home")
    repo = home / "hub" / "models--rl-test--tiny-clip"
    shutil.copytree(tiny_hf("clip"), repo / "snapshots" / SNAPSHOT)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(SNAPSHOT)
    _cache_tiny_open_clip(home / "hub" / "models--rl-test--tiny-oc")
    return home


def _cache_tiny_open_clip(repo: Path) -> None:
    """An open_clip hub model (open_clip_config.json + safetensors) of the bundled rl-tiny-a."""
    from importlib.resources import files

    from safetensors.torch import save_file

    from robustlens.models.openclip import _open_clip

    snapshot = repo / "snapshots" / SNAPSHOT
    snapshot.mkdir(parents=True)
    model = _open_clip().create_model("rl-tiny-a")
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()}, snapshot / "open_clip_model.safetensors"
    )
    model_cfg = json.loads((files("robustlens.models") / "configs" / "rl-tiny-a.json").read_text())
    (snapshot / "open_clip_config.json").write_text(
        json.dumps({"model_cfg": model_cfg, "preprocess_cfg": {}})
    )
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(SNAPSHOT)


@pytest.mark.parametrize("model_id", ["hf:org/name", "openclip:ViT-B-32/laion2b_s34b_b79k"])
def test_uncached_weights_fail_fast_without_offline_env(model_id: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty-hf-home"
    plan = tmp_path / "plan.yaml"
    plan.write_text("specs: [{name: n, recipe: [{name: gaussian_noise}]}]\n")
    args = ["eval", "--plan", str(plan), "--data", "demo:natural", "--model", model_id]
    result = run_cli([*args, "--out", str(tmp_path / "run"), "-j", "0"], user_env(empty))
    err = " ".join(result.stderr.replace("│", " ").split())
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"The weights of {model_id} are not available here" in err
    assert f"not in the local cache ({empty / 'hub'})" in err, err
    assert "HF_HOME" in err and "--checkpoint" in err and "hf:/path/to/saved_model" in err


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("hf:rl-test/tiny-clip", f"hub:rl-test/tiny-clip@{SNAPSHOT} 16 (1, 16)"),
        ("openclip:hf-hub:rl-test/tiny-oc", "hf-hub:rl-test/tiny-oc 64 (1, 64)"),
    ],
)
def test_cached_weights_load_with_the_hub_unreachable(
    model_id: str, expected: str, fake_hf_home: Path
) -> None:
    code = (
        "from robustlens.models import load_model\n"
        f"m = load_model({model_id!r}, device='cpu')\n"
        "print(m.weights, m.embed_dim, m.encode_texts(['a cat']).shape)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=user_env(fake_hf_home), timeout=90
    )
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
    assert "Retrying" not in result.stderr, "the unreachable hub must not be retried for cached weights"


def test_models_list_cached_json_and_80_columns(
    fake_hf_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`models list --cached` through the CLI entry point, with the HF cache pointed at the fake one."""
    from huggingface_hub import constants
    from rich.console import Console

    from robustlens.cli import models as models_cli
    from robustlens.cli.app import main

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(fake_hf_home / "hub"))
    assert main(["models", "list", "--cached", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    entries = {m["id"]: m for m in payload["models"]}
    assert set(entries) == {
        "hf:rl-test/tiny-clip",
        "openclip:hf-hub:rl-test/tiny-oc",
        "demo:textile",
        "demo:textile-robust",
    }
    assert all(m["cached"] for m in entries.values())
    assert entries["hf:rl-test/tiny-clip"]["prefix"] == "hf"
    assert payload["cache_locations"]["huggingface"] == str(fake_hf_home / "hub")

    monkeypatch.setattr(models_cli, "console", Console(width=80, no_color=True))
    assert main(["models", "list", "--cached"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "  hf:rl-test/tiny-clip" in lines and "  demo:textile" in lines
    assert "  openclip:hf-hub:rl-test/tiny-oc" in lines
    assert not any("openclip:ViT-B-32/laion2b_s34b_b79k" in line for line in lines)
    assert max(len(line) for line in lines) <= 80, lines


def test_models_list_json_lists_every_known_id(capsys: pytest.CaptureFixture[str]) -> None:
    from robustlens.cli.app import main

    assert main(["models", "list", "--json"]) == 0
    entries = {m["id"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    assert entries["openclip:ViT-B-32/laion2b_s34b_b79k"]["prefix"] == "openclip"
    assert entries["hf:google/siglip-base-patch16-224"]["description"].startswith("Hugging Face")
    assert entries["demo:textile"]["cached"] is True
    assert {"id", "prefix", "description", "cached"} == set(entries["demo:textile"])


def test_models_list_plain_text_and_bad_prefix(capsys: pytest.CaptureFixture[str]) -> None:
    from robustlens.cli.app import main

    assert main(["models", "list", "--prefix", "demo"]) == 0
    out = capsys.readouterr().out
    assert "demo:textile" in out and "openclip:" not in out
    assert main(["models", "list", "--prefix", "hff"]) == 2
    assert "Did you mean: hf?" in capsys.readouterr().err
