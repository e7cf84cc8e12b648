"""Cut detection on generated edits (hard cuts, dissolves, fades, flashes) and the cut scorer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sightings.evaluate.cuts import score_cuts
from sightings.solutions.content.cuts import detect_cuts
from sightings.solutions.content.synthetic import make_edited_video


@pytest.fixture(scope="module")
def edit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    path = tmp_path_factory.mktemp("edit") / "edit.mp4"
    truth = make_edited_video(path, seed=3, n_shots=7, width=320, height=180)
    return path, truth.to_dict()


def test_finds_cuts_dissolves_and_fades_not_flashes(edit: tuple[Path, dict[str, object]]) -> None:
    path, truth = edit
    result = detect_cuts(path)
    score = score_cuts(result.shot_starts, truth["cuts"], truth["gradual"])  # type: ignore[arg-type]
    assert score.f1 >= 0.9, score
    flashes = truth["flashes_not_cuts"]
    assert not any(abs(s - f) <= 2 for s in result.shot_starts for f in flashes)  # type: ignore[attr-defined]
    assert result.n_frames == truth["num_frames"]
    assert all(0.0 <= t.confidence <= 1.0 for t in result.transitions)
    assert {t.kind for t in result.transitions} <= {"cut", "gradual"}
    assert result.to_dict()["shot_starts"][0] == 0


def test_score_cuts_tolerance_and_gradual_spans() -> None:
    s = score_cuts([0, 10, 52, 99], cuts=[0, 12, 50], gradual=[(90, 100)])
    assert (s.tp, s.fp, s.fn) == (3, 0, 0)
    s = score_cuts([13, 14, 200], cuts=[10], gradual=[])
    assert (s.tp, s.fp, s.fn) == (0, 3, 1)
    assert s.precision == 0.0 and s.f1 == 0.0
    s = score_cuts([10, 11], cuts=[10])
    assert (s.tp, s.fp) == (1, 1)  # each prediction counts once


def test_single_frame_and_static_video(tmp_path: Path) -> None:
    from factories import make_video

    one = make_video(tmp_path / "one.mp4", seconds=0.04, fps=25)
    r = detect_cuts(one)
    assert r.n_frames == 1 and r.shot_starts == [0] and r.change.shape == (1,)


def test_frame_distances_range() -> None:
    from sightings.solutions.content.scan import GRID_H, GRID_W, frame_distances

    rng = np.random.default_rng(0)
    grids = rng.uniform(0, 255, (3, GRID_H, GRID_W)).astype(np.float16)
    hists = rng.dirichlet(np.ones(128), 3).astype(np.float16)
    d = frame_distances(grids, hists, np.array([0, 0]), np.array([0, 1]))
    assert d[0] == 0 and 0 < d[1] <= 1


def test_reference_frames_only_by_default_all_frames_on_request(edit: tuple[Path, dict[str, object]]) -> None:
    from sightings.solutions.content.scan import scan_video

    path, truth = edit
    fast, exact = detect_cuts(path), detect_cuts(path, all_frames=True)
    assert exact.decoded_frames is None and exact.to_dict()["decoded_frames"] == exact.n_frames
    assert fast.n_frames == exact.n_frames == truth["num_frames"]
    assert fast.decoded_frames is not None and fast.decoded_frames < 0.7 * fast.n_frames
    assert fast.change.shape == (fast.decoded_frames,)
    # every boundary the full decode finds is found within a frame, numbered in the file's frames
    assert len(fast.shot_starts) == len(exact.shot_starts)
    assert all(abs(a - b) <= 1 for a, b in zip(fast.shot_starts, exact.shot_starts, strict=True))
    scan = scan_video(path, keep_frames=False, reference_only=True)
    full = scan_video(path, keep_frames=False)
    assert scan.total_frames == full.n_frames and scan.n_frames == fast.decoded_frames
    assert np.array_equal(scan.times_s, full.times_s[scan.indices])
    assert np.array_equal(full.indices, np.arange(full.n_frames))


def test_cli_cuts_all_frames(edit: tuple[Path, dict[str, object]]) -> None:
    import json

    from typer.testing import CliRunner

    from sightings.cli import app

    path, _ = edit
    fast = json.loads(CliRunner().invoke(app, ["content", "cuts", str(path), "--json"]).stdout)
    exact = json.loads(CliRunner().invoke(app, ["content", "cuts", str(path), "--json", "--all-frames"]).stdout)
    assert fast["n_frames"] == exact["n_frames"] == exact["decoded_frames"] > fast["decoded_frames"]
