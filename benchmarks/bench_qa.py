"""Q&A benchmark: coopqa `ask` against LlamaIndex's CitationQueryEngine, same index, same model, same run.

    .venv/bin/python benchmarks/bench_qa.py                       # seed + dev sets, both systems
    .venv/bin/python benchmarks/bench_qa.py --systems coopqa --sets dev --limit 10

Every labelled question (evals/labels + evals/cross_doc.json on corpus/, evals/dev/labels +
evals/dev/cross_doc.json on evals/dev/docs) is asked in English and, where labelled, in the article's
language (`question_native`). Each set is ingested into its own --home under --work. The LLM cache is off,
so every question costs real model time. Systems alternate question by question so machine load hits both.

coopqa: `CoopQA.ask` (hybrid retrieval, numbered sentences, structured claims, verification).
LlamaIndex: `CitationQueryEngine` over the same Chroma collection (the store's `vector_store`, e5 query
embeddings via `coopqa.embed.E5Embedding`), top-k 5, with the same llama.cpp server through a CustomLLM
that calls `coopqa.llm.LLM.chat`; its "Source N" markers map to the sentence ids of its source nodes. It
has no abstention mechanism: an answer counts as abstaining when it cites nothing and says the context
does not answer.

Scores: coopqa.scoring (accuracy, citation recall/precision on answerable questions; abstention accuracy on
unanswerable ones), per article language (en/ar/fa/cross) × question language (en/native). Timings per
question: total, retrieval, prompt processing and generation (llama.cpp's own timings), median and p95.
Writes JSON lines of every answer and a summary JSON; prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _results import load_average, percentile, write_section

from coopqa.api import CoopQA
from coopqa.labels import load_cross_doc, load_labels
from coopqa.scoring import GoldQuestion, answer_metrics, gold_questions, score_answer
from coopqa.settings import Settings

ROOT = Path(__file__).resolve().parents[1]

SETS = {
    "seed": (ROOT / "corpus", ROOT / "evals/labels", ROOT / "evals/cross_doc.json"),
    "dev": (ROOT / "evals/dev/docs", ROOT / "evals/dev/labels", ROOT / "evals/dev/cross_doc.json"),
}
_NO_ANSWER = re.compile(
    r"(does not|doesn't|do not|cannot|can't|no) (provide|mention|contain|say|specify|information|answer|"
    r"be (answered|determined))|not (mentioned|provided|specified|available)|empty response|"
    r"لا (يذكر|تذكر|يوجد|توجد)|لم (يذكر|تذكر)|ذکر نشده|اطلاعاتی .*نیست|نمی\u200c?توان",
    re.IGNORECASE,
)


# ------------------------------------------------------------------------------------------ systems


class CoopqaSystem:
    name = "coopqa"

    def __init__(self, coop: CoopQA):
        self.coop = coop

    def ask(self, question: str) -> tuple[dict, dict]:
        t0 = time.perf_counter()
        result = self.coop.ask(question)
        total = time.perf_counter() - t0
        trace = self.coop.answers.last_trace
        calls = [c for c in trace.llm_calls if "error" not in c]
        timing = {
            "total_s": total, "retrieval_s": trace.retrieval_s,
            "prompt_s": sum((c.get("prompt_ms") or 0) for c in calls) / 1000,
            "generation_s": sum((c.get("predicted_ms") or 0) for c in calls) / 1000,
            "prompt_tokens": sum(c.get("prompt_tokens") or 0 for c in calls),
            "prompt_evaluated": sum(c.get("prompt_n") or 0 for c in calls),
            "generated_tokens": sum(c.get("completion_tokens") or 0 for c in calls),
            "llm_calls": len(trace.llm_calls), "precheck": trace.precheck,
            "shown": len(trace.context.shown) if trace.context else 0,
        }
        return result, timing


class LlamaIndexSystem:
    """CitationQueryEngine over coopqa's own Chroma collection and model server."""

    name = "llamaindex"

    def __init__(self, coop: CoopQA, top_k: int = 5):
        from llama_index.core import Settings as LISettings
        from llama_index.core import VectorStoreIndex
        from llama_index.core.llms import CompletionResponse, CustomLLM, LLMMetadata
        from llama_index.core.query_engine import CitationQueryEngine

        from coopqa.embed import E5Embedding
        from coopqa.llm import LLM

        llm = LLM(coop.settings)
        self.llm = llm

        class CoopLLM(CustomLLM):
            """The same llama.cpp server, through coopqa's LLM layer (so timings come from llama.cpp)."""

            @property
            def metadata(self) -> LLMMetadata:
                return LLMMetadata(context_window=coop.settings.n_ctx, num_output=256, model_name=llm.model)

            def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
                text = llm.chat([{"role": "user", "content": prompt}], max_tokens=256, cache=False)
                stats.append(llm.last.as_dict())
                return CompletionResponse(text=text)

            def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any):
                yield self.complete(prompt, formatted, **kwargs)

        stats: list[dict] = []
        self.stats = stats
        embed = E5Embedding(coop.settings.threads)
        LISettings.embed_model, LISettings.llm = embed, CoopLLM()
        index = VectorStoreIndex.from_vector_store(coop.store.vector_store, embed_model=embed)
        self.engine = CitationQueryEngine.from_args(index, llm=LISettings.llm, similarity_top_k=top_k,
                                                    citation_chunk_size=512)
        self.index = index

    def ask(self, question: str) -> tuple[dict, dict]:
        self.stats.clear()
        retriever = self.index.as_retriever(similarity_top_k=5)
        r0 = time.perf_counter()
        retriever.retrieve(question)  # the same retrieval, timed apart (the engine's query repeats it)
        retrieval_s = time.perf_counter() - r0
        t0 = time.perf_counter()
        response = self.engine.query(question)
        total = time.perf_counter() - t0
        text = str(response)
        sources = [n.node for n in response.source_nodes]
        markers = [int(m) for m in re.findall(r"\[(\d+)\]", text)]
        citations = []
        for m in dict.fromkeys(markers):
            if 1 <= m <= len(sources):
                node = sources[m - 1]
                sid = _sentence_id(node)
                citations.append({"marker": m, "id": sid, "doc_id": sid.rsplit(":s", 1)[0],
                                  "text": node.get_content().split("\n", 1)[-1]})
        abstained = not citations and bool(_NO_ANSWER.search(text))
        result = {"question": question, "answer": text, "abstained": abstained, "citations": citations,
                  "retrieved": [_sentence_id(n.node) for n in response.source_nodes]}
        timing = {
            "total_s": total, "retrieval_s": retrieval_s,
            "prompt_s": sum((c.get("prompt_ms") or 0) for c in self.stats) / 1000,
            "generation_s": sum((c.get("predicted_ms") or 0) for c in self.stats) / 1000,
            "prompt_tokens": sum(c.get("prompt_tokens") or 0 for c in self.stats),
            "prompt_evaluated": sum(c.get("prompt_n") or 0 for c in self.stats),
            "generated_tokens": sum(c.get("completion_tokens") or 0 for c in self.stats),
            "llm_calls": len(self.stats),
        }
        return result, timing


