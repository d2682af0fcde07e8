"""The MiniLM-L6 sentence encoder behind the phrase matcher: loaded once on CPU from the installed
package (never downloaded), mean-pooled and L2-normalised embeddings (all-MiniLM-L6-v2; Reimers &
Gurevych 2019, "Sentence-BERT", EMNLP), and a disk cache for the label examples embedded at start-up."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any


@lru_cache(maxsize=1)
def encoder() -> tuple[Any, Any] | None:
    """(tokenizer, model) of the shipped MiniLM-L6, loaded once on CPU from local files only."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        from robustlens.models.demo import minilm_path

        path = minilm_path()
        bar = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # no "Loading weights" bar in the middle of a chat
        try:
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        finally:
            if bar:
                hf_logging.enable_progress_bar()
    except Exception:  # any failure to load means "no semantic matching", never a crash
        return None
    return tokenizer, model


def embed(texts: Sequence[str], batch_size: int = 64) -> Any:
    """L2-normalised mean-pooled MiniLM embeddings (numpy, float32, one row per text)."""
    import numpy as np
    import torch

    loaded = encoder()
    if loaded is None:
        raise RuntimeError("the MiniLM sentence model is not available")
    tokenizer, model = loaded
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths batch with less padding
    threads = torch.get_num_threads()
    # One thread: a few short phrases run ~20x faster than with a contended thread pool, and a fixed
    # thread count keeps the float sums (so the scores) identical on any machine.
    torch.set_num_threads(1)
    try:
        rows = _forward(tokenizer, model, [texts[j] for j in order], batch_size)
    finally:
        torch.set_num_threads(threads)
    if not rows:
        return np.zeros((0, 384), dtype=np.float32)
    out = np.empty((len(texts), rows[0].shape[1]), dtype=np.float32)
    out[order] = np.concatenate(rows)
    return out


def embed_clauses(texts: Sequence[str]) -> Any:
    """``embed`` with a per-text memory: a brief's clauses are matched against chain facts and then
    conditions, and paraphrases repeat clauses, so each text is embedded once per process. Rows are
    identical to ``embed``'s (one thread, fixed maths), so caching cannot change a match."""
    import numpy as np

    rows = {t: _MEMORY[t] for t in dict.fromkeys(texts) if t in _MEMORY}
    missing = [t for t in dict.fromkeys(texts) if t not in rows]
    if missing:
        for text, row in zip(missing, embed(missing), strict=True):
            rows[text] = row
            # the oldest text goes, even one this call reads: its row is in ``rows`` already
            if len(_MEMORY) >= MEMORY_SIZE:
                _MEMORY.pop(next(iter(_MEMORY)))
            _MEMORY[text] = row
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    return np.stack([rows[t] for t in texts])


_MEMORY: dict[str, Any] = {}
MEMORY_SIZE = 20000  # clauses kept (384 floats each: ~30 MB at most)


def _forward(tokenizer: Any, model: Any, texts: list[str], batch_size: int) -> list[Any]:
    import torch

    rows = []
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            batch = tokenizer(
                texts[i : i + batch_size],
                padding=True,
                truncation=True,
                max_length=64,
                return_tensors="pt",
            )
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            rows.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return rows


def cached_embed(texts: list[str]) -> Any:
    """``embed(texts)`` kept on disk ($ROBUSTLENS_CACHE/phrases/), so a CLI start does not re-embed the
    same few hundred label examples; any cache problem just means computing them again."""
    import hashlib
    import json
    import os

    import numpy as np

    from robustlens.evaluation.cache import default_cache_dir
    from robustlens.models.base import file_fingerprint
    from robustlens.models.demo import minilm_path

    path = None
    try:
        digest = hashlib.blake2b(json.dumps(list(texts)).encode(), digest_size=12)
        digest.update(file_fingerprint(Path(minilm_path()) / "model.safetensors").encode())
        path = default_cache_dir() / "phrases" / f"{digest.hexdigest()}.npy"
        if path.is_file():
            cached = np.load(path, allow_pickle=False)
            if cached.shape[0] == len(texts):
                return cached
    except (OSError, ValueError, EOFError):  # unreadable or damaged: compute (and rewrite) it
        pass
    out = embed(texts)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            with open(tmp, "wb") as fh:
                np.save(fh, out, allow_pickle=False)
            os.replace(tmp, path)
        except OSError:
            pass
    return out
