"""Embedding drift between clean and corrupted image embeddings (arXiv 2604.14973): cosine similarity,
Euclidean distance and the Divergence Radius. Pure functions on numpy arrays; ``robustlens.evaluation.
metrics`` re-exports them with the other metrics.
"""

from __future__ import annotations

import numpy as np


def _rows(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim < 1:
        raise ValueError(f"a and b must have the same shape (..., D), got {x.shape} and {y.shape}")
    return x, y


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity between clean and corrupted embeddings (arXiv 2604.14973).

    Operates on the last axis: (N, D) inputs give (N,). A row with zero norm gives ``nan``.
    """
    x, y = _rows(a, b)
    denom = np.linalg.norm(x, axis=-1) * np.linalg.norm(y, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, np.sum(x * y, axis=-1) / denom, np.nan)


def l2_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Euclidean distance between clean and corrupted embeddings (arXiv 2604.14973).

    Operates on the last axis: (N, D) gives (N,). On normalised inputs ``d**2 = 2 - 2 cos``.
    """
    x, y = _rows(a, b)
    return np.linalg.norm(x - y, axis=-1)


def divergence_radius(embeddings: np.ndarray, rtol: float = 1e-10, max_iter: int = 1000) -> np.ndarray:
    """Divergence Radius (arXiv 2604.14973): radius of the minimum enclosing ball (MEB) of each image's
    L2-normalised embeddings (the clean one and its corrupted versions).

    Input (N, K, D): N images, K embeddings each; returns (N,). Every embedding is divided by its L2 norm
    (a zero or non-finite embedding raises ``ValueError``). For one image with points x_1..x_K (centred
    on their mean first, which leaves the ball unchanged and avoids cancellation) and Gram matrix G, the
    MEB centre is ``c = sum_i l_i x_i`` where l solves the dual quadratic program

        max_{l in simplex}  f(l) = sum_i l_i G_ii - l^T G l,

    and the returned radius is ``r = sqrt(max_i |c - x_i|^2)``: a ball around c enclosing every point,
    so r >= r* (the true MEB radius), while weak duality gives f(l) <= r*^2. The program is solved for
    all N images at once by Wolfe's active-set method (Wolfe 1976, the minimum-norm-point algorithm;
    for unit vectors the MEB centre is the point of their convex hull nearest the origin): solve the KKT
    system on the current support exactly, step back into the simplex when a weight turns negative,
    otherwise add the farthest point; it terminates in finitely many steps. It stops when the duality
    gap ``r^2 - f(l) <= rtol * r^2``, so ``r* <= r <= r* / sqrt(1 - rtol)`` (about 5e-11 relative by
    default; in tests it matches an exhaustive search over supports to ~1e-15). K = 1 gives 0, K = 2
    half the distance, duplicated points are handled (pseudo-inverse on singular supports).
    ``max_iter`` is a safeguard only; r stays a valid enclosing radius if it is ever hit.
    """
    e = np.asarray(embeddings)
    if e.ndim != 3:
        raise ValueError(f"embeddings must be (N images, K versions, D dims), got shape {e.shape}")
    n, k, _ = e.shape
    if k == 0 and n:
        raise ValueError("embeddings must hold at least one version per image (K >= 1)")
    if n == 0:
        return np.zeros(0)
    gram = np.empty((n, k, k))
    step = max(1, 2**22 // max(1, e[0].size))  # about 32 MB of float64 embeddings at a time
    for a in range(0, n, step):
        x = np.asarray(e[a : a + step], dtype=np.float64)
        norms = np.sqrt(np.einsum("nkd,nkd->nk", x, x))
        if not (np.all(np.isfinite(norms)) and np.all(norms > 0)):
            raise ValueError("embeddings must be finite and non-zero to be L2-normalised")
        x = x / norms[:, :, None]
        y = x - x.mean(axis=1, keepdims=True)
        gram[a : a + step] = y @ y.transpose(0, 2, 1)
    diag = np.einsum("nkk->nk", gram)
    lam = _meb_wolfe(gram, diag, rtol, max_iter)
    gl = (gram @ lam[:, :, None])[:, :, 0]
    r2 = np.max(diag - 2 * gl, axis=1) + np.einsum("nk,nk->n", lam, gl)  # max_i |c - x_i|^2
    return np.sqrt(np.maximum(r2, 0.0))


def _affine_max(gram: np.ndarray, diag: np.ndarray, supp: np.ndarray) -> np.ndarray:
    """Maximise f over the affine hull of the support (KKT: G_ii - 2 (G l)_i = mu on S, sum l = 1)."""
    m, k = supp.shape
    s = supp.astype(np.float64)
    a = np.zeros((m, k + 1, k + 1))
    a[:, :k, :k] = 2 * gram * s[:, :, None] * s[:, None, :]
    a[:, :k, k] = s
    a[:, k, :k] = s
    a[:, np.arange(k), np.arange(k)] += 1.0 - s  # rows off the support pin l_i = 0
    rhs = np.concatenate([diag * s, np.ones((m, 1))], axis=1)
    try:
        sol = np.linalg.solve(a, rhs[:, :, None])[:, :k, 0]
    except np.linalg.LinAlgError:  # an exactly singular support: least-squares solution for all
        sol = np.full((m, k), np.nan)
    bad = ~np.all(np.isfinite(sol), axis=1)
    if bad.any():
        sol[bad] = np.einsum("nij,nj->ni", np.linalg.pinv(a[bad]), rhs[bad])[:, :k]
    return sol * s


def _meb_wolfe(gram: np.ndarray, diag: np.ndarray, rtol: float, max_iter: int) -> np.ndarray:
    """Wolfe's active-set method on the MEB dual, vectorised over images; returns the weights l."""
    n, k = diag.shape
    rows = np.arange(n)
    start = np.argmax(diag, axis=1)  # the point farthest from the mean
    lam = np.zeros((n, k))
    lam[rows, start] = 1.0
    supp = lam > 0  # Wolfe's "corral": the points that may carry weight
    added = start.copy()
    todo = rows
    for _ in range(max_iter):
        if todo.size == 0:
            break
        g, d, s, lm = gram[todo], diag[todo], supp[todo], lam[todo]
        aff = _affine_max(g, d, s)
        neg = s & (aff < 0)
        minor = neg.any(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(neg, lm / (lm - aff), np.inf)
        theta = np.where(minor, np.min(ratio, axis=1), 1.0)
        new = np.clip(lm + theta[:, None] * (aff - lm), 0.0, None)
        drop = np.argmin(ratio, axis=1)
        r = np.arange(todo.size)
        new[r[minor], drop[minor]] = 0.0  # the weight that hit zero leaves the support
        s[r[minor], drop[minor]] = False
        new /= new.sum(axis=1, keepdims=True)
        gl = np.einsum("nkj,nj->nk", g, new)
        grad = d - 2 * gl
        lg = np.einsum("nk,nk->n", new, grad)
        i_fw = np.argmax(grad, axis=1)
        gap = grad[r, i_fw] - lg  # = r^2 - f(l), the duality gap
        r2 = gap + lg + np.einsum("nk,nk->n", new, gl)
        stalled = minor & (theta <= 0) & (drop == added[todo])  # rounding: a new point rejected at once
        done = (~minor & (gap <= rtol * r2)) | stalled | (~minor & s[r, i_fw])
        grow = ~minor & ~done
        s[r[grow], i_fw[grow]] = True
        added[todo[grow]] = i_fw[grow]
        lam[todo], supp[todo] = new, s
        todo = todo[~done]
    return lam
