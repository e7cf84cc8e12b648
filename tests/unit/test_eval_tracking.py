"""Tracking metrics: hand-made sequences with known answers, the motmetrics TUD reference, and the CLI."""

from __future__ import annotations

import contextlib
import io
import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sightings.cli.eval import app
from sightings.core.errors import BackendUnavailableError, InputError
from sightings.evaluate.mot_io import MotData, read_mot, write_mot
from sightings.evaluate.tracking import box_iou_xywh, evaluate_tracking, install_numpy2_aliases

TUD = ("TUD-Campus", "TUD-Stadtmitte")


def _track(ident: int, frames: range, x: float = 0.0, w: float = 10.0, h: float = 10.0) -> list[tuple[float, ...]]:
    return [(f, ident, x, 0.0, w, h, 1.0) for f in frames]


def _two_people() -> MotData:
    return MotData.from_rows(_track(1, range(1, 6)) + _track(2, range(1, 6), x=100.0))


def test_perfect_tracker_scores_one() -> None:
    gt = _two_people()
    pred = MotData.from_rows(_track(10, range(1, 6)) + _track(20, range(1, 6), x=100.0))
    r = evaluate_tracking(gt, pred)
    for name in ("hota", "deta", "assa", "loca", "mota", "motp", "idf1", "idp", "idr", "recall", "precision"):
        assert getattr(r, name) == pytest.approx(1.0), name
    assert (r.num_switches, r.num_fragmentations, r.num_false_positives, r.num_misses) == (0, 0, 0, 0)
    assert (r.num_gt_ids, r.num_pred_ids, r.num_gt_dets, r.num_pred_dets, r.num_frames) == (2, 2, 10, 10, 5)
    assert r.mostly_tracked == 2


def test_one_id_switch() -> None:
    gt = MotData.from_rows(_track(1, range(1, 5)))
    pred = MotData.from_rows(_track(7, range(1, 3)) + _track(8, range(3, 5)))
    r = evaluate_tracking(gt, pred)
    assert r.num_switches == 1
    assert r.mota == pytest.approx(1 - 1 / 4)
    # best identity match covers 2 of 4 boxes: IDTP 2, IDFN 2, IDFP 2
    assert r.idf1 == pytest.approx(2 * 2 / (2 * 2 + 2 + 2))
    # every box is detected exactly; each matched pair shares 2 of 4 boxes of its track pair
    assert r.deta == pytest.approx(1.0)
    assert r.assa == pytest.approx(0.5)
    assert r.hota == pytest.approx(math.sqrt(0.5))


