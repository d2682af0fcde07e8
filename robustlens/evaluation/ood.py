"""OOD detection under corruption: does a corrupted in-distribution image start to look OOD?

The holistic CLIP robustness study (arXiv 2410.01534) asks, beyond accuracy, whether a model can
still tell in-distribution (ID) images from out-of-distribution (OOD) ones under shift. Here the
OOD set (``--ood``: a folder, a manifest or ``demo:natural``) is encoded clean, once per model, by
the engine's model hook (``with_ood``: while the engine holds the model after its cells, so no model
is loaded twice); everything else is computed post hoc from the stored embeddings (RUN/ood/ for the
OOD set, the cells for the in-distribution images), so a re-run re-uses them. The section is kept in
RUN/ood.json as well as result.json: a result.json rebuilt from the cells, or rewritten by a resume
without ``--ood``, gets it back (``with_stored_ood``, ``attach_ood``).

Protocol (recorded in ``result.summary["ood"]``):

- ID = the images of a cell (clean, or corrupted at one severity); OOD = the OOD set, clean.
- Scores (``ood_scores``): MCM (Ming et al. 2022) for models with class prompts (zero-shot), and the
  k-th nearest neighbour distance (Sun et al. 2022) for every model, image-only ones included. The
  kNN bank is the clean *support* half of the probes' seeded split (``probe.support_query_split``,
  the same split), and only the *query* half counts as ID, so no ID image is its own neighbour.
- AUROC and FPR@95 (ID positive) with percentile bootstrap 95% intervals, ID and OOD resampled
  independently (seed ``derive_seed(run seed, "ood-bootstrap")``).
- OOD images are encoded with the model's own preprocessing, in this process (no DataLoader
  workers: OOD sets are small), through the shared embedding cache keyed by content hash; a model
  whose cells were all finished before (the engine does not load it) is loaded here, once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from robustlens.corruptions.seeding import derive_seed
from robustlens.data.sources import ImageSet
from robustlens.errors import UserInputError
from robustlens.evaluation import ood_scores as S
from robustlens.evaluation.engine_options import EngineOptions
from robustlens.evaluation.store import CLEAN, RunStore, write_json
from robustlens.schemas import AuditResult, CorruptionPlan

ALPHA = 0.05
OOD_FILE = "ood.json"  # the section, kept apart from result.json so a rebuilt result keeps it
_PAPERS = {
    "mcm": "maximum concept matching: max softmax of cosine(image, class prompts) / T "
    "(Ming et al., NeurIPS 2022)",
    "knn": "minus the cosine distance to the k-th nearest clean ID embedding (Sun et al., ICML 2022)",
}


def open_ood(source: str, seed: int = 0) -> tuple[ImageSet, list[str]]:
    """The OOD image set and its content hashes (unreadable files dropped); clear errors if absent/empty."""
    from robustlens.data.sources import MANIFEST_SUFFIXES, open_images

    text = str(source).strip()
    path = Path(text)
    if not text.startswith("demo:") and not (
        path.is_dir() or (path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES)
    ):
        raise UserInputError(
            f"OOD image set not found: {text or '(empty)'}",
            why="--ood must be a folder of images, a .csv/.jsonl manifest, or demo:natural.",
            fix="Check the path, or use --ood demo:natural with the textile demo.",
            field="ood",
        )
    try:
        images = open_images(text, labels=False, seed=seed)
    except UserInputError as exc:  # the dataset's own message, told as the OOD set's (--ood, not --data)
        raise UserInputError(
            f"OOD image set {text}: {exc.what}",
            why=exc.why,
            fix="Point --ood at a folder of images.",
            field="ood",
        ) from None
    hashes = images.content_hashes()
    if not images.items:
        raise UserInputError(
            f"The OOD image set {text} has no readable images.",
            fix="Point --ood at a folder or manifest with at least one image.",
            field="ood",
        )
    return images, hashes


class OODHook:
    """Encodes the OOD set with the model the engine holds (``EngineOptions.model_hooks``), so the
    model is loaded once per run: after its cells, before the engine lets it go."""

    def __init__(self, source: str, images: ImageSet, hashes: Sequence[str]) -> None:
        self.source, self.images, self.hashes = source, images, list(hashes)
        self.fingerprint = images.fingerprint(self.hashes)

    def __call__(self, store: RunStore, model: Any, options: Any) -> None:
        encode_model_ood(store, model, self.images, self.hashes, self.fingerprint, options)


def with_ood(options: EngineOptions, source: str | None, seed: int) -> EngineOptions:
    """``options`` whose engine run also encodes the OOD set ``source`` (checked here: a missing set
    fails before the run folder exists); unchanged without a source (None; "" is a missing set)."""
    if source is None:
        return options
    images, hashes = open_ood(str(source), seed)
    return replace(options, model_hooks=(*options.model_hooks, OODHook(str(source), images, hashes)))


def _stored(store: RunStore, model_id: str, fingerprint: str) -> bool:
    found = store.read_ood_embeddings(model_id)
    return found is not None and found[1].get("fingerprint") == fingerprint


def encode_model_ood(
    store: RunStore,
    model: Any,
    images: ImageSet,
    hashes: Sequence[str],
    fingerprint: str,
    options: Any,
) -> None:
    """Store one loaded model's clean embeddings of the OOD set (skipped when already stored)."""
    from robustlens.evaluation.cache import EmbeddingCache
    from robustlens.evaluation.engine_options import f16
    from robustlens.evaluation.loader import CellImages, CellJob, make_loader

    if _stored(store, model.id, fingerprint):
        return
    cache = EmbeddingCache(options.cache_dir) if options.use_cache else None
    found = cache.get_many(model.cache_key, model.preprocess_fingerprint, list(hashes)) if cache else {}
    missing = [n for n, h in enumerate(hashes) if h not in found]
    bad: set[int] = set()
    if missing:
        job = CellJob((CLEAN, 0.0), None, 0.0, tuple(missing))
        paths, ids = [str(i.path) for i in images.items], [i.id for i in images.items]
        data = CellImages([job], paths, ids, model.image_transform, 0, model.image_size)
        batch = options.batch_size or 32
        for _, positions, pixels, errors in make_loader(data, batch, 0, model.device):
            emb = model.encode_images(pixels)
            for pos, vec, err in zip(positions, emb, errors, strict=True):
                if err:
                    bad.add(missing[pos])
                else:
                    found[hashes[missing[pos]]] = vec
        good = [n for n in missing if n not in bad]
        if cache and good:
            cache.put_many(
                model.cache_key,
                model.preprocess_fingerprint,
                [hashes[n] for n in good],
                np.stack([found[hashes[n]] for n in good]),
            )
    if cache:
        cache.close()
    keep = [n for n in range(len(hashes)) if n not in bad]
    emb = np.stack([found[hashes[n]] for n in keep]) if keep else np.zeros((0, model.embed_dim))
    meta = {"ids": [images.items[n].id for n in keep], "fingerprint": fingerprint}
    store.write_ood_embeddings(model.id, f16(emb), meta)


