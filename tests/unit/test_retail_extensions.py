"""Retail extensions on synthetic tracks: shift schedule → named sellers, floor-plane distances, gaps splitting
episodes, health/drift alerts, and one interaction-ratio definition (report = view)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from sightings.core.errors import ConfigError, InputError, NotFoundError
from sightings.solutions.retail.config import config_from_mapping
from sightings.solutions.retail.gaps import gaps_between_files, gaps_in_times
from sightings.solutions.retail.health import Baseline, FrameStat, health_alerts, population_stability
from sightings.solutions.retail.inputs import VideoFile
from sightings.solutions.retail.interactions import find_episodes
from sightings.solutions.retail.metrics import summarise
from sightings.solutions.retail.pipeline import analyse_points
from sightings.solutions.retail.schedule import parse_schedule, read_schedule, sheet_export_url
from sightings.solutions.retail.trajectories import TrackPoint, build_trajectories
from sightings.solutions.retail.zones import CameraZones, FloorPlane

TZ = timezone(timedelta(hours=3))
START = datetime(2026, 3, 1, 9, 0, tzinfo=TZ)
VIDEO = VideoFile(Path("s1_cam1_20260301-090000+0300.mp4"), "s1", "cam1", START)
COUNTER = {"name": "desk", "kind": "counter", "points": [[0, 0], [640, 0], [640, 100], [0, 100]]}


def _pt(t: float, foot: tuple[float, float]) -> TrackPoint:
    return TrackPoint(float(t), foot[0] - 20, foot[1] - 80, foot[0] + 20, foot[1], frame=int(t))


def _shifts_csv(*rows: str) -> str:
    return "seller_id,name,start,end,camera,store\n" + "".join(f"{r}\n" for r in rows)


# ------------------------------------------------------------------------------------------------ schedule
def test_schedule_parses_and_reports_bad_rows_by_number(tmp_path: Path) -> None:
    shifts = parse_schedule(
        _shifts_csv(
            "anna,Anna K.,2026-03-01T09:00:00+03:00,2026-03-01T15:00:00+03:00,cam1,",
            ",Boris,2026-03-01T12:00:00+03:00,2026-03-01T21:00:00+03:00,,s1",
            ",,,,,",
        ),
        where="s.csv",
    )
    assert [(s.seller_id, s.name, s.camera, s.store, s.line) for s in shifts] == [
        ("anna", "Anna K.", "cam1", "", 2),
        ("Boris", "Boris", "", "s1", 3),
    ]
    bad = _shifts_csv(
        "anna,,2026-03-01T09:00:00,2026-03-01T15:00:00+03:00,,",
        "ok,,2026-03-01T09:00:00+03:00,2026-03-01T10:00:00+03:00,,",
        ",,2026-03-01T09:00:00+03:00,2026-03-01T10:00:00+03:00,,",
        "x,,2026-03-01T11:00:00+03:00,2026-03-01T10:00:00+03:00,,",
    )
    with pytest.raises(InputError) as err:
        parse_schedule(bad, where="s.csv")
    text = str(err.value)
    assert text.startswith("s.csv: 3 bad rows: row 2: start '2026-03-01T09:00:00' has no time zone")
    assert "row 4: no seller_id or name" in text and "row 5: end" in text and "row 3" not in text
    with pytest.raises(InputError, match="missing columns"):
        parse_schedule("who,when\n", where="s.csv")
    with pytest.raises(NotFoundError):
        read_schedule(tmp_path / "nope.csv")


def test_google_sheets_link_becomes_its_csv_export() -> None:
    url = "https://docs.google.com/spreadsheets/d/1AbC-d_9/edit#gid=123"
    assert sheet_export_url(url) == "https://docs.google.com/spreadsheets/d/1AbC-d_9/export?format=csv&gid=123"
    assert sheet_export_url("https://example.com/s.csv") == "https://example.com/s.csv"


def test_schedule_names_sellers_several_at_once_and_joins_fragments() -> None:
    # track 1: at the counter 0–99 s; track 2: at the counter 0–199 s; track 3: at the counter 120–199 s (anna's
    # second fragment); track 4: a customer near track 2. Anna 09:00–09:02 on cam1, Boris 09:00–10:00 in s1.
    pts = [(1, _pt(t, (100, 50))) for t in range(100)]
    pts += [(2, _pt(t, (500, 50))) for t in range(200)]
    pts += [(3, _pt(t, (120, 50))) for t in range(120, 200)]
    pts += [(4, _pt(t, (520, 150))) for t in range(20, 60)]
    shifts = parse_schedule(
        _shifts_csv(
            "anna,,2026-03-01T09:00:00+03:00,2026-03-01T09:03:30+03:00,cam1,",
            "boris,,2026-03-01T09:00:00+03:00,2026-03-01T10:00:00+03:00,,s1",
            "carl,,2026-03-01T09:00:00+03:00,2026-03-01T10:00:00+03:00,cam9,",
        ),
        where="s.csv",
    )
    cfg = config_from_mapping({"cameras": {"cam1": {"zones": [COUNTER]}}}, where="t")
    a = analyse_points(pts, video=VIDEO, duration_s=200, step_s=1.0, config=cfg, shifts=shifts)
    assert a.roles.method == "schedule"
    assert a.roles.sellers == (1, 2, 3)
    # shifts in time order (ties: seller id): anna takes the strongest counter evidence (track 2, 200 s), boris
    # the next (track 1, 100 s); carl works on another camera; track 3 lies inside both shifts: stays track-3
    assert dict(a.roles.names) == {1: "boris", 2: "anna"}
    assert a.roles.seller_id(3).endswith("Z/track-3")
    s = summarise({"seller_id": m.seller_id, "name": m.name, "value": m.value} for m in a.metrics)
    assert s["anna"]["interactions"] == 1 and s["anna"]["served_customers"] == 1
    assert s["anna"]["interaction_ratio"] == 1.0  # served 1 of the store's 1 customer

    only_anna = [sh for sh in shifts if sh.seller_id == "anna"]
    b = analyse_points(pts, video=VIDEO, duration_s=200, step_s=1.0, config=cfg, shifts=only_anna)
    # anna alone: takes track 2 (strongest evidence); tracks 1 and 3 lie inside her shift → her fragments
    assert dict(b.roles.names) == {1: "anna", 2: "anna", 3: "anna"}
    nobody = analyse_points(pts, video=VIDEO, duration_s=200, step_s=1.0, config=cfg, shifts=[])
    assert nobody.roles.method == "zones" and not nobody.roles.names


# ------------------------------------------------------------------------------------------------ homography
def _plane() -> dict[str, object]:
    # a synthetic floor seen in perspective: the far edge (y = 100) is 400 px wide for 8 m, the near edge
    # (y = 400) 800 px wide for the same 8 m; 10 m deep
    return {"image": [[120, 100], [520, 100], [720, 400], [-80, 400]], "floor_m": [[0, 10], [8, 10], [8, 0], [0, 0]]}


def test_floor_plane_maps_image_points_to_metres() -> None:
    plane = FloorPlane.model_validate(_plane())
    assert plane.to_floor(120, 100) == pytest.approx((0.0, 10.0), abs=1e-6)
    assert plane.to_floor(720, 400) == pytest.approx((8.0, 0.0), abs=1e-6)
    near_a, near_b = plane.to_floor(300, 400), plane.to_floor(400, 400)  # 100 px apart near the camera
    far_a, far_b = plane.to_floor(300, 100), plane.to_floor(350, 100)  # 50 px apart far away
    assert abs(near_b[0] - near_a[0]) == pytest.approx(1.0) and abs(far_b[0] - far_a[0]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="exactly 4 points"):
        FloorPlane.model_validate({"image": [[0, 0], [1, 0], [1, 1]], "floor_m": [[0, 0], [1, 0], [1, 1]]})
    with pytest.raises(ValueError, match="on one line"):
        FloorPlane.model_validate(
            {"image": [[0, 0], [1, 0], [2, 0], [1, 1]], "floor_m": [[0, 0], [1, 0], [1, 1], [0, 1]]}
        )
    with pytest.raises(ConfigError, match="floor"):
        config_from_mapping({"cameras": {"c": {"floor": {"image": [[0, 0]], "floor_m": []}}}}, where="t")


def test_interactions_in_metres_when_the_camera_has_a_floor_plane() -> None:
    # seller and customer 100 px apart near the camera (1 m) and 100 px apart far away (2 m)
    near = [(1, _pt(t, (300, 400))) for t in range(20)] + [(2, _pt(t, (400, 400))) for t in range(20)]
    far = [(1, _pt(t, (300, 100))) for t in range(20)] + [(2, _pt(t, (400, 100))) for t in range(20)]
    zones = CameraZones.model_validate({"floor": _plane()})
    cfg = config_from_mapping({"interactions": {"distance_m": 1.5, "distance_px": 150, "min_duration_s": 5}}, where="t")
    for pts, expected in ((near, 1), (far, 0)):
        traj = build_trajectories(pts)
        eps = find_episodes(traj, [1], [2], step_s=1.0, options=cfg.interactions, to_floor=zones.floor.to_floor)  # type: ignore[union-attr]
        assert len(eps) == expected
        assert len(find_episodes(traj, [1], [2], step_s=1.0, options=cfg.interactions)) == 1  # pixels: both close


# ------------------------------------------------------------------------------------------------ gaps
def test_gaps_inside_a_file_split_episodes() -> None:
    times = [*range(30), *range(100, 130)]
    assert gaps_in_times([float(t) for t in times], step_s=1.0, min_gap_s=5) == [(29.0, 100.0)]
    pts = [(1, _pt(t, (100, 50))) for t in times] + [(2, _pt(t, (150, 60))) for t in times]
    cfg = config_from_mapping({"interactions": {"gap_tolerance_s": 120, "min_duration_s": 5}}, where="t")
    traj = build_trajectories(pts)
    assert len(find_episodes(traj, [1], [2], step_s=1.0, options=cfg.interactions)) == 1  # tolerance bridges it
    split = find_episodes(traj, [1], [2], step_s=1.0, options=cfg.interactions, gaps=[(29.0, 100.0)])
    assert [(e.start_s, e.end_s) for e in split] == [(0.0, 30.0), (100.0, 130.0)]


def _jitter_pair(distances: list[float]) -> dict[int, Any]:
    """Seller at x=100, customer at x=100+d at second t (1 fps), feet on one line."""
    pts = [(1, _pt(t, (100, 50))) for t in range(len(distances))]
    pts += [(2, _pt(t, (100 + d, 50))) for t, d in enumerate(distances)]
    return build_trajectories(pts)


def test_hysteresis_keeps_an_episode_through_jitter_around_the_threshold() -> None:
    jitter = [110.0, 130.0] * 10  # 20 s, every second frame just over 120 px
    options = {"distance_px": 120, "min_duration_s": 5, "gap_tolerance_s": 0}
    plain = config_from_mapping({"interactions": {**options, "release_factor": 1.0}}, where="t").interactions
    held = config_from_mapping({"interactions": options}, where="t").interactions  # the default: × 1.25
    assert held.release_factor == 1.25
    assert find_episodes(_jitter_pair(jitter), [1], [2], step_s=1.0, options=plain) == []  # 1-s pieces, dropped
    [episode] = find_episodes(_jitter_pair(jitter), [1], [2], step_s=1.0, options=held)
    assert (episode.start_s, episode.end_s) == (0.0, 20.0)
    # entering needs the distance itself: 130 px all along is never close, whatever the release
    assert find_episodes(_jitter_pair([130.0] * 20), [1], [2], step_s=1.0, options=held) == []
    # beyond distance × release_factor (150 px) the episode ends
    ends = find_episodes(_jitter_pair([110.0] * 8 + [160.0] * 12), [1], [2], step_s=1.0, options=held)
    assert [(e.start_s, e.end_s) for e in ends] == [(0.0, 8.0)]


def test_hysteresis_does_not_hold_across_a_recording_gap() -> None:
    held = config_from_mapping(
        {"interactions": {"distance_px": 120, "release_factor": 1.25, "min_duration_s": 3, "gap_tolerance_s": 5}},
        where="t",
    ).interactions
    traj = _jitter_pair([110.0] * 5 + [130.0] * 5)
    assert [(e.start_s, e.end_s) for e in find_episodes(traj, [1], [2], step_s=1.0, options=held)] == [(0.0, 10.0)]
    split = find_episodes(traj, [1], [2], step_s=1.0, options=held, gaps=[(4.5, 4.9)])
    assert [(e.start_s, e.end_s) for e in split] == [(0.0, 5.0)]  # after the gap 130 px is not close again


def test_release_factor_below_one_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="release_factor"):
        config_from_mapping({"interactions": {"release_factor": 0.8}}, where="t")


def test_gaps_between_files_of_a_camera() -> None:
    a = VIDEO
    b = VideoFile(Path("b.mp4"), "s1", "cam1", START + timedelta(seconds=600))
    c = VideoFile(Path("c.mp4"), "s1", "cam1", START + timedelta(seconds=1200))
    other = VideoFile(Path("d.mp4"), "s1", "cam2", START + timedelta(seconds=5000))
    gaps = gaps_between_files([a, b, c, other], [300.0, 598.0, None, 10.0], min_gap_s=5)
    assert [(g.run_id, g.kind, g.duration_s) for g in gaps] == [(b.run_id, "between_files", 300.0)]


# ------------------------------------------------------------------------------------------------ health
def _stats(n: int, *, people: int = 1, score: float = 0.8, luma: float = 120.0, diff: float = 5.0) -> list[FrameStat]:
    return [FrameStat(float(t), people, (score,) * people, luma, diff) for t in range(n)]


def test_health_alerts_black_frozen_empty_and_camera_off() -> None:
    opts = config_from_mapping({"health": {"black_s": 30, "frozen_s": 30, "empty_scene_s": 60}}, where="t").health
    stats = _stats(20) + [FrameStat(float(t), 0, (), 5.0, 5.0) for t in range(20, 60)]  # 40 s black
    stats += [FrameStat(float(t), 1, (0.8,), 120.0, 0.0) for t in range(60, 100)]  # 40 s frozen
    stats += [FrameStat(float(t), 0, (), 120.0, 4.0) for t in range(100, 170)]  # 70 s nobody
    (gap,) = gaps_between_files(
        [VIDEO, VideoFile(Path("b.mp4"), "s1", "cam1", START + timedelta(seconds=900))], [170.0, 10.0], min_gap_s=5
    )
    alerts = health_alerts(VIDEO, stats, step_s=1.0, gaps=[gap], options=opts, baseline=None)
    got = {(a.kind, a.severity, round(a.value)) for a in alerts}
    assert got == {("black", "critical", 40), ("frozen", "critical", 41), ("empty_scene", "info", 70),
                   ("camera_off", "warning", 730)}  # fmt: skip
    black = next(a for a in alerts if a.kind == "black")
    assert black.ts == START + timedelta(seconds=20) and "black picture for 40 s" in black.message


def test_drift_against_a_baseline_with_psi() -> None:
    opts = config_from_mapping({}, where="t").health
    baseline = Baseline.of(_stats(200, people=1, score=0.8) + _stats(200, people=2, score=0.7))
    same = health_alerts(VIDEO, _stats(100, people=1) + _stats(100, people=2, score=0.7), step_s=1.0, gaps=[],
                         options=opts, baseline=baseline)  # fmt: skip
    assert same == []
    crowded = health_alerts(VIDEO, _stats(200, people=5, score=0.35), step_s=1.0, gaps=[], options=opts,
                            baseline=baseline)  # fmt: skip
    assert {(a.kind, a.severity) for a in crowded} == {("drift_count", "critical"), ("drift_confidence", "critical")}
    assert population_stability([0.5, 0.5], [0.5, 0.5]) == 0.0
    with pytest.raises(InputError):
        population_stability([1.0], [0.5, 0.5])


def test_interaction_ratio_has_one_definition() -> None:
    hour = datetime(2026, 3, 1, 6, tzinfo=UTC)
    rows = [
        {"seller_id": "", "name": "customers", "value": 10.0},
        {"seller_id": "", "name": "served_customers", "value": 4.0},
        {"seller_id": "anna", "name": "served_customers", "value": 3.0},
        {"seller_id": "boris", "name": "served_customers", "value": 2.0},
    ]
    s = summarise({**r, "hour": hour} for r in rows)
    assert (s[""]["interaction_ratio"], s["anna"]["interaction_ratio"], s["boris"]["interaction_ratio"]) == (
        0.4,
        0.3,
        0.2,
    )
    assert summarise([{"seller_id": "x", "name": "interactions", "value": 1.0}])["x"]["interaction_ratio"] is None
