from __future__ import annotations

import pytest

from sightings.core.errors import BackendUnavailableError, ConfigError
from sightings.core.registry import EXECUTORS, REGISTRIES, Registry


def test_every_backend_kind_has_a_registry_with_a_fake_or_inline() -> None:
    assert set(REGISTRIES) == {
        "detector", "tracker", "embedder", "local_matcher", "ocr",
        "vector_store", "metadata_store", "warehouse", "executor", "job",
    }  # fmt: skip
    for kind, registry in REGISTRIES.items():
        assert "fake" in registry or kind == "executor"
    assert {"inline", "local"} <= set(EXECUTORS.names())


def test_unknown_name_lists_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown executor 'dask'; known: inline, local, ray"):
        EXECUTORS.create("dask")


def test_lazy_resolution_and_missing_dependency_hint() -> None:
    reg: Registry[object] = Registry("thing")
    reg.register("json", "json:JSONDecoder")
    reg.register("missing", "no_such_module_xyz:Thing", extra="vision")
    assert reg.names() == ["json", "missing"]
    assert reg.create("json").__class__.__name__ == "JSONDecoder"
    with pytest.raises(BackendUnavailableError, match=r"sightings\[vision\]"):
        reg.create("missing")
    with pytest.raises(ConfigError, match="registered twice"):
        reg.register("json", "json:JSONEncoder")
    with pytest.raises(ConfigError, match="module:attr"):
        reg.register("bad", "json.JSONEncoder")


def test_bad_options_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="bad options"):
        EXECUTORS.create("inline", workers=3)
    with pytest.raises(ConfigError, match="workers must be >= 1"):
        EXECUTORS.create("local", workers=0)
    from sightings.core.registry import EMBEDDERS

    # a required option left out is said by name (it read as Python's "missing 1 required positional argument")
    with pytest.raises(ConfigError, match=r"^embedder: embedder 'projected' needs the option head$"):
        EMBEDDERS.create("projected")


def _square(x: int) -> int:
    return x * x


@pytest.mark.parametrize("name", ["inline", "local"])
def test_executors_keep_order(name: str) -> None:
    ex = EXECUTORS.create(name, **({"workers": 2} if name == "local" else {}))
    try:
        assert list(ex.map(_square, range(7))) == [0, 1, 4, 9, 16, 25, 36]
    finally:
        ex.close()


class _Sentinel:
    pass


def _made(*, size: int = 3, ratio: float = 0.5, marker: object = _Sentinel(), required: str) -> tuple[int, float]:
    return size, ratio


def test_defaults_are_the_factorys_keyword_defaults_without_addresses() -> None:
    reg: Registry[object] = Registry("thing")
    reg.register("made", f"{__name__}:_made")
    defaults = reg.defaults("made")
    assert defaults["size"] == "3" and defaults["ratio"] == "0.5"
    assert "required" not in defaults
    assert " at 0x" not in defaults["marker"] and "_Sentinel object" in defaults["marker"]


class _Base:
    def __init__(self, *, shared: int = 1, other: str = "x") -> None:
        self.shared, self.other = shared, other


class _Child(_Base):
    def __init__(self, *, own: float = 2.5, **common: object) -> None:
        self.own = own
        super().__init__(**common)  # type: ignore[arg-type]


class _Grandchild(_Child):
    pass  # inherits _Child's __init__: its **common still leads to _Base


def _open_ended(*, a: int = 1, **rest: object) -> None:
    return None


