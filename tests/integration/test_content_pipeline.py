"""The content pipeline end to end on generated videos: artifacts, validators, bad input, CLI, batch job."""

from __future__ import annotations

import json
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sightings.solutions.content.context import ContentOptions
from sightings.solutions.content.pipeline import run_content
from sightings.solutions.content.synthetic import make_test_clip
from sightings.solutions.content.validate import validate_run

HAS_TESSERACT = shutil.which("tesseract") is not None
AUDIO = {"loudness", "tempo", "audio_mix", "clap"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    make_test_clip(path, seconds=2.0, audio_bpm=120.0)
    return path


@pytest.fixture(scope="module")
def run_dir(clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("store")
    options = ContentOptions(corpus_dir=str(store / "corpus"), corpus_add=True, max_ocr_frames=2)
    return run_content(clip, platform_id="yt", video_id="clip1", options=options, store=store).run_dir


def test_run_folder_layout_and_manifest(run_dir: Path) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert run_dir.parent.name == "clip1" and run_dir.parent.parent.name == "yt"
    assert len(manifest["config_hash"]) == 64 and manifest["run_id"].endswith(manifest["config_hash"][:8])
    statuses = {k: v["status"] for k, v in manifest["modules"].items()}
    assert statuses["clap"] == "skipped"  # no model in the (isolated) models dir
    assert statuses["text_scoring"] == ("ok" if HAS_TESSERACT else "skipped")
    ok = [k for k, s in statuses.items() if s == "ok"]
    assert {
        "cut_detection",
        "shot_quality",
        "video_pacing",
        "story_structure",
        "similarity_metrics",
        "uniqueness",
        "scene_classification",
        "loudness",
        "tempo",
        "audio_mix",
    } <= set(ok)
    for name in ok:
        assert (run_dir / f"{name}.npz").is_file()
        entry = manifest["modules"][name]
        assert entry["version"] and entry["schema_version"] and entry["seconds"] >= 0
    meta = json.loads((run_dir / "frames" / "metadata.json").read_text())
    assert meta["source_fps"] == 25 and meta["analysis_fps"] == 2.0
    reasons = {r for f in meta["frames"] for r in f["reasons"]}
    assert {"uniform", "keyframe", "shot"} <= reasons
    assert all((run_dir / "frames" / f["file"]).is_file() for f in meta["frames"])
    assert not list(run_dir.parent.glob(".*partial"))  # atomic: no leftovers


def test_values_make_sense(run_dir: Path) -> None:
    from sightings.runner.run_folders import load_module

    tempo = load_module(run_dir, "tempo")
    assert abs(float(tempo["bpm"]) - 120.0) < 3.0
    loud = load_module(run_dir, "loudness")
    assert -40 < float(loud["integrated_lufs"]) < 0
    cuts = load_module(run_dir, "cut_detection")
    assert cuts["shot_start"][0] == 0 and len(cuts["shot_start"]) >= 2
    pacing = load_module(run_dir, "video_pacing")
    assert float(pacing["cuts_per_minute"]) > 0


def test_validator_accepts_then_catches_broken_runs(run_dir: Path, tmp_path: Path) -> None:
    report = validate_run(run_dir)
    assert report.ok, [str(i) for i in report.errors]
    assert report.arrays_checked > 30
    broken = tmp_path / "broken"
    shutil.copytree(run_dir, broken)
    arrays = dict(np.load(broken / "loudness.npz"))
    arrays["short_term_lufs"] = arrays["short_term_lufs"].copy()
    arrays["short_term_lufs"][0] = np.nan
    arrays["true_peak_dbtp"] = np.float64(arrays["true_peak_dbtp"])  # wrong dtype
    del arrays["window_t_s"]  # missing key
    np.savez(broken / "loudness.npz", **arrays)
    pacing = dict(np.load(broken / "video_pacing.npz"))
    pacing["motion_energy"] = pacing["motion_energy"] + 5  # out of [0, 1]
    np.savez(broken / "video_pacing.npz", **pacing)
    report = validate_run(broken)
    messages = "\n".join(str(i) for i in report.errors)
    assert not report.ok
    assert "NaN/inf" in messages and "dtype float64" in messages and "required key missing" in messages
    assert "above the range maximum" in messages
    (broken / "tempo.npz").write_bytes(b"garbage")  # not a zip at all
    report = validate_run(broken)
    assert any("tempo" in str(i) and "not an NPZ file (damaged, or another format)" in str(i) for i in report.errors)
    from sightings.solutions.content.timeline import run_summary

    shown = run_summary(broken)["modules"]["tempo"]  # `content show` says it too, rather than "ok" and no values
    assert shown.startswith("ok in the manifest, but not an NPZ file")


def _clip_without_audio(path: Path, **kwargs: object) -> Path:
    make_test_clip(path, audio_bpm=None, **kwargs)  # type: ignore[arg-type]
    return path


@pytest.mark.parametrize("kind", ["no_audio", "one_frame", "vertical"])
def test_bad_input_gives_statuses_not_crashes(kind: str, tmp_path: Path) -> None:
    if kind == "no_audio":
        video = _clip_without_audio(tmp_path / "v.mp4", seconds=1.0)
    elif kind == "one_frame":
        video = _clip_without_audio(tmp_path / "v.mp4", seconds=0.04)
    else:
        video = _clip_without_audio(tmp_path / "v.mp4", seconds=1.0, width=96, height=160)
    opts = ContentOptions(max_ocr_frames=1)
    result = run_content(video, platform_id="p", video_id=kind, options=opts, store=tmp_path / "rs")
    statuses = result.statuses
    assert all(statuses[m] == "skipped" for m in AUDIO), statuses
    assert result.manifest["modules"]["loudness"]["reason"] == "no audio track"
    assert "failed" not in statuses.values(), result.manifest["modules"]
    assert validate_run(result.run_dir).ok
    if kind == "one_frame":
        assert result.manifest["n_shots"] == 1 and result.manifest["source"]["n_frames"] == 1
    if kind == "vertical":
        meta = json.loads((result.run_dir / "frames" / "metadata.json").read_text())
        assert meta["width"] == 96 and meta["height"] == 160


def test_variable_frame_rate_and_corrupt_middle(tmp_path: Path) -> None:
    import av

    vfr = tmp_path / "vfr.mkv"
    with av.open(str(vfr), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        stream.time_base = Fraction(1, 1000)
        t_ms = 0
        for i in range(60):
            frame = av.VideoFrame.from_ndarray(np.full((96, 160, 3), (i * 4) % 256, np.uint8), format="rgb24")
            frame.pts, frame.time_base = t_ms, Fraction(1, 1000)
            t_ms += 20 if i % 2 else 50
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    result = run_content(
        vfr, platform_id="p", video_id="vfr", options=ContentOptions(max_ocr_frames=1), store=tmp_path / "rs"
    )
    times = json.loads((result.run_dir / "frames" / "metadata.json").read_text())["frames"]
    assert [f["t_s"] for f in times] == sorted(f["t_s"] for f in times)
    assert validate_run(result.run_dir).ok

    clip = tmp_path / "clip.mp4"
    make_test_clip(clip, seconds=3.0, width=160, height=96, audio_bpm=100.0)
    data = bytearray(clip.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 3000] = bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8))
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(bytes(data))
    result = run_content(
        bad, platform_id="p", video_id="corrupt", options=ContentOptions(max_ocr_frames=1), store=tmp_path / "rs"
    )
    assert "failed" not in result.statuses.values(), result.manifest["modules"]
    assert result.manifest["source"]["n_frames"] > 10
    assert result.manifest["source"]["decode_errors"] > 0
    assert any("corrupt video packets skipped" in w for w in result.manifest["warnings"])

    # the standalone cut detector (reference frames only) on the same two files: numbered in the file's frames
    from sightings.solutions.content.cuts import detect_cuts

    fast, exact = detect_cuts(vfr), detect_cuts(vfr, all_frames=True)
    assert fast.n_frames == exact.n_frames == 60 and fast.decoded_frames is not None and fast.decoded_frames < 60
    assert all(0 <= s < 60 for s in fast.shot_starts)
    assert detect_cuts(bad).n_frames > 10


def test_failed_module_does_not_stop_others(clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from sightings.solutions.content import spec

    spec.module_names()

    def boom(ctx: object) -> dict[str, np.ndarray]:
        raise RuntimeError("boom")

    monkeypatch.setitem(spec.MODULES, "tempo", replace(spec.MODULES["tempo"], run=boom))
    opts = ContentOptions(modules=["tempo", "video_pacing", "loudness"])
    result = run_content(clip, platform_id="p", video_id="f", options=opts, store=tmp_path / "rs")
    assert result.statuses == {"tempo": "failed", "video_pacing": "ok", "loudness": "ok"}
    assert "RuntimeError: boom" in result.manifest["modules"]["tempo"]["reason"]
    report = validate_run(result.run_dir)
    assert not report.ok and report.errors[0].module == "tempo"


def test_clap_with_a_tiny_generated_onnx_model(clip: Path, tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    win = 4800
    weights = np.random.default_rng(0).normal(size=(win, 8)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["audio", "w"], ["embedding"])],
        "tiny_clap",
        [helper.make_tensor_value_info("audio", TensorProto.FLOAT, [1, win])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, 8])],
        [numpy_helper.from_array(weights, "w")],
    )
    models = tmp_path / "models"
    models.mkdir()
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, models / "clap_audio.onnx")
    opts = ContentOptions(modules=["clap"], models_dir=str(models))
    result = run_content(clip, platform_id="p", video_id="clap", options=opts, store=tmp_path / "rs")
    assert result.statuses == {"clap": "ok"}, result.manifest["modules"]
    from sightings.runner.run_folders import load_module

    out = load_module(result.run_dir, "clap")
    assert out["embeddings"].shape[1] == 8 and out["embeddings"].shape[0] in (20, 21)  # ~2 s at 48 kHz / 4800
    assert abs(float(np.linalg.norm(out["embedding"])) - 1.0) < 1e-5
    assert validate_run(result.run_dir).ok


