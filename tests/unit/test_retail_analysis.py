"""Retail analysis on synthetic tracks (no detector): roles, episodes, receipt join, metrics — hand-checked.

Scenario (1 analysis fps, video starts 09:30:00+03:00 = 06:30 UTC, 200 s long). Zones: counter y < 100 (whole
width), checkout x < 200 and 100 ≤ y < 200, floor everywhere else.

| track | seen (s) | foot point | role |
|---|---|---|---|
| 1 | 0–199 | (300, 50) counter | seller (200 s) |
| 2 | 0–99 | (500, 50) counter | seller (100 s) |
| 3 = A | 10–79 | (300, 150) near seller 1 (100 px); away at 30–31; checkout (100, 150) at 70–79 | customer |
| 4 = B | 100–149 | (100, 150) checkout, 223 px from seller 1 | customer |
| 5 = C | 150–164 | (350, 120), 86 px from seller 1 | customer |
| 6 | 180–181 | — | ignored (2 s < 3 s) |
| 7 = D | 185–190 | (300, 120), 70 px from seller 1 for 6 s < 10 s | customer |

Receipts: t = 78 s 1000 (A at the checkout), t = 120 s 500 (B), t = 300 s 70 (nobody), t = 500 s (outside).

The figures are hand-checked at the analysed frames, so these tests analyse without the finer time grid
(``resample_s: 0``); the grid itself is tested in ``test_retail_resample.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from sightings.solutions.retail.config import RetailConfig, config_from_mapping
from sightings.solutions.retail.inputs import VideoFile
from sightings.solutions.retail.interactions import find_episodes
from sightings.solutions.retail.metrics import summarise
from sightings.solutions.retail.pipeline import analyse_points, warehouse_rows
from sightings.solutions.retail.purchases import Receipt
from sightings.solutions.retail.trajectories import TrackPoint, build_trajectories
from sightings.testing.fakes import FakeWarehouse

START = datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=3)))
ZONES = {
    "cam1": {
        "zones": [
            {"name": "desk", "kind": "counter", "points": [[0, 0], [640, 0], [640, 100], [0, 100]]},
            {"name": "till", "kind": "checkout", "points": [[0, 100], [200, 100], [200, 200], [0, 200]]},
            {"name": "hall", "kind": "floor", "points": [[0, 0], [640, 0], [640, 480], [0, 480]]},
        ]
    }
}


def _point(t: float, foot: tuple[float, float]) -> TrackPoint:
    x, y = foot
    return TrackPoint(float(t), x - 20, y - 80, x + 20, y, frame=int(t * 25))


def _scenario() -> list[tuple[int, TrackPoint]]:
    pts: list[tuple[int, TrackPoint]] = []
    pts += [(1, _point(t, (300, 50))) for t in range(200)]
    pts += [(2, _point(t, (500, 50))) for t in range(100)]
    for t in range(10, 80):
        foot = (300.0, 400.0) if t in (30, 31) else (100.0, 150.0) if t >= 70 else (300.0, 150.0)
        pts.append((3, _point(t, foot)))
    pts += [(4, _point(t, (100, 150))) for t in range(100, 150)]
    pts += [(5, _point(t, (350, 120))) for t in range(150, 165)]
    pts += [(6, _point(t, (600, 300))) for t in range(180, 182)]
    pts += [(7, _point(t, (300, 120))) for t in range(185, 191)]
    return pts


def _receipt(t_s: float, amount: float, rid: str) -> Receipt:
    return Receipt(START + timedelta(seconds=t_s), amount, "till-1", rid)


RECEIPTS = [_receipt(78, 1000, "r1"), _receipt(120, 500, "r2"), _receipt(300, 70, "r3"), _receipt(500, 9, "r4")]
VIDEO = VideoFile(Path("s1_cam1_20260301-093000+0300.mp4"), "s1", "cam1", START)


def _config(**extra: object) -> RetailConfig:
    return config_from_mapping({"cameras": ZONES, "resample_s": 0, **extra}, where="test")


def test_roles_from_counter_evidence_and_baseline() -> None:
    a = analyse_points(_scenario(), video=VIDEO, duration_s=200, step_s=1.0, config=_config())
    assert a.roles.method == "zones"
    assert a.roles.sellers == (1, 2)
    assert a.roles.customers == (3, 4, 5, 7)
    no_zones = analyse_points(_scenario(), video=VIDEO, duration_s=200, step_s=1.0, config=RetailConfig())
    assert (no_zones.roles.method, no_zones.roles.sellers) == ("longest", (1,))
    assert no_zones.roles.customers == (2, 3, 4, 5, 7)
    strict = analyse_points(
        _scenario(), video=VIDEO, duration_s=200, step_s=1.0, config=_config(roles={"min_seller_s": 150})
    )
    assert strict.roles.sellers == (1,)


def test_episodes_merge_short_gaps_and_drop_short_contacts() -> None:
    a = analyse_points(_scenario(), video=VIDEO, duration_s=200, step_s=1.0, config=_config())
    got = [(s.episode.seller_track, s.episode.customer_track, s.episode.start_s, s.episode.end_s) for s in a.episodes]
    # A: close 10–29 and 32–69, the 2 s away (30–31) ≤ 3 s tolerance → one episode 10 → 70; C: 150 → 165; D: 6 s
    assert got == [(1, 3, 10.0, 70.0), (1, 5, 150.0, 165.0)]
    assert [s.episode.duration_s for s in a.episodes] == [60.0, 15.0]
    assert a.episodes[0].episode.zone == "floor"
    tight = analyse_points(
        _scenario(), video=VIDEO, duration_s=200, step_s=1.0, config=_config(interactions={"gap_tolerance_s": 1})
    )
    assert [(s.episode.start_s, s.episode.end_s) for s in tight.episodes][:2] == [(10.0, 30.0), (32.0, 70.0)]


def test_receipts_join_checkout_customers_and_mark_success() -> None:
    a = analyse_points(_scenario(), video=VIDEO, duration_s=200, step_s=1.0, config=_config(), receipts=RECEIPTS)
    assert [(j.receipt.receipt_id, j.t_s, j.customer_track) for j in a.joined] == [
        ("r1", 78.0, 3),
        ("r2", 120.0, 4),
        ("r3", 300.0, None),
    ]  # r4 at 500 s is past the video (200 s) + window_before (120 s)
    assert [(s.purchased, s.amount) for s in a.episodes] == [(True, 1000.0), (False, 0.0)]


def test_a_camera_with_registers_joins_only_their_receipts() -> None:
    other = Receipt(START + timedelta(seconds=120), 500, "till-2", "r2")
    receipts = [RECEIPTS[0], other]
    zones = {"cam1": {**ZONES["cam1"], "registers": ["till-1"]}}
    mine = analyse_points(
        _scenario(), video=VIDEO, duration_s=200, step_s=1.0, config=_config(cameras=zones), receipts=receipts
    )
    assert [j.receipt.receipt_id for j in mine.joined] == ["r1"]  # till-2 is another camera's
    every = analyse_points(_scenario(), video=VIDEO, duration_s=200, step_s=1.0, config=_config(), receipts=receipts)
    assert [j.receipt.receipt_id for j in every.joined] == ["r1", "r2"]
    assert (
        _config().analysis_hash()
        == config_from_mapping(
            {"cameras": {"cam1": {**ZONES["cam1"], "registers": []}}, "resample_s": 0}, where="test"
        ).analysis_hash()
    )  # no registers: the hash of videos finished before they existed
    assert _config(cameras=zones).analysis_hash() != _config().analysis_hash()


def test_metrics_hand_checked() -> None:
    a = analyse_points(_scenario(), video=VIDEO, duration_s=200, step_s=1.0, config=_config(), receipts=RECEIPTS)
    hour = datetime(2026, 3, 1, 6, tzinfo=UTC)
    assert {m.hour for m in a.metrics} == {hour}
    s = summarise({"seller_id": m.seller_id, "name": m.name, "value": m.value} for m in a.metrics)
    store = s[""]
    assert {k: store[k] for k in (
        "customers", "served_customers", "interactions", "successful_interactions", "interaction_seconds",
        "purchases", "revenue", "purchases_with_consultation", "revenue_with_consultation",
        "purchases_without_consultation", "revenue_without_consultation", "unjoined_receipts",
    )} == {
        "customers": 4, "served_customers": 2, "interactions": 2, "successful_interactions": 1,
        "interaction_seconds": 75, "purchases": 2, "revenue": 1500, "purchases_with_consultation": 1,
        "revenue_with_consultation": 1000, "purchases_without_consultation": 1, "revenue_without_consultation": 500,
        "unjoined_receipts": 1,
    }  # fmt: skip
    assert store["interaction_ratio"] == 0.5
    assert store["avg_purchase_with_consultation"] == 1000 and store["avg_purchase_without_consultation"] == 500
    assert store["success_rate"] == 0.5 and store["avg_interaction_s"] == 37.5
    seller = s["cam1/20260301T063000Z/track-1"]  # an unnamed seller is one video's track
    assert (seller["interactions"], seller["successful_interactions"], seller["revenue"]) == (2, 1, 1000)
    assert seller["served_customers"] == 2 and "cam1/20260301T063000Z/track-2" not in s


def test_metrics_split_by_utc_hour() -> None:
    late = VideoFile(VIDEO.path, "s1", "cam1", datetime(2026, 3, 1, 6, 59, tzinfo=UTC))
    a = analyse_points(_scenario(), video=late, duration_s=200, step_s=1.0, config=_config())
    by_hour = {(m.hour.hour, m.name): m.value for m in a.metrics if m.seller_id == ""}
    # customers first seen at 10 s (06:59:10) and 100/150/185 s (07:00:40 …); episodes at 10 s and 150 s
    assert by_hour[(6, "customers")] == 1 and by_hour[(7, "customers")] == 3
    assert by_hour[(6, "interactions")] == 1 and by_hour[(7, "interactions")] == 1


def test_episode_step_scales_with_stride() -> None:
    # at 0.2 fps (5 s apart) 3 close samples = 15 s; a 5 s sampling gap is no gap at all
    pts = [(1, _point(t, (0, 0))) for t in range(0, 100, 5)] + [(2, _point(t, (10, 0))) for t in (20, 25, 30)]
    traj = build_trajectories(pts)
    cfg = RetailConfig()
    eps = find_episodes(traj, [1], [2], step_s=5.0, options=cfg.interactions)
    assert [(e.start_s, e.end_s) for e in eps] == [(20.0, 35.0)]


def test_warehouse_rows_validate_and_replace_by_run() -> None:
    from sightings.analytics.warehouse_schema import WAREHOUSE_SCHEMA

    a = analyse_points(_scenario(), video=VIDEO, duration_s=200, step_s=1.0, config=_config(), receipts=RECEIPTS)
    rows = warehouse_rows(a, config_hash="h", analysis_fps=1.0)
    assert len(rows["tracks"]) == 200 + 100 + 70 + 50 + 15 + 2 + 6
    roles = {r["track_id"]: r["role"] for r in rows["tracks"]}
    assert (roles[1], roles[3], roles[6]) == ("seller", "customer", "unknown")
    assert rows["interactions"][0]["started_at"] == datetime(2026, 3, 1, 6, 30, 10, tzinfo=UTC)
    wh = FakeWarehouse(schema=WAREHOUSE_SCHEMA)
    from sightings.solutions.retail.pipeline import write_analysis

    for _ in range(2):
        write_analysis(wh, a, config=_config())
    assert len(wh.query("SELECT * FROM interactions")) == 2
    assert len(wh.query("SELECT * FROM runs")) == 1


@pytest.mark.parametrize("fps", [1.0])
def test_step_from_config(fps: float) -> None:
    assert _config(analysis_fps=fps).sampling == (fps, None)


def test_the_resume_key_folds_in_the_receipts_and_the_schedule() -> None:
    from sightings.solutions.retail.pipeline import inputs_hash
    from sightings.solutions.retail.schedule import Shift

    at = datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=3)))
    receipt = Receipt(at, 100.0, "till-1", "A1")
    shift = Shift("s1", "Anna", at, at + timedelta(hours=8))
    assert inputs_hash("cfg", (), None) == inputs_hash("cfg", (), ()) == "cfg"  # as before receipts counted
    keys = {
        inputs_hash("cfg", [receipt], None),
        inputs_hash("cfg", [Receipt(at, 101.0, "till-1", "A1")], None),  # an amount corrected
        inputs_hash("cfg", [], [shift]),
        inputs_hash("cfg", [receipt], [shift]),
        inputs_hash("cfg2", [receipt], [shift]),
    }
    assert len(keys) == 5 and "cfg" not in keys
    same_time_other_zone = Receipt(at.astimezone(UTC), 100.0, "till-1", "A1")
    assert inputs_hash("cfg", [same_time_other_zone], None) == inputs_hash("cfg", [receipt], None)


def test_two_cameras_sharing_every_receipt_get_a_note() -> None:
    from sightings.solutions.retail.folder_run import FolderPlan, _shared_checkout_notes

    cam2 = VideoFile(Path("s1_cam2_20260301-093000+0300.mp4"), "s1", "cam2", START)
    plan = FolderPlan("s1", (VIDEO, cam2), (), (), None, None, None, None)
    both = _config(cameras={"cam1": ZONES["cam1"], "cam2": ZONES["cam1"]})
    (note,) = _shared_checkout_notes(plan, both, any_receipts=True)
    assert note.startswith("cameras cam1, cam2 all have a checkout zone and no registers")
    assert _shared_checkout_notes(plan, both, any_receipts=False) == ()
    split = _config(
        cameras={"cam1": {**ZONES["cam1"], "registers": ["till-1"]}, "cam2": {**ZONES["cam1"], "registers": ["t2"]}}
    )
    assert _shared_checkout_notes(plan, split, any_receipts=True) == ()


def test_counts_without_rows_are_zero_not_missing() -> None:
    """A video whose customers met no seller: 0 served, not "no data" (and an accuracy comparison keeps it)."""
    only_customers = [{"seller_id": "", "name": "customers", "value": 3.0}]
    store = summarise(only_customers)[""]
    assert (store["served_customers"], store["interactions"], store["interaction_ratio"]) == (0.0, 0.0, 0.0)
    assert "purchases" not in store and "revenue" not in store  # no receipts in its time: unknown, not 0
    with_receipt = [*only_customers, {"seller_id": "", "name": "unjoined_receipts", "value": 1.0},
                    {"seller_id": "cam1/x/track-1", "name": "interactions", "value": 1.0}]  # fmt: skip
    summary = summarise(with_receipt)
    assert summary[""]["purchases"] == 0.0 and summary[""]["revenue_with_consultation"] == 0.0
    assert summary["cam1/x/track-1"]["revenue"] == 0.0 and summary["cam1/x/track-1"]["served_customers"] == 0.0
