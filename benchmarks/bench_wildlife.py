"""Wildlife photo-ID benchmark: the gate on a mixed set, /v1/predict-single latency under load, batch throughput.

Usage::

    python benchmarks/bench_wildlife.py [--data .data/shared] [--duration 60] [--clients 20] [--workdir DIR]
        [--skip-gate] [--no-rerank] [--client aiohttp|httpx] [--plot latency.png] [--variants default,before]

1. **Gallery**: every lions *train* crop enrolled under species ``lion`` (default LanceDB gallery, RootSIFT
   re-rank), then calibrated on itself (leave-one-out).
2. **Gate** on a mixed set: *should pass* = lions *val* crops (other individuals than the gallery's: they must
   pass the gate, then be "new individual?"); *should reject* = non-animal images from shared/data (OpenCV
   document pages, UKBench near-duplicate objects) + generated unusable photos (lion crops blurred σ=4, darkened
   ×0.12, over-exposed, blank grey/black/white, 32-px thumbnails). Precision/recall of "rejected", per reason.
   The SSD-OIDv4 animal check runs when the model is installed in the models dir (``sightings models install``);
   with ``mobilenetv2-imagenet`` installed too, photos that resemble the gallery skip it (the resemblance
   shortcut). The same set runs twice, side by side: with the shortcut (the default) and with the detector on every
   photo; the table counts the photos that took the shortcut.
   ``--skip-gate``: only the load and batch parts (reuse a gallery with ``--workdir``).
3. **Latency**: ``sightings serve`` in a subprocess (uvicorn; predictions in its worker processes,
   ``server.compute_processes``) on 127.0.0.1, warmed up by one prediction; ``--clients`` clients post
   a 640-px JPEG (a lion crop scaled up) to ``/v1/predict-single`` in a closed loop for ``--duration`` s, from a
   load generator in its **own process** (aiohttp by default; ``--client httpx`` for httpx's async client).
   p50/p95/p99, errors (any non-200 or client error), requests/s, and the CPU time per request of the server and
   of the load generator (their sum is the machine time a request costs), with the 1-minute load average before
   and after (other jobs on the machine show there), and the least mean latency any server could reach with that
   cost per request on this machine's cores (Little's law: clients × cost ÷ cores). ``--no-rerank`` serves the
   global-only fast path (``wildlife.rerank: false``); the gallery is calibrated for the score served when its
   calibration does not fit.
   All the load comes from one address, so the per-client rate limit is raised for the server (it still runs).
   ``--variants default,in-process,no-shortcut,before`` loads those servers one after the other with the same photo
   and prints them side by side (``before`` = predictions in the server process and the detector on every photo).
   ``--clients 1,5,10,15,20`` runs one closed loop per count against the same server (capacity: the most clients
   at which p95 stays within 300 ms) and prints a summary table; ``--plot`` draws p50/p95 and requests/s per count.
4. **Batch**: one ``/v1/predict-batch`` request with 60 lion crops (NDJSON), images/s.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from sightings.core.threads import available_cores

REPO_ROOT = Path(__file__).resolve().parent.parent


def _jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def mixed_set(data: Path) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    """(should pass, should reject) as (name, encoded bytes)."""
    import cv2

    from sightings.media.images import load_image

    val = sorted((data / "lions" / "val").glob("*/*.png"))
    keep = [(p.name, p.read_bytes()) for p in val]
    reject: list[tuple[str, bytes]] = []
    for path in sorted((data / "ocr_opencv").glob("*")):
        if path.suffix.lower() in {".png", ".jpg"}:
            reject.append((f"ocr/{path.name}", path.read_bytes()))
    for path in sorted((data / "neardup" / "images").glob("*")):
        reject.append((f"ukbench/{path.name}", path.read_bytes()))
    rng = np.random.default_rng(0)
    for path in [val[i] for i in rng.permutation(len(val))[:10]]:
        img = load_image(path)
        reject.append((f"blurred/{path.name}", _jpeg(cv2.GaussianBlur(img, (0, 0), 4))))
        reject.append((f"dark/{path.name}", _jpeg((img * 0.12).astype(np.uint8))))
        reject.append((f"bright/{path.name}", _jpeg(np.clip(img.astype(int) + 160, 0, 255).astype(np.uint8))))
        reject.append((f"tiny/{path.name}", _jpeg(cv2.resize(img, (32, 32)))))
    for value in (0, 128, 255):
        reject.append((f"blank/{value}", _jpeg(np.full((480, 640, 3), value, np.uint8))))
    return keep, reject


def _took_shortcut(prediction: Any) -> bool:
    """Whether the gate passed 'no animal' by the resemblance shortcut (the detector was not run)."""
    return any(c["code"] == "no_animal" and "resembles" in (c["skipped"] or "") for c in prediction.gate)


def gate_table(service: Any, keep: list[tuple[str, bytes]], reject: list[tuple[str, bytes]]) -> dict[str, Any]:
    reasons: dict[str, int] = {}
    wrongly_rejected: dict[str, int] = {}
    tp = fp = 0
    shortcut = {"keep": 0, "reject": 0}
    t0 = time.perf_counter()
    for name, data in keep:
        p = service.predict(data, species="lion", filename=name, origin="bench", store=False)
        shortcut["keep"] += _took_shortcut(p)
        if p.status == "rejected":
            fp += 1
            wrongly_rejected[p.reason or "?"] = wrongly_rejected.get(p.reason or "?", 0) + 1
    for name, data in reject:
        p = service.predict(data, species="lion", filename=name, origin="bench", store=False)
        shortcut["reject"] += _took_shortcut(p)
        if p.status == "rejected":
            tp += 1
            reasons[p.reason or "?"] = reasons.get(p.reason or "?", 0) + 1
        else:
            print(f"  passed the gate but should not: {name} ({p.status})")
    seconds = time.perf_counter() - t0
    return {
        "should_pass": len(keep),
        "should_reject": len(reject),
        "precision": tp / max(tp + fp, 1),
        "recall": tp / max(len(reject), 1),
        "reasons": reasons,
        "wrongly_rejected": wrongly_rejected,
        "ms_per_image": 1000 * seconds / (len(keep) + len(reject)),
        "shortcut": shortcut,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _closed_loop(post: Any, clients: int, duration: float) -> dict[str, Any]:
    """``clients`` loops, each posting again as soon as its answer is read, until ``duration`` s have passed.
    ``post()`` returns (HTTP status, body text) or raises OSError/a client error (counted as errors)."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    first_errors: list[str] = []
    errors = 0
    stop = time.perf_counter() + duration

    async def client() -> None:
        nonlocal errors
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            try:
                code, text = await post()
                ok = code == 200
                if ok:
                    status = json.loads(text)["status"]
                    statuses[status] = statuses.get(status, 0) + 1
                if not ok and len(first_errors) < 3:
                    first_errors.append(f"HTTP {code}: {text[:200]}")
            except Exception as err:  # any client-side failure is an error of the run
                ok = False
                if len(first_errors) < 3:
                    first_errors.append(repr(err)[:200])
            if ok:
                latencies.append(time.perf_counter() - t0)
            else:
                errors += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    wall = time.perf_counter() - t0
    ms = np.array(latencies) * 1000
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": errors,
        "statuses": statuses,
        "first_errors": first_errors,
        "rps": len(latencies) / wall,
        "p50": float(np.percentile(ms, 50)) if len(ms) else None,
        "p95": float(np.percentile(ms, 95)) if len(ms) else None,
        "p99": float(np.percentile(ms, 99)) if len(ms) else None,
    }


