"""coopqa at team scale: one subcommand per part.

    .venv/bin/python benchmarks/bench_scale.py summarize [--concurrency 1,2,4] [--parallel 4] [--write]

summarize: throughput of `coopqa summarize --all` on the seed corpus at several --concurrency levels against a
local OpenAI-compatible server with parallel slots — the embedded llama.cpp server (xllamacpp) started in
HTTP mode with `--parallel` slots, used through OPENAI_BASE_URL exactly as a llama-server/vLLM would be. Each
level gets a freshly started server (no slot keeps a previous run's prompt cache), a fresh summaries folder
and --no-cache (every model call is made); the CLI runs in a subprocess. Reported: wall seconds, documents
per minute, completion tokens per second over the run, speed-up against concurrency 1, failures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from coopqa.api import CoopQA  # noqa: E402
from coopqa.llm import EmbeddedServer  # noqa: E402
from coopqa.model_files import resolve_gguf  # noqa: E402
from coopqa.settings import Settings  # noqa: E402

RESULTS = ROOT / "benchmarks/RESULTS.md"


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def write_section(name: str, title: str, body: str) -> None:
    """Replace the `bench_scale_<name>` section of benchmarks/RESULTS.md (other sections are left alone)."""
    start, end = f"<!-- bench_scale_{name}:start -->", f"<!-- bench_scale_{name}:end -->"
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    block = f"{start}\n## {title}\n\n{body.strip()}\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------- summarize


def summarize_once(server: EmbeddedServer, home: Path, concurrency: int, timeout: float) -> dict:
    """One `coopqa --no-cache summarize --all --concurrency N` against `server`; its wall time and tokens."""
    shutil.rmtree(home / "summaries", ignore_errors=True)
    env = {**os.environ, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": server.api_key,
           "COOPQA_MODEL": server.model, "COOPQA_HOME": str(home), "COOPQA_TIMEOUT_S": str(timeout)}
    cmd = [sys.executable, "-m", "coopqa", "--no-cache", "summarize", "--all", "--concurrency", str(concurrency),
           "--json"]
    started = time.perf_counter()
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    metas = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((home / "summaries").glob("*.meta.json"))]
    completion = sum(m["stats"]["completion_tokens"] for m in metas)
    prompt = sum(m["stats"]["prompt_tokens"] for m in metas)
    return {"concurrency": concurrency, "wall_s": wall, "docs": len(metas), "returncode": run.returncode,
            "errors": [line for line in run.stderr.splitlines() if "error" in line.lower()][:5],
            "prompt_tokens": prompt, "completion_tokens": completion, "calls": sum(m["stats"]["calls"] for m in metas),
            "per_doc_s": [m["stats"]["seconds"] for m in metas]}


def summarize_bench(args: argparse.Namespace) -> list[dict]:
    levels = [int(x) for x in args.concurrency.split(",")]
    home = Path(args.work)
    shutil.rmtree(home, ignore_errors=True)
    expected = len(CoopQA(home=home).ingest([ROOT / "corpus"]).added)
    gguf = resolve_gguf(Settings())
    runs = []
    for _ in range(args.repeat):
        for level in levels:
            load = _load()
            with EmbeddedServer(gguf, model="bench-model", threads=args.threads, n_ctx=args.n_ctx,
                                parallel=args.parallel) as server:
                result = summarize_once(server, home, level, args.timeout)
            result["load_start"], result["load_end"], result["expected"] = load, _load(), expected
            runs.append(result)
            print(f"concurrency {level}: {result['wall_s']:.0f}s, {result['docs']} docs, "
                  f"{result['completion_tokens']} completion tokens, rc {result['returncode']}, load {load}",
                  flush=True)
    return runs


def summarize_table(runs: list[dict]) -> str:
    by_level: dict[int, list[dict]] = {}
    for r in runs:
        by_level.setdefault(r["concurrency"], []).append(r)
    base = statistics.median(r["wall_s"] for r in by_level[min(by_level)])
    lines = ["| --concurrency | runs | wall s (median) | docs/min | completion tok/s | speed-up vs "
             f"{min(by_level)} | mean s per document (in flight) | failed docs | load at start |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for level, rs in sorted(by_level.items()):
        wall = statistics.median(r["wall_s"] for r in rs)
        docs = statistics.median(r["docs"] for r in rs)
        tokens = statistics.median(r["completion_tokens"] / r["wall_s"] for r in rs)
        per_doc = statistics.mean(s for r in rs for s in r["per_doc_s"]) if any(r["per_doc_s"] for r in rs) else 0
        failed = sum(r["expected"] - r["docs"] for r in rs)
        lines.append(f"| {level} | {len(rs)} | {wall:.0f} | {60 * docs / wall:.2f} | {tokens:.1f} | "
                     f"{base / wall:.2f}× | {per_doc:.0f} | {failed} | {', '.join(r['load_start'] for r in rs)} |")
    return "\n".join(lines)


def summarize_main(args: argparse.Namespace) -> None:
    started, load = time.time(), _load()
    runs = summarize_bench(args)
    table = summarize_table(runs)
    print("\n" + table)
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2), encoding="utf-8")
    if args.write:
        command = ".venv/bin/python benchmarks/bench_scale.py " + " ".join(sys.argv[1:])
        write_section("summarize", "Batch summaries against a server with parallel slots (benchmarks/bench_scale.py "
                      "summarize)", f"""
Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {(time.time() - started) / 60:.0f} min. Command: `{command}`  
Server: the embedded llama.cpp (xllamacpp) in HTTP mode, Qwen2.5-Coder-1.5B-Instruct Q4_K_M, {args.parallel} slots \
× n_ctx {args.n_ctx}, {args.threads} threads, restarted for every run; client: `coopqa --no-cache summarize --all \
--concurrency N --json` in a subprocess through OPENAI_BASE_URL. Corpus: the 5 seed articles. Machine: \
{os.cpu_count()} cores, no GPU; load average (1/5/15 min) at start {load}, at end {_load()}.

{table}

docs/min and completion tok/s are over the wall time of the whole command; "s per document (in flight)" is the \
mean time one document's pipeline took, which grows as documents share the server.
""")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="part", required=True)
    s = sub.add_parser("summarize", help="summarize --all throughput at several --concurrency levels")
    s.add_argument("--concurrency", default="1,2,4", help="Comma-separated levels (default 1,2,4).")
    s.add_argument("--parallel", type=int, default=4, help="Server slots (default 4).")
    s.add_argument("--n-ctx", type=int, default=8192, help="Context per slot.")
    s.add_argument("--threads", type=int, default=2)
    s.add_argument("--repeat", type=int, default=1, help="Runs per level (the table shows medians).")
    s.add_argument("--timeout", type=float, default=3600.0, help="COOPQA_TIMEOUT_S for the client.")
    s.add_argument("--work", default="/tmp/coopqa-bench-scale-summarize", help="Home for the ingested seeds.")
    s.add_argument("--json", help="Write every run here.")
    s.add_argument("--write", action="store_true", help="Replace this part's section of benchmarks/RESULTS.md.")
    s.set_defaults(run=summarize_main)
    args = ap.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
