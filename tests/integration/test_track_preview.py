"""The ``--preview`` of ``sightings track`` is drawn from the written tracks (ids after linking, final boxes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from factories import make_video
from sightings.core.errors import InputError
from sightings.vision.draw import render_track_preview, track_colour
from sightings.vision.pipeline import TrackRow


def _rows(frames: range, track_id: int, x: float) -> list[TrackRow]:
    return [TrackRow(i, i / 25, track_id, "person", 0.9, x, 20.0, x + 40, 100.0) for i in frames]


def test_png_preview_shows_the_busiest_frame_with_the_final_ids(tmp_path: Path) -> None:
    from PIL import Image

    video = make_video(tmp_path / "v.mp4", seconds=1.0, gop=10)
    rows = _rows(range(0, 25), 7, 30.0) + _rows(range(10, 14), 12, 200.0)  # frames 10-13 hold both tracks
    out = render_track_preview(tmp_path / "p.png", video, rows)
    assert out == tmp_path / "p.png"
    image = np.asarray(Image.open(out).convert("RGB"))
    assert tuple(image[60, 30]) == track_colour(7)  # left edge of track 7's box
    assert tuple(image[60, 200]) == track_colour(12)  # left edge of track 12's box: the frame with both


def test_mp4_preview_has_one_frame_per_sampled_frame(tmp_path: Path) -> None:
    import av

    video = make_video(tmp_path / "v.mp4", seconds=2.0, gop=10)
    out = render_track_preview(tmp_path / "p.mp4", video, _rows(range(0, 50, 5), 3, 50.0), stride=5)
    assert out is not None
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 10
    assert not list(tmp_path.glob(".p.mp4.partial*"))


def test_a_bad_preview_name_is_an_input_error(tmp_path: Path) -> None:
    video = make_video(tmp_path / "v.mp4", seconds=0.4, gop=10)
    with pytest.raises(InputError, match=r"must end in \.mp4 or \.png"):
        render_track_preview(tmp_path / "p.gif", video, [])


@pytest.mark.parametrize("suffix", [".mp4", ".png"])
def test_a_preview_that_cannot_be_written_is_an_input_error_and_leaves_nothing(tmp_path: Path, suffix: str) -> None:
    video = make_video(tmp_path / "v.mp4", seconds=0.4, gop=10)
    target = tmp_path / f"taken{suffix}"
    target.mkdir()  # a folder where the preview goes: the final rename fails
    with pytest.raises(InputError, match="cannot write here: it is a folder"):
        render_track_preview(target, video, _rows(range(0, 10), 1, 30.0))
    assert not list(tmp_path.glob(".taken*"))
