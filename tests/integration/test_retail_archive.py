"""Camera-archive client against the fake archive on 127.0.0.1: list, download, retries, nothing half-written;
an unreachable server; a schedule fetched from a (fake) Google Sheets CSV export."""

from __future__ import annotations

import socket
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from factories import make_video
from sightings.core.errors import BackendError, BackendUnavailableError, ConfigError, NotFoundError
from sightings.solutions.retail.archive import ArchiveClient, download_day, record_file_name
from sightings.solutions.retail.inputs import scan_folder
from sightings.solutions.retail.schedule import read_schedule
from sightings.testing.fake_archive import FakeArchive

pytest.importorskip("httpx", reason="needs the retail extra")

MSK = timezone(timedelta(hours=3))
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=MSK)


@pytest.fixture(scope="module")
def mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path: Path = make_video(tmp_path_factory.mktemp("archive") / "v.mp4", seconds=2, fps=5, gop=5)
    return path.read_bytes()


def _archive(mp4: bytes) -> FakeArchive:
    archive = FakeArchive(token="secret-token")
    archive.add_record("cam1", "r1", T0, T0 + timedelta(seconds=2), mp4)
    archive.add_record("cam1", "r2", T0 + timedelta(hours=1), T0 + timedelta(hours=1, seconds=2), mp4)
    archive.add_record("cam1", "late", T0 + timedelta(days=1), T0 + timedelta(days=1, seconds=2), mp4)
    archive.add_record("cam2", "other", T0, T0 + timedelta(seconds=2), mp4)
    return archive


def test_list_and_download_a_day(mp4: bytes, tmp_path: Path) -> None:
    with _archive(mp4) as archive, ArchiveClient(archive.url, token="secret-token", backoff_s=0) as client:
        records = client.list_records("cam1", date(2026, 3, 1), tz=MSK)
        assert [r.id for r in records] == ["r1", "r2"]
        assert records[0].start == T0 and records[0].url == f"{archive.url}/records/r1.mp4"
        videos = download_day(client, records, store="shop1", camera="cam1", folder=tmp_path / "day")
        assert [v.path.name for v in videos] == [
            "shop1_cam1_20260301-090000+0300.mp4",
            "shop1_cam1_20260301-100000+0300.mp4",
        ]
        assert all(v.path.read_bytes() == mp4 for v in videos)
        n_requests = len(archive.requests)
        download_day(client, records, store="shop1", camera="cam1", folder=tmp_path / "day")  # resumed: kept
        assert len(archive.requests) == n_requests
    scan = scan_folder(tmp_path / "day", store="shop1", day=date(2026, 3, 1))
    assert [v.started_at for v in scan.videos] == [T0, T0 + timedelta(hours=1)]


def test_a_download_cut_midway_is_retried_and_leaves_nothing_half_written(mp4: bytes, tmp_path: Path) -> None:
    with _archive(mp4) as archive, ArchiveClient(archive.url, token="secret-token", backoff_s=0, retries=2) as client:
        (record,) = [r for r in client.list_records("cam1", date(2026, 3, 1), tz=MSK) if r.id == "r1"]
        archive.fail_midway["r1"] = 2
        target = tmp_path / record_file_name("shop1", "cam1", record)
        client.download(record, target)
        assert target.read_bytes() == mp4
        assert archive.requests.count("/records/r1.mp4") == 3
        archive.fail_midway["r1"] = 5
        other = tmp_path / "again.mp4"
        with pytest.raises(BackendError, match="failed after 3 tries") as err:
            client.download(record, other)
        assert "secret-token" not in str(err.value)
        assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # no partial file left behind


def test_unreachable_server_bad_token_and_missing_record(mp4: bytes, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api"
    with (
        ArchiveClient(url, retries=1, backoff_s=0, connect_timeout_s=1) as client,
        pytest.raises(BackendUnavailableError) as err,
    ):
        client.list_records("cam1", date(2026, 3, 1))
    assert str(err.value).startswith(
        f"http://127.0.0.1:{port}/api/cameras/cam1/records: cannot reach the camera archive"
    )
    with _archive(mp4) as archive:
        with (
            ArchiveClient(archive.url, token="wrong", backoff_s=0) as client,
            pytest.raises(ConfigError, match="token"),
        ):
            client.list_records("cam1", date(2026, 3, 1))
        with ArchiveClient(archive.url, token="secret-token", backoff_s=0, retries=1) as client:
            archive.fail_status["/cameras/cam1/records"] = 503
            with pytest.raises(BackendError, match="after 2 tries"):
                client.list_records("cam1", date(2026, 3, 1))
            (record,) = client._records({"records": [{"id": "x", "start": T0.isoformat(), "end": T0.isoformat(),
                                                       "url": "/records/nope.mp4"}]}, archive.url)  # fmt: skip
            with pytest.raises(NotFoundError):
                client.download(record, tmp_path / "nope.mp4")
    with pytest.raises(ConfigError, match="not an http"):
        ArchiveClient("ftp://archive")


def test_schedule_from_a_google_sheets_style_csv_export() -> None:
    csv_text = "seller_id,start,end\nanna,2026-03-01T09:00:00+03:00,2026-03-01T18:00:00+03:00\n"
    with FakeArchive() as server:
        server.add_page("/spreadsheets/d/abc/export", csv_text.encode(), "text/csv")
        shifts = read_schedule(f"{server.url}/spreadsheets/d/abc/export?format=csv&gid=0")
        assert [(s.seller_id, s.start) for s in shifts] == [("anna", T0)]
        with pytest.raises(NotFoundError):
            read_schedule(f"{server.url}/missing.csv")
