"""`sightings eval reid` and `sightings identity fit-head` end to end, with the fake embedder on generated crops."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reid_factories import make_reid_folder, write_labels_csv

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

from sightings.cli import app

pytestmark = pytest.mark.e2e
runner = CliRunner()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_reid_folder(tmp_path_factory.mktemp("reid") / "crops", identities=16, per_identity=4, singletons=2)


def test_eval_reid_writes_table_plots_and_metrics(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = runner.invoke(app, ["eval", "reid", str(dataset), "--embedder", "fake", "--out", str(out), "-q"])
    assert res.exit_code == 0, res.output
    for word in ("rank-1", "mAP", "ECE", "TPR @ 95% P", "queries/s"):
        assert word in res.output
    for name in ("cmc.png", "reliability.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["closed"]["rank1"] > 0.9  # each generated individual has its own colour layout
    assert metrics["embedder"] == "fake" and metrics["partition"] == "seeded identities"


def test_eval_reid_json_is_seeded(dataset: Path) -> None:
    args = ["eval", "reid", str(dataset), "--embedder", "fake", "--json", "--seed", "3", "--calibration", "platt"]
    first, second = runner.invoke(app, args), runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert a["closed"] == b["closed"] and a["report_part"] == b["report_part"]
    assert 0.0 <= a["ece"] <= 1.0 and a["calibration_method"] == "platt"
    assert a["report_part"]["unknown_queries"] > 0


def test_fit_head_then_evaluate_the_projected_embedder(dataset: Path, tmp_path: Path) -> None:
    csv = write_labels_csv(dataset, "labels_split.csv")
    head = tmp_path / "heads" / "crops-lda"
    res = runner.invoke(app, ["identity", "fit-head", str(csv), "--embedder", "fake", "--out", str(head), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["fit"]["part"] == "split column" and summary["fit"]["identities"] == 9
    assert {"rank1", "map"} <= set(summary["before"]) and Path(summary["head"]).is_file()
    res = runner.invoke(
        app, ["eval", "reid", str(csv), "--embedder", "projected", "--set", f"head={head}", "--json", "-q"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["embedder"].startswith("projected")
    res = runner.invoke(app, ["identity", "fit-head", str(csv), "--embedder", "fake", "--out", str(head)])
    assert res.exit_code == 0 and "before" in res.output and "use it with" in res.output


def _error(args: list[str]) -> str:
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, res.output
    return lines[0]


def test_bad_datasets_give_one_line_errors(tmp_path: Path) -> None:
    singles = make_reid_folder(tmp_path / "singles", identities=0, singletons=6)
    assert "no queries possible" in _error(["eval", "reid", str(singles), "--embedder", "fake"])
    (tmp_path / "empty").mkdir()
    assert "no images found" in _error(["eval", "reid", str(tmp_path / "empty"), "--embedder", "fake"])
    root = make_reid_folder(tmp_path / "d", identities=4, per_identity=3)
    bad = root / "bad.csv"
    bad.write_text("image,name\nid_00/0.png,id_00\n")
    assert "missing identity" in _error(["eval", "reid", str(bad), "--embedder", "fake"])
    bad.write_text("image,identity\nid_00/0.png,id_00\nid_09/9.png,id_09\n")
    assert f"{bad}:3: image not found: id_09/9.png" in _error(["eval", "reid", str(bad), "--embedder", "fake"])
    assert "--calibration" in _error(["eval", "reid", str(root), "--embedder", "fake", "--calibration", "magic"])
    assert "--method" in _error(
        ["identity", "fit-head", str(root), "--embedder", "fake", "--out", str(tmp_path / "h"), "--method", "x"]
    )


def test_eval_reid_with_local_feature_rerank(dataset: Path) -> None:
    args = ["eval", "reid", str(dataset), "--embedder", "fake", "--rerank", "fake", "--rerank-top", "3", "--json"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["score_kind"] == "two-stage" and report["closed"]["rank1"] > 0.9


def test_eval_reid_unknown_rerank_matcher_is_one_line(dataset: Path) -> None:
    res = runner.invoke(app, ["eval", "reid", str(dataset), "--embedder", "fake", "--rerank", "sift9000"])
    assert res.exit_code == 3
    assert "unknown local_matcher 'sift9000'; known:" in res.output


def test_eval_reid_rerank_options(dataset: Path) -> None:
    base = ["eval", "reid", str(dataset), "--embedder", "fake"]
    res = runner.invoke(
        app, [*base, "--rerank", "rootsift", "--rerank-set", "max_side=96", "--rerank-top", "2", "--json"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["score_kind"] == "two-stage"
    res = runner.invoke(app, [*base, "--rerank-set", "max_side=96"])
    assert res.exit_code != 0 and "--rerank-set: needs --rerank" in res.output
    res = runner.invoke(app, [*base, "--rerank", "rootsift", "--rerank-set", "octaves=2"])
    assert res.exit_code != 0 and "bad options ['octaves'] for local_matcher 'rootsift'" in res.output
    res = runner.invoke(app, [*base, "--rerank", "rootsift", "--rerank-set", "max_side"])
    assert res.exit_code != 0 and "--rerank-set: expected KEY=VALUE" in res.output


def test_eval_reid_out_that_cannot_be_a_folder_fails_before_evaluating(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--out` under a file or naming a file: one line, exit 2, found before any image is embedded."""
    import sightings.cli.identity as identity_cli

    def no_embedding(*args: object, **kwargs: object) -> None:
        raise AssertionError("embedded images for an --out that cannot be written")

    monkeypatch.setattr(identity_cli, "_features", no_embedding)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for out, message in ((blocker / "report", "a part of the path is a file"), (blocker, "not a folder")):
        res = runner.invoke(app, ["eval", "reid", str(dataset), "--embedder", "fake", "--out", str(out), "-q"])
        assert res.exit_code == 2, res.output
        assert res.output.startswith(f"error: {out}: ") and message in res.output
        assert len(res.output.strip().splitlines()) == 1
