"""A run's summary and its PNG timeline: shots (with cut kinds), energy/novelty, motion, short-term loudness."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sightings.core.errors import SightingsError
from sightings.runner.run_folders import load_manifest, load_module

__all__ = ["run_summary", "write_timeline"]


def _maybe(run_dir: Path, manifest: dict[str, Any], name: str) -> dict[str, np.ndarray] | None:
    if manifest.get("modules", {}).get(name, {}).get("status") != "ok":
        return None
    try:
        return load_module(run_dir, name)
    except SightingsError:
        return None


def run_summary(run_dir: Path) -> dict[str, Any]:
    """Headline numbers of a run (JSON-ready)."""
    manifest = load_manifest(run_dir)
    out: dict[str, Any] = {
        "run_dir": str(run_dir),
        "video": manifest.get("source", {}).get("path"),
        "duration_s": manifest.get("source", {}).get("duration_s"),
        "shots": manifest.get("n_shots"),
        "config_hash": manifest.get("config_hash"),
        "x_real_time": manifest.get("x_real_time"),
        "warnings": manifest.get("warnings", []),
        "modules": {k: v.get("status") for k, v in manifest.get("modules", {}).items()},
    }
    scalars: dict[str, float] = {}
    for name in manifest.get("modules", {}):
        if out["modules"][name] == "ok":
            try:
                arrays = load_module(run_dir, name)
            except SightingsError as err:  # the manifest says ok, the file says otherwise: show that
                out["modules"][name] = f"ok in the manifest, but {err.reason} ({Path(err.where or '').name})"
                continue
        else:
            arrays = None
        for key, arr in (arrays or {}).items():
            if arr.ndim == 0 and arr.dtype.kind in "fiu":
                scalars[f"{name}.{key}"] = round(float(arr), 4)
    out["scalars"] = scalars
    return out


def _step(ax: Any, t: np.ndarray, v: np.ndarray, **kwargs: Any) -> None:
    """A step curve whose last window is drawn to its end (not cut at its start)."""
    if t.size == 0:
        return
    width = float(t[1] - t[0]) if t.size > 1 else 1.0
    ax.step(np.append(t, t[-1] + width), np.append(v, v[-1]), where="post", **kwargs)


def write_timeline(run_dir: Path, out_png: Path | None = None) -> Path:
    """Draw the timeline PNG (default ``<run_dir>/timeline.png``) and return its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    manifest = load_manifest(run_dir)
    duration = float(manifest.get("source", {}).get("duration_s") or 1.0)
    cuts = _maybe(run_dir, manifest, "cut_detection")
    story = _maybe(run_dir, manifest, "story_structure")
    pacing = _maybe(run_dir, manifest, "video_pacing")
    loud = _maybe(run_dir, manifest, "loudness")
    fig, axes = plt.subplots(3, 1, figsize=(12, 6), sharex=True, gridspec_kw={"height_ratios": [1, 2, 2]})
    ax = axes[0]
    if cuts is not None:
        starts, ends = cuts["shot_start_s"], cuts["shot_end_s"]
        for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
            ax.axvspan(s, e, color=plt.cm.tab20(i % 20), alpha=0.8)
        for t, kind in zip(cuts["cut_t_s"], cuts["cut_kind"], strict=True):
            ax.axvline(t, color="black" if kind == 0 else "tab:purple", lw=1.5, ls="-" if kind == 0 else "--")
        ax.set_title(f"{len(starts)} shots (solid: hard cut, dashed: gradual)", fontsize=9, loc="left")
    ax.set_yticks([])
    ax.set_ylabel("shots")
    ax = axes[1]
    if story is not None:
        t = story["window_t_s"]
        _step(ax, t, story["energy"], label="energy")
        _step(ax, t, story["novelty"], label="novelty", alpha=0.7)
    if pacing is not None:
        m = pacing["motion_energy"]
        _step(ax, pacing["window_t_s"], m / max(1e-6, float(m.max())), label="motion (scaled)", alpha=0.6)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("0-1")
    ax.legend(loc="upper right", fontsize=8)
    ax = axes[2]
    if loud is not None:
        _step(ax, loud["window_t_s"], loud["short_term_lufs"], color="tab:red")
        ax.axhline(float(loud["integrated_lufs"]), color="tab:red", ls=":", lw=1)
        ax.set_title(
            f"integrated {float(loud['integrated_lufs']):.1f} LUFS, LRA {float(loud['loudness_range_lu']):.1f} LU",
            fontsize=9,
            loc="left",
        )
    else:
        ax.text(
            0.5, 0.5, "no loudness (no audio track or module not run)", ha="center", va="center", transform=ax.transAxes
        )
    ax.set_ylabel("LUFS")
    ax.set_xlabel("time, s")
    ax.set_xlim(0, duration)
    fig.suptitle(f"{manifest.get('platform_id')}/{manifest.get('video_id')} run {manifest.get('run_id')}", fontsize=10)
    fig.tight_layout()
    target = out_png or run_dir / "timeline.png"
    fig.savefig(target, dpi=100)
    plt.close(fig)
    return target
