"""Load test of the web API: concurrent `/api/search` clients against `coopqa serve` on loopback.

    .venv/bin/python benchmarks/bench_web.py                       # 20 clients for 30 s, seed corpus
    .venv/bin/python benchmarks/bench_web.py --clients 5 --seconds 10 --write

The server runs as its own process (`python -m coopqa serve` on a free 127.0.0.1 port) over a temporary
home with corpus/ ingested (or --home). Each client thread sends the 36 retrieval queries of
evals/retrieval.jsonl (English, Arabic, Persian) in turn, one request at a time, until the time is up; every
request is timed from send to full response. Errors are non-200 answers, wrong bodies and failed requests.
No model is involved. Traffic stays on loopback and stops by itself.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from _results import load_average, write_section

ROOT = Path(__file__).resolve().parents[1]
QUERIES = [json.loads(line)["query"] for line in (ROOT / "evals/retrieval.jsonl").read_text().splitlines() if line]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, port: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "coopqa", "--home", str(home), "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited: {server.stderr.read()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise SystemExit("the server did not answer /healthz within 180 s")


def client(base: str, first: int, until: float, out: list[tuple[float, bool]], errors: list[str]) -> None:
    """Send queries in turn (starting at `first`) until `until`; record (seconds, ok) per request."""
    n = first
    with httpx.Client(base_url=base, timeout=60) as http:
        while time.monotonic() < until:
            q = QUERIES[n % len(QUERIES)]
            n += 1
            t0 = time.perf_counter()
            try:
                r = http.get("/api/search", params={"q": q, "k": 5})
                ok = r.status_code == 200 and len(r.json()) == 5
                if not ok:
                    errors.append(f"{r.status_code}: {r.text[:200]}")
            except httpx.HTTPError as exc:
                ok = False
                errors.append(f"{type(exc).__name__}: {exc}")
            out.append((time.perf_counter() - t0, ok))


def run(base: str, clients: int, seconds: float) -> dict:
    httpx.get(f"{base}/api/search", params={"q": QUERIES[0]}, timeout=120)  # warm: index table, embedder
    results: list[tuple[float, bool]] = []
    errors: list[str] = []
    until = time.monotonic() + seconds
    threads = [threading.Thread(target=client, args=(base, i * 7, until, results, errors)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    ms = sorted(s * 1000 for s, _ in results)
    return {"clients": clients, "planned_s": seconds, "seconds": round(wall, 1), "requests": len(results),
            "errors": sum(not ok for _, ok in results), "throughput": round(len(results) / wall, 1),
            "median_ms": round(statistics.median(ms)), "p95_ms": round(ms[int(0.95 * (len(ms) - 1))]),
            "max_ms": round(ms[-1]), "first_errors": errors[:5]}


def table(r: dict) -> str:
    return "\n".join([
        "| clients | seconds | requests | errors | requests/s | median ms | p95 ms | max ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {r['clients']} | {r['seconds']} | {r['requests']} | {r['errors']} | {r['throughput']} | "
        f"{r['median_ms']} | {r['p95_ms']} | {r['max_ms']} |",
    ])


def section(r: dict, command: str, load_start: str, load_end: str) -> str:
    """This script's section of benchmarks/RESULTS.md."""
    return "\n".join([
        "## Web API under load (benchmarks/bench_web.py)", "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Command: `{command}`  ",
        f"`coopqa serve` (uvicorn, one process) on 127.0.0.1 over the seed corpus; {r['clients']} client threads "
        f"each sending the 36 queries of evals/retrieval.jsonl (en/ar/fa) to `GET /api/search?k=5`, one request "
        f"at a time, for {r['planned_s']:g} s ({r['seconds']} s until the last answer). Latency is per request, "
        "send to full response.  ",
        f"Load average (1/5/15 min) at start {load_start}, at end {load_end} (2 cores, shared with other work).", "",
        table(r), "",
        "Searches take turns in the server (`Retriever.search` holds a lock: the embedder and the index table "
        "are shared), so with 20 clients a request's latency is mostly its wait behind the others: "
        "about clients × the time of one search.",
    ])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--home", type=Path, help="An ingested home (default: corpus/ ingested into a temporary one).")
    ap.add_argument("--write", action="store_true", help="Replace this script's section of benchmarks/RESULTS.md.")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="coopqa-bench-web-") as tmp:
        home = args.home or Path(tmp) / "home"
        if args.home is None:
            subprocess.run([sys.executable, "-m", "coopqa", "--home", str(home), "ingest", "corpus"], cwd=ROOT,
                           check=True, capture_output=True)
        port = free_port()
        load_start = load_average()
        server = start_server(home, port)
        try:
            result = run(f"http://127.0.0.1:{port}", args.clients, args.seconds)
        finally:
            server.terminate()
            server.wait(30)
    print(table(result))
    for e in result["first_errors"]:
        print("error:", e)
    if args.write:
        command = ".venv/bin/python benchmarks/bench_web.py " + " ".join(sys.argv[1:])
        write_section("bench_web", section(result, command, load_start, load_average()))
    if result["errors"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
