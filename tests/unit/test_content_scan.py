"""scan_video: GOPs decoded in parallel give exactly the serial scan (features, times, kept frames and pixels)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sightings.solutions.content.scan import VideoScan, scan_video
from sightings.solutions.content.synthetic import make_edited_video


def _assert_same(a: VideoScan, b: VideoScan) -> None:
    assert a.n_frames == b.n_frames
    for name in ("times_s", "grids", "hists", "mean_luma", "keyframes"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert [(f.index, f.t_s, f.reasons) for f in a.frames] == [(f.index, f.t_s, f.reasons) for f in b.frames]
    assert all(np.array_equal(x.image, y.image) for x, y in zip(a.frames, b.frames, strict=True))
    assert a.decode_errors == b.decode_errors


@pytest.fixture(scope="module")
def edit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # x264 defaults: B-frames, and a keyframe at every scene cut (several GOPs)
    path = tmp_path_factory.mktemp("scan") / "edit.mp4"
    make_edited_video(path, seed=7, n_shots=5, width=320, height=180)
    return path


@pytest.mark.parametrize("keep_frames", [False, True])
def test_parallel_scan_equals_serial_scan(edit: Path, keep_frames: bool) -> None:
    serial = scan_video(edit, keep_frames=keep_frames, workers=1)
    parallel = scan_video(edit, keep_frames=keep_frames, workers=2)
    assert int(serial.keyframes.sum()) >= 3
    _assert_same(parallel, serial)
    if keep_frames:
        reasons = {r for f in parallel.frames for r in f.reasons}
        assert reasons == {"uniform", "keyframe", "shot"}
    else:
        assert parallel.frames == []


def test_odd_timestamps_fall_back_to_a_serial_pass(edit: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sightings.solutions.content import scan

    monkeypatch.setattr(scan, "BOUNDARY_SLACK_S", -1.0)  # workers now convert too few frames
    _assert_same(scan_video(edit, workers=2), scan_video(edit, workers=1))