def test_all_missed() -> None:
    r = evaluate_tracking(_two_people(), MotData.empty())
    assert r.mota == 0.0
    assert r.num_misses == 10
    assert (r.recall, r.precision, r.idf1, r.hota, r.deta, r.motp) == (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def test_false_positives_including_a_frame_without_ground_truth() -> None:
    gt = MotData.from_rows(_track(1, range(1, 3)))
    pred = MotData.from_rows([*_track(1, range(1, 3)), (1, 2, 500, 500, 10, 10, 1), (3, 2, 0, 0, 10, 10, 1)])
    r = evaluate_tracking(gt, pred)
    assert r.num_frames == 3
    assert r.num_false_positives == 2
    assert r.mota == pytest.approx(0.0)
    assert r.precision == pytest.approx(0.5)
    assert r.deta == pytest.approx(2 / 4)  # TP / (TP + FN + FP)
    assert r.assa == pytest.approx(1.0)
    assert r.hota == pytest.approx(math.sqrt(0.5))


def test_fragmentation_without_switch() -> None:
    gt = MotData.from_rows(_track(1, range(1, 6)))
    pred = MotData.from_rows(_track(4, range(1, 3)) + _track(4, range(4, 6)))
    r = evaluate_tracking(gt, pred)
    assert (r.num_switches, r.num_fragmentations, r.num_misses) == (0, 1, 1)
    assert r.mota == pytest.approx(0.8)


def test_iou_threshold_decides_clear_matches_and_hota_integrates_over_alpha() -> None:
    gt = MotData.from_rows(_track(1, range(1, 5)))
    pred = MotData.from_rows(_track(1, range(1, 5), h=6.25))  # IoU 0.625 with every gt box
    loose = evaluate_tracking(gt, pred, iou_threshold=0.5)
    assert loose.mota == pytest.approx(1.0)
    assert loose.motp == pytest.approx(0.625)
    strict = evaluate_tracking(gt, pred, iou_threshold=0.7)
    assert (strict.num_misses, strict.num_false_positives) == (4, 4)
    assert strict.mota == pytest.approx(-1.0)
    # matched at alpha = 0.05 ... 0.60 (12 of 19 thresholds), missed above: HOTA 1 or 0 per alpha
    assert loose.hota == pytest.approx(12 / 19)
    assert loose.hota == strict.hota


def test_zero_marked_ground_truth_is_dropped_by_default() -> None:
    gt = MotData.from_rows([*_track(1, range(1, 3)), (1, 5, 300, 300, 10, 10, 0)])
    pred = MotData.from_rows(_track(1, range(1, 3)))
    r = evaluate_tracking(gt, pred)
    assert (r.num_gt_ignored, r.num_misses) == (1, 0)
    assert r.mota == pytest.approx(1.0)
    kept = evaluate_tracking(gt, pred, drop_zero_marked_gt=False)
    assert (kept.num_gt_ignored, kept.num_misses) == (0, 1)


def test_bad_inputs() -> None:
    gt = MotData.from_rows(_track(1, range(1, 3)))
    with pytest.raises(InputError, match="no boxes"):
        evaluate_tracking(MotData.empty(), gt)
    with pytest.raises(InputError, match="iou_threshold"):
        evaluate_tracking(gt, gt, iou_threshold=0.0)
    dup = MotData.from_rows([*_track(3, range(1, 3)), (2, 3, 50, 50, 5, 5, 1)], source="pred.txt")
    with pytest.raises(InputError, match="id 3 has more than one box in frame 2") as info:
        evaluate_tracking(gt, dup)
    assert info.value.where == "pred.txt"


def test_box_iou_xywh() -> None:
    iou = box_iou_xywh([[0, 0, 10, 10], [0, 0, 0, 0]], [[5, 0, 10, 10], [0, 0, 10, 10], [0, 0, 0, 0]])
    assert iou.shape == (2, 3)
    assert iou[0].tolist() == pytest.approx([50 / 150, 1.0, 0.0])
    assert iou[1].tolist() == [0.0, 0.0, 0.0]


def test_numpy2_shim_restores_only_missing_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(np, "asfarray", raising=False)
    added = install_numpy2_aliases()
    assert "asfarray" in added
    assert np.asfarray([1, 2]).dtype == np.float64  # type: ignore[attr-defined]
    assert np.asfarray(np.zeros(2, np.float32)).dtype == np.float64  # type: ignore[attr-defined]
    assert np.asfarray([1], dtype=np.float32).dtype == np.float32  # type: ignore[attr-defined]
    assert np.asfarray([1], dtype=np.int32).dtype == np.float64  # type: ignore[attr-defined]
    assert install_numpy2_aliases() == []  # idempotent


def test_missing_library_is_backend_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "motmetrics", None)
    gt = MotData.from_rows(_track(1, range(1, 3)))
    with pytest.raises(BackendUnavailableError) as info:
        evaluate_tracking(gt, gt)
    assert info.value.hint is not None and "sightings[eval]" in info.value.hint


