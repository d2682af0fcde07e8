"""What the downstream probes (``robustlens.evaluation.probe``) add to ``summarize``.

Every model of every run gets the kNN flip (and image-only models with labels the kNN and linear
probes), computed post hoc from the stored embeddings: one linear-probe fit per model and one
query x support similarity block per cell. This prints, for synthetic clustered embeddings of n images
and D dimensions, the time of the fit (kNN + logistic regression) and of one cell's columns, with
labels and label-free (the kNN flip alone: what every image-text model pays).

Usage: python benchmarks/probe_cost.py [--sizes 1000,5000,10000] [--dim 512] [--classes 10]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from robustlens.evaluation.probe import fit_probes


def measure(n: int, dim: int, classes: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, classes, n)
    centroids = rng.normal(size=(classes, dim))
    clean = centroids[labels] + 2.0 * rng.normal(size=(n, dim))
    clean /= np.linalg.norm(clean, axis=1, keepdims=True)
    corrupted = clean + 0.05 * rng.normal(size=clean.shape)
    start = time.perf_counter()
    probes = fit_probes(clean, [int(y) for y in labels], run_seed=0, with_accuracy=True)
    fit = time.perf_counter() - start
    assert probes is not None
    start = time.perf_counter()
    cols = probes.columns(corrupted, np.arange(n))
    cell = time.perf_counter() - start
    query = cols["query"] > 0
    flip_only = fit_probes(clean, None, run_seed=0, with_accuracy=False)  # what image-text models pay
    assert flip_only is not None
    start = time.perf_counter()
    flip_only.columns(corrupted, np.arange(n))
    return {
        "fit_s": fit,
        "cell_s": cell,
        "flip_cell_s": time.perf_counter() - start,
        "probe_acc": float(cols["probe_correct"][query].mean()),
        "knn_acc": float(cols["knn_correct"][query].mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--classes", type=int, default=10)
    args = parser.parse_args()
    head = f"{'n':>7} {'D':>5} {'fit (s)':>9} {'per cell (s)':>13} {'kNN flip only (s)':>18}"
    print(head + f" {'probe acc':>10} {'kNN acc':>8}")
    for n in (int(s) for s in args.sizes.split(",")):
        r = measure(n, args.dim, args.classes)
        print(
            f"{n:>7} {args.dim:>5} {r['fit_s']:>9.2f} {r['cell_s']:>13.3f} {r['flip_cell_s']:>18.3f} "
            f"{r['probe_acc']:>10.3f} {r['knn_acc']:>8.3f}"
        )


if __name__ == "__main__":
    main()
