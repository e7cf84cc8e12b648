"""Every frame of a video through a small function, GOPs decoded in parallel (for per-frame features).

    map_frames(path, start_gop, workers=None, options=None, reference_only=False) -> FrameMap

``start_gop(info, origin_s)`` is called once per piece of work and returns the function applied to each decoded frame
of it, in the order the decoder returns them (presentation order); its results come back in one list, in order.
The function runs inside the worker thread while the frame is alive, so it should reduce the frame to something
small (a few features, a thumbnail). ``origin_s`` is the time of the file's first frame when known (GOP mode),
else None (the function then sees every frame from the first, serially).

How (see :mod:`sightings.media.sample`, whose GOP planner and decoder pool this reuses): packets are split into
GOPs (keyframe to next keyframe); each GOP is one job for a flushed decoder, ``workers`` threads decode jobs in
parallel (FFmpeg releases the GIL while decoding), results are merged in order. Unlike the sampler, damaged
data does not stop the run: a packet the decoder rejects is skipped and counted (``decode_errors``), unreadable
data at the end stops demuxing (``truncated``), and so does a file whose data ends well before its header says
(``truncated`` too). Without packet timestamps or keyframes, with ``workers=1``, or
when the file has only one GOP, every packet goes through one decoder (FFmpeg frame threads) instead.

``reference_only``: the decoder skips frames no other frame refers to (FFmpeg ``skip_frame=nonref``; in H.264/HEVC
with B-frames most B-frames, about half the frames with x264's defaults), so only the others are mapped, at a
fraction of the decoding. Each mapped frame still gets its presentation index in the whole file
(:meth:`FrameMap.indices`, from the timestamps of every packet demuxed). A stream without B-frames decodes whole.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

import numpy as np

from sightings.core.errors import InputError, MediaError, UnsupportedMediaError
from sightings.media.gop_decoding import (
    CannotPlanError,
    DecodeJob,
    DecoderPool,
    GopPlanner,
    GopReader,
    SamplingStats,
    Selector,
    default_workers,
)
from sightings.media.probe import VideoInfo, open_video, video_info

if TYPE_CHECKING:
    from av.video.codeccontext import VideoCodecContext
    from av.video.frame import VideoFrame

    from sightings.media.gop_decoding import VideoPacket

__all__ = ["FrameMap", "MappedFrame", "map_frames"]

log = logging.getLogger(__name__)

T = TypeVar("T")
FrameFunction = Callable[["VideoFrame", "float | None"], T]
"""Called with a decoded frame and its time in seconds on the file's clock (None without a timestamp)."""


@dataclass(frozen=True, slots=True)
class MappedFrame(Generic[T]):
    """One decoded frame: its time in seconds on the file's clock (None without a timestamp), keyframe flag,
    and what the frame function returned."""

    time: float | None
    key_frame: bool
    value: T
    pts: int | None = None


@dataclass(slots=True)
class FrameMap(Generic[T]):
    """All decoded frames in presentation order, with what went wrong on the way."""

    info: VideoInfo
    frames: list[MappedFrame[T]] = field(default_factory=list)
    decode_errors: int = 0
    """packets the decoder rejected (skipped)"""
    truncated: bool = False
    """demuxing stopped early on unreadable data"""
    parallel: bool = False
    """GOPs were decoded in parallel (False: one serial pass)"""
    reference_only: bool = False
    """non-reference frames were skipped (``map_frames(reference_only=True)``)"""
    packet_ts: list[int] = field(default_factory=list, repr=False)
    """with ``reference_only``: the timestamp of every video packet demuxed (one per frame of the file)"""

    @property
    def frame_count(self) -> int:
        """Frames in the file: video packets with data (the mapped frames when that is unknown or smaller)."""
        return max(len(self.packet_ts), len(self.frames))

    def indices(self) -> list[int]:
        """Each mapped frame's presentation index in the whole file.

        With every frame decoded, its position (so frames the decoder could not decode, e.g. before the first
        keyframe of a file cut mid-GOP, are not counted). With ``reference_only``, the rank of its timestamp among
        all packets' (the first free one when timestamps repeat, as some muxers write them; undecodable frames are
        counted); positions again when a frame has no timestamp, since the skipped frames cannot be counted then."""
        positions = list(range(len(self.frames)))
        pts = [f.pts for f in self.frames if f.pts is not None]
        if not self.reference_only or not self.packet_ts or len(pts) < len(self.frames):
            return positions
        ranks = np.searchsorted(np.sort(np.asarray(self.packet_ts, np.int64)), np.asarray(pts, np.int64))
        out: list[int] = []
        for rank in ranks.tolist():
            out.append(max(int(rank), out[-1] + 1) if out else int(rank))
        return out


