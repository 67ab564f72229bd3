"""Visit summaries with the embedded model: accuracy per language and time per article.

    .venv/bin/python benchmarks/bench_summarize.py                    # seed (evals/labels) + dev set
    .venv/bin/python benchmarks/bench_summarize.py --sets dev --areas cues --json out/bench.json

Each set is ingested into its own --home (dev docs never enter the seed corpus). Scores come from
coopqa.scoring (field F1 for countries / participants / cooperation areas, date accuracy, evidence validity,
citation support), per language. Timings per article: wall seconds, prompt/completion tokens, and the time
llama.cpp itself reports (prompt_ms + predicted_ms): the pipeline's overhead is wall − llama.cpp time.
`--no-cache` (default) bypasses the LLM response cache so the timings are real; `--cache` reuses it (for
comparing pipeline options on the same model outputs).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from coopqa.citations import country_forms  # noqa: E402
from coopqa.labels import load_labels  # noqa: E402
from coopqa.llm import LLM  # noqa: E402
from coopqa.scoring import (  # noqa: E402
    FieldScore,
    evidence_metrics,
    score_evidence,
    score_summary,
    sentence_texts,
    summary_metrics,
)
from coopqa.settings import Settings  # noqa: E402
from coopqa.store import Store  # noqa: E402
from coopqa.summarize import Pipeline, to_json  # noqa: E402

SETS = {"seed": (ROOT / "corpus", ROOT / "evals/labels"), "dev": (ROOT / "evals/dev/docs", ROOT / "evals/dev/labels")}
FIELDS = ("countries", "participants", "cooperation_areas", "organizations", "agreements")


def _aliases() -> dict[str, list[str]]:
    """CLDR names (en/ar/fa) of every country, as extra aliases for the scorer's country check."""
    from coopqa.citations import _babel_names, english_country

    return {english_country(code): sorted(country_forms(code)) for code in _babel_names()}


