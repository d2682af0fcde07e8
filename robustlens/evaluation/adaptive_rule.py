"""The stopping rule of adaptive sampling (``evaluation.adaptive``): when a cell's calls are settled.

A stopped cell must show the report the calls all N images would give it: the verdict (the interval
of its statistic against the tolerance: holds / fails / inconclusive) and the collapse call
(``analysis.collapse_points``). From the m images seen, the rule predicts the full-set estimate and
stops only when that prediction leaves the call unchanged with high probability.

- **Stratified finite-population prediction.** Cells take images in a class-stratified order
  (``adaptive.sampling_order``), so the N - m images to come are, class by class, the rest of each
  class. For labelled accuracy-type statistics (accuracy, the paired accuracy drop, balanced
  accuracy) the full-set value is sum_c w_c (S_c + X_c), with S_c the seen images' sum in class c and
  X_c the sum over its U_c unseen images; its prediction is sum_c w_c (S_c + U_c mean_c) and its
  predictive variance sum_c w_c^2 U_c N_c se_c^2 (X_c's binomial-type variance U_c s_c^2 plus
  U_c^2 se_c^2 for the uncertain class mean, se_c^2 = s_c^2 / m_c: the stratified estimator of
  Cochran 1977, Sampling Techniques, ch. 5, with the finite-population correction per stratum).
  A pooled variance counts the spread *between* classes, which the stratified order has already
  fixed: a cell that predicts one class (recall 1 for it, 0 for the others) has a pooled
  p(1 - p) of 0.25, but within each class nothing varies. Each se_c is at least the
  rule-of-three resolution 3/m_c / 3.92 (no event in m_c images still allows a rate of 3/m_c at
  95%; Hanley & Lippman-Hand 1983, JAMA 249:1743), so a class whose seen images all agree never
  counts as certain, and a cell sitting exactly on a threshold waits for all its images.
  Label-free statistics (LFP, cosine) have no strata and keep the pooled prediction from the
  bootstrap width.
- **Post-stratified by clean correctness.** Whether each image is right on clean is known for all N
  images before any corrupted one is encoded, and it predicts the corrupted outcome (an image the
  model gets wrong clean mostly stays wrong). Within a class the order is a seeded uniform
  permutation, so the seen images of each class x clean-correctness part are a random sample of
  that part, and the prediction above holds with the parts as strata (post-stratification: Holt &
  Smith 1979, JRSS A 142:33; Cochran 1977, 5A.9). A part becomes its own stratum once it has
  ``SUBSTRATUM_FLOOR`` seen images (the per-class floor, for the same reason; the switch depends on
  counts only, never on corrupted outcomes); until then its class is one stratum.
- **Interval too.** The verdict is about the interval, not the point: the full set's percentile
  bootstrap interval (unstratified, as ``summary`` computes it) is predicted as the m-image one,
  narrower by sqrt(m / N); its bounds must lie on the call's side, and so must the cell's own.
- **Error spending.** Each look may make a wrong call with a probability spent from ``ALPHA`` per
  call over the looks (Lan & DeMets 1983, Biometrika 70:659; O'Brien-Fleming-type: almost nothing
  early, where a prediction from few images is least reliable), so looking often does not inflate
  the chance of a call the full set would not make. A futility stop makes no holds / fails claim
  (it reports "inconclusive", like a non-binding futility boundary in a group-sequential trial,
  Jennison & Turnbull 2000, Group Sequential Methods, ch. 10), so it could spend on its own
  schedule; a Pocock-type one (alpha ln(1 + (e - 1) t)) was measured and not kept: on the demo
  (``benchmarks/adaptive_sampling.py``) futility only becomes reachable at the late looks, where
  Pocock spends less than O'Brien-Fleming (0 encodings saved on 120 images, 0.6% more on 400).

What this cannot do (measured on the demo, 2 models x 30 cells): a cell whose full-set accuracy
sits exactly on the collapse threshold (a blurred image set predicted as one class holding half the
images: 0.500 against half of a clean 1.0) stays undecidable until its last image, and so do close
calls whose full-set interval ends within a few hundredths of the tolerance; with the floor
(``adaptive.FLOOR_PER_CLASS``) these bound the saving on small sets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any, NamedTuple

import numpy as np

from robustlens.evaluation.subsets import SubsetResamples, shared_resamples
from robustlens.evaluation.summary import CELL_METRICS, Arrays, interval
from robustlens.schemas import MetricValue

Z = 1.959964  # the normal quantile of a two-sided 95% interval
#: per call (verdict, collapse) of a cell: the chance, over all its looks, that a stop makes a call the
#: full set would not make (spent over the looks by ``spent``)
ALPHA = 0.01
Z_MAX = 8.0  # a look that may spend nothing
#: seen images a clean-correct / clean-wrong part of a class needs before it is its own stratum (the
#: per-class floor of ``adaptive.FLOOR_PER_CLASS``, for the same reason)
SUBSTRATUM_FLOOR = 10
_NORMAL = NormalDist()
#: ``analysis.collapse_points``' default: collapsed at half the clean accuracy
COLLAPSE_FRACTION = 0.5


class Prediction(NamedTuple):
    """The full-set point estimate predicted from the seen images, and its predictive SD."""

    center: float
    sd: float


class StopRule:
    """The interval a stopped cell will show in the report, and whether to stop there.

    A cell is "decided" when the verdict and the collapse call (accuracy at most half the clean
    accuracy; LFP >= 0.5 label-free; cosine <= 0.5 without predictions) are both settled: its own
    interval is on one side and so would be the interval of all N images (see the module doc).
    "Futile": the cell's interval straddles the tolerance and the interval of all N images would
    straddle it too wherever the estimate moves within its predictive reach, so
    the report shows the same "inconclusive"; its collapse call must be settled. "Narrow" (the
    interval is narrower than W, at the rule-of-three resolution 3/m) needs the verdict settled or
    futile too (a narrow interval near the tolerance can still cross it), but not the collapse call
    (W is the precision the user asked for).
    """

    def __init__(
        self,
        clean: list[dict[str, Any]],
        n_classes: int,
        seed: int,
        n_boot: int,
        metric: str,
        limit: float,
        looks: Sequence[int] = (),
    ) -> None:
        self.clean, self.n_classes = clean, n_classes
        self.looks = sorted(looks)
        self.subsets = SubsetResamples(seed, shared_resamples(seed, len(clean), n_boot))
        has_pred = bool(clean) and clean[0].get("pred") is not None
        has_label = bool(clean) and clean[0].get("label") is not None
        self.metric = "cosine" if not has_pred else metric if has_label else "lfp"
        self.limit = limit
        self.collapse = ("accuracy" if has_label else "lfp") if has_pred else "cosine"
        self.labels = np.array([r["label"] for r in clean]) if has_label and has_pred else None
        self.clean_ok = (
            np.array([r["pred"] == r["label"] for r in clean], dtype=float)
            if self.labels is not None
            else None
        )
        accuracy = float(self.clean_ok.mean()) if self.clean_ok is not None and clean else 0.0
        self.collapse_at = COLLAPSE_FRACTION * accuracy if self.collapse == "accuracy" else 0.5
        if self.metric == "balanced_accuracy_drop":
            full = Arrays.from_records(clean, clean, n_classes)
            self.clean_balanced = CELL_METRICS["balanced_accuracy"][2](full, self.subsets.streams[0])[0]

    def _arrays(self, records: list[dict[str, Any]], positions: np.ndarray) -> tuple[Arrays, Any, np.ndarray]:
        base = [self.clean[p] for p in positions]
        return Arrays.from_records(records, base, self.n_classes), base, self.subsets.local(positions)

    def interval(self, records: list[dict[str, Any]], positions: np.ndarray) -> MetricValue:
        """The verdict's statistic with its 95% interval, exactly as ``summary`` reports the cell."""
        cell, base, rows = self._arrays(records, positions)
        if self.metric == "accuracy_drop":
            pc, rc = CELL_METRICS["accuracy"][2](Arrays.from_records(base, base, self.n_classes), rows)
            pa, ra = CELL_METRICS["accuracy"][2](cell, rows)
            return interval(pc - pa, rc - ra)
        if self.metric == "balanced_accuracy_drop":
            pa, ra = CELL_METRICS["balanced_accuracy"][2](cell, rows)
            return interval(self.clean_balanced - pa, self.clean_balanced - ra)
        return interval(*CELL_METRICS[self.metric][2](cell, rows))

    def z(self, m: int) -> float:
        """The predictive quantile of the look at m images (``look_z`` over this rule's looks)."""
        n = len(self.clean)
        before = max((s for s in self.looks if s < m), default=0)
        return look_z(before / n if n else 0.0, m / n if n else 1.0)

    def predict(
        self, statistic: str, records: list[dict[str, Any]], positions: np.ndarray
    ) -> Prediction | None:
        """The stratified prediction of ``statistic`` over all N images (see the module doc), or None
        where it has no strata (label-free statistics: pooled prediction from the bootstrap width)."""
        if self.labels is None or self.clean_ok is None or not len(positions):
            return None
        ok = np.array([r["pred"] == r["label"] for r in records], dtype=float)
        if statistic == "accuracy":
            x, sign, offset, balanced = ok, 1.0, 0.0, False
        elif statistic == "accuracy_drop":
            x, sign, offset, balanced = self.clean_ok[positions] - ok, 1.0, 0.0, False
        elif statistic == "balanced_accuracy_drop":
            x, sign, offset, balanced = ok, -1.0, float(self.clean_balanced), True
        else:
            return None
        classes, sizes = np.unique(self.labels, return_counts=True)
        n = len(self.labels)
        seen = np.zeros(n, dtype=bool)
        seen[positions] = True
        center, var = 0.0, 0.0
        for c, size in zip(classes, sizes, strict=True):
            w = 1.0 / (len(classes) * size) if balanced else 1.0 / n
            for stratum in self._strata(self.labels == c, seen):
                xs = x[stratum[positions]]
                m_c = len(xs)
                if m_c == 0:
                    return None  # a class not yet seen: no prediction (the floor prevents this)
                mean = float(xs.mean())
                s2 = float(xs.var(ddof=1)) if m_c > 1 else 0.0
                se2 = max(s2 / m_c, (3.0 / m_c / (2 * Z)) ** 2)
                unseen = int(stratum.sum()) - m_c
                center += w * (float(xs.sum()) + unseen * mean)
                var += w * w * unseen * int(stratum.sum()) * se2
        return Prediction(offset + sign * center, math.sqrt(var))

    def _strata(self, members: np.ndarray, seen: np.ndarray) -> list[np.ndarray]:
        """A class's images split by clean correctness (post-stratification, see the module doc), when
        each part with unseen images has ``SUBSTRATUM_FLOOR`` seen ones; else the class as one stratum."""
        assert self.clean_ok is not None
        parts = [members & (self.clean_ok == k) for k in (0.0, 1.0)]
        parts = [p for p in parts if p.any()]
        if all((p & seen).sum() >= SUBSTRATUM_FLOOR or not (p & ~seen).any() for p in parts):
            return parts
        return [members]

    def check(self, records: list[dict[str, Any]], positions: np.ndarray, width: float) -> str | None:
        """Why to stop: "narrow", "decided", "futile", or None (keep going)."""
        verdict = self.interval(records, positions)
        if verdict.ci_low is None or verdict.ci_high is None:
            return None
        m, n = len(positions), len(self.clean)
        z = self.z(m)
        call: str | None
        if self.metric == "cosine":
            call, futile = "straddles", True
        else:
            guess = self.predict(self.metric, records, positions)
            call = _predict(verdict, self.limit, m, n, z, True, guess)
            straddles = verdict.ci_low <= self.limit < verdict.ci_high
            futile = call == "straddles" and straddles
        settled = call in ("above", "below")
        if not settled and not futile:
            return None
        if max(verdict.ci_high - verdict.ci_low, 3.0 / m) < width:
            return "narrow"
        cell, _, rows = self._arrays(records, positions)
        collapse = interval(*CELL_METRICS[self.collapse][2](cell, rows))
        guess = self.predict(self.collapse, records, positions)
        if _predict(collapse, self.collapse_at, m, n, z, False, guess) is None:
            return None
        return "decided" if settled else "futile"


