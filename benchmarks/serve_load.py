"""Load test of ``zoo serve`` on loopback: N requests from C concurrent clients, latency percentiles.

Starts the real ``zoo serve`` process on 127.0.0.1 (a free port), uploads one cephalogram over and over
from ``--clients`` concurrent HTTP clients until ``--requests`` have been answered, and reports p50/p95/p99
latency, throughput and every status code seen (a 5xx fails the run). Traffic never leaves this machine,
and the run stops by itself after ``--requests`` or ``--max-seconds``.

Without MODEL it builds an untrained checkpoint from ``--config`` (default HRNet-W18 at 512x512 on the
ISBI 19 landmarks): latency depends on the architecture and input size, not on the weights. The image is
the first ISBI 2015 test image when the data is beside the checkout, else a synthetic 1935x2400 one.

    python benchmarks/serve_load.py [MODEL] [--requests 200] [--clients 8] [--image PATH]
        [--max-concurrency 2] [--threads N] [--config CONFIG]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def isbi_image() -> Path | None:
    env = os.environ.get("ZOO_ISBI_ROOT")
    root = Path(env) if env else REPO / ".." / "shared" / "data" / "isbi2015"
    found = sorted((root / "RawImage").rglob("*.jpg")) if (root / "RawImage").is_dir() else []
    return found[0] if found else None


def synthetic_image(path: Path) -> Path:
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    img = np.full((2400, 1935), 40, np.uint8)
    cv2.ellipse(img, (960, 1100), (700, 850), 10, 0, 360, 180, -1)
    img = np.clip(img + rng.normal(0, 10, img.shape), 0, 255).astype(np.uint8)
    cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return path


def build_checkpoint(config: Path, out: Path) -> Path:
    """An untrained model from ``config`` saved with its metadata, as ``zoo train`` would."""
    import torch

    from zoo.engine.config import load_config
    from zoo.modelfile.meta import build_zoo_meta
    from zoo.registry import MODELS, load_plugins

    load_plugins()
    cfg = load_config(config)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    torch.save({"state_dict": model.state_dict(), "zoo_meta": build_zoo_meta(cfg, model)}, out)
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(model: Path, port: int, args, log_path: Path) -> subprocess.Popen:
    import httpx

    cmd = [sys.executable, "-m", "zoo.cli", "serve", str(model), "--host", "127.0.0.1", "--port", str(port),
           "--max-concurrency", str(args.max_concurrency), "--log-level", "warning"]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if args.queue_wait_s:
        cmd += ["--queue-wait-s", str(args.queue_wait_s)]
    log = log_path.open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"zoo serve exited with {proc.returncode}:\n{log_path.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    proc.kill()
    raise SystemExit("zoo serve did not start within 300 s")


async def run_load(url: str, data: bytes, name: str, requests: int, clients: int, max_seconds: float):
    """``requests`` uploads from ``clients`` concurrent connections; [(status, seconds)] in completion order."""
    import httpx

    results: list[tuple[int, float]] = []
    issued = 0
    stop_at = time.monotonic() + max_seconds

    async def client_loop():
        nonlocal issued
        async with httpx.AsyncClient(timeout=300) as client:
            while issued < requests and time.monotonic() < stop_at:
                issued += 1
                started = time.perf_counter()
                try:
                    response = await client.post(f"{url}/v1/landmarks", files={"file": (name, data)})
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0  # transport failure: counted, never hidden
                results.append((status, time.perf_counter() - started))

    await asyncio.gather(*(client_loop() for _ in range(clients)))
    return results


def percentile(values, q):
    import numpy as np

    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def machine(load_at_start) -> dict:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"platform": platform.platform(), "cpu": cpu, "cpu_count": os.cpu_count(),
            "python": platform.python_version(), "torch": torch.__version__,
            "load_average_at_start": load_at_start,
            "load_average_at_end": os.getloadavg() if hasattr(os, "getloadavg") else None}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", type=Path, help="checkpoint/ONNX/TorchScript; default: built from --config")
    parser.add_argument("--config", type=Path,
                        default=REPO / "configs" / "heatmap" / "hm_hrnet-w18_b8-2k_isbi19-512.py")
    parser.add_argument("--image", type=Path, help="image to upload (default: ISBI test image or synthetic)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=4)
    parser.add_argument("--max-concurrency", type=int, default=2, help="zoo serve --max-concurrency")
    parser.add_argument("--threads", type=int, default=None, help="zoo serve --threads")
    parser.add_argument("--queue-wait-s", type=float, default=None,
                        help="zoo serve --queue-wait-s (server default 10 s; with C closed-loop clients a request "
                             "waits about C / max-concurrency inference times)")
    parser.add_argument("--max-seconds", type=float, default=900, help="stop issuing requests after this long")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="zoo serve load ") as tmp:
        tmp = Path(tmp)
        model = args.model or build_checkpoint(args.config, tmp / f"{args.config.stem}.pth")
        image = args.image or isbi_image() or synthetic_image(tmp / "synthetic_1935x2400.jpg")
        data = image.read_bytes()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(model, port, args, tmp / "server.log")
        try:
            import httpx

            info = httpx.get(f"{url}/v1/model", timeout=30).json()
            warm = asyncio.run(run_load(url, data, image.name, args.warmup, 1, 300))
            if any(status != 200 for status, _ in warm):
                raise SystemExit(f"warm-up failed: {warm}\n{(tmp / 'server.log').read_text()}")
            load_at_start = os.getloadavg() if hasattr(os, "getloadavg") else None
            started = time.perf_counter()
            results = asyncio.run(run_load(url, data, image.name, args.requests, args.clients, args.max_seconds))
            wall = time.perf_counter() - started
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()

    statuses = Counter(status for status, _ in results)
    ok = [seconds for status, seconds in results if status == 200]
    report = {
        "model": {"name": info["name"], "runtime": info["runtime"], "landmark_set": info["landmark_set"],
                  "input_size": info["preprocess"]["input_size"], "untrained_from_config": args.model is None},
        "image": {"name": image.name, "bytes": len(data)},
        "server": {"max_concurrency": args.max_concurrency, "threads": args.threads or "runtime default",
                   "queue_wait_s": info["limits"]["queue_wait_s"], "limits": info["limits"]},
        "requests": len(results), "clients": args.clients, "statuses": dict(sorted(statuses.items())),
        "wall_s": wall, "throughput_rps": len(results) / wall if wall else float("nan"),
        "latency_ms": {"p50": 1000 * percentile(ok, 50), "p95": 1000 * percentile(ok, 95),
                       "p99": 1000 * percentile(ok, 99), "mean": 1000 * sum(ok) / len(ok) if ok else float("nan"),
                       "max": 1000 * max(ok) if ok else float("nan")},
        "machine": machine(load_at_start),
    }
    lat, m = report["latency_ms"], report["machine"]
    print(json.dumps(report, indent=2))
    print()
    print(f"Load test (`python benchmarks/serve_load.py`): {len(results)} requests from {args.clients} concurrent "
          f"clients on loopback, {info['name']} ({info['runtime']}, {info['preprocess']['input_size'][0]}x"
          f"{info['preprocess']['input_size'][1]} input), {image.name} ({len(data) / 1e6:.1f} MB) per request, "
          f"server --max-concurrency {args.max_concurrency} --queue-wait-s {info['limits']['queue_wait_s']:g}"
          f"{f' --threads {args.threads}' if args.threads else ''}.")
    print()
    print("| requests | statuses | p50 ms | p95 ms | p99 ms | throughput req/s |")
    print("|---|---|---|---|---|---|")
    fivexx = sum(n for s, n in statuses.items() if s >= 500 or s == 0)
    seen = ", ".join(f"{n} x {s or 'no answer'}" for s, n in sorted(statuses.items()))
    print(f"| {len(results)} | {seen} | {lat['p50']:.0f} | {lat['p95']:.0f} | {lat['p99']:.0f} | "
          f"{report['throughput_rps']:.2f} |")
    print()
    print("Latency percentiles are over the requests answered 200; "
          "throughput counts every answer per wall-clock second.")
    print()
    print(f"Machine: {m['cpu']}, {m['cpu_count']} cores, {m['platform']}, Python {m['python']}, torch {m['torch']}; "
          f"load average (1/5/15 min) {tuple(round(x, 1) for x in m['load_average_at_start'] or ())} at the start, "
          f"{tuple(round(x, 1) for x in m['load_average_at_end'] or ())} at the end (other work on the machine "
          "shares its cores).")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    complete = len(results) == args.requests
    return 0 if complete and fivexx == 0 and statuses.get(200, 0) == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
