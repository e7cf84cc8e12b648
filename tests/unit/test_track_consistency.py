"""Forward-backward consistency: cutting tracks where a backward pass disagrees, and replaying a forward pass
backwards (times and colours) without keeping images."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from sightings.core.protocols import TrackedDetection
from sightings.core.types import Box, Detection, Frame, MediaKind, MediaRef
from sightings.vision.pipeline import OfflineTracking, TrackRow
from sightings.vision.track.consistency import BackwardCheck, cut_where_backward_disagrees, row_key
from sightings.vision.track.linking import AppearanceCollector, EndAppearance, LinkOptions

REF = MediaRef("scene", MediaKind.VIDEO, fps=10.0)


def _rows(track_id: int, frames: range, x: float = 10.0) -> list[TrackRow]:
    return [TrackRow(f, f / 10, track_id, "person", 0.9, x, 10.0, x + 20, 60.0) for f in frames]


def _backward(rows: list[TrackRow], ids: Sequence[int | None]) -> dict:
    return {row_key(r.frame, r.x1, r.y1, r.x2, r.y2): b for r, b in zip(rows, ids, strict=True) if b is not None}


def test_a_track_is_cut_where_the_backward_id_changes_and_holds() -> None:
    rows = _rows(7, range(8))
    out, moved = cut_where_backward_disagrees(rows, _backward(rows, [1, 1, 1, 1, 2, 2, 2, 2]), hold=3)
    assert [r.track_id for r in out] == [7, 7, 7, 7, 8, 8, 8, 8]  # the new piece: above every existing id
    assert moved == {(7, 4): 8, (7, 5): 8, (7, 6): 8, (7, 7): 8}
    # a blip of one box, or a change that holds for fewer than `hold` boxes, is no cut
    blip, _ = cut_where_backward_disagrees(rows, _backward(rows, [1, 1, 2, 1, 1, 1, 3, 3]), hold=3)
    assert {r.track_id for r in blip} == {7}
    # boxes the backward pass did not track are skipped when counting
    gappy, _ = cut_where_backward_disagrees(rows, _backward(rows, [1, 1, None, 2, None, 2, 2, None]), hold=3)
    assert [r.track_id for r in gappy] == [7, 7, 7, 8, 8, 8, 8, 8]
    # hold 1 cuts at every change; an empty backward mapping cuts nothing
    every, _ = cut_where_backward_disagrees(rows, _backward(rows, [1, 2, 1, 1, 1, 1, 1, 1]), hold=1)
    assert [r.track_id for r in every] == [7, 8, 9, 9, 9, 9, 9, 9]
    assert cut_where_backward_disagrees(rows, {}, hold=3) == (rows, {})


class _Recorder:
    """A tracker that records what it is fed and gives every box of one frame its own id, same ids each frame."""

    def __init__(self) -> None:
        self.fed: list[tuple[int, float, int]] = []

    def reset(self) -> None:
        self.fed.append((-1, -1.0, -1))

    def update(self, frame: Frame, detections: Sequence[Detection]) -> list[TrackedDetection]:
        self.fed.append((frame.index, frame.t_s, len(detections)))
        return [TrackedDetection(i + 1, d) for i, d in enumerate(detections)]


def test_the_backward_pass_replays_frames_in_reverse_with_time_running_forwards() -> None:
    inner = _Recorder()
    check = BackwardCheck(inner)
    image = np.zeros((40, 40, 3), np.uint8)
    for f, t in ((0, 0.0), (3, 0.3), (6, 0.6)):
        boxes = [Detection(f, Box(1 + 10 * k, 1, 5 + 10 * k, 9), "person", 0.9) for k in range(f // 3 + 1)]
        check.update(Frame(REF, f, t, image), boxes)
    ids = check.backward_ids()
    replay = inner.fed[3:]
    assert replay[0] == (-1, -1.0, -1) and replay[-1] == (-1, -1.0, -1)  # reset before and after
    assert [(i, round(t, 6), n) for i, t, n in replay[1:-1]] == [(0, 0.0, 3), (3, 0.3, 2), (6, 0.6, 1)]
    assert ids[row_key(6, 21, 1, 25, 9)] == 3 and ids[row_key(0, 1, 1, 5, 9)] == 1  # keyed by the original frames
    assert check.backward_ids() is ids  # one pass; later calls give the same mapping


def test_botsort_colours_are_replayed_not_read_again() -> None:
    """The backward pass gets BoT-SORT the colours it read going forwards (frames carry a blank image then), and
    the tracker gets its own colour reading back afterwards."""
    from sightings.vision.track.botsort import BotSortTracker

    tracker = BotSortTracker()
    check = BackwardCheck(tracker)
    reads: list[int] = []
    real = tracker.colour_embeddings

    def counting(frame: Frame, boxes: object) -> dict:
        reads.append(frame.image.size)
        return real(frame, boxes)

    tracker.colour_embeddings = counting  # type: ignore[method-assign]
    for f in range(20):
        image = np.full((120, 160, 3), 80, np.uint8)
        image[20:80, 10 + 4 * f : 30 + 4 * f] = (200, 30, 30)
        check.update(Frame(REF, f, f / 10, image), [Detection(f, Box(10 + 4 * f, 20, 30 + 4 * f, 80), "person", 0.9)])
    assert len(reads) == 20
    ids = check.backward_ids()
    assert len(reads) == 20, "no colour read from the blank frames of the backward pass"
    assert set(ids.values()) == {1} and len(ids) == 20  # one person, one backward track
    assert tracker.embed_boxes is None  # its own reading again


def test_a_tracker_that_needs_images_is_not_replayed() -> None:
    from sightings.vision.track.botsort import BotSortTracker

    check = BackwardCheck(BotSortTracker(enable_cmc=True))
    assert not check.replayable
    image = np.zeros((40, 40, 3), np.uint8)
    check.update(Frame(REF, 0, 0.0, image), [Detection(0, Box(1, 1, 5, 9), "person", 0.9)])
    assert check.backward_ids() == {}


def test_descriptors_per_piece_after_a_cut() -> None:
    collector = AppearanceCollector(boxes=2, keep_all=True)
    red, blue = np.zeros((60, 40, 3), np.uint8), np.zeros((60, 40, 3), np.uint8)
    red[:] = (220, 20, 20)
    blue[:] = (20, 20, 220)
    for f in range(6):
        collector.add_frame(red if f < 3 else blue, [(5, (0, 0, 40, 60))], frame=f)
    whole = collector.descriptors()
    assert set(whole) == {5}
    pieces = collector.descriptors({(5, 3): 9, (5, 4): 9, (5, 5): 9})
    assert set(pieces) == {5, 9}

    def same(a: EndAppearance, b: EndAppearance) -> bool:
        return bool(np.allclose(a.start, b.start, atol=1e-2) and np.allclose(a.end, b.end, atol=1e-2))

    assert np.allclose(pieces[5].start, pieces[5].end, atol=1e-2)  # red only
    assert np.allclose(pieces[9].start, pieces[9].end, atol=1e-2)  # blue only
    assert not same(pieces[5], pieces[9]) and np.allclose(whole[5].start, pieces[5].start, atol=1e-2)


def test_backward_hold_option() -> None:
    from sightings.core.errors import ConfigError

    assert LinkOptions().backward_hold == 3
    for bad in (-1, 1.5, True):
        with pytest.raises(ConfigError, match=r"link\.backward_hold"):
            LinkOptions(backward_hold=bad)  # type: ignore[arg-type]
    assert LinkOptions().backward_veto_step_s == 2.0
    with pytest.raises(ConfigError, match=r"link\.backward_veto_step_s"):
        LinkOptions(backward_veto_step_s=-1.0)
    assert OfflineTracking("fake", link=LinkOptions(backward_hold=0)).backward is None
    assert OfflineTracking("fake", link=LinkOptions()).backward is not None
    assert OfflineTracking("fake", link=None).backward is None


def test_a_swap_is_cut_and_each_person_relinked() -> None:
    """Two people walk side by side, 200 px apart; the forward tracker swapped their ids at frame 10. Backward ids
    (here the true ones) cut both tracks there, and the linker joins each piece to its own person's continuation."""
    from sightings.vision.pipeline import finish_rows

    def box(f: int, x: float) -> tuple[float, float, float, float]:
        return (x + 2 * f, 100.0, x + 2 * f + 30, 180.0)

    rows = []
    for f in range(20):
        left, right = box(f, 50), box(f, 250)
        rows.append(TrackRow(f, f / 10, 1, "person", 0.9, *(left if f < 10 else right)))
        rows.append(TrackRow(f, f / 10, 2, "person", 0.9, *(right if f < 10 else left)))
    truth = {row_key(r.frame, r.x1, r.y1, r.x2, r.y2): 1 if r.x1 - 2 * r.frame < 150 else 2 for r in rows}
    frames = [(f, f / 10) for f in range(20)]
    plain = LinkOptions(appearance_weight=0.0, min_len_s=0.0, backward_hold=1)
    swapped = finish_rows(rows, frames, plain, None, 0.0)  # no backward ids: the swap stays
    assert {r.track_id for r in swapped if r.frame == 15 and r.x1 < 150} == {2}
    fixed = finish_rows(rows, frames, plain, None, 0.0, backward=truth)
    left_ids = {r.track_id for r in fixed if r.x1 - 2 * r.frame < 150}
    right_ids = {r.track_id for r in fixed if r.x1 - 2 * r.frame >= 150}
    assert len(left_ids) == len(right_ids) == 1 and left_ids != right_ids