def spent(t: float) -> float:
    """Lan & DeMets' (1983, Biometrika 70:659) O'Brien-Fleming-type spending function: the share of
    ``ALPHA`` a sequential procedure may have used by information fraction t (here m / N).
    It spends almost nothing early (O'Brien & Fleming 1979, Biometrics 35:549), where a prediction
    from few images is least reliable, and all of ``ALPHA`` by t = 1."""
    if t <= 0:
        return 0.0
    return min(ALPHA, 2.0 * (1.0 - _NORMAL.cdf(_NORMAL.inv_cdf(1.0 - ALPHA / 2.0) / math.sqrt(min(t, 1.0)))))


def look_z(before: float, t: float) -> float:
    """The two-sided predictive quantile of a look at fraction t after one at ``before``: the error
    spent between them, spent(t) - spent(before), taken as this look's own (Bonferroni over looks,
    so the chance that any look of a cell makes a call the full set would not is at most ``ALPHA``
    per call)."""
    step = spent(t) - spent(before)
    return Z_MAX if step <= 0 else min(Z_MAX, _NORMAL.inv_cdf(1.0 - step / 2.0))


def _predict(
    mv: MetricValue,
    threshold: float,
    m: int,
    n: int,
    z: float,
    interval_too: bool = False,
    guess: Prediction | None = None,
) -> str | None:
    """The call "above" / "below" (at or below) ``threshold`` that all n images would make, predicted
    from m with quantile z (see ``StopRule``): for the point estimate, or (``interval_too``) for the
    whole 95% interval, whose reported bounds must then lie on that side already, and which may also
    be predicted to "straddle" the threshold. ``guess``: the stratified prediction of the full-set
    estimate; without one, the cell's estimate moving by z se sqrt((n - m) / n), se from the
    bootstrap width (at least 3/m / 3.92). None: not predictable yet."""
    if mv.ci_low is None or mv.ci_high is None:
        return None
    se = max(mv.ci_high - mv.ci_low, 3.0 / m) / (2 * Z)
    if guess is None:
        guess = Prediction(mv.value, se * math.sqrt((n - m) / n))
    center, move = guess.center, z * guess.sd
    shrink = math.sqrt(m / n)  # the full set's interval: the m-image one, narrower by sqrt(m / n)
    half = Z * se * shrink if interval_too else 0.0
    # the stopped cell shows its own m-image figures: they must make the predicted call already
    # (the interval's bounds for the verdict, the point estimate for the collapse call)
    if center - move - half > threshold:
        return "above" if (mv.ci_low if interval_too else mv.value) > threshold else None
    if center + move + half <= threshold:
        return "below" if (mv.ci_high if interval_too else mv.value) <= threshold else None
    low, high = (mv.value - mv.ci_low) * shrink, (mv.ci_high - mv.value) * shrink
    if interval_too and center + move - low <= threshold < center - move + high:
        return "straddles"
    return None
