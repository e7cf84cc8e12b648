"""sightings.media.sample: GOP-skipping sampling gives the frames (and pixels) a full decode gives."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from factories import make_audio, make_frame, make_video, truncate_copy
from sightings.core.errors import InputError, MediaError, NotFoundError
from sightings.core.types import Frame
from sightings.media.probe import probe
from sightings.media.sample import (
    SamplingStats,
    decode_all_frames,
    expected_sample_count,
    sample_frames,
    write_samples,
)


def _open_gop_video(path: Path, *, seconds: float = 3.0, fps: int = 25, gop: int = 30) -> Path:
    """x264 with open GOPs: B-frames after a keyframe (decode order) are shown before it."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.options = {
            "preset": "veryfast",
            "g": str(gop),
            "keyint_min": str(gop),
            "sc_threshold": "0",
            "bf": "3",
            "x264-params": "open-gop=1",
        }
        for i in range(round(seconds * fps)):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(make_frame(i), format="rgb24")))
        container.mux(stream.encode(None))
    return path


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sample-media")
    return {
        "x264-bframes": make_video(root / "bframes.mp4", seconds=4.0, gop=50, bframes=3),
        "mjpeg": make_video(root / "intra.avi", seconds=2.0, codec="mjpeg"),
        "x264-no-bframes": make_video(root / "ponly.mp4", seconds=3.0, gop=25, bframes=0),
        "x264-mkv": make_video(root / "bframes.mkv", seconds=3.0, gop=25, bframes=2),
        "x264-open-gop": _open_gop_video(root / "opengop.mkv"),
    }


def _assert_same(got: list[Frame], want: list[Frame]) -> None:
    assert [f.index for f in got] == [f.index for f in want]
    assert [f.t_s for f in got] == [f.t_s for f in want]
    for a, b in zip(got, want, strict=True):
        assert a.image.dtype == np.uint8 and a.image.shape == b.image.shape
        assert np.array_equal(a.image, b.image), f"pixels differ at frame {a.index}"


MODES: dict[str, dict[str, Any]] = {
    "stride1": {"stride": 1},
    "stride7": {"stride": 7},
    "stride25": {"stride": 25},
    "fps1": {"fps": 1.0},
    "fps3": {"fps": 3.0},
    "fps0.4": {"fps": 0.4},
    "window": {"fps": 2.0, "start_s": 0.7, "end_s": 2.3},
}


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("video", ["x264-bframes", "mjpeg", "x264-no-bframes", "x264-mkv", "x264-open-gop"])
def test_sampling_matches_full_decode(videos: dict[str, Path], video: str, mode: str) -> None:
    kwargs = MODES[mode]
    stats = SamplingStats()
    got = list(sample_frames(videos[video], stats=stats, **kwargs))
    want = list(decode_all_frames(videos[video], **kwargs))
    assert got, "expected some frames"
    _assert_same(got, want)
    assert stats.frames_sampled == len(got) and stats.frames_missing == 0
    assert expected_sample_count(probe(videos[video]), **kwargs) == len(got)


def test_sparse_sampling_does_not_decode_every_frame(videos: dict[str, Path]) -> None:
    path = videos["x264-bframes"]  # 100 frames, keyframes at 0 and 50
    keys = SamplingStats()
    assert [f.index for f in sample_frames(path, stride=50, stats=keys)] == [0, 50]
    assert keys.packets == 100 and keys.frames_decoded == 2 and keys.gops == 2
    per_second = SamplingStats()
    assert [f.index for f in sample_frames(path, fps=1, stats=per_second)] == [0, 25, 50, 75]
    # Packets fed to the decoder: each GOP from its keyframe up to its last chosen frame (decode order) ...
    import av

    with av.open(str(path)) as container:
        packets = [p for p in container.demux(video=0) if p.size]
    by_rank = sorted(range(len(packets)), key=lambda i: packets[i].pts)  # presentation index -> decode position
    fed = (max(by_rank[0], by_rank[25]) + 1) + (max(by_rank[50], by_rank[75]) + 1 - 50)
    # ... of which the non-reference B-frames are skipped, not decoded.
    assert per_second.frames_decoded < fed < 100
    baseline = SamplingStats()
    list(decode_all_frames(path, fps=1, stats=baseline))
    assert baseline.frames_decoded == 100
    late = SamplingStats()
    assert [f.index for f in sample_frames(path, stride=10, start_s=2.0, stats=late)] == [50, 60, 70, 80, 90]
    assert late.gops_decoded == 1  # the first GOP (before start_s) is never decoded


