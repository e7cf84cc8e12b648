"""Load and faults on 127.0.0.1 (benchmarks/bench_soak.py): a short soak in the default run, the long one slow.

The service must answer no 5xx outside the injected faults, come back by itself after each, and lose no accepted
write (every 2xx post, sighting and enrolment is in the stores; no orphan vector at the end)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.hardening, pytest.mark.e2e]
pytest.importorskip("cv2")
pytest.importorskip("sqlalchemy")
pytest.importorskip("httpx")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


def _check(result: dict[str, Any]) -> None:
    phases = {row["phase"]: row for row in result["phases"]}
    assert phases["normal"]["5xx"] == 0, result["errors"]
    assert phases["normal"]["2xx"] > 0
    verify = result["verify"]
    assert verify["lost"] == 0 and verify["orphans_at_end"] == 0, verify
    assert sum(verify["accepted"].values()) > 0
    assert all(seconds is not None for seconds in result["recovery_s"].values()), result["recovery_s"]


def test_a_request_held_through_a_fault_counts_in_that_fault() -> None:
    """Phases go by a request's whole span: one held through a 14-s outage answers after the fault's window, and
    the short soak's windows overlap, so "normal" time is their union's complement (not a negative span)."""
    from bench_soak import Record, _normal_seconds, _phase_of

    faults = [{"fault": "db-down", "start_s": 10.0, "length_s": 14.0}]
    assert _phase_of(Record(t=27.0, op="read", status=200, latency_s=18.0), faults) == "db-down"  # 9 s -> 27 s
    assert _phase_of(Record(t=9.5, op="read", status=200, latency_s=0.1), faults) == "normal"
    assert _phase_of(Record(t=26.0, op="read", status=200, latency_s=0.5), faults) == "normal"  # after 10+14+1
    overlapping = [{"fault": f, "start_s": s, "length_s": 0.2} for f, s in (("a", 1.5), ("b", 2.9), ("c", 4.4))]
    assert _normal_seconds(overlapping, 7.2) == pytest.approx(7.2 - (6.4 - 1.5))


def test_short_soak_with_faults(tmp_path: Path) -> None:
    from bench_soak import run_soak

    result = run_soak(0.12, clients=3, vector_store="numpy", data=tmp_path / "soak", individuals=4)
    _check(result)


def test_short_soak_on_postgres_with_a_real_restart(tmp_path: Path) -> None:
    """The stores on a throwaway PostgreSQL: a real restart and a real outage instead of the SQLite locks."""
    from bench_soak import run_soak
    from sightings.testing.postgres import PostgresUnavailableError

    try:
        result = run_soak(0.12, clients=3, vector_store="numpy", data=tmp_path / "soak", individuals=4, postgres=True)
    except PostgresUnavailableError as exc:
        pytest.skip(str(exc))
    assert [f["fault"] for f in result["faults"]] == ["db-restart", "db-down", "vectors-down", "restart"]
    _check(result)
    phases = {row["phase"]: row for row in result["phases"]}
    # a request held from the restart through the outage counts for the restart (the first fault it overlaps): on a
    # busy machine the outage may then have no request of its own
    held = [phases[name]["5xx"] for name in ("db-restart", "db-down") if name in phases]
    assert held and all(n == 0 for n in held), result["errors"]  # reads held too


@pytest.mark.slow
def test_long_soak_with_faults(tmp_path: Path) -> None:
    from bench_soak import run_soak

    _check(run_soak(3.0, clients=6, vector_store="lancedb", data=tmp_path / "soak"))
