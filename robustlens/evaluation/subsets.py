"""Bootstrap resamples of a subset of a run's images, coupled to the run's shared resamples.

A run draws one seeded matrix of resampled image indices (``shared_resamples``, n_boot rows of n
draws with replacement) and every full cell uses it, so cells are paired (see ``summary``). A cell
that used only some images (adaptive sampling, ``--target-ci-width``) is resampled from the *same*
draws: each row is read as a stream of uniform draws over all n images, extended by further seeded
draws when needed, and the first m draws that fall in the cell's subset form that row's resample.
Rejection sampling of uniform draws is uniform on the subset, so every row is an ordinary bootstrap
resample of the m images (Efron & Tibshirani 1993, ch. 6); and because the rows come from the shared
draws, two cells (or a cell and the clean cell restricted to the same images) are resampled
together: the same subset gives the very same rows, nested subsets share most of their draws. For the
full set the first n draws are the shared row itself, so full cells are unchanged.
"""

from __future__ import annotations

import numpy as np

from robustlens.corruptions.seeding import derive_seed


def shared_resamples(seed: int, n: int, n_boot: int) -> np.ndarray:
    """The run's shared (n_boot, n) matrix of image indices drawn with replacement."""
    if not n:
        return np.zeros((0, 0), dtype=np.int64)
    rng = np.random.default_rng(derive_seed(seed, "bootstrap"))
    return rng.integers(0, n, size=(n_boot, n), dtype=np.int64)


class SubsetResamples:
    """Resamples of any subset of the run's n images, read from the shared draws (see module doc)."""

    def __init__(self, seed: int, shared: np.ndarray) -> None:
        self.seed = seed
        self.streams = [shared]
        self.n_boot, self.n = shared.shape

    def _stream(self, k: int) -> np.ndarray:
        while len(self.streams) <= k:
            rng = np.random.default_rng(derive_seed(self.seed, "bootstrap", "extension", len(self.streams)))
            self.streams.append(rng.integers(0, self.n, size=(self.n_boot, self.n), dtype=np.int64))
        return self.streams[k]

    def local(self, positions: np.ndarray) -> np.ndarray:
        """(n_boot, m) indices into ``positions`` (sorted image positions, m = len(positions))."""
        positions = np.asarray(positions, dtype=np.int64)
        m = len(positions)
        if m == self.n:
            return self.streams[0]
        if m == 0:
            return np.zeros((self.n_boot, 0), dtype=np.int64)
        member = np.zeros(self.n, dtype=bool)
        member[positions] = True
        counts = np.zeros(self.n_boot, dtype=np.int64)
        k = 0
        while counts.min() < m:
            counts += member[self._stream(k)].sum(axis=1)
            k += 1
        stream = np.concatenate(self.streams[:k], axis=1)
        hits = member[stream]
        keep = hits & (np.cumsum(hits, axis=1) <= m)
        chosen = stream[keep].reshape(self.n_boot, m)
        local: np.ndarray = np.searchsorted(positions, chosen)
        return local
