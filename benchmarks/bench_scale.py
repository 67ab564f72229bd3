"""coopqa at team scale: one subcommand per part.

    .venv/bin/python benchmarks/bench_scale.py summarize [--concurrency 1,2,4] [--parallel 4] [--write]
    .venv/bin/python benchmarks/bench_scale.py store [--docs 200] [--repeat 2] [--write]

store: ingest throughput and search latency with the vectors on a Chroma server (`chroma run` on loopback,
started by the script) against the embedded Chroma under --home, on the seed corpus and on a generated corpus
of --docs documents assembled from the seed sentences (same languages; each document 6-12 sentences). Every run
starts from a fresh home whose embedding cache already holds the seed sentences, so ingest measures the
pipeline and the vector store, not the embedder (bench_retrieval.py measures that). Reported per corpus and
store: ingest docs/s and sentences/s, re-ingest of the unchanged corpus, `doctor` (reads every vector), search
latency median/p95 (`CoopQA.search`, k=5, the 60 seed and dev retrieval queries) and the part of it spent in
Chroma queries, and the recall@5 of those queries on the seeds (identical answers on both stores).

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
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _results import load_average, write_section  # noqa: E402

from coopqa.api import CoopQA  # noqa: E402
from coopqa.llm import EmbeddedServer  # noqa: E402
from coopqa.model_files import resolve_gguf  # noqa: E402
from coopqa.settings import Settings  # noqa: E402


def write_scale_section(name: str, title: str, body: str) -> None:
    """This script's `bench_scale_<name>` section of benchmarks/RESULTS.md, headed by `title`."""
    write_section(f"bench_scale_{name}", f"## {title}\n\n{body.strip()}")


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
            load = load_average()
            with EmbeddedServer(gguf, model="bench-model", threads=args.threads, n_ctx=args.n_ctx,
                                parallel=args.parallel) as server:
                result = summarize_once(server, home, level, args.timeout)
            result["load_start"], result["load_end"], result["expected"] = load, load_average(), expected
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
    started, load = time.time(), load_average()
    runs = summarize_bench(args)
    table = summarize_table(runs)
    print("\n" + table)
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2), encoding="utf-8")
    if args.write:
        command = ".venv/bin/python benchmarks/bench_scale.py " + " ".join(sys.argv[1:])
        title = "Batch summaries against a server with parallel slots (benchmarks/bench_scale.py summarize)"
        write_scale_section("summarize", title, f"""
Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {(time.time() - started) / 60:.0f} min. Command: `{command}`  
Server: the embedded llama.cpp (xllamacpp) in HTTP mode, Qwen2.5-Coder-1.5B-Instruct Q4_K_M, {args.parallel} slots \
× n_ctx {args.n_ctx}, {args.threads} threads, restarted for every run; client: `coopqa --no-cache summarize --all \
--concurrency N --json` in a subprocess through OPENAI_BASE_URL. Corpus: the 5 seed articles. Machine: \
{os.cpu_count()} cores, no GPU; load average (1/5/15 min) at start {load}, at end {load_average()}.

{table}

docs/min and completion tok/s are over the wall time of the whole command; "s per document (in flight)" is the \
mean time one document's pipeline took, which grows as documents share the server.
""")


# ---------------------------------------------------------------- store


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromaServer:
    """`chroma run` on a free loopback port with its data in a temporary folder (removed on exit)."""

    def __enter__(self) -> ChromaServer:
        self.path = Path(tempfile.mkdtemp(prefix="bench-scale-chroma-"))
        self.url = f"http://127.0.0.1:{_free_port()}"
        chroma = Path(sys.executable).parent / "chroma"
        self.proc = subprocess.Popen([str(chroma), "run", "--path", str(self.path / "data"), "--host", "127.0.0.1",
                                      "--port", self.url.rsplit(":", 1)[1]],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2):
                    return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("chroma run did not start") from None
                time.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        shutil.rmtree(self.path, ignore_errors=True)


