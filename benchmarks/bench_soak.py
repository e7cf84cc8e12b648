"""Soak: mixed API traffic against a real `sightings serve` on 127.0.0.1, with faults injected mid-run.

    python benchmarks/bench_soak.py --minutes 3 [--clients 6] [--vector-store lancedb] [--postgres] [--json out.json]

Traffic (per client, weighted): pets posts (write), camera sightings (write), wildlife enrolments (write),
wildlife predictions, post reads, lost-pet matches, photos, health. Faults, at fixed fractions of the run:

    db-lock-short   the catalog SQLite file held by another process (EXCLUSIVE) for 4 s  (< busy_timeout)
    db-lock-long    the same for 14 s (> busy_timeout 10 s: the database is "down" for a while)
    vectors-down    the pets found-gallery folder moved away for 8 s (Qdrant/LanceDB "down")
    restart         the server killed (SIGKILL) and started again (crash between writes → repair on start)

``--postgres``: the catalog, the pets tables and the wildlife sinks live on a throwaway PostgreSQL server
(:class:`sightings.testing.postgres.ThrowawayPostgres`; Debian's ``postgresql`` and the ``postgres`` extra), and
the two database faults are real ones instead of a locked file:

    db-restart      the PostgreSQL server shut down (``pg_ctl stop -m fast``) and started again at once
    db-down         the PostgreSQL server down for 14 s (every open connection dropped), then started again

A write is *accepted* when it got a 2xx answer. At the end every accepted post/sighting/enrolment must be in the
database and every gallery vector must have its row (no orphans): "lost" counts the accepted writes missing.
Prints a table per phase: requests, rps, p50/p95 latency, 2xx, 4xx, 5xx, connection errors.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

KEY = "soak-write-key"
FAULTS = (("db-lock-short", 0.2, 4.0), ("db-lock-long", 0.4, 14.0), ("vectors-down", 0.6, 8.0), ("restart", 0.8, 0.0))
POSTGRES_FAULTS = (("db-restart", 0.2, 0.0), ("db-down", 0.4, 14.0), ("vectors-down", 0.6, 8.0), ("restart", 0.8, 0.0))
RECOVERY_GRACE_S = 30.0
"""After the planned duration the load goes on (at most this long) until every fault has seen an accepted write
after it: a short soak on a busy machine can end before the last restart is over, which says nothing of recovery."""


def _photo(seed: int, variant: int = 0) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    cells = np.kron(rng.integers(0, 256, (12, 12, 3)), np.ones((8, 8, 1))).astype(np.int16)
    cells[..., seed % 3] = 255
    noise = np.random.default_rng(10_000 + seed * 7 + variant).integers(-6, 7, cells.shape)
    img = np.clip(np.roll(cells, 3 * variant, axis=(0, 1)) + noise, 0, 255).astype(np.uint8)
    canvas = np.full((150, 200, 3), 120, np.uint8)
    canvas[27:123, 52:148] = img
    buf = io.BytesIO()
    Image.fromarray(canvas).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """`sightings serve` in a subprocess on a data dir."""

    data: Path
    port: int
    vector_store: str
    database_url: str | None = None  # PostgreSQL for the catalog, pets tables and wildlife sinks (None: SQLite)
    database: Any = None  # the ThrowawayPostgres behind database_url, for its faults
    proc: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIGHTINGS_") or k == "SIGHTINGS_SHARED_DATA"}
        env.update(
            {
                "SIGHTINGS_DATA_DIR": str(self.data),
                "SIGHTINGS_PETS__API_KEYS": json.dumps([KEY]),
                "SIGHTINGS_WILDLIFE__API_KEYS": json.dumps([KEY]),
                "SIGHTINGS_PETS__VECTOR_STORE": self.vector_store,
                "SIGHTINGS_WILDLIFE__VECTOR_STORE": self.vector_store,
                "SIGHTINGS_PETS__DETECTOR": "none",
                "SIGHTINGS_PETS__EMBED_WITHOUT_ANIMAL": "true",
                "SIGHTINGS_PETS__OCR": "false",
                "SIGHTINGS_PETS__UNDERSTAND_TEXT": "false",
                "SIGHTINGS_SECURITY__RATE_LIMIT_PER_S": "0",
                "SIGHTINGS_LOG_LEVEL": "WARNING",
            }
        )
        if self.database_url:
            env["SIGHTINGS_PETS__CATALOG_URL"] = self.database_url
            env["SIGHTINGS_WILDLIFE__CATALOG_URL"] = self.database_url
        return env

    def start(self, timeout_s: float = 60.0) -> float:
        t0 = time.perf_counter()
        cmd = [sys.executable, "-m", "sightings", "serve", "--port", str(self.port)]
        log = (self.data / "server.log").open("ab")
        self.proc = subprocess.Popen(cmd, env=self.env(), stdout=log, stderr=log)
        import httpx

        while time.perf_counter() - t0 < timeout_s:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return time.perf_counter() - t0
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: see {self.data / 'server.log'}")
            time.sleep(0.1)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Record:
    t: float
    op: str
    status: int  # 0: connection error
    latency_s: float


@dataclass
class Ledger:
    records: list[Record] = field(default_factory=list)
    accepted: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    lock: threading.Lock = field(default_factory=threading.Lock)
    posts: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the first 5xx answers, for the report

    def snapshot(self) -> list[Record]:
        with self.lock:
            return list(self.records)

    def add(self, record: Record, kind: str | None = None, ident: str | None = None) -> None:
        with self.lock:
            self.records.append(record)
            if kind is not None and ident is not None:
                self.accepted[kind].add(ident)
                if kind == "post":
                    self.posts.append(ident)


def _seed(server: Server, individuals: int = 6) -> None:
    """Wildlife gallery to predict against (enrolled before the server starts)."""
    env = server.env()
    code = (
        "import sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from bench_soak import _photo\n"
        "from sightings.solutions.wildlife.service import WildlifeService\n"
        "s = WildlifeService(use_detector=False, use_clip=False)\n"
        "s.add_species('lion')\n"
        f"for i in range({individuals}):\n"
        "    for v in range(2):\n"
        "        s.enrol(_photo(i, v), species='lion', individual=f'L{i}', where=f'{i}-{v}.jpg')\n"
        "s.calibrate('lion')\n"
    )
    subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)], env=env, check=True)


def _client_loop(server: Server, ledger: Ledger, stop: threading.Event, seed: int, t_start: float) -> None:
    import httpx

    rng = random.Random(seed)
    ops = ["post", "sighting", "enrol", "predict", "get_post", "matches", "health"]
    weights = [3, 2, 1, 3, 4, 3, 1]
    headers = {"X-API-Key": KEY}
    with httpx.Client(base_url=server.url, timeout=30.0) as http:
        n = 0
        while not stop.is_set():
            n += 1
            op = rng.choices(ops, weights)[0]
            animal = rng.randrange(40)  # predictions and reads: a known set
            new_animal = 1000 + seed * 1_000_000 + n  # writes: a new animal each time (a new vector)
            kind = ident = None
            t0 = time.perf_counter()
            try:
                if op == "post":
                    data = {
                        "kind": rng.choice(["lost", "found"]),
                        "text": "soak",
                        "lat": "55.75",
                        "lon": "37.6",
                        "posted_at": "2025-01-05T10:00:00",
                        "source_id": f"soak-{seed}-{n}",
                    }
                    r = http.post(
                        "/v1/pets/posts",
                        files=[("photos", ("p.jpg", _photo(new_animal, rng.randrange(3))))],
                        data=data,
                        headers=headers,
                    )
                    kind, ident = ("post", r.json()["id"]) if r.status_code == 200 else (None, None)
                elif op == "sighting":
                    seen = f"2025-01-06T{n // 60 % 24:02d}:{n % 60:02d}:00"  # a new time: not a repeat sighting
                    form = {"camera_id": f"cam{seed}", "lat": "55.75", "lon": "37.6", "seen_at": seen}
                    crop = {"crop": ("c.jpg", _photo(new_animal, 1))}
                    r = http.post("/v1/pets/sightings", files=crop, data=form, headers=headers)
                    kind, ident = ("sighting", r.json()["id"]) if r.status_code == 200 else (None, None)
                elif op == "enrol":
                    form = {"species": "lion", "individual_id": f"S{animal}"}
                    r = http.post(
                        "/v1/individuals",
                        files=[("files", ("e.jpg", _photo(100 + animal, n)))],
                        data=form,
                        headers=headers,
                    )
                    if r.status_code == 200:
                        kind, ident = "enrol", f"S{animal}"
                elif op == "predict":
                    r = http.post(
                        "/v1/predict-single", files={"file": ("q.jpg", _photo(animal % 6, 2))}, data={"species": "lion"}
                    )
                elif op == "get_post" and ledger.posts:
                    r = http.get(f"/v1/pets/posts/{rng.choice(ledger.posts)}")
                elif op == "matches" and ledger.posts:
                    r = http.get(f"/v1/pets/lost/{rng.choice(ledger.posts)}/matches")
                    if r.status_code == 404:  # a found post: not an error of the service
                        r = httpx.Response(200)
                else:
                    op = "health"
                    r = http.get("/health")
                status = r.status_code
                if status >= 500 and len(ledger.errors) < 20:
                    ledger.errors.append(f"{time.perf_counter() - t_start:.1f}s {op} {status} {r.text[:200]}")
            except httpx.HTTPError:
                status = 0
                time.sleep(0.2)
            ledger.add(Record(time.perf_counter() - t_start, op, status, time.perf_counter() - t0), kind, ident)


@contextlib.contextmanager
def _db_locked(path: Path) -> Any:
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        db.execute("ROLLBACK")
        db.close()


def _vectors_down(data: Path, seconds: float) -> None:
    folder = data / "pets" / "found"
    target = folder / ("gallery" if (folder / "gallery").exists() else "gallery.npz")
    away = folder / (target.name + ".away")
    target.rename(away)
    target.write_bytes(b"not a gallery")  # the store is "down": reads and writes fail while it is
    try:
        time.sleep(seconds)
    finally:
        target.unlink()
        away.rename(target)


def _inject(name: str, seconds: float, server: Server, log: list[dict[str, Any]], t_start: float) -> None:
    t0 = time.perf_counter() - t_start
    if name.startswith("db-lock"):
        with _db_locked(server.data / "catalog.sqlite"):
            time.sleep(seconds)
    elif name in ("db-restart", "db-down"):
        t_down = time.perf_counter()
        server.database.stop("fast")
        time.sleep(seconds)
        server.database.start()
        seconds = time.perf_counter() - t_down
    elif name == "vectors-down":
        _vectors_down(server.data, seconds)
    elif name == "restart":
        server.kill()
        seconds = server.start()
    log.append({"fault": name, "start_s": round(t0, 1), "length_s": round(seconds, 1)})


def _verify(server: Server, ledger: Ledger) -> dict[str, Any]:
    """Every accepted write in the stores; galleries in step with the rows (after the restart's repair)."""
    env = server.env()
    code = (
        "import json, sys\n"
        "from sightings.solutions.pets.service import PetsService\n"
        "from sightings.solutions.pets.retention import repair_pets\n"
        "from sightings.solutions.wildlife.service import WildlifeService\n"
        "p = PetsService(detector=None)\n"
        "ids = json.load(open(sys.argv[1]))\n"
        "posts = p.store.posts(ids['post'])\n"
        "sightings = p.store.sightings(ids['sighting'])\n"
        "w = WildlifeService(use_detector=False, use_clip=False)\n"
        "known = {i.id for i in w.catalog.list_identities(limit=None)}\n"
        "rep = [r.as_dict() for r in repair_pets(p)]\n"
        "print(json.dumps({'posts_found': len(posts), 'sightings_found': len(sightings),\n"
        "  'enrolled_found': len(set(ids['enrol']) & known), 'repair': rep}))\n"
    )
    ids_file = server.data / "accepted.json"
    ids_file.write_text(
        json.dumps(
            {k: sorted(v) for k, v in ledger.accepted.items()}
            | {k: [] for k in ("post", "sighting", "enrol") if k not in ledger.accepted}
        )
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(ids_file)], env=env, capture_output=True, text=True, check=True
    )
    found = json.loads(out.stdout.strip().splitlines()[-1])
    accepted = {k: len(v) for k, v in ledger.accepted.items()}
    lost = (
        accepted.get("post", 0)
        - found["posts_found"]
        + accepted.get("sighting", 0)
        - found["sightings_found"]
        + accepted.get("enrol", 0)
        - found["enrolled_found"]
    )
    orphans = sum(len(r["orphans_removed"]) for r in found["repair"])
    return {"accepted": accepted, "found": found, "lost": lost, "orphans_at_end": orphans}