async def _load_httpx(url: str, photo: bytes, clients: int, duration: float) -> dict[str, Any]:
    import httpx

    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=clients)) as http:

        async def post() -> tuple[int, str]:
            r = await http.post(f"{url}/v1/predict-single", files={"file": ("q.jpg", photo)}, data={"species": "lion"})
            return r.status_code, r.text

        return await _closed_loop(post, clients, duration)


async def _load_aiohttp(url: str, photo: bytes, clients: int, duration: float) -> dict[str, Any]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:

        async def post() -> tuple[int, str]:
            form = aiohttp.FormData()
            form.add_field("file", photo, filename="q.jpg", content_type="image/jpeg")
            form.add_field("species", "lion")
            async with http.post(f"{url}/v1/predict-single", data=form) as r:
                return r.status, await r.text()

        return await _closed_loop(post, clients, duration)


def load_process(url: str, photo: bytes, clients: int, duration: float, kind: str) -> dict[str, Any]:
    """The closed loop in this (child) process; adds the CPU seconds the load generator itself used."""
    cpu0 = time.process_time()
    run = _load_aiohttp if kind == "aiohttp" else _load_httpx
    result = asyncio.run(run(url, photo, clients, duration))
    return {**result, "client_cpu_s": time.process_time() - cpu0}


