"""map_frames: every frame through a function, GOPs decoded in parallel, same result as one serial pass."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from factories import make_frame, make_video
from sightings.core.errors import InputError, MediaError
from sightings.media.frame_map import FrameMap, map_frames
from sightings.media.probe import VideoInfo


def _digest(info: VideoInfo, origin_s: float | None) -> Any:
    def fn(frame: Any, t: float | None) -> str:
        return hashlib.md5(frame.to_ndarray(format="gray").tobytes()).hexdigest()

    return fn


def _open_gop_video(path: Path) -> Path:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        stream.options = {"preset": "veryfast", "g": "10", "keyint_min": "10", "sc_threshold": "0", "bf": "3"}
        stream.options["x264-params"] = "open-gop=1"
        for i in range(60):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(make_frame(i, 160, 96), format="rgb24")))
        container.mux(stream.encode(None))
    return path


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("frame-map")
    return {
        "bframes-gops": make_video(root / "b.mp4", seconds=3.0, width=160, height=96, gop=12, bframes=2),
        "open-gop": _open_gop_video(root / "open.mkv"),
    }


def _summary(result: FrameMap[str]) -> list[tuple[float | None, bool, str]]:
    return [(f.time, f.key_frame, f.value) for f in result.frames]


@pytest.mark.parametrize("name", ["bframes-gops", "open-gop"])
def test_parallel_gops_give_the_serial_result(videos: dict[str, Path], name: str) -> None:
    serial = map_frames(videos[name], _digest, workers=1)
    parallel = map_frames(videos[name], _digest, workers=2)
    assert not serial.parallel and parallel.parallel
    assert len(serial.frames) == (75 if name == "bframes-gops" else 60)
    assert _summary(parallel) == _summary(serial)
    times = [f.time for f in parallel.frames]
    assert times == sorted(times) and times[0] == 0.0
    assert sum(f.key_frame for f in parallel.frames) >= 5
    assert (parallel.decode_errors, parallel.truncated) == (0, False)
    again = map_frames(videos[name], _digest, workers=3)
    assert _summary(again) == _summary(parallel)  # deterministic, whatever the number of workers


def test_gop_function_sees_the_origin_and_each_gop(videos: dict[str, Path]) -> None:
    starts: list[float | None] = []

    def start(info: VideoInfo, origin_s: float | None) -> Any:
        starts.append(origin_s)
        return lambda frame, t: t

    result = map_frames(videos["bframes-gops"], start, workers=2)
    assert starts == [0.0] * 7  # 75 frames, a keyframe every 12
    assert [f.value for f in result.frames] == [f.time for f in result.frames]


def test_single_gop_decodes_serially(tmp_path: Path) -> None:
    path = make_video(tmp_path / "one.mp4", seconds=1.0, width=96, height=64, gop=50, bframes=2)
    result = map_frames(path, _digest, workers=2)
    assert not result.parallel and len(result.frames) == 25


def test_corrupt_packet_in_the_middle_is_skipped_and_counted(videos: dict[str, Path], tmp_path: Path) -> None:
    data = bytearray(videos["bframes-gops"].read_bytes())
    mid = len(data) // 2
    data[mid : mid + 3000] = bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8))
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(bytes(data))
    result = map_frames(bad, _digest, workers=2)
    assert result.parallel and result.decode_errors > 0
    assert 30 < len(result.frames) < 75
    assert result.frames[-1].time == pytest.approx(74 / 25)  # decoding went on after the damage


def test_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="workers"):
        map_frames(tmp_path / "x.mp4", _digest, workers=0)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    with pytest.raises(MediaError):
        map_frames(junk, _digest, workers=2)


def test_other_streams_are_ignored(tmp_path: Path) -> None:
    from sightings.solutions.content.synthetic import make_test_clip

    clip = tmp_path / "av.mp4"
    make_test_clip(clip, seconds=2.0, width=160, height=96, audio_bpm=100.0)
    serial = map_frames(clip, _digest, workers=1)
    parallel = map_frames(clip, _digest, workers=2)
    assert len(serial.frames) > 10 and _summary(parallel) == _summary(serial)


@pytest.mark.parametrize("name", ["bframes-gops", "open-gop"])
@pytest.mark.parametrize("workers", [1, 2])
def test_reference_only_skips_b_frames_and_numbers_the_rest_in_the_file(
    videos: dict[str, Path], name: str, workers: int
) -> None:
    full = map_frames(videos[name], _digest, workers=workers)
    refs = map_frames(videos[name], _digest, workers=workers, reference_only=True)
    assert refs.reference_only and not full.reference_only
    assert 0 < len(refs.frames) < len(full.frames), "the non-reference B-frames are skipped"
    assert refs.frame_count == full.frame_count == len(full.frames)
    indices = refs.indices()
    assert indices == sorted(set(indices)) and full.indices() == list(range(len(full.frames)))
    # each kept frame is the file's frame at its index: same time, same pixels (references decode exactly)
    assert [(f.time, f.value) for f in refs.frames] == [(full.frames[i].time, full.frames[i].value) for i in indices]
    assert sum(f.key_frame for f in refs.frames) == sum(f.key_frame for f in full.frames)


def test_reference_only_on_a_stream_without_b_frames_decodes_everything(tmp_path: Path) -> None:
    path = make_video(tmp_path / "ip.mp4", seconds=1.0, width=96, height=64, gop=10, bframes=0)
    refs = map_frames(path, _digest, workers=2, reference_only=True)
    assert refs.indices() == list(range(25)) and refs.frame_count == 25


def test_indices_from_packet_timestamps_even_when_they_repeat() -> None:
    from sightings.media.frame_map import MappedFrame

    info = VideoInfo.__new__(VideoInfo)  # only carried along here
    fm: FrameMap[None] = FrameMap(info, reference_only=True, packet_ts=[133, 0, 67, 67, 200, 133, 267])
    fm.frames = [MappedFrame(None, True, None, pts) for pts in (0, 67, 133, 133, 267)]
    assert fm.frame_count == 7 and fm.indices() == [0, 1, 3, 4, 6]
    fm.frames.append(MappedFrame(None, False, None, None))  # a frame without a timestamp: positions
    assert fm.indices() == list(range(6))
    assert FrameMap(info, packet_ts=[0, 1]).indices() == []
