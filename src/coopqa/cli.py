"""The `coopqa` command: a thin shell over `coopqa.api.CoopQA`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from coopqa.api import CoopQA
from coopqa.types import LANGUAGES, CoopqaError

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
eval_app = typer.Typer(no_args_is_help=True, help="Measure retrieval, summaries and answers against hand labels.")
app.add_typer(eval_app, name="eval")

HomeOpt = Annotated[Path | None, typer.Option("--home", help="Index and caches (default $COOPQA_HOME or ./.coopqa).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (see the output contract).")]


def _coop(ctx: typer.Context) -> CoopQA:
    return ctx.obj


def _emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(1)


@app.callback()
def main_options(
    ctx: typer.Context,
    home: HomeOpt = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Bypass the LLM response cache.")] = False,
) -> None:
    """coopqa: cited knowledge from English, Arabic and Persian cultural-diplomacy news."""
    overrides: dict[str, Any] = {}
    if home is not None:
        overrides["home"] = home
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


def main() -> None:
    """Entry point: `--home`/`--no-cache` may stand anywhere; expected failures print one line."""
    argv = sys.argv[1:]
    hoisted: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--home" and i + 1 < len(argv):
            hoisted += argv[i : i + 2]
            i += 2
            continue
        if a.startswith("--home=") or a == "--no-cache":
            hoisted.append(a)
        else:
            rest.append(a)
        i += 1
    try:
        app(args=hoisted + rest, prog_name="coopqa", standalone_mode=True)
    except CoopqaError as e:
        typer.secho(f"error: {e}", fg="red", err=True)
        sys.exit(1)