def test_a_record_too_large_gives_the_backward_pass_up(caplog: pytest.LogCaptureFixture) -> None:
    """Memory stays bounded: past ``max_boxes`` the record is freed, a warning says so, and nothing is cut; the
    session's collector then keeps only each track's ends."""
    from sightings.vision.track.botsort import BotSortTracker

    tracker = BotSortTracker()
    session = OfflineTracking(tracker, link=LinkOptions(), collector=AppearanceCollector(keep_all=True))
    assert session.backward is not None
    session.backward.max_boxes = 5
    image = np.full((60, 80, 3), 90, np.uint8)
    with caplog.at_level("WARNING"):
        for f in range(4):
            boxes = [Detection(f, Box(5 + 20 * k, 5, 20 + 20 * k, 50), "person", 0.9) for k in range(3)]
            session.update(Frame(REF, f, f / 10, image), boxes)
    assert session.backward.gave_up and "backward tracking pass skipped" in caplog.text
    assert tracker.embed_boxes is None  # its own colour reading again
    assert session.collector is not None and not session.collector.keep_all
    assert session.backward.backward_ids() == {}
    assert len(session.finish(1.0)) == 12  # tracked and finished as without the backward pass


def _piece(track_id: int, times: Sequence[float], x: float) -> list[TrackRow]:
    return [TrackRow(round(t * 10), t, track_id, "person", 0.9, x, 10.0, x + 20, 60.0) for t in times]


