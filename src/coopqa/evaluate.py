"""The eval runner behind `coopqa eval`: label checks, the retrieval eval and the full run (summaries,
answers, retrieval) against hand labels, either live through `CoopQA` or from prediction files.

- Every corpus is indexed in its own eval home, `<home>/eval/<corpus name>-<hash of its path>`; a corpus
  whose documents are already indexed unchanged is not touched (no lock, no ingest), so re-runs are free.
- Live runs cache each summary and answer as JSON under `<eval home>/cache/eval/`, keyed by the system
  fingerprint (hash of the package code outside the eval modules, of prompts/, of the model and its
  parameters) and the input (the document's sha256; the question and the corpus version). Nothing
  changed → nothing is recomputed; code or prompts changed → recomputed, with the LLM's own response
  cache still answering unchanged model calls.
- Prediction files use the output contract: `summaries/<doc_id>.json`, `answers.jsonl` (one answer object
  a line) and optionally `rankings.json` (query id → ranked sentence ids). A live run writes the same
  layout to `<out>/eval-report.predictions/`, so a run can be re-scored, diffed or compared with another system.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coopqa.api import CoopQA
from coopqa.batch import run_all
from coopqa.files import atomic_write
from coopqa.ingest import IngestReport, build_document
from coopqa.labels import (
    CrossDocItem,
    Label,
    RetrievalQuery,
    load_cross_doc,
    load_labels,
    load_retrieval,
)
from coopqa.readers import ReadError, discover, read_file
from coopqa.report import build_report
from coopqa.scoring import (
    AnswerScore,
    GoldQuestion,
    RetrievalScore,
    answer_metrics,
    gold_questions,
    retrieval_metrics,
    score_answers,
    score_evidence,
    score_retrieval,
    score_summary,
    sentence_texts,
)
from coopqa.settings import PROJECT_ROOT, PROMPTS_DIR, Settings
from coopqa.store import StoreError
from coopqa.text import normalize
from coopqa.types import LANGUAGES, SCHEMA_VERSION, CoopqaError, Document

Progress = Callable[[str], None]
SECTIONS = ("summaries", "answers", "retrieval")
RETRIEVAL_KS = (1, 5, 10)
MIN_DEPTH = 10  # rankings are at least this deep, so MRR is MRR@10 or deeper
EVAL_CACHE_VERSION = 1
PREDICTIONS_DIR = "eval-report.predictions"  # a live run's outputs, next to eval-report.json
# Modules that score or present results; editing them does not change what the system outputs.
EVAL_ONLY_MODULES = frozenset({"evaluate.py", "scoring.py", "report.py", "labels.py", "cli.py", "__main__.py"})
_LANG_ORDER = {lang: n for n, lang in enumerate(LANGUAGES)}


def _lang_key(lang: str) -> tuple[int, str]:
    return _LANG_ORDER.get(lang, len(_LANG_ORDER)), lang


# ---------------------------------------------------------------- eval sets


@dataclass(frozen=True)
class EvalSet:
    """The material of one eval: a corpus folder and, where there are any, its labels, cross-document
    questions and retrieval queries."""

    name: str
    corpus: Path
    labels: Path | None = None
    cross: Path | None = None
    retrieval: Path | None = None


SEEDS = EvalSet("seeds", PROJECT_ROOT / "corpus", PROJECT_ROOT / "evals/labels", PROJECT_ROOT / "evals/cross_doc.json",
                PROJECT_ROOT / "evals/retrieval.jsonl")
DEV = EvalSet("dev", PROJECT_ROOT / "evals/dev/docs", PROJECT_ROOT / "evals/dev/labels",
              PROJECT_ROOT / "evals/dev/cross_doc.json", PROJECT_ROOT / "evals/dev/retrieval.jsonl")


def eval_set(dev: bool = False, corpus: Path | None = None, labels: Path | None = None, cross: Path | None = None,
             retrieval: Path | None = None) -> EvalSet:
    """The seed set (the dev set with `dev`) with any of its paths replaced. With another corpus, the
    default labels, questions and queries do not apply: only the paths given are used. Missing paths
    raise CoopqaError."""
    base = DEV if dev else SEEDS
    if corpus is None:
        chosen = EvalSet(base.name, base.corpus, labels or base.labels, cross or base.cross,
                         retrieval or base.retrieval)
    else:
        chosen = EvalSet("custom", Path(corpus), labels, cross, retrieval)
    checks = (("corpus", chosen.corpus, Path.exists), ("labels", chosen.labels, Path.is_dir),
              ("cross-document questions", chosen.cross, Path.is_file),
              ("retrieval queries", chosen.retrieval, Path.is_file))
    for what, path, ok in checks:
        if path is not None and not ok(Path(path)):
            raise CoopqaError(f"{what}: {path} does not exist" if not Path(path).exists()
                              else f"{what}: {path} is not a {'folder' if what == 'labels' else 'file'}")
    return chosen


def read_corpus(corpus: Path) -> tuple[dict[str, Document], list[str]]:
    """Documents of a corpus folder as ingestion builds them (language, sentences with ids), without
    indexing anything; and the read errors."""
    files, errors = discover([Path(corpus)])
    docs: dict[str, Document] = {}
    for path in files:
        try:
            raws, record_errors = read_file(path)
        except ReadError as e:
            errors.append(e)
            continue
        errors += record_errors
        for raw in raws:
            docs.setdefault(raw.doc_id, build_document(raw))
    return docs, [str(e) for e in errors]


# ---------------------------------------------------------------- eval homes


def eval_home(home: Path, corpus: Path) -> Path:
    """Where a corpus is indexed for evals: `<home>/eval/<folder name>-<hash of its absolute path>`."""
    path = Path(corpus).resolve()
    return Path(home) / "eval" / f"{path.name}-{hashlib.sha256(str(path).encode()).hexdigest()[:10]}"


@dataclass
class EvalCorpus:
    """A corpus indexed in its eval home."""

    coop: CoopQA
    docs: dict[str, Document]
    changed: list[str]  # documents (re)indexed or removed by this call
    errors: list[str]
    seconds: float

    @property
    def version(self) -> str:
        """Content hash of the indexed documents (changes when any document does)."""
        blob = "\n".join(f"{d}:{doc.sha256}" for d, doc in sorted(self.docs.items()))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _ingest(coop: CoopQA, corpus: Path, progress: Progress | None, wait_s: float = 120.0) -> IngestReport:
    """Ingest, waiting for another process that holds the writer lock of the same eval home."""
    deadline = time.monotonic() + wait_s
    told = False
    while True:
        try:
            return coop.ingest([corpus], prune=True, progress=lambda d: progress and progress(f"indexing {d}"))
        except StoreError as e:
            if "another coopqa process" not in str(e) or time.monotonic() > deadline:
                raise
            if progress and not told:
                progress(f"waiting for another coopqa process indexing {coop.settings.home}")
                told = True
            time.sleep(0.5)


def open_corpus(settings: Settings, corpus: Path, progress: Progress | None = None) -> EvalCorpus:
    """The corpus indexed in its eval home under `settings.home`, ingesting only when a document was added,
    changed or removed."""
    started = time.perf_counter()
    docs, errors = read_corpus(corpus)
    if not docs:
        raise CoopqaError(f"{corpus}: no readable documents" + (f" ({errors[0]})" if errors else ""))
    home = eval_home(settings.home, corpus)
    # On a shared Chroma server each eval corpus needs its own collection (embedded, its home separates it).
    name = re.sub(r"[^A-Za-z0-9._-]", "_", f"{settings.collection}-eval-{home.name}").strip("._-")
    coop = CoopQA(settings, home=home, **({"collection": name} if settings.chroma_url else {}))
    changed: list[str] = []
    if {r["doc_id"]: r["sha256"] for r in coop.docs()} != {d: doc.sha256 for d, doc in docs.items()}:
        report = _ingest(coop, Path(corpus), progress)
        changed = report.added + report.updated + report.removed
    return EvalCorpus(coop, docs, changed, errors, time.perf_counter() - started)


# ---------------------------------------------------------------- retrieval


def rank_queries(coop: CoopQA, queries: Sequence[RetrievalQuery], depth: int) -> dict[str, list[str]]:
    """Query id → the sentence ids `CoopQA.search` ranks for it (all languages)."""
    return {q.id: [h.id for h in coop.search(q.query, depth)] for q in queries}


def score_rankings(queries: Sequence[RetrievalQuery], rankings: Mapping[str, Sequence[str]],
                   docs: Mapping[str, Document]) -> tuple[list[RetrievalScore], list[str]]:
    """Scores of the rankings (a query without one ranks nothing), and the queries that cannot be scored
    because their document is missing or their support matches none of its sentences."""
    scores, problems = [], []
    for q in queries:
        doc = docs.get(q.doc_id)
        if doc is None:
            problems.append(f"{q.id}: no document {q.doc_id!r} in the corpus; query skipped")
            continue
        score = score_retrieval(q, list(rankings.get(q.id, [])), doc)
        if not score.gold:
            problems.append(f"{q.id}: its support matches no sentence of {q.doc_id}; query skipped")
            continue
        if q.id not in rankings:
            problems.append(f"{q.id}: no ranking (scored as retrieving nothing)")
        scores.append(score)
    return scores, problems


def first_rank(score: RetrievalScore) -> int | None:
    """Rank of the first gold sentence (None when none is ranked)."""
    return next((r for r, sid in enumerate(score.ranked, 1) if sid in score.gold), None)


def _groups(scores: Iterable[RetrievalScore], key: Callable[[RetrievalScore], str]) -> dict[str, list]:
    groups: dict[str, list] = {}
    for s in scores:
        groups.setdefault(key(s), []).append(s)
    return groups


def pair(score: RetrievalScore) -> str:
    """'<query language>-><document language>'."""
    return f"{score.query_language}->{score.language}"


def retrieval_breakdown(scores: Sequence[RetrievalScore], ks: Sequence[int] = RETRIEVAL_KS) -> dict:
    """recall@k and MRR overall, on the cross-lingual subset, per query language, per document language
    and per (query language → document language) pair; empty groups are left out."""
    def metrics(group: Sequence[RetrievalScore]) -> dict:
        return retrieval_metrics(group, ks)

    def by(key: Callable[[RetrievalScore], str], order: Callable[[str], Any]) -> dict:
        groups = _groups(scores, key)
        return {name: metrics(groups[name]) for name in sorted(groups, key=order)}

    out = {"overall": metrics(scores)}
    cross = [s for s in scores if s.query_language != s.language]
    if cross:
        out["cross_lingual"] = metrics(cross)
    out["by_query_language"] = by(lambda s: s.query_language, _lang_key)
    out["by_document_language"] = by(lambda s: s.language, _lang_key)
    out["by_pair"] = by(pair, lambda p: tuple(map(_lang_key, p.split("->"))))
    return out


@dataclass
class RetrievalEval:
    """The retrieval eval of one query file over one corpus."""

    set: EvalSet
    ks: tuple[int, ...]
    depth: int
    scores: list[RetrievalScore]
    problems: list[str]
    sentences: dict[str, str]  # id → text of every sentence of the corpus
    breakdown: dict
    seconds: dict[str, float]
    changed: list[str]
    home: Path

    def query_rows(self) -> list[dict]:
        rows = []
        for s in self.scores:
            rank = first_rank(s)
            rows.append({"id": s.id, "query": s.query, "lang": s.query_language, "doc_lang": s.language,
                         "gold": s.gold, "first_rank": rank, "rr": 1 / rank if rank else 0.0,
                         "ranked": s.ranked})
        return rows

    def as_json(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "meta": {"set": self.set.name, "corpus": str(self.set.corpus), "queries": str(self.set.retrieval),
                     "home": str(self.home), "ks": list(self.ks), "depth": self.depth,
                     "reindexed": self.changed, "seconds": {k: round(v, 3) for k, v in self.seconds.items()}},
            "metrics": self.breakdown,
            "problems": self.problems,
            "queries": self.query_rows(),
        }


def parse_ks(values: Iterable[str] | None) -> tuple[int, ...]:
    """'-k 1 -k 5' or '-k 1,5,10' → (1, 5, 10); default RETRIEVAL_KS."""
    ks = sorted({int(p) for v in values or () for p in str(v).replace(",", " ").split()})
    if any(k < 1 for k in ks):
        raise CoopqaError("-k values must be positive")
    return tuple(ks) or RETRIEVAL_KS


def run_retrieval_eval(settings: Settings, chosen: EvalSet, ks: Sequence[int] = RETRIEVAL_KS,
                       progress: Progress | None = None) -> RetrievalEval:
    """Index the corpus (if needed), search every query and score the rankings."""
    if chosen.retrieval is None:
        raise CoopqaError("no retrieval queries: give --queries FILE")
    try:
        queries = load_retrieval(chosen.retrieval)
    except ValueError as e:
        raise CoopqaError(f"{chosen.retrieval}: {e} (see `coopqa eval check-labels`)") from None
    if not queries:
        raise CoopqaError(f"{chosen.retrieval}: no queries")
    ks = tuple(sorted(set(ks)))
    depth = max(MIN_DEPTH, *ks)
    corpus = open_corpus(settings, chosen.corpus, progress)
    started = time.perf_counter()
    rankings = rank_queries(corpus.coop, queries, depth)
    search_s = time.perf_counter() - started
    scores, problems = score_rankings(queries, rankings, corpus.docs)
    return RetrievalEval(
        chosen, ks, depth, scores, corpus.errors + problems, sentence_texts(corpus.docs.values()),
        retrieval_breakdown(scores, ks), {"index": corpus.seconds, "search": search_s}, corpus.changed,
        Path(corpus.coop.settings.home),
    )


def format_retrieval_table(breakdown: Mapping, ks: Sequence[int], depth: int) -> str:
    """Aligned rows: overall, cross-lingual, per query language, per pair."""
    head = ["", "n", *(f"R@{k}" for k in ks), f"MRR@{depth}"]
    rows: list[list[str]] = []

    def row(name: str, m: Mapping) -> None:
        if m:
            rows.append([name, str(m["queries"]), *(f"{m[f'recall@{k}']:.3f}" for k in ks), f"{m['mrr']:.3f}"])

    row("overall", breakdown.get("overall", {}))
    row("cross-lingual", breakdown.get("cross_lingual", {}))
    for lang, m in breakdown.get("by_query_language", {}).items():
        row(f"query {lang}", m)
    for name, m in breakdown.get("by_pair", {}).items():
        row(f"  {name.replace('->', ' → ')}", m)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    return "\n".join(
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in [head, *rows]
    )


def _clip(text: str, limit: int = 150) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_misses(run: RetrievalEval, miss_k: int = 5) -> str:
    """Every query whose gold sentence is not ranked first: the query, its gold sentences (with their
    ranks) and the top hit."""
    lines = []
    misses = [s for s in run.scores if first_rank(s) != 1]
    for s in misses:
        rank = first_rank(s)
        where = f"gold first at rank {rank}" if rank else f"gold not in the top {run.depth}"
        flag = "MISS" if rank is None or rank > miss_k else "late"
        lines.append(f"{flag} {s.id} [{pair(s)}] {where}: {_clip(s.query, 200)}")
        for g in s.gold:
            r = s.ranked.index(g) + 1 if g in s.ranked else "-"
            lines.append(f"    gold #{r} {g}: {_clip(run.sentences.get(g, '?'))}")
        top = s.ranked[0] if s.ranked else None
        lines.append(f"    top     {top}: {_clip(run.sentences.get(top, '?'))}" if top else "    top     (nothing)")
    head = f"{len(misses)} of {len(run.scores)} queries without a gold sentence at rank 1 " \
           f"(MISS: none in the top {miss_k})"
    return "\n".join([head, *lines])


# ---------------------------------------------------------------- thresholds

THRESHOLD_ALIASES: dict[str, str] = {
    "summary-f1": "overall.summary.all_fields.f1",
    "summary-precision": "overall.summary.all_fields.precision",
    "summary-recall": "overall.summary.all_fields.recall",
    "date-accuracy": "overall.summary.date_accuracy",
    "evidence-validity": "overall.evidence.evidence_validity",
    "citation-support": "overall.evidence.citation_support",
    "answer-accuracy": "overall.answers.answerable.accuracy",
    "citation-recall": "overall.answers.answerable.citation_recall",
    "citation-precision": "overall.answers.answerable.citation_precision",
    "abstention": "overall.answers.unanswerable.abstention_accuracy",
    "recall1": "overall.retrieval.recall@1",
    "recall5": "overall.retrieval.recall@5",
    "mrr": "overall.retrieval.mrr",
}
_SECTION_OF = {"summary": "summaries", "evidence": "summaries", "answers": "answers", "retrieval": "retrieval"}


def threshold_path(name: str) -> str:
    """A short metric name (`THRESHOLD_ALIASES`, with or without 'min-') or a dot path into the report."""
    key = name.strip().removeprefix("min-").replace("_", "-")
    if key in THRESHOLD_ALIASES:
        return THRESHOLD_ALIASES[key]
    if threshold_section(name.strip()):
        return name.strip()
    raise CoopqaError(f"unknown metric {name!r}: use one of {', '.join(THRESHOLD_ALIASES)} or a dot path "
                      "into eval-report.json such as 'by_language.fa.answers.answerable.accuracy'")


def threshold_section(path: str) -> str | None:
    """The eval section ('summaries', 'answers', 'retrieval') a threshold path belongs to."""
    parts = path.split(".")
    if parts[0] == "overall" and len(parts) >= 3:
        return _SECTION_OF.get(parts[1])
    if parts[0] == "by_language" and len(parts) >= 4:
        return _SECTION_OF.get(parts[2])
    return None


def _flatten(table: Mapping, prefix: str = "") -> Iterable[tuple[str, object]]:
    for key, value in table.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def load_thresholds(path: Path) -> dict[str, float]:
    """Minimums from a TOML file's [min] table: short names or dot paths (quoted, or as nested tables)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        raise CoopqaError("--config needs Python 3.11 or later (tomllib)") from None
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise CoopqaError(f"{path}: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise CoopqaError(f"{path}: not valid TOML: {e}") from None
    table = data.get("min", {})
    if not isinstance(table, Mapping):
        raise CoopqaError(f"{path}: [min] must be a table of metric = minimum")
    mins = {}
    for name, value in _flatten(table):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CoopqaError(f"{path}: min.{name} must be a number, not {value!r}")
        try:
            mins[threshold_path(name)] = float(value)
        except CoopqaError as e:
            raise CoopqaError(f"{path}: {e}") from None
    return mins


# ---------------------------------------------------------------- result cache for live runs


class ResultCache:
    """One JSON file per key under `root/<k[:2]>/<k>.json`, written atomically; unreadable files are misses."""

    def __init__(self, root: Path, enabled: bool = True):
        self.root, self.enabled = Path(root), enabled

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        if not self.enabled:
            return None
        try:
            value = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(value, ensure_ascii=False))


