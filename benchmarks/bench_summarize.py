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
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _results import load_average, write_section  # noqa: E402

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


def _coopqa(llm: LLM, doc, args: argparse.Namespace) -> tuple[dict, dict, dict]:
    """(summary, timing row, area picks by source) of coopqa's Pipeline on one document."""
    started = time.perf_counter()
    pipe = Pipeline(llm, model_name=llm.model, areas=args.areas, retry=not args.no_retry)
    summary, stats = pipe.run(doc)
    wall = time.perf_counter() - started
    row = {"seconds": wall, "llama_s": stats.llama_ms / 1000, "calls": stats.calls, "retries": stats.retries,
           "cached_calls": stats.cached_calls, "prompt_tokens": stats.prompt_tokens,
           "completion_tokens": stats.completion_tokens}
    return to_json(summary), row, pipe.area_sources


def _langextract(runner, doc) -> tuple[dict, dict, dict]:
    """(summary, timing row, no area sources) of LangExtract on one document."""
    data, calls, wall = runner.extract(doc)
    row = {"seconds": wall, "llama_s": calls.llama_ms / 1000, "calls": calls.calls, "retries": 0,
           "cached_calls": 0, "prompt_tokens": calls.prompt_tokens, "completion_tokens": calls.completion_tokens,
           "hit_max_tokens": calls.hit_max_tokens}
    return data, row, {}


def _metrics(scores: dict) -> dict:
    sm, em = summary_metrics(scores["s"]), evidence_metrics(scores["e"])
    return {"documents": sm["documents"], "date_accuracy": sm["date_accuracy"],
            **{f: sm["fields"][f] for f in FIELDS},
            "evidence_validity": em["evidence_validity"], "citation_support": em["citation_support"]}


def run(args: argparse.Namespace) -> dict:
    from coopqa.ingest import ingest

    results: dict = {"articles": [], "systems": {}, "options": vars(args).copy()}
    per: dict[str, dict[str, dict[str, list]]] = {}  # system -> language -> scores
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
        runner = None
        if "langextract" in args.systems:
            from _langextract import LangExtract

            runner = LangExtract(settings, timeout=args.timeout, max_tokens=args.max_tokens)
        doc_ids = [d for d in sorted(labels) if not args.only or d in args.only][: args.limit or None]
        for doc_id in doc_ids:
            doc = store.document(doc_id)
            label = labels[doc_id]
            lang = label.language
            for system in args.systems:
                try:
                    data, row, sources = _coopqa(llm, doc, args) if system == "coopqa" else _langextract(runner, doc)
                except Exception as e:  # noqa: BLE001 - one failing article must not stop the benchmark
                    print(f"{system} {doc_id}: FAILED {type(e).__name__}: {e}", file=sys.stderr, flush=True)
                    results["articles"].append({"system": system, "doc_id": doc_id, "language": lang,
                                                "error": f"{type(e).__name__}: {e}"})
                    continue
                out_dir = Path(args.work) / name / f"summaries-{system}"
                out_dir.mkdir(parents=True, exist_ok=True)
                (out_dir / f"{doc_id}.json").write_text(json.dumps(data, ensure_ascii=False, indent=2),
                                                        encoding="utf-8")
                s_score = score_summary(data, label)
                e_score = score_evidence(data, sentence_texts([doc]), aliases)
                scores = per.setdefault(system, {}).setdefault(lang, {"s": [], "e": [], "areas": {}})
                if sources:  # the same model output scored with each way of choosing cooperation areas
                    variants = {"llm": sources.get("llm", []), "cues": sources.get("cues", []),
                                "both": list(dict.fromkeys(sources.get("llm", []) + sources.get("cues", [])))}
                    for variant, areas in variants.items():
                        alt = {**data, "cooperation_areas": [{"area": a, "evidence": []} for a in areas]}
                        scores["areas"].setdefault(variant, []).append(
                            score_summary(alt, label).fields["cooperation_areas"])
                scores["s"].append(s_score)
                scores["e"].append(e_score)
                wall, llama_s = row["seconds"], row["llama_s"]
                row = {
                    "system": system, "set": name, "doc_id": doc_id, "language": lang, **row,
                    "seconds": round(wall, 1), "llama_s": round(llama_s, 1),
                    "overhead_pct": round(100 * (wall - llama_s) / wall, 1) if wall else 0,
                    "date_ok": s_score.date_correct, **{f: round(s_score.fields[f].f1, 2) for f in FIELDS},
                    "evidence_valid": f"{e_score.valid}/{e_score.cited}",
                    "supported": f"{e_score.supported}/{e_score.facts}",
                    "unsupported": e_score.unsupported, "dropped": len(data["dropped"]),
                }
                results["articles"].append(row)
                print(f"{system:11s} {doc_id} {lang} {wall:6.1f}s llama {llama_s:6.1f}s tok {row['prompt_tokens']}/"
                      f"{row['completion_tokens']} calls {row['calls']} | date {int(s_score.date_correct)} "
                      + " ".join(f"{f[:5]} {row[f]:.2f}" for f in FIELDS)
                      + f" | ev {row['evidence_valid']} sup {row['supported']}", flush=True)
    for system, langs in per.items():
        res = results["systems"][system] = {"by_language": {}}
        for lang, scores in sorted(langs.items()):
            res["by_language"][lang] = {
                **_metrics(scores),
                "areas_by_variant": {v: sum(fs, FieldScore()).metrics() for v, fs in scores["areas"].items()}}
        pooled = {"s": [s for v in langs.values() for s in v["s"]], "e": [e for v in langs.values() for e in v["e"]]}
        res["overall"] = _metrics(pooled)
    return results


