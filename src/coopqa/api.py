"""The Python API behind the CLI: one object per --home that a notebook can use directly."""

from __future__ import annotations

from collections.abc import Callable
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

    def ask(self, question: str, *, k: int | None = None, lang: str | None = None) -> dict:
        """Answer `question` with verified citations (the contract's answer JSON), in the question's language
        (`lang`: 'auto'/None to detect, or en/ar/fa); abstains when the corpus does not say."""
        return self.answers.ask(question, k=k, lang=lang)
