"""Batch runner parts without workers: the list reader, run keys, error classes, the status summary."""

from __future__ import annotations

import json
import urllib.error
from pathlib import Path

import pytest

from sightings.core.errors import (
    BackendError,
    BackendUnavailableError,
    ConfigError,
    InputError,
    MediaError,
    NotFoundError,
    UnsupportedMediaError,
)
from sightings.runner.attempt import classify_error
from sightings.runner.batch import BatchOptions
from sightings.runner.batch_list import read_batch_list
from sightings.runner.jobs import read_job_config, resolve_job
from sightings.runner.manifest import config_hash
from sightings.runner.state import StateLog, read_state, summarise


def test_csv_list_with_metadata_relative_paths_and_urls(tmp_path: Path) -> None:
    (tmp_path / "videos.csv").write_text(
        "\ufeffpath,platform_id,video_id,title,shop\n"
        "clips/a.mp4,yt,A-1_x,First,12\n"
        "https://example.org/b.mp4,tiktok,7312,,\n"
        "\n"
        '/abs/c.mp4,vk,c@1,"Quoted, with comma",3\n'
    )
    items = read_batch_list(tmp_path / "videos.csv").items
    assert [i.source for i in items] == [str(tmp_path / "clips/a.mp4"), "https://example.org/b.mp4", "/abs/c.mp4"]
    assert [(i.platform_id, i.video_id) for i in items] == [("yt", "A-1_x"), ("tiktok", "7312"), ("vk", "c@1")]
    assert items[0].metadata == {"title": "First", "shop": "12"}
    assert items[2].metadata["title"] == "Quoted, with comma"


def test_json_list(tmp_path: Path) -> None:
    data = {"videos": [{"url": "http://h/x.mp4", "platform_id": "yt", "video_id": "x", "metadata": {"k": 1}}]}
    (tmp_path / "v.json").write_text(json.dumps(data))
    (item,) = read_batch_list(tmp_path / "v.json").items
    assert item.source == "http://h/x.mp4" and item.metadata == {"k": "1"}


@pytest.mark.parametrize(
    ("name", "content", "error", "message"),
    [
        ("v.csv", "", InputError, "v.csv: empty list"),
        ("v.csv", "path,platform_id,video_id\n", InputError, "holds no videos"),
        ("v.csv", "file,platform_id,video_id\nx,yt,1\n", InputError, "v.csv:1: the header needs one of"),
        ("v.csv", "path,platform_id,video_id\n,yt,1\n", InputError, "v.csv:2: no video"),
        ("v.csv", "path,url,platform_id,video_id\na,http://x/a,yt,1\n", InputError, "give one of path, url"),
        ("v.csv", "path,platform_id,video_id\na,yt,\n", InputError, "v.csv:2: empty video_id"),
        ("v.csv", "path,platform_id,video_id\na,y/t,1\n", InputError, "platform_id 'y/t' must be a plain name"),
        ("v.csv", "path,path,platform_id,video_id\n", InputError, "repeated column"),
        ("v.json", "[1]", InputError, "v.json: item 1: each video must be an object"),
        ("v.json", "{", InputError, "v.json:1: bad JSON"),
        ("v.json", '{"a": 1}', InputError, "expected a list of videos"),
        ("v.txt", "x", InputError, "must be a .csv or .json file"),
    ],
)
def test_bad_lists(tmp_path: Path, name: str, content: str, error: type[Exception], message: str) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(".", r"\.")):
        read_batch_list(tmp_path / name)


def test_missing_and_binary_lists(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="list file not found"):
        read_batch_list(tmp_path / "none.csv")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(InputError, match="not UTF-8"):
        read_batch_list(tmp_path / "bin.csv")


def test_config_hash_is_canonical_and_covers_version() -> None:
    a = config_hash("track", "1", {"fps": 1.0, "classes": ["person"]})
    assert a == config_hash("track", "1", {"classes": ["person"], "fps": 1.0})
    assert a != config_hash("track", "2", {"fps": 1.0, "classes": ["person"]})
    assert a != config_hash("track", "1", {"fps": 2.0, "classes": ["person"]})
    spec = resolve_job("fake", {"sleep_s": 0})
    assert spec.config["sleep_s"] == 0.0 and spec.config_hash == resolve_job("fake", {}).config_hash
    with pytest.raises(ConfigError, match="unknown job 'pets'; known: content, fake, probe, retail, track"):
        resolve_job("pets")
    with pytest.raises(ConfigError, match="unknown tracker 'nope'"):
        resolve_job("track", {"tracker": "nope"})
    with pytest.raises(ConfigError, match="at most one of fps or stride"):
        resolve_job("track", {"fps": 1, "stride": 2})


