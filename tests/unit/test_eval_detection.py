"""COCO-style detection AP on MOT files: hand-computed cases, pycocotools' standard path, and the CLI."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sightings.cli.eval import app
from sightings.core.errors import BackendUnavailableError, InputError
from sightings.evaluate.detection import evaluate_detection
from sightings.evaluate.mot_io import MotData, read_mot, write_mot

# Two gt boxes; predictions: exact hit (0.9), a miss far away (0.8), a hit at IoU 0.625 (0.7).
GT = [(1, 1, 0, 0, 10, 10, 1), (1, 2, 100, 100, 10, 10, 1)]
PRED = [(1, -1, 0, 0, 10, 10, 0.9), (1, -1, 50, 50, 10, 10, 0.8), (1, -1, 100, 100, 10, 6.25, 0.7)]
# Ranked: TP (P 1, R .5), FP (P .5, R .5), TP (P 2/3, R 1) -> interpolated precision 1 up to recall .5, 2/3 above.
AP_BOTH_HIT = (51 * 1.0 + 50 * 2 / 3) / 101  # 101 recall points 0, .01, ..., 1
AP_ONE_HIT = 51 / 101  # second hit lost: precision 1 up to recall .5, 0 above


def test_hand_computed_ap() -> None:
    r = evaluate_detection(MotData.from_rows(GT), MotData.from_rows(PRED))
    assert r.ap50 == pytest.approx(AP_BOTH_HIT)
    assert r.ap75 == pytest.approx(AP_ONE_HIT)
    # IoU 0.625 is a hit at 0.50, 0.55, 0.60 and a miss at 0.65 ... 0.95
    assert r.map50_95 == pytest.approx((3 * AP_BOTH_HIT + 7 * AP_ONE_HIT) / 10)
    assert r.ar == pytest.approx((3 * 1.0 + 7 * 0.5) / 10)
    assert not r.class_aware
    assert (r.num_gt, r.num_pred, r.num_frames, r.num_gt_ignored) == (2, 3, 1, 0)
    assert [c.class_id for c in r.per_class] == [1]


def test_perfect_and_empty_predictions() -> None:
    gt = MotData.from_rows(GT)
    perfect = evaluate_detection(gt, MotData.from_rows([(f, -1, x, y, w, h, 0.5) for f, _, x, y, w, h, _ in GT]))
    assert [perfect.ap50, perfect.map50_95, perfect.ar] == pytest.approx([1.0, 1.0, 1.0])
    none = evaluate_detection(gt, MotData.empty())
    assert (none.ap50, none.map50_95, none.ar, none.num_pred) == (0.0, 0.0, 0.0, 0)


def test_zero_marked_ground_truth_is_a_crowd_region() -> None:
    gt = MotData.from_rows([(1, 1, 0, 0, 10, 10, 1), (1, 2, 100, 100, 10, 10, 0)])
    pred = MotData.from_rows([(1, -1, 0, 0, 10, 10, 0.9), (1, -1, 100, 100, 10, 10, 0.95)])
    crowd = evaluate_detection(gt, pred)
    assert crowd.ap50 == pytest.approx(1.0)  # the prediction on the ignored box is neither TP nor FP
    assert (crowd.num_gt, crowd.num_gt_ignored) == (1, 1)
    dropped = evaluate_detection(gt, pred, zero_marked_as_crowd=False)
    assert dropped.ap50 == pytest.approx(0.5)  # now a false positive ranked first
    assert dropped.num_gt_ignored == 0


def test_per_class_when_both_files_have_classes() -> None:
    gt = MotData.from_rows([(1, 1, 0, 0, 10, 10, 1, 1, 1.0), (1, 2, 100, 100, 10, 10, 1, 2, 1.0)])
    pred = MotData.from_rows([(1, -1, 0, 0, 10, 10, 0.9, 1, -1), (1, -1, 0, 0, 10, 10, 0.8, 2, -1)])
    r = evaluate_detection(gt, pred)
    assert r.class_aware
    by_class = {c.class_id: c for c in r.per_class}
    assert by_class[1].ap50 == pytest.approx(1.0)
    assert by_class[2].ap50 == pytest.approx(0.0)
    assert r.ap50 == pytest.approx(0.5)  # mean over classes
    no_classes = evaluate_detection(gt, MotData.from_rows([row[:7] for row in PRED]))
    assert not no_classes.class_aware


def test_matches_pycocotools_standard_path() -> None:
    """Our COCO objects + stats equal COCOeval.summarize() fed through COCO.loadRes (the documented path)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(7)
    gt_rows, pred_rows = [], []
    for frame in range(1, 6):
        for k in range(6):
            x, y = rng.uniform(0, 500, 2)
            w, h = rng.uniform(20, 80, 2)
            gt_rows.append((frame, k + 1, x, y, w, h, 1))
            if rng.random() < 0.8:
                jitter = rng.normal(0, 6, 4)
                pred_rows.append((frame, -1, x + jitter[0], y + jitter[1], w + jitter[2], h + jitter[3], rng.random()))
        for _ in range(2):
            pred_rows.append((frame, -1, *rng.uniform(0, 500, 2), 40, 40, rng.random() * 0.5))
    ours = evaluate_detection(MotData.from_rows(gt_rows), MotData.from_rows(pred_rows))

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = {
            "images": [{"id": f} for f in range(1, 6)],
            "categories": [{"id": 1, "name": "person"}],
            "annotations": [
                {
                    "id": i + 1,
                    "image_id": r[0],
                    "category_id": 1,
                    "bbox": list(r[2:6]),
                    "area": r[4] * r[5],
                    "iscrowd": 0,
                }
                for i, r in enumerate(gt_rows)
            ],
        }
        coco.createIndex()
        dets = coco.loadRes(
            [{"image_id": r[0], "category_id": 1, "bbox": list(r[2:6]), "score": r[6]} for r in pred_rows]
        )
        ev = COCOeval(coco, dets, iouType="bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert ours.map50_95 == pytest.approx(ev.stats[0], abs=1e-12)
    assert ours.ap50 == pytest.approx(ev.stats[1], abs=1e-12)
    assert ours.ap75 == pytest.approx(ev.stats[2], abs=1e-12)
    assert ours.ar == pytest.approx(ev.stats[8], abs=1e-12)
    assert 0.0 < ours.map50_95 < ours.ap50 < 1.0


def test_bad_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="no boxes"):
        evaluate_detection(MotData.empty(), MotData.from_rows(PRED))
    with pytest.raises(InputError, match="no boxes"):
        evaluate_detection(MotData.from_rows([(1, 1, 0, 0, 5, 5, 0)]), MotData.from_rows(PRED))
    monkeypatch.setitem(sys.modules, "pycocotools.coco", None)
    with pytest.raises(BackendUnavailableError, match="pycocotools"):
        evaluate_detection(MotData.from_rows(GT), MotData.from_rows(PRED))


