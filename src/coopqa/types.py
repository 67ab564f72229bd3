"""Core data types shared by ingestion, retrieval, summaries, answers and evals."""

from __future__ import annotations

from pydantic import BaseModel, Field

SCHEMA_VERSION = 1
LANGUAGES = ("en", "ar", "fa")


class CoopqaError(Exception):
    """An expected failure with a one-line message for the user (no traceback)."""


class Sentence(BaseModel):
    """A sentence of a document: `text == doc.text[start:end]`; boilerplate is never indexed or cited."""

    id: str = Field(description="'<doc_id>:s<N>', N from 1 in reading order")
    start: int
    end: int
    text: str
    boilerplate: bool = False

    @property
    def doc_id(self) -> str:
        return self.id.rsplit(":s", 1)[0]


class Document(BaseModel):
    """A corpus document with its original text kept exactly."""

    doc_id: str
    text: str
    language: str
    title: str = ""
    date: str | None = None
    date_text: str | None = None
    source: str | None = None
    path: str | None = None
    sha256: str = ""
    sentences: list[Sentence] = Field(default_factory=list)

    def sentence(self, sid: str) -> Sentence | None:
        """The sentence with that id, or None."""
        n = sentence_number(sid)
        if n is None or sid.rsplit(":s", 1)[0] != self.doc_id or not 1 <= n <= len(self.sentences):
            return None
        return self.sentences[n - 1]


def sentence_id(doc_id: str, n: int) -> str:
    return f"{doc_id}:s{n}"


def sentence_number(sid: str) -> int | None:
    """N of '<doc_id>:sN', or None when the id is malformed."""
    _, sep, n = sid.rpartition(":s")
    return int(n) if sep and n.isdigit() else None