def _rows(res: dict) -> dict:
    return {**res["by_language"], "all": res["overall"]}


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.1f}" if values else "–"


def table(results: dict) -> str:
    lines: list[str] = []
    systems = results["systems"]
    ok = [a for a in results["articles"] if "seconds" in a]
    if systems:
        lines += ["Side by side (same articles, same server, same run; field F1 micro-averaged, date accuracy "
                  "per document):", "",
                  "| lang | system | docs | countries F1 | participants F1 | areas F1 | date acc | "
                  "evidence validity | citation support | median s/article | tokens in/out per article | "
                  "llama.cpp s per article |", "|" + "---|" * 12]
        for lang in _rows(next(iter(systems.values()))):
            for system, res in systems.items():
                m = _rows(res).get(lang)
                if not m:
                    continue
                arts = [a for a in ok if a["system"] == system and (lang == "all" or a["language"] == lang)]
                n = max(len(arts), 1)
                lines.append(
                    f"| {lang} | {system} | {m['documents']} | {m['countries']['f1']:.2f} | "
                    f"{m['participants']['f1']:.2f} | {m['cooperation_areas']['f1']:.2f} | {m['date_accuracy']:.2f} | "
                    f"{m['evidence_validity']:.3f} | {m['citation_support']:.3f} | "
                    f"{_median([a['seconds'] for a in arts])} | {sum(a['prompt_tokens'] for a in arts) // n}/"
                    f"{sum(a['completion_tokens'] for a in arts) // n} | {_median([a['llama_s'] for a in arts])} |")
        lines.append("")
    if "coopqa" in systems:
        res = systems["coopqa"]
        lines += ["coopqa, every field:", "",
                  "| lang | docs | countries F1 | participants F1 | areas F1 | orgs F1 | agreements F1 | date acc | "
                  "evidence validity | citation support |", "|" + "---|" * 10]
        for lang, m in _rows(res).items():
            lines.append(
                f"| {lang} | {m['documents']} | {m['countries']['f1']:.2f} | {m['participants']['f1']:.2f} | "
                f"{m['cooperation_areas']['f1']:.2f} | {m['organizations']['f1']:.2f} | {m['agreements']['f1']:.2f} | "
                f"{m['date_accuracy']:.2f} | {m['evidence_validity']:.3f} | {m['citation_support']:.3f} |")
        if results["options"]["areas"] != "cues":  # the model's picks were asked for: compare the ways
            lines += ["", "coopqa cooperation-area F1 by how areas are chosen (same model output):", "",
                      "| lang | model picks (cue-checked) | cue map only | both |", "|---|---|---|---|"]
            for lang, m in res["by_language"].items():
                v = m["areas_by_variant"]
                lines.append(f"| {lang} | {v['llm']['f1']:.2f} | {v['cues']['f1']:.2f} | {v['both']['f1']:.2f} |")
        lines.append("")
    if ok:
        lines += ["| system | article | lang | wall s | llama.cpp s | overhead % | calls (retries) | tokens in/out |",
                  "|---|---|---|---|---|---|---|---|"]
        for a in ok:
            notes = f" ({a['cached_calls']} cached)" if a["cached_calls"] else ""
            notes += f", {a['hit_max_tokens']} hit max_tokens" if a.get("hit_max_tokens") else ""
            lines.append(f"| {a['system']} | {a['doc_id']} | {a['language']} | {a['seconds']} | {a['llama_s']} | "
                         f"{a['overhead_pct']} | {a['calls']} ({a['retries']}){notes} | "
                         f"{a['prompt_tokens']}/{a['completion_tokens']} |")
        for system in systems:
            arts = [a for a in ok if a["system"] == system and not a["cached_calls"]]  # all calls really ran
            if not arts:
                continue
            wall, llama = sum(a["seconds"] for a in arts), sum(a["llama_s"] for a in arts)
            lines.append(f"| **{system} total ({len(arts)} uncached)** | | | {wall:.0f} | {llama:.0f} | "
                         f"{100 * (wall - llama) / wall:.1f} | | "
                         f"{sum(a['prompt_tokens'] for a in arts)}/{sum(a['completion_tokens'] for a in arts)} |")
    failed = [a for a in results["articles"] if "error" in a]
    if failed:
        lines += ["", "Failed articles:", ""] + [f"- {a['system']} {a['doc_id']}: {a['error']}" for a in failed]
    return "\n".join(lines)


