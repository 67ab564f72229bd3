"""Hybrid sentence retrieval that treats English, Arabic and Persian fairly.

Signals, fused by weights chosen on the retrieval evals (seed and dev queries; see benchmarks/RESULTS.md):
- dense: e5 cosine from Chroma, queried per language so each language brings its own candidate pool, and
  calibrated per language — e5-small scores passages in the query's own language higher, so a sentence's
  cosine is standardised against the distribution of all sentences of its language for this query
  (mean q·μ_L and variance qᵀΣ_L q, from the language's embedding mean μ_L and covariance Σ_L). For the
  other languages the query is also rendered word by word through the lexicon (`concepts.gloss`) and the
  better of the two calibrated scores counts;
- concepts: BM25 over language-neutral terms (trilingual lexicon concepts, transliteration skeletons of
  names, numbers), which match across scripts — once over the sentence's own terms and once over the
  terms of its window (the sentence with its neighbours), since "he said" sentences carry no names;
- document: the best fused score in the sentence's document, so the right article wins even when the
  answering sentence itself matches weakly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from coopqa.concepts import gloss, index_terms
from coopqa.embed import embed_query
from coopqa.store import Store
from coopqa.text import detect_language

POOL = 50
PRIOR_SENTENCES = 10  # weight of the prior in the per-language calibration, in sentences
PRIOR_SD = 0.02  # typical spread of e5-small cosines of a query over one language's sentences


@dataclass(frozen=True)
class Weights:
    """Fusion weights (dense z-scores are the unit)."""

    concepts: float = 1.5
    window: float = 3.0
    document: float = 0.5


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
    langs: np.ndarray
    docs: np.ndarray
    position: dict[str, int]
    doc_starts: np.ndarray
    concept_bm25: object
    window_bm25: object
    stats: dict[str, tuple[np.ndarray, np.ndarray]]  # language → (mean vector, covariance)


def _bm25(corpus: list[list[str]]) -> object:
    import bm25s

    index = bm25s.BM25()
    index.index([terms or ["\u2205"] for terms in corpus], show_progress=False)
    return index


def _load_table(store: Store) -> _Table | None:
    ids, texts, langs, docs = [], [], [], []
    for doc in store.documents():
        for s in doc.sentences:
            if not s.boilerplate:
                ids.append(s.id)
                texts.append(s.text)
                langs.append(doc.language)
                docs.append(doc.doc_id)
    if not ids:
        return None
    vectors, _ = store.embeddings_for(texts)
    lang_arr = np.array(langs)
    all_vecs = vectors.astype(np.float64)
    overall_mean = all_vecs.mean(0)
    stats = {}
    for lang in sorted(set(langs)):
        vecs = all_vecs[lang_arr == lang]
        n = len(vecs)
        # Shrink towards the corpus mean and an isotropic spread, so a language with few sentences
        # gets no degenerate (near-zero) variance and no spurious offset.
        keep = n / (n + PRIOR_SENTENCES)
        mean = keep * vecs.mean(0) + (1 - keep) * overall_mean
        cov = np.cov(vecs.T) if n > 1 else np.zeros((vecs.shape[1], vecs.shape[1]))
        stats[lang] = (mean, keep * cov + (1 - keep) * PRIOR_SD**2 * np.eye(vecs.shape[1]))
    doc_arr = np.array(docs)
    starts = np.flatnonzero(np.r_[True, doc_arr[1:] != doc_arr[:-1]])
    terms = [index_terms(t, lang) for t, lang in zip(texts, langs, strict=True)]
    windows = [
        terms[n] + [t for m in (n - 1, n + 1) if 0 <= m < len(terms) and docs[m] == docs[n] for t in terms[m]]
        for n in range(len(terms))
    ]
    return _Table(
        ids, texts, lang_arr, doc_arr, {i: n for n, i in enumerate(ids)}, starts, _bm25(terms), _bm25(windows),
        stats,
    )


def _normalised(scores: np.ndarray) -> np.ndarray:
    top = scores.max() if len(scores) else 0.0
    return scores / top if top > 0 else scores


class Retriever:
    """Searches the citable sentences of a store. Safe to share between threads: searches take turns (the
    embedder and the index table are shared; a search takes tens of milliseconds)."""

    def __init__(self, store: Store, weights: Weights | None = None):
        self.store = store
        self.weights = weights or Weights()
        self._table: _Table | None = None
        self._version = ""
        self._lock = threading.Lock()

    @property
    def table(self) -> _Table | None:
        version = self.store.version()
        if version != self._version:
            self.store.sync()
            self._table, self._version = _load_table(self.store), version
        return self._table

    def _dense(self, query: str, terms: list[str], languages: list[str]) -> dict[str, float]:
        """Calibrated cosine (z-score within the sentence's language) of each language's top POOL, for the
        query and, in the other languages, for its lexicon gloss — the better of the two."""
        from llama_index.core.vector_stores.types import MetadataFilter, MetadataFilters, VectorStoreQuery

        table = self.table
        assert table is not None
        threads = self.store.settings.threads
        own = detect_language(query)
        qvec = embed_query(query, threads).astype(np.float64)
        out: dict[str, float] = {}
        for lang in languages:
            vectors = [qvec]
            if lang != own and (rendered := gloss(terms, lang)):
                vectors.append(embed_query(rendered, threads).astype(np.float64))
            mean, cov = table.stats[lang]
            for vec in vectors:
                mu, sd = float(vec @ mean), float(np.sqrt(max(vec @ cov @ vec, 1e-9)))
                result = self.store.vector_store.query(VectorStoreQuery(
                    query_embedding=vec.tolist(), similarity_top_k=POOL,
                    filters=MetadataFilters(filters=[MetadataFilter(key="lang", value=lang)]),
                ))
                for sid, cos in zip(result.ids or [], result.similarities or [], strict=True):
                    out[sid] = max(out.get(sid, -np.inf), (cos - mu) / sd)
        return out

    def search(self, query: str, k: int = 5, lang: str | None = None) -> list[Hit]:
        """The k best sentences for `query` (optionally only in documents of language `lang`)."""
        with self._lock:
            return self._search(query, k, lang)

    def _search(self, query: str, k: int, lang: str | None) -> list[Hit]:
        table = self.table
        if table is None:
            return []
        languages = [lang] if lang else sorted(table.stats)
        if lang and lang not in table.stats:
            return []
        terms = index_terms(query)
        dense = self._dense(query, terms, languages)
        zeros = np.zeros(len(table.ids))
        concepts = _normalised(np.asarray(table.concept_bm25.get_scores(terms))) if terms else zeros
        window = _normalised(np.asarray(table.window_bm25.get_scores(terms))) if terms else zeros
        floor = min(dense.values(), default=0.0)
        w = self.weights
        base = np.full(len(table.ids), floor)
        for sid, z in dense.items():
            base[table.position[sid]] = z
        base = base + w.concepts * concepts + w.window * window
        if lang:
            base[table.langs != lang] = -np.inf
        score = base.copy()
        if w.document:  # sentences of a document are contiguous in the table
            best = np.maximum.reduceat(base, table.doc_starts)
            score += w.document * np.repeat(best, np.diff(np.append(table.doc_starts, len(base))))
        order = np.argsort(-score)[:k]
        return [
            Hit(table.ids[n], str(table.docs[n]), float(score[n]), table.texts[n], str(table.langs[n]),
                {"dense": float(dense.get(table.ids[n], floor)), "concepts": float(concepts[n]),
                 "window": float(window[n])})
            for n in order if np.isfinite(score[n])
        ]
