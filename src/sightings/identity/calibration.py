"""Calibrated confidence: a match score → P(same individual), and the open-set threshold for a target precision.

    cal = fit_calibrator(scores, labels, method="isotonic", embedder="color-texture", score_kind="cosine")
    choice = choose_threshold(cal.predict(top1_scores), top1_correct, target_precision=0.95)
    cal = cal.with_threshold(choice)
    cal.save(gallery_dir)                  # <gallery_dir>/calibration.json, written atomically
    cal = load_calibrator(gallery_dir, embedder="color-texture", score_kind="cosine")

Fit it on validation pairs (each query's top-k candidate identities, labelled same/different) from a split that
is not the one you report. ``isotonic`` is a monotone step function (scikit-learn's IsotonicRegression, clipped
outside the fitted range); ``platt`` is a logistic curve on the score. The saved file holds the fitted curve as
numbers, so loading it needs neither scikit-learn nor the training data. A calibrator belongs to one embedder and
one score kind: loading it for another is a :class:`ConfigError`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from sightings.core.atomic import atomic_write_text
from sightings.core.errors import ConfigError, InputError, IntegrityError, NotFoundError
from sightings.core.json_files import read_json

__all__ = [
    "CALIBRATION_FILE",
    "METHODS",
    "SCHEMA_VERSION",
    "Calibrator",
    "ThresholdChoice",
    "choose_threshold",
    "embedder_key",
    "fit_calibrator",
    "load_calibrator",
]

SCHEMA_VERSION = 1
CALIBRATION_FILE = "calibration.json"
FORMAT = "sightings.calibrator"
Method = Literal["isotonic", "platt"]
METHODS: tuple[Method, ...] = ("isotonic", "platt")


def embedder_key(name: str, options: dict[str, Any] | None = None) -> str:
    """A stable text key of an embedder and its options, e.g. ``projected{"head": "lions-lda"}``."""
    return name if not options else f"{name}{json.dumps(options, sort_keys=True, default=str)}"


@dataclass(frozen=True, slots=True)
class ThresholdChoice:
    """An open-set threshold on calibrated probability and what it achieved on the decisions it was chosen on."""

    threshold: float  # accept a candidate when its probability is >= threshold
    target_precision: float
    precision: float
    recall: float
    accepted: int
    achieved: bool  # False: no threshold reaches the target; nothing is accepted


@dataclass(frozen=True, slots=True)
class Calibrator:
    """A fitted monotone map from a match score to the probability that the pair is the same individual."""

    method: Method
    embedder: str
    score_kind: str
    knots_x: tuple[float, ...] = ()  # isotonic: score knots (increasing)
    knots_y: tuple[float, ...] = ()  # isotonic: probability at each knot
    platt_slope: float = 0.0  # platt: P = 1 / (1 + exp(-(slope * score + intercept)))
    platt_intercept: float = 0.0
    threshold: ThresholdChoice | None = None
    fit_pairs: int = 0
    fit_positives: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(
                f"unknown calibration method {self.method!r}; known: {', '.join(METHODS)}", where="method"
            )
        if self.method == "isotonic" and (len(self.knots_x) == 0 or len(self.knots_x) != len(self.knots_y)):
            raise InputError("isotonic calibrator needs matching, non-empty knots", where="calibrator")

    def predict(self, scores: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """P(same individual) for each score, in [0, 1]; non-decreasing in the score."""
        s = np.asarray(scores, np.float64)
        if not np.isfinite(s).all():
            raise InputError("scores contain NaN or infinite values", where="calibrator")
        if self.method == "isotonic":
            out = np.interp(s, np.asarray(self.knots_x), np.asarray(self.knots_y))
        else:
            z = np.clip(self.platt_slope * s + self.platt_intercept, -500, 500)
            out = 1.0 / (1.0 + np.exp(-z))
        return np.asarray(np.clip(out, 0.0, 1.0), np.float64)

    def accepts(self, scores: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Open-set decision per score: True = "this candidate", False = "unknown"."""
        if self.threshold is None:
            raise ConfigError("calibrator has no open-set threshold; choose one first", where="calibrator")
        return np.asarray(self.predict(scores) >= self.threshold.threshold, bool)

    def with_threshold(self, choice: ThresholdChoice) -> Calibrator:
        return replace(self, threshold=choice)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "method": self.method,
            "embedder": self.embedder,
            "score_kind": self.score_kind,
            "isotonic": {"x": list(self.knots_x), "y": list(self.knots_y)} if self.method == "isotonic" else None,
            "platt": {"slope": self.platt_slope, "intercept": self.platt_intercept} if self.method == "platt" else None,
            "threshold": asdict(self.threshold) if self.threshold else None,
            "fit": {"pairs": self.fit_pairs, "positives": self.fit_positives},
            "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "calibrator") -> Calibrator:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise IntegrityError("not a sightings calibrator file", where=where)
        version = data.get("schema_version")
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise ConfigError(
                f"calibrator schema version {version!r} is not supported (this version reads <= {SCHEMA_VERSION})",
                where=where,
            )
        try:
            iso, platt, thr, fit = data["isotonic"] or {}, data["platt"] or {}, data["threshold"], data["fit"]
            return cls(
                method=data["method"],
                embedder=str(data["embedder"]),
                score_kind=str(data["score_kind"]),
                knots_x=tuple(float(v) for v in iso.get("x", ())),
                knots_y=tuple(float(v) for v in iso.get("y", ())),
                platt_slope=float(platt.get("slope", 0.0)),
                platt_intercept=float(platt.get("intercept", 0.0)),
                threshold=ThresholdChoice(**thr) if thr else None,
                fit_pairs=int(fit["pairs"]),
                fit_positives=int(fit["positives"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise IntegrityError(f"corrupt calibrator file: {err!r}", where=where) from err

    def save(self, path: str | Path) -> Path:
        """Write atomically to ``path`` (a ``.json`` file, or a folder such as a gallery's: ``calibration.json``)."""
        target = _file_path(path)
        atomic_write_text(target, json.dumps(self.to_dict(), indent=2) + "\n")
        return target


def _file_path(path: str | Path) -> Path:
    p = Path(path)
    return p / CALIBRATION_FILE if p.is_dir() or p.suffix.lower() != ".json" else p


def load_calibrator(path: str | Path, *, embedder: str | None = None, score_kind: str | None = None) -> Calibrator:
    """Read a saved calibrator; with ``embedder``/``score_kind`` given, refuse one fitted for others.

    Raises:
        NotFoundError: no file. IntegrityError: not JSON or not a calibrator.
        ConfigError: a newer schema, or fitted for another embedder or score kind.
    """
    target = _file_path(path)
    if not target.is_file():
        raise NotFoundError("no calibrator file", where=target)
    data = read_json(target, "calibrator file")
    cal = Calibrator.from_dict(data, where=str(target))
    if embedder is not None and cal.embedder != embedder:
        raise ConfigError(
            f"calibrator was fitted for embedder {cal.embedder!r}, not {embedder!r}; refit it for this embedder",
            where=target,
        )
    if score_kind is not None and cal.score_kind != score_kind:
        raise ConfigError(f"calibrator was fitted for {cal.score_kind!r} scores, not {score_kind!r}", where=target)
    return cal


def _check_pairs(scores: npt.ArrayLike, labels: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    s, y = np.asarray(scores, np.float64).ravel(), np.asarray(labels).ravel()
    if s.shape != y.shape:
        raise InputError(f"{len(s)} scores but {len(y)} labels", where="calibration pairs")
    if len(s) == 0:
        raise InputError("no pairs to fit on", where="calibration pairs")
    if not np.isfinite(s).all():
        raise InputError("scores contain NaN or infinite values", where="calibration pairs")
    if not np.isin(y, (0, 1, True, False)).all():
        raise InputError("labels must be 0/1 (same individual or not)", where="calibration pairs")
    yb = y.astype(bool)
    if yb.all() or not yb.any():
        kind = "same-individual" if yb.all() else "different-individual"
        raise InputError(
            f"all {len(yb)} pairs are {kind}: calibration needs both matching and non-matching pairs",
            where="calibration pairs",
        )
    return s, yb


def fit_calibrator(
    scores: npt.ArrayLike,
    labels: npt.ArrayLike,
    *,
    method: Method = "isotonic",
    embedder: str,
    score_kind: str,
) -> Calibrator:
    """Fit score → P(same individual) on labelled pairs (label 1 = same individual).

    Raises:
        InputError: mismatched lengths, non-finite scores, or a single class of pairs.
        ConfigError: an unknown method.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown calibration method {method!r}; known: {', '.join(METHODS)}", where="method")
    s, y = _check_pairs(scores, labels)
    base = Calibrator(
        method,
        embedder=embedder,
        score_kind=score_kind,
        knots_x=(0.0,),
        knots_y=(0.0,),
        fit_pairs=len(s),
        fit_positives=int(y.sum()),
    )
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(s, y.astype(float))
        return replace(
            base,
            knots_x=tuple(float(v) for v in iso.X_thresholds_),
            knots_y=tuple(float(v) for v in iso.y_thresholds_),
        )
    from sklearn.linear_model import LogisticRegression

    scale = float(s.std()) or 1.0  # fit on a standardised score for a well-conditioned solve
    center = float(s.mean())
    lr = LogisticRegression(C=1e4).fit(((s - center) / scale)[:, None], y.astype(int))
    slope = float(lr.coef_[0, 0]) / scale
    intercept = float(lr.intercept_[0]) - slope * center
    return replace(base, knots_x=(), knots_y=(), platt_slope=slope, platt_intercept=intercept)


def choose_threshold(
    probabilities: npt.ArrayLike,
    correct: npt.ArrayLike,
    *,
    target_precision: float = 0.95,
    n_known: int | None = None,
) -> ThresholdChoice:
    """The lowest probability threshold whose accepted decisions reach ``target_precision`` (the most recall).

    ``probabilities`` are one per query (its best candidate's), ``correct`` whether that candidate is the query's
    own identity (always False for a query whose individual is not in the gallery). Recall is over ``n_known``
    (default: the number of correct decisions). When no threshold reaches the target, the threshold is just above
    the highest probability (nothing accepted) and ``achieved`` is False.
    """
    if not 0.0 < target_precision <= 1.0:
        raise InputError(f"must be in (0, 1], got {target_precision:g}", where="target_precision")
    p, c = np.asarray(probabilities, np.float64).ravel(), np.asarray(correct, bool).ravel()
    if len(p) == 0 or p.shape != c.shape:
        raise InputError("needs one probability and one correct flag per decision", where="choose_threshold")
    known = int(c.sum()) if n_known is None else n_known
    order = np.argsort(-p, kind="stable")
    ps, cs = p[order], c[order]
    right = np.cumsum(cs)
    accepted = np.arange(1, len(ps) + 1)
    cut = np.r_[ps[1:] != ps[:-1], True]
    precision = right / accepted
    ok = cut & (precision >= target_precision - 1e-12)
    if not ok.any():
        return ThresholdChoice(float(np.nextafter(ps[0], math.inf)), target_precision, 1.0, 0.0, 0, achieved=False)
    i = int(np.flatnonzero(ok)[-1])
    return ThresholdChoice(
        float(ps[i]), target_precision, float(precision[i]), float(right[i]) / max(1, known), int(i + 1), True
    )