def encode_ood(
    store: RunStore,
    model_ids: Sequence[str],
    images: ImageSet,
    hashes: Sequence[str],
    options: Any,
) -> None:
    """Store each model's OOD embeddings; a model is loaded only when the engine's hook has not
    already stored them (e.g. ``--ood`` added to a finished run, whose models the engine skips)."""
    from robustlens.models import load_model

    fingerprint = images.fingerprint(list(hashes))
    for model_id in model_ids:
        if _stored(store, model_id, fingerprint):
            continue
        model = load_model(model_id, options.checkpoints.get(model_id), options.device, options.amp)
        encode_model_ood(store, model, images, hashes, fingerprint, options)
        del model


def _cells(plan: CorruptionPlan) -> list[tuple[str, float]]:
    return [(CLEAN, 0.0)] + [(s.name, float(v)) for s in plan.specs for v in plan.severities]


def model_ood(store: RunStore, plan: CorruptionPlan, model_id: str, n_boot: int) -> dict[str, Any] | None:
    """Per score, AUROC / FPR@95 of every cell of one model (None without stored OOD embeddings)."""
    from robustlens.evaluation.probe import support_query_split

    stored = store.read_ood_embeddings(model_id)
    if stored is None or not store.is_done(model_id, CLEAN, 0.0):
        return None
    ood_emb = stored[0]
    clean_records = store.read_records(model_id, CLEAN, 0.0)
    clean_emb = store.read_embeddings(model_id, CLEAN, 0.0)
    pos_of = {r["id"]: k for k, r in enumerate(clean_records)}
    text = np.load(store.text_path(model_id)) if store.text_path(model_id).exists() else None
    split = support_query_split(
        [r.get("label") for r in clean_records], len(clean_records), derive_seed(plan.seed, "probe-split")
    )
    bank = clean_emb[split.support]
    seed = derive_seed(plan.seed, "ood-bootstrap")
    scores: dict[str, Any] = {}
    ood_by = {"knn": S.knn_scores(ood_emb, bank) if len(split.query) else None}
    if text is not None:
        ood_by["mcm"] = S.mcm_scores(ood_emb, text)
    for name, ood_s in ood_by.items():
        if ood_s is None:
            continue
        rows = []
        for corruption, severity in _cells(plan):
            if not store.is_done(model_id, corruption, severity):
                continue
            records = store.read_records(model_id, corruption, severity)
            emb = clean_emb if corruption == CLEAN else store.read_embeddings(model_id, corruption, severity)
            if len(emb) != len(records):
                continue  # embeddings that do not match their records: no number, never a wrong one
            if name == "mcm":
                id_s = S.mcm_scores(emb, text) if text is not None else np.zeros(0)
            else:
                query = np.isin([pos_of.get(r["id"], -1) for r in records], split.query)
                id_s = S.knn_scores(emb[query], bank)
            if not len(id_s) or not len(ood_s):
                continue  # e.g. an adaptive cell with no query image: no number rather than a nan
            found = S.detection(id_s, ood_s, seed, n_boot, ALPHA)
            rows.append({"corruption": corruption, "severity": severity, "n_id": int(len(id_s)), **found})
        scores[name] = {"cells": rows}
        if name == "knn":
            scores[name].update(k=S.knn_k(len(bank)), n_bank=int(len(bank)))
    return scores


