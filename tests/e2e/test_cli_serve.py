"""`sightings serve`: starts its prediction workers with the server and stops them with it (real processes)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from processes import alive, children

pytestmark = pytest.mark.e2e


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_serve_starts_and_stops_its_prediction_workers(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "SIGHTINGS_DATA_DIR": str(tmp_path / "data")}  # the test env says 0: the flag wins
    cmd = [sys.executable, "-m", "sightings", "serve", "--port", str(port), "--compute-processes", "1"]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        assert "1 prediction worker processes" in proc.stderr.readline()
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while time.monotonic() < deadline and not workers:
            try:
                ok = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                ok = False
            # the worker is started on server start (a spawned interpreter beside multiprocessing's resource tracker)
            workers = [c for c in children(proc.pid) if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]
            if not (ok and workers):
                workers = []
                time.sleep(0.2)
        assert workers, "no prediction worker started with the server"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        time.sleep(0.5)
        assert not [w for w in workers if alive(w)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
