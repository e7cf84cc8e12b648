"""The wildlife service under concurrent predictions: the compute bound, and what the API server opens it with."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sightings.core.errors import ConfigError
from wildlife_factories import animal, encode, wildlife_settings

pytest.importorskip("cv2")
pytest.importorskip("sqlalchemy")


def _service(tmp_path: Path, **options: Any) -> Any:
    from sightings.solutions.wildlife.service import WildlifeService

    service = WildlifeService(wildlife_settings(tmp_path), use_detector=False, use_clip=False, **options)
    for ident in range(2):
        service.enrol(encode(animal(ident)), species="lion", individual=f"L{ident}")
    return service


def _most_at_once(service: Any, threads: int = 4) -> int:
    """Predict from ``threads`` threads at once; the most that were inside the gate together."""
    inside = most = 0
    lock = threading.Lock()
    run_gate = service.run_gate

    def counting_gate(*args: Any, **kwargs: Any) -> Any:
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        time.sleep(0.05)
        try:
            return run_gate(*args, **kwargs)
        finally:
            with lock:
                inside -= 1

    service.run_gate = counting_gate
    photo = encode(animal(0, noise=6))
    predict = {"target": service.predict, "args": (photo,), "kwargs": {"species": "lion"}}
    workers = [threading.Thread(**predict) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return most


def test_max_parallel_bounds_the_predictions_computing_at_once(tmp_path: Path) -> None:
    bounded = _service(tmp_path / "one", max_parallel=1)
    free = _service(tmp_path / "free")
    try:
        assert _most_at_once(bounded) == 1
        assert _most_at_once(free) > 1
        assert bounded.store.count_predictions() == 4, "every prediction is still stored"
    finally:
        bounded.close()
        free.close()


def test_max_parallel_below_one_is_a_config_error(tmp_path: Path) -> None:
    from sightings.solutions.wildlife.service import WildlifeService

    with pytest.raises(ConfigError, match="max_parallel"):
        WildlifeService(wildlife_settings(tmp_path), max_parallel=0)


@pytest.mark.usefixtures("kernel_threads")
def test_the_api_opens_the_service_with_one_thread_kernels_and_a_core_bound(tmp_path: Path) -> None:
    import cv2
    from fastapi.testclient import TestClient

    from sightings.api.app import create_app
    from sightings.core.threads import available_cores

    app = create_app(wildlife_settings(tmp_path))
    with TestClient(app) as client:
        assert client.get("/v1/species").status_code == 200
        service = app.state.wildlife
        try:
            assert service._max_parallel == available_cores() and service._detector_threads == 1
            assert cv2.getNumThreads() == 1
        finally:
            service.close()
