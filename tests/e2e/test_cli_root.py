from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sightings.cli import app

pytestmark = pytest.mark.e2e
runner = CliRunner()


def test_help_lists_the_groups() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for group in ("media", "models", "config", "serve", "eval", "track"):
        assert group in result.output


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("sightings ")


def test_config_show_json_reports_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("server:\n  port: 9000\n")
    monkeypatch.setenv("SIGHTINGS_LOG_LEVEL", "DEBUG")
    result = runner.invoke(app, ["--config", str(cfg), "--set", "media.jpeg_quality=75", "config", "show", "--json"])
    assert result.exit_code == 0, result.output
    values = json.loads(result.output)["values"]
    assert values["server.port"] == {"value": 9000, "source": str(cfg)}
    assert values["log_level"] == {"value": "DEBUG", "source": "env SIGHTINGS_LOG_LEVEL"}
    assert values["media.jpeg_quality"] == {"value": 75, "source": "cli"}
    assert values["server.host"]["source"] == "default"


def test_config_show_table() -> None:
    result = runner.invoke(app, ["config", "show"])
    assert result.exit_code == 0
    assert "server.port" in result.output and "default" in result.output


def test_bad_config_is_one_line_and_exit_3(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("server:\n  port: nine\n")
    result = runner.invoke(app, ["--config", str(cfg), "config", "check"])
    assert result.exit_code == 3
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "server.port" in lines[0]
    assert "Traceback" not in result.output


def test_bad_set_syntax() -> None:
    result = runner.invoke(app, ["--set", "nokey", "config", "check"])
    assert result.exit_code == 2 and "KEY=VALUE" in result.output


def test_console_script_runs_as_a_process(tmp_path: Path) -> None:
    """The installed entry point: one line on stderr and a non-zero exit for a bad config, no traceback."""
    cfg = tmp_path / "c.toml"
    cfg.write_text("[server]\nport = 'x'\n")
    proc = subprocess.run(
        [sys.executable, "-m", "sightings", "--config", str(cfg), "config", "check"], capture_output=True, text=True
    )
    assert proc.returncode == 3
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
