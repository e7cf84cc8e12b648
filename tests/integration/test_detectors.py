"""Detectors end to end.

- SSD: decoding is checked on synthetic raw outputs (always); the real TFLite model runs when it is installed
  (``$SIGHTINGS_MODELS_DIR`` or the default models dir holds ``ssd-mobilenetv2-oidv4``), else those tests skip.
- YOLO ONNX: tiny models generated here with the ``onnx`` helper API encode known boxes; the detector must give
  them back in original-image pixels through the letterbox.
- OpenCV HOG / Haar: run on blank and (with shared data) PETS09 frames.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from installed_models import models_dir_of
from sightings.core import protocols
from sightings.core.errors import BackendUnavailableError, ConfigError, InputError, NotFoundError
from sightings.core.registry import Registry
from sightings.core.types import Box, Detection, Frame, MediaKind, MediaRef
from sightings.vision.detect.centernet import MODEL_NAME as CENTERNET_MODEL
from sightings.vision.detect.centernet import CenterNetDetector
from sightings.vision.detect.postprocess import ssd_anchors
from sightings.vision.detect.ssd import MODEL_NAME, OIDV4_LABELMAP, SsdDetector, decode_ssd_outputs, oidv4_label

REF = MediaRef("synthetic", MediaKind.VIDEO, fps=7.0)


def _frame(image: np.ndarray, index: int = 0) -> Frame:
    return Frame(REF, index, index / 7.0, image)


def _assert_contract(det: Any, frames: Sequence[Frame]) -> list[list[Detection]]:
    """The detector contract (as in tests/contract): Protocol, one list per frame, frame index and labels kept."""
    assert isinstance(det, protocols.Detector)
    out = det.detect(frames)
    assert len(out) == len(frames)
    for frame, dets in zip(frames, out, strict=True):
        for d in dets:
            assert isinstance(d, Detection) and d.frame == frame.index and d.label in det.labels
            assert 0 <= d.box.x1 <= d.box.x2 <= frame.width and 0 <= d.box.y1 <= d.box.y2 <= frame.height
    return out


def _registry() -> Registry[Any]:
    """The registration lines proposed for core/registry.py, on a private registry."""
    reg: Registry[Any] = Registry("detector")
    reg.register("ssd-oidv4", "sightings.vision.detect.ssd:SsdDetector", extra="vision")
    reg.register("yolo-onnx", "sightings.vision.detect.yolo_onnx:YoloOnnxDetector", extra="vision")
    reg.register("hog", "sightings.vision.detect.opencv_builtin:HogPeopleDetector", extra="vision")
    reg.register("haar-catface", "sightings.vision.detect.opencv_builtin:HaarCatFaceDetector", extra="vision")
    return reg


# -- SSD without the model ---------------------------------------------------------------------------------------
def _encode(box: tuple[float, float, float, float], anchor: np.ndarray) -> list[float]:
    """Inverse of the SSD box coder: a normalised ``xyxy`` box → raw (ty, tx, th, tw) for ``anchor``."""
    x1, y1, x2, y2 = box
    ax, ay, aw, ah = (float(v) for v in anchor)
    xc, yc, w, h = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1
    return [(yc - ay) / ah * 10, (xc - ax) / aw * 10, math.log(h / ah) * 5, math.log(w / aw) * 5]


def test_ssd_decoding_of_synthetic_raw_outputs() -> None:
    anchors = ssd_anchors()
    raw = np.zeros((len(anchors), 4), np.float32)
    logits = np.full((len(anchors), len(OIDV4_LABELMAP)), -8.0, np.float32)
    person, cat, dog = (OIDV4_LABELMAP.index(n) for n in ("Person", "Cat", "Dog"))
    # anchor 1100 (second layer) holds a person at 0.95; anchor 1500 a cat at 0.6 and a dog at 0.4
    raw[1100] = _encode((0.10, 0.20, 0.30, 0.80), anchors[1100])
    logits[1100, person] = math.log(0.95 / 0.05)
    raw[1500] = _encode((0.5, 0.5, 0.9, 0.7), anchors[1500])
    logits[1500, cat] = math.log(0.6 / 0.4)
    logits[1500, dog] = math.log(0.4 / 0.6)
    logits[1700, 0] = 10.0  # background column is never reported
    columns = [person, cat, dog]
    boxes, scores, classes = decode_ssd_outputs(raw, logits, anchors, columns, [0.5, 0.5, 0.5], width=768, height=576)
    assert classes.tolist() == [0, 1]
    np.testing.assert_allclose(scores, [0.95, 0.6], atol=1e-5)
    np.testing.assert_allclose(boxes[0], [76.8, 115.2, 230.4, 460.8], atol=1e-2)
    np.testing.assert_allclose(boxes[1], [384, 288, 691.2, 403.2], atol=1e-2)
    # per-class thresholds: a low dog threshold lets the same anchor report a dog too
    _, _, classes2 = decode_ssd_outputs(raw, logits, anchors, columns, [0.5, 0.5, 0.3], width=1, height=1)
    assert sorted(classes2.tolist()) == [0, 1, 2]
    assert decode_ssd_outputs(raw, logits, anchors, columns, [0.99] * 3, width=1, height=1)[0].shape == (0, 4)


def test_oidv4_labels() -> None:
    assert oidv4_label("Person") == "person"
    assert oidv4_label(" Coffee cup ") == "coffee_cup"
    assert oidv4_label("computer_mouse") == "computer_mouse"


def test_ssd_without_a_model_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as err:
        SsdDetector()  # default models dir of the (isolated, empty) settings
    assert "sightings models install" in str(err.value) and "sightings models import" in str(err.value)
    with pytest.raises(NotFoundError, match="sightings models install"):
        SsdDetector(models_dir=tmp_path)
    with pytest.raises(NotFoundError):
        SsdDetector(tmp_path / "nope.tflite")
    with pytest.raises(NotFoundError):
        _registry().create("ssd-oidv4", models_dir=str(tmp_path))
    with pytest.raises(ConfigError):
        SsdDetector(models_dir=tmp_path, tile=(0, 2))
    with pytest.raises(ConfigError):
        SsdDetector(models_dir=tmp_path, iou_threshold=1.5)


def test_ssd_rejects_a_file_that_is_not_a_model(tmp_path: Path) -> None:
    pytest.importorskip("ai_edge_litert", reason="ai-edge-litert is not installed (the 'vision' extra)")
    bad = tmp_path / "model.tflite"
    bad.write_bytes(b"not a flatbuffer" * 10)
    with pytest.raises(InputError, match=r"model\.tflite"):
        SsdDetector(bad)


# -- SSD with the real model -------------------------------------------------------------------------------------
@pytest.fixture
def ssd_models_dir() -> Path:
    return models_dir_of(MODEL_NAME, "ai_edge_litert")


def test_ssd_real_model_contract_and_options(ssd_models_dir: Path) -> None:
    det = SsdDetector(models_dir=ssd_models_dir)
    assert det.labels == ("person", "cat", "dog")
    assert len(det.anchors) == 1917
    blank = np.full((240, 320, 3), 128, np.uint8)
    out = _assert_contract(det, [_frame(blank, 3), _frame(blank, 4)])
    assert out == [[], []]
    all_classes = _registry().create("ssd-oidv4", models_dir=ssd_models_dir, classes=None, score_threshold=0.5)
    assert len(all_classes.labels) == 23 and "coffee_cup" in all_classes.labels
    with pytest.raises(ConfigError, match="Unicorn"):
        SsdDetector(models_dir=ssd_models_dir, classes=["Unicorn"])
    with pytest.raises(ConfigError, match="car"):
        SsdDetector(models_dir=ssd_models_dir, score_threshold={"person": 0.4, "car": 0.3})
    per_class = SsdDetector(models_dir=ssd_models_dir, score_threshold={"Person": 0.3})
    np.testing.assert_allclose(per_class._thresholds, [0.3, 0.45, 0.45])
    explicit = SsdDetector(det.model_path, tile=True)
    assert explicit.tile == (2, 2) and explicit.labels == det.labels


def _pets09_frames(shared_data: Path, indices: Sequence[int]) -> list[Frame]:
    av = pytest.importorskip("av")
    video = shared_data / "pets09" / "vtest.avi"
    if not video.is_file():
        pytest.skip(f"{video} is missing (run shared/data/stage.sh)")
    ref = MediaRef(str(video), MediaKind.VIDEO, fps=7.0)
    wanted, frames = set(indices), []
    with av.open(str(video)) as container:
        for i, f in enumerate(container.decode(video=0)):
            if i in wanted:
                frames.append(Frame(ref, i, i / 7.0, f.to_ndarray(format="rgb24")))
            if i >= max(indices):
                break
    return frames


def _gt_boxes(shared_data: Path, frame_index: int) -> list[Box]:
    gt = np.loadtxt(shared_data / "pets09" / "gt_1_400.txt", delimiter=",", ndmin=2)
    rows = gt[(gt[:, 0] == frame_index + 1) & (gt[:, 6] == 1)]  # GT frames are 1-based
    return [Box.from_xywh(*r[2:6]) for r in rows]


def _match(dets: Sequence[Detection], gt: Sequence[Box], iou: float = 0.5) -> int:
    used: set[int] = set()
    for d in sorted(dets, key=lambda d: -d.score):
        best = max((j for j in range(len(gt)) if j not in used), key=lambda j: d.box.iou(gt[j]), default=None)
        if best is not None and d.box.iou(gt[best]) >= iou:
            used.add(best)
    return len(used)


@pytest.mark.shared_data
def test_ssd_finds_people_on_pets09(ssd_models_dir: Path, shared_data: Path) -> None:
    frames = _pets09_frames(shared_data, range(0, 400, 50))
    results = {}
    for tile in (False, True):
        det = SsdDetector(models_dir=ssd_models_dir, classes=["Person"], tile=tile)
        start = time.perf_counter()
        out = _assert_contract(det, frames)
        elapsed = time.perf_counter() - start
        found = sum(len(ds) for ds in out)
        matched = sum(_match(ds, _gt_boxes(shared_data, f.index)) for f, ds in zip(frames, out, strict=True))
        total = sum(len(_gt_boxes(shared_data, f.index)) for f in frames)
        results[tile] = (matched / total, matched / max(found, 1), elapsed / len(frames))
        assert all(0.45 <= d.score <= 1 for ds in out for d in ds)
    recall, precision, _ = results[False]
    assert recall >= 0.55 and precision >= 0.7, results
    tiled_recall, tiled_precision, _ = results[True]
    assert tiled_recall >= recall + 0.1 and tiled_precision >= 0.65, results


# -- CenterNet with the real (converted) model ---------------------------------------------------------------------
@pytest.fixture
def centernet_models_dir() -> Path:
    return models_dir_of(CENTERNET_MODEL, "onnxruntime")


def test_centernet_real_model_contract(centernet_models_dir: Path) -> None:
    det = CenterNetDetector(models_dir=centernet_models_dir)
    assert det.labels == ("person", "cat", "dog") and len(det.class_names) == 80
    blank = np.full((240, 320, 3), 128, np.uint8)
    assert _assert_contract(det, [_frame(blank, 3), _frame(blank, 4)]) == [[], []]


@pytest.mark.shared_data
def test_centernet_finds_more_people_than_the_whole_frame_ssd(
    centernet_models_dir: Path, ssd_models_dir: Path, shared_data: Path
) -> None:
    frames = _pets09_frames(shared_data, range(0, 400, 50))
    total = sum(len(_gt_boxes(shared_data, f.index)) for f in frames)
    scores = {}
    for name, det in (
        ("centernet", CenterNetDetector(models_dir=centernet_models_dir, classes=["person"])),
        ("ssd", SsdDetector(models_dir=ssd_models_dir, classes=["person"])),
    ):
        out = _assert_contract(det, frames)
        matched = sum(_match(ds, _gt_boxes(shared_data, f.index)) for f, ds in zip(frames, out, strict=True))
        scores[name] = (matched / total, matched / max(sum(len(ds) for ds in out), 1))
    recall, precision = scores["centernet"]
    assert recall >= 0.8 and precision >= 0.8, scores
    assert recall >= scores["ssd"][0] + 0.1, scores


# -- YOLO ONNX -----------------------------------------------------------------------------------------------------
def _onnx() -> Any:
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (the 'vision' extra)")
    return pytest.importorskip("onnx", reason="the onnx package (to generate test models) is not installed")


def _tiny_yolo(
    path: Path,
    values: np.ndarray,
    *,
    names: Sequence[str] | str | None = None,
    input_shape: Sequence[int | str] = (1, 3, 64, 64),
    symbolic_output: bool = False,
) -> Path:
    """An ONNX model whose output 0 is ``values`` (shape (1, a, b)) when the input has any value > 0.5, else 0.

    A white image gives ``values`` back; a black one (even letterboxed with grey 114 ≈ 0.45) gives nothing.
    """
    onnx = _onnx()
    from onnx import TensorProto, helper, numpy_helper

    ndim = len(input_shape)
    out_shape = ["batch", "rows", "cols"] if symbolic_output else [input_shape[0], *values.shape]
    nodes = [
        helper.make_node("ReduceMax", ["images"], ["peak"], axes=list(range(1, ndim)), keepdims=1),
        helper.make_node("Sub", ["peak", "half"], ["centred"]),
        helper.make_node("Mul", ["centred", "gain"], ["steep"]),
        helper.make_node("Clip", ["steep", "zero", "one"], ["gate"]),
        helper.make_node("Reshape", ["gate", "shape"], ["gate3"]),
        helper.make_node("Mul", ["values", "gate3"], ["output0"]),
    ]
    scalars = {"half": 0.5, "gain": 1000.0, "zero": 0.0, "one": 1.0}
    graph = helper.make_graph(
        nodes,
        "tiny_yolo",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, out_shape)],
        initializer=[
            numpy_helper.from_array(values.astype(np.float32)[None], "values"),
            numpy_helper.from_array(np.array([-1, 1, 1], np.int64), "shape"),
            *(numpy_helper.from_array(np.array(v, np.float32), k) for k, v in scalars.items()),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="sightings-tests")
    model.ir_version = 8
    if names is not None:
        text = names if isinstance(names, str) else repr(dict(enumerate(names)))
        helper.set_model_props(model, {"names": text, "stride": "32"})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


NAMES = ("person", "cat", "dog")


def _v8_values(rows: Sequence[tuple[float, float, float, float, int, float]], nc: int = 3, n: int = 20) -> np.ndarray:
    """(4 + nc, n) v8 output: each row (cx, cy, w, h, class, score) in input pixels, other candidates empty."""
    out = np.zeros((4 + nc, n), np.float32)
    for i, (cx, cy, w, h, cls, score) in enumerate(rows):
        out[:4, i] = (cx, cy, w, h)
        out[4 + cls, i] = score
    return out


WHITE = np.full((100, 200, 3), 255, np.uint8)
# in the 64×64 input a 200×100 image is scaled by 0.32 and padded 16 px top and bottom
ROWS = [
    (32, 32, 32, 16, 1, 0.9),  # → (50, 25, 150, 75) in the image
    (33, 32, 32, 16, 1, 0.7),  # duplicate of the first, suppressed by NMS
    (33, 32, 32, 16, 0, 0.6),  # same place, other class: kept
    (10, 20, 8, 8, 2, 0.1),  # below the score threshold
]


def test_yolo_v8_boxes_come_back_in_image_pixels(tmp_path: Path) -> None:
    model = _tiny_yolo(tmp_path / "v8.onnx", _v8_values(ROWS), names=NAMES)
    det = _registry().create("yolo-onnx", model_path=str(model), providers=["CPUExecutionProvider"])
    assert det.layout == "v8" and det.input_hw == (64, 64) and det.labels == NAMES
    (dets,) = _assert_contract(det, [_frame(WHITE, 5)])
    assert [(d.label, round(d.score, 3)) for d in dets] == [("cat", 0.9), ("person", 0.6)]
    np.testing.assert_allclose(dets[0].box.xyxy, (50, 25, 150, 75), atol=1e-3)
    np.testing.assert_allclose(dets[1].box.xyxy, (53.125, 25, 153.125, 75), atol=1e-3)
    # scores follow the input: a black image gives nothing
    assert det.detect([_frame(np.zeros((100, 200, 3), np.uint8))]) == [[]]
    # class filter
    cats = _registry().create("yolo-onnx", model_path=str(model), classes=["CAT"])
    assert cats.labels == ("cat",)
    assert [d.label for d in cats.detect_image(WHITE)] == ["cat"]
    with pytest.raises(ConfigError, match="unicorn"):
        _registry().create("yolo-onnx", model_path=str(model), classes=["unicorn"])


def test_yolo_v5_layout_uses_objectness(tmp_path: Path) -> None:
    values = np.zeros((30, 5 + 3), np.float32)
    values[0] = (32, 32, 32, 16, 0.5, 0.1, 0.9, 0.0)  # obj 0.5 × cat 0.9 = 0.45
    values[1] = (16, 40, 8, 8, 0.2, 0.0, 0.0, 1.0)  # 0.2 < 0.25
    det = _registry().create("yolo-onnx", model_path=str(_tiny_yolo(tmp_path / "v5.onnx", values, names=NAMES)))
    assert det.layout == "v5"
    (dets,) = det.detect([_frame(WHITE)])
    assert [(d.label, round(d.score, 3)) for d in dets] == [("cat", 0.45)]
    np.testing.assert_allclose(dets[0].box.xyxy, (50, 25, 150, 75), atol=1e-3)


def test_yolo_transposed_v8_and_end2end_layouts(tmp_path: Path) -> None:
    v8t = _tiny_yolo(tmp_path / "v8t.onnx", _v8_values(ROWS, n=4).T.copy(), names=NAMES)
    det = _registry().create("yolo-onnx", model_path=str(v8t))
    assert det.layout == "v8t"
    assert [d.label for d in det.detect_image(WHITE)] == ["cat", "person"]
    e2e_values = np.zeros((10, 6), np.float32)
    e2e_values[0] = (16, 24, 48, 40, 0.8, 2)  # x1, y1, x2, y2, score, class
    e2e = _tiny_yolo(tmp_path / "e2e.onnx", e2e_values, names=NAMES)
    det = _registry().create("yolo-onnx", model_path=str(e2e))
    assert det.layout == "end2end"
    (d,) = det.detect_image(WHITE, frame=2)
    assert (d.label, d.frame) == ("dog", 2)
    np.testing.assert_allclose(d.box.xyxy, (50, 25, 150, 75), atol=1e-3)


def test_yolo_class_names_fall_back_to_labels_file_then_generic(tmp_path: Path) -> None:
    values = _v8_values(ROWS)
    (tmp_path / "a").mkdir()
    bare = _tiny_yolo(tmp_path / "a" / "bare.onnx", values)
    det = _registry().create("yolo-onnx", model_path=str(bare))
    assert det.labels == ("class_0", "class_1", "class_2")
    (tmp_path / "a" / "labels.txt").write_text("human\nfeline\ncanine\n", encoding="utf-8")
    assert _registry().create("yolo-onnx", model_path=str(bare)).labels == ("human", "feline", "canine")
    explicit = tmp_path / "names.txt"
    explicit.write_text("a\nb\nc\n", encoding="utf-8")
    assert _registry().create("yolo-onnx", model_path=str(bare), labels_path=str(explicit)).labels == ("a", "b", "c")
    explicit.write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="2 class names"):
        _registry().create("yolo-onnx", model_path=str(bare), labels_path=str(explicit))
    # a list-literal `names` also parses
    listed = _tiny_yolo(tmp_path / "listed.onnx", values, names="['x', 'y', 'z']")
    assert _registry().create("yolo-onnx", model_path=str(listed)).labels == ("x", "y", "z")


def test_yolo_dynamic_batch_and_sizes(tmp_path: Path) -> None:
    model = _tiny_yolo(
        tmp_path / "dyn.onnx", _v8_values(ROWS), names=NAMES, input_shape=("batch", 3, 64, 64), symbolic_output=True
    )
    det = _registry().create("yolo-onnx", model_path=str(model), batch_size=2)
    frames = [_frame(WHITE, 0), _frame(np.full((64, 64, 3), 255, np.uint8), 1), _frame(WHITE, 2)]
    out = _assert_contract(det, frames)
    assert [len(ds) for ds in out] == [2, 2, 2]
    np.testing.assert_allclose(out[1][0].box.xyxy, (16, 24, 48, 40), atol=1e-3)  # square frame: no padding
    np.testing.assert_allclose(out[2][0].box.xyxy, (50, 25, 150, 75), atol=1e-3)
    # fully dynamic spatial dims: the size comes from input_size (default 640)
    free = _tiny_yolo(tmp_path / "free.onnx", _v8_values(ROWS), names=NAMES, input_shape=(1, 3, "h", "w"))
    assert _registry().create("yolo-onnx", model_path=str(free)).input_hw == (640, 640)
    small = _registry().create("yolo-onnx", model_path=str(free), input_size=64)
    np.testing.assert_allclose(small.detect_image(WHITE)[0].box.xyxy, (50, 25, 150, 75), atol=1e-3)
    with pytest.raises(InputError, match="does not fit"):
        _registry().create("yolo-onnx", model_path=str(model), input_size=(32, 32))


@pytest.mark.parametrize(
    ("shape", "expect"),
    [((1, 64, 64), "got \\(1, 64, 64\\)"), ((1, 1, 64, 64), "3 channels, got \\(1, 1, 64, 64\\)")],
)
def test_yolo_wrong_input_shape_names_file_and_shapes(tmp_path: Path, shape: tuple[int, ...], expect: str) -> None:
    model = _tiny_yolo(tmp_path / "wrong.onnx", _v8_values(ROWS), names=NAMES, input_shape=shape)
    with pytest.raises(InputError, match=expect) as err:
        _registry().create("yolo-onnx", model_path=str(model))
    assert "wrong.onnx" in str(err.value) and "(batch, 3, height, width)" in str(err.value)


def test_yolo_bad_files_and_models_dir(tmp_path: Path) -> None:
    _onnx()
    with pytest.raises(NotFoundError, match="sightings models import"):
        _registry().create("yolo-onnx", model_path=str(tmp_path / "missing.onnx"))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x08\x01garbage")
    with pytest.raises(InputError, match=r"junk\.onnx"):
        _registry().create("yolo-onnx", model_path=str(junk))
    with pytest.raises(BackendUnavailableError, match="NoSuchExecutionProvider"):
        _registry().create("yolo-onnx", model_path=str(junk), providers=["NoSuchExecutionProvider"])
    # from the models directory
    models = tmp_path / "models"
    with pytest.raises(NotFoundError, match="sightings models import"):
        _registry().create("yolo-onnx", models_dir=str(models))
    from sightings.models.store import ModelStore

    store = ModelStore(models)
    # CenterNet's model (the default install) is an ONNX detector too, but no candidate for YOLO
    store.import_file(
        _tiny_yolo(tmp_path / "c.onnx", _v8_values(ROWS), names=NAMES), "centernet-mbv3-coco", task="detect"
    )
    with pytest.raises(NotFoundError, match=r"no YOLO ONNX detection model .*--detector centernet"):
        _registry().create("yolo-onnx", models_dir=str(models))
    store.import_file(_tiny_yolo(tmp_path / "y.onnx", _v8_values(ROWS), names=NAMES), "yolo-tiny", task="detect")
    det = _registry().create("yolo-onnx", models_dir=str(models))
    assert det.model_path.parent.name == "yolo-tiny" and det.labels == NAMES
    store.import_file(tmp_path / "y.onnx", "yolo-tiny2", task="detect")
    with pytest.raises(ConfigError, match="model_name"):
        _registry().create("yolo-onnx", models_dir=str(models))
    assert _registry().create("yolo-onnx", models_dir=str(models), model_name="yolo-tiny2").labels == NAMES


# -- OpenCV fallbacks --------------------------------------------------------------------------------------------
def _cv2_with(feature: str) -> Any:
    cv2 = pytest.importorskip("cv2", reason="OpenCV is not installed (the 'vision' extra)")
    if not hasattr(cv2, feature):
        with pytest.raises(BackendUnavailableError, match=feature):
            _registry().create("hog" if feature == "HOGDescriptor" else "haar-catface")
        pytest.skip(f"OpenCV {cv2.__version__} has no {feature} (checked that the detector says so)")
    return cv2


def test_opencv_fallbacks_contract_and_missing_features(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cv2 = _cv2_with("HOGDescriptor")
    _cv2_with("CascadeClassifier")
    blank = [_frame(np.full((200, 160, 3), 90, np.uint8), 7)]
    hog = _registry().create("hog")
    assert _assert_contract(hog, blank) == [[]]
    haar = _registry().create("haar-catface")
    assert haar.cascade_path.name.startswith("haarcascade_frontalcatface")
    assert _assert_contract(haar, blank) == [[]]
    with pytest.raises(NotFoundError):
        _registry().create("haar-catface", cascade_path=str(tmp_path / "none.xml"))
    monkeypatch.delattr(cv2, "HOGDescriptor")
    with pytest.raises(BackendUnavailableError, match="HOGDescriptor"):
        _registry().create("hog")


@pytest.mark.shared_data
def test_hog_finds_some_people_on_pets09(shared_data: Path) -> None:
    _cv2_with("HOGDescriptor")
    (frame,) = _pets09_frames(shared_data, [250])
    dets = _registry().create("hog", upscale=1.5).detect([frame])[0]
    gt = _gt_boxes(shared_data, 250)
    assert _match(dets, gt, iou=0.3) >= 2


def test_track_cli_default_runs_centernet_and_botsort(
    centernet_models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from factories import make_video
    from sightings.cli import app

    monkeypatch.setenv("SIGHTINGS_MODELS_DIR", str(centernet_models_dir))
    video = make_video(tmp_path / "v.mp4", seconds=1.0, gop=10)
    res = CliRunner().invoke(app, ["track", str(video), "--stride", "5", "--out", str(tmp_path / "out"), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert (summary["detector"], summary["tracker"], summary["tiles"]) == ("centernet", "botsort", "none")
    assert summary["interpolate_s"] == 1.0 and summary["frames"] == 5
    assert (tmp_path / "out" / "tracks.parquet").is_file()


def test_track_cli_runs_the_ssd_on_two_tile_grids(
    ssd_models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from factories import make_video
    from sightings.cli import app

    monkeypatch.setenv("SIGHTINGS_MODELS_DIR", str(ssd_models_dir))
    video = make_video(tmp_path / "v.mp4", seconds=1.0, gop=10)
    args = ["track", str(video), "--detector", "ssd-oidv4", "--stride", "5", "--out", str(tmp_path / "out"), "--json"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["tiles"] == "2x2,2x3" and summary["interpolate_s"] == 1.0 and summary["frames"] == 5
    assert (tmp_path / "out" / "tracks.parquet").is_file()
    det = SsdDetector(models_dir=ssd_models_dir, tile="2x2,2x3")
    assert det.tile_grids == ((2, 2), (2, 3))