def _stat_fields(pid: int | str) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process and its threads, and of its live child processes (the prediction
    workers of ``server.compute_processes``, recursively); Linux /proc, None elsewhere."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (child := _stat_fields(entry.name)) is not None:
            parents[int(entry.name)] = (int(child[1]), child)  # (ppid, fields)
    total, tree = 0.0, {pid}
    grown = True
    while grown:  # the descendants of pid
        grown = False
        for child, (ppid, _) in parents.items():
            if ppid in tree and child not in tree:
                tree.add(child)
                grown = True
    for member in tree:
        f = fields if member == pid else parents[member][1]
        total += int(f[11]) + int(f[12])
    return total / os.sysconf("SC_CLK_TCK")


def serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    with log.open("wb") as fh:  # the server's log (tracebacks of any 5xx) beside the gallery
        proc = subprocess.Popen(
            [sys.executable, "-m", "sightings", "serve", "--port", str(port)], env=env, stdout=fh, stderr=fh
        )
    import httpx

    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="evaluation data (default: the usual lookup)")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument(
        "--clients", type=_counts, default=[20], help="concurrent clients; a list (5,10,20) runs one loop each"
    )
    parser.add_argument("--plot", type=Path, default=None, help="PNG of latency and throughput per client count")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the gallery here (default: a temp dir)")
    parser.add_argument("--skip-gate", action="store_true", help="only the load and batch parts (gallery in --workdir)")
    parser.add_argument(
        "--client",
        choices=("aiohttp", "httpx"),
        default="aiohttp" if importlib.util.find_spec("aiohttp") else "httpx",
        help="load generator, in its own process (default aiohttp when installed: cheaper than httpx's client)",
    )
    parser.add_argument(
        "--no-rerank", action="store_true", help="serve the global-only fast path (wildlife.rerank: false)"
    )
    parser.add_argument(
        "--variants",
        type=_variants,
        default=["default"],
        help=f"servers to load one after the other ({', '.join(VARIANTS)}); e.g. default,before",
    )
    args = parser.parse_args()

    from sightings.evaluate.datasets import shared_data_dir

    data = args.data or shared_data_dir()
    if data is None or not (data / "lions").is_dir():
        sys.exit("needs the evaluation data (lions, ocr_opencv, neardup): make stage-data")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-wildlife-"))
    models = os.environ.get("SIGHTINGS_MODELS_DIR") or str(Path.home() / ".local/share/sightings/models")
    # one address sends all the load: the per-client rate limit (default 30/s) is raised so it does not answer 429
    # (the limiter still runs on every request)
    env = {
        **os.environ,
        "SIGHTINGS_DATA_DIR": str(work),
        "SIGHTINGS_MODELS_DIR": models,
        "SIGHTINGS_WILDLIFE__RERANK": "false" if args.no_rerank else "true",
        "SIGHTINGS_SECURITY__RATE_LIMIT_PER_S": "10000",
        "SIGHTINGS_SECURITY__RATE_LIMIT_BURST": "10000",
    }
    os.environ.update({"SIGHTINGS_DATA_DIR": str(work), "SIGHTINGS_MODELS_DIR": models})

    from sightings.solutions.wildlife.service import WildlifeService

    service = WildlifeService()
    t0 = time.perf_counter()
    train = sorted((data / "lions" / "train").glob("*/*.png"))
    if not service.store.list_species():
        service.add_species("lion", scientific_name="Panthera leo", vernacular_name="lion")
        for path in train:
            service.enrol(path, species="lion", individual=path.parent.name)
    enrol_s = time.perf_counter() - t0
    if args.skip_gate:
        service.close()
    else:
        gate_part(service, data, enrol_s=enrol_s, n_train=len(train))
    calibrate_for_server(rerank=not args.no_rerank)
    load_part(args, data, env, work)