@dataclass(slots=True)
class _TolerantReader(GopReader):
    """The sampler's reader, but unreadable data ends the stream (``truncated``) instead of raising."""

    truncated: bool = False
    record_ts: bool = False  # keep every packet's timestamp (to number frames when some are skipped)
    packet_ts: list[int] = field(default_factory=list)

    def packets(self) -> Iterator[VideoPacket]:
        try:
            for packet in GopReader.packets(self):
                ts = packet.pts if packet.pts is not None else packet.dts
                if self.record_ts and ts is not None and packet.size > 0:
                    self.packet_ts.append(int(ts))
                yield packet
        except MediaError as err:
            log.warning("%s: demuxing stopped (%s)", self.path, err)
            self.truncated = True

    def check_complete(self) -> None:
        """A file that ends well before its header says is mapped as far as it goes and marked ``truncated``
        (said in a warning), not refused as the sampler refuses it."""
        if self.truncated:
            return
        try:
            GopReader.check_complete(self)
        except MediaError as err:
            log.warning("%s", err)
            self.truncated = True


def _time(frame: VideoFrame, reader: GopReader) -> float | None:
    # Frames from a bare codec context carry no time base; the stream's is the one (as PyAV's frame.time).
    tb = reader.time_base  # float(Fraction) without the Fraction: the same correctly rounded value
    return None if frame.pts is None else (frame.pts * tb.numerator) / tb.denominator


def _decode(reader: GopReader, cc: VideoCodecContext, packet: VideoPacket | None) -> list[VideoFrame] | None:
    """Decoded frames, or None when the decoder rejected the packet (unsupported codecs still raise)."""
    try:
        return reader.decode(cc, packet, reader.last_t_s)
    except UnsupportedMediaError:
        raise
    except MediaError:
        return None


def _run_job(
    pool: DecoderPool,
    job: DecodeJob,
    start_gop: Callable[[VideoInfo, float | None], FrameFunction[T]],
    origin_s: float | None,
    reference_only: bool,
) -> tuple[list[MappedFrame[T]], int]:
    reader = pool.reader
    fn = start_gop(reader.info, origin_s)
    out: list[MappedFrame[T]] = []
    errors = 0

    def take(frames: list[VideoFrame] | None) -> None:
        nonlocal errors
        if frames is None:
            errors += 1
            return
        for frame in frames:
            if frame.pts in job.chosen:  # open GOPs: frames of the previous GOP are only references here
                t = _time(frame, reader)
                out.append(MappedFrame(t, bool(frame.key_frame), fn(frame, t), frame.pts))

    with pool.decoder() as cc:
        for packet in job.packets:
            ts = packet.pts if packet.pts is not None else packet.dts
            cc.skip_frame = "DEFAULT" if ts in job.chosen and not reference_only else "NONREF"
            take(_decode(reader, cc, packet))
        cc.skip_frame = "DEFAULT"
        take(_decode(reader, cc, None))
    return out, errors


