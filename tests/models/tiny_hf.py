"""Tiny random CLIP, SigLIP and ALIGN models saved with ``save_pretrained``, built from installed packages
(and image-only DINOv2 / timm ViT models).

Each folder holds what a real hub model holds (config, safetensors weights, tokenizer, image
processor), so ``hf:/that/folder`` goes through exactly the code a downloaded model does. Nothing is
downloaded: CLIP reuses open_clip's bundled BPE vocabulary, SigLIP gets a tiny SentencePiece-style
Unigram tokenizer trained here with ``tokenizers``, ALIGN a small BERT WordPiece ``vocab.txt``.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest
import torch

WORDS = [
    *[
        "a",
        "photo",
        "of",
        "the",
        "an",
        "image",
        "picture",
        "cat",
        "dog",
        "fabric",
        "textile",
        "torn",
        "shirt",
        "hole",
        "stain",
    ],
    *["clean", "defect", "global", "local", "thread", "color", "cut", "good", "bad", "class"],
]
TEXT = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
VISION = {**TEXT, "image_size": 32, "patch_size": 8}


def tiny_clip(folder: Path) -> Path:
    """A real transformers CLIP model with random weights and a real CLIP BPE tokenizer."""
    transformers = pytest.importorskip("transformers")
    import open_clip.tokenizer as oct

    simple = oct.SimpleTokenizer()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(simple.encoder))
    with gzip.open(oct.default_bpe()) as fh:
        bpe = fh.read().decode("utf-8").split("\n")[1 : 49152 - 256 - 2 + 1]
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(bpe) + "\n")
    sot, eot = simple.decoder[simple.sot_token_id], simple.decoder[simple.eot_token_id]
    tokenizer = transformers.CLIPTokenizer(
        str(folder / "vocab.json"),
        str(folder / "merges.txt"),
        bos_token=sot,
        eos_token=eot,
        pad_token=eot,
        unk_token=eot,
    )
    config = transformers.CLIPConfig(
        text_config={
            **TEXT,
            "vocab_size": len(simple.encoder),
            "max_position_embeddings": 77,
            "bos_token_id": simple.sot_token_id,
            "eos_token_id": simple.eot_token_id,
        },
        vision_config=VISION,
        projection_dim=16,
    )
    torch.manual_seed(0)
    transformers.CLIPModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    transformers.CLIPImageProcessor(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    ).save_pretrained(folder)
    return folder


def tiny_siglip(folder: Path) -> Path:
    """A SigLIP with a locally trained Unigram (SentencePiece-style) tokenizer; text length 16."""
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=200, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>"
    )
    tok.train_from_iterator([" ".join(WORDS)] * 10 + WORDS, trainer)
    eos = tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", eos)])
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", model_max_length=16
    )
    config = transformers.SiglipConfig(
        text_config={
            **TEXT,
            "vocab_size": tok.get_vocab_size(),
            "max_position_embeddings": 16,
            "pad_token_id": 0,
            "bos_token_id": None,
            "eos_token_id": eos,
        },
        vision_config=VISION,
    )
    torch.manual_seed(1)
    model = transformers.SiglipModel(config)
    with torch.no_grad():  # SigLIP's published initialisation: t' = log 10, b = -10
        model.logit_scale.fill_(math.log(10.0))
        model.logit_bias.fill_(-10.0)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    transformers.SiglipImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def tiny_align(folder: Path) -> Path:
    """An ALIGN (EfficientNet image tower, BERT text tower) with a small WordPiece vocab.txt."""
    transformers = pytest.importorskip("transformers")
    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *"abcdefghijklmnopqrstuvwxyz.,"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = transformers.BertTokenizer(str(folder / "vocab.txt"), model_max_length=16)
    config = transformers.AlignConfig(
        text_config={**TEXT, "vocab_size": len(vocab), "max_position_embeddings": 16},
        vision_config={
            "image_size": 32,
            "width_coefficient": 0.1,
            "depth_coefficient": 0.1,
            "hidden_dim": 64,
            "num_hidden_layers": 1,
        },
        projection_dim=32,  # = the vision tower's output width at width_coefficient 0.1
        temperature_init_value=0.05,
    )
    torch.manual_seed(2)
    model = transformers.AlignModel(config)
    with torch.no_grad():  # the default init makes a 1-layer EfficientNet output ~1e-30: rescale
        for module in model.vision_model.modules():
            if isinstance(module, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(module.weight)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    transformers.EfficientNetImageProcessor(
        size={"height": 32, "width": 32}, crop_size={"height": 32, "width": 32}, do_center_crop=False
    ).save_pretrained(folder)
    return folder


def tiny_dinov2(folder: Path) -> Path:
    """An image-only DINOv2 (``Dinov2Model``, no tokenizer) with its BitImageProcessor, 32 px input."""
    transformers = pytest.importorskip("transformers")
    config = transformers.Dinov2Config(**{**VISION, "layerscale_value": 1.0})
    torch.manual_seed(3)
    folder.mkdir(parents=True, exist_ok=True)
    transformers.Dinov2Model(config).save_pretrained(folder)
    transformers.BitImageProcessor(
        size={"shortest_edge": 36},
        crop_size={"height": 32, "width": 32},
        image_mean=[0.485, 0.456, 0.406],
        image_std=[0.229, 0.224, 0.225],
    ).save_pretrained(folder)
    return folder


def tiny_timm_vit(folder: Path) -> Path:
    """A timm ViT (2 blocks, width 32, 32 px) written with ``timm.models.save_for_hf``."""
    timm = pytest.importorskip("timm")
    torch.manual_seed(4)
    args = {"img_size": 32, "patch_size": 8, "embed_dim": 32, "depth": 2, "num_heads": 2}
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=0, **args)
    data = {"input_size": (3, 32, 32), "crop_pct": 0.875, "interpolation": "bicubic"}
    timm.models.save_for_hf(model, str(folder), model_args=args, safe_serialization=True, data_config=data)
    return folder


BUILDERS = {
    "clip": tiny_clip,
    "siglip": tiny_siglip,
    "align": tiny_align,
    "dinov2": tiny_dinov2,
    "timm_vit": tiny_timm_vit,
}