# ---- reference data (py-motmetrics 1.4.0 test numbers = MOT Challenge devkit) --------------------------------
@pytest.mark.shared_data
@pytest.mark.parametrize("seq", TUD)
def test_tud_matches_motmetrics_reference(shared_data: Path, seq: str) -> None:
    base = shared_data / "motmetrics_tud"
    ref = json.loads((base / "reference_metrics.json").read_text(encoding="utf-8"))["metrics"][seq]
    r = evaluate_tracking(read_mot(base / seq / "gt.txt"), read_mot(base / seq / "test.txt"), iou_threshold=0.5)
    ours = {
        "idf1": r.idf1,
        "idp": r.idp,
        "idr": r.idr,
        "recall": r.recall,
        "precision": r.precision,
        "num_unique_objects": r.num_gt_ids,
        "mostly_tracked": r.mostly_tracked,
        "partially_tracked": r.partially_tracked,
        "mostly_lost": r.mostly_lost,
        "num_false_positives": r.num_false_positives,
        "num_misses": r.num_misses,
        "num_switches": r.num_switches,
        "num_fragmentations": r.num_fragmentations,
        "mota": r.mota,
        "motp": 1.0 - r.motp,  # motmetrics reports mean distance 1 - IoU
    }
    for name, expected in ref.items():
        assert ours[name] == pytest.approx(expected, abs=1e-6), name  # published with 6 decimals
    devkit = {"TUD-Campus": (52.6, 72.3, 55.8), "TUD-Stadtmitte": (56.4, 65.4, 64.5)}[seq]
    assert (round(r.mota * 100, 1), round(r.motp * 100, 1), round(r.idf1 * 100, 1)) == devkit


@pytest.mark.shared_data
def test_tud_hota_matches_trackeval_mot_challenge_pipeline(shared_data: Path, tmp_path: Path) -> None:
    """Our plumbing into TrackEval's HOTA equals TrackEval run end to end on a MOT15-layout folder."""
    trackeval = pytest.importorskip("trackeval")
    base = shared_data / "motmetrics_tud"
    seq_info = {}
    for seq in TUD:
        (tmp_path / "gt" / seq / "gt").mkdir(parents=True)
        shutil.copy(base / seq / "gt.txt", tmp_path / "gt" / seq / "gt" / "gt.txt")
        (tmp_path / "trackers" / "t" / "data").mkdir(parents=True, exist_ok=True)
        shutil.copy(base / seq / "test.txt", tmp_path / "trackers" / "t" / "data" / f"{seq}.txt")
        gt, pred = read_mot(base / seq / "gt.txt"), read_mot(base / seq / "test.txt")
        seq_info[seq] = int(max(gt.frame.max(), pred.frame.max()))
    quiet = {"PRINT_CONFIG": False}
    evaluator = trackeval.Evaluator(
        {
            **quiet,
            "USE_PARALLEL": False,
            "PRINT_RESULTS": False,
            "TIME_PROGRESS": False,
            "OUTPUT_SUMMARY": False,
            "OUTPUT_DETAILED": False,
            "PLOT_CURVES": False,
            "LOG_ON_ERROR": None,
        }
    )
    dataset = trackeval.datasets.MotChallenge2DBox(
        {
            **quiet,
            "GT_FOLDER": str(tmp_path / "gt"),
            "TRACKERS_FOLDER": str(tmp_path / "trackers"),
            "BENCHMARK": "MOT15",
            "SKIP_SPLIT_FOL": True,
            "SEQ_INFO": seq_info,
            "TRACKERS_TO_EVAL": ["t"],
        }
    )
    metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR(quiet), trackeval.metrics.Identity(quiet)]
    with contextlib.redirect_stdout(io.StringIO()):
        results, _ = evaluator.evaluate([dataset], metrics)
    for seq in TUD:
        theirs = results["MotChallenge2DBox"]["t"][seq]["pedestrian"]
        r = evaluate_tracking(read_mot(base / seq / "gt.txt"), read_mot(base / seq / "test.txt"))
        for ours, key in ((r.hota, "HOTA"), (r.deta, "DetA"), (r.assa, "AssA"), (r.loca, "LocA")):
            assert ours == pytest.approx(float(np.mean(theirs["HOTA"][key])), abs=1e-12), (seq, key)
        # TrackEval's own CLEAR/Identity agree with py-motmetrics here too
        assert r.mota == pytest.approx(theirs["CLEAR"]["MOTA"], abs=1e-12)
        assert r.motp == pytest.approx(theirs["CLEAR"]["MOTP"], abs=1e-12)
        assert r.idf1 == pytest.approx(theirs["Identity"]["IDF1"], abs=1e-12)
        assert r.num_switches == theirs["CLEAR"]["IDSW"]