def test_the_backward_veto_names_the_links_the_backward_pass_contradicts() -> None:
    from sightings.vision.track.consistency import BackwardVeto

    a, c, b = _piece(1, [0.0, 2.5, 5.0], 100), _piece(3, [7.5], 600), _piece(2, [10.0, 12.5], 100)
    rows = a + c + b
    # backwards, the person of a's last box went on as c; b is someone else
    veto = BackwardVeto(rows, _backward(rows, [5, 5, 5, 5, 6, 6]))
    assert veto([1], 5.0, [2], 10.0)  # a -> b: the backward pass put a third piece (c) in between
    assert not veto([1], 5.0, [3], 7.5)  # a -> c: what the backward pass says
    assert not veto([1, 3], 7.5, [2], 10.0)  # c is already part of the ending track
    # b's first box: backwards it came from c, so c -> b is fine and a -> b is ruled out from that side too
    from_b = BackwardVeto(rows, _backward(rows, [5, 5, 5, 6, 6, 6]))
    assert from_b([1], 5.0, [2], 10.0)
    assert not from_b([3], 7.5, [2], 10.0)
    # boxes the backward pass did not track, or agreeing ids, veto nothing
    assert not BackwardVeto(rows, {})([1], 5.0, [2], 10.0)
    assert not BackwardVeto(rows, _backward(rows, [5, 5, 5, 7, 5, 5]))([1], 5.0, [2], 10.0)


def test_the_veto_applies_only_when_frames_are_analysed_sparsely() -> None:
    """One standing person (a, then b after a 5-s gap) and someone far away (c) in between; the backward pass says a
    went on as c. Analysed every 2.5 s the link a -> b is vetoed; analysed every second (the same boxes, the frames in
    between empty) it is made: the veto is for sparse steps only (``backward_veto_step_s``, 2 s)."""
    from sightings.vision.pipeline import finish_rows
    from sightings.vision.track.postprocess import median_step_s

    rows = _piece(1, [0.0, 2.5, 5.0], 100) + _piece(3, [7.5], 600) + _piece(2, [10.0, 12.5], 100)
    ids = _backward(rows, [5, 5, 5, 5, 6, 6])
    link = LinkOptions(appearance_weight=0.0, min_len_s=0.0)
    sparse = [(round(t * 10), t) for t in np.arange(0.0, 12.6, 2.5)]
    dense = [(round(t * 10), float(t)) for t in np.arange(0.0, 12.6, 0.5)]
    assert median_step_s(t for _, t in sparse) == 2.5 and median_step_s(t for _, t in dense) == 0.5
    assert median_step_s([0.0]) == 0.0

    def tracks(frames: list[tuple[int, float]], options: LinkOptions) -> set[frozenset[int]]:
        done = finish_rows(rows, frames, options, None, 0.0, backward=ids)
        by: dict[int, set[int]] = {}
        for r in done:
            by.setdefault(r.track_id, set()).add(r.frame)
        return {frozenset(v) for v in by.values()}

    joined = frozenset({0, 25, 50, 100, 125})
    assert joined in tracks(dense, link)
    assert joined not in tracks(sparse, link)
    assert joined in tracks(sparse, LinkOptions(appearance_weight=0.0, min_len_s=0.0, backward_veto_step_s=0.0))