def calibrate_for_server(*, rerank: bool) -> None:
    """Calibrate the gallery for the score the server will use, unless its calibration already fits it (and
    re-extract its keypoints first when a kept ``--workdir`` gallery was made with other re-rank settings)."""
    from sightings.core.config import get_settings
    from sightings.solutions.wildlife.service import WildlifeService

    settings = get_settings()
    settings = settings.model_copy(update={"wildlife": settings.wildlife.model_copy(update={"rerank": rerank})})
    service = WildlifeService(settings)
    try:
        index = service.species("lion")
        local = index.matcher.local_store
        service.preload()
        shortcut = service._resemblance
        if local is not None and local.stale:  # a kept gallery from other re-rank settings: the served ones
            print(f"re-extracting the gallery's keypoints ({local.made_by} → {local.extractor})")
            service.reindex("lion")
        elif index.matcher.calibrator is None or (
            shortcut is not None
            and (index.calibration is None or index.calibration.resemblance_model != shortcut.signature)
        ):
            service.calibrate("lion")
    finally:
        service.close()


def gate_part(service: Any, data: Path, *, enrol_s: float, n_train: int) -> None:
    t0 = time.perf_counter()
    cal = service.calibrate("lion")
    cal_s = time.perf_counter() - t0
    service._optional_models()
    detector = "SSD-OIDv4 (cat/dog/cattle ≥ 0.2)" if service._detectors is not None else "not installed (skipped)"
    shortcut = "not installed" if cal.resemblance_threshold is None else f"threshold {cal.resemblance_threshold:.3f}"
    print(
        f"gallery: {n_train} lion crops in {enrol_s:.1f} s; calibration {cal_s:.1f} s "
        f"(OOD threshold {cal.ood_threshold:.3f}, open-set threshold {cal.open_set_threshold}); detector: {detector}; "
        f"resemblance shortcut: {shortcut}"
    )

    from sightings.solutions.wildlife.service import WildlifeService

    keep, reject = mixed_set(data)
    settings = service.settings
    without = WildlifeService(
        settings.model_copy(update={"wildlife": settings.wildlife.model_copy(update={"resemblance": False})})
    )
    gates = [gate_table(service, keep, reject), gate_table(without, keep, reject)]  # side by side, same photos
    without.close()
    print("\n| gate on the mixed set | with the resemblance shortcut (default) | detector on every photo |")
    print("|---|---:|---:|")
    rows = [
        ("should pass (lions val crops) / should reject", lambda g: f"{g['should_pass']} / {g['should_reject']}"),
        ("rejection precision", lambda g: f"{g['precision']:.3f}"),
        ("rejection recall", lambda g: f"{g['recall']:.3f}"),
        (
            "detector skipped (resembles the gallery): should pass / should reject",
            lambda g: f"{g['shortcut']['keep']} / {g['shortcut']['reject']}",
        ),
        ("ms per image (gate + identify, in process)", lambda g: f"{g['ms_per_image']:.0f}"),
        ("rejected, by reason", lambda g: str(g["reasons"])),
        ("wrongly rejected lions", lambda g: str(g["wrongly_rejected"])),
    ]
    for label, cell in rows:
        print(f"| {label} | {cell(gates[0])} | {cell(gates[1])} |")
    service.close()


def _variants(text: str) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [v for v in names if v not in VARIANTS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"variants are {', '.join(VARIANTS)}; got {text!r}")
    return names


def _counts(text: str) -> list[int]:
    counts = [int(v) for v in text.split(",") if v.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"client counts must be >= 1, got {text!r}")
    return counts