# ---- CLI ---------------------------------------------------------------------------------------------------
def test_cli_tracking_table_and_json(tmp_path: Path) -> None:
    gt = write_mot(tmp_path / "gt.txt", _track(1, range(1, 5)))
    pred = write_mot(tmp_path / "pred.txt", _track(7, range(1, 3)) + _track(8, range(3, 5)))
    runner = CliRunner()
    res = runner.invoke(app, ["tracking", "--gt", str(gt), "--pred", str(pred)])
    assert res.exit_code == 0, res.output
    for label in ("HOTA", "DetA", "AssA", "MOTA", "MOTP", "IDF1", "ID switches"):
        assert label in res.output
    assert "0.750" in res.output  # MOTA
    res = runner.invoke(app, ["tracking", "--gt", str(gt), "--pred", str(pred), "--iou", "0.6", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["num_switches"] == 1
    assert out["mota"] == pytest.approx(0.75)
    assert out["iou_threshold"] == 0.6
    assert out["gt"] == str(gt)


def test_cli_tracking_errors_are_ours(tmp_path: Path) -> None:
    gt = write_mot(tmp_path / "gt.txt", _track(1, range(1, 3)))
    runner = CliRunner()
    res = runner.invoke(app, ["tracking", "--gt", str(gt), "--pred", str(tmp_path / "missing.txt")])
    assert res.exit_code != 0
    assert type(res.exception).__name__ == "NotFoundError"
    res = runner.invoke(app, ["tracking", "--gt", str(gt), "--pred", str(gt), "--iou", "1.5"])
    assert isinstance(res.exception, InputError)
    assert res.exception.where == "--iou"


def test_cli_notes_an_empty_prediction_file(tmp_path: Path) -> None:
    gt = write_mot(tmp_path / "gt.txt", _track(1, range(1, 3)))
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    res = CliRunner().invoke(app, ["tracking", "--gt", str(gt), "--pred", str(empty), "--json"])
    assert res.exit_code == 0, res.output
    assert "has no rows" in res.stderr
    assert json.loads(res.stdout)["num_misses"] == 2


def test_cli_scores_a_strided_run_on_its_own_frames(tmp_path: Path) -> None:
    """`track --stride 5` writes frames 1, 6, 11, …: scored against every ground-truth frame, 4 in 5 would be
    misses. The spacing is read from the predictions (said in a note); --stride 1 scores every frame."""
    gt = write_mot(tmp_path / "gt.txt", _track(1, range(1, 21)))
    pred = write_mot(tmp_path / "pred.txt", _track(1, range(1, 21, 5)))
    res = CliRunner().invoke(app, ["tracking", "--gt", str(gt), "--pred", str(pred), "--json"])
    assert res.exit_code == 0, res.output
    assert "predictions lie on one frame in 5 (frames 1, 6, …)" in res.stderr
    assert json.loads(res.stdout)["mota"] == pytest.approx(1.0)
    every = CliRunner().invoke(app, ["tracking", "--gt", str(gt), "--pred", str(pred), "--stride", "1", "--json"])
    assert json.loads(every.stdout)["mota"] == pytest.approx(0.2) and "one frame in" not in every.stderr
    dense = write_mot(tmp_path / "dense.txt", _track(1, range(1, 21)))
    plain = CliRunner().invoke(app, ["tracking", "--gt", str(gt), "--pred", str(dense), "--json"])
    assert "one frame in" not in plain.stderr and json.loads(plain.stdout)["mota"] == pytest.approx(1.0)


def test_frame_spacing() -> None:
    from sightings.evaluate.tracking import frame_spacing

    assert frame_spacing(MotData.from_rows(_track(1, range(3, 40, 6)))) == 6
    assert frame_spacing(MotData.from_rows(_track(1, [1, 6, 12]))) == 1  # not one grid
    assert frame_spacing(MotData.from_rows(_track(1, [1, 11]))) == 1  # too few frames to tell
    assert frame_spacing(MotData.empty()) == 1