def test_keyword_parameters_follow_kwargs_up_to_the_base() -> None:
    """A backend that adds options to a shared base lists each option once, in the base: the registry still reports
    every default, and whether an option is taken, through the ``**kwargs`` it passes on."""
    import inspect

    from sightings.core.registry import keyword_parameters

    for cls in (_Child, _Grandchild):
        params = keyword_parameters(cls)
        assert set(params) == {"own", "shared", "other"}
        assert params["own"].default == 2.5 and params["shared"].default == 1
    # a function's **kwargs leads nowhere known: it stays, so "takes any option" is still true of it
    open_ended = keyword_parameters(_open_ended)
    assert open_ended["rest"].kind is inspect.Parameter.VAR_KEYWORD
    reg: Registry[object] = Registry("thing")
    reg.register("child", f"{__name__}:_Child")
    assert reg.defaults("child") == {"own": "2.5", "shared": "1", "other": "'x'"}
    # the trackers: the shared options live in the adapter, each tracker's own beside them
    from sightings.core.registry import TRACKERS
    from sightings.vision.pipeline import tracker_accepts_option

    for name, own in (
        ("botsort", "appearance_threshold"),
        ("bytetrack", "minimum_iou_threshold"),
        ("ocsort", "delta_t"),
    ):
        defaults = TRACKERS.defaults(name)
        assert defaults["lost_track_buffer_s"] == "2.0" and defaults["high_conf_det_threshold"] == "0.45"
        assert own in defaults and "common" not in defaults
        assert tracker_accepts_option(name, "min_buffer_steps") and tracker_accepts_option(name, own)
        assert not tracker_accepts_option(name, "no_such_option")
    assert not tracker_accepts_option("bytetrack", "delta_t")
    # an unknown option is named with the ones the backend takes (its base's included), not a Python TypeError
    with pytest.raises(
        ConfigError, match=r"bad options \['no_such_option'\] for tracker 'bytetrack'; it takes: "
    ) as err:
        TRACKERS.create("bytetrack", no_such_option=1)
    assert "lost_track_buffer_s" in str(err.value) and "minimum_iou_threshold" in str(err.value)
    assert "__init__" not in str(err.value)


def test_defaults_record_what_a_none_default_implies() -> None:
    """The SSD's threshold default depends on the tiles; the values behind it still reach settings hashes."""
    from sightings.core.registry import DETECTORS

    defaults = DETECTORS.defaults("ssd-oidv4")
    assert defaults["score_threshold"] == "None"
    implied = defaults["score_threshold (implied)"]
    assert "0.45" in implied and "0.5" in implied and "0.55" in implied


def test_retail_analysis_hash_follows_the_trackers_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """A finished retail video is analysed again after an upgrade that changes the tracker's defaults."""
    from sightings.core.registry import TRACKERS
    from sightings.solutions.retail.config import config_from_mapping

    config = config_from_mapping({"tracker": "fake", "detector": "fake"}, where="t")
    before = config.analysis_hash()
    assert config.analysis_hash() == before  # stable
    monkeypatch.setattr(TRACKERS, "defaults", lambda name: {"appearance_threshold": "0.99"})
    assert config.analysis_hash() != before


def test_the_tracking_version_is_in_the_retail_and_track_job_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tracking code that gives other tracks (a bumped TRACKING_VERSION) makes finished videos run again."""
    import sightings.vision.track
    from sightings.runner.jobs import TrackJob
    from sightings.solutions.retail.config import config_from_mapping

    config = config_from_mapping({"tracker": "fake", "detector": "fake"}, where="t")
    job = TrackJob(detector="fake", tracker="fake")
    before = (config.analysis_hash(), job.config())
    assert before[1]["tracking_version"] == sightings.vision.track.TRACKING_VERSION
    monkeypatch.setattr(sightings.vision.track, "TRACKING_VERSION", sightings.vision.track.TRACKING_VERSION + 1)
    assert config.analysis_hash() != before[0] and job.config() != before[1]


def test_backend_defaults_name_each_kind_and_tolerate_a_missing_backend() -> None:
    from sightings.core.registry import backend_defaults

    reg: Registry[object] = Registry("thing")
    reg.register("made", f"{__name__}:_made")
    reg.register("missing", "no_such_module_xyz:Thing")
    out = backend_defaults(detector=(reg, "made"), tracker=(reg, "missing"))
    assert out["detector_defaults"] is not None and out["detector_defaults"]["size"] == "3"
    assert out["tracker_defaults"] is None


def test_track_job_config_holds_the_backends_defaults() -> None:
    from sightings.runner.jobs import TrackJob

    config = TrackJob(detector="fake", tracker="fake").config()
    assert "detector_defaults" in config and "tracker_defaults" in config
