"""Zero-shot classification pieces: prompt-template ensembles and per-image records.

Text classifiers follow CLIP (Radford et al. 2021, §3.1.4): each class embedding is the
renormalised mean of its prompt embeddings over a template ensemble. Class probabilities are the
softmax of ``logit_scale * cos + logit_bias`` (SigLIP's bias shifts all logits equally, so the
softmax ranking is that of the sigmoid scores).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from robustlens.evaluation.metrics import softmax

DEFAULT_TEMPLATES = (
    "a photo of a {}.",
    "a close-up photo of a {}.",
    "an image of a {}.",
    "a cropped photo of a {}.",
    "a good photo of a {}.",
    "a bad photo of a {}.",
)


def prompts(class_names: Sequence[str], templates: Sequence[str]) -> list[str]:
    return [t.format(name) for name in class_names for t in templates]


def class_embeddings(prompt_emb: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes * n_templates, D) prompt embeddings -> (n_classes, D) renormalised means."""
    per_class = prompt_emb.reshape(n_classes, -1, prompt_emb.shape[-1]).mean(axis=1)
    return per_class / np.linalg.norm(per_class, axis=1, keepdims=True).clip(1e-12)


def cell_records(
    ids: Sequence[str],
    labels: Sequence[int | None],
    emb: np.ndarray,
    clean_emb: np.ndarray,
    text: np.ndarray | None,
    logit_scale: float,
    logit_bias: float | None,
    clean_pred: Sequence[int] | None = None,
    caption_emb: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """Per-image records of one cell (values rounded to 1e-6 so files are stable across BLAS noise)."""
    cos = np.sum(emb * clean_emb, axis=1)
    l2 = np.linalg.norm(emb - clean_emb, axis=1)
    records: list[dict[str, Any]] = [
        {"id": i, "label": lab, "cos": _r(c), "l2": _r(d)}
        for i, lab, c, d in zip(ids, labels, cos, l2, strict=True)
    ]
    if text is not None and len(text):
        logits = logit_scale * emb @ text.T + (logit_bias or 0.0)
        probs = softmax(logits.astype(np.float64), axis=1)
        pred = probs.argmax(axis=1)
        base = pred if clean_pred is None else np.asarray(clean_pred)
        for n, rec in enumerate(records):
            rec["pred"] = int(pred[n])
            rec["conf"] = _r(probs[n, pred[n]])
            rec["clean_pred"] = int(base[n])
            rec["p_clean_pred"] = _r(probs[n, base[n]])
            if rec["label"] is not None:
                rec["p_true"] = _r(probs[n, rec["label"]])
    if caption_emb is not None:
        # Rank = wrong candidates scoring at least as high; ties count against, as in
        # metrics.retrieval_recall_at_k.
        sims = emb.astype(np.float64) @ caption_emb.astype(np.float64).T
        diag = np.diag(sims)
        i2t = (sims >= diag[:, None]).sum(axis=1) - 1
        t2i = (sims >= diag[None, :]).sum(axis=0) - 1
        for n, rec in enumerate(records):
            rec["i2t_rank"] = int(i2t[n])
            rec["t2i_rank"] = int(t2i[n])
    return records


def _r(x: float) -> float:
    return round(float(x), 6)
