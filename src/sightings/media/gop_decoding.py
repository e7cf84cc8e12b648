"""The GOP decoding machinery behind :func:`sightings.media.sample.sample_frames` (and the frame map).

    Selector            which frames are kept, decided frame by frame in presentation order
    GopReader           demuxing, decoding with FFmpeg errors mapped to ours, truncation check
    GopPlanner          buffers one GOP at a time and plans a DecodeJob for the frames it must return
    DecoderPool         one decoder per worker thread; runs a DecodeJob and returns its frames
    sample_gops         plan + parallel decode, results in order
    decode_all          the baseline: every packet to the decoder, keep the chosen frames

The strategy is described in :mod:`sightings.media.sample` and docs/media.md.
"""

from __future__ import annotations

import logging
import math
import queue
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from sightings.core.errors import InputError, MediaError, UnsupportedMediaError
from sightings.core.types import Frame, MediaRef
from sightings.media.probe import VideoInfo, stream_duration_s

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from av.container import InputContainer
    from av.packet import Packet
    from av.video.codeccontext import VideoCodecContext
    from av.video.frame import VideoFrame
    from av.video.stream import VideoStream

    VideoPacket: TypeAlias = Packet[VideoStream]

__all__ = [
    "MAX_GOP_BYTES",
    "MAX_GOP_PACKETS",
    "TIME_TOLERANCE_S",
    "CannotPlanError",
    "DecodeJob",
    "DecoderPool",
    "GopPlanner",
    "GopReader",
    "JobResult",
    "SamplingStats",
    "Selector",
    "decode_all",
    "default_workers",
    "error_reason",
    "sample_gops",
    "validate_sampling",
]

log = logging.getLogger(__name__)

TIME_TOLERANCE_S = 1e-3
"""Timestamps within 1 ms count as equal (Matroska rounds to milliseconds)."""


@dataclass(slots=True)
class SamplingStats:
    """Counters filled in while sampling (pass one in to see how much work a run did)."""

    packets: int = 0
    """video packets demuxed"""
    gops: int = 0
    """GOPs seen (keyframe to next keyframe)"""
    gops_decoded: int = 0
    """GOPs that were (partly) sent to the decoder"""
    frames_decoded: int = 0
    """pictures the decoder reconstructed (chosen frames plus the references they need)"""
    frames_sampled: int = 0
    """frames returned"""
    frames_missing: int = 0
    """chosen frames the decoder did not return (damaged data); skipped with a warning"""

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


# ----------------------------------------------------------------------------------------------- selection


def validate_sampling(fps: float | None, stride: int | None, start_s: float, end_s: float | None) -> None:
    if (fps is None) == (stride is None):
        raise InputError("give exactly one of fps or stride", where="fps/stride")
    if fps is not None and not (isinstance(fps, int | float) and math.isfinite(fps) and fps > 0):
        raise InputError(f"must be a number > 0, got {fps!r}", where="fps")
    if stride is not None and (isinstance(stride, bool) or not isinstance(stride, int) or stride < 1):
        raise InputError(f"must be an integer >= 1, got {stride!r}", where="stride")
    if not (math.isfinite(start_s) and start_s >= 0):
        raise InputError(f"must be a time >= 0 s, got {start_s!r}", where="start_s")
    if end_s is not None and not (math.isfinite(end_s) and end_s > start_s):
        raise InputError(f"must be after start_s ({start_s} s), got {end_s!r}", where="end_s")


@dataclass(slots=True)
class Selector:
    """Decides, frame by frame in presentation order, which frames are kept."""

    fps: float | None
    stride: int | None
    start_s: float
    end_s: float | None
    _next_target: int = 0

    def past_end(self, t_s: float) -> bool:
        return self.end_s is not None and t_s >= self.end_s - TIME_TOLERANCE_S

    def wants(self, index: int, t_s: float) -> bool:
        if t_s < self.start_s - TIME_TOLERANCE_S or self.past_end(t_s):
            return False
        if self.fps is None:
            return index % (self.stride or 1) == 0
        if t_s + TIME_TOLERANCE_S < self.start_s + self._next_target / self.fps:
            return False
        # This frame serves target k and every later target it is already past.
        passed = math.floor((t_s + TIME_TOLERANCE_S - self.start_s) * self.fps) + 1
        self._next_target = max(self._next_target + 1, passed)
        return True


# ------------------------------------------------------------------------------------------------ decoding


MAX_GOP_PACKETS = 3000
MAX_GOP_BYTES = 256 * 1024 * 1024
"""A GOP is buffered whole; past these sizes (keyframes missing or unflagged) the sampler decodes everything."""