def run(args: argparse.Namespace) -> dict:
    from coopqa.ingest import ingest

    results: dict = {"articles": [], "by_language": {}, "options": vars(args).copy()}
    per_lang: dict[str, dict[str, list]] = {}
    aliases = _aliases()
    for name in args.sets:
        docs_dir, labels_dir = SETS[name]
        settings = Settings(home=Path(args.work) / name, cache=args.cache, threads=args.threads,
                            timeout_s=args.timeout)
        store = Store(settings)
        ingest(store, [docs_dir])
        labels = load_labels(labels_dir)
        llm = LLM(settings)
        _ = llm.base_url  # start the embedded server now: its start-up is not part of any article's time
        for doc_id in sorted(labels):
            if args.only and doc_id not in args.only:
                continue
            doc = store.document(doc_id)
            started = time.perf_counter()
            try:
                pipe = Pipeline(llm, model_name=llm.model, areas=args.areas, retry=not args.no_retry)
                summary, stats = pipe.run(doc)
            except Exception as e:  # noqa: BLE001 - one failing article must not stop the benchmark
                print(f"{doc_id}: FAILED {type(e).__name__}: {e}", file=sys.stderr)
                results["articles"].append({"doc_id": doc_id, "error": str(e)})
                continue
            wall = time.perf_counter() - started
            data = to_json(summary)
            out_dir = Path(args.work) / name / "summaries"
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / f"{doc_id}.json").write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
            label = labels[doc_id]
            s_score = score_summary(data, label)
            e_score = score_evidence(data, sentence_texts([doc]), aliases)
            lang = label.language
            per_lang.setdefault(lang, {"s": [], "e": [], "areas": {}})
            # the same model output scored with each way of choosing cooperation areas
            sources = pipe.area_sources
            variants = {"llm": sources.get("llm", []), "cues": sources.get("cues", []),
                        "both": list(dict.fromkeys(sources.get("llm", []) + sources.get("cues", [])))}
            for variant, areas in variants.items():
                alt = {**data, "cooperation_areas": [{"area": a, "evidence": []} for a in areas]}
                per_lang[lang]["areas"].setdefault(variant, []).append(
                    score_summary(alt, label).fields["cooperation_areas"])
            per_lang[lang]["s"].append(s_score)
            per_lang[lang]["e"].append(e_score)
            llama_s = stats.llama_ms / 1000
            row = {
                "set": name, "doc_id": doc_id, "language": lang, "seconds": round(wall, 1),
                "llama_s": round(llama_s, 1), "overhead_pct": round(100 * (wall - llama_s) / wall, 1) if wall else 0,
                "calls": stats.calls, "retries": stats.retries, "cached_calls": stats.cached_calls,
                "prompt_tokens": stats.prompt_tokens, "completion_tokens": stats.completion_tokens,
                "date_ok": s_score.date_correct,
                **{f: round(s_score.fields[f].f1, 2) for f in FIELDS},
                "evidence_valid": f"{e_score.valid}/{e_score.cited}",
                "supported": f"{e_score.supported}/{e_score.facts}",
                "unsupported": e_score.unsupported, "dropped": len(data["dropped"]),
            }
            results["articles"].append(row)
            print(f"{doc_id} {lang} {wall:6.1f}s llama {llama_s:6.1f}s tok {stats.prompt_tokens}/"
                  f"{stats.completion_tokens} retries {stats.retries} | date {int(s_score.date_correct)} "
                  + " ".join(f"{f[:5]} {row[f]:.2f}" for f in FIELDS)
                  + f" | ev {row['evidence_valid']} sup {row['supported']}", flush=True)
    for lang, scores in sorted(per_lang.items()):
        sm, em = summary_metrics(scores["s"]), evidence_metrics(scores["e"])
        results["by_language"][lang] = {
            "documents": sm["documents"], "date_accuracy": sm["date_accuracy"],
            "areas_by_variant": {v: sum(fs, FieldScore()).metrics() for v, fs in scores["areas"].items()},
            **{f: sm["fields"][f] for f in FIELDS},
            "evidence_validity": em["evidence_validity"], "citation_support": em["citation_support"],
        }
    all_s = [s for v in per_lang.values() for s in v["s"]]
    all_e = [e for v in per_lang.values() for e in v["e"]]
    if all_s:
        sm, em = summary_metrics(all_s), evidence_metrics(all_e)
        results["overall"] = {"documents": sm["documents"], "date_accuracy": sm["date_accuracy"],
                              **{f: sm["fields"][f] for f in FIELDS},
                              "evidence_validity": em["evidence_validity"], "citation_support": em["citation_support"]}
    return results


def table(results: dict) -> str:
    head = ("| lang | docs | countries F1 | participants F1 | areas F1 | orgs F1 | agreements F1 | date acc | "
            "evidence validity | citation support |")
    lines = [head, "|" + "---|" * 10]
    rows = {**results["by_language"], **({"all": results["overall"]} if "overall" in results else {})}
    for lang, m in rows.items():
        lines.append(
            f"| {lang} | {m['documents']} | {m['countries']['f1']:.2f} | {m['participants']['f1']:.2f} | "
            f"{m['cooperation_areas']['f1']:.2f} | {m['organizations']['f1']:.2f} | {m['agreements']['f1']:.2f} | "
            f"{m['date_accuracy']:.2f} | {m['evidence_validity']:.3f} | {m['citation_support']:.3f} |")
    if results["options"]["areas"] != "cues":  # the model's picks were asked for: compare the ways
        lines += ["", "Cooperation-area F1 by how areas are chosen (same model output):", "",
                  "| lang | model picks (cue-checked) | cue map only | both |", "|---|---|---|---|"]
        for lang, m in results["by_language"].items():
            v = m["areas_by_variant"]
            lines.append(f"| {lang} | {v['llm']['f1']:.2f} | {v['cues']['f1']:.2f} | {v['both']['f1']:.2f} |")
    arts = [a for a in results["articles"] if "seconds" in a]
    if arts:
        lines += ["", "| article | lang | wall s | llama.cpp s | overhead % | calls (retries) | tokens in/out |",
                  "|---|---|---|---|---|---|---|"]
        for a in arts:
            cached = f" ({a['cached_calls']} cached)" if a["cached_calls"] else ""
            lines.append(f"| {a['doc_id']} | {a['language']} | {a['seconds']} | {a['llama_s']} | {a['overhead_pct']} | "
                         f"{a['calls']} ({a['retries']}){cached} | {a['prompt_tokens']}/{a['completion_tokens']} |")
        arts = [a for a in arts if not a["cached_calls"]]  # totals over articles whose calls all ran
        if not arts:
            return "\n".join(lines)
        wall = sum(a["seconds"] for a in arts)
        llama = sum(a["llama_s"] for a in arts)
        lines.append(f"| **total ({len(arts)} uncached)** | | {wall:.0f} | {llama:.0f} | "
                     f"{100 * (wall - llama) / wall:.1f} | | "
                     f"{sum(a['prompt_tokens'] for a in arts)}/{sum(a['completion_tokens'] for a in arts)} |")
    return "\n".join(lines)


