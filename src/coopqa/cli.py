"""The `coopqa` command: a thin shell over `coopqa.api.CoopQA`."""

from __future__ import annotations

import copy
import inspect
import json
import sys
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import typer
from pydantic import ValidationError

from coopqa.api import CoopQA
from coopqa.store import vector_store_failure
from coopqa.types import LANGUAGES, CoopqaError

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
eval_app = typer.Typer(
    no_args_is_help=True,
    help="Measure retrieval, summaries and answers against hand labels.\n\n"
         "Without a command, `coopqa eval [OPTIONS]` runs `coopqa eval run [OPTIONS]`.",
)
app.add_typer(eval_app, name="eval")

HomeOpt = Annotated[Path | None, typer.Option("--home", help="Index and caches (default $COOPQA_HOME or ./.coopqa).")]
ChromaUrlOpt = Annotated[str | None, typer.Option(
    "--chroma-url", help="Vectors on this Chroma server (http://host:port; default $COOPQA_CHROMA_URL, else "
                         "embedded under --home). The manifest stays under --home.")]
CollectionOpt = Annotated[str | None, typer.Option(
    "--collection", help="Chroma collection, one per corpus (default $COOPQA_COLLECTION or coopqa).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (see the output contract).")]


def _coop(ctx: typer.Context) -> CoopQA:
    return ctx.obj


def _emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


ConcurrencyOpt = Annotated[int | None, typer.Option(
    "--concurrency", "-j", min=1, show_default=False,
    help="Model requests in flight at once (default $COOPQA_CONCURRENCY or 1); for a server with parallel slots "
         "(llama-server --parallel N, vLLM). The embedded model gets as many slots, each n_ctx tokens of memory.")]


def _with_concurrency(ctx: typer.Context, concurrency: int | None) -> CoopQA:
    """The command's CoopQA, with --concurrency applied (before any model server is started)."""
    if concurrency is not None:
        ctx.obj = CoopQA(_coop(ctx).settings, concurrency=concurrency)
    return _coop(ctx)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(1)


@app.callback()
def main_options(
    ctx: typer.Context,
    home: HomeOpt = None,
    chroma_url: ChromaUrlOpt = None,
    collection: CollectionOpt = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Bypass the LLM response cache.")] = False,
) -> None:
    """coopqa: cited knowledge from English, Arabic and Persian cultural-diplomacy news."""
    given = {"home": home, "chroma_url": chroma_url, "collection": collection}
    overrides: dict[str, Any] = {key: value for key, value in given.items() if value is not None}
    if no_cache:
        overrides["cache"] = False
    ctx.obj = CoopQA(**overrides)


@app.command("ingest")
def ingest_cmd(
    ctx: typer.Context,
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders (default: corpus/).")] = None,
    prune: Annotated[bool, typer.Option("--prune", help="Remove documents whose files are gone.")] = False,
) -> None:
    """Index .txt, .md, .html, .json and .jsonl files; unchanged documents cost nothing."""
    report = _coop(ctx).ingest(paths, prune=prune, progress=lambda d: typer.echo(f"  indexing {d}", err=True))
    for e in report.errors:
        typer.secho(f"error: {e}", fg="red", err=True)
    typer.echo(
        f"{report.indexed} documents indexed ({len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.removed)} removed); "
        f"{report.embedded} sentences embedded; {len(report.errors)} errors"
    )
    if report.errors and not (report.added or report.updated or report.unchanged):
        raise typer.Exit(1)


