"""Offline tracklet linking (sightings.vision.track.linking) on synthetic tracklets, and through `sightings track`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from sightings.core.errors import ConfigError
from sightings.vision.pipeline import TrackRow
from sightings.vision.track.linking import (
    AppearanceCollector,
    EndAppearance,
    LinkOptions,
    appearance_distance,
    body_colour_descriptor,
    link_tracklets,
    plan_links,
)

pytest.importorskip("scipy")

FPS = 10.0
NO_COLOUR = LinkOptions(max_gap_s=3.0, appearance_weight=0.0, min_len_s=0.0)


def walk(
    track_id: int,
    t0: float,
    t1: float,
    *,
    x0: float,
    vx: float,
    y: float = 200.0,
    h: float = 80.0,
    label: str = "person",
) -> list[TrackRow]:
    """Boxes of a person walking at ``vx`` px/s from ``x0`` (at t=0) between t0 and t1, every 1/FPS s."""
    rows = []
    for k in range(round(t0 * FPS), round(t1 * FPS) + 1):
        t = k / FPS
        cx = x0 + vx * t
        rows.append(TrackRow(k, t, track_id, label, 0.8, cx - h / 5, y - h / 2, cx + h / 5, y + h / 2))
    return rows


def ids_by_track(rows: list[TrackRow]) -> dict[int, set[int]]:
    return {tid: {r.frame for r in rows if r.track_id == tid} for tid in {r.track_id for r in rows}}


def test_one_walk_split_by_a_1_5_s_gap_becomes_one_id() -> None:
    rows = walk(1, 0.0, 3.0, x0=50, vx=40) + walk(2, 4.5, 8.0, x0=50, vx=40)
    out = link_tracklets(rows, options=NO_COLOUR)
    assert {r.track_id for r in out} == {1}
    assert len(out) == len(rows)
    plan = plan_links(rows, options=NO_COLOUR)
    assert plan.links[0][:2] == (1, 2) and plan.new_ids == {1: 1, 2: 1}


def test_linking_off_when_max_gap_is_zero_or_gap_too_long() -> None:
    rows = walk(1, 0.0, 3.0, x0=50, vx=40) + walk(2, 4.5, 8.0, x0=50, vx=40)
    assert {r.track_id for r in link_tracklets(rows, options=LinkOptions(max_gap_s=0))} == {1, 2}
    assert {r.track_id for r in link_tracklets(rows, options=LinkOptions(max_gap_s=1.0))} == {1, 2}


def test_chain_of_three_pieces() -> None:
    rows = walk(1, 0.0, 2.0, x0=50, vx=40) + walk(5, 3.0, 5.0, x0=50, vx=40) + walk(9, 6.5, 9.0, x0=50, vx=40)
    out = link_tracklets(rows, options=NO_COLOUR)
    assert {r.track_id for r in out} == {1}


def test_two_crossing_people_are_not_swapped() -> None:
    # A walks right, B walks left; both are lost around the crossing (t 3-4.2 s) and come back as new tracks
    a1, b1 = walk(1, 0.0, 3.0, x0=100, vx=60, y=200), walk(2, 0.0, 3.0, x0=580, vx=-60, y=215)
    a2, b2 = walk(3, 4.2, 7.0, x0=100, vx=60, y=200), walk(4, 4.2, 7.0, x0=580, vx=-60, y=215)
    plan = plan_links(a1 + b1 + a2 + b2, options=NO_COLOUR)
    assert plan.new_ids == {1: 1, 3: 1, 2: 2, 4: 2}


def test_tracks_that_overlap_in_time_are_never_linked() -> None:
    rows = walk(1, 0.0, 4.0, x0=50, vx=40) + walk(2, 3.5, 8.0, x0=50, vx=40)
    plan = plan_links(rows, options=LinkOptions(max_gap_s=5.0, max_cost=100.0, max_position=100.0))
    assert plan.links == () and plan.new_ids == {1: 1, 2: 2}


def test_different_labels_are_never_linked() -> None:
    rows = walk(1, 0.0, 3.0, x0=50, vx=40) + walk(2, 4.0, 8.0, x0=50, vx=40, label="dog")
    assert plan_links(rows, options=NO_COLOUR).links == ()


def _person_image(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> np.ndarray:
    img = np.zeros((100, 40, 3), np.uint8)
    img[:50], img[50:] = top, bottom
    return img


def test_appearance_breaks_a_tie() -> None:
    # one person stands still and disappears; two people appear equally far away, one wearing the same colours
    still = walk(1, 0.0, 3.0, x0=300, vx=0)
    left, right = walk(2, 4.0, 6.0, x0=270, vx=0), walk(3, 4.0, 6.0, x0=330, vx=0)
    red_blue = body_colour_descriptor(_person_image((200, 30, 30), (30, 30, 200)), (0, 0, 40, 100))
    green_yellow = body_colour_descriptor(_person_image((30, 200, 30), (220, 220, 40)), (0, 0, 40, 100))
    colours = {
        1: EndAppearance(red_blue, red_blue),
        2: EndAppearance(green_yellow, green_yellow),
        3: EndAppearance(red_blue, red_blue),
    }
    options = LinkOptions(max_gap_s=3.0, appearance_weight=1.0, min_len_s=0.0)
    assert plan_links(still + left + right, options=options, appearance=colours).new_ids[3] == 1
    swapped = {1: colours[1], 2: colours[3], 3: colours[2]}
    assert plan_links(still + left + right, options=options, appearance=swapped).new_ids[2] == 1
    # the Bhattacharyya coefficient of a descriptor with itself is 1 per half
    assert math.isclose(float(red_blue @ red_blue), 2.0, rel_tol=1e-5)


def test_embeddings_break_a_tie_by_cosine_distance() -> None:
    # the same scene as above, the ends described by unit embeddings (a re-ID model's) instead of colours
    still = walk(1, 0.0, 3.0, x0=300, vx=0)
    left, right = walk(2, 4.0, 6.0, x0=270, vx=0), walk(3, 4.0, 6.0, x0=330, vx=0)
    me, other = np.array([0.6, 0.8, 0.0], np.float32), np.array([0.0, 0.6, 0.8], np.float32)
    looks = {i: EndAppearance(v, v, "cosine") for i, v in ((1, me), (2, other), (3, me))}
    options = LinkOptions(max_gap_s=3.0, appearance_weight=1.0, min_len_s=0.0)
    assert plan_links(still + left + right, options=options, appearance=looks).new_ids[3] == 1
    swapped = {1: looks[1], 2: looks[3], 3: looks[2]}
    assert plan_links(still + left + right, options=options, appearance=swapped).new_ids[2] == 1


def test_appearance_distance_by_metric() -> None:
    a, b = np.array([1.0, 0.0], np.float32), np.array([0.0, 1.0], np.float32)
    assert appearance_distance(a, a, "cosine") == pytest.approx(0.0)
    assert appearance_distance(a, b, "cosine") == pytest.approx(1.0)
    assert appearance_distance(a, -a, "cosine") == pytest.approx(1.0)  # opposite counts as unrelated, not worse
    colour = body_colour_descriptor(_person_image((200, 30, 30), (30, 30, 200)), (0, 0, 40, 100))
    assert appearance_distance(colour, colour) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ConfigError, match="unknown appearance metric"):
        appearance_distance(a, b, "euclid")


def test_short_unlinked_tracks_are_pruned_linked_ones_kept() -> None:
    rows = walk(1, 0.0, 0.3, x0=50, vx=40) + walk(2, 1.0, 3.0, x0=50, vx=40) + walk(7, 1.0, 1.2, x0=600, vx=0)
    out = link_tracklets(rows, options=LinkOptions(max_gap_s=3.0, appearance_weight=0.0, min_len_s=1.0))
    assert {r.track_id for r in out} == {1}
    assert plan_links(rows, options=LinkOptions(max_gap_s=3.0, min_len_s=1.0)).dropped == {7}


def test_short_tracks_cut_by_the_start_or_end_of_the_video_are_kept() -> None:
    rows = walk(1, 0.0, 0.5, x0=50, vx=40) + walk(2, 1.0, 5.0, x0=400, vx=0) + walk(3, 4.7, 5.0, x0=600, vx=0)
    assert plan_links(rows, options=LinkOptions(appearance_weight=0.0)).dropped == frozenset()
    # at one frame per 3 s a single box stands for 3 s of presence
    sparse = [r for r in walk(4, 0.0, 9.0, x0=50, vx=0) if r.frame % 30 == 0] + walk(5, 3.0, 3.0, x0=600, vx=0)
    assert plan_links(sparse, options=LinkOptions(min_len_s=3.0)).dropped == frozenset()


def test_appearance_collector_keeps_first_and_last_boxes_only() -> None:
    collector = AppearanceCollector(boxes=2)
    red, green = _person_image((200, 0, 0), (200, 0, 0)), _person_image((0, 200, 0), (0, 200, 0))
    for image in (red, red, green, green, green):
        collector.add(4, image, (0, 0, 40, 100))
    ends = collector.descriptors()[4]
    assert float(ends.start @ ends.end) < 0.5  # red start, green end
    assert len(collector._tail[4]) == 2


def stand(track_id: int, t0: float, t1: float, *, x: float, h: float = 80.0) -> list[TrackRow]:
    """Boxes of a person standing at ``x`` between t0 and t1."""
    return walk(track_id, t0, t1, x0=x, vx=0.0, h=h)


def test_a_person_who_stops_behind_someone_is_linked_across_a_long_gap() -> None:
    """Walks in at 60 px/s, vanishes at x=230 (hidden, standing), reappears there 12 s later and walks back:
    constant velocity would put them 720 px away either way. The second stage, which allows a stop, links them;
    one stage of 3 s, or constant velocity over the long gap, does not."""
    rows = walk(1, 0.0, 3.0, x0=50, vx=60) + walk(2, 15.0, 18.0, x0=1130, vx=-60)
    options = LinkOptions(appearance_weight=0.0, min_len_s=0.0)  # the defaults: 3 s first, then up to 15 s
    assert options.max_gap_s == 15.0 and options.short_gap_s == 3.0 and options.may_stop
    assert {r.track_id for r in link_tracklets(rows, options=options)} == {1}
    import dataclasses

    assert {r.track_id for r in link_tracklets(rows, options=dataclasses.replace(options, may_stop=False))} == {1, 2}
    assert {r.track_id for r in link_tracklets(rows, options=dataclasses.replace(options, max_gap_s=3.0))} == {1, 2}


def test_a_stopped_person_is_not_looked_for_ever_further_away() -> None:
    """Someone who stood still and vanished is looked for near where they stood: the gate of the second stage widens
    over its first ``short_gap_s`` only. 12 s later, 5 box heights away, is someone else (the gate of the first
    stage, widening all the time, would have allowed 7)."""
    rows = stand(1, 0.0, 10.0, x=300) + stand(2, 22.0, 25.0, x=700)
    options = LinkOptions(appearance_weight=0.0, min_len_s=0.0)
    assert {r.track_id for r in link_tracklets(rows, options=options)} == {1, 2}
    near = stand(1, 0.0, 10.0, x=300) + stand(2, 22.0, 25.0, x=420)  # 1.5 box heights: the same person
    assert {r.track_id for r in link_tracklets(near, options=options)} == {1}


def test_short_gaps_are_linked_before_long_ones() -> None:
    """B starts 1 s after A stops, where A stood (A→B is the right link). C stood beside them and left the picture
    4 s before B appeared: under "may stop", with the gate widening over time, C→B would cost less than A→B, and
    one assignment would give B to C. Short gaps go first, so B stays A's and C finds no one."""
    a = stand(1, 10.0, 14.0, x=310)
    b = stand(2, 15.0, 18.0, x=302)
    c = stand(3, 7.0, 11.0, x=300)  # overlaps A in time: never A's; nearer B's start than A is
    plan = plan_links(a + b + c, options=LinkOptions(appearance_weight=0.0, min_len_s=0.0))
    assert [(x, y) for x, y, _ in plan.links] == [(1, 2)]
    assert plan.new_ids == {1: 1, 2: 1, 3: 3}


