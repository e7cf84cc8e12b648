"""sightings.media.probe: fields of generated videos, and one clear error per kind of bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from factories import make_audio, make_unknown_codec_video, make_video, truncate_copy
from sightings.core.errors import InputError, MediaError, NotFoundError, SightingsError, UnsupportedMediaError
from sightings.core.types import MediaKind
from sightings.media.probe import VideoInfo, probe


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("probe-media")
    return {
        "mp4": make_video(root / "bframes.mp4", seconds=2.0, gop=25, bframes=3),
        "mkv": make_video(root / "bframes.mkv", seconds=2.0, gop=25, bframes=3),
        "mjpeg": make_video(root / "intra.avi", seconds=1.0, codec="mjpeg"),
        "av": _with_audio(root / "with_audio.mkv", root),
    }


def _with_audio(path: Path, root: Path) -> Path:
    """Remux a generated video and a generated tone into one file (video + audio streams)."""
    import av

    video = make_video(root / "va_video.mkv", seconds=1.0)
    audio = make_audio(root / "va_audio.mka", seconds=1.0)
    with av.open(str(video)) as vin, av.open(str(audio)) as ain, av.open(str(path), "w") as out:
        vs = out.add_stream_from_template(vin.streams.video[0])
        aus = out.add_stream_from_template(ain.streams.audio[0])
        for src, dst in ((vin, vs), (ain, aus)):
            for packet in src.demux():
                if packet.dts is None:
                    continue
                packet.stream = dst
                out.mux(packet)
    return path


def test_probe_h264_mp4(media: dict[str, Path]) -> None:
    info = probe(media["mp4"])
    assert isinstance(info, VideoInfo)
    assert (info.container, info.codec, info.width, info.height) == ("mp4", "h264", 320, 240)
    assert info.fps == 25.0
    assert info.frame_count == 50 and info.frame_count_exact
    assert info.duration_s == pytest.approx(2.0)
    assert info.bit_rate is not None and info.bit_rate > 0
    assert info.keyframe_interval == 25
    assert info.has_audio is False
    assert info.pix_fmt == "yuv420p"
    assert info.path == str(media["mp4"])


def test_probe_estimates_frame_count_without_header_count(media: dict[str, Path]) -> None:
    info = probe(media["mkv"])
    assert info.container == "matroska"
    assert info.frame_count == 50 and info.frame_count_exact is False  # duration × fps
    assert info.keyframe_interval is None  # Matroska cues do not list every frame


def test_probe_all_intra_and_audio(media: dict[str, Path]) -> None:
    mjpeg = probe(media["mjpeg"])
    assert (mjpeg.container, mjpeg.codec, mjpeg.keyframe_interval, mjpeg.frame_count) == ("avi", "mjpeg", 1, 25)
    both = probe(media["av"])
    assert both.has_audio is True and both.codec == "h264"


def test_media_ref_and_dict(media: dict[str, Path]) -> None:
    info = probe(media["mp4"])
    ref = info.to_media_ref()
    assert ref.kind is MediaKind.VIDEO
    assert ref.uri == str(media["mp4"].resolve())
    assert (ref.fps, ref.frame_count, ref.width, ref.height) == (25.0, 50, 320, 240)
    assert ref.duration_s == pytest.approx(2.0)
    data = json.loads(json.dumps(info.to_dict()))
    assert data["frame_count_exact"] is True and data["codec"] == "h264"
    assert set(data) >= {"path", "container", "codec", "width", "height", "fps", "frame_count", "duration_s"}


# -------------------------------------------------------------------------------------------- bad inputs


def _missing(tmp: Path) -> Path:
    return tmp / "nope.mp4"


def _empty(tmp: Path) -> Path:
    (tmp / "empty.mp4").touch()
    return tmp / "empty.mp4"


def _text(tmp: Path) -> Path:
    path = tmp / "notes.mp4"
    path.write_text("this is not a video\n" * 50)
    return path


def _truncated(tmp: Path) -> Path:
    return truncate_copy(make_video(tmp / "full.mp4", seconds=1.0), tmp / "half.mp4")


def _audio_only(tmp: Path) -> Path:
    return make_audio(tmp / "tone.wav")


def _unknown_codec(tmp: Path) -> Path:
    return make_unknown_codec_video(tmp / "zzzz.avi")


def _folder(tmp: Path) -> Path:
    (tmp / "clip.mp4").mkdir()
    return tmp / "clip.mp4"


BAD_INPUTS: dict[str, tuple[Callable[[Path], Path], type[SightingsError], str]] = {
    "missing": (_missing, NotFoundError, "no such file"),
    "zero-byte": (_empty, MediaError, "empty file"),
    "text-named-mp4": (_text, MediaError, "not a readable video"),
    "truncated": (_truncated, MediaError, "not a readable video"),
    "audio-only": (_audio_only, MediaError, "no video stream"),
    "unknown-codec": (_unknown_codec, UnsupportedMediaError, "unsupported video codec"),
    "folder": (_folder, InputError, "is a folder"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_raises_our_error(case: str, tmp_path: Path) -> None:
    make, error, reason = BAD_INPUTS[case]
    path = make(tmp_path)
    with pytest.raises(error) as caught:
        probe(path)
    err = caught.value
    assert type(err) is error  # not a subclass standing in for another kind
    assert err.where == str(path)
    assert reason in err.reason
    assert "\n" not in str(err) and str(err).startswith(f"{path}: ")
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)  # no PyAV traceback


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path: Path) -> None:
    path = make_video(tmp_path / "locked.mp4", seconds=0.4)
    path.chmod(0)
    try:
        with pytest.raises(InputError, match="permission denied") as caught:
            probe(path)
        assert caught.value.where == str(path)
    finally:
        path.chmod(0o644)


def test_import_is_light() -> None:
    code = (
        "import sys, sightings.media, sightings.media.probe, sightings.media.sample, sightings.cli.media\n"
        "print(','.join(m for m in ('av', 'PIL', 'cv2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
