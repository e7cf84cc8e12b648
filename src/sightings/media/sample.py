"""Frame sampling from video files, decoding only what the chosen frames need.

    sample_frames(path, fps=|stride=, start_s, end_s)     -> Iterator[Frame]   GOP-aware, skips undecoded GOPs
    decode_all_frames(path, fps=|stride=, start_s, end_s) -> Iterator[Frame]   baseline: decode all, keep some
    expected_sample_count(info, fps=|stride=, ...)        -> int | None        estimate (progress bar totals)
    write_samples(path, out_dir, fps=|stride=, ...)       -> dict              frame_NNNNNN.jpg + metadata.json

Which frames are chosen (both functions choose the same ones, with identical pixels):

- ``fps=F``: for each target time ``start_s + k/F`` the first frame whose time is at or after it;
- ``stride=N``: every frame whose presentation index is a multiple of ``N`` (counted from the file's first
  frame, so indices do not depend on ``start_s``);
- only frames with ``start_s <= t_s < end_s``. Times are seconds from the first frame; they are compared with a
  1 ms tolerance because containers such as Matroska round timestamps to milliseconds.

How :func:`sample_frames` avoids decoding (see docs/media.md): packets are demuxed in decode order and buffered
one GOP (keyframe to next keyframe) at a time. A complete GOP gives every frame's timestamp, hence each frame's
presentation index, so the frames to keep are known before anything is decoded. A GOP with none is dropped
undecoded. Otherwise a flushed decoder gets the packets from the keyframe up to the last chosen one, with
``skip_frame="NONREF"`` on packets that are not chosen (non-reference frames, most B-frames, are never
reconstructed), then is drained; only chosen frames are converted to RGB. Such GOP jobs are independent, so
``workers`` threads decode them in parallel, each with its own decoder, and results come back in order. Open
GOPs (frames shown before their keyframe) make the job decode the previous GOP first. Without packet
timestamps or keyframes (raw elementary streams, GOPs over
:data:`~sightings.media.gop_decoding.MAX_GOP_PACKETS`) it decodes everything.

The decoding machinery lives in :mod:`sightings.media.gop_decoding`. PyAV is imported on first use only; Pillow
only by :func:`write_samples`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from sightings.core.atomic import atomic_dir, atomic_write_text
from sightings.core.errors import InputError
from sightings.core.types import Frame
from sightings.media.gop_decoding import (
    CannotPlanError,
    GopReader,
    SamplingStats,
    Selector,
    decode_all,
    default_workers,
    sample_gops,
    validate_sampling,
)
from sightings.media.probe import VideoInfo, open_video, probe, video_info

__all__ = [
    "ProgressWrapper",
    "SamplingStats",
    "decode_all_frames",
    "expected_sample_count",
    "sample_frames",
    "write_samples",
]

log = logging.getLogger(__name__)

IMAGE_FORMATS = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG"}

ProgressWrapper = Callable[[Iterator[Frame], int | None], Iterable[Frame]]
"""Wraps the frame iterator for display, e.g. ``lambda frames, total: track_progress(frames, "sampling", total)``."""


# ----------------------------------------------------------------------------------------------- selection


def expected_sample_count(
    info: VideoInfo,
    *,
    fps: float | None = None,
    stride: int | None = None,
    start_s: float = 0.0,
    end_s: float | None = None,
) -> int | None:
    """About how many frames :func:`sample_frames` returns (exact for constant-rate files); None if unknown."""
    validate_sampling(fps, stride, start_s, end_s)
    if not info.frame_count:
        return None
    n_frames = info.frame_count
    duration = info.duration_s if info.duration_s is not None else n_frames / info.fps
    stop = duration if end_s is None else min(end_s, duration)
    if stop <= start_s:
        return 0
    first = math.ceil(start_s * info.fps - 1e-6)
    last = min(n_frames, math.ceil(stop * info.fps - 1e-6)) - 1  # inclusive
    if last < first:
        return 0
    if fps is None:
        step = stride or 1
        return last // step - (first - 1) // step if first > 0 else last // step + 1
    return min(last - first + 1, math.ceil((stop - start_s) * fps - 1e-6))


# ------------------------------------------------------------------------------------------------ decoding


def _open_and_run(
    path: str | os.PathLike[str],
    *,
    fps: float | None,
    stride: int | None,
    start_s: float,
    end_s: float | None,
    stats: SamplingStats | None,
    workers: int | None,
) -> Iterator[Frame]:
    """Open the file and run the GOP sampler (``workers`` >= 1) or the decode-everything baseline (None)."""
    counters = stats if stats is not None else SamplingStats()
    with open_video(path) as (container, stream):
        reader = GopReader(Path(path), container, stream, video_info(container, stream, path), counters)
        selector = Selector(fps, stride, start_s, end_s)
        if workers is None:
            yield from decode_all(reader, selector)
            return
        last_index = -1
        try:
            for frame in sample_gops(reader, selector, workers):
                last_index = frame.index
                yield frame
            return
        except CannotPlanError as why:
            log.info("%s: %s at %.2f s; decoding every frame instead", path, why, reader.last_t_s)
    # Start again the naive way; frames already returned (same selection, same order) are not repeated.
    counters.packets = 0
    for frame in _open_and_run(
        path, fps=fps, stride=stride, start_s=start_s, end_s=end_s, stats=counters, workers=None
    ):
        if frame.index > last_index:
            yield frame
        else:
            counters.frames_sampled -= 1  # returned before the restart


def sample_frames(
    path: str | os.PathLike[str],
    *,
    fps: float | None = None,
    stride: int | None = None,
    start_s: float = 0.0,
    end_s: float | None = None,
    stats: SamplingStats | None = None,
    workers: int | None = None,
) -> Iterator[Frame]:
    """Yield RGB frames of the video at ``path``: ``fps`` frames per second or every ``stride``-th frame.

    Exactly one of ``fps`` / ``stride``; only frames with ``start_s <= t_s < end_s``. Each :class:`Frame` has
    ``index`` = presentation frame index in the file and ``t_s`` = seconds from its first frame. GOPs without a
    chosen frame are never decoded (see the module docstring); the others are decoded by ``workers`` threads
    in parallel, one GOP each (default: one per CPU, at most 4). Pass ``stats`` to count the work done.
    The file is opened when iteration starts; argument errors are raised at once.

    Raises :class:`~sightings.core.errors.InputError` for bad arguments, and the errors of
    :func:`~sightings.media.probe.open_video` for bad files; damaged data mid-stream raises
    :class:`~sightings.core.errors.MediaError` naming the time, a truncated file one naming where it ends.
    """
    validate_sampling(fps, stride, start_s, end_s)
    if workers is None:
        workers = default_workers()
    elif isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError(f"must be an integer >= 1, got {workers!r}", where="workers")
    return _open_and_run(path, fps=fps, stride=stride, start_s=start_s, end_s=end_s, stats=stats, workers=workers)


def decode_all_frames(
    path: str | os.PathLike[str],
    *,
    fps: float | None = None,
    stride: int | None = None,
    start_s: float = 0.0,
    end_s: float | None = None,
    stats: SamplingStats | None = None,
) -> Iterator[Frame]:
    """Same frames as :func:`sample_frames`, the naive way: decode every frame and keep the chosen ones.

    The benchmark baseline and the correctness oracle of the tests.
    """
    validate_sampling(fps, stride, start_s, end_s)
    return _open_and_run(path, fps=fps, stride=stride, start_s=start_s, end_s=end_s, stats=stats, workers=None)


# ------------------------------------------------------------------------------------------------- writing


def _default_progress(frames: Iterator[Frame], total: int | None) -> Iterator[Frame]:
    """A transient rich progress bar on stderr (hidden when stderr is not a terminal)."""
    from rich.console import Console
    from rich.progress import Progress

    console = Console(stderr=True)
    with Progress(console=console, disable=not console.is_terminal, transient=True) as bar:
        yield from bar.track(frames, total=total, description="sampling frames")


def write_samples(
    path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    fps: float | None = None,
    stride: int | None = None,
    start_s: float = 0.0,
    end_s: float | None = None,
    image_format: str = "jpg",
    jpeg_quality: int = 90,
    overwrite: bool = False,
    progress: bool | ProgressWrapper = True,
) -> dict[str, Any]:
    """Sample frames of ``path`` into ``out_dir`` as ``frame_{index:06d}.jpg`` (or ``.png``) + ``metadata.json``.

    The folder appears complete or not at all (:func:`~sightings.core.atomic.atomic_dir`): any error midway
    leaves no output. An existing non-empty ``out_dir`` is an :class:`InputError` unless ``overwrite``.
    ``progress``: ``True`` for a rich bar on stderr, ``False`` for none, or a :data:`ProgressWrapper`.
    Returns the metadata written (``source`` probe info, ``sampling`` parameters, ``frames``: file, index, t_s)
    plus ``out_dir``, ``metadata_file`` and ``stats``.
    """
    ext = image_format.lower().lstrip(".")
    if ext not in IMAGE_FORMATS:
        raise InputError(f"must be one of jpg, png; got {image_format!r}", where="image_format")
    ext = "jpg" if ext == "jpeg" else ext
    if isinstance(jpeg_quality, bool) or not isinstance(jpeg_quality, int) or not 1 <= jpeg_quality <= 100:
        raise InputError(f"must be an integer in [1, 100], got {jpeg_quality!r}", where="jpeg_quality")
    validate_sampling(fps, stride, start_s, end_s)
    info = probe(path)
    if start_s > 0 and info.duration_s is not None and start_s >= info.duration_s:  # an empty folder says nothing
        raise InputError(f"{start_s:g} s is past the end of the video ({info.duration_s:.1f} s)", where="start_s")
    total = expected_sample_count(info, fps=fps, stride=stride, start_s=start_s, end_s=end_s)
    from PIL import Image

    save_options: dict[str, Any] = {"quality": jpeg_quality} if ext == "jpg" else {"compress_level": 3}
    stats = SamplingStats()
    t0 = time.perf_counter()
    frames = sample_frames(path, fps=fps, stride=stride, start_s=start_s, end_s=end_s, stats=stats)
    shown: Iterable[Frame]
    if progress is True:
        shown = _default_progress(frames, total)
    elif progress is False:
        shown = frames
    else:
        shown = progress(frames, total)
    records: list[dict[str, Any]] = []
    with atomic_dir(out_dir, overwrite=overwrite) as tmp:
        for frame in shown:
            name = f"frame_{frame.index:06d}.{ext}"
            Image.fromarray(frame.image).save(tmp / name, format=IMAGE_FORMATS[ext], **save_options)
            records.append({"file": name, "index": frame.index, "t_s": round(frame.t_s, 6)})
        metadata: dict[str, Any] = {
            "source": info.to_dict(),
            "sampling": {
                "mode": "fps" if fps is not None else "stride",
                "fps": fps,
                "stride": stride,
                "start_s": start_s,
                "end_s": end_s,
                "image_format": ext,
                "jpeg_quality": jpeg_quality if ext == "jpg" else None,
            },
            "count": len(records),
            "frames": records,
        }
        atomic_write_text(tmp / "metadata.json", json.dumps(metadata, indent=2, ensure_ascii=False) + "\n")
    out = Path(out_dir)
    return {
        **metadata,
        "out_dir": str(out),
        "metadata_file": str(out / "metadata.json"),
        "stats": stats.to_dict(),
        "elapsed_s": round(time.perf_counter() - t0, 3),
    }