DOOR = ((200.0, 200.0), (300.0, 200.0), (300.0, 260.0), (200.0, 260.0))  # holds foot points (x, 240)


def test_a_doorway_stops_long_links_between_who_left_and_who_came_in() -> None:
    """A stands in the doorway and vanishes; 8 s later B appears there. Without doorways the second stage takes B
    for A who stood hidden; with the doorway, A left and B came in. A 2-s gap there (the first stage) still links,
    and a long gap away from the doorway too."""
    options = LinkOptions(appearance_weight=0.0, min_len_s=0.0)
    at_door = stand(1, 0.0, 5.0, x=250) + stand(2, 13.0, 16.0, x=252)
    assert {r.track_id for r in link_tracklets(at_door, options=options)} == {1}
    with_door = LinkOptions(appearance_weight=0.0, min_len_s=0.0, doorways=(DOOR,))
    assert {r.track_id for r in link_tracklets(at_door, options=with_door)} == {1, 2}
    short = stand(1, 0.0, 5.0, x=250) + stand(2, 7.0, 10.0, x=252)
    assert {r.track_id for r in link_tracklets(short, options=with_door)} == {1}
    elsewhere = stand(1, 0.0, 5.0, x=450) + stand(2, 13.0, 16.0, x=452)
    assert {r.track_id for r in link_tracklets(elsewhere, options=with_door)} == {1}
    assert with_door.doorways == (DOOR,) and LinkOptions(doorways=[[[0, 0], [1, 0], [1, 1]]]).doorways == (
        ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0)),)  # fmt: skip