def timed_load(server_pid: int, url: str, photo: bytes, args: Any, clients: int) -> dict[str, Any]:
    """The closed loop in a child process, with the CPU time per request of the server and of the load generator
    (machine time per request = their sum) and the machine's 1-minute load average before and after."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(time.sleep, 0).result()  # the child is started before the clock runs
        load_before = os.getloadavg()[0]
        cpu0 = process_cpu_s(server_pid)
        load = pool.submit(load_process, url, photo, clients, args.duration, args.client).result()
        cpu1 = process_cpu_s(server_pid)
    n = max(load["requests"] + load["errors"], 1)
    load["server_cpu_ms"] = None if cpu0 is None or cpu1 is None else 1000 * (cpu1 - cpu0) / n
    load["client_cpu_ms"] = 1000 * load.pop("client_cpu_s") / n
    load["loadavg"] = f"{load_before:.2f} → {os.getloadavg()[0]:.2f}"
    return load


VARIANTS: dict[str, dict[str, str]] = {
    "default": {},
    "in-process": {"SIGHTINGS_SERVER__COMPUTE_PROCESSES": "0"},
    "no-shortcut": {"SIGHTINGS_WILDLIFE__RESEMBLANCE": "false"},
    "before": {"SIGHTINGS_SERVER__COMPUTE_PROCESSES": "0", "SIGHTINGS_WILDLIFE__RESEMBLANCE": "false"},
}
"""Server settings the load part can run side by side (``--variants``): the default; predictions computed in the
server process instead of worker processes; the SSD animal check on every photo instead of the resemblance
shortcut; and both, the server as it was before either existed."""


def load_part(args: Any, data: Path, env: dict[str, str], work: Path) -> None:
    mode = "global only" if args.no_rerank else "two-stage"
    summary: list[tuple[str, dict[str, Any]]] = []
    for variant in args.variants:
        proc, url = serve({**env, **VARIANTS[variant]}, work / f"server-{variant}.log")
        try:
            photo = _warm_up(url, data)
            runs = []
            for clients in args.clients:
                load = timed_load(proc.pid, url, photo, args, clients)
                runs.append(load)
                print_load(load, f"{mode}, {variant}", args)
                summary.append((variant, load))
            if len(runs) > 1:
                print_capacity(runs, f"{mode}, {variant}", args)
            if args.plot is not None and variant == args.variants[0]:
                plot_load(runs, mode, args.plot)
            if variant == args.variants[0]:
                _batch(url, data)
        finally:
            proc.terminate()
            proc.wait(30)
    if len(args.variants) > 1:
        print(
            f"\n| server ({mode}, {args.duration:.0f} s, same photo, one after the other) | clients | requests/s "
            "| p50 / p95 / p99 ms | errors | CPU ms / request (server + load generator) | least mean latency |"
        )
        print("|---|---:|---:|---|---:|---:|---:|")
        for variant, load in summary:
            bound = least_mean_latency_ms(load["clients"], load["server_cpu_ms"], load["client_cpu_ms"])
            print(
                f"| {variant} | {load['clients']} | {load['rps']:.1f} | {_ms(load['p50'])} / {_ms(load['p95'])} / "
                f"{_ms(load['p99'])} | {load['errors']} | {_ms(load['server_cpu_ms'])} + {load['client_cpu_ms']:.1f} "
                f"| {_ms(bound)} ms |"
            )
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


def _warm_up(url: str, data: Path) -> bytes:
    """A 640-px photo that passes the gate (nearest-neighbour upscaling keeps it sharp), so the whole path is timed;
    finding it is the server's warm-up (its prediction workers and models load before the clock runs)."""
    import cv2
    import httpx

    from sightings.media.images import load_image

    for path in sorted((data / "lions" / "val").glob("*/*.png")):
        crop = load_image(path)
        scale = 640 / max(crop.shape[:2])
        photo = _jpeg(cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST))
        answer = httpx.post(
            f"{url}/v1/predict-single", files={"file": ("w.jpg", photo)}, data={"species": "lion"}, timeout=120
        ).json()
        if answer["status"] != "rejected":
            print(f"\nload photo: {path.name} scaled to 640 px ({len(photo)} bytes), answer {answer['status']}")
            return photo
    raise RuntimeError("no lions val photo passes the gate")


