"""CI quality gate: re-ID on shared/data/lions must not fall more than 2 points below the committed baseline.

The baseline is ``benchmarks/baselines/reid_lions.json`` (``sightings eval reid ../shared/data/lions --embedder
color-texture --rerank rootsift --rerank-set max_side=240 --seed 0 --json``: the wildlife service's two-stage
score at its default ``wildlife.rerank_max_side``). The two-stage run takes ~20 s on 2 cores, so it runs in the
default suite whenever the evaluation data is present. After a deliberate improvement, re-run the command and
commit the new figures as the baseline.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.shared_data
BASELINE = Path(__file__).resolve().parents[2] / "benchmarks" / "baselines" / "reid_lions.json"


def test_reid_lions_has_not_regressed(shared_data: Path, tmp_path: Path) -> None:
    pytest.importorskip("cv2")
    pytest.importorskip("sklearn")
    from sightings.cli import app

    lions = shared_data / "lions"
    if not lions.is_dir():
        pytest.skip(f"no lions set in {shared_data}")
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    args = ["eval", "reid", str(lions), "--embedder", baseline["embedder"], "--seed", str(baseline["seed"])]
    if baseline["score_kind"] == "two-stage":
        args += ["--rerank", "rootsift"]
        for key, value in baseline.get("rerank_options", {}).items():
            args += ["--rerank-set", f"{key}={value}"]
    result = CliRunner().invoke(app, [*args, "--json", "--quiet", "--out", str(tmp_path / "reid")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "reid" / "metrics.json").is_file(), "eval reid writes metrics.json"
    metrics = json.loads(result.stdout)
    measured = {"rank1": metrics["closed"]["rank1"], "map": metrics["closed"]["map"]}
    drops = {k: baseline[k] - v for k, v in measured.items()}
    failed = {k: d for k, d in drops.items() if d > baseline["max_drop"]}
    assert not failed, f"re-ID regressed on lions: measured {measured}, baseline {baseline}, drops {failed}"


def test_the_baseline_guards_the_served_rerank_size() -> None:
    from sightings.core.config import WildlifeSettings

    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    settings = WildlifeSettings()
    served: dict[str, int] = {"max_side": settings.rerank_max_side}
    if settings.rerank_octave_layers != 3:  # OpenCV's default is left out of the command
        served["octave_layers"] = settings.rerank_octave_layers
    assert baseline["rerank_options"] == served, "re-baseline after changing wildlife.rerank_* settings"
