"""The `retail run` table says how each video's seller was found, and warns when it is only the longest track."""

from __future__ import annotations

import pytest

from sightings.cli.retail import _print_run
from sightings.solutions.retail.folder_run import RunFolderResult


def _video(name: str, method: str) -> dict[str, object]:
    return {
        "video": f"/v/{name}",
        "tracks": 3,
        "sellers": ["track-1"],
        "role_method": method,
        "customers": 2,
        "interactions": 1,
        "successful_interactions": 0,
        "interaction_ratio": 0.5,
        "gaps": 0,
        "alerts": 0,
    }


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    from sightings.cli import common

    monkeypatch.setattr(common.console, "width", 200)  # one line per row, whatever the test terminal is


def test_longest_track_fallback_is_named_and_warned(capsys: pytest.CaptureFixture[str]) -> None:
    result = RunFolderResult(videos=(_video("a.mp4", "zones"), _video("b.mp4", "longest")), skipped=())
    _print_run(result, title="retail run")
    out, err = capsys.readouterr()
    assert "seller by" in out and "zones" in out and "longest" in out
    assert "note: 1 video(s) found no seller from the counter zone or a schedule" in err
    assert "First: b.mp4" in err


def test_no_note_when_every_seller_comes_from_zones_or_a_schedule(capsys: pytest.CaptureFixture[str]) -> None:
    result = RunFolderResult(videos=(_video("a.mp4", "zones"), _video("b.mp4", "schedule")), skipped=())
    _print_run(result, title="retail run")
    assert "note:" not in capsys.readouterr().err


def test_with_a_schedule_the_note_points_at_the_schedule_not_at_passing_one(capsys: pytest.CaptureFixture[str]) -> None:
    result = RunFolderResult(videos=(_video("b.mp4", "longest"),), skipped=())
    _print_run(result, title="retail run", scheduled=True)
    err = capsys.readouterr().err
    assert "no shift of the schedule covers their camera and time" in err and "pass --schedule" not in err
    _print_run(result, title="retail run")
    assert "pass --schedule" in capsys.readouterr().err