@app.command("doctor")
def doctor_cmd(
    ctx: typer.Context,
    repair: Annotated[bool, typer.Option("--repair", help="Fix what is found (re-ingests changed files).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check the index against its manifest and corpus files: orphaned/missing vectors, embedding model, schema
    and pipeline versions, changed or gone files. Exit 1 when inconsistent (after --repair: still)."""
    report = _coop(ctx).doctor(repair=repair)
    if as_json:
        return _emit_json({"consistent": report.consistent, "found": report.found.as_json(),
                           "after": report.after.as_json() if report.after else None})
    for line in report.found.lines():
        typer.echo(line)
    if report.after is not None:
        typer.echo("after repair: " + "\n".join(report.after.lines()))
    if report.consistent:
        typer.secho("ok: the index is consistent", fg="green")
        return None
    hint = "repair did not fix everything" if report.after else "run `coopqa doctor --repair`"
    typer.secho(f"inconsistent: {hint}", fg="red", err=True)
    raise typer.Exit(1)


@app.command("docs")
def docs_cmd(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List indexed documents: id, language, date, sentences, title."""
    rows = _coop(ctx).docs()
    if as_json:
        return _emit_json(rows)
    for r in rows:
        typer.echo(f"{r['doc_id']}\t{r['language']}\t{r['date'] or '-'}\t{r['sentences']}\t{r['title']}")


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    doc_id: str,
    sentences: Annotated[bool, typer.Option("--sentences", help="List sentences with ids and offsets.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show a document (or its sentences with ids and character offsets)."""
    doc = _coop(ctx).document(doc_id)
    if sentences:
        rows = [s.model_dump() for s in doc.sentences]
        if as_json:
            return _emit_json(rows)
        for s in doc.sentences:
            flag = " [boilerplate]" if s.boilerplate else ""
            typer.echo(f"{s.id}\t{s.start}-{s.end}{flag}\t{s.text}")
        return None
    if as_json:
        return _emit_json(doc.model_dump(exclude={"sentences"}))
    typer.echo(f"# {doc.title}\n{doc.doc_id} · {doc.language} · {doc.date or 'undated'} · {doc.path}\n")
    typer.echo(doc.text)
    return None


@app.command("search")
def search_cmd(
    ctx: typer.Context,
    query: str,
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="Number of hits.")] = 5,
    lang: Annotated[str | None, typer.Option("--lang", help="Only documents in en, ar or fa.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Ranked sentences for a question in any language."""
    if lang is not None and lang not in LANGUAGES:
        _fail(f"--lang must be one of {', '.join(LANGUAGES)}")
    hits = _coop(ctx).search(query, k, lang)
    if as_json:
        return _emit_json([
            {"rank": n, "id": h.id, "doc_id": h.doc_id, "score": round(h.score, 4), "language": h.language,
             "text": h.text} for n, h in enumerate(hits, 1)
        ])
    for n, h in enumerate(hits, 1):
        typer.echo(f"{n}. [{h.id}] ({h.language}, {h.score:.3f}) {h.text}")
    return None


# ---------------------------------------------------------------- questions (coopqa.answer, coopqa.chat)

AskLangOpt = Annotated[str, typer.Option("--lang", help="Answer language: auto (the question's), en, ar or fa.")]


def _print_answer(result: dict) -> None:
    """The answer, then its numbered citations: document, sentence id and the sentence."""
    typer.echo(result["answer"])
    for c in result["citations"]:
        typer.echo(f"  [{c['marker']}] {c['id']}  {c['text']}")


@app.command("ask")
def ask_cmd(
    ctx: typer.Context,
    question: str,
    k: Annotated[int | None, typer.Option("-k", min=1, max=100, help="Retrieved sentences to consider.")] = None,
    lang: AskLangOpt = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Answer a question (English, Arabic or Persian) from the corpus, with verified citations."""
    if lang not in ("auto", *LANGUAGES):
        _fail(f"--lang must be auto or one of {', '.join(LANGUAGES)}")
    result = _coop(ctx).ask(question, k=k, lang=lang)
    return _emit_json(result) if as_json else _print_answer(result)


@app.command("chat")
def chat_cmd(
    ctx: typer.Context,
    k: Annotated[int | None, typer.Option("-k", min=1, max=100, help="Retrieved sentences to consider.")] = None,
    lang: AskLangOpt = "auto",
) -> None:
    """Interactive questions with follow-ups: /sources, /json, /quit. Plain text when not on a terminal."""
    from coopqa.chat import ChatSession

    if lang not in ("auto", *LANGUAGES):
        _fail(f"--lang must be auto or one of {', '.join(LANGUAGES)}")
    ChatSession(_coop(ctx), k=k, lang=lang).run()


# ---------------------------------------------------------------- eval (coopqa.evaluate)

DevOpt = Annotated[bool, typer.Option("--dev", help="The synthetic dev set (evals/dev) instead of the seeds.")]
CorpusOpt = Annotated[Path | None, typer.Option(
    "--corpus", help="Corpus folder (default corpus/; evals/dev/docs with --dev). Another corpus uses only the "
                     "label paths given with it.")]
LabelsOpt = Annotated[Path | None, typer.Option("--labels", help="Label folder (default evals/labels).")]
CrossOpt = Annotated[Path | None, typer.Option(
    "--cross", help="Cross-document questions (default evals/cross_doc.json).")]
QueriesOpt = Annotated[Path | None, typer.Option(
    "--queries", "--retrieval", help="Retrieval queries, JSONL (default evals/retrieval.jsonl).")]
MinOpt = Annotated[float | None, typer.Option(min=0.0, show_default=False)]


def _shown(path: Path | None) -> str:
    if path is None:
        return "-"
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _eval_progress(message: str) -> None:
    typer.echo(f"  {message}", err=True)


def _check_mins(report: dict, mins: dict[str, float], sections: set[str]) -> bool:
    """Print each minimum's outcome; False when one is not met (a metric missing from a section that ran
    counts as not met; one of a section left out with --only is skipped)."""
    from coopqa.evaluate import threshold_section
    from coopqa.report import check_thresholds

    checked = {p: v for p, v in mins.items() if threshold_section(p) in sections}
    for path in sorted(set(mins) - set(checked)):
        typer.echo(f"threshold skipped (section not run): {path}", err=True)
    failures = check_thresholds(report, checked)
    for f in failures:
        typer.secho(f"FAIL {f}", fg="red", err=True)
    if checked and not failures:
        typer.secho(f"all {len(checked)} thresholds met", fg="green", err=True)
    return not failures


@eval_app.command("check-labels")
def eval_check_labels_cmd(
    labels: LabelsOpt = None, corpus: CorpusOpt = None, cross: CrossOpt = None, retrieval: QueriesOpt = None,
    dev: DevOpt = False,
) -> None:
    """Check label files, cross-document questions and retrieval queries against their articles."""
    from coopqa.evaluate import eval_set
    from coopqa.labels import check_labels

    chosen = eval_set(dev, corpus, labels, cross, retrieval)
    if chosen.labels is None:
        _fail("--corpus needs --labels DIR")
    problems = check_labels(chosen.labels, chosen.corpus, chosen.cross, chosen.retrieval)
    for p in problems:
        typer.echo(p)
    if problems:
        typer.secho(f"{len(problems)} problem(s) in the labels of {_shown(chosen.corpus)}", fg="red", err=True)
        raise typer.Exit(1)
    checked = [f"{len(list(Path(chosen.labels).glob('*.json')))} label files"]
    checked += [f"cross-document questions {_shown(chosen.cross)}"] if chosen.cross else []
    checked += [f"retrieval queries {_shown(chosen.retrieval)}"] if chosen.retrieval else []
    typer.echo(f"ok ({chosen.name}): {', '.join(checked)} match {_shown(chosen.corpus)}")


@eval_app.command("retrieval")
def eval_retrieval_cmd(
    ctx: typer.Context,
    corpus: CorpusOpt = None,
    queries: QueriesOpt = None,
    dev: DevOpt = False,
    k: Annotated[list[str] | None, typer.Option("-k", help="Cut-offs for recall@k: -k 1 -k 5 or -k 1,5,10.")] = None,
    as_json: JsonOpt = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List queries without gold at rank 1.")] = False,
    min_recall5: Annotated[float | None, typer.Option(help="Exit 1 when overall recall@5 is lower.")] = None,
    min_mrr: Annotated[float | None, typer.Option(help="Exit 1 when overall MRR is lower.")] = None,
) -> None:
    """recall@k and MRR of `coopqa search` per query language, per language pair, cross-lingual and overall.

    The corpus is indexed in <home>/eval/<name>-<hash> (only when it changed), so re-runs only search."""
    from coopqa.evaluate import eval_set, format_misses, format_retrieval_table, parse_ks, run_retrieval_eval

    ks = parse_ks(k)
    if min_recall5 is not None and 5 not in ks:
        ks = tuple(sorted({*ks, 5}))
    chosen = eval_set(dev, corpus, None, None, queries)
    if corpus is not None and queries is None:
        _fail("--corpus needs --queries FILE")
    run = run_retrieval_eval(_coop(ctx).settings, chosen, ks, progress=_eval_progress)
    if as_json:
        _emit_json(run.as_json())
    else:
        reindexed = f"{len(run.changed)} reindexed" if run.changed else "index unchanged"
        typer.echo(f"retrieval · {chosen.name} · {len(run.scores)} queries · {_shown(chosen.corpus)} "
                   f"({reindexed}) · index {run.seconds['index']:.1f}s, search {run.seconds['search']:.1f}s\n")
        typer.echo(format_retrieval_table(run.breakdown, run.ks, run.depth))
        if verbose:
            typer.echo("\n" + format_misses(run))
    for p in run.problems:
        typer.secho(f"warning: {p}", fg="yellow", err=True)
    mins = {path: v for path, v in (("overall.retrieval.recall@5", min_recall5), ("overall.retrieval.mrr", min_mrr))
            if v is not None}
    if mins and not _check_mins({"overall": {"retrieval": run.breakdown["overall"]}}, mins, {"retrieval"}):
        raise typer.Exit(1)


def eval_run_cmd(
    ctx: typer.Context,
    corpus: CorpusOpt = None,
    labels: LabelsOpt = None,
    cross: CrossOpt = None,
    retrieval: QueriesOpt = None,
    dev: DevOpt = False,
    predictions: Annotated[Path | None, typer.Option(
        "--predictions", help="Score outputs from files instead of running coopqa: summaries/<doc_id>.json, "
                              "answers.jsonl, rankings.json (see evals/fixtures/worked).")] = None,
    only: Annotated[str | None, typer.Option(
        "--only", help="Comma-separated sections: summaries,answers,retrieval (default all).")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", help="TOML file with a [min] table of metric minimums (e.g. evals/thresholds.toml).")] = None,
    out: Annotated[Path, typer.Option(
        "-o", "--out", help="Folder for eval-report.json/.html (and a live run's outputs).")] = Path("."),
    min_summary_f1: MinOpt = None,
    min_evidence_validity: MinOpt = None,
    min_citation_support: MinOpt = None,
    min_answer_accuracy: MinOpt = None,
    min_citation_recall: MinOpt = None,
    min_citation_precision: MinOpt = None,
    min_abstention: MinOpt = None,
    min_recall5: MinOpt = None,
    min_mrr: MinOpt = None,
    min_metric: Annotated[list[str] | None, typer.Option(
        "--min", help="PATH=VALUE minimum for any metric of eval-report.json, e.g. "
                      "by_language.fa.answers.answerable.accuracy=0.5 (repeatable).")] = None,
    fail_fast: Annotated[bool, typer.Option("--fail-fast", help="Stop at the first failing summary/answer.")]
    = False,
    concurrency: ConcurrencyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Score summaries, answers (English and native questions, unanswerable, cross-document) and retrieval;
    print per-language tables, write eval-report.json and eval-report.html, exit 1 under a minimum."""
    from coopqa import evaluate
    from coopqa.report import write_report

    sections = set(evaluate.SECTIONS) if not only else {s.strip() for s in only.split(",") if s.strip()}
    mins = evaluate.load_thresholds(config) if config else {}
    flags = {"summary-f1": min_summary_f1, "evidence-validity": min_evidence_validity,
             "citation-support": min_citation_support, "answer-accuracy": min_answer_accuracy,
             "citation-recall": min_citation_recall, "citation-precision": min_citation_precision,
             "abstention": min_abstention, "recall5": min_recall5, "mrr": min_mrr}
    mins |= {evaluate.threshold_path(name): v for name, v in flags.items() if v is not None}
    for item in min_metric or []:
        path, sep, value = item.partition("=")
        try:
            mins[evaluate.threshold_path(path)] = float(value)
        except ValueError:
            _fail(f"--min {item!r}: expected PATH=NUMBER")
        if not sep:
            _fail(f"--min {item!r}: expected PATH=NUMBER")
    chosen = evaluate.eval_set(dev, corpus, labels, cross, retrieval)
    settings = _with_concurrency(ctx, concurrency).settings
    run = evaluate.run_eval(settings, chosen, predictions=predictions, only=sections, out_dir=out,
                            progress=_eval_progress, fail_fast=fail_fast)
    json_path, html_path = write_report(run.report, out)
    if as_json:
        _emit_json(run.report)
    else:
        mode = f"predictions {_shown(predictions)}" if predictions else "live"
        typer.echo(f"eval · {chosen.name} · {mode} · {_shown(chosen.corpus)} · {run.report['meta']['elapsed_s']}s\n")
        typer.echo(evaluate.format_report_tables(run.report))
        counts = evaluate.failure_counts(run.report)
        if counts:
            typer.echo("\nfailing items: " + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())))
        typer.echo(f"\nreport: {_shown(json_path)}, {_shown(html_path)}"
                   + (f"; outputs: {_shown(run.predictions_dir)}" if run.predictions_dir else ""))
    for note in run.notes[:20]:
        typer.secho(f"note: {note}", fg="yellow", err=True)
    if len(run.notes) > 20:
        typer.secho(f"note: … {len(run.notes) - 20} more under 'notes' in {_shown(json_path)}", fg="yellow", err=True)
    if mins and not _check_mins(run.report, mins, sections):
        raise typer.Exit(1)


eval_app.command("run")(eval_run_cmd)


def _hidden_options(func: Any) -> inspect.Signature:
    """func's signature with every typer option hidden from --help."""
    sig = inspect.signature(func, eval_str=True)
    params = []
    for p in sig.parameters.values():
        annotation = p.annotation
        if get_origin(annotation) is Annotated:
            base, *extras = get_args(annotation)
            extras = [copy.copy(x) for x in extras]
            for x in extras:
                if hasattr(x, "hidden"):
                    x.hidden = True
            annotation = Annotated[(base, *extras)]
        params.append(p.replace(annotation=annotation))
    return sig.replace(parameters=params)


@eval_app.callback(invoke_without_command=True)
def eval_default(ctx: typer.Context, **options: Any) -> None:
    """Measure retrieval, summaries and answers against hand labels.

    Without a command, `coopqa eval [OPTIONS]` is `coopqa eval run [OPTIONS]` (see `coopqa eval run --help`)."""
    if ctx.invoked_subcommand is None:
        return eval_run_cmd(ctx, **options)
    given = [name for name in options if (src := ctx.get_parameter_source(name)) and src.name != "DEFAULT"]
    if given:
        _fail(f"options of `coopqa eval run` ({', '.join('--' + g.replace('_', '-') for g in given)}) given before "
              f"`{ctx.invoked_subcommand}`: put them after it")
    return None


eval_default.__signature__ = _hidden_options(eval_run_cmd)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- summaries, briefings, schema, model

schema_app = typer.Typer(no_args_is_help=True, help="The JSON schemas of coopqa's outputs.")
app.add_typer(schema_app, name="schema")


@app.command("summarize")
def summarize_cmd(
    ctx: typer.Context,
    doc_ids: Annotated[list[str] | None, typer.Argument(help="Document ids (see `coopqa docs`).")] = None,
    all_docs: Annotated[bool, typer.Option("--all", help="Every indexed document.")] = False,
    as_json: JsonOpt = False,
    as_md: Annotated[bool, typer.Option("--md", help="Markdown, each fact footnoted with its sentence (default).")]
    = False,
    out_dir: Annotated[Path | None, typer.Option("-o", "--out", help="Write <doc_id>.json/.md files here.")] = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="Recompute even if a stored summary is current.")]
    = False,
    concurrency: ConcurrencyOpt = None,
) -> None:
    """Verified visit summaries: every field cites the sentences that prove it (contract JSON with --json)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from coopqa.brief import store_lookup, summary_markdown
    from coopqa.files import atomic_write

    coop = _with_concurrency(ctx, concurrency)
    if all_docs == bool(doc_ids):
        _fail("give DOC_ID... or --all (not both)")
    ids = [r["doc_id"] for r in coop.docs()] if all_docs else list(doc_ids or [])
    if not ids:
        _fail("no documents indexed: run `coopqa ingest PATH` first")
    for doc_id in ids:
        coop.document(doc_id)  # unknown ids fail before any model work
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    lookup = store_lookup(coop.store)
    done: list[dict] = []
    failed = 0
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=len(ids) < 2 or not console.is_terminal) as bar:
        task = bar.add_task("summarizing", total=len(ids))
        try:
            for doc_id, data, error in coop.summarize_many(ids, refresh=refresh):
                bar.update(task, advance=1, description=f"summarizing {doc_id}")
                if error is not None:
                    failed += 1
                    console.print(f"[red]error:[/red] {doc_id}: {error}", highlight=False)
                    continue
                assert data is not None
                done.append(data)
                if out_dir is not None:
                    atomic_write(out_dir / f"{doc_id}.json", json.dumps(data, ensure_ascii=False, indent=2) + "\n")
                    atomic_write(out_dir / f"{doc_id}.md", summary_markdown(data, lookup))
                elif len(ids) > 1 and not console.is_terminal:
                    typer.echo(f"  {doc_id}: done", err=True)
        except KeyboardInterrupt:
            console.print(f"interrupted: {len(done)} finished summaries are saved under "
                          f"{coop.settings.home / 'summaries'}; run again to resume")
            raise typer.Exit(130) from None
    order = {doc_id: n for n, doc_id in enumerate(ids)}
    done.sort(key=lambda d: order.get(d["doc_id"], len(order)))  # finished in any order, shown in the order asked
    if out_dir is not None:
        typer.echo(f"{len(done)} summaries written to {out_dir}" + (f"; {failed} failed" if failed else ""))
    elif as_json:
        _emit_json(done[0] if len(ids) == 1 and done else done)
    else:
        typer.echo("\n\n".join(summary_markdown(d, lookup) for d in done), nl=False)
    if failed:
        raise typer.Exit(1)


@app.command("brief")
def brief_cmd(
    ctx: typer.Context,
    country: Annotated[str | None, typer.Option("--country", help="Only this partner country (any language).")]
    = None,
    since: Annotated[str | None, typer.Option("--since", help="From this date (YYYY[-MM[-DD]]).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Until this date (YYYY[-MM[-DD]]).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="md or html (self-contained page).")] = "md",
    out: Annotated[Path | None, typer.Option("-o", "--out", help="Write to this file instead of stdout.")] = None,
) -> None:
    """A briefing over the stored summaries: newest first, by partner country, every statement footnoted."""
    if fmt not in ("md", "html"):
        _fail("--format must be md or html")
    coop = _coop(ctx)
    if not coop.summaries.all():
        _fail("no summaries yet: run `coopqa summarize --all` first")
    text = coop.briefing(country=country, since=since, until=until, fmt=fmt)
    if out is None:
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    typer.echo(str(out))


@schema_app.command("export")
def schema_export_cmd(
    out: Annotated[Path | None, typer.Option("-o", "--out", help="Default schemas/visit_summary.schema.json.")]
    = None,
    openapi: Annotated[Path | None, typer.Option("--openapi", help="Default schemas/openapi.json.")] = None,
    check: Annotated[bool, typer.Option("--check", help="Only check that the files are current (exit 1 if stale).")]
    = False,
) -> None:
    """Export the visit-summary JSON schema and the web API's OpenAPI spec from their Pydantic models."""
    from coopqa.visit import export_schema, schema_is_current
    from coopqa.web import export_openapi, openapi_is_current

    if check:
        if not schema_is_current(out):
            _fail("the schema file is stale: run `coopqa schema export`")
        if not openapi_is_current(openapi):
            _fail("the OpenAPI spec is stale: run `coopqa schema export`")
        typer.echo("schemas are current")
        return
    typer.echo(str(export_schema(out)))
    typer.echo(str(export_openapi(openapi)))


@app.command("serve")
def serve_cmd(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option("--port", min=0, max=65535, help="Port (default 8000).")] = None,
) -> None:
    """The web workspace (ask, read the cited article, visits, briefing) and its JSON API at http://HOST:PORT."""
    from coopqa.web import serve

    coop = _coop(ctx)
    serve(coop, host or coop.settings.host, coop.settings.port if port is None else port)


@app.command("model")
def model_cmd(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Show the LLM backend and check that it answers."""
    from coopqa.llm import health_check, model_info

    settings = _coop(ctx).settings
    info = model_info(settings)
    ok, message, seconds = health_check(settings)
    if as_json:
        _emit_json({**info, "ok": ok, "message": message, "seconds": round(seconds, 2)})
    else:
        for key, value in info.items():
            typer.echo(f"{key}: {value}")
        typer.secho(("ok: " if ok else "error: ") + message, fg="green" if ok else "red", err=not ok)
    if not ok:
        raise typer.Exit(1)


GLOBAL_VALUE_OPTIONS = ("--home", "--chroma-url", "--collection")


def main() -> None:
    """Entry point: the global options (--home, --chroma-url, --collection, --no-cache) may stand anywhere;
    expected failures print one line."""
    argv = sys.argv[1:]
    hoisted: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in GLOBAL_VALUE_OPTIONS and i + 1 < len(argv):
            hoisted += argv[i : i + 2]
            i += 2
            continue
        if a.startswith(tuple(f"{o}=" for o in GLOBAL_VALUE_OPTIONS)) or a == "--no-cache":
            hoisted.append(a)
        else:
            rest.append(a)
        i += 1
    try:
        app(args=hoisted + rest, prog_name="coopqa", standalone_mode=True)
    except CoopqaError as e:
        typer.secho(f"error: {e}", fg="red", err=True)
        sys.exit(1)
    except ValidationError as e:
        if e.title != "Settings":
            raise
        for err in e.errors(include_url=False):  # a bad COOPQA_* value
            where = f"COOPQA_{str(err['loc'][0]).upper()}" if err["loc"] else "settings"
            typer.secho(f"error: {where}: {err['msg']}", fg="red", err=True)
        sys.exit(1)
    except Exception as e:
        if (reason := vector_store_failure(e)) is None:
            raise
        typer.secho(f"error: {reason}", fg="red", err=True)
        sys.exit(1)