@pytest.mark.parametrize(
    "value", [[[[0, 0], [1, 1]]], [[[0, 0], [1, 1], ["a", 2]]], [[[0, 0], [1, 1], [math.inf, 2]]], 3]
)
def test_bad_doorways_are_config_errors(value: object) -> None:
    with pytest.raises(ConfigError, match=r"link\.doorways"):
        LinkOptions(doorways=value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_gap_s", -1.0),
        ("max_cost", float("nan")),
        ("min_len_s", "1"),
        ("size_weight", True),
        ("short_gap_s", -3.0),
        ("may_stop", 1),
    ],
)
def test_bad_options_are_config_errors(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"link.{field}"):
        LinkOptions(**{field: value})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="appearance_boxes"):
        AppearanceCollector(boxes=0)


def test_track_video_rejects_a_negative_link_gap(tmp_path: Path) -> None:
    from sightings.testing.fakes import FakeDetector, FakeTracker
    from sightings.vision.pipeline import track_video

    with pytest.raises(ConfigError, match="link_s"):
        track_video(tmp_path / "none.mp4", detector=FakeDetector(), tracker=FakeTracker(), link_s=-1.0)


def test_retail_entrance_zones_as_doorways() -> None:
    """Opt-in (`entrance_doorways`): the camera's entrance zones go to the linker; off keeps the analysis hash."""
    from sightings.solutions.retail.config import config_from_mapping
    from sightings.solutions.retail.pipeline import link_options_for

    door = [[200, 200], [300, 200], [300, 260], [200, 260]]
    zones = {"cam1": {"zones": [{"name": "door", "kind": "entrance", "points": door},
                                {"name": "desk", "kind": "counter", "points": [[0, 0], [9, 0], [9, 9]]}]}}  # fmt: skip
    off = config_from_mapping({"cameras": zones}, where="t")
    on = config_from_mapping({"cameras": zones, "entrance_doorways": True}, where="t")
    assert link_options_for(off, "cam1") is None and link_options_for(on, "cam2") is None  # no entrance there
    options = link_options_for(on, "cam1")
    assert options is not None and options.doorways == (tuple((float(x), float(y)) for x, y in door),)
    assert options.max_gap_s == LinkOptions().max_gap_s
    assert "entrance_doorways" not in off.analysis_settings() and on.analysis_hash() != off.analysis_hash()
    no_backward = config_from_mapping({"cameras": zones, "backward_check": False}, where="t")
    plain = link_options_for(no_backward, "cam1")
    assert plain is not None and plain.backward_hold == 0 and plain.doorways == ()
    assert no_backward.analysis_hash() != off.analysis_hash()


