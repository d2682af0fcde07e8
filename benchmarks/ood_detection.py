"""How long OOD detection metrics take post hoc: kNN scores and AUROC / FPR@95 with 1000 bootstrap
resamples, on random embeddings of the sizes of a large run (prints figures; asserts nothing).

    .venv/bin/python benchmarks/ood_detection.py [N_ID] [N_OOD]
"""

from __future__ import annotations

import sys
import time

import numpy as np

from robustlens.evaluation import ood_scores as S


def main() -> None:
    n_id = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    n_ood = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    rng = np.random.default_rng(0)
    bank, emb, ood = (rng.normal(size=(n, 512)).astype(np.float32) for n in (n_id // 2, n_id, n_ood))
    t = time.perf_counter()
    id_s, ood_s = S.knn_scores(emb, bank), S.knn_scores(ood, bank)
    knn = time.perf_counter() - t
    t = time.perf_counter()
    found = S.detection(id_s, ood_s, seed=0, n_boot=1000)
    boot = time.perf_counter() - t
    print(f"n_id={n_id} n_ood={n_ood} bank={len(bank)} k={S.knn_k(len(bank))}")
    print(f"kNN scores: {knn:.2f} s; AUROC + FPR@95 with 1000 resamples: {boot:.2f} s per cell")
    print(f"AUROC {found['auroc']} (random embeddings: about 0.5)")


if __name__ == "__main__":
    main()
