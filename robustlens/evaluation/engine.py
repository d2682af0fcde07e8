"""The evaluation engine: models x corruptions x severities over an image set, cached and resumable.

For each model: class text embeddings once (prompt ensemble); clean image embeddings once (shared
cache keyed by weights + preprocessing + content hash); then every pending cell, corrupted in
DataLoader workers and encoded in batches. Finished cells are never recomputed (``fresh`` aside);
a model whose cells are all finished is not even loaded, so a re-run costs almost nothing.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robustlens.corruptions.compiler import compile_plan
from robustlens.data.sources import ImageSet
from robustlens.errors import UserInputError
from robustlens.evaluation import device_path, engine_options
from robustlens.evaluation.adaptive import run_adaptive
from robustlens.evaluation.cache import EmbeddingCache
from robustlens.evaluation.engine_options import EngineOptions, ProgressSink, _Silent, f16, versions
from robustlens.evaluation.loader import CellImages, CellJob, default_workers, make_loader, share_cores
from robustlens.evaluation.model_inputs import CleanPassCapture, write_inputs
from robustlens.evaluation.probe import mark_image_only
from robustlens.evaluation.rebuild import load_result
from robustlens.evaluation.store import CLEAN, RunStore
from robustlens.evaluation.zeroshot import cell_records, class_embeddings, prompts
from robustlens.models import VisionLanguageModel, load_model
from robustlens.schemas import AuditResult, CorruptionPlan, DomainBrief, ValidationReport
from robustlens.workers import worker_context


def evaluate(
    plan: CorruptionPlan,
    images: ImageSet,
    models: Sequence[str],
    out: Path,
    *,
    reference: str | None = None,
    options: EngineOptions | None = None,
    progress: ProgressSink | None = None,
    brief: DomainBrief | None = None,
    command: str = "",
    validation: Sequence[ValidationReport] = (),
) -> AuditResult:
    """Run (or resume) an audit into ``out`` and return its summary.

    ``validation``: the plan's validation reports (agent runs), stored in the result, so result.json
    is written once per evaluation, by ``RunStore.write_result``."""
    from robustlens.evaluation.summary import summarize

    options = options or EngineOptions()
    progress = progress or _Silent()
    compile_plan(plan)
    all_models = list(dict.fromkeys([*models, *([reference] if reference else [])]))
    hashes = images.content_hashes()  # files that cannot be read are dropped and recorded here
    if not images.items:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in images.skipped[:3])
        raise UserInputError(
            "None of the images can be read.",
            why=reasons or "the image set is empty.",
            fix="Check the files' permissions and that --data points at the images.",
            field="data",
        )
    device_path.check_kernels(plan, options.corrupt_on)  # before the run folder exists: nothing to undo
    store = RunStore(out)
    identity = {
        "specs": {
            sp.name: hashlib.blake2b(  # extra rungs extend a run; they do not change its cells
                sp.model_dump_json(exclude={"extra_severities"}).encode(), digest_size=12
            ).hexdigest()
            for sp in plan.specs
        },
        "dataset": images.fingerprint(hashes),
        "models": all_models,
        "checkpoints": {m: str(options.checkpoints[m]) for m in all_models if m in options.checkpoints},
        "labelled": images.labelled,
        "class_names": images.class_names,
        "templates": list(options.templates),
        "seed": plan.seed,
        "corrupt_at": options.corrupt_at,
        "target_ci_width": options.target_ci_width,  # adaptive cells hold fewer images
        "corrupt_on": device_path.run_site(options),  # None (cpu): folders made before the device path resume
    }
    manifest = {
        "plan": plan.model_dump(mode="json"),
        "brief": brief.model_dump(mode="json") if brief else None,
        "models": list(models),
        "reference_model": reference,
        "dataset": images.provenance(),
        "versions": versions(),
        "command": command,
        "seed": plan.seed,
        "n_boot": options.n_boot,  # so a damaged result.json is rebuilt with the same intervals
    }
    store.open(identity, manifest, options.fresh)  # refuses foreign folders; takes the run lock
    try:
        runner = _Runner(plan, images, hashes, store, options, progress)
        pending = [m for m in all_models if runner.pending(m)]
        if not pending and (store.root / "result.json").exists():
            stored = load_result(store.root)  # a damaged result.json is rebuilt from the cells
            if stored.plan == plan and stored.models == list(models) and stored.reference_model == reference:
                if validation and stored.validation != list(validation):  # same cells, new verdicts
                    stored = stored.model_copy(update={"validation": list(validation)})
                    store.write_result(stored)
                return stored  # finished: nothing to recompute
        for model_id in pending:
            runner.run_model(model_id)
        result = summarize(store, plan, list(models), reference, brief=brief, n_boot=options.n_boot)
        if validation:
            result = result.model_copy(update={"validation": list(validation)})
        store.write_result(result)
        shutil.rmtree(store.root / "inputs", ignore_errors=True)  # model-resolution copies: only for resuming
        return result
    finally:
        store.close()
        if options.executor == "ray":  # give the encoder actors (and their GPUs) back to the cluster
            from robustlens.evaluation.ray_cluster import release

            release()


class _Runner:
    def __init__(
        self,
        plan: CorruptionPlan,
        images: ImageSet,
        hashes: list[str],
        store: RunStore,
        options: EngineOptions,
        progress: ProgressSink,
    ) -> None:
        self.plan = plan
        self.images = images
        self.hash_of = {item.id: h for item, h in zip(images.items, hashes, strict=True)}
        self.store = store
        self.options = options
        self.progress = progress
        self.cells = [
            (s.name, v) for s in plan.specs for v in sorted({*plan.severities, *s.extra_severities})
        ]
        self.spec_json = {s.name: s.model_dump_json() for s in plan.specs}
        self.inputs: Path | None = None
        self.capture: CleanPassCapture | None = None  # model-resolution copies from the clean pass

    def pending(self, model_id: str) -> bool:
        return any(not self.store.is_done(model_id, c, s) for c, s in [(CLEAN, 0.0), *self.cells])

    # ------------------------------------------------------------------ one model

    def load(self, model_id: str) -> VisionLanguageModel:
        """The model (a hook: the investigation's follow-up runner keeps one loaded between cells)."""
        return load_model(
            model_id, self.options.checkpoints.get(model_id), self.options.device, self.options.amp
        )

    def run_model(self, model_id: str) -> None:
        if self.options.workers != 0:  # the fork server imports torch/OpenCV/open_clip meanwhile
            worker_context(modules=("open_clip.transform",))
        model = self.load(model_id)
        batch = self.options.batch_size or (128 if model.device.type == "cuda" else 32)
        workers = self.options.workers if self.options.workers is not None else default_workers(model.device)
        done = sum(self.store.is_done(model_id, c, s) for c, s in [(CLEAN, 0.0), *self.cells])
        self.progress.start_model(model_id, len(self.cells) + 1, done)
        text = self._text(model)
        self.inputs = self._inputs_path(model)
        self.capture = CleanPassCapture.for_run(self.inputs, self.images.items)  # decode once
        clean_emb, clean_pred, items, captions = self._clean(model, text, batch, workers)
        ids = [i.id for i in items]
        labels = [i.label for i in items]
        jobs = [
            CellJob((c, s), self.spec_json[c], s, tuple(range(len(items))))
            for c, s in self.cells
            if not self.store.is_done(model_id, c, s)
        ]
        if jobs and self.options.target_ci_width is not None and captions is None:  # ranks: all images
            run_adaptive(self, model, jobs, items, text, clean_emb, clean_pred, batch, workers)
        elif jobs:
            dataset = self._dataset(model, jobs, items, self._ensure_inputs(model, items, batch, workers))
            for job, emb, _, seconds in self._encode(model, dataset, batch, workers):
                corruption, severity = job.key
                records = cell_records(
                    ids,
                    labels,
                    emb,
                    clean_emb,
                    text,
                    model.logit_scale,
                    model.logit_bias,
                    clean_pred,
                    captions,
                )
                self.store.write_cell(model_id, corruption, severity, records, emb)
                self._timing(model, corruption, severity, len(ids), seconds, batch, workers)
                self.progress.cell_done()
        engine_options.run_model_hooks(self.store, model, self.options)  # e.g. --ood, with this model
        self.progress.end_model()
        del model
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _dataset(
        self, model: VisionLanguageModel, jobs: list[CellJob], items: list[Any], inputs: str | None = None
    ) -> CellImages:
        paths, ids = [str(i.path) for i in items], [i.id for i in items]
        return CellImages(
            jobs, paths, ids, model.image_transform, self.plan.seed, model.image_size, inputs=inputs
        )

    def _inputs_path(self, model: VisionLanguageModel) -> Path | None:
        """Where model-resolution copies live when corrupting at model resolution, which the device
        path (``corrupt_on``) implies (None otherwise)."""
        if not device_path.device_mode(self, model) and self.options.corrupt_at != "model":
            return None
        if not getattr(model.image_transform, "splittable", False):
            raise UserInputError(
                f"--corrupt-at model is not available for {model.id}.",
                why="its preprocessing cannot be split into resize/crop and normalisation.",
                fix="Use --corrupt-at native (the default) for this model.",
                field="corrupt_at",
            )
        return self.store.root / "inputs" / f"{model.preprocess_fingerprint}.npy"

    def _ensure_inputs(
        self, model: VisionLanguageModel, items: list[Any], batch: int, workers: int
    ) -> str | None:
        """With corrupt_at='model': resize/crop every valid image once into a .npy the workers memory-map."""
        if self.inputs is None:
            return None
        if not self.inputs.exists():

            def clean(indices: list[int]) -> CellImages:  # the images the clean pass did not decode
                return self._dataset(model, [CellJob((CLEAN, 0.0), None, 0.0, tuple(indices))], items)

            write_inputs(self.inputs, items, self.capture, clean, (batch, workers, model.device))
        self.capture = None
        return str(self.inputs)

    def _encode(
        self,
        model: VisionLanguageModel,
        dataset: CellImages,
        batch: int,
        workers: int,
    ) -> Iterator[tuple[CellJob, np.ndarray, dict[int, str], float]]:
        """Yield (job, embeddings, {position: error}, seconds) per finished job, in job order.

        Where the work runs: a Ray cluster (``executor='ray'``), the model's device
        (``corrupt_on``, see ``device_path``), or DataLoader workers on this machine."""
        if self.options.executor == "ray":
            from robustlens.evaluation.ray_executor import encode_on_ray

            yield from encode_on_ray(self, model, dataset, batch)
            return
        if device_path.use_device_path(self, model, dataset):
            yield from device_path.encode_on_device(self, model, dataset, batch, workers)
            return
        yield from self._encode_local(model, dataset, batch, workers)

    def _encode_local(
        self,
        model: VisionLanguageModel,
        dataset: CellImages,
        batch: int,
        workers: int,
    ) -> Iterator[tuple[CellJob, np.ndarray, dict[int, str], float]]:
        """DataLoader workers corrupt and preprocess; this process encodes."""
        buffers: dict[int, list[np.ndarray]] = {}
        errors: dict[int, dict[int, str]] = {}
        start = time.perf_counter()
        loader = share_cores(make_loader(dataset, batch, workers, model.device), workers, model.device)
        for job_index, positions, pixels, errs in loader:
            emb = model.encode_images(pixels)
            if self.capture is not None:  # the clean pass's pixels: the model-resolution copies
                self.capture.write(dataset, job_index, positions, pixels)
            buffers.setdefault(job_index, []).append(emb)
            for p, e in zip(positions, errs, strict=True):
                if e:
                    errors.setdefault(job_index, {})[p] = e
            self.progress.advance(len(positions))
            job = dataset.jobs[job_index]
            if positions[-1] == len(job.indices) - 1:
                full = f16(np.concatenate(buffers.pop(job_index)))
                now = time.perf_counter()
                yield job, full, errors.pop(job_index, {}), now - start
                start = now

    # ------------------------------------------------------------------ text and clean pass

    def _text(self, model: VisionLanguageModel) -> np.ndarray | None:
        names = self.images.class_names
        if not names or model.image_only:  # no text tower: label-free records + probes (see probe.py)
            return mark_image_only(self.store, model)
        texts = prompts(names, self.options.templates)
        emb = class_embeddings(model.encode_texts(texts), len(names))
        emb = f16(emb)
        self.store.write_text_embeddings(model.id, emb)
        return emb

    def _captions(self, model: VisionLanguageModel, items: list[Any]) -> np.ndarray | None:
        if not items or model.image_only or not all(i.caption for i in items):
            return None
        return f16(model.encode_texts([i.caption for i in items]))

    def _clean(self, model: VisionLanguageModel, text: np.ndarray | None, batch: int, workers: int):
        """Clean embeddings, predictions and caption embeddings of the valid images (the valid set is
        decided on the first run); captions are encoded once per model, here."""
        known = self.store.read_images()
        items = self.images.items
        if known is not None:
            valid = {r["id"] for r in known["images"]}
            items = [i for i in items if i.id in valid]
        if self.store.is_done(model.id, CLEAN, 0.0):
            emb = self.store.read_embeddings(model.id, CLEAN, 0.0)
            preds = [r.get("pred") for r in self.store.read_records(model.id, CLEAN, 0.0)]
            return emb, (preds if text is not None else None), items, self._captions(model, items)
        emb, items = self._clean_embeddings(model, items, known is None, batch, workers)
        ids, labels = [i.id for i in items], [i.label for i in items]
        captions = self._captions(model, items)
        scale, bias = model.logit_scale, model.logit_bias
        records = cell_records(ids, labels, emb, emb, text, scale, bias, None, captions)
        self.store.write_cell(model.id, CLEAN, 0.0, records, emb)
        self.progress.cell_done()
        fresh = [r["pred"] for r in records] if text is not None else None
        return emb, fresh, items, captions

    def _clean_embeddings(
        self, model: VisionLanguageModel, items: list[Any], first: bool, batch: int, workers: int
    ) -> tuple[np.ndarray, list[Any]]:
        cache = EmbeddingCache(self.options.cache_dir) if self.options.use_cache else None
        keys = [self.hash_of[i.id] for i in items]
        found = cache.get_many(model.cache_key, model.preprocess_fingerprint, keys) if cache else {}
        missing = [n for n, k in enumerate(keys) if k not in found]
        bad: dict[str, str] = {}
        if missing:
            job = CellJob((CLEAN, 0.0), None, 0.0, tuple(missing))
            dataset = self._dataset(model, [job], items)
            for _, emb, errors, _ in self._encode(model, dataset, batch, workers):
                for pos, reason in errors.items():
                    bad[items[missing[pos]].id] = reason
                good = [
                    (n, e) for pos, (n, e) in enumerate(zip(missing, emb, strict=True)) if pos not in errors
                ]
                if cache and good:
                    cache.put_many(
                        model.cache_key,
                        model.preprocess_fingerprint,
                        [keys[n] for n, _ in good],
                        np.stack([e for _, e in good]),
                    )
                for n, e in good:
                    found[keys[n]] = e
        if cache:
            cache.close()
        if bad:
            self.images.drop(set(bad), bad)
            items = [i for i in items if i.id not in bad]
        if first:
            self.store.write_images(
                [{"id": i.id, "label": i.label, "hash": self.hash_of[i.id]} for i in items],
                [s.model_dump() for s in self.images.skipped],
            )
        emb = (
            np.stack([found[self.hash_of[i.id]] for i in items]) if items else np.zeros((0, model.embed_dim))
        )
        return f16(emb), items

    def _timing(
        self,
        model: VisionLanguageModel,
        corruption: str,
        severity: float,
        n: int,
        seconds: float,
        batch: int,
        workers: int,
    ) -> None:
        self.store.log_timing(
            {
                "model": model.id,
                "corruption": corruption,
                "severity": severity,
                "images": n,
                "seconds": round(seconds, 4),
                "images_per_s": round(n / max(seconds, 1e-9), 2),
                "device": str(model.device),
                "batch_size": batch,
                "workers": workers,
            }
        )