def _batch(url: str, data: Path) -> None:
    import httpx

    batch = [("files", (p.name, p.read_bytes())) for p in sorted((data / "lions" / "val").glob("*/*.png"))[:60]]
    t0 = time.perf_counter()
    r = httpx.post(f"{url}/v1/predict-batch", files=batch, data={"species": "lion"}, timeout=600)
    wall = time.perf_counter() - t0
    lines = [x for x in r.text.splitlines() if x.strip()]
    print(f"\n| /v1/predict-batch | {len(lines)} lion crops in {wall:.2f} s = {len(lines) / wall:.1f} images/s |")


def print_load(load: dict[str, Any], mode: str, args: Any) -> None:
    print(
        f"\n| /v1/predict-single ({mode}), 640-px JPEG, {load['clients']} clients ({args.client}, own process), "
        f"{args.duration:.0f} s | value |"
    )
    print("|---|---:|")
    keys = ("requests", "errors", "first_errors", "statuses", "rps", "p50", "p95", "p99")
    for key in (*keys, "server_cpu_ms", "client_cpu_ms", "loadavg"):
        value = load[key]
        print(
            f"| {key}{' (ms)' if key.startswith('p') else ''} | {value:.1f} |"
            if isinstance(value, float)
            else f"| {key} | {value} |"
        )
    bound = least_mean_latency_ms(load["clients"], load["server_cpu_ms"], load["client_cpu_ms"])
    if bound is not None:
        print(f"| least possible mean latency on {available_cores()} cores (Little's law) | {bound:.0f} ms |")


def least_mean_latency_ms(
    clients: int, server_cpu_ms: float | None, client_cpu_ms: float, cores: int = 0
) -> float | None:
    """The mean latency no server can beat in a closed loop of ``clients`` with no think time: each request costs
    ``server_cpu_ms + client_cpu_ms`` of the machine's ``cores`` (default: this process's), so at most
    ``cores / cost`` requests a second complete, and the mean latency is ``clients / throughput``."""
    if server_cpu_ms is None:
        return None
    cost_ms = server_cpu_ms + client_cpu_ms
    return clients * cost_ms / (cores or available_cores())


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def print_capacity(runs: list[dict[str, Any]], mode: str, args: Any, target_ms: float = 300.0) -> None:
    """One row per client count, and the most clients served within the p95 target without errors."""
    print(f"\n| {mode}: clients | requests/s | p50 ms | p95 ms | p99 ms | errors | server CPU ms / request |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        cpu = "—" if r["server_cpu_ms"] is None else f"{r['server_cpu_ms']:.1f}"
        print(
            f"| {r['clients']} | {r['rps']:.1f} | {_ms(r['p50'])} | {_ms(r['p95'])} | {_ms(r['p99'])} "
            f"| {r['errors']} | {cpu} |"
        )
    within = [r["clients"] for r in runs if r["p95"] is not None and r["p95"] <= target_ms and not r["errors"]]
    most = max(within) if within else None
    print(
        f"\nmost clients with p95 ≤ {target_ms:.0f} ms and no errors ({args.duration:.0f} s each): "
        + ("none of those tried" if most is None else str(most))
    )


def plot_load(runs: list[dict[str, Any]], mode: str, path: Path, target_ms: float = 300.0) -> None:
    """p50/p95 latency and requests/s against the number of clients, with the p95 target as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clients = [r["clients"] for r in runs]
    fig, (lat, thr) = plt.subplots(1, 2, figsize=(10, 4))
    for key, style in (("p50", "o-"), ("p95", "s-")):
        lat.plot(clients, [r[key] for r in runs], style, label=key)
    lat.axhline(target_ms, color="red", linestyle="--", linewidth=1, label=f"target p95 {target_ms:.0f} ms")
    lat.set(xlabel="concurrent clients", ylabel="latency, ms", title=f"/v1/predict-single ({mode})")
    lat.legend()
    thr.plot(clients, [r["rps"] for r in runs], "o-")
    thr.set(xlabel="concurrent clients", ylabel="requests/s", title="throughput", ylim=(0, None))
    for ax in (lat, thr):
        ax.set_xticks(clients)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
