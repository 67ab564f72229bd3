"""Hybrid sentence retrieval that treats English, Arabic and Persian fairly.

Dense: e5 cosine from Chroma, queried per language so every language brings its own candidate pool, and
calibrated per language (z-score within the pool) because e5-small scores same-language passages higher.
Lexical: BM25 over normalised tokens, useful for names and exact terms within a language.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from coopqa.embed import embed_query
from coopqa.store import Store
from coopqa.text import tokens

POOL = 40


@dataclass
class Hit:
    """A ranked sentence."""

    id: str
    doc_id: str
    score: float
    text: str
    language: str
    parts: dict[str, float] = field(default_factory=dict)


@dataclass
class _Table:
    ids: list[str]
    texts: list[str]
    langs: list[str]
    position: dict[str, int]
    bm25: object | None


def _load_table(store: Store) -> _Table:
    import bm25s

    ids, texts, langs = [], [], []
    for doc in store.documents():
        for s in doc.sentences:
            if not s.boilerplate:
                ids.append(s.id)
                texts.append(s.text)
                langs.append(doc.language)
    bm25 = None
    if ids:
        bm25 = bm25s.BM25()
        bm25.index([tokens(t) or ["\u2205"] for t in texts], show_progress=False)
    return _Table(ids, texts, langs, {i: n for n, i in enumerate(ids)}, bm25)


class Retriever:
    """Searches the citable sentences of a store."""

    def __init__(self, store: Store, lexical_weight: float = 0.3):
        self.store = store
        self.lexical_weight = lexical_weight
        self._table: _Table | None = None
        self._version = ""

    @property
    def table(self) -> _Table:
        version = self.store.version()
        if self._table is None or version != self._version:
            self._table, self._version = _load_table(self.store), version
        return self._table

    def _dense(self, query: str, languages: list[str]) -> dict[str, dict[str, float]]:
        """Cosine similarities of each language's top POOL sentences, per language."""
        from llama_index.core.vector_stores.types import (
            MetadataFilter,
            MetadataFilters,
            VectorStoreQuery,
        )

        qvec = embed_query(query, self.store.settings.threads).tolist()
        pools: dict[str, dict[str, float]] = {}
        for lang in languages:
            result = self.store.vector_store.query(
                VectorStoreQuery(
                    query_embedding=qvec, similarity_top_k=POOL,
                    filters=MetadataFilters(filters=[MetadataFilter(key="lang", value=lang)]),
                )
            )
            pools[lang] = dict(zip(result.ids or [], result.similarities or [], strict=True))
        return pools

    def _lexical(self, query: str) -> np.ndarray:
        table = self.table
        q = tokens(query)
        if not q or table.bm25 is None:
            return np.zeros(len(table.ids))
        scores = np.asarray(table.bm25.get_scores(q), dtype=np.float64)
        top = scores.max()
        return scores / top if top > 0 else scores

    def search(self, query: str, k: int = 5, lang: str | None = None) -> list[Hit]:
        """The k best sentences for `query` (optionally only in documents of language `lang`)."""
        table = self.table
        if not table.ids:
            return []
        languages = [lang] if lang else sorted(set(table.langs))
        pools = self._dense(query, languages)
        lexical = self._lexical(query)
        scored: dict[str, dict[str, float]] = {}
        for pool in pools.values():
            if not pool:
                continue
            values = np.array(list(pool.values()))
            mean, std = values.mean(), values.std() + 1e-6
            for sid, cos in pool.items():
                scored[sid] = {"dense": float(cos), "z": float((cos - mean) / std)}
        for n in np.argsort(-lexical)[:POOL]:
            if lexical[n] > 0 and (not lang or table.langs[n] == lang):
                scored.setdefault(table.ids[n], {"dense": 0.0, "z": 0.0})
        hits = []
        for sid, parts in scored.items():
            n = table.position.get(sid)
            if n is None:
                continue
            parts["lexical"] = float(lexical[n])
            score = parts["z"] + self.lexical_weight * parts["lexical"] * 3
            hits.append(Hit(sid, sid.rsplit(":s", 1)[0], score, table.texts[n], table.langs[n], parts))
        hits.sort(key=lambda h: -h.score)
        return hits[:k]
