from __future__ import annotations

from pathlib import Path

import pytest

from sightings.core.config import get_settings, load_settings, set_config_file
from sightings.core.errors import ConfigError


def test_defaults_and_derived_models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGHTINGS_DATA_DIR", str(tmp_path))
    loaded = load_settings()
    assert loaded.settings.server.port == 8000
    assert loaded.settings.models_path == tmp_path / "models"
    assert loaded.sources["server.port"] == "default"
    assert loaded.sources["data_dir"] == "env SIGHTINGS_DATA_DIR"


def test_precedence_file_env_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "s.yaml"
    cfg.write_text("server:\n  port: 9000\n  host: 0.0.0.0\nmedia:\n  jpeg_quality: 80\n")
    monkeypatch.setenv("SIGHTINGS_SERVER__PORT", "9100")
    monkeypatch.setenv("SIGHTINGS_MODELS_DIR", str(tmp_path / "m"))
    loaded = load_settings(cfg, {"media.jpeg_quality": 70})
    s = loaded.settings
    assert (s.server.port, s.server.host, s.media.jpeg_quality) == (9100, "0.0.0.0", 70)
    assert s.models_path == tmp_path / "m"
    assert loaded.sources["server.port"] == "env SIGHTINGS_SERVER__PORT"
    assert loaded.sources["server.host"] == str(cfg)
    assert loaded.sources["media.jpeg_quality"] == "cli"
    assert loaded.sources["models_dir"] == "env SIGHTINGS_MODELS_DIR"


def test_toml_and_discovery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sightings.toml").write_text('[executor]\nkind = "inline"\n')
    loaded = load_settings()
    assert loaded.config_file == Path("sightings.toml")
    assert loaded.settings.executor.kind == "inline"
    assert loaded.settings.executor.create().__class__.__name__ == "InlineExecutor"


@pytest.mark.parametrize(
    ("text", "suffix", "message"),
    [
        ("server:\n  port: nine\n", ".yaml", r"s\.yaml: server\.port: Input should be a valid integer"),
        ("server:\n  prot: 1\n", ".yaml", r"server\.prot: Extra inputs are not permitted"),
        ("executor:\n  kind: dask\n", ".yaml", r"unknown executor 'dask'; known: inline, local, ray"),
        ("server: [1, 2\n", ".yaml", r"invalid YAML"),
        ("- a\n- b\n", ".yaml", r"mapping of settings"),
        ("[server\n", ".toml", r"invalid TOML"),
        ("x=1", ".ini", r"must end in \.yaml"),
        ("media:\n  jpeg_quality: 101\n", ".yaml", r"media\.jpeg_quality: Input should be less than or equal to 100"),
    ],
)
def test_bad_config_names_the_value(tmp_path: Path, text: str, suffix: str, message: str) -> None:
    cfg = tmp_path / f"s{suffix}"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(cfg)


def test_missing_file_and_bad_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.yaml")
    monkeypatch.setenv("SIGHTINGS_SERVER__PORT", "99999")
    with pytest.raises(ConfigError, match=r"env SIGHTINGS_SERVER__PORT: server\.port"):
        load_settings()
    monkeypatch.delenv("SIGHTINGS_SERVER__PORT")
    monkeypatch.setenv("SIGHTINGS_PETS__BOTS__API_URL", "notaurl")  # said by `config check`, not first by a bot
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value) == (
        "env SIGHTINGS_PETS__BOTS__API_URL: pets.bots.api_url: expected an http(s)://host[:port] URL, got 'notaurl'"
    )


def test_get_settings_uses_chosen_file(tmp_path: Path) -> None:
    cfg = tmp_path / "s.yaml"
    cfg.write_text("log_level: DEBUG\n")
    set_config_file(cfg)
    assert get_settings().log_level == "DEBUG"
    set_config_file(None)
    assert get_settings().log_level == "INFO"


def test_compute_processes_default_is_one_per_core_from_two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    from sightings.core import threads
    from sightings.core.config import ServerSettings

    for cores, expected in ((1, 0), (2, 2), (8, 8)):
        monkeypatch.setattr(threads, "available_cores", lambda cores=cores: cores)
        assert ServerSettings(compute_processes=None).resolved_compute_processes() == expected
    assert ServerSettings(compute_processes=0).resolved_compute_processes() == 0
    assert ServerSettings(compute_processes=3).resolved_compute_processes() == 3
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        ServerSettings(compute_processes=-1)