def test_retail_config_link_s() -> None:
    from sightings.solutions.retail.config import RetailConfig, config_from_mapping
    from sightings.vision.track.linking import DEFAULT_LINK_S

    assert RetailConfig.model_validate({}).link_s == DEFAULT_LINK_S
    with pytest.raises(ConfigError, match="link_s"):
        config_from_mapping({"link_s": -2}, where="retail.yaml")


# -- through `sightings track` on a generated video ------------------------------------------------------------


def test_cli_track_links_a_broken_walk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("trackers")
    pytest.importorskip("pyarrow")
    from typer.testing import CliRunner

    from factories import walker_track_app
    from sightings.evaluate.mot_io import read_mot

    video = tmp_path / "walk.mp4"
    app = walker_track_app(monkeypatch, video)
    runner = CliRunner()
    found = {}
    for link in ("0", "4"):
        out = tmp_path / f"out{link}"
        args = ["track", str(video), "--detector", "walker", "--tiles", "none", "-o", str(out), "--json"]
        res = runner.invoke(app, [*args, "--link-s", link])
        assert res.exit_code == 0, res.output
        summary = json.loads(res.stdout)
        assert summary["link_s"] == float(link)
        found[link] = (summary["tracks"], read_mot(out / "tracks.txt"))
    assert found["0"][0] == 2 and found["4"][0] == 1
    assert len(set(found["4"][1].id.tolist())) == 1 and len(found["4"][1]) == 26  # the 3 s gap is not filled
    res = runner.invoke(app, ["track", str(video), "--detector", "walker", "-o", str(tmp_path / "x"), "--link-s", "-1"])
    assert res.exit_code == 2
