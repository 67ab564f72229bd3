"""The Python API behind the CLI: one object per --home that a notebook can use directly."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

from coopqa.ingest import IngestReport, ingest
from coopqa.search import Hit, Retriever
from coopqa.settings import Settings
from coopqa.store import Store
from coopqa.types import CoopqaError, Document


class CoopQA:
    """coopqa over one corpus home: `CoopQA(home=".coopqa").search("...")`."""

    def __init__(self, settings: Settings | None = None, **overrides: Any):
        self.settings = settings.model_copy(update=overrides) if settings else Settings(**overrides)

    @cached_property
    def store(self) -> Store:
        return Store(self.settings)

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever(self.store)

    def ingest(self, paths: list[Path] | None = None, prune: bool = False,
               progress: Callable[[str], None] | None = None) -> IngestReport:
        """Index files/folders (default: the configured corpus folder)."""
        return ingest(self.store, paths or [self.settings.corpus], prune=prune, progress=progress)

    def doctor(self, repair: bool = False) -> Any:
        """Check the index against its manifest and corpus files (a coopqa.doctor.DoctorReport): orphaned and
        missing vectors, embedding model, schema and pipeline versions, changed or gone files; `repair` fixes."""
        from coopqa.doctor import doctor

        return doctor(self.store, repair=repair)

    def docs(self) -> list[dict]:
        """One row per document: id, language, date, title, path, sentence count."""
        return self.store.doc_rows()

    def document(self, doc_id: str) -> Document:
        doc = self.store.document(doc_id)
        if doc is None:
            raise CoopqaError(f"unknown document '{doc_id}' (see `coopqa docs`)")
        return doc

    def search(self, query: str, k: int | None = None, lang: str | None = None) -> list[Hit]:
        """Ranked citable sentences for `query`."""
        if not query.strip():
            raise CoopqaError("empty query")
        return self.retriever.search(query, k or self.settings.top_k, lang)

    @cached_property
    def answers(self) -> Any:
        """The question-answering engine (coopqa.answer.AnswerEngine) of this corpus."""
        from coopqa.answer import AnswerEngine

        return AnswerEngine(self)

    def ask(self, question: str, *, k: int | None = None, lang: str | None = None,
            on_draft: Callable[[str], None] | None = None) -> dict:
        """Answer `question` with verified citations (the contract's answer JSON), in the question's language
        (`lang`: 'auto'/None to detect, or en/ar/fa); abstains when the corpus does not say. `on_draft` receives
        the model's (unverified) claim text as it is generated."""
        return self.answers.ask(question, k=k, lang=lang, on_draft=on_draft)

    # ---- visit summaries (coopqa.summarize) ----------------------------------------------------------------

    @cached_property
    def llm(self) -> Any:
        """The LLM (coopqa.llm.LLM) shared by summaries and answers; tests may replace it with a fake."""
        from coopqa.llm import LLM

        return LLM(self.settings)

    @cached_property
    def summaries(self) -> Any:
        """Stored summaries under <home>/summaries (coopqa.summarize.SummaryStore)."""
        from coopqa.summarize import SummaryStore

        return SummaryStore(self.settings.home / "summaries")

    def _model_name(self) -> str:
        return str(getattr(self.llm, "model", "") or "")

    def summarize(self, doc_id: str, *, refresh: bool = False) -> dict:
        """The verified visit summary of a document (the contract JSON), stored under
        <home>/summaries/<doc_id>.json and reused while the document, model and prompts are unchanged.
        Raises CoopqaError for an unknown document and coopqa.model_files.LLMError when the model fails."""
        from coopqa.summarize import SummaryStore, prompt_hash, summarize_document, to_json

        doc = self.document(doc_id)
        model = self._model_name()
        key = SummaryStore.key(doc, model, prompt_hash())
        if not refresh and (stored := self.summaries.get(doc_id, key)) is not None:
            return stored
        summary, stats = summarize_document(doc, self.llm, model_name=model)
        data = to_json(summary)
        self.summaries.put(doc_id, key, data, stats)
        return data

    def summarize_many(self, doc_ids: Iterable[str] | None = None, *, refresh: bool = False
                       ) -> Iterator[tuple[str, dict | None, str | None]]:
        """(doc_id, summary, None) or (doc_id, None, one-line error) for each document (default: all), in the
        order they finish; up to settings.concurrency documents are summarised at once, each stored as soon
        as it is done. A document whose model call fails does not stop the others."""
        from coopqa.batch import run_all
        from coopqa.model_files import LLMError

        ids = list(doc_ids) if doc_ids is not None else [r["doc_id"] for r in self.docs()]
        _ = self.store, self.llm, self.summaries  # created here, not raced for by the worker threads
        for doc_id, data, exc in run_all(lambda d: self.summarize(d, refresh=refresh), ids,
                                         self.settings.concurrency):
            if exc is None:
                yield doc_id, data, None
            elif isinstance(exc, (LLMError, CoopqaError)):
                yield doc_id, None, " ".join(str(exc).split())
            else:
                raise exc

    def briefing(self, *, country: str | None = None, since: str | None = None, until: str | None = None,
                 fmt: str = "md") -> str:
        """A briefing over the stored summaries (coopqa.brief): newest first, grouped by partner country."""
        from coopqa.brief import build_briefing, render, store_lookup

        try:
            entries = build_briefing(self.summaries.all(), country=country, since=since, until=until)
        except ValueError as e:
            raise CoopqaError(str(e)) from None
        return render(entries, store_lookup(self.store), fmt=fmt, country=country, since=since, until=until)
