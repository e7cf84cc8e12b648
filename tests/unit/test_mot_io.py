"""MOT Challenge file reading and writing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sightings.core.errors import InputError, NotFoundError
from sightings.evaluate.mot_io import MotData, read_mot, write_mot


def _write(tmp_path: Path, text: str, name: str = "mot.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_tracker_output_with_ten_columns(tmp_path: Path) -> None:
    path = _write(tmp_path, "1,3,113.84,274.5,57.307,130.05,-1,-1,-1,-1\n2,3,116.37,265.2,62.858,142.64,0.9,-1,-1,-1\n")
    data = read_mot(path)
    assert len(data) == 2
    assert data.frame.tolist() == [1, 2]
    assert data.id.tolist() == [3, 3]
    assert data.x[0] == pytest.approx(113.84)
    assert data.h[1] == pytest.approx(142.64)
    assert data.score.tolist() == [-1.0, 0.9]
    assert data.class_id.tolist() == [-1, -1]
    assert data.visibility.tolist() == [-1.0, -1.0]
    assert data.source == str(path)
    assert data.frame.dtype == np.int64 and data.x.dtype == np.float64
    with pytest.raises(ValueError, match="read-only"):
        data.x[0] = 0.0


def test_reads_mot16_ground_truth_class_and_visibility(tmp_path: Path) -> None:
    data = read_mot(_write(tmp_path, "1,1,912,484,97,109,0,7,1\n1,2,1338,418,167,379,1,1,0.86765\n"))
    assert data.score.tolist() == [0.0, 1.0]
    assert data.class_id.tolist() == [7, 1]
    assert data.visibility.tolist() == pytest.approx([1.0, 0.86765])


def test_mot15_world_coordinates_are_not_read_as_class(tmp_path: Path) -> None:
    # PETS09 / TUD ground truth: columns 8-10 are world x, y, z.
    data = read_mot(_write(tmp_path, "1,9,499,158,31.03,75.17,1,-4.1554,-7.3591,0\n"))
    assert data.class_id.tolist() == [-1]
    assert data.visibility.tolist() == [-1.0]


def test_six_columns_and_whitespace_separators(tmp_path: Path) -> None:
    data = read_mot(_write(tmp_path, "# comment\n\n1 1 10 20 30 40\n2\t1\t11\t21\t30\t40\n3, 1, 12, 22, 30, 40,\n"))
    assert data.frame.tolist() == [1, 2, 3]
    assert data.x.tolist() == [10.0, 11.0, 12.0]
    assert data.score.tolist() == [1.0, 1.0, 1.0]  # default conf: "consider"
    assert data.class_id.tolist() == [-1, -1, -1]


def test_empty_file_is_valid(tmp_path: Path) -> None:
    data = read_mot(_write(tmp_path, "\n"))
    assert data.is_empty
    assert len(data) == 0
    assert data.xywh.shape == (0, 4)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("1,1,10,20,30", "expected 6 to 10 columns"),
        ("1,1,10,20,30,40,1,-1,-1,-1,5", "expected 6 to 10 columns"),
        ("1,1,10,abc,30,40", "column 4 (y) is not a number: 'abc'"),
        ("1,1,10,20,nan,40", "not finite"),
        ("1,1,10,20,-3,40", "negative width -3"),
        ("1,1,10,20,30,-1", "negative height"),
        ("0,1,10,20,30,40", "frame must be >= 1"),
        ("1.5,1,10,20,30,40", "frame must be an integer"),
        ("1,2.5,10,20,30,40", "id must be an integer"),
    ],
)
def test_bad_line_names_file_and_line(tmp_path: Path, line: str, reason: str) -> None:
    path = _write(tmp_path, f"1,1,10,20,30,40\n{line}\n")
    with pytest.raises(InputError) as info:
        read_mot(path)
    assert info.value.where == f"{path}:2"
    assert reason in info.value.reason


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        read_mot(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="folder"):
        read_mot(tmp_path)


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    rows = [(1, 3, 113.84, 274.5, 57.307, 130.05, 0.75), (2, 4, 1e-5, 2.0, 3.0, 4.0, 1.0, 1, 0.5)]
    path = write_mot(tmp_path / "out" / "pred.txt", rows)
    text = path.read_text(encoding="utf-8").splitlines()
    assert text[0] == "1,3,113.84,274.5,57.307,130.05,0.75,-1,-1,-1"
    assert text[1] == "2,4,0.00001,2,3,4,1,1,0.5,-1"
    back = read_mot(path)
    assert back.x.tolist() == [113.84, 1e-5]
    assert back.class_id.tolist() == [-1, 1]
    again = write_mot(tmp_path / "again.txt", back)
    assert again.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_write_rejects_bad_rows(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="frame must be >= 1"):
        write_mot(tmp_path / "x.txt", [(0, 1, 0, 0, 1, 1)])
    with pytest.raises(InputError, match="6 to 9 values"):
        write_mot(tmp_path / "x.txt", [(1, 1, 0, 0)])
    assert not (tmp_path / "x.txt").exists()


def test_motdata_views_and_validation() -> None:
    data = MotData.from_rows([(1, 1, 0, 0, 10, 20), (1, 1, 5, 5, 10, 10), (3, 2, 0, 0, 1, 1)])
    assert data.xyxy[0].tolist() == [0.0, 0.0, 10.0, 20.0]
    assert data.frames().tolist() == [1, 3]
    assert data.duplicate_ids() == [(1, 1)]
    assert len(data.select(data.frame == 3)) == 1
    with pytest.raises(InputError, match="rows"):
        z = np.zeros(1)
        MotData(np.array([1]), np.array([1, 2]), z, z, z, z, z, np.zeros(1, np.int64), z)