def _sentence_id(node: Any) -> str:
    """coopqa's sentence id of a LlamaIndex node: CitationQueryEngine re-creates nodes under new ids, but
    they keep the store's metadata (sentence number) and source-document relationship."""
    n = (node.metadata or {}).get("n")
    doc_id = node.ref_doc_id
    return f"{doc_id}:s{n}" if n is not None and doc_id else node.node_id


# ------------------------------------------------------------------------------------------ run


def spread(gold: list[GoldQuestion], limit: int) -> list[GoldQuestion]:
    """At most `limit` questions (0: all), picked evenly along the set so every article and kind has a share."""
    if not limit or limit >= len(gold):
        return gold
    return [gold[i * len(gold) // limit] for i in range(limit)]


def items_of(gold: list[GoldQuestion]) -> list[tuple[GoldQuestion, str, str]]:
    """(gold, question text, 'en'|'native') for every labelled question form."""
    out = []
    for g in gold:
        out.append((g, g.question, "en"))
        if g.question_native:
            out.append((g, g.question_native, "native"))
    return out


def _timing(rs: list[dict]) -> dict:
    timing = {}
    for key in ("total_s", "retrieval_s", "prompt_s", "generation_s"):
        values = [r["timing"][key] for r in rs]
        timing[key] = {"median": statistics.median(values) if values else None,
                       "p95": percentile(values, 0.95), "mean": statistics.fmean(values) if values else None}
    return timing


def summarize(records: list[dict], docs_by_set: dict[str, dict], gold_by_key: dict) -> dict:
    """Metrics per system × (article language, question language), plus timings."""
    out: dict[str, Any] = {}
    for system in sorted({r["system"] for r in records}):
        rs = [r for r in records if r["system"] == system and "error" not in r]
        scores = {id(r): score_answer(r["answer"], gold_by_key[r["key"]], docs_by_set[r["set"]]) for r in rs}
        groups: dict[str, list] = {"all": rs}
        for r in rs:
            groups.setdefault(f"{r['doc_lang']}/{r['qlang']}", []).append(r)
            groups.setdefault(f"question {r['qlang']}", []).append(r)
            groups.setdefault(f"article {r['doc_lang']}", []).append(r)
        metrics = {name: answer_metrics([scores[id(r)] for r in group]) for name, group in sorted(groups.items())}
        timing = _timing(rs)
        for key in ("prompt_tokens", "prompt_evaluated", "generated_tokens", "llm_calls"):
            values = [r["timing"][key] for r in rs]
            timing[key] = {"median": statistics.median(values) if values else None,
                           "mean": statistics.fmean(values) if values else None}
        by_qlang = {q: _timing([r for r in rs if r["qlang"] == q]) for q in sorted({r["qlang"] for r in rs})}
        out[system] = {"n": len(rs), "errors": sum(1 for r in records if r["system"] == system and "error" in r),
                       "metrics": metrics, "timing": timing, "timing_by_qlang": by_qlang}
    return out


def markdown(summary: dict) -> str:
    lines = []
    for system, s in summary.items():
        lines.append(f"\n#### {system} ({s['n']} questions, {s['errors']} errors)\n")
        lines.append("| group | answerable n | accuracy | citation recall | citation precision | unanswerable n |"
                     " abstention |")
        lines.append("|---|---|---|---|---|---|---|")
        for name, m in s["metrics"].items():
            a, u = m.get("answerable", {}), m.get("unanswerable", {})

            def f(x: Any) -> str:
                return f"{x:.2f}" if isinstance(x, float) else "–"

            lines.append(f"| {name} | {a.get('n', 0)} | {f(a.get('accuracy'))} | {f(a.get('citation_recall'))} | "
                         f"{f(a.get('citation_precision'))} | {u.get('n', 0)} | {f(u.get('abstention_accuracy'))} |")
        t = s["timing"]
        lines.append("\n| seconds per question | median | p95 | mean |\n|---|---|---|---|")
        for key in ("total_s", "retrieval_s", "prompt_s", "generation_s"):
            lines.append(f"| {key.removesuffix('_s')} | {t[key]['median']:.2f} | {t[key]['p95']:.2f} | "
                         f"{t[key]['mean']:.2f} |")
        lines.append(f"\nprompt tokens (median) {t['prompt_tokens']['median']}, evaluated (after llama.cpp's "
                     f"prompt cache) {t['prompt_evaluated']['median']}, generated {t['generated_tokens']['median']}, "
                     f"model calls (mean) {t['llm_calls']['mean']:.2f}")
    return "\n".join(lines)


def _f(x: Any, digits: int = 2) -> str:
    return f"{x:.{digits}f}" if isinstance(x, float) else "–"


def side_by_side(summary: dict) -> str:
    """One row per question language × system: the eval metrics and seconds per question."""
    lines = ["| questions | system | n | accuracy | citation recall | citation precision | abstention (n) | "
             "median s | p95 s | median retrieval s | median prompt s | median generation s |",
             "|" + "---|" * 12]
    for group, qlang in (("all", None), ("question en", "en"), ("question native", "native")):
        for system, s in summary.items():
            m = s["metrics"].get(group)
            t = s["timing"] if qlang is None else s["timing_by_qlang"].get(qlang)
            if not m or not t:
                continue
            a, u = m.get("answerable", {}), m.get("unanswerable", {})
            n = a.get("n", 0) + u.get("n", 0)
            lines.append(
                f"| {qlang or 'all'} | {system} | {n} | {_f(a.get('accuracy'))} | {_f(a.get('citation_recall'))} | "
                f"{_f(a.get('citation_precision'))} | {_f(u.get('abstention_accuracy'))} ({u.get('n', 0)}) | "
                + " | ".join(_f(t[k][q], 1) for k, q in (("total_s", "median"), ("total_s", "p95"),
                                                        ("retrieval_s", "median"), ("prompt_s", "median"),
                                                        ("generation_s", "median"))) + " |")
    if {"coopqa", "llamaindex"} <= summary.keys():
        c, li = summary["coopqa"]["timing"]["total_s"], summary["llamaindex"]["timing"]["total_s"]
        if c["median"] and li["median"]:
            lines += ["", f"Speed: LlamaIndex median / coopqa median = **{li['median'] / c['median']:.2f}×**, "
                          f"mean ratio {li['mean'] / c['mean']:.2f}× (target ≥ 1.5×)."]
    return "\n".join(lines)


def section(summary: dict, records: list[dict], run_info: dict, load_end: str) -> str:
    minutes = (time.time() - run_info["started"]) / 60 if "started" in run_info else float("nan")
    sets = ", ".join(sorted({r["set"] for r in records}))
    limit = run_info.get("limit")
    return "\n".join([
        "## Cited Q&A (benchmarks/bench_qa.py)", "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {minutes:.0f} min, set(s) {sets}. "
        f"Command: `{run_info.get('command', '?')}`"
        + (f"; {run_info['rescored']}" if "rescored" in run_info else "") + "  ",
        (f"**Subset:** `--limit {limit}` — {limit} labelled questions per set, spread evenly over the set, each "
         "asked in English and in the article's language where labelled (a full run would take too long on the "
         "shared machine).  " if limit else "All labelled questions of the set(s), each asked in English and in "
         "the article's language where labelled.  "),
        "Model: the embedded default (Qwen2.5-Coder-1.5B-Instruct Q4_K_M), 2 threads, one llama.cpp server for "
        "both systems; LLM response cache off; systems alternate question by question.  ",
        f"Load average (1/5/15 min) at start {run_info.get('load_start', '?')}, at end {load_end} (2 cores; the "
        "machine is shared, so the ratios within this run are the fair comparison).", "",
        "coopqa = `CoopQA.ask` (hybrid retrieval, numbered sentences, verified citations). LlamaIndex = "
        "`CitationQueryEngine` over the same Chroma collection with the same e5 embeddings, top-k 5, through the "
        "same server (max_tokens 256); its abstention = no citation and a 'not mentioned'-style answer. Scores: "
        "coopqa.scoring (accuracy, citation recall/precision on answerable questions; abstention accuracy on "
        "unanswerable ones). Seconds per question: total wall; retrieval (LlamaIndex: the same retrieval timed "
        "apart, also inside its total); prompt processing and generation = llama.cpp's own prompt_ms and "
        "predicted_ms summed over the question's model calls.", "",
        side_by_side(summary), "",
        "Per article language × question language:",
        markdown(summary),
    ])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default="seed,dev")
    ap.add_argument("--systems", default="coopqa,llamaindex")
    ap.add_argument("--work", type=Path, default=ROOT / "out" / "bench-qa")
    ap.add_argument("--limit", type=int, default=0,
                    help="At most N labelled questions per set, spread evenly, each in both languages (0: all).")
    ap.add_argument("--only", default="", help="Only questions of these kinds: en,native (default both).")
    ap.add_argument("--out", type=Path, default=None, help="Summary JSON (default <work>/summary.json).")
    ap.add_argument("--cache", action="store_true", help="Use the LLM response cache (timings then meaningless).")
    ap.add_argument("--write", action="store_true", help="Replace this script's section of benchmarks/RESULTS.md.")
    ap.add_argument("--rescore", type=Path, default=None,
                    help="Only summarise an answers.jsonl of an earlier (possibly interrupted) run.")
    args = ap.parse_args()
    if args.rescore:
        return rescore(args.rescore, args)
    args.work.mkdir(parents=True, exist_ok=True)
    run_info = {"command": ".venv/bin/python benchmarks/bench_qa.py " + " ".join(sys.argv[1:]),
                "started": time.time(), "load_start": load_average(), "limit": args.limit}
    (args.work / "run.json").write_text(json.dumps(run_info))
    records: list[dict] = []
    docs_by_set: dict[str, dict] = {}
    gold_by_key: dict[str, GoldQuestion] = {}
    log = (args.work / "answers.jsonl").open("w", encoding="utf-8")
    for set_name in args.sets.split(","):
        corpus, labels, cross = SETS[set_name]
        home = args.work / set_name
        coop = CoopQA(Settings(home=home, cache=args.cache))
        coop.ingest([corpus])
        docs_by_set[set_name] = {d.doc_id: d for d in coop.store.documents()}
        systems = []
        for name in args.systems.split(","):
            systems.append(CoopqaSystem(coop) if name == "coopqa" else LlamaIndexSystem(coop))
        _ = coop.llm.base_url  # start the embedded server and load the embedder before any question is timed
        coop.search("warm-up", k=1)
        items = items_of(spread(gold_questions(load_labels(labels), load_cross_doc(cross)), args.limit))
        if args.only:
            items = [i for i in items if i[2] in args.only.split(",")]
        for n, (g, question, qlang) in enumerate(items, 1):
            key = f"{set_name}:{g.question}"
            gold_by_key[key] = g
            for system in systems:
                rec = {"set": set_name, "system": system.name, "key": key, "question": question, "qlang": qlang,
                       "doc_lang": g.language, "answerable": g.answerable}
                try:
                    rec["answer"], rec["timing"] = system.ask(question)
                except Exception as exc:  # one failure must not end the benchmark
                    rec["error"] = f"{type(exc).__name__}: {exc}"
                s = score_answer(rec.get("answer"), g, docs_by_set[set_name]) if "answer" in rec else None
                rec["correct"] = s.correct if s else False
                records.append(rec)
                log.write(json.dumps(rec, ensure_ascii=False) + "\n")
                log.flush()
                t = rec.get("timing", {})
                print(f"[{set_name} {n}/{len(items)}] {system.name:10s} {qlang:6s} {g.language:5s} "
                      f"{'ok ' if rec['correct'] else 'BAD'} {t.get('total_s', 0):5.1f}s "
                      f"{'ABSTAIN ' if rec.get('answer', {}).get('abstained') else ''}{question[:60]}",
                      flush=True)
    summary = summarize(records, docs_by_set, gold_by_key)
    out = args.out or args.work / "summary.json"
    out.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    print(markdown(summary))
    if args.write:
        write_section("bench_qa", section(summary, records, run_info, load_average()))


def rescore(path: Path, args: argparse.Namespace) -> None:
    """Summary tables of an existing answers.jsonl (the sets' homes under --work must exist)."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    docs_by_set, gold_by_key = {}, {}
    for set_name in sorted({r["set"] for r in records}):
        corpus, labels, cross = SETS[set_name]
        coop = CoopQA(Settings(home=path.parent / set_name))
        docs_by_set[set_name] = {d.doc_id: d for d in coop.store.documents()}
        for g in gold_questions(load_labels(labels), load_cross_doc(cross)):
            gold_by_key[f"{set_name}:{g.question}"] = g
    summary = summarize(records, docs_by_set, gold_by_key)
    (args.out or path.parent / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    print(markdown(summary))
    if args.write:
        info_path = path.parent / "run.json"
        run_info = json.loads(info_path.read_text()) if info_path.exists() else {}
        run_info["rescored"] = f"rescored from {path} with `--rescore` (the run itself was cut short)"
        load_end = f"{load_average()} (at rescoring; not the run's end)"
        write_section("bench_qa", section(summary, records, run_info, load_end))


if __name__ == "__main__":
    main()