def test_frames_carry_index_time_and_source(videos: dict[str, Path]) -> None:
    path = videos["x264-bframes"]
    frames = list(sample_frames(path, fps=1))
    assert [f.index for f in frames] == [0, 25, 50, 75]
    assert [f.t_s for f in frames] == pytest.approx([0.0, 1.0, 2.0, 3.0])
    for frame in frames:
        assert frame.image.shape == (240, 320, 3)
        assert frame.media.uri == str(path.resolve()) and frame.media.frame_count == 100
        # The picture is the generated frame `index` (lossy codec: closest of its neighbours).
        errors = [
            np.abs(frame.image.astype(int) - make_frame(i)).mean()
            for i in (frame.index - 1, frame.index, frame.index + 1)
        ]
        assert errors[1] == min(errors) and errors[1] < 12


def test_fps_modes_pick_first_frame_at_or_after_each_target(videos: dict[str, Path]) -> None:
    path = videos["x264-no-bframes"]  # 75 frames at 25 fps
    assert [f.index for f in sample_frames(path, fps=2)] == [math.ceil(k * 12.5) for k in range(6)]
    assert [f.index for f in sample_frames(path, fps=100)] == list(range(75))  # faster than the video: all
    assert [f.index for f in sample_frames(path, fps=1, start_s=0.5, end_s=2.6)] == [13, 38, 63]
    assert [f.index for f in sample_frames(path, stride=10, start_s=1.0, end_s=2.0)] == [30, 40]
    assert list(sample_frames(path, stride=1, start_s=10.0)) == []


def test_worker_counts_agree(videos: dict[str, Path]) -> None:
    path = videos["x264-bframes"]
    one = list(sample_frames(path, stride=3, workers=1))
    _assert_same(list(sample_frames(path, stride=3, workers=3)), one)


