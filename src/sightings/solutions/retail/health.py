"""Camera health and drift: per-frame statistics gathered while tracking → ``alerts`` rows.

While a video is tracked, :class:`FrameStatsCollector` (a ``track_video`` ``on_frame`` callback) keeps, for every
analysed frame: the tracked people and their scores, the mean luma, and the mean absolute luma difference to the
previous analysed frame (on every 8th pixel, not averaged, so sensor noise keeps a live picture above zero).

| kind | raised when (thresholds in ``health``) | severity |
|---|---|---|
| camera_off | a recording gap (inside a file or between files) ≥ ``camera_off_s`` | warning; critical ≥ 1 h |
| black | mean luma < ``black_luma`` for ≥ ``black_s`` | critical |
| frozen | luma difference < ``frozen_diff`` between analysed frames for ≥ ``frozen_s`` | critical |
| empty_scene | nobody tracked for ≥ ``empty_scene_s`` | info |
| drift_count | PSI of people per frame (bins 0, 1, …, 5, 6+) vs the baseline ≥ ``drift_psi`` | warning; 2×: critical |
| drift_confidence | PSI of scores (10 bins over [0, 1]) vs the baseline ≥ ``drift_psi`` | warning; 2×: critical |

PSI (population stability index) = Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ) over bins (shares, floored at 1e-4); < 0.1 is
usually read as stable, 0.1–0.25 as a moderate shift, > 0.25 as a real one. The **baseline** of a camera is a
JSON file ``<baseline_dir>/<store>_<camera>.json``: the first run of a camera with at least
``min_baseline_frames`` analysed frames writes it; later runs are compared with it and never change it, unless
``retail run --update-baseline`` replaces it with the current run. :func:`camera_alerts` does all of that for one
video, for ``retail run`` and the ``retail`` batch job alike; of several runs of one camera at once (batch workers),
exactly one writes the baseline and the others are compared with it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sightings.core.atomic import atomic_create_bytes, atomic_write_text
from sightings.core.errors import InputError
from sightings.solutions.retail.config import HealthOptions
from sightings.solutions.retail.gaps import RecordingGap
from sightings.solutions.retail.inputs import VideoFile

if TYPE_CHECKING:
    from sightings.core.protocols import TrackedDetection
    from sightings.core.types import Frame

__all__ = [
    "Alert",
    "Baseline",
    "FrameStat",
    "FrameStatsCollector",
    "baseline_folder",
    "baseline_path",
    "camera_alerts",
    "create_baseline",
    "gap_alerts",
    "health_alerts",
    "load_baseline",
    "population_stability",
    "save_baseline",
]

COUNT_BINS = 7  # 0, 1, …, 5, 6+
SCORE_BINS = 10
_SUBSAMPLE = 8
_PSI_FLOOR = 1e-4


@dataclass(frozen=True, slots=True)
class FrameStat:
    """One analysed frame: seconds from the video start, people tracked, their scores, mean luma, change."""

    t_s: float
    people: int
    scores: tuple[float, ...] = ()
    luma: float = 128.0
    diff: float = math.inf
    """mean |Δluma| to the previous analysed frame (inf for the first)"""


@dataclass(slots=True)
class FrameStatsCollector:
    """``on_frame`` callback for :func:`sightings.vision.pipeline.track_video`: one :class:`FrameStat` per frame."""

    stats: list[FrameStat] = field(default_factory=list)
    _previous: Any = None

    def __call__(self, frame: Frame, tracked: Sequence[TrackedDetection]) -> None:
        rgb = np.asarray(frame.image)[::_SUBSAMPLE, ::_SUBSAMPLE].astype(np.float32)
        luma = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114 if rgb.ndim == 3 else rgb
        diff = math.inf
        if self._previous is not None and self._previous.shape == luma.shape:
            diff = float(np.abs(luma - self._previous).mean())
        self._previous = luma
        scores = tuple(float(td.detection.score) for td in tracked)
        self.stats.append(FrameStat(float(frame.t_s), len(tracked), scores, float(luma.mean()), diff))


@dataclass(frozen=True, slots=True)
class Alert:
    ts: datetime
    kind: str
    severity: str
    value: float
    message: str


@dataclass(frozen=True, slots=True)
class Baseline:
    """A camera's reference distributions (shares per bin) and how many frames made them."""

    count_hist: tuple[float, ...]
    score_hist: tuple[float, ...]
    frames: int
    source: str = ""

    @classmethod
    def of(cls, stats: Sequence[FrameStat], *, source: str = "") -> Baseline:
        counts = np.zeros(COUNT_BINS)
        for s in stats:
            counts[min(s.people, COUNT_BINS - 1)] += 1
        scores = np.zeros(SCORE_BINS)
        for s in stats:
            for score in s.scores:
                scores[min(int(max(score, 0.0) * SCORE_BINS), SCORE_BINS - 1)] += 1
        count_hist = tuple(float(v) for v in counts / max(counts.sum(), 1))
        score_hist = tuple(float(v) for v in scores / scores.sum()) if scores.sum() else ()
        return cls(count_hist, score_hist, len(stats), source)