def test_cli_run_cuts_show_validate(clip: Path, tmp_path: Path) -> None:
    from sightings.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["content", "cuts", str(clip), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["shot_starts"][0] == 0
    res = runner.invoke(
        app,
        [
            "content",
            "run",
            str(clip),
            "--platform",
            "yt",
            "--video-id",
            "c1",
            "--modules",
            "cut_detection,video_pacing,story_structure,loudness",
            "--out",
            str(tmp_path / "rs"),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    run = Path(json.loads(res.stdout)["run_dir"])
    res = runner.invoke(app, ["content", "show", str(run), "--json"])
    assert res.exit_code == 0, res.output
    assert Path(json.loads(res.stdout)["timeline_png"]).stat().st_size > 10_000
    res = runner.invoke(app, ["content", "validate", str(run)])
    assert res.exit_code == 0 and "valid" in res.output
    (run / "loudness.npz").write_bytes(b"not a zip")
    res = runner.invoke(app, ["content", "validate", str(run)])
    assert res.exit_code == 1 and "loudness: not an NPZ file (damaged, or another format)" in res.output
    res = runner.invoke(
        app,
        [
            "content",
            "run",
            str(clip),
            "--platform",
            "yt",
            "--video-id",
            "c1",
            "--modules",
            "nope",
            "--out",
            str(tmp_path / "rs"),
        ],
    )
    assert res.exit_code == 3 and "unknown module 'nope'" in res.output
    res = runner.invoke(app, ["content", "validate", str(tmp_path / "missing")])
    assert res.exit_code == 4
    for command in ("show", "validate"):  # a file where the run folder belongs is bad input, not a missing folder
        res = runner.invoke(app, ["content", command, str(run / "manifest.json")])
        assert res.exit_code == 2 and "is a file, expected a run folder" in res.output, res.output


def test_cli_run_refuses_a_bad_corpus_before_decoding(clip: Path, tmp_path: Path) -> None:
    """A file as --corpus, or a missing corpus without --corpus-add, is refused up front and creates nothing (it
    used to run the whole video, mark uniqueness failed and exit 0, or leave an empty corpus folder behind)."""
    from sightings.cli import app

    runner = CliRunner()
    base = ["content", "run", str(clip), "--platform", "yt", "--video-id", "c1", "--out", str(tmp_path / "rs")]
    a_file = tmp_path / "corpus.txt"
    a_file.write_text("not a folder")
    res = runner.invoke(app, [*base, "--corpus", str(a_file)])
    assert res.exit_code == 2 and "is a file, expected the reference corpus folder" in res.output, res.output
    res = runner.invoke(app, [*base, "--corpus", str(a_file / "sub"), "--corpus-add"])
    assert res.exit_code == 2 and "a part of the path is a file" in res.output, res.output
    res = runner.invoke(app, [*base, "--corpus", str(tmp_path / "nope")])
    assert res.exit_code == 4 and "--corpus-add creates it" in res.output, res.output
    assert not (tmp_path / "nope").exists() and not (tmp_path / "rs").exists()


def test_batch_job_content(clip: Path, tmp_path: Path) -> None:
    from sightings.core.protocols import BatchItem
    from sightings.core.registry import JOBS
    from sightings.runner.jobs import resolve_job

    spec = resolve_job("content", {"modules": ["cut_detection", "video_pacing"]})
    assert spec.config["modules"] == {"cut_detection": "1", "video_pacing": "1"}
    job = JOBS.create("content", modules=["cut_detection", "video_pacing"])
    out = tmp_path / "runs" / "content" / "yt" / "c9" / spec.config_hash[:16]  # where the batch runner puts it
    out.mkdir(parents=True)
    (out / "manifest.json").write_text('{"job": "content"}', encoding="utf-8")  # the batch's own manifest
    result = job.run(BatchItem(str(clip), "yt", "c9"), out)
    assert result.steps == {"cut_detection": True, "video_pacing": True}
    assert (out / "content" / "manifest.json").is_file()  # the item folder is already per video: no nesting
    # the popularity dataset builder finds it with --store OUT/runs/content (not the batch's manifest beside it)
    from sightings.solutions.popularity.dataset import find_content_run, read_content_run

    found = find_content_run(tmp_path / "runs" / "content", "yt", "c9")
    assert found == out / "content" and read_content_run(found) is not None
    from sightings.core.errors import ConfigError

    with pytest.raises(ConfigError):
        JOBS.create("content", bogus=1)


def test_a_file_cut_short_is_analysed_as_far_as_it_goes_and_marked_truncated(tmp_path: Path) -> None:
    """An AVI whose header counts 50 frames, cut after about half of them (a failed download): the readable part
    is analysed, and the manifest says the video was truncated (it used to read as a whole, shorter video)."""
    import av

    from factories import truncate_copy

    whole = tmp_path / "whole.avi"
    with av.open(str(whole), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        for i in range(50):
            image = np.random.default_rng(i).integers(0, 256, (96, 160, 3), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    cut = truncate_copy(whole, tmp_path / "cut.avi", fraction=0.5)
    result = run_content(cut, platform_id="p", video_id="cut", options=ContentOptions(max_ocr_frames=1), store=tmp_path)
    source = result.manifest["source"]
    assert source["truncated"] is True and 5 < source["n_frames"] < 50
    assert any("ends early" in w for w in result.manifest["warnings"])