class CannotPlanError(Exception):
    """GOP planning is impossible here: no packet timestamps (raw elementary streams) or no keyframes."""


@dataclass(slots=True)
class GopReader:
    """Shared plumbing of both samplers: demuxing, decoding and error mapping, truncation check."""

    path: Path
    container: InputContainer
    stream: VideoStream
    info: VideoInfo
    stats: SamplingStats
    media: MediaRef = field(init=False)
    cc: VideoCodecContext = field(init=False)
    time_base: Fraction = field(init=False)
    last_ts: int | None = None  # largest timestamp demuxed so far
    first_ts: int | None = None  # smallest timestamp demuxed so far
    origin: int | None = None  # timestamp of the first frame (t_s = 0)

    def __post_init__(self) -> None:
        self.media = self.info.to_media_ref()
        self.stream.thread_type = "AUTO"  # frame + slice threads; checked bit-exact in tests
        self.cc = self.stream.codec_context
        self.time_base = Fraction(self.stream.time_base) if self.stream.time_base else Fraction(1, 1)
        import av.stream

        # PyAV >= 14 takes its Discard enum (member ``all``); older versions took FFmpeg's name
        discard_all: Any = getattr(getattr(av.stream, "Discard", None), "all", "ALL")
        for other in self.container.streams:
            if other.index != self.stream.index:
                other.discard = discard_all

    def seconds(self, ts: int) -> float:
        origin = self.origin if self.origin is not None else 0
        # float(Fraction) is the correctly rounded int division of its terms: the same value, without building a
        # Fraction per frame (a third of the planner's time on short GOPs)
        return max(0.0, ((ts - origin) * self.time_base.numerator) / self.time_base.denominator)

    @property
    def last_t_s(self) -> float:
        """Time of the latest frame demuxed so far (for error messages)."""
        return 0.0 if self.last_ts is None else self.seconds(self.last_ts)

    def packets(self) -> Iterator[VideoPacket]:
        """Video packets in decode order (without PyAV's trailing empty flush packet)."""
        import av

        demux = self.container.demux(self.stream)
        while True:
            try:
                packet = next(demux)
            except StopIteration:
                return
            except av.error.FFmpegError as err:
                raise MediaError(
                    f"unreadable video data after {self.last_t_s:.2f} s ({error_reason(err)})", where=self.path
                ) from None
            ts = packet.pts if packet.pts is not None else packet.dts
            if ts is None and packet.size == 0:
                continue
            self.stats.packets += 1
            if ts is not None and packet.size > 0:
                if self.last_ts is None or ts > self.last_ts:
                    self.last_ts = ts
                if self.first_ts is None or ts < self.first_ts:
                    self.first_ts = ts
            yield packet

    def decode(self, cc: VideoCodecContext, packet: VideoPacket | None, t_s: float) -> list[VideoFrame]:
        """``cc.decode(packet)`` with FFmpeg errors mapped to ours (``t_s`` names the place in the file)."""
        import av

        try:
            return cc.decode(packet)
        except (av.error.DecoderNotFoundError, av.error.PatchWelcomeError, av.error.NotImplementedError) as err:
            raise UnsupportedMediaError(
                f"cannot decode {self.info.codec} video ({error_reason(err)})", where=self.path
            ) from None
        except av.error.FFmpegError as err:
            raise MediaError(f"corrupt video data near {t_s:.2f} s ({error_reason(err)})", where=self.path) from None

    def to_frame(self, frame: VideoFrame, index: int, t_s: float) -> Frame:
        image = cast("npt.NDArray[np.uint8]", frame.to_ndarray(format="rgb24"))
        return Frame(media=self.media, index=index, t_s=t_s, image=image)

    def check_complete(self) -> None:
        """After the last packet: a file that ends well before its header says is truncated."""
        info = self.info
        if info.frame_count_exact and info.frame_count:
            if self.stats.packets < info.frame_count - max(1, info.frame_count // 100):
                raise MediaError(
                    f"truncated: video data stops at {self.last_t_s:.2f} s, after {self.stats.packets} "
                    f"of {info.frame_count} frames",
                    where=self.path,
                )
            return
        expected = stream_duration_s(self.stream)
        if expected is None or self.last_ts is None:
            return
        stops_s = float(self.last_ts * self.time_base)  # on the container's clock, like the stated duration
        if stops_s + 1.0 + 2.0 / info.fps < expected:
            raise MediaError(f"truncated: video data stops at {stops_s:.2f} s of {expected:.2f} s", where=self.path)


def error_reason(err: BaseException) -> str:
    reason = getattr(err, "strerror", None)
    return str(reason) if reason else type(err).__name__


@dataclass(slots=True)
class DecodeJob:
    """Decode work for one GOP: packets from its keyframe up to its last chosen frame (decode order)."""

    packets: list[VideoPacket]
    chosen: dict[int, tuple[int, float]]  # timestamp -> (index, t_s) of the frames to return


@dataclass(slots=True)
class JobResult:
    frames: list[Frame]
    decoded: int
    missing: list[tuple[int, float]]


class DecoderPool:
    """One decoder per worker. Jobs start at a keyframe on a flushed decoder, so GOPs decode independently.

    Decoder 0 is the stream's own codec context; the others come from opening the file again (same codec
    parameters, nothing demuxed from them).
    """

    def __init__(self, reader: GopReader, workers: int, options: dict[str, str] | None = None) -> None:
        import av

        self.reader = reader
        self._containers: list[InputContainer] = []
        self._free: queue.SimpleQueue[VideoCodecContext] = queue.SimpleQueue()
        # Parallel GOPs keep the cores busy; FFmpeg's frame threads would add delay to every per-GOP drain.
        reader.stream.thread_type = "AUTO" if workers == 1 else "SLICE"
        if options:  # decoder options (e.g. skip_loop_filter), applied before the decoders open
            reader.cc.options = dict(options)
        self._free.put(reader.cc)
        for _ in range(workers - 1):
            container = av.open(str(reader.path), mode="r")
            self._containers.append(container)
            stream = container.streams.video[0]
            stream.thread_type = "SLICE"
            if options:
                stream.codec_context.options = dict(options)
            self._free.put(stream.codec_context)

    @contextmanager
    def decoder(self) -> Iterator[VideoCodecContext]:
        """Borrow a free decoder (blocks until one is free); it comes back flushed, with ``skip_frame`` reset."""
        cc = self._free.get()
        try:
            yield cc
        finally:
            cc.skip_frame = "DEFAULT"
            cc.flush_buffers()
            self._free.put(cc)

    def close(self) -> None:
        for container in self._containers:
            container.close()

    def run(self, job: DecodeJob) -> JobResult:
        reader = self.reader
        frames: list[Frame] = []
        decoded = 0
        wanted = dict(job.chosen)

        def take(decoded_frames: list[VideoFrame]) -> None:
            for frame in decoded_frames:
                hit = wanted.pop(frame.pts, None) if frame.pts is not None else None
                if hit is not None:
                    frames.append(reader.to_frame(frame, *hit))

        with self.decoder() as cc:
            t_s = 0.0
            for packet in job.packets:
                ts = packet.pts if packet.pts is not None else packet.dts
                t_s = reader.seconds(ts) if ts is not None else t_s
                # Frames not chosen: skip the non-reference ones entirely (references are still needed).
                cc.skip_frame = "DEFAULT" if ts in job.chosen else "NONREF"
                out = reader.decode(cc, packet, t_s)
                decoded += len(out)
                take(out)
            cc.skip_frame = "DEFAULT"
            out = reader.decode(cc, None, t_s)
            decoded += len(out)
            take(out)
        frames.sort(key=lambda f: f.index)
        return JobResult(frames, decoded, sorted(wanted.values()))


@dataclass(slots=True)
class GopPlanner:
    """Splits packets into GOPs and decides which frames of each to return (see the module docstring)."""

    reader: GopReader
    selector: Selector
    before: int = 0  # frames (in presentation order) in the GOPs already planned
    prev_gop: list[VideoPacket] | None = None
    done: bool = False

    def jobs(self) -> Iterator[DecodeJob]:
        gop: list[VideoPacket] = []
        size = 0
        for packet in self.reader.packets():
            if packet.size == 0:  # AVI "drop frame" markers: no picture
                continue
            if packet.is_keyframe and gop:
                job = self._plan(gop, before_keyframe=True)
                if self.done:
                    return
                if job is not None:
                    yield job
                gop, size = [], 0
            gop.append(packet)
            size += packet.size
            if len(gop) > MAX_GOP_PACKETS or size > MAX_GOP_BYTES:
                raise CannotPlanError(f"no keyframe within {len(gop)} packets ({size / 1e6:.0f} MB)")
        if gop:
            job = self._plan(gop, before_keyframe=False)
            if job is not None:
                yield job
        if not self.done:
            self.reader.check_complete()

    def _plan(self, gop: list[VideoPacket], *, before_keyframe: bool) -> DecodeJob | None:
        reader = self.reader
        reader.stats.gops += 1
        stamps: list[tuple[int, int]] = []  # (timestamp, position in decode order) of shown pictures
        for pos, packet in enumerate(gop):
            ts = packet.pts if packet.pts is not None else packet.dts
            if ts is None:
                raise CannotPlanError("video packets have no timestamps")
            if not packet.is_discard:
                stamps.append((ts, pos))
        stamps.sort()
        if not stamps:
            return None
        if reader.origin is None:
            reader.origin = stamps[0][0]
        if self.selector.past_end(reader.seconds(stamps[0][0])):
            self.done = True
            return None
        if self.prev_gop is None and before_keyframe and not gop[0].is_keyframe:
            # A file cut mid-GOP: frames before its first keyframe cannot be decoded. They are counted in the
            # presentation index but never chosen (the first target is served by the first decodable frame).
            self.before += len(stamps)
            self.prev_gop = gop
            return None
        chosen: dict[int, tuple[int, float]] = {}
        last_pos = -1
        for rank, (ts, pos) in enumerate(stamps):
            index, t_s = self.before + rank, reader.seconds(ts)
            if self.selector.wants(index, t_s):
                chosen[ts] = (index, t_s)
                last_pos = max(last_pos, pos)
        self.before += len(stamps)
        prev, self.prev_gop = self.prev_gop, gop
        if not chosen:
            return None
        reader.stats.gops_decoded += 1
        packets = gop[: last_pos + 1]
        key_ts = gop[0].pts if gop[0].is_keyframe else None
        if prev is not None and key_ts is not None and any(ts < key_ts for ts in chosen):
            packets = prev + packets  # open GOP: chosen frames shown before the keyframe use the previous GOP
        return DecodeJob(packets, chosen)


def default_workers() -> int:
    from sightings.core.threads import available_cores

    return min(4, available_cores())


def sample_gops(reader: GopReader, selector: Selector, workers: int) -> Iterator[Frame]:
    planner = GopPlanner(reader, selector)
    pool = DecoderPool(reader, workers)
    stats = reader.stats

    def collect(result: JobResult) -> Iterator[Frame]:
        stats.frames_decoded += result.decoded
        if result.missing:
            stats.frames_missing += len(result.missing)
            log.warning(
                "%s: %d chosen frame(s) could not be decoded, skipped (first: index %d at %.2f s)",
                reader.path,
                len(result.missing),
                *result.missing[0],
            )
        stats.frames_sampled += len(result.frames)
        yield from result.frames

    try:
        if workers == 1:
            for job in planner.jobs():
                yield from collect(pool.run(job))
            return
        with ThreadPoolExecutor(workers, thread_name_prefix="sightings-decode") as executor:
            pending: deque[Future[JobResult]] = deque()
            try:
                try:
                    for job in planner.jobs():
                        pending.append(executor.submit(pool.run, job))
                        while len(pending) > 2 * workers or (pending and pending[0].done()):
                            yield from collect(pending.popleft().result())
                except (MediaError, CannotPlanError):  # trouble further on: first hand over what came before
                    while pending:
                        yield from collect(pending.popleft().result())
                    raise
                while pending:
                    yield from collect(pending.popleft().result())
            finally:
                for future in pending:
                    future.cancel()
    finally:
        pool.close()


def decode_all(reader: GopReader, selector: Selector) -> Iterator[Frame]:
    """Baseline: every packet goes to the decoder; frames come out in presentation order."""
    index = 0
    fps = reader.info.fps
    stats = reader.stats
    stopped = False
    cc = reader.cc

    def keep(frames: list[VideoFrame]) -> Iterator[Frame]:
        nonlocal index, stopped
        stats.frames_decoded += len(frames)
        for frame in frames:
            if frame.pts is None:
                t_s = index / fps
            else:
                if reader.origin is None:  # the first frame in the file, even if it could not be decoded
                    reader.origin = min(frame.pts, reader.first_ts if reader.first_ts is not None else frame.pts)
                t_s = reader.seconds(frame.pts)
            if selector.past_end(t_s):
                stopped = True
                return
            if selector.wants(index, t_s):
                stats.frames_sampled += 1
                yield reader.to_frame(frame, index, t_s)
            index += 1

    for packet in reader.packets():
        if packet.size == 0:
            continue
        yield from keep(reader.decode(cc, packet, reader.last_t_s))
        if stopped:
            return
    reader.check_complete()
    yield from keep(reader.decode(cc, None, reader.last_t_s))