def population_stability(expected: Sequence[float], actual: Sequence[float]) -> float:
    """PSI between two histograms of shares (same bins); 0 = the same distribution."""
    if len(expected) != len(actual) or not expected:
        raise InputError("histograms need the same, non-zero number of bins", where="psi")
    e = np.maximum(np.asarray(expected, dtype=np.float64), _PSI_FLOOR)
    a = np.maximum(np.asarray(actual, dtype=np.float64), _PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def baseline_folder(options: HealthOptions) -> Path:
    """Where the cameras' baselines are: ``health.baseline_dir``, else ``<data_dir>/retail/baselines``."""
    if options.baseline_dir:
        return Path(options.baseline_dir)
    from sightings.core.config import get_settings

    return get_settings().data_dir / "retail" / "baselines"


def baseline_path(folder: Path, video: VideoFile) -> Path:
    return folder / f"{video.store}_{video.camera}.json"


def load_baseline(path: Path) -> Baseline | None:
    """The baseline at ``path``, None if there is none; a damaged file is an InputError naming it."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Baseline(
            tuple(float(v) for v in data["count_hist"]),
            tuple(float(v) for v in data["score_hist"]),
            int(data["frames"]),
            str(data.get("source", "")),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"unreadable drift baseline ({exc}); delete it or run with --update-baseline", where=path
        ) from None


def _baseline_json(baseline: Baseline) -> str:
    payload = {
        "count_hist": baseline.count_hist,
        "score_hist": baseline.score_hist,
        "frames": baseline.frames,
        "source": baseline.source,
    }
    return json.dumps(payload, indent=2)


def save_baseline(path: Path, baseline: Baseline) -> None:
    """Write (or replace) the baseline at ``path``."""
    atomic_write_text(path, _baseline_json(baseline))


def create_baseline(path: Path, baseline: Baseline) -> bool:
    """Write the baseline at ``path`` unless one is there: True when this call wrote it (one winner in a race)."""
    return atomic_create_bytes(path, _baseline_json(baseline).encode("utf-8"))


def _spans(flags: Sequence[bool], times: Sequence[float], step_s: float) -> list[tuple[float, float]]:
    """(start, end) seconds of runs of consecutive True flags; a time jump > 2 steps breaks a run."""
    spans: list[tuple[float, float]] = []
    start: float | None = None
    last = 0.0
    for flag, t in zip(flags, times, strict=True):
        if start is not None and (not flag or t - last > 2 * step_s + 1e-6):
            spans.append((start, last + step_s))
            start = None
        if flag and start is None:
            start = t
        last = t
    if start is not None:
        spans.append((start, last + step_s))
    return spans


def _fmt_s(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 120 else f"{seconds:.0f} s"


_GAP_PLACES = {"in_file": "inside the file", "between_files": "between files", "not_recorded": "in opening hours"}


def gap_alerts(gaps: Sequence[RecordingGap], options: HealthOptions) -> list[Alert]:
    """A ``camera_off`` alert for every gap of at least ``camera_off_s`` (critical from an hour)."""
    return [
        Alert(
            gap.started_at,
            "camera_off",
            "critical" if gap.duration_s >= 3600 else "warning",
            gap.duration_s,
            f"no video for {_fmt_s(gap.duration_s)} ({_GAP_PLACES.get(gap.kind, gap.kind)})",
        )
        for gap in gaps
        if gap.duration_s >= options.camera_off_s
    ]


def health_alerts(
    video: VideoFile,
    stats: Sequence[FrameStat],
    *,
    step_s: float,
    gaps: Sequence[RecordingGap],
    options: HealthOptions,
    baseline: Baseline | None,
) -> list[Alert]:
    """Every alert for one video (see the table in the module doc), sorted by time."""
    start = video.started_at
    alerts: list[Alert] = []

    def at(t_s: float) -> datetime:
        return start + timedelta(seconds=t_s)

    alerts.extend(gap_alerts(gaps, options))
    times = [s.t_s for s in stats]
    checks = (
        ("black", [s.luma < options.black_luma for s in stats], options.black_s, "critical", "black picture"),
        ("frozen", [s.diff < options.frozen_diff for s in stats], options.frozen_s, "critical", "frozen picture"),
        ("empty_scene", [s.people == 0 for s in stats], options.empty_scene_s, "info", "nobody in view"),
    )
    for kind, flags, limit, severity, what in checks:
        for first, end in _spans(flags, times, step_s):
            # frozen: the first frozen frame is the one before the first unchanged difference
            begin = first - step_s if kind == "frozen" else first
            if end - begin >= limit:
                alerts.append(Alert(at(begin), kind, severity, end - begin, f"{what} for {_fmt_s(end - begin)}"))
    if baseline is not None and stats:
        current = Baseline.of(stats)
        pairs = (
            ("drift_count", baseline.count_hist, current.count_hist, "people per frame"),
            ("drift_confidence", baseline.score_hist, current.score_hist, "detection scores"),
        )
        for kind, expected, actual, what in pairs:
            if not expected or not actual or len(expected) != len(actual):
                continue
            psi = population_stability(expected, actual)
            if psi >= options.drift_psi:
                severity = "critical" if psi >= 2 * options.drift_psi else "warning"
                alerts.append(
                    Alert(at(stats[0].t_s), kind, severity, psi, f"{what} drifted from the baseline (PSI {psi:.2f})")
                )
    return sorted(alerts, key=lambda a: (a.ts, a.kind))


def camera_alerts(
    video: VideoFile,
    stats: Sequence[FrameStat],
    *,
    step_s: float,
    gaps: Sequence[RecordingGap],
    options: HealthOptions,
    update_baseline: bool = False,
) -> list[Alert]:
    """:func:`health_alerts` of one video with drift against its camera's baseline (in :func:`baseline_folder`).

    With no baseline yet, a run with at least ``min_baseline_frames`` analysed frames becomes it and raises no
    drift; when another run of the camera wrote one first (parallel batch items), this run is compared with that
    one. ``update_baseline`` replaces the baseline with this run.
    """
    path = baseline_path(baseline_folder(options), video)
    baseline = None if update_baseline else load_baseline(path)
    if baseline is None and len(stats) >= options.min_baseline_frames:
        mine = Baseline.of(stats, source=video.run_id)
        if update_baseline:
            save_baseline(path, mine)
        elif not create_baseline(path, mine):
            baseline = load_baseline(path)  # another run of this camera made it a moment ago
    return health_alerts(video, stats, step_s=step_s, gaps=gaps, options=options, baseline=baseline)