def ood_section(
    store: RunStore,
    plan: CorruptionPlan,
    model_ids: Sequence[str],
    source: str,
    fingerprint: str,
    n_boot: int,
) -> dict[str, Any]:
    """The ``ood`` section of a result: protocol and each model's detection metrics per cell."""
    models = {m: found for m in model_ids if (found := model_ood(store, plan, m, n_boot)) is not None}
    n_ood = max((len(e[0]) for m in model_ids if (e := store.read_ood_embeddings(m)) is not None), default=0)
    return {
        "source": source,
        "fingerprint": fingerprint,
        "n_ood": n_ood,
        "n_boot": n_boot,
        "tpr": S.TPR_LEVEL,
        "positive": "in-distribution",
        "scores": {
            "mcm": {"what": _PAPERS["mcm"], "temperature": S.MCM_TEMPERATURE, "models": "zero-shot"},
            "knn": {
                "what": _PAPERS["knn"],
                "k": f"bank size // 20, between 1 and {S.KNN_K}",
                "bank": "clean support half of the probe split; ID = the query half",
                "models": "all",
            },
        },
        "models": models,
    }


def read_ood_file(root: Path) -> dict[str, Any] | None:
    """RUN/ood.json (key, source, fingerprint, section), or None when absent or damaged."""
    try:
        data = json.loads((Path(root) / OOD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("section"), dict) else None


def _key(result: AuditResult, models: Sequence[str], source: str, fingerprint: str, n_boot: int) -> str:
    """What the section depends on: the OOD set, the bootstrap count, the plan and the models."""
    what = [source, fingerprint, n_boot, result.plan.model_dump(mode="json"), list(models)]
    return hashlib.blake2b(json.dumps(what, sort_keys=True).encode(), digest_size=12).hexdigest()


def with_stored_ood(root: Path, result: AuditResult) -> AuditResult:
    """``result`` with the section RUN/ood.json holds for it (a rebuilt result.json keeps its OOD
    section); unchanged when there is none or it was computed for another plan or model list."""
    saved = read_ood_file(root)
    if saved is None:
        return result
    ref = [result.reference_model] if result.reference_model else []
    models = list(dict.fromkeys([*result.models, *ref]))
    key = _key(result, models, saved.get("source", ""), saved.get("fingerprint", ""), saved.get("n_boot", 0))
    if saved.get("key") != key:
        return result
    return result.model_copy(update={"summary": {**result.summary, "ood": saved["section"]}})


def attach_ood(result: AuditResult, out: Path, source: str | None, options: Any) -> AuditResult:
    """Add ``summary["ood"]`` to a finished run and store it in RUN/ood.json and result.json.

    Without ``source`` the run keeps the OOD set it was given before (a resume without ``--ood``).
    The section is recomputed only when the OOD set, bootstrap count, plan or models changed; a
    model is encoded only when the engine's hook (``with_ood``) has not already done so."""
    root = Path(out)
    saved = read_ood_file(root)
    if not source and saved is None:
        return result
    n_boot = int(options.n_boot)
    hook = next((h for h in options.model_hooks if isinstance(h, OODHook) and h.source == source), None)
    images: ImageSet | None = None
    hashes: list[str] = []
    if hook is not None:
        source, images, hashes, fingerprint = hook.source, hook.images, hook.hashes, hook.fingerprint
    elif source:
        images, hashes = open_ood(source, result.seed)
        fingerprint = images.fingerprint(hashes)
    else:  # kept from before: the stored embeddings say which set it was
        assert saved is not None
        source, fingerprint = str(saved["source"]), str(saved["fingerprint"])
    ref = [result.reference_model] if result.reference_model else []
    models = list(dict.fromkeys([*result.models, *ref]))
    key = _key(result, models, source, fingerprint, n_boot)
    store = RunStore(root)
    if saved is not None and saved.get("key") == key:
        section = saved["section"]
        if result.summary.get("ood") == section:
            return result
    else:
        section = None
    store.lock()
    try:
        if section is None:
            if any(not _stored(store, m, fingerprint) for m in models):
                if images is None:  # the set kept from before, read again (it may have changed)
                    images, hashes = open_ood(source, result.seed)
                    fingerprint = images.fingerprint(hashes)
                    key = _key(result, models, source, fingerprint, n_boot)
                encode_ood(store, models, images, hashes, options)
            section = ood_section(store, result.plan, models, source, fingerprint, n_boot)
            record = {"key": key, "source": source, "fingerprint": fingerprint, "n_boot": n_boot}
            write_json(root / OOD_FILE, {**record, "section": section})
        updated = result.model_copy(update={"summary": {**result.summary, "ood": section}})
        store.write_result(updated)
        return updated
    finally:
        store.close()
