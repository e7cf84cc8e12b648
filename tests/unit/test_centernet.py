"""CenterNet decoding on hand-made maps, and the detector on a tiny generated model (converted like the real one)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sightings.core.errors import ConfigError, InputError, NotFoundError
from sightings.vision.detect.centernet import CenterNetDetector, decode_centernet, input_shape_for
from tfjs_factories import tiny_centernet

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

COCO_START = ["person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat"]


def test_input_shape_keeps_the_aspect_in_multiples_of_32() -> None:
    assert input_shape_for(576, 768, 384) == (288, 384)
    assert input_shape_for(720, 1280, 384) == (224, 384)
    assert input_shape_for(720, 1280, 512) == (288, 512)
    assert input_shape_for(1000, 10, 384) == (384, 32)  # never below one stride-32 cell


def test_decode_keeps_local_maxima_above_threshold_and_scales_boxes() -> None:
    heat = np.zeros((8, 8, 3), np.float32)
    heat[2, 3, 0] = 0.9  # a peak of class 0 ...
    heat[2, 4, 0] = 0.5  # ... and its lower neighbour, which is not a peak
    heat[6, 6, 2] = 0.4  # class 2, under its threshold 0.45
    heat[5, 1, 2] = 0.6  # class 2, over it
    edges = np.zeros((8, 8, 4), np.float32)
    edges[2, 3] = [2, 4, 6, 8]
    edges[5, 1] = [1, 1, 1, 1]
    boxes, scores, classes = decode_centernet(heat, edges, [0, 2], [0.3, 0.45], scale=(2.0, 0.5))
    order = np.argsort(-scores)
    boxes, scores, classes = boxes[order], scores[order], classes[order]
    np.testing.assert_allclose(scores, [0.9, 0.6])
    assert classes.tolist() == [0, 1]  # indices into the chosen columns
    # cell (x=3, y=2) at stride 4 is (12, 8): (12-2, 8-4, 12+6, 8+8) then x × 2, y × 0.5
    np.testing.assert_allclose(boxes[0], [20, 2, 36, 8])
    np.testing.assert_allclose(boxes[1], [6, 9.5, 10, 10.5])


def test_decode_with_nothing_above_threshold_and_bad_shapes() -> None:
    boxes, scores, classes = decode_centernet(np.zeros((4, 4, 2)), np.zeros((4, 4, 4)), [0], [0.5])
    assert boxes.shape == (0, 4) and scores.shape == classes.shape == (0,)
    with pytest.raises(InputError, match="expected maps"):
        decode_centernet(np.zeros((4, 4, 2)), np.zeros((4, 5, 4)), [0], [0.5])


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sightings.models.tfjs_graph import graph_to_onnx, read_graph_model

    folder = tmp_path_factory.mktemp("centernet")
    g = tiny_centernet(len(COCO_START))
    topology, shard = g.to_files()
    model = graph_to_onnx(
        read_graph_model(topology, {g.shard: shard}), ["tower_0/keypoints", "tower_0/wh"], input_hw=(64, 64)
    )
    (folder / "tiny.onnx").write_bytes(model)
    (folder / "labels.txt").write_text("\n".join(COCO_START) + "\n")
    return folder / "tiny.onnx"


def test_detector_finds_the_bright_square(tiny_model: Path) -> None:
    det = CenterNetDetector(tiny_model, classes=["person", "car"], input_size=64, num_threads=1)
    assert det.labels == ("person", "car")
    image = np.zeros((64, 64, 3), np.uint8)
    image[16:20, 24:28] = 255  # the cell x = 6, y = 4 at stride 4
    (d,) = det.detect_image(image, frame=7)
    assert d.label == "person" and d.frame == 7 and d.score > 0.99
    assert d.box.xyxy == pytest.approx((18, 10, 30, 22))  # centre (24, 16), edges 6 px away
    image[16:20, 28:32] = 255  # two equal neighbouring peaks, boxes overlapping by IoU 0.5: both stay
    assert len(det.detect_image(image)) == 2
    strict = CenterNetDetector(tiny_model, classes=["person"], input_size=64, iou_threshold=0.4)
    assert len(strict.detect_image(image)) == 1  # ... one after NMS at 0.4
    image[16:20, 28:32] = 0
    # a frame twice the size maps back to frame pixels
    big = np.repeat(np.repeat(image, 2, axis=0), 2, axis=1)
    (d2,) = det.detect_image(big)
    assert d2.box.x1 == pytest.approx(2 * d.box.x1) and d2.box.y2 == pytest.approx(2 * d.box.y2)
    assert det.detect_image(np.zeros((64, 64, 3), np.uint8)) == []


def test_detector_settings_and_bad_input(tiny_model: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown classes"):
        CenterNetDetector(tiny_model, classes=["unicorn"])
    with pytest.raises(ConfigError, match="thresholds for classes not detected"):
        CenterNetDetector(tiny_model, classes=["person"], score_threshold={"car": 0.5})
    with pytest.raises(ConfigError, match="input_size"):
        CenterNetDetector(tiny_model, input_size=16)
    wrong = tmp_path / "labels.txt"
    wrong.write_text("just\ntwo\n")
    with pytest.raises(ConfigError, match="2 class names"):
        CenterNetDetector(tiny_model, labels_path=wrong, classes=None)
    with pytest.raises(NotFoundError, match="CenterNet model file not found"):
        CenterNetDetector(tmp_path / "missing.onnx")
    with pytest.raises(NotFoundError, match="is not installed"):
        CenterNetDetector(models_dir=tmp_path / "empty")
    det = CenterNetDetector(tiny_model, classes=None, score_threshold={"person": 0.9})
    assert det.labels == tuple(COCO_START)
    with pytest.raises(InputError, match="uint8 RGB"):
        det.detect_image(np.zeros((8, 8), np.uint8))


def test_registered_for_the_pipeline(tiny_model: Path) -> None:
    from sightings.vision.pipeline import accepts_option, create_detector, tile_option

    det = create_detector(
        "centernet",
        options={"model_path": str(tiny_model), "input_size": 64},
        classes=["person"],
        threshold=0.5,
        tiles="2x2,2x3",  # CenterNet sees the whole frame: tiles are not passed on
    )
    assert isinstance(det, CenterNetDetector) and det.labels == ("person",)
    assert not accepts_option("centernet", "tile") and tile_option("centernet", "2x2") == {}


def test_tiles_go_only_to_a_detector_that_tiles() -> None:
    from sightings.vision.pipeline import tile_option

    assert tile_option("ssd-oidv4", "2x2,2x3") == {"tile": "2x2,2x3"}
    for whole_frame in (None, "", "none", " None ", "off", "no"):
        assert tile_option("ssd-oidv4", whole_frame) == {}
