"""Visual feature modules: cut_detection, shot_quality, video_pacing, story_structure, similarity_metrics."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sightings.solutions.content.context import ModuleContext
from sightings.solutions.content.scan import frame_distances
from sightings.solutions.content.spec import ModuleSkipped, OutputField, RawOutput, feature_module
from sightings.vision.image_quality import laplacian_variance

__all__ = ["image_quality"]

F32, I32, I8 = "float32", "int32", "int8"


@feature_module(
    "cut_detection",
    version="1",
    inputs=("scan", "shots"),
    schema={
        "cut_frame": OutputField(I32, ("n_cuts",), lo=1, description="first frame of the new shot"),
        "cut_t_s": OutputField(F32, ("n_cuts",), lo=0),
        "cut_kind": OutputField(I8, ("n_cuts",), 0, 1, description="0 hard cut, 1 gradual (dissolve/fade)"),
        "cut_start": OutputField(I32, ("n_cuts",), lo=0),
        "cut_end": OutputField(I32, ("n_cuts",), lo=0),
        "confidence": OutputField(F32, ("n_cuts",), lo=0.0, hi=1.0),
        "change": OutputField(F32, ("n_frames",), lo=0.0, hi=1.0, non_empty=True, description="d(t-1, t) per frame"),
        "shot_start": OutputField(I32, ("n_shots",), lo=0, non_empty=True),
        "shot_start_s": OutputField(F32, ("n_shots",), lo=0, non_empty=True),
        "shot_end_s": OutputField(F32, ("n_shots",), lo=0, non_empty=True),
    },
)
def cut_detection(ctx: ModuleContext) -> RawOutput:
    """Hard cuts and gradual transitions with a confidence each; shot boundaries."""
    times = ctx.scan.times_s
    trs = [t for t in ctx.transitions if t.frame > 0]
    return {
        "cut_frame": np.array([t.frame for t in trs]),
        "cut_t_s": np.array([times[t.frame] for t in trs]),
        "cut_kind": np.array([0 if t.kind == "cut" else 1 for t in trs]),
        "cut_start": np.array([t.start for t in trs]),
        "cut_end": np.array([t.end for t in trs]),
        "confidence": np.array([t.confidence for t in trs]),
        "change": ctx.change,
        "shot_start": np.array([s.start for s in ctx.shots]),
        "shot_start_s": np.array([s.start_s for s in ctx.shots]),
        "shot_end_s": np.array([s.end_s for s in ctx.shots]),
    }


def image_quality(image: npt.NDArray[np.uint8]) -> tuple[float, float, float, float, float, float]:
    """(sharpness, exposure, clipped fraction, contrast, noise, colourfulness) of one RGB frame."""
    import cv2

    rgb = image.astype(np.float32)
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    sharpness = laplacian_variance(gray)
    exposure = float(gray.mean()) / 255.0
    clipped = float(((gray < 5) | (gray > 250)).mean())
    contrast = float(gray.std()) / 255.0
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    h, w = gray.shape
    # Immerkær's fast noise estimate (sigma in grey levels)
    noise = float(
        np.sqrt(np.pi / 2) * np.abs(cv2.filter2D(gray.astype(np.float32), -1, kernel)[1:-1, 1:-1]).sum()
    ) / max(1.0, 6.0 * (w - 2) * (h - 2))
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    colourfulness = float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
    return sharpness, exposure, clipped, contrast, noise, colourfulness


@feature_module(
    "shot_quality",
    version="1",
    inputs=("frames", "shots", "scan"),
    schema={
        "sharpness": OutputField(F32, ("n_shots",), lo=0, description="variance of the Laplacian"),
        "exposure": OutputField(F32, ("n_shots",), lo=0.0, hi=1.0, description="mean luma / 255"),
        "clipped": OutputField(F32, ("n_shots",), lo=0.0, hi=1.0, description="fraction of crushed or blown pixels"),
        "contrast": OutputField(F32, ("n_shots",), lo=0.0, hi=1.0, description="luma std / 255"),
        "noise": OutputField(F32, ("n_shots",), lo=0, description="noise sigma, grey levels (Immerkær)"),
        "colourfulness": OutputField(F32, ("n_shots",), lo=0, description="Hasler-Süsstrunk"),
        "shake": OutputField(F32, ("n_shots",), lo=0, description="jitter of frame-to-frame change in the shot"),
        "has_frame": OutputField("bool", ("n_shots",), description="a frame was analysed for this shot"),
    },
)
def shot_quality(ctx: ModuleContext) -> RawOutput:
    """Sharpness, exposure, contrast, noise, colourfulness and camera shake per shot."""
    rows = []
    shake = []
    has = []
    for shot in ctx.shots:
        frames = ctx.frames_in(shot)
        if not frames:
            rep = ctx.shot_frame(shot)
            frames = [rep] if rep is not None else []
        if frames:
            rows.append(np.mean([image_quality(f.image) for f in frames[:4]], axis=0))
            has.append(True)
        else:
            rows.append(np.zeros(6))
            has.append(False)
        d = ctx.change[shot.start + 1 : shot.end + 1]
        if d.size >= 5:
            smooth = np.convolve(d, np.ones(5) / 5, mode="same")
            shake.append(float(np.std(d - smooth)))
        else:
            shake.append(0.0)
    table = np.array(rows, np.float64).reshape(-1, 6)
    keys = ("sharpness", "exposure", "clipped", "contrast", "noise", "colourfulness")
    out: RawOutput = {k: table[:, i] for i, k in enumerate(keys)}
    out["shake"] = np.array(shake)
    out["has_frame"] = np.array(has, bool)
    return out


def _window_means(
    times: npt.NDArray[np.float64], values: npt.NDArray[np.float32], starts: npt.NDArray[np.float64], step: float
) -> npt.NDArray[np.float64]:
    idx = np.clip(np.floor(times / step).astype(np.int64), 0, starts.size - 1)
    sums = np.bincount(idx, weights=values.astype(np.float64), minlength=starts.size)
    counts = np.bincount(idx, minlength=starts.size)
    return np.asarray(sums / np.maximum(1, counts))


@feature_module(
    "video_pacing",
    version="1",
    inputs=("scan", "shots"),
    schema={
        "cuts_per_minute": OutputField(F32, (), lo=0),
        "shot_length_s": OutputField(F32, ("n_shots",), lo=0, non_empty=True),
        "shot_length_mean_s": OutputField(F32, (), lo=0),
        "shot_length_median_s": OutputField(F32, (), lo=0),
        "shot_length_std_s": OutputField(F32, (), lo=0),
        "shot_length_min_s": OutputField(F32, (), lo=0),
        "shot_length_max_s": OutputField(F32, (), lo=0),
        "window_t_s": OutputField(F32, ("n_windows",), lo=0, non_empty=True),
        "motion_energy": OutputField(
            F32,
            ("n_windows",),
            lo=0.0,
            hi=1.0,
            non_empty=True,
            description="mean frame-to-frame change per window, cuts excluded",
        ),
    },
)
def video_pacing(ctx: ModuleContext) -> RawOutput:
    """Cuts per minute, shot-length statistics, motion energy over time."""
    lengths = np.array([s.length_s for s in ctx.shots])
    minutes = max(ctx.scan.duration_s, 1e-6) / 60.0
    change = ctx.change.copy()
    for tr in ctx.transitions:
        change[tr.start : tr.end + 1] = 0.0  # transitions are not motion
    starts = ctx.windows()
    motion = _window_means(ctx.scan.times_s, change, starts, ctx.options.window_s)
    return {
        "cuts_per_minute": (len(ctx.shots) - 1) / minutes,
        "shot_length_s": lengths,
        "shot_length_mean_s": lengths.mean(),
        "shot_length_median_s": np.median(lengths),
        "shot_length_std_s": lengths.std(),
        "shot_length_min_s": lengths.min(),
        "shot_length_max_s": lengths.max(),
        "window_t_s": starts,
        "motion_energy": motion,
    }


@feature_module(
    "story_structure",
    version="1",
    inputs=("scan", "shots"),
    schema={
        "window_t_s": OutputField(F32, ("n_windows",), lo=0, non_empty=True),
        "energy": OutputField(
            F32,
            ("n_windows",),
            lo=0.0,
            hi=1.0,
            non_empty=True,
            description="motion + cut density, scaled to [0, 1] within the video",
        ),
        "novelty": OutputField(
            F32,
            ("n_windows",),
            lo=0.0,
            hi=1.0,
            non_empty=True,
            description="how far each window's look is from everything before it",
        ),
        "hook_strength": OutputField(
            F32, (), lo=0, hi=4.0, description="mean energy of the first hook_s seconds / the video's mean"
        ),
        "peak_position": OutputField(F32, (), lo=0.0, hi=1.0, description="time of the energy peak / duration"),
    },
)
def story_structure(ctx: ModuleContext) -> RawOutput:
    """Energy and novelty curves, hook strength in the first seconds, position of the peak."""
    step = ctx.options.window_s
    starts = ctx.windows()
    times = ctx.scan.times_s
    change = ctx.change.copy()
    cut_density = np.zeros_like(change)
    for tr in ctx.transitions:
        change[tr.start : tr.end + 1] = 0.0
        cut_density[min(tr.frame, change.size - 1)] = 1.0
    motion = _window_means(times, change, starts, step)
    cuts = np.bincount(
        np.clip(np.floor(times[cut_density > 0] / step).astype(np.int64), 0, starts.size - 1), minlength=starts.size
    ).astype(np.float64)
    raw = motion / max(1e-6, float(motion.max())) + 0.5 * np.minimum(1.0, cuts)
    energy = raw / max(1e-6, float(raw.max()))
    # Novelty: distance of each window's mean histogram to the mean of all earlier windows.
    idx = np.clip(np.floor(times / step).astype(np.int64), 0, starts.size - 1)
    hists = ctx.scan.hists.astype(np.float64)
    sums = np.zeros((starts.size, hists.shape[1]))
    np.add.at(sums, idx, hists)
    counts = np.maximum(1, np.bincount(idx, minlength=starts.size))[:, None]
    means = sums / counts
    novelty = np.zeros(starts.size)
    running = np.cumsum(means, axis=0)
    for k in range(1, starts.size):
        novelty[k] = 0.5 * np.abs(means[k] - running[k - 1] / k).sum()
    n_hook = max(1, int(np.ceil(ctx.options.hook_s / step)))
    hook = float(energy[:n_hook].mean()) / max(1e-6, float(energy.mean()))
    peak = float(starts[int(np.argmax(energy))] + step / 2) / max(step, ctx.scan.duration_s)
    return {
        "window_t_s": starts,
        "energy": energy,
        "novelty": np.clip(novelty, 0, 1),
        "hook_strength": min(4.0, hook),
        "peak_position": min(1.0, peak),
    }


@feature_module(
    "similarity_metrics",
    version="1",
    inputs=("scan", "shots"),
    schema={
        "self_similarity": OutputField(F32, ("n_shots", "n_shots"), lo=0.0, hi=1.0, non_empty=True),
        "adjacent_similarity": OutputField(F32, ("n_pairs",), lo=0.0, hi=1.0),
        "repetition": OutputField(F32, (), lo=0.0, hi=1.0, description="share of shots that look like an earlier shot"),
        "mean_similarity": OutputField(F32, (), lo=0.0, hi=1.0),
    },
)
def similarity_metrics(ctx: ModuleContext) -> RawOutput:
    """Shot-to-shot visual similarity, repetition, self-similarity matrix."""
    if not ctx.shots:
        raise ModuleSkipped("no shots")
    mids = np.array([(s.start + s.end) // 2 for s in ctx.shots], np.intp)
    n = mids.size
    a, b = np.meshgrid(mids, mids, indexing="ij")
    sim = 1.0 - frame_distances(ctx.scan.grids, ctx.scan.hists, a.ravel(), b.ravel()).reshape(n, n)
    np.fill_diagonal(sim, 1.0)
    adjacent = np.array([sim[i, i + 1] for i in range(n - 1)])
    repeated = [bool((sim[i, :i] > 0.85).any()) for i in range(1, n)]
    off = sim[~np.eye(n, dtype=bool)]
    return {
        "self_similarity": np.clip(sim, 0, 1),
        "adjacent_similarity": np.clip(adjacent, 0, 1),
        "repetition": float(np.mean(repeated)) if repeated else 0.0,
        "mean_similarity": float(np.clip(off.mean(), 0, 1)) if off.size else 1.0,
    }