def _map_gops(
    reader: _TolerantReader,
    start_gop: Callable[[VideoInfo, float | None], FrameFunction[T]],
    workers: int,
    result: FrameMap[T],
) -> None:
    planner = GopPlanner(reader, Selector(None, 1, 0.0, None))
    jobs = planner.jobs()
    first = next(jobs, None)
    if first is None:
        return
    second = next(jobs, None)
    if second is None:  # one GOP: nothing to share out, frame threads do better
        raise CannotPlanError("a single GOP")
    pool = DecoderPool(reader, workers, options=dict(reader.cc.options))
    origin_s = float(reader.origin * reader.time_base) if reader.origin is not None else None
    result.parallel = True

    def collect(done: tuple[list[MappedFrame[T]], int]) -> None:
        result.frames.extend(done[0])
        result.decode_errors += done[1]

    def all_jobs() -> Iterator[DecodeJob]:
        yield first
        yield second
        yield from jobs

    try:
        with ThreadPoolExecutor(workers, thread_name_prefix="sightings-map") as executor:
            pending: deque[Future[tuple[list[MappedFrame[T]], int]]] = deque()
            try:
                for job in all_jobs():
                    pending.append(executor.submit(_run_job, pool, job, start_gop, origin_s, result.reference_only))
                    while len(pending) > 2 * workers or (pending and pending[0].done()):
                        collect(pending.popleft().result())
                while pending:
                    collect(pending.popleft().result())
            finally:
                for future in pending:
                    future.cancel()
    finally:
        pool.close()


def _map_serial(
    reader: _TolerantReader, start_gop: Callable[[VideoInfo, float | None], FrameFunction[T]], result: FrameMap[T]
) -> None:
    fn = start_gop(reader.info, None)
    cc = reader.cc
    reader.stream.thread_type = "AUTO"
    if result.reference_only:
        cc.skip_frame = "NONREF"

    def take(frames: list[VideoFrame] | None) -> None:
        if frames is None:
            result.decode_errors += 1
            return
        for frame in frames:
            t = _time(frame, reader)
            result.frames.append(MappedFrame(t, bool(frame.key_frame), fn(frame, t), frame.pts))

    for packet in reader.packets():
        if packet.size:
            take(_decode(reader, cc, packet))
    reader.check_complete()
    take(_decode(reader, cc, None))


def map_frames(
    path: str | os.PathLike[str],
    start_gop: Callable[[VideoInfo, float | None], FrameFunction[T]],
    *,
    workers: int | None = None,
    options: dict[str, str] | None = None,
    reference_only: bool = False,
) -> FrameMap[T]:
    """Apply ``start_gop(info, origin_s)``'s function to every decoded frame of ``path`` (see the module docs).

    ``workers``: decoding threads (default: one per CPU, at most 4); ``options``: FFmpeg decoder options such
    as ``{"skip_loop_filter": "all"}``; ``reference_only``: skip the frames no other frame refers to. The result
    is the same, in the same order, for any ``workers``, except where damaged data decodes differently on a fresh
    decoder. Raises the errors of
    :func:`~sightings.media.probe.open_video` for files that cannot be opened, and
    :class:`~sightings.core.errors.UnsupportedMediaError` for a codec FFmpeg cannot decode.
    """
    if workers is None:
        workers = default_workers()
    elif isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError(f"must be an integer >= 1, got {workers!r}", where="workers")
    p = Path(path)
    if workers > 1:
        with open_video(p) as (container, stream):
            reader = _TolerantReader(
                p, container, stream, video_info(container, stream, p), SamplingStats(), record_ts=reference_only
            )
            if options:
                reader.cc.options = dict(options)
            result: FrameMap[T] = FrameMap(reader.info, reference_only=reference_only)
            try:
                _map_gops(reader, start_gop, workers, result)
                result.truncated, result.packet_ts = reader.truncated, reader.packet_ts
                return result
            except CannotPlanError as why:
                log.debug("%s: %s; one serial pass instead", p, why)
    with open_video(p) as (container, stream):
        reader = _TolerantReader(
            p, container, stream, video_info(container, stream, p), SamplingStats(), record_ts=reference_only
        )
        if options:
            reader.cc.options = dict(options)
        result = FrameMap(reader.info, reference_only=reference_only)
        _map_serial(reader, start_gop, result)
        result.truncated, result.packet_ts = reader.truncated, reader.packet_ts
        return result