@pytest.mark.shared_data
def test_pets09_ground_truth_against_itself(shared_data: Path) -> None:
    gt = read_mot(shared_data / "pets09" / "gt_1_400.txt")
    r = evaluate_detection(gt, gt)
    assert r.ap50 == pytest.approx(1.0)
    assert r.map50_95 == pytest.approx(1.0)
    assert r.num_gt + r.num_gt_ignored == len(gt) == 2396


def test_cli_detection_table_and_json(tmp_path: Path) -> None:
    gt = write_mot(tmp_path / "gt.txt", GT)
    pred = write_mot(tmp_path / "det.txt", PRED)
    runner = CliRunner()
    res = runner.invoke(app, ["detection", "--gt", str(gt), "--pred", str(pred)])
    assert res.exit_code == 0, res.output
    assert "AP@0.5" in res.output and "mAP@0.5:0.95" in res.output
    assert f"{AP_BOTH_HIT:.3f}" in res.output
    res = runner.invoke(app, ["detection", "--gt", str(gt), "--pred", str(pred), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["ap50"] == pytest.approx(AP_BOTH_HIT)
    assert out["per_class"][0]["class_id"] == 1
    res = runner.invoke(app, ["detection", "--gt", str(tmp_path / "nope.txt"), "--pred", str(pred)])
    assert type(res.exception).__name__ == "NotFoundError"
