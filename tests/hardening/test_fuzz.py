"""Broken inputs through every public API route (TestClient) and the main CLI commands (CliRunner), with
hypothesis: no 5xx, no crash, no hang, and nothing written when a write is refused.

Examples per test: ``$SIGHTINGS_FUZZ_EXAMPLES`` (default 40; the figures in docs/reliability.md used 400). With
``$SIGHTINGS_FUZZ_REPORT=FILE`` the outcomes (route → status counts) are written there as JSON.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

pytest.importorskip("cv2")
pytest.importorskip("sqlalchemy")
hypothesis = pytest.importorskip("hypothesis")

from fuzz_corpus import CORPUS, broken_files  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

pytestmark = pytest.mark.hardening

EXAMPLES = int(os.environ.get("SIGHTINGS_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=10_000,  # ms per example: a hang fails the test
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
    database=None,
)
OUTCOMES: dict[str, Counter[int]] = defaultdict(Counter)
SKIP_PREFIXES = ("/docs", "/redoc", "/openapi.json")
PLAUSIBLE = {
    "species": ["lion", "cat", "dog", "", "../../etc", "lion\x00"],
    "kind": ["lost", "found", "adoption", "other", "LOST"],
    "individual_id": ["L0", "../x", "a" * 300, ""],
    "camera_id": ["cam1", "../../cam", "c\x00"],
    "lat": ["55.75", "91", "nan", "1e999"],
    "lon": ["37.6", "-181", "inf"],
    "seen_at": ["2025-01-05T10:00:00", "yesterday", "9999-99-99"],
    "posted_at": ["2025-01-05T10:00:00", "0000-00-00"],
    "where": ["55.7,37.6", "north", "1,2,3"],
    "k": ["3", "0", "-1", "999"],
}


class Apps:
    """One app serving pets and wildlife on a temporary data dir; an admin key; what a write may change."""

    def __init__(self, tmp: Path) -> None:
        from fastapi.testclient import TestClient

        from pets_factories import pets_service
        from sightings.api.app import create_app
        from sightings.api.auth import key_store
        from sightings.solutions.wildlife.service import WildlifeService
        from wildlife_factories import animal, encode

        overrides = {
            "wildlife.vector_store": "numpy",
            "security.rate_limit_per_s": 0,
            "server.max_upload_bytes": 2_000_000,
        }
        self.pets = pets_service(tmp, **overrides)
        self.settings = self.pets.settings
        self.wildlife = WildlifeService(self.settings, use_detector=False, use_clip=False)
        self.wildlife.add_species("lion")
        for i in range(2):
            self.wildlife.enrol(encode(animal(i, noise=3)), species="lion", individual=f"L{i}", where=f"{i}.png")
        self.app = create_app(self.settings)
        self.app.state.pets = self.pets
        self.app.state.wildlife = self.wildlife
        self.key = key_store(self.settings).create("fuzz", "admin")[0]
        self.client = TestClient(self.app, raise_server_exceptions=False)

    def state(self) -> tuple[Any, ...]:
        """Everything a refused write must leave as it was (the audit log aside)."""
        crops = sorted(p.name for p in self.pets.crops_dir.iterdir())
        galleries = tuple(self.pets.matcher(g).gallery.count() for g in ("lost", "found"))
        lion = self.wildlife.species("lion")
        media = len(list(lion.media.iterdir()))
        wildlife = (self.wildlife.catalog.count_sightings(), lion.matcher.gallery.count(), media)
        return (json.dumps(self.pets.store.counts(), sort_keys=True, default=str), crops, galleries, wildlife)

    def close(self) -> None:
        self.client.close()
        self.pets.close()
        self.wildlife.close()


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Apps]:
    built = Apps(tmp_path_factory.mktemp("fuzz"))
    yield built
    built.close()
    report = os.environ.get("SIGHTINGS_FUZZ_REPORT")
    if report:
        Path(report).write_text(json.dumps({k: dict(v) for k, v in sorted(OUTCOMES.items())}, indent=1))


def _flatten(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        inner = getattr(route, "original_router", None)  # FastAPI >= 0.16x keeps included routers as one route
        if inner is not None:
            yield from _flatten(inner.routes)
        else:
            yield route


def _routes(app: Any) -> list[Any]:
    from fastapi.routing import APIRoute

    return [r for r in _flatten(app.routes) if isinstance(r, APIRoute) and not r.path.startswith(SKIP_PREFIXES)]


def _body_fields(route: Any) -> tuple[list[str], list[str], bool]:
    """(file fields, form fields, takes a JSON body)."""
    from fastapi import params

    files, forms, json_body = [], [], False
    for field in route.dependant.body_params:
        info = field.field_info
        if isinstance(info, params.File):
            files.append(field.alias)
        elif isinstance(info, params.Form):
            # a Form model (wildlife IndividualForm) flattens to its fields
            annotation = getattr(field, "type_", None)
            model_fields = getattr(annotation, "model_fields", None)
            forms += list(model_fields) if model_fields else [field.alias]
        else:
            json_body = True
    return files, forms, json_body


@st.composite
def requests(draw: Any, routes: list[Any]) -> dict[str, Any]:
    route = draw(st.sampled_from(routes))
    method = sorted(route.methods - {"HEAD", "OPTIONS"})[0]
    path = route.path
    for name in route.param_convertors:
        value = draw(st.one_of(st.sampled_from(["L0", "lion", "0", "..", "%2e%2e", "a/b"]), st.text(max_size=30)))
        path = path.replace("{" + name + "}", quote(value, safe="") or "x")
    files, forms, json_body = _body_fields(route)
    request: dict[str, Any] = {"method": method, "url": path, "route": route.path}
    if method == "GET":
        request["params"] = {"species": draw(st.sampled_from(PLAUSIBLE["species"])), "format": "dwc"}
    data = {name: draw(st.sampled_from(PLAUSIBLE.get(name, ["x", "", "0"]))) for name in forms}
    if files:
        blobs = [draw(broken_files()) for _ in range(draw(st.integers(1, 3)))]
        request["files"] = [(files[0], (name, blob, "image/jpeg")) for name, blob in blobs]
        request["data"] = data
    elif data:
        request["data"] = data
    elif json_body:
        name, blob = draw(broken_files())
        request["content"] = blob
        request["headers"] = {"content-type": "application/json"}
    return request


def test_every_route_survives_broken_input(apps: Apps) -> None:
    routes = _routes(apps.app)
    assert len(routes) >= 15, [r.path for r in routes]

    @FUZZ
    @given(request=requests(routes))
    def run(request: dict[str, Any]) -> None:
        request = dict(request)
        route = request.pop("route")
        headers = {**request.pop("headers", {}), "X-API-Key": apps.key}
        before = apps.state()
        t0 = time.perf_counter()
        response = apps.client.request(headers=headers, **request)
        assert time.perf_counter() - t0 < 10, f"{route} took too long"
        OUTCOMES[f"{request['method']} {route}"][response.status_code] += 1
        assert response.status_code < 500, f"{request['method']} {route} → {response.status_code}: {response.text}"
        if response.status_code >= 400 and request["method"] != "GET":
            assert apps.state() == before, f"{route}: a refused write changed stored state"

    run()


def test_the_whole_corpus_through_the_upload_routes(apps: Apps) -> None:
    """Every corpus file once through each upload route (no hypothesis: the plain, repeatable list)."""
    routes = {
        "/v1/pets/posts": ("photos", {"kind": "lost"}),
        "/v1/pets/sightings": ("crop", {"camera_id": "c1", "lat": "55.7", "lon": "37.6", "seen_at": "2025-01-05"}),
        "/v1/predict-single": ("file", {"species": "lion"}),
        "/v1/predict-batch": ("files", {"species": "lion"}),
        "/v1/individuals": ("files", {"species": "lion", "individual_id": "L0"}),
    }
    headers = {"X-API-Key": apps.key}
    for path, (field, form) in routes.items():
        for name, blob in CORPUS:
            before = apps.state()
            r = apps.client.post(path, files=[(field, (name, blob, "image/jpeg"))], data=form, headers=headers)
            OUTCOMES[f"POST {path} (corpus)"][r.status_code] += 1
            assert r.status_code < 500, f"{path} {name} → {r.status_code}: {r.text}"
            if path == "/v1/predict-batch":
                assert r.status_code in (200, 413, 415, 422), (name, r.status_code, r.text)
                if r.status_code == 200:
                    assert all(not json.loads(line)["ok"] for line in r.text.splitlines()), name
            elif path != "/v1/predict-single":
                assert r.status_code >= 400 and apps.state() == before, (path, name, r.status_code)


# ---------------------------------------------------------------------- CLI
def _cli_cases(path: Path, out: Path) -> list[list[str]]:
    p = str(path)
    return [
        ["media", "probe", p],
        ["media", "sample", p, "--fps", "1", "--out", str(out / "frames")],
        ["pets", "add", p, "--kind", "lost", "--json"],
        ["wildlife", "predict", p, "--species", "lion"],
        ["wildlife", "enrol", p, "--species", "lion", "--no-calibrate"],
        ["batch", "run", "--list", p, "--job", "probe", "--out", str(out / "runs")],
        ["config", "check", "--config", p],
        ["popularity", "predict", str(path.parent), "--model", str(path.parent), "--snapshots", p],
        ["retail", "accuracy", "s1/cam1/20260301T063000Z", "--gt", p, "--warehouse", str(out / "warehouse")],
    ]


def test_cli_commands_survive_broken_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from sightings.cli import app

    monkeypatch.setenv("SIGHTINGS_PETS__DETECTOR", "none")
    monkeypatch.setenv("SIGHTINGS_PETS__OCR", "false")
    monkeypatch.setenv("SIGHTINGS_PETS__UNDERSTAND_TEXT", "false")
    monkeypatch.setenv("SIGHTINGS_WILDLIFE__VECTOR_STORE", "numpy")
    from sightings.solutions.wildlife.service import WildlifeService

    gallery = WildlifeService(use_detector=False, use_clip=False)  # so `wildlife predict` reaches the decoder
    gallery.add_species("lion")
    gallery.close()
    runner = CliRunner()
    suffixes = {".jpg", ".png", ".mp4", ".zip", ".csv", ".json", ".yaml", ".toml", ".bin"}

    @settings(FUZZ, max_examples=max(10, EXAMPLES // 2))
    @given(item=broken_files(), case=st.integers(0, len(_cli_cases(tmp_path, tmp_path)) - 1))
    def run(item: tuple[str, bytes], case: int) -> None:
        name, blob = item
        folder = tmp_path / f"case-{time.perf_counter_ns()}"
        folder.mkdir()
        target = folder / (name if Path(name).suffix in suffixes else f"{name}.bin")
        target.write_bytes(blob)
        args = _cli_cases(target, folder)[case]
        t0 = time.perf_counter()
        result = runner.invoke(app, args)
        assert time.perf_counter() - t0 < 30, args
        OUTCOMES[f"cli {' '.join(args[:2])}"][result.exit_code] += 1
        crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
        assert not crashed, f"{args}: {type(result.exception).__name__}: {result.exception}"
        assert "Traceback" not in result.output, result.output
        assert result.exit_code in (0, 1, 2, 3, 4, 5, 6), (args, result.exit_code, result.output)
        if result.exit_code:  # our one-line error (or per-file error lines), or click's usage error
            assert "error" in result.output.lower() or "Usage:" in result.output, (args, result.output)

    run()