def generated_corpus(folder: Path, docs: int, seed: int = 0) -> Path:
    """`docs` documents assembled from the citable seed sentences, one language each (in the seeds' mix)."""
    from coopqa.ingest import build_document
    from coopqa.readers import read_file

    by_lang: dict[str, list[str]] = {}
    languages = []
    for path in sorted((ROOT / "corpus").glob("*.txt")):
        doc = build_document(read_file(path)[0][0])
        languages.append(doc.language)
        by_lang.setdefault(doc.language, []).extend(s.text for s in doc.sentences if not s.boilerplate)
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(docs):
        pool = by_lang[languages[n % len(languages)]]
        lines = rng.sample(pool, min(len(pool), rng.randint(6, 12)))
        (folder / f"gen{n:04}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _queries() -> list[dict]:
    return [json.loads(line) for f in ("evals/retrieval.jsonl", "evals/dev/retrieval.jsonl")
            for line in (ROOT / f).read_text(encoding="utf-8").splitlines() if line.strip()]


def _warm_home(template: Path, home: Path) -> None:
    """A fresh home whose embedding cache is the template's (no documents, no vectors)."""
    home.mkdir(parents=True)
    with sqlite3.connect(template / "coopqa.sqlite") as src, sqlite3.connect(home / "coopqa.sqlite") as dst:
        src.backup(dst)
        dst.execute("PRAGMA foreign_keys=ON")
        dst.execute("DELETE FROM docs")
        dst.execute("DELETE FROM meta")


def store_once(corpus: Path, home: Path, options: dict, queries: list[dict]) -> dict:
    """Ingest, re-ingest, doctor and search one corpus on one store; seconds and latencies."""
    coop = CoopQA(home=home, **options)
    started = time.perf_counter()
    report = coop.ingest([corpus])
    ingest_s = time.perf_counter() - started
    started = time.perf_counter()
    coop.ingest([corpus])
    reingest_s = time.perf_counter() - started
    started = time.perf_counter()
    assert coop.doctor().consistent
    doctor_s = time.perf_counter() - started
    store = coop.store
    plain_query = store.collection.query
    spent = [0.0]  # seconds inside Chroma queries during the current search

    def timed_query(*args, **kwargs):
        t = time.perf_counter()
        try:
            return plain_query(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - t

    object.__setattr__(store.collection, "query", timed_query)  # this run's collection object only
    coop.search(queries[0]["query"], 5)  # the first search builds the in-memory table (not counted)
    latencies, chroma_s, rankings = [], [], []
    for q in queries:
        spent[0] = 0.0
        t = time.perf_counter()
        hits = coop.search(q["query"], 5)
        latencies.append(time.perf_counter() - t)
        chroma_s.append(spent[0])
        rankings.append([(h.id, h.text) for h in hits])
    indexed = {r["doc_id"] for r in coop.docs()}
    gold = [(q, ranked) for q, ranked in zip(queries, rankings, strict=True) if q["doc_id"] in indexed]
    recall = sum(any(i.rsplit(":s", 1)[0] == q["doc_id"] for i, _ in ranked) for q, ranked in gold) / len(gold) \
        if gold else None
    return {"docs": len(report.added), "sentences": report.sentences, "vectors": store.collection.count(),
            "ingest_s": ingest_s, "reingest_s": reingest_s, "doctor_s": doctor_s, "latencies": latencies,
            "chroma_s": chroma_s, "rankings": rankings, "recall5": recall, "gold_queries": len(gold)}


def store_bench(args: argparse.Namespace) -> list[dict]:
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    template = work / "template"
    CoopQA(home=template).ingest([ROOT / "corpus"])  # embeds every seed sentence once
    corpora = {"seed (corpus/)": ROOT / "corpus",
               f"generated ({args.docs} docs)": generated_corpus(work / "generated", args.docs)}
    queries = _queries()
    runs = []
    with ChromaServer() as server:
        for repeat in range(args.repeat):
            for name, corpus in corpora.items():
                order = ["embedded", "server"] if repeat % 2 == 0 else ["server", "embedded"]
                for where in order:
                    home = work / f"run{repeat}-{len(runs)}"
                    _warm_home(template, home)
                    options = {} if where == "embedded" else {"chroma_url": server.url,
                                                               "collection": f"bench-{repeat}-{len(runs)}"}
                    load = load_average()
                    result = store_once(corpus, home, options, queries)
                    result.update(corpus=name, store=where, repeat=repeat, load=load)
                    runs.append(result)
                    print(f"{name} · {where}: ingest {result['ingest_s']:.1f}s ({result['docs']} docs), search "
                          f"median {statistics.median(result['latencies']) * 1000:.0f} ms, load {load}", flush=True)
                    shutil.rmtree(home, ignore_errors=True)
    return runs


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def store_table(runs: list[dict]) -> str:
    lines = ["| corpus | store | runs | docs | sentences (vectors) | ingest s (median) | docs/s | sentences/s | "
             "re-ingest s | doctor s | search median ms | search p95 ms | of which Chroma, median ms | recall@5 |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in runs:
        groups.setdefault((r["corpus"], r["store"]), []).append(r)
    for (corpus, where), rs in groups.items():
        ingest = statistics.median(r["ingest_s"] for r in rs)
        latencies = [x for r in rs for x in r["latencies"]]
        chroma = [x for r in rs for x in r["chroma_s"]]
        lines.append(
            f"| {corpus} | {where} | {len(rs)} | {rs[0]['docs']} | {rs[0]['sentences']} ({rs[0]['vectors']}) | "
            f"{ingest:.2f} | {rs[0]['docs'] / ingest:.1f} | {rs[0]['sentences'] / ingest:.0f} | "
            f"{statistics.median(r['reingest_s'] for r in rs):.2f} | "
            f"{statistics.median(r['doctor_s'] for r in rs):.2f} | "
            f"{statistics.median(latencies) * 1000:.0f} | {_p95(latencies) * 1000:.0f} | "
            f"{statistics.median(chroma) * 1000:.1f} | "
            + (f"{rs[0]['recall5']:.2f} ({rs[0]['gold_queries']} queries) |" if rs[0]["recall5"] is not None
               else "– |"))
    return "\n".join(lines)


def store_ratios(runs: list[dict]) -> str:
    """Server/embedded ratios of the medians per corpus."""
    out = []
    for corpus in dict.fromkeys(r["corpus"] for r in runs):
        med = {where: {key: statistics.median(x for r in runs if r["corpus"] == corpus and r["store"] == where
                                              for x in (r[key] if isinstance(r[key], list) else [r[key]]))
                       for key in ("ingest_s", "latencies", "chroma_s")} for where in ("embedded", "server")}
        ratio = {key: med["server"][key] / med["embedded"][key] for key in med["server"]}
        pairs = [(a["rankings"], b["rankings"]) for a in runs for b in runs if a["corpus"] == b["corpus"] == corpus
                 and a["repeat"] == b["repeat"] and a["store"] == "embedded" and b["store"] == "server"]
        same = sum(x == y for a, b in pairs for x, y in zip(a, b, strict=True))
        same_text = sum([t for _, t in x] == [t for _, t in y] for a, b in pairs for x, y in zip(a, b, strict=True))
        out.append(f"{corpus}: server/embedded ingest time {ratio['ingest_s']:.2f}×, search latency "
                   f"{ratio['latencies']:.2f}×, Chroma query time {ratio['chroma_s']:.2f}×; identical top-5 on "
                   f"both stores for {same} of {sum(len(a) for a, _ in pairs)} searches (identical sentence texts "
                   f"in the same order: {same_text})")
    return "; ".join(out)


def store_main(args: argparse.Namespace) -> None:
    started, load = time.time(), load_average()
    runs = store_bench(args)
    table, ratios = store_table(runs), store_ratios(runs)
    print("\n" + table + "\n\n" + ratios)
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2), encoding="utf-8")
    if args.write:
        import chromadb

        command = ".venv/bin/python benchmarks/bench_scale.py " + " ".join(sys.argv[1:])
        title = "Vector store: a Chroma server against the embedded one (benchmarks/bench_scale.py store)"
        write_scale_section("store", title, f"""
Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {(time.time() - started) / 60:.1f} min. Command: `{command}`  
Chroma {chromadb.__version__}: the server is `chroma run` on loopback (same machine), the embedded store a \
PersistentClient under --home; both through `COOPQA_CHROMA_URL`/`--chroma-url` or not, nothing else differs. \
Every run starts from a fresh home with a warm embedding cache (no embedding inside ingest), and the two stores \
alternate order between repeats. Search: `CoopQA.search(q, k=5)` over the {len(_queries())} seed and dev \
retrieval queries after one untimed warm-up search; each search embeds the query (and its lexicon renderings) \
and makes 3-5 filtered Chroma queries. Machine: {os.cpu_count()} cores, no GPU; load average (1/5/15 min) at \
start {load}, at end {load_average()}.

{table}

Ratios of the medians — {ratios}.

The generated corpus repeats seed sentences across its documents, so equal scores tie and the two stores may \
order the tied copies differently (same sentence texts, other ids); the remaining differences are HNSW's \
approximate neighbours, built separately in each store. On the seeds both stores return the same rankings.
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
    v = sub.add_parser("store", help="ingest/search with the vectors on a Chroma server vs embedded")
    v.add_argument("--docs", type=int, default=200, help="Documents in the generated corpus (default 200).")
    v.add_argument("--repeat", type=int, default=2, help="Runs per corpus and store (the table shows medians).")
    v.add_argument("--work", default="/tmp/coopqa-bench-scale-store", help="Scratch folder (removed first).")
    v.add_argument("--json", help="Write every run here.")
    v.add_argument("--write", action="store_true", help="Replace this part's section of benchmarks/RESULTS.md.")
    v.set_defaults(run=store_main)
    args = ap.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