def recovery(ledger: Ledger, faults: list[dict[str, Any]]) -> dict[str, float | None]:
    """Seconds from the end of each fault to the first accepted write after it (None: none came)."""
    records = ledger.snapshot()
    writes = sorted(r.t for r in records if r.op in ("post", "sighting", "enrol") and 200 <= r.status < 300)
    out: dict[str, float | None] = {}
    for f in faults:
        end = f["start_s"] + f["length_s"]
        after = next((t for t in writes if t >= end), None)
        out[f["fault"]] = None if after is None else round(after - end, 2)
    return out


def ops_table(ledger: Ledger) -> dict[str, dict[str, int]]:
    """Answers per operation: status code → count (0: connection error)."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in ledger.records:
        out[r.op][str(r.status)] += 1
    return {op: dict(codes) for op, codes in sorted(out.items())}


def _fault_window(f: dict[str, Any]) -> tuple[float, float]:
    return f["start_s"], f["start_s"] + max(f["length_s"], 1.0) + 1.0


def _phase_of(record: Record, faults: list[dict[str, Any]]) -> str:
    """The fault a request was in flight during (it overlaps the fault's window plus a second), else "normal".

    ``record.t`` is when the answer came: a request held through a 14-s outage ends after it, so a request counts
    by its whole span, not by its end."""
    start = record.t - record.latency_s
    for f in faults:
        lo, hi = _fault_window(f)
        if start <= hi and record.t >= lo:
            return f["fault"]
    return "normal"


def _normal_seconds(faults: list[dict[str, Any]], duration_s: float) -> float:
    """Seconds of the run outside every fault's window (overlapping windows counted once)."""
    covered, end = 0.0, 0.0
    for start, stop in sorted(_fault_window(f) for f in faults):
        lo, hi = max(start, end, 0.0), min(stop, duration_s)
        if hi > lo:
            covered += hi - lo
            end = hi
    return max(0.0, duration_s - covered)


def summarise(ledger: Ledger, faults: list[dict[str, Any]], duration_s: float) -> list[dict[str, Any]]:
    by_phase: dict[str, list[Record]] = defaultdict(list)
    for r in ledger.records:
        by_phase[_phase_of(r, faults)].append(r)
        by_phase["all"].append(r)
    rows = []
    for phase in ["normal", *(f["fault"] for f in faults), "all"]:
        recs = by_phase.get(phase, [])
        if not recs:
            continue
        if phase == "all":
            span = duration_s
        elif phase == "normal":
            span = _normal_seconds(faults, duration_s)
        else:
            span = max(r.t for r in recs) - min(r.t for r in recs) or 1.0
        lat = np.array([r.latency_s for r in recs if r.status]) * 1000 if any(r.status for r in recs) else np.zeros(1)
        rows.append(
            {
                "phase": phase,
                "requests": len(recs),
                "rps": round(len(recs) / span, 1) if span > 0 else None,
                "p50_ms": round(float(np.percentile(lat, 50)), 1),
                "p95_ms": round(float(np.percentile(lat, 95)), 1),
                "2xx": sum(1 for r in recs if 200 <= r.status < 300),
                "4xx": sum(1 for r in recs if 400 <= r.status < 500),
                "5xx": sum(1 for r in recs if r.status >= 500),
                "conn_err": sum(1 for r in recs if r.status == 0),
            }
        )
    return rows


def run_soak(
    minutes: float,
    *,
    clients: int = 6,
    vector_store: str = "lancedb",
    data: Path | None = None,
    individuals: int = 6,
    postgres: bool = False,
) -> dict[str, Any]:
    """Run the soak; returns the phases table, the faults and the verification."""
    owned = data is None
    root = Path(tempfile.mkdtemp(prefix="sightings-soak-")) if data is None else data
    server = Server(root, _free_port(), vector_store)
    if postgres:
        from sightings.testing.postgres import ThrowawayPostgres

        server.database = ThrowawayPostgres()
        server.database.start()
        server.database_url = server.database.create_database("soak")
    try:
        _seed(server, individuals)
        startup = server.start()
        duration = minutes * 60.0
        ledger = Ledger()
        stop = threading.Event()
        t_start = time.perf_counter()
        threads = [
            threading.Thread(target=_client_loop, args=(server, ledger, stop, i, t_start), daemon=True)
            for i in range(clients)
        ]
        for th in threads:
            th.start()
        faults: list[dict[str, Any]] = []
        scale = min(1.0, duration / 180.0)  # a short run gets shorter faults
        for name, at, seconds in POSTGRES_FAULTS if postgres else FAULTS:
            while time.perf_counter() - t_start < at * duration:
                time.sleep(0.05)
            _inject(name, seconds * scale if seconds else 0.0, server, faults, t_start)
        grace_end = time.perf_counter() + RECOVERY_GRACE_S
        while time.perf_counter() - t_start < duration or (
            time.perf_counter() < grace_end and None in recovery(ledger, faults).values()
        ):
            time.sleep(0.1)
        stop.set()
        for th in threads:
            th.join(60)
        elapsed = time.perf_counter() - t_start
        server.stop()
        verify = _verify(server, ledger)
        return {
            "minutes": minutes,
            "clients": clients,
            "vector_store": vector_store,
            "database": "postgresql" if postgres else "sqlite",
            "startup_s": round(startup, 1),
            "phases": summarise(ledger, faults, elapsed),
            "faults": faults,
            "recovery_s": recovery(ledger, faults),
            "verify": verify,
            "errors": ledger.errors,
            "ops": ops_table(ledger),
        }
    finally:
        server.stop()
        if server.database is not None:
            server.database.remove()
        if owned:
            shutil.rmtree(root, ignore_errors=True)


def _print(result: dict[str, Any]) -> None:
    cols = ["phase", "requests", "rps", "p50_ms", "p95_ms", "2xx", "4xx", "5xx", "conn_err"]
    print(
        f"soak {result['minutes']} min, {result['clients']} clients, vector store {result['vector_store']}, "
        f"database {result['database']}"
    )
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for row in result["phases"]:
        print("| " + " | ".join(str(row[c]) for c in cols) + " |")
    print("faults:", json.dumps(result["faults"]))
    print("recovery (s to the first accepted write after each fault):", json.dumps(result["recovery_s"]))
    print("verify:", json.dumps(result["verify"]))
    print("answers per operation:", json.dumps(result["ops"]))
    for line in result["errors"]:
        print("5xx:", line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--vector-store", default="lancedb", choices=["lancedb", "numpy"])
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="stores on a throwaway PostgreSQL server, with a real restart and outage as the database faults",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    args = parser.parse_args()
    result = run_soak(args.minutes, clients=args.clients, vector_store=args.vector_store, postgres=args.postgres)
    _print(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
