"""``sightings track VIDEO``: detect + track objects over sampled frames; MOT text + Parquet (+ preview).

Registered on the root app as ``app.command("track")(track)``. Errors are :class:`SightingsError`s (the root
group prints one line and exits with their code); bad flag combinations are typer ``BadParameter`` (exit 2).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import typer

from sightings.cli.common import console, echo_json, key_value_options, track_progress
from sightings.core.types import Frame
from sightings.vision.pipeline import DEFAULT_DETECTOR, DEFAULT_TRACKER
from sightings.vision.track.linking import DEFAULT_LINK_S
from sightings.vision.track.postprocess import DEFAULT_SMOOTH_S

__all__ = ["track"]


def track(
    video: Path = typer.Argument(..., metavar="VIDEO", help="Video file to track objects in."),
    *,
    out: Path = typer.Option(..., "--out", "-o", help="Output folder for tracks.txt (MOT) and tracks.parquet."),
    fps: float | None = typer.Option(None, "--fps", help="Analysis frames per second, e.g. 1 (default: every frame)."),
    stride: int | None = typer.Option(None, "--stride", help="Analyse every N-th frame (N >= 1)."),
    detector: str = typer.Option(
        DEFAULT_DETECTOR,
        "--detector",
        help="Detector registry name: centernet (default: CenterNet-MobileNetV3 COCO, one run a frame), ssd-oidv4 "
        "(with --tiles), yolo-onnx, ...",
    ),
    tracker: str = typer.Option(
        DEFAULT_TRACKER,
        "--tracker",
        help="Tracker registry name: botsort (default, colour gate), bytetrack, ocsort, ...",
    ),
    classes: str | None = typer.Option(None, "--classes", help="Comma-separated labels to keep, e.g. person,cat."),
    threshold: float | None = typer.Option(
        None, "--threshold", min=0.0, max=1.0, help="Detector score threshold (default: the detector's own)."
    ),
    tiles: str | None = typer.Option(
        None,
        "--tiles",
        help="Also detect on overlapping tiles (small, distant people), for a detector that tiles (ssd-oidv4): grids "
        "like 2x2,2x3 (its default, most accurate: 11 model runs a frame), one grid like 2x2 (5 runs), or none. "
        "The default detector (centernet) runs on the whole frame and takes no tiles.",
    ),
    detector_option: list[str] = typer.Option(
        [],
        "--detector-option",
        help="A detector option KEY=VALUE (repeatable), e.g. model_name=my-yolo for yolo-onnx (the model imported "
        "with `sightings models import`).",
    ),
    interpolate_s: float = typer.Option(
        1.0,
        "--interpolate-s",
        min=0.0,
        help="Fill gaps of up to this many seconds inside a track by interpolation (0 = off).",
    ),
    link_s: float = typer.Option(
        DEFAULT_LINK_S,
        "--link-s",
        min=0.0,
        help="Re-join tracks broken for up to this many seconds (motion, size and colour; 0 = off), "
        "before interpolation.",
    ),
    link_embedder: str | None = typer.Option(
        None,
        "--link-embedder",
        help="Compare people by this ONNX embed model in the models directory (a person re-ID model imported with "
        "`sightings models import`) instead of body colours when linking. None ships with sightings.",
    ),
    backward_check: bool = typer.Option(
        True,
        "--backward-check/--no-backward-check",
        help="Before linking, cut tracks where a backward tracking pass over the same boxes disagrees (identity swaps "
        "among people standing together); the linker joins the pieces again. Needs --link-s > 0; ~1 KB per box of "
        "memory until the video ends.",
    ),
    smooth_s: float = typer.Option(
        DEFAULT_SMOOTH_S,
        "--smooth-s",
        min=0.0,
        help="Last, replace each box by the mean of its track's boxes within this many seconds either side "
        "(steadier boxes; no effect when frames are further apart; 0 = off).",
    ),
    preview: Path | None = typer.Option(
        None, "--preview", help="Also draw boxes + ids into an .mp4, or a .png of the busiest frame."
    ),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable summary on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no summary line."),
) -> None:
    """Detect and track objects in VIDEO; write OUT/tracks.txt (MOT: frame,id,x,y,w,h,score) and tracks.parquet."""
    if fps is not None and stride is not None:
        raise typer.BadParameter("give at most one of --fps or --stride", param_hint="'--fps' / '--stride'")
    if fps is not None and not fps > 0:
        raise typer.BadParameter(f"must be > 0, got {fps}", param_hint="'--fps'")
    if stride is not None and stride < 1:
        raise typer.BadParameter(f"must be >= 1, got {stride}", param_hint="'--stride'")
    if preview is not None and preview.suffix.lower() not in (".mp4", ".png"):
        raise typer.BadParameter("must end in .mp4 or .png", param_hint="'--preview'")
    if out.exists() and not out.is_dir():
        raise typer.BadParameter("exists and is not a folder", param_hint="'--out'")
    if preview is not None and preview.is_dir():
        raise typer.BadParameter("is a folder, expected a file name", param_hint="'--preview'")
    wanted = [c.strip() for c in classes.split(",") if c.strip()] if classes else None

    from sightings.core.atomic import check_output_parent, make_output_dir
    from sightings.core.registry import DETECTORS, TRACKERS
    from sightings.evaluate.mot_io import write_mot
    from sightings.vision.draw import render_track_preview
    from sightings.vision.pipeline import accepts_option, tile_option, track_video, whole_frame
    from sightings.vision.track.linking import LinkOptions
    from sightings.vision.track_output import write_tracks_parquet

    for target in (out, preview):  # an output path that cannot be written fails before the tracking, not after
        if target is not None:
            check_output_parent(target)
    DETECTORS.check(detector)  # unknown names fail before the video is opened
    TRACKERS.check(tracker)
    if not whole_frame(tiles) and not accepts_option(detector, "tile"):
        raise typer.BadParameter(f"the {detector} detector takes no tiles (ssd-oidv4 does)", param_hint="'--tiles'")
    if not whole_frame(tiles) and not re.fullmatch(r"\d+x\d+(,\d+x\d+)*", (tiles or "").strip()):
        raise typer.BadParameter(f"expected grids like 2x2,2x3 or none, got {tiles!r}", param_hint="'--tiles'")
    detector_options = {
        **tile_option(detector, tiles if tiles is not None else "2x2,2x3"),
        **key_value_options(detector_option, "--detector-option"),
    } or None

    def show(frames: Iterator[Frame], total: int | None) -> Iterable[Frame]:
        return track_progress(frames, f"tracking {video.name}", total, quiet=quiet)

    result = track_video(
        video,
        detector=detector,
        tracker=tracker,
        fps=fps,
        stride=stride,
        classes=wanted,
        threshold=threshold,
        detector_options=detector_options,
        interpolate_gap_s=interpolate_s,
        link_s=link_s,
        link_options=None if backward_check else LinkOptions(backward_hold=0),
        link_embedder=link_embedder,
        smooth_s=smooth_s,
        progress=show,
    )
    make_output_dir(out)
    mot_path = write_mot(out / "tracks.txt", result.to_mot())
    parquet_path = write_tracks_parquet(out / "tracks.parquet", result.to_columns())
    # drawn from the written tracks (ids after linking, boxes after interpolation and smoothing)
    preview_path = (
        render_track_preview(preview, video, result.rows, fps=fps, stride=stride) if preview is not None else None
    )
    summary: dict[str, Any] = {
        "video": str(video),
        "detector": detector,
        "tracker": tracker,
        "tiles": (detector_options or {}).get("tile", "none"),
        "interpolate_s": interpolate_s,
        "link_s": link_s,
        "link_embedder": link_embedder,
        "backward_check": backward_check and bool(link_s),
        "smooth_s": smooth_s,
        **result.summary(),
        "mot": str(mot_path),
        "parquet": str(parquet_path),
        "preview": None if preview_path is None else str(preview_path),
    }
    if json_out:
        echo_json(summary)
    elif not quiet:
        console.print(
            f"{summary['tracks']} tracks, {summary['boxes']} boxes over {summary['frames']} frames "
            f"({summary['frames_per_s']} frames/s) → {out}"
        )