def test_job_config_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("fps: 1\nclasses: [person]\n")
    assert read_job_config(tmp_path / "a.yaml") == {"fps": 1, "classes": ["person"]}
    (tmp_path / "b.toml").write_text("stride = 5\n")
    assert read_job_config(tmp_path / "b.toml") == {"stride": 5}
    (tmp_path / "e.json").write_text("")
    assert read_job_config(tmp_path / "e.json") == {}
    (tmp_path / "c.yaml").write_text("- 1\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        read_job_config(tmp_path / "c.yaml")
    (tmp_path / "d.yaml").write_text("a: [1\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        read_job_config(tmp_path / "d.yaml")
    with pytest.raises(NotFoundError):
        read_job_config(tmp_path / "none.yaml")


class _TransientBackendError(BackendError):
    transient = True


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (MediaError("truncated"), ("corrupt-media", "permanent")),
        (UnsupportedMediaError("codec"), ("unsupported-media", "permanent")),
        (NotFoundError("gone"), ("not-found", "permanent")),
        (InputError("bad"), ("bad-input", "permanent")),
        (ConfigError("bad"), ("config", "fatal")),
        (BackendUnavailableError("no model"), ("config", "fatal")),
        (MemoryError(), ("oom", "transient")),
        (TimeoutError(), ("timeout", "transient")),
        (ConnectionResetError(), ("network", "transient")),
        (urllib.error.URLError("down"), ("network", "transient")),
        (OSError(101, "Network is unreachable"), ("network", "transient")),
        (_TransientBackendError("busy"), ("backend", "transient")),
        (BackendError("broke"), ("backend", "other")),
        (OSError(28, "No space left on device"), ("error", "other")),
        (ValueError("bug"), ("error", "other")),
    ],
)
def test_error_classes(exc: BaseException, expected: tuple[str, str]) -> None:
    assert classify_error(exc) == expected


def test_batch_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="retries"):
        BatchOptions(retries=-1)
    with pytest.raises(ConfigError, match="timeout"):
        BatchOptions(timeout_s=0)


def _line(video: str, status: str, seconds: float = 1.0, **extra: object) -> dict[str, object]:
    return {"video": video, "job": "j", "config_hash": "h", "status": status, "seconds": seconds, **extra}


def test_summary_counts_each_video_once_by_its_latest_line(tmp_path: Path) -> None:
    log = StateLog(tmp_path)
    for row in [
        _line("a", "retrying", error={"kind": "oom"}),
        _line("a", "done", 2.0, steps={"decode": True, "detect": True}),
        _line("b", "done", 4.0, steps={"decode": True, "detect": False}),
        _line("c", "skipped", error={"kind": "corrupt-media"}),
        _line("d", "retrying"),
        _line("e", "failed"),
        {**_line("f", "done"), "config_hash": "other"},
    ]:
        log.append(row)
    log.close()
    with (tmp_path / "state.jsonl").open("a") as fh:
        fh.write('{"video": "torn')
    lines, torn = read_state(tmp_path)
    s = summarise(lines, job="j", config_hash="h", total=6, torn=torn)
    assert s.counts == {"done": 2, "empty": 0, "skipped": 1, "failed": 1, "timeout": 0, "pending": 2}
    assert (s.mean_s, s.p95_s) == (3.0, 4.0)
    assert s.step_success == {"decode": 1.0, "detect": 0.5}
    assert s.attempts == 6 and s.oom_attempts == 1
    assert len(s.warnings) == 3  # > 10 % failed, out of memory, a torn line
    assert "6 videos: 2 done, 0 empty, 1 skipped, 1 failed, 2 pending" in s.one_line()
    log = StateLog(tmp_path)  # a torn last line is ended before the next one is appended
    log.append(_line("d", "done"))
    log.close()
    lines, torn = read_state(tmp_path)
    assert torn == 1 and lines[-1]["video"] == "d"


def test_a_file_url_to_a_missing_file_is_not_found_not_network_trouble(tmp_path: Path) -> None:
    from sightings.core.protocols import BatchItem
    from sightings.runner.jobs import local_source

    missing = BatchItem(f"file://{tmp_path / 'nope.mp4'}", "yt", "f2")
    with pytest.raises(NotFoundError, match="no such file") as err, local_source(missing):
        pass
    assert classify_error(err.value)[0] == "not-found"  # skipped, never retried as a network error
    present = tmp_path / "v.mp4"
    present.write_bytes(b"data")
    with local_source(BatchItem(f"file://{present}", "yt", "f3")) as path:
        assert path.read_bytes() == b"data"