def _hash_files(paths: Iterable[Path], root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def system_fingerprint(settings: Settings) -> dict:
    """What a summary or answer depends on besides its input: the package code (outside the eval-only
    modules), the prompt files, the model and its generation parameters."""
    package = Path(__file__).resolve().parent
    code = [p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts
            and p.suffix in (".py", ".tsv", ".json", ".txt") and p.name not in EVAL_ONLY_MODULES]
    prompts = [p for p in PROMPTS_DIR.rglob("*") if p.is_file()] if PROMPTS_DIR.is_dir() else []
    try:
        from coopqa.llm import model_info

        info = model_info(settings)
        model = {k: info.get(k) for k in ("backend", "base_url", "model", "gguf")}
    except Exception as e:  # the fingerprint must not fail the eval; the settings still identify the model
        model = {"error": f"{type(e).__name__}", "base_url": settings.base_url, "model": settings.model,
                 "gguf": str(settings.gguf) if settings.gguf else None}
    return {
        "code": _hash_files(code, package), "prompts": _hash_files(prompts, PROMPTS_DIR) if prompts else None,
        "model": model, "params": {"temperature": settings.temperature, "llm_mode": settings.llm_mode,
                                   "n_ctx": settings.n_ctx, "top_k": settings.top_k},
    }


def cache_key(**parts: object) -> str:
    blob = json.dumps({"v": EVAL_CACHE_VERSION, **parts}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class Collected:
    """Outputs of one live section: item → output JSON, and what it cost."""

    outputs: dict[str, dict] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    cached: int = 0
    computed: int = 0
    seconds: float = 0.0


def _as_dict(result: object, what: str) -> dict:
    if hasattr(result, "model_dump"):
        result = result.model_dump(mode="json")
    if not isinstance(result, dict):
        raise CoopqaError(f"{what} returned {type(result).__name__}, not a JSON object")
    return result


def collect(kind: str, items: Sequence[str], call: Callable[[str], object], key_of: Callable[[str], str],
            cache: ResultCache, progress: Progress | None = None, fail_fast: bool = False,
            workers: int = 1) -> Collected:
    """Run `call` for every item not in the cache, up to `workers` at once; each result is cached as soon as
    it is done (a killed run resumes from there). Failures are recorded per item and the run goes on."""
    out = Collected()
    started = time.perf_counter()
    todo: list[str] = []
    for item in items:
        hit = cache.get(key_of(item))
        if hit is None:
            todo.append(item)
        else:
            out.outputs[item], out.cached = hit, out.cached + 1

    def timed(item: str) -> tuple[dict, float]:
        t = time.perf_counter()
        return _as_dict(call(item), kind), time.perf_counter() - t

    for n, (item, done, exc) in enumerate(run_all(timed, todo, workers), out.cached + 1):
        if exc is not None:
            if fail_fast:
                raise exc
            out.errors.append(f"{kind} {_clip(item, 80)!r}: {type(exc).__name__}: {_clip(str(exc), 300)}")
            if progress:
                progress(f"[{n}/{len(items)}] {kind} {_clip(item, 70)}: FAILED ({type(exc).__name__})")
            continue
        assert done is not None
        result, seconds = done
        cache.put(key_of(item), result)
        out.outputs[item], out.computed = result, out.computed + 1
        if progress:
            progress(f"[{n}/{len(items)}] {kind} {_clip(item, 70)} ({seconds:.1f}s)")
    out.outputs = {item: out.outputs[item] for item in items if item in out.outputs}  # in the items' order
    out.seconds = time.perf_counter() - started
    return out


# ---------------------------------------------------------------- predictions


@dataclass
class Predictions:
    """System outputs in the output-contract formats; None where a kind of output is absent."""

    summaries: dict[str, dict] | None = None
    answers: list[dict] | None = None
    rankings: dict[str, list[str]] | None = None


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise CoopqaError(f"{path}: malformed JSON at line {e.lineno}: {e.msg}") from None


def load_predictions(folder: Path) -> Predictions:
    """`summaries/<doc_id>.json`, `answers.jsonl` and `rankings.json` of a folder (each optional)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CoopqaError(f"--predictions: {folder} is not a folder")
    preds = Predictions()
    if (folder / "summaries").is_dir():
        preds.summaries = {}
        for path in sorted((folder / "summaries").glob("*.json")):
            summary = _read_json(path)
            if not isinstance(summary, dict):
                raise CoopqaError(f"{path}: expected a JSON object (one visit summary)")
            preds.summaries[str(summary.get("doc_id") or path.stem)] = summary
    if (path := folder / "answers.jsonl").is_file():
        preds.answers = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                answer = json.loads(line)
            except json.JSONDecodeError as e:
                raise CoopqaError(f"{path}:{n}: malformed JSON: {e.msg}") from None
            if not isinstance(answer, dict) or not isinstance(answer.get("question"), str):
                raise CoopqaError(f"{path}:{n}: expected an answer object with a 'question'")
            preds.answers.append(answer)
    if (path := folder / "rankings.json").is_file():
        rankings = _read_json(path)
        if not isinstance(rankings, dict) or not all(isinstance(v, list) for v in rankings.values()):
            raise CoopqaError(f"{path}: expected {{query id: [sentence ids]}}")
        preds.rankings = {str(k): [str(i) for i in v] for k, v in rankings.items()}
    if preds.summaries is None and preds.answers is None and preds.rankings is None:
        raise CoopqaError(f"--predictions: {folder} has none of summaries/, answers.jsonl, rankings.json")
    return preds


def write_predictions(preds: Predictions, folder: Path) -> None:
    """The same layout `load_predictions` reads."""
    folder = Path(folder)
    if preds.summaries is not None:
        (folder / "summaries").mkdir(parents=True, exist_ok=True)
        for doc_id, summary in preds.summaries.items():
            atomic_write(folder / "summaries" / f"{doc_id}.json", json.dumps(summary, ensure_ascii=False, indent=2))
    folder.mkdir(parents=True, exist_ok=True)
    if preds.answers is not None:
        atomic_write(folder / "answers.jsonl", "".join(json.dumps(a, ensure_ascii=False) + "\n"
                                                       for a in preds.answers))
    if preds.rankings is not None:
        atomic_write(folder / "rankings.json", json.dumps(preds.rankings, ensure_ascii=False, indent=1))


# ---------------------------------------------------------------- the full run


def questions_to_ask(labels: Mapping[str, Label], cross: Sequence[CrossDocItem]) -> list[str]:
    """Every labelled question in English and, where labelled, in the article's language; answerable,
    unanswerable and cross-document ones."""
    seen: dict[str, str] = {}
    for g in gold_questions(labels, cross):
        for q in (g.question, g.question_native):
            if q and normalize(q) not in seen:
                seen[normalize(q)] = q
    return list(seen.values())


def answers_by_question_form(answers: Sequence[dict], gold: Sequence[GoldQuestion],
                             docs: Mapping[str, Document]) -> dict:
    """Answer metrics of the questions asked in English, and of those asked in the article's own language
    (over the questions labelled with a `question_native`); a question not asked in a form counts as
    unanswered in that form's view."""
    native = {normalize(g.question_native) for g in gold if g.question_native}
    asked_native = [a for a in answers if normalize(a.get("question", "")) in native]
    asked_english = [a for a in answers if normalize(a.get("question", "")) not in native]
    views = {"english": (asked_english, list(gold)), "native": (asked_native, [g for g in gold if g.question_native])}
    return {name: answer_metrics(score_answers(asked, golds, docs)) for name, (asked, golds) in views.items() if golds}


@dataclass
class EvalRun:
    """A scored run: the report (see coopqa.report) and what the CLI should tell the user."""

    report: dict
    notes: list[str] = field(default_factory=list)  # unavailable sections, skipped items, errors
    predictions_dir: Path | None = None


def _load_labels_for(chosen: EvalSet) -> tuple[dict[str, Label], list[CrossDocItem]]:
    if chosen.labels is None:
        raise CoopqaError("summaries and answers need --labels DIR (or leave out --corpus for the seed set)")
    try:
        labels = load_labels(chosen.labels)
        cross = load_cross_doc(chosen.cross) if chosen.cross else []
    except ValueError as e:  # pydantic's ValidationError included
        raise CoopqaError(f"{_clip(str(e), 400)} (see `coopqa eval check-labels`)") from None
    if not labels:
        raise CoopqaError(f"{chosen.labels}: no label files")
    return labels, cross


def run_eval(
    settings: Settings, chosen: EvalSet, *, predictions: Path | None = None, only: Iterable[str] = SECTIONS,
    out_dir: Path | None = None, progress: Progress | None = None, fail_fast: bool = False,
) -> EvalRun:
    """Score summaries, answers and retrieval against the labels: live through `CoopQA` over the corpus
    (indexed in its eval home), or from the prediction files in `predictions`. A live run writes its
    outputs to `<out_dir>/eval-report.predictions/`."""
    only = set(only)
    if unknown := only - set(SECTIONS):
        raise CoopqaError(f"--only: unknown section(s) {', '.join(sorted(unknown))}; use {', '.join(SECTIONS)}")
    started = time.perf_counter()
    notes: list[str] = []
    labels, cross = _load_labels_for(chosen) if only & {"summaries", "answers"} else ({}, [])
    queries: list[RetrievalQuery] = []
    if "retrieval" in only:
        if chosen.retrieval is None:
            notes.append("retrieval: skipped (no --retrieval FILE for this corpus)")
        else:
            try:
                queries = load_retrieval(chosen.retrieval)
            except ValueError as e:
                raise CoopqaError(f"{chosen.retrieval}: {_clip(str(e), 400)} (see `coopqa eval check-labels`)") \
                    from None
    meta: dict[str, Any] = {
        "set": chosen.name, "corpus": str(chosen.corpus), "labels": str(chosen.labels) if chosen.labels else None,
        "cross": str(chosen.cross) if chosen.cross else None,
        "retrieval": str(chosen.retrieval) if chosen.retrieval else None,
        "mode": "predictions" if predictions else "live", "sections": [s for s in SECTIONS if s in only],
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    predictions_dir = None
    if predictions is not None:
        meta["predictions"] = str(predictions)
        preds = load_predictions(predictions)
        docs, read_errors = read_corpus(chosen.corpus)
        notes += read_errors
        for section, present, where in (("summaries", preds.summaries, "summaries/"),
                                        ("answers", preds.answers, "answers.jsonl"),
                                        ("retrieval", preds.rankings, "rankings.json")):
            if section in only and present is None and not (section == "retrieval" and not queries):
                notes.append(f"{section}: not available (no {where} in {predictions})")
    else:
        preds, docs = _run_live(settings, chosen, labels, cross, queries, only, meta, notes, progress, fail_fast)
        if out_dir is not None:
            predictions_dir = Path(out_dir) / PREDICTIONS_DIR
            write_predictions(preds, predictions_dir)
    if not docs:
        raise CoopqaError(f"{chosen.corpus}: no readable documents")

    summary_scores, evidence_scores = [], []
    if "summaries" in only and preds.summaries is not None:
        missing = [d for d in sorted(labels) if d not in preds.summaries]
        if missing:
            notes.append(f"summaries: none for {len(missing)} labelled document(s), scored as empty: "
                         f"{', '.join(missing)}")
        for doc_id in sorted(labels):
            summary = preds.summaries.get(doc_id) or {"doc_id": doc_id, "language": labels[doc_id].language}
            summary_scores.append(score_summary(summary, labels[doc_id]))
        sentences = sentence_texts(docs.values())
        for doc_id, summary in sorted(preds.summaries.items()):
            language = summary.get("language") or (docs[doc_id].language if doc_id in docs else "")
            evidence_scores.append(score_evidence({**summary, "doc_id": doc_id, "language": language}, sentences))
    answer_scores: list[AnswerScore] = []
    if "answers" in only and preds.answers is not None:
        gold = gold_questions(labels, cross)
        answer_scores = score_answers(preds.answers, gold, docs)
    retrieval_scores: list[RetrievalScore] = []
    if "retrieval" in only and preds.rankings is not None and queries:
        retrieval_scores, problems = score_rankings(queries, preds.rankings, docs)
        notes += [f"retrieval: {p}" for p in problems]

    meta["elapsed_s"] = round(time.perf_counter() - started, 2)
    report = build_report(summary_scores, evidence_scores, answer_scores, retrieval_scores,
                          sentence_texts(docs.values()), meta)
    if answer_scores:
        report["answers_by_question_form"] = answers_by_question_form(preds.answers or [], gold, docs)
    if retrieval_scores:
        report["retrieval_breakdown"] = retrieval_breakdown(retrieval_scores)
    report["notes"] = notes
    return EvalRun(report, notes, predictions_dir)


def _run_live(
    settings: Settings, chosen: EvalSet, labels: Mapping[str, Label], cross: Sequence[CrossDocItem],
    queries: Sequence[RetrievalQuery], only: set[str], meta: dict, notes: list[str], progress: Progress | None,
    fail_fast: bool,
) -> tuple[Predictions, dict[str, Document]]:
    corpus = open_corpus(settings, chosen.corpus, progress)
    coop = corpus.coop
    notes += corpus.errors
    meta["home"] = str(coop.settings.home)
    meta["corpus_version"] = corpus.version
    preds = Predictions()
    summarize, ask = getattr(coop, "summarize", None), getattr(coop, "ask", None)
    live = (("summaries", summarize), ("answers", ask))
    for section, method in live:
        if section in only and not callable(method):
            notes.append(f"{section}: not available (CoopQA.{'summarize' if section == 'summaries' else 'ask'} "
                         "does not exist yet)")
            if progress:
                progress(notes[-1])
    cache = ResultCache(Path(coop.settings.home) / "cache" / "eval", enabled=settings.cache)
    costs: dict[str, dict] = {}
    if any(section in only and callable(method) for section, method in live):
        fingerprint = system_fingerprint(coop.settings)
        meta["system"] = fingerprint
        for part in ("store", "llm", "summaries", "answers", "retriever"):  # made here, not raced for by workers
            getattr(coop, part, None)
        if "summaries" in only and callable(summarize):
            doc_ids = [d for d in sorted(labels) if d in corpus.docs]
            notes += [f"summaries: labelled document {d} is not in the corpus" for d in sorted(labels)
                      if d not in corpus.docs]
            got = collect("summary", doc_ids, summarize,
                          lambda d: cache_key(kind="summary", system=fingerprint, doc_id=d,
                                              doc=corpus.docs[d].sha256), cache, progress, fail_fast,
                          settings.concurrency)
            preds.summaries = got.outputs
            notes += got.errors
            costs["summaries"] = {"cached": got.cached, "computed": got.computed, "failed": len(got.errors),
                                  "seconds": round(got.seconds, 2)}
        if "answers" in only and callable(ask):
            questions = questions_to_ask(labels, cross)
            got = collect("answer", questions, ask,
                          lambda q: cache_key(kind="answer", system=fingerprint, corpus=corpus.version, question=q),
                          cache, progress, fail_fast, settings.concurrency)
            preds.answers = [{**a, "question": q} for q, a in got.outputs.items()]
            notes += got.errors
            costs["answers"] = {"cached": got.cached, "computed": got.computed, "failed": len(got.errors),
                                "seconds": round(got.seconds, 2)}
    if "retrieval" in only and queries:
        t = time.perf_counter()
        preds.rankings = rank_queries(coop, queries, MIN_DEPTH)
        costs["retrieval"] = {"queries": len(queries), "seconds": round(time.perf_counter() - t, 2)}
    meta["costs"] = costs
    models = sorted({str(o.get("model")) for o in [*(preds.summaries or {}).values(), *(preds.answers or [])]
                     if o.get("model")})
    if models:
        meta["model"] = ", ".join(models)
    return preds, corpus.docs


# ---------------------------------------------------------------- text tables

REPORT_ROWS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("summaries", (("documents", "summary.documents"), ("fields precision", "summary.all_fields.precision"),
                   ("fields recall", "summary.all_fields.recall"), ("fields F1", "summary.all_fields.f1"),
                   ("participants F1", "summary.fields.participants.f1"),
                   ("organizations F1", "summary.fields.organizations.f1"),
                   ("countries F1", "summary.fields.countries.f1"), ("agreements F1", "summary.fields.agreements.f1"),
                   ("cooperation areas F1", "summary.fields.cooperation_areas.f1"),
                   ("date accuracy", "summary.date_accuracy"), ("city accuracy", "summary.city_accuracy"))),
    ("evidence", (("evidence validity", "evidence.evidence_validity"),
                  ("citation support", "evidence.citation_support"))),
    ("answers", (("answerable asked", "answers.answerable.n"), ("accuracy", "answers.answerable.accuracy"),
                 ("citation recall", "answers.answerable.citation_recall"),
                 ("citation precision", "answers.answerable.citation_precision"),
                 ("false abstentions", "answers.answerable.false_abstentions"),
                 ("unanswered", "answers.answerable.unanswered"),
                 ("unanswerable asked", "answers.unanswerable.n"),
                 ("abstention accuracy", "answers.unanswerable.abstention_accuracy"),
                 ("hallucinations", "answers.unanswerable.hallucinations"))),
    ("retrieval", (("queries", "retrieval.queries"), ("recall@1", "retrieval.recall@1"),
                   ("recall@5", "retrieval.recall@5"), ("recall@10", "retrieval.recall@10"),
                   ("MRR", "retrieval.mrr"))),
)


def _get(node: object, path: str) -> object:
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def format_report_tables(report: Mapping) -> str:
    """The key metrics of a report, one column overall and one per language ('cross': multi-document)."""
    groups = {"overall": report.get("overall", {}), **report.get("by_language", {})}
    head = ["", *groups]
    rows: list[list[str]] = []
    for section, metrics in REPORT_ROWS:
        if not any(_get(g, metrics[0][1].split(".")[0]) for g in groups.values()):
            continue
        rows.append([section.upper(), *([""] * len(groups))])
        rows += [[f"  {name}", *(_fmt(_get(g, path)) for g in groups.values())] for name, path in metrics]
    if not rows:
        return "nothing was scored"
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    return "\n".join(
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        .rstrip() for r in [head, *rows]
    )


def failure_counts(report: Mapping) -> dict[str, int]:
    counts: dict[str, int] = {}
    for f in report.get("failures", []):
        counts[f["kind"]] = counts.get(f["kind"], 0) + 1
    return counts
