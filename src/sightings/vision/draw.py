"""Preview rendering of tracks: boxes + ids drawn with Pillow, written as an MP4 (PyAV) or a PNG.

    preview = PreviewWriter("preview.mp4", fps=5)      # or "preview.png": the frame with most boxes
    track_video(..., on_frame=preview.add)             # live: the tracker's own boxes and ids
    preview.close()

    render_track_preview("preview.mp4", video, result.rows, fps=1)   # the final tracks: after linking,
                                                                     # interpolation and smoothing (as written)

Drawing lives here, never inside trackers. Colours are fixed per track id.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.atomic import output_error
from sightings.core.errors import InputError
from sightings.core.protocols import TrackedDetection
from sightings.core.types import Frame

__all__ = ["PreviewWriter", "draw_tracks", "render_track_preview", "track_colour"]

_PALETTE = (
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
    (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (220, 190, 255),
)  # fmt: skip


def track_colour(track_id: int) -> tuple[int, int, int]:
    """A stable RGB colour for a track id."""
    return _PALETTE[track_id % len(_PALETTE)]


def draw_tracks(image: npt.NDArray[np.uint8], tracked: Sequence[TrackedDetection]) -> npt.NDArray[np.uint8]:
    """A copy of the RGB ``image`` with each box outlined and labelled ``#id label``."""
    from PIL import Image, ImageDraw

    canvas = Image.fromarray(np.ascontiguousarray(image))
    draw = ImageDraw.Draw(canvas)
    width = max(1, round(min(canvas.size) / 240))
    for td in tracked:
        box = td.detection.box
        colour = track_colour(td.track_id)
        draw.rectangle(box.xyxy, outline=colour, width=width)
        text = f"#{td.track_id} {td.detection.label}"
        tx, ty = box.x1, max(0.0, box.y1 - 11)
        left, top, right, bottom = draw.textbbox((tx, ty), text)
        draw.rectangle((left - 1, top - 1, right + 1, bottom + 1), fill=colour)
        draw.text((tx, ty), text, fill=(0, 0, 0))
    return np.asarray(canvas, dtype=np.uint8)


class PreviewWriter:
    """Collects drawn frames into ``path``: ``.mp4`` (H.264 via PyAV) or ``.png`` (the frame with most boxes)."""

    def __init__(self, path: str | os.PathLike[str], *, fps: float = 5.0) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in (".mp4", ".png"):
            raise InputError("preview must end in .mp4 or .png", where=self.path)
        self.kind = suffix[1:]
        self.fps = max(1, round(fps))
        self._container: Any = None
        self._stream: Any = None
        self._tmp = self.path.with_name(f".{self.path.name}.partial{self.path.suffix}")
        self._best: tuple[int, npt.NDArray[np.uint8]] | None = None
        self.frames = 0

    def add(self, frame: Frame, tracked: Sequence[TrackedDetection]) -> None:
        """Draw ``tracked`` on ``frame`` and add it to the preview."""
        self.frames += 1
        if self.kind == "png":
            if self._best is None or len(tracked) > self._best[0]:
                self._best = (len(tracked), draw_tracks(frame.image, tracked))
            return
        import av

        image = draw_tracks(frame.image, tracked)
        h, w = image.shape[0] - image.shape[0] % 2, image.shape[1] - image.shape[1] % 2
        image = np.ascontiguousarray(image[:h, :w])
        try:
            if self._container is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._container = av.open(str(self._tmp), "w", format="mp4")
                self._stream = self._container.add_stream("libx264", rate=self.fps)
                self._stream.width, self._stream.height = w, h
                self._stream.pix_fmt = "yuv420p"
                self._stream.options = {"preset": "veryfast", "crf": "28"}
            for packet in self._stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                self._container.mux(packet)
        except OSError as exc:  # the file cannot be written there (PyAV's errors are OSErrors too)
            self.abort()
            raise output_error(exc, self.path) from None

    def close(self) -> Path | None:
        """Finish the file (atomically renamed into place); None when no frame was added. A path that cannot be
        written is an :class:`InputError` naming it, and no partial file is left."""
        try:
            return self._finish()
        except OSError as exc:
            self.abort()
            raise output_error(exc, self.path) from None

    def _finish(self) -> Path | None:
        if self.kind == "png":
            if self._best is None:
                return None
            from PIL import Image

            self.path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(self._best[1]).save(self._tmp, format="PNG")
            self._tmp.replace(self.path)
            return self.path
        if self._container is None:
            return None
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        self._container = None
        self._tmp.replace(self.path)
        return self.path

    def abort(self) -> None:
        """Drop a partial preview (on error); never raises, so the error that led here is the one reported."""
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.close()
            self._container = None
        with contextlib.suppress(OSError):
            self._tmp.unlink(missing_ok=True)


def render_track_preview(
    path: str | os.PathLike[str],
    video: str | os.PathLike[str],
    rows: Sequence[Any],
    *,
    fps: float | None = None,
    stride: int | None = None,
) -> Path | None:
    """Draw the final tracked ``rows`` (``TrackRow``-like: frame, track_id, label, score, x1..y2) on the same
    frames they were made from (sampled again at ``fps`` or ``stride``) into ``path`` (.mp4 or .png), so the
    preview shows the ids and boxes of the written tracks. None when no frame was drawn."""
    from sightings.core.types import Box, Detection
    from sightings.media.probe import probe
    from sightings.media.sample import sample_frames

    if fps is None and stride is None:
        stride = 1
    native = probe(video).fps
    writer = PreviewWriter(path, fps=fps if fps is not None else native / (stride or 1))
    by_frame: dict[int, list[TrackedDetection]] = {}
    for r in rows:
        box = Box(r.x1, r.y1, r.x2, r.y2)
        by_frame.setdefault(r.frame, []).append(TrackedDetection(r.track_id, Detection(r.frame, box, r.label, r.score)))
    try:
        for frame in sample_frames(video, fps=fps, stride=stride):
            writer.add(frame, sorted(by_frame.get(frame.index, []), key=lambda td: td.track_id))
    except BaseException:
        writer.abort()
        raise
    return writer.close()