def section(results: dict, command: str, load_start: str, load_end: str, minutes: float) -> str:
    o = results["options"]
    lx = "langextract" in o["systems"]
    lx_limit = f", LangExtract max_tokens {o['max_tokens']} per call" if lx else ""
    return "\n".join([
        "## Visit summaries (benchmarks/bench_summarize.py)", "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {minutes:.0f} min. Command: `{command}`  ",
        f"Model: the embedded default (Qwen2.5-Coder-1.5B-Instruct Q4_K_M), {o['threads']} thread(s), one "
        f"llama.cpp server shared by the systems; coopqa areas `{o['areas']}`, retries "
        f"{'off' if o['no_retry'] else 'on'}; LLM cache {'on' if o['cache'] else 'off'}; timeout {o['timeout']:.0f} s "
        f"per call{lx_limit}.  ",
        f"Load average (1/5/15 min) at start {load_start}, at end {load_end} (2 cores; the machine is shared, so "
        "compare systems by their ratios within this run).", "",
        "Scores: coopqa.scoring against evals/labels (seed, corpus/) and evals/dev/labels (dev, ingested into "
        "its own home); evidence validity = cited ids that exist in the document; citation support = facts "
        "whose cited sentences state them (CLDR country names passed as aliases).", "",
        *([f"LangExtract {_version('langextract')} (OpenAI provider, base_url = the embedded server): "
           "benchmarks/langextract_prompt.md plus one made-up English example (benchmarks/_langextract.py), "
           "its defaults otherwise (1000-character chunks, one pass, JSON schema derived from the example, "
           "so llama.cpp constrains the output); countries/participants from its `english_name` attributes, "
           "areas from `area` (values outside the enum dropped), the date from the first valid `iso` attribute; "
           "each extraction's character span gives its evidence sentence. It ran offline: nothing was "
           "downloaded.", ""] if lx else []),
        table(results), "",
        "Wall = one article's `Pipeline.run` (coopqa) or `lx.extract` (LangExtract), the server already "
        "started; llama.cpp = prompt_ms + predicted_ms reported by the server for the same calls; overhead = "
        "(wall − llama.cpp) / wall (target ≤ 10 %).",
    ])


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="+", default=["seed", "dev"], choices=sorted(SETS))
    ap.add_argument("--systems", nargs="+", default=["coopqa", "langextract"], choices=["coopqa", "langextract"])
    ap.add_argument("--only", nargs="*", help="Only these doc ids.")
    ap.add_argument("--limit", type=int, default=0, help="At most N articles per set (0: all).")
    ap.add_argument("--work", default="/tmp/coopqa-bench-summarize", help="Homes for the ingested sets.")
    ap.add_argument("--areas", default="cues", choices=["llm", "cues", "both"],
                    help="How coopqa chooses areas; 'both' runs the model's pick too and reports every variant.")
    ap.add_argument("--no-retry", action="store_true")
    ap.add_argument("--cache", action="store_true", help="Reuse coopqa's LLM response cache (timings not real).")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=3600.0, help="Seconds per LLM call (a loaded machine is slow).")
    ap.add_argument("--max-tokens", type=int, default=1024, help="LangExtract's max_tokens per call.")
    ap.add_argument("--json", help="Write the full results here.")
    ap.add_argument("--write", action="store_true", help="Replace this script's section of benchmarks/RESULTS.md.")
    args = ap.parse_args()
    load_start, started = load_average(), time.time()
    results = run(args)
    print()
    print(table(results))
    if args.write:
        command = ".venv/bin/python benchmarks/bench_summarize.py " + " ".join(sys.argv[1:])
        write_section("bench_summarize", section(results, command, load_start, load_average(),
                                                 (time.time() - started) / 60))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