def write_section(results: dict, command: str, load_start: str, load_end: str, minutes: float) -> None:
    """Replace this script's section of benchmarks/RESULTS.md (other sections are left alone)."""
    start, end = "<!-- bench_summarize:start -->", "<!-- bench_summarize:end -->"
    path = ROOT / "benchmarks/RESULTS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    o = results["options"]
    body = "\n".join([
        start, "## Visit summaries (benchmarks/bench_summarize.py)", "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {minutes:.0f} min. Command: `{command}`  ",
        f"Model: the embedded default (Qwen2.5-Coder-1.5B-Instruct Q4_K_M), {o['threads']} thread(s); areas "
        f"`{o['areas']}`; retries {'off' if o['no_retry'] else 'on'}; LLM cache {'on' if o['cache'] else 'off'}.  ",
        f"Load average (1/5/15 min) at start {load_start}, at end {load_end} (2 cores).", "",
        "Scores: coopqa.scoring against evals/labels (seed, corpus/) and evals/dev/labels (dev, ingested into "
        "its own home); field F1 micro-averaged per language; date accuracy per document; evidence validity "
        "= cited ids that exist in the document; citation support = facts whose cited sentences state them "
        "(CLDR country names passed as aliases).", "",
        table(results), "",
        "Wall = `Pipeline.run` per article (server already started); llama.cpp = prompt_ms + predicted_ms "
        "reported by the server for the same calls; overhead = (wall − llama.cpp) / wall.",
        end,
    ])
    if start in text and end in text:
        text = text[: text.index(start)] + body + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    path.write_text(text, encoding="utf-8")


def _load() -> str:
    import os

    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="+", default=["seed", "dev"], choices=sorted(SETS))
    ap.add_argument("--only", nargs="*", help="Only these doc ids.")
    ap.add_argument("--work", default="/tmp/coopqa-bench-summarize", help="Homes for the ingested sets.")
    ap.add_argument("--areas", default="cues", choices=["llm", "cues", "both"],
                    help="How areas are chosen; 'both' runs the model's pick too and reports every variant.")
    ap.add_argument("--no-retry", action="store_true")
    ap.add_argument("--cache", action="store_true", help="Reuse the LLM response cache (timings are then not real).")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=3600.0, help="Seconds per LLM call (a loaded machine is slow).")
    ap.add_argument("--json", help="Write the full results here.")
    ap.add_argument("--write", action="store_true", help="Replace this script's section of benchmarks/RESULTS.md.")
    args = ap.parse_args()
    load_start, started = _load(), time.time()
    results = run(args)
    print()
    print(table(results))
    if args.write:
        command = ".venv/bin/python benchmarks/bench_summarize.py " + " ".join(sys.argv[1:])
        write_section(results, command, load_start, _load(), (time.time() - started) / 60)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
