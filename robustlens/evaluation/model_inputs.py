"""The model-resolution copies (``inputs/*.npy``), decoded once (issue 14).

With ``corrupt_at='model'`` (implied by the device path) every valid image is decoded and
resized/cropped to the model input once and memory-mapped by every corrupted cell. The clean pass
already decodes every image to exactly that uint8 tensor (a split transform ships geometry-only
uint8 pixels and normalises on the device), so on a cold embedding cache the copies are captured
from the clean pass's batches instead of decoding and resizing every image a second time; only
images the clean pass did not decode (embedding-cache hits, or a resumed run whose clean cell is
done) are decoded for the copies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robustlens.evaluation.loader import CellImages, InputsWriter, make_loader


class CleanPassCapture:
    """Model-resolution uint8 rows of the clean pass, keyed by image id, in a scratch memory map
    next to the final copies (so a large dataset never sits in host memory)."""

    def __init__(self, path: Path, ids: Sequence[str]) -> None:
        self.scratch = path.with_name(f".{path.name}.clean")
        self.row = {image_id: n for n, image_id in enumerate(ids)}
        self.filled = np.zeros(len(ids), dtype=bool)
        self.array: np.ndarray | None = None

    @classmethod
    def for_run(cls, path: Path | None, items: Sequence[Any]) -> CleanPassCapture | None:
        """A capture when the copies at ``path`` are still to be made (None: not needed, or made)."""
        return cls(path, [i.id for i in items]) if path is not None and not path.exists() else None

    def write(
        self, dataset: CellImages, job_index: int, positions: Sequence[int], pixels: torch.Tensor
    ) -> None:
        """Keep one clean batch's pixels (ignored unless geometry-only uint8, the copies' format)."""
        job = dataset.jobs[job_index]
        if job.spec_json is not None or pixels.dtype != torch.uint8 or pixels.ndim != 4:
            return
        ids = [dataset.ids[job.indices[p]] for p in positions]
        if self.array is None:
            self.scratch.parent.mkdir(parents=True, exist_ok=True)
            shape = (len(self.row), int(pixels.shape[2]), int(pixels.shape[3]), int(pixels.shape[1]))
            self.array = np.lib.format.open_memmap(self.scratch, mode="w+", dtype=np.uint8, shape=shape)
        rows = [self.row[i] for i in ids]
        self.array[rows] = pixels.permute(0, 2, 3, 1).cpu().numpy()
        self.filled[rows] = True

    def rows_of(self, ids: Sequence[str]) -> list[int | None]:
        """The scratch row of each id, None where the clean pass did not decode it."""
        rows = [self.row.get(i) for i in ids]
        return [r if r is not None and self.filled[r] else None for r in rows]

    def close(self) -> None:
        self.array = None
        self.scratch.unlink(missing_ok=True)


def write_inputs(
    path: Path,
    items: Sequence[Any],
    capture: CleanPassCapture | None,
    clean: Callable[[list[int]], CellImages],
    loader: tuple[int, int, torch.device],
) -> None:
    """Write the copies of ``items`` (the valid images, in order) to ``path``: rows the clean pass
    captured are copied, the others decoded through ``clean(indices)`` (a clean-job dataset over
    those item indices) with the DataLoader settings ``loader`` (batch, workers, device)."""
    rows = capture.rows_of([i.id for i in items]) if capture is not None else [None] * len(items)
    missing = [n for n, r in enumerate(rows) if r is None]
    writer = InputsWriter(path, len(items))
    try:
        if capture is not None and capture.array is not None:
            have = [(n, r) for n, r in enumerate(rows) if r is not None]
            for chunk in _chunks(have, 256):
                source = capture.array[[r for _, r in chunk]]
                pixels = torch.from_numpy(np.ascontiguousarray(source)).permute(0, 3, 1, 2)
                writer.write([n for n, _ in chunk], pixels)
        if missing:
            for _, positions, pixels, _ in make_loader(clean(missing), *loader):
                writer.write([missing[p] for p in positions], pixels)
        writer.finish()
    finally:
        if capture is not None:
            capture.close()


def _chunks(items: list[tuple[int, int]], size: int) -> Iterable[list[tuple[int, int]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
