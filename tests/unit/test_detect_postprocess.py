"""Detector post-processing: NMS, letterbox, tiles, SSD anchors and box decoding (NumPy only, fast)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sightings.core.errors import ConfigError, InputError
from sightings.core.types import Box
from sightings.vision.detect.postprocess import (
    SsdAnchorOptions,
    batched_nms,
    box_iou,
    clip_boxes,
    decode_ssd_boxes,
    letterbox,
    letterbox_params,
    nms,
    resize_rgb,
    sigmoid,
    ssd_anchors,
    tile_grid,
    touches_inner_edge,
)


# -- IoU and NMS -------------------------------------------------------------------------------------------------
def test_box_iou_matches_box_iou() -> None:
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 100, (20, 2))
    wh = rng.uniform(0, 40, (20, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
    m = box_iou(boxes, boxes[:7])
    assert m.shape == (20, 7)
    for i in range(20):
        for j in range(7):
            assert m[i, j] == pytest.approx(Box(*boxes[i]).iou(Box(*boxes[j])), abs=1e-5)
    assert box_iou([[0, 0, 0, 0]], [[0, 0, 0, 0]])[0, 0] == 0.0


def test_nms_keeps_best_of_each_overlapping_group_in_score_order() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 10.5], [51, 50, 61, 60]])
    scores = [0.6, 0.9, 0.7, 0.5, 0.8]
    keep = nms(boxes, scores, 0.5)
    assert keep.tolist() == [1, 4]
    assert nms(boxes, scores, 0.5, max_detections=1).tolist() == [1]
    # a high threshold suppresses nothing but exact duplicates above it
    assert sorted(nms(boxes, scores, 0.99).tolist()) == [0, 1, 2, 3, 4]


def test_nms_threshold_is_strict_and_ties_keep_the_first() -> None:
    a, b = [0, 0, 10, 10], [0, 0, 10, 5]  # IoU exactly 0.5
    assert nms([a, b], [0.9, 0.8], 0.5).tolist() == [0, 1]
    assert nms([a, b], [0.9, 0.8], 0.49).tolist() == [0]
    assert nms([a, a], [0.7, 0.7], 0.5).tolist() == [0]


def test_nms_empty_and_mismatched() -> None:
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []
    assert batched_nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0), 0.5).tolist() == []
    with pytest.raises(InputError):
        nms([[0, 0, 1, 1]], [0.1, 0.2], 0.5)


def test_batched_nms_never_suppresses_across_classes() -> None:
    boxes = [[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [100, 100, 120, 130]]
    scores = [0.9, 0.8, 0.95, 0.3]
    classes = [0, 1, 0, 1]
    keep = batched_nms(boxes, scores, classes, 0.5)
    assert keep.tolist() == [2, 1, 3]


# -- resizing and letterbox --------------------------------------------------------------------------------------
def test_resize_rgb_shapes_and_validation() -> None:
    img = np.zeros((30, 40, 3), np.uint8)
    img[:, 20:] = 200
    out = resize_rgb(img, 20, 10)
    assert out.shape == (10, 20, 3) and out.dtype == np.uint8
    assert out[:, 0].max() == 0 and out[:, -1].min() == 200
    assert resize_rgb(img, 40, 30) is img
    with pytest.raises(InputError):
        resize_rgb(np.zeros((10, 10), np.uint8), 5, 5)
    with pytest.raises(InputError):
        resize_rgb(np.zeros((0, 10, 3), np.uint8), 5, 5)


@pytest.mark.parametrize(("w", "h", "tw", "th"), [(200, 100, 64, 64), (100, 300, 64, 64), (640, 480, 640, 640)])
def test_letterbox_params_centre_and_keep_aspect(w: int, h: int, tw: int, th: int) -> None:
    lb = letterbox_params(w, h, tw, th)
    assert lb.inner_width <= tw and lb.inner_height <= th
    assert (lb.inner_width == tw) or (lb.inner_height == th)
    assert abs(lb.inner_width / lb.inner_height - w / h) < 0.05
    assert lb.pad_x == (tw - lb.inner_width) // 2 and lb.pad_y == (th - lb.inner_height) // 2


def test_letterbox_roundtrip_and_image_content() -> None:
    img = np.full((100, 200, 3), 255, np.uint8)
    canvas, lb = letterbox(img, 64, 64, pad_value=114)
    assert canvas.shape == (64, 64, 3)
    assert (lb.scale, lb.pad_x, lb.pad_y, lb.inner_width, lb.inner_height) == (0.32, 0, 16, 64, 32)
    assert (canvas[:16] == 114).all() and (canvas[48:] == 114).all() and (canvas[16:48] == 255).all()
    boxes = np.array([[10, 20, 150, 75], [0, 0, 200, 100]], np.float32)
    np.testing.assert_allclose(lb.to_source(lb.to_canvas(boxes)), boxes, atol=1e-4)
    # a box in canvas pixels → source pixels, clipped to the image
    np.testing.assert_allclose(lb.to_source([[16, 24, 48, 40]]), [[50, 25, 150, 75]], atol=1e-4)
    np.testing.assert_allclose(lb.to_source([[-5, 0, 70, 64]]), [[0, 0, 200, 100]], atol=1e-4)
    with pytest.raises(InputError):
        letterbox_params(0, 10, 64, 64)


# -- tiles -------------------------------------------------------------------------------------------------------
def test_tile_grid_covers_the_image_with_overlap() -> None:
    tiles = tile_grid(768, 576, 2, 2, overlap=0.2)
    assert len(tiles) == 4
    assert {t[0] for t in tiles} == {0} | {768 - (tiles[0][2] - tiles[0][0])}
    assert max(t[2] for t in tiles) == 768 and max(t[3] for t in tiles) == 576
    tw = tiles[0][2] - tiles[0][0]
    assert tw == math.ceil(768 / 1.8)
    overlap_x = tiles[0][2] - tiles[1][0]
    assert overlap_x == pytest.approx(0.2 * tw, abs=2)
    assert tile_grid(50, 40, 1, 1) == [(0, 0, 50, 40)]
    assert len(tile_grid(300, 200, 2, 3)) == 6
    with pytest.raises(ConfigError):
        tile_grid(10, 10, 0, 2)
    with pytest.raises(ConfigError):
        tile_grid(10, 10, 2, 2, overlap=1.0)


def test_touches_inner_edge_ignores_image_borders() -> None:
    tile = (0, 0, 400, 300)  # top-left tile of an 800x600 image: right and bottom edges are inner
    boxes = [[0, 0, 50, 50], [350, 10, 399, 60], [10, 250, 60, 299], [100, 100, 200, 200]]
    assert touches_inner_edge(boxes, tile, 800, 600).tolist() == [False, True, True, False]
    full = (0, 0, 800, 600)
    assert not touches_inner_edge(boxes, full, 800, 600).any()


# -- SSD anchors and decoding ------------------------------------------------------------------------------------
def test_ssd_anchor_count_matches_the_oidv4_model() -> None:
    # 19×19×3 (lowest layer reduced) + (10² + 5² + 3² + 2² + 1²) × 6 = 1083 + 834
    anchors = ssd_anchors()
    assert anchors.shape == (1917, 4) and anchors.dtype == np.float32
    # first cell of the lowest layer: scale 0.1 ratio 1, then scale 0.2 ratios 2 and 0.5
    np.testing.assert_allclose(anchors[0], [0.5 / 19, 0.5 / 19, 0.1, 0.1], rtol=1e-5)
    np.testing.assert_allclose(anchors[1], [0.5 / 19, 0.5 / 19, 0.2 * math.sqrt(2), 0.2 / math.sqrt(2)], rtol=1e-5)
    np.testing.assert_allclose(anchors[2], [0.5 / 19, 0.5 / 19, 0.2 / math.sqrt(2), 0.2 * math.sqrt(2)], rtol=1e-5)
    # the last anchor: 1×1 grid of the top layer, interpolated scale sqrt(0.95 × 1.0), ratio 1
    np.testing.assert_allclose(anchors[-1], [0.5, 0.5, math.sqrt(0.95), math.sqrt(0.95)], rtol=1e-5)
    # second layer starts after 1083 anchors: cell (0, 0) of the 10×10 grid, scale 0.35
    np.testing.assert_allclose(anchors[1083], [0.05, 0.05, 0.35, 0.35], rtol=1e-5)
    assert (anchors[:, :2] > 0).all() and (anchors[:, :2] < 1).all()


def test_ssd_anchor_count_for_shared_stride_layers() -> None:
    # BlazeFace short range: layers of equal stride share one grid → 16×16×2 + 8×8×6 = 896
    face = SsdAnchorOptions(
        input_width=128,
        input_height=128,
        num_layers=4,
        min_scale=0.1484375,
        max_scale=0.75,
        strides=(8, 16, 16, 16),
        aspect_ratios=(1.0,),
        reduce_boxes_in_lowest_layer=False,
        interpolated_scale_aspect_ratio=1.0,
        fixed_anchor_size=True,
    )
    anchors = ssd_anchors(face)
    assert anchors.shape == (896, 4)
    assert (anchors[:, 2:] == 1.0).all()
    # BlazePose detector (2254) and BlazeFace full range (one layer, no interpolated anchor: 2304)
    pose = SsdAnchorOptions(
        input_width=224,
        input_height=224,
        num_layers=5,
        min_scale=0.1484375,
        max_scale=0.75,
        strides=(8, 16, 32, 32, 32),
        aspect_ratios=(1.0,),
        reduce_boxes_in_lowest_layer=False,
        fixed_anchor_size=True,
    )
    assert len(ssd_anchors(pose)) == 28 * 28 * 2 + 14 * 14 * 2 + 7 * 7 * 6 == 2254
    full = SsdAnchorOptions(
        input_width=192,
        input_height=192,
        num_layers=1,
        strides=(4,),
        aspect_ratios=(1.0,),
        reduce_boxes_in_lowest_layer=False,
        interpolated_scale_aspect_ratio=0.0,
        fixed_anchor_size=True,
    )
    assert len(ssd_anchors(full)) == 2304
    with pytest.raises(ConfigError):
        SsdAnchorOptions(num_layers=2, strides=(8,))


def test_decode_ssd_boxes_known_offsets() -> None:
    anchors = np.array([[0.5, 0.5, 0.2, 0.4], [0.25, 0.75, 0.1, 0.1]], np.float32)
    zero = decode_ssd_boxes(np.zeros((2, 4)), anchors)
    np.testing.assert_allclose(zero, [[0.4, 0.3, 0.6, 0.7], [0.2, 0.7, 0.3, 0.8]], atol=1e-6)
    # ty = 10 moves the centre down by one anchor height; tw = 5 ln 2 doubles the width
    raw = np.array([[10.0, 0.0, 0.0, 5 * math.log(2)], [0, 0, 0, 0]], np.float32)
    out = decode_ssd_boxes(raw, anchors)
    np.testing.assert_allclose(out[0], [0.3, 0.7, 0.7, 1.1], atol=1e-6)
    # the Blaze (xywh, linear size) variant
    lin = decode_ssd_boxes(
        np.array([[0.0, 0.0, 2.5, 2.5], [0, 0, 10, 10]]), anchors, order="xywh", exponential_size=False
    )
    np.testing.assert_allclose(lin[0], [0.45, 0.4, 0.55, 0.6], atol=1e-6)
    with pytest.raises(InputError):
        decode_ssd_boxes(np.zeros((3, 4)), anchors)
    with pytest.raises(ConfigError):
        decode_ssd_boxes(np.zeros((2, 4)), anchors, order="whxy")


def test_sigmoid_is_stable() -> None:
    out = sigmoid([-1000.0, -2.0, 0.0, 2.0, 1000.0])
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [0.0, 1 / (1 + math.e**2), 0.5, 1 / (1 + math.e**-2), 1.0], atol=1e-6)


def test_clip_boxes_in_place() -> None:
    boxes = np.array([[-5, -1, 30, 50], [10, 10, 20, 20]], np.float32)
    out = clip_boxes(boxes, 25, 40)
    assert out is boxes
    np.testing.assert_allclose(boxes, [[0, 0, 25, 40], [10, 10, 20, 20]])


def test_box_voting_averages_overlapping_candidates_of_the_same_class() -> None:
    from sightings.vision.detect.postprocess import vote_boxes

    boxes = np.array([[0, 0, 10, 10], [2, 0, 12, 10], [0, 0, 10, 10], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.9, 0.3, 0.6, 0.8], np.float32)
    classes = np.array([0, 0, 1, 0])
    out = vote_boxes(boxes, scores, classes, [0, 3], iou_threshold=0.5)
    # box 0 votes with box 1 (IoU 0.67, same class), not box 2 (other class) nor box 3 (no overlap)
    assert out[0] == pytest.approx([0.5, 0, 10.5, 10])
    assert out[1] == pytest.approx([50, 50, 60, 60])
    assert vote_boxes(boxes, scores, classes, [], 0.5).shape == (0, 4)
    with pytest.raises(InputError, match="box_voting"):
        vote_boxes(boxes, scores, classes, [0], 0.0)


@pytest.mark.parametrize(
    ("spec", "grids"),
    [
        (True, ((2, 2),)),
        (False, ()),
        (None, ()),
        ("none", ()),
        ((3, 2), ((3, 2),)),
        ([(2, 2), (2, 3)], ((2, 2), (2, 3))),
        ("2x2, 2X3,2x2", ((2, 2), (2, 3))),
        ((1, 1), ()),
    ],
)
def test_tile_specs(spec: object, grids: tuple[tuple[int, int], ...]) -> None:
    from sightings.vision.detect.ssd import parse_tile_grids

    assert parse_tile_grids(spec) == grids  # type: ignore[arg-type]


@pytest.mark.parametrize("spec", ["2by2", [(2, 2), "x"], (0, 2), 5])
def test_bad_tile_specs_are_config_errors(spec: object) -> None:
    from sightings.vision.detect.ssd import parse_tile_grids

    with pytest.raises(ConfigError, match="tile"):
        parse_tile_grids(spec)  # type: ignore[arg-type]