def test_open_gop_needs_previous_gop(videos: dict[str, Path]) -> None:
    """Leading B-frames of an open GOP are shown before its keyframe and reference the previous GOP."""
    import av

    with av.open(str(videos["x264-open-gop"])) as container:
        packets = [p for p in container.demux(video=0) if p.size]
    keys = [i for i, p in enumerate(packets) if p.is_keyframe]
    assert len(keys) > 1 and packets[keys[1] + 1].pts < packets[keys[1]].pts, "encoder made no open GOP"
    leading = sorted(p.pts for p in packets).index(packets[keys[1] + 1].pts)
    _assert_same(
        list(sample_frames(videos["x264-open-gop"], stride=leading)),
        list(decode_all_frames(videos["x264-open-gop"], stride=leading)),
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"fps": 1.0, "stride": 2},
        {"fps": 0.0},
        {"fps": float("nan")},
        {"stride": 0},
        {"stride": 1.5},
        {"stride": True},
        {"fps": 1.0, "start_s": -1.0},
        {"fps": 1.0, "start_s": 2.0, "end_s": 1.0},
        {"stride": 1, "workers": 0},
    ],
)
def test_bad_arguments_raise_at_call(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        sample_frames("does-not-matter.mp4", **kwargs)  # before the file is even looked at


def test_bad_files_raise_our_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        next(sample_frames(tmp_path / "missing.mp4", fps=1))
    with pytest.raises(MediaError, match="no video stream"):
        next(sample_frames(make_audio(tmp_path / "tone.wav"), fps=1))
    with pytest.raises(MediaError, match="not a readable video"):
        next(decode_all_frames(truncate_copy(make_video(tmp_path / "a.mp4", seconds=1.0), tmp_path / "b.mp4"), fps=1))


@pytest.mark.parametrize("name", ["intra.avi", "bframes.mkv"])
def test_truncated_stream_is_reported(videos: dict[str, Path], tmp_path: Path, name: str) -> None:
    """AVI and Matroska open fine when cut short (their index is at the end); reaching the end tells."""
    src = next(p for p in videos.values() if p.name == name)
    cut = truncate_copy(src, tmp_path / name)
    for sampler in (sample_frames, decode_all_frames):
        frames: list[Frame] = []
        with pytest.raises(MediaError, match="truncated: video data stops at") as caught:
            frames.extend(sampler(cut, fps=1))
        assert caught.value.where == str(cut)
        assert frames  # the frames before the cut came through first


def test_corrupt_packet_names_file_and_time(videos: dict[str, Path], tmp_path: Path) -> None:
    import av

    src = videos["mjpeg"]
    with av.open(str(src)) as container:
        entries = container.streams.video[0].index_entries
        entry = entries[12]  # frame 12, t = 0.48 s
        pos, size = entry.pos, entry.size
    data = bytearray(src.read_bytes())
    data[pos + 8 : pos + 8 + size] = bytes(size)  # zero the JPEG data, keep the AVI chunk header
    bad = tmp_path / "corrupt.avi"
    bad.write_bytes(bytes(data))
    with pytest.raises(MediaError, match=r"corrupt video data near 0\.\d\d s") as caught:
        list(sample_frames(bad, stride=1))
    assert caught.value.where == str(bad)
    with pytest.raises(MediaError, match="corrupt video data"):
        list(decode_all_frames(bad, stride=1))
    assert [f.index for f in sample_frames(bad, stride=5)] == [0, 5, 10, 15, 20, 25, 30, 35, 40, 45]  # never decoded


def test_missing_timestamps_fall_back_to_full_decode(videos: dict[str, Path], tmp_path: Path) -> None:
    """A raw H.264 elementary stream has no packet timestamps: sampling still works, by decoding everything."""
    import av

    raw = tmp_path / "raw.h264"
    with av.open(str(videos["x264-no-bframes"])) as src, av.open(str(raw), "w", format="h264") as out:
        stream = out.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(video=0):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    frames = list(sample_frames(raw, stride=25))
    assert [f.index for f in frames] == [0, 25, 50]
    assert [f.t_s for f in frames] == pytest.approx([0.0, 1.0, 2.0])


def test_file_cut_mid_gop(videos: dict[str, Path], tmp_path: Path) -> None:
    """Frames before the first keyframe cannot be decoded: counted in the index, never chosen, no warning."""
    import av

    cut = tmp_path / "cut.mkv"
    with av.open(str(videos["x264-bframes"])) as src, av.open(str(cut), "w") as out:
        stream = out.add_stream_from_template(src.streams.video[0])
        for n, packet in enumerate(p for p in src.demux(video=0) if p.dts is not None):
            if n >= 10:  # drop the keyframe and what follows it in the first GOP
                packet.stream = stream
                out.mux(packet)
    stats = SamplingStats()
    frames = list(sample_frames(cut, stride=20, stats=stats))
    assert stats.frames_missing == 0
    assert frames[0].index >= 35 and frames[0].index % 20 == 0
    by_time = {round(f.t_s, 3): f for f in decode_all_frames(cut, stride=1)}
    for frame in frames:  # the naive decoder drops the undecodable frames, so compare by time
        assert np.array_equal(frame.image, by_time[round(frame.t_s, 3)].image)


def test_gop_too_long_falls_back_to_full_decode(videos: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import sightings.media.gop_decoding as sample_module

    monkeypatch.setattr(sample_module, "MAX_GOP_PACKETS", 20)  # as if keyframes were missing
    path = videos["x264-bframes"]
    stats = SamplingStats()
    _assert_same(list(sample_frames(path, fps=1, stats=stats)), list(decode_all_frames(path, fps=1)))
    assert stats.frames_sampled == 4 and stats.frames_decoded == 100


def test_fallback_midway_returns_no_frame_twice(videos: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import sightings.media.gop_decoding as sample_module

    real_plan = sample_module.GopPlanner._plan
    calls = {"n": 0}

    def plan_then_fail(self: Any, gop: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise sample_module.CannotPlanError("test: second GOP cannot be planned")
        return real_plan(self, gop, **kwargs)

    monkeypatch.setattr(sample_module.GopPlanner, "_plan", plan_then_fail)
    path = videos["x264-no-bframes"]  # GOPs of 25 frames
    stats = SamplingStats()
    got = list(sample_frames(path, stride=10, stats=stats))
    _assert_same(got, list(decode_all_frames(path, stride=10)))
    assert stats.frames_sampled == len(got) == 8
    assert stats.frames_decoded > 75  # the first GOP was sampled before the restart decoded all 75 frames


# ----------------------------------------------------------------------------------------------- writing


def test_write_samples_jpg(videos: dict[str, Path], tmp_path: Path) -> None:
    from PIL import Image

    out = tmp_path / "frames"
    seen: list[int | None] = []

    def progress(frames: Iterator[Frame], total: int | None) -> Iterator[Frame]:
        seen.append(total)
        return frames

    result = write_samples(videos["x264-bframes"], out, fps=1, progress=progress)
    names = [f"frame_{i:06d}.jpg" for i in (0, 25, 50, 75)]
    assert sorted(p.name for p in out.iterdir()) == [*names, "metadata.json"]
    assert seen == [4]
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["count"] == 4 and result["count"] == 4
    assert meta["source"]["codec"] == "h264" and meta["source"]["frame_count"] == 100
    assert meta["sampling"] == {
        "mode": "fps",
        "fps": 1.0,
        "stride": None,
        "start_s": 0.0,
        "end_s": None,
        "image_format": "jpg",
        "jpeg_quality": 90,
    }
    assert meta["frames"][1] == {"file": "frame_000025.jpg", "index": 25, "t_s": 1.0}
    assert result["out_dir"] == str(out) and result["stats"]["frames_sampled"] == 4
    with Image.open(out / names[2]) as img:
        assert img.format == "JPEG" and img.size == (320, 240)


def test_write_samples_png_is_lossless(videos: dict[str, Path], tmp_path: Path) -> None:
    from PIL import Image

    out = tmp_path / "png"
    write_samples(videos["mjpeg"], out, stride=20, image_format="png", progress=False)
    frames = list(sample_frames(videos["mjpeg"], stride=20))
    assert [f.index for f in frames] == [0, 20, 40]
    for frame in frames:
        with Image.open(out / f"frame_{frame.index:06d}.png") as img:
            assert np.array_equal(np.asarray(img), frame.image)


def test_write_samples_refuses_then_overwrites(videos: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(InputError, match="--overwrite"):
        write_samples(videos["mjpeg"], out, stride=25, progress=False)
    assert (out / "old.txt").exists()
    write_samples(videos["mjpeg"], out, stride=25, overwrite=True, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["frame_000000.jpg", "frame_000025.jpg", "metadata.json"]
    late = tmp_path / "late"  # a start past the end: said, not an empty folder
    with pytest.raises(InputError, match=r"100 s is past the end of the video \(\d"):
        write_samples(videos["mjpeg"], late, stride=25, start_s=100, progress=False)
    assert not late.exists()


def _no_partial_output(parent: Path, out: Path) -> None:
    assert not out.exists()
    assert [p.name for p in parent.iterdir() if p.name.startswith(f".{out.name}")] == []


def test_write_samples_failure_leaves_nothing(videos: dict[str, Path], tmp_path: Path) -> None:
    cut = truncate_copy(videos["mjpeg"], tmp_path / "cut.avi")
    out = tmp_path / "out"
    with pytest.raises(MediaError, match="truncated"):
        write_samples(cut, out, stride=2, progress=False)  # fails after writing ~12 frames
    _no_partial_output(tmp_path, out)


def test_write_samples_error_while_saving_leaves_nothing(
    videos: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    real_save = Image.Image.save
    calls = {"n": 0}

    def flaky_save(self: Image.Image, *args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        real_save(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", flaky_save)
    out = tmp_path / "out"
    with pytest.raises(OSError, match="No space left"):
        write_samples(videos["mjpeg"], out, stride=5, progress=False)
    _no_partial_output(tmp_path, out)


@pytest.mark.parametrize(
    ("kwargs", "where"), [({"image_format": "gif"}, "image_format"), ({"jpeg_quality": 0}, "jpeg_quality")]
)
def test_write_samples_bad_options(videos: dict[str, Path], tmp_path: Path, kwargs: dict[str, Any], where: str) -> None:
    with pytest.raises(InputError) as caught:
        write_samples(videos["mjpeg"], tmp_path / "x", stride=5, progress=False, **kwargs)
    assert caught.value.where == where
    assert not (tmp_path / "x").exists()
