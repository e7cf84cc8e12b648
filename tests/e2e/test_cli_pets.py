"""`sightings pets add / matches / show / feedback / calibrate` end to end (in-process CLI runner, temp data dir).

No detector model is installed in the test data dir, so photos are used whole (flag ``no_detector``); the text is
read by the real text package."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pets_factories import encode, photo_of
from sightings.cli import app as cli_app

pytestmark = pytest.mark.e2e
pytest.importorskip("cv2")
pytest.importorskip("sqlalchemy")
pytest.importorskip("natasha")

runner = CliRunner()


@pytest.fixture(autouse=True)
def _numpy_gallery(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGHTINGS_PETS__VECTOR_STORE", "numpy")
    monkeypatch.setenv("SIGHTINGS_PETS__OCR", "false")


def _run(*args: str) -> Any:
    return runner.invoke(cli_app, list(args))


def test_add_found_and_lost_then_matches_and_show(tmp_path: Path) -> None:
    found_photo = tmp_path / "found.png"
    found_photo.write_bytes(encode(photo_of(1, 1)))
    lost_photo = tmp_path / "lost.png"
    lost_photo.write_bytes(encode(photo_of(1, 0)))
    r = _run(
        "pets",
        "add",
        "--kind",
        "found",
        str(found_photo),
        "--text",
        "Нашли кошку у подъезда, ищем хозяина",
        "--where",
        "55.76,37.60",
        "--posted-at",
        "2025-01-06T10:00",
        "--json",
    )
    assert r.exit_code == 0, r.output
    found = json.loads(r.stdout)
    assert found["status"] == "added" and found["post"]["flags"] == ["no_detector"]
    r = _run(
        "pets",
        "add",
        "--kind",
        "lost",
        str(lost_photo),
        "--text",
        "Пропал кот Рыжик! 8 916 123-45-67",
        "--where",
        "55.75,37.60",
        "--district",
        "Выхино",
        "--posted-at",
        "2025-01-05T12:00",
        "--json",
    )
    assert r.exit_code == 0, r.output
    lost = json.loads(r.stdout)
    assert lost["post"]["kind"] == "lost" and "+79161234567" in lost["post"]["phones"]
    assert lost["matches"] and lost["matches"][0]["target_id"] == found["post"]["id"]
    post_id = lost["post"]["id"]

    r = _run("pets", "matches", post_id, "--json")
    assert r.exit_code == 0, r.output
    page = json.loads(r.stdout)
    assert page["matches"][0]["target_id"] == found["post"]["id"] and page["matches"][0]["distance_km"] > 1
    r = _run("pets", "matches", post_id, "--sort", "distance")
    assert r.exit_code == 0 and "matches of lost post" in r.stdout

    r = _run("pets", "show", post_id)
    assert r.exit_code == 0 and "kind: lost" in r.stdout and "Выхино" in r.stdout
    r = _run("pets", "show", post_id, "--json")
    assert json.loads(r.stdout)["post"]["id"] == post_id

    match_id = page["matches"][0]["match_id"]
    narrow = runner.invoke(cli_app, ["pets", "matches", post_id], env={"COLUMNS": "80"})
    assert narrow.exit_code == 0 and match_id in narrow.stdout  # the id `pets feedback` takes, whole
    confidence = f"confidence {page['matches'][0]['confidence']:.2f}"
    assert confidence in narrow.stdout and "…" not in narrow.stdout  # and nothing else squeezed away
    wide = runner.invoke(cli_app, ["pets", "matches", post_id], env={"COLUMNS": "160"})
    assert wide.exit_code == 0 and "confidence" in wide.stdout and "┃" in wide.stdout and match_id in wide.stdout
    r = _run("pets", "feedback", match_id, "mine")
    assert r.exit_code == 0 and "mine" in r.stdout
    r = _run("pets", "calibrate", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["mine"] == 1

    r = _run("pets", "add", "--kind", "lost", "--text", "Пропал кот, без фото")
    assert r.exit_code == 0 and "no_photo" in r.stdout


def test_bad_input_gives_one_line_and_an_exit_code(tmp_path: Path) -> None:
    notes = tmp_path / "notes.jpg"
    notes.write_text("not an image")
    r = _run("pets", "add", "--kind", "lost", str(notes))
    assert r.exit_code == 2 and "notes.jpg" in r.output and "Traceback" not in r.output
    r = _run("pets", "add", "--kind", "lost", str(tmp_path / "missing.jpg"))
    assert r.exit_code in (2, 4) and "missing.jpg" in r.output
    r = _run("pets", "add", "--kind", "lost", "--where", "north")
    assert r.exit_code == 2 and "--where" in r.output
    r = _run("pets", "add", "--kind", "stolen")
    assert r.exit_code == 2 and "post.kind" in r.output
    r = _run("pets", "show", "nope")
    assert r.exit_code == 4 and "post nope" in r.output
    r = _run("pets", "matches", "nope")
    assert r.exit_code == 4
    r = _run("pets", "feedback", "nope", "mine")
    assert r.exit_code == 4 and "match" in r.output
