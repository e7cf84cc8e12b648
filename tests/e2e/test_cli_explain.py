"""`sightings explain QUERY MATCH --out x.png` end to end through typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from embed_factories import make_blob_texture, warp_homography

pytest.importorskip("cv2")

from sightings.cli import app

pytestmark = pytest.mark.e2e
runner = CliRunner()


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    from PIL import Image

    a = make_blob_texture(0)
    b, _ = warp_homography(a)
    Image.fromarray(a).save(tmp_path / "query.png")
    Image.fromarray(b).save(tmp_path / "match.jpg", quality=95)
    return tmp_path / "query.png", tmp_path / "match.jpg"


def test_explain_writes_a_png_and_a_json_summary(pair: tuple[Path, Path], tmp_path: Path) -> None:
    from PIL import Image

    out = tmp_path / "out" / "why.png"
    result = runner.invoke(app, ["explain", str(pair[0]), str(pair[1]), "--out", str(out), "--grid", "4", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["inliers"] >= 30 and 0 < summary["cosine"] <= 1 and summary["grid"] == 4
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size[0] > 300
    plain = runner.invoke(
        app, ["explain", str(pair[0]), str(pair[1]), "-o", str(tmp_path / "b.png"), "--embedder", "fake"]
    )
    assert plain.exit_code == 0 and "verified inliers" in plain.stdout
    options = ["explain", str(pair[0]), str(pair[1]), "-o", str(tmp_path / "c.png"), "--embedder", "fake"]
    passed_on = runner.invoke(app, [*options, "--set", "no_such=1"])  # reaches the embedder, which says what it takes
    assert passed_on.exit_code == 3 and "bad options ['no_such'] for embedder 'fake'" in passed_on.output


def test_unreadable_image_is_one_line_and_exit_2(pair: tuple[Path, Path], tmp_path: Path) -> None:
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not an image")
    result = runner.invoke(app, ["explain", str(junk), str(pair[1]), "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "junk.png" in lines[0]
    assert not (tmp_path / "x.png").exists()


def test_wrong_output_type_missing_file_and_bad_grid(pair: tuple[Path, Path], tmp_path: Path) -> None:
    wrong = runner.invoke(app, ["explain", str(pair[0]), str(pair[1]), "--out", str(tmp_path / "x.jpg")])
    assert wrong.exit_code == 2 and ".png" in wrong.output
    missing = runner.invoke(
        app, ["explain", str(tmp_path / "nope.png"), str(pair[1]), "--out", str(tmp_path / "x.png")]
    )
    assert missing.exit_code == 4 and "no such file" in missing.output
    grid = runner.invoke(app, ["explain", str(pair[0]), str(pair[1]), "--out", str(tmp_path / "x.png"), "--grid", "0"])
    assert grid.exit_code == 2
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.fromarray(np.full((60, 60, 3), 128, np.uint8)).save(blank)
    flat = runner.invoke(app, ["explain", str(blank), str(pair[1]), "--out", str(tmp_path / "f.png"), "--json"])
    assert flat.exit_code == 0 and json.loads(flat.stdout)["inliers"] == 0, "no keypoints is a skip, not an error"
