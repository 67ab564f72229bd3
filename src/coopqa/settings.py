"""The one configuration object, read from the environment (COOPQA_*, OPENAI_*) and CLI flags."""

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROMPTS_DIR = PROJECT_ROOT / "prompts"
SCHEMAS_DIR = PROJECT_ROOT / "schemas"


class Settings(BaseSettings):
    """Runtime settings. Every field can be set as COOPQA_<NAME>; the model server also by OPENAI_*."""

    model_config = SettingsConfigDict(env_prefix="COOPQA_", extra="ignore", populate_by_name=True)

    home: Path = Field(Path(".coopqa"), description="Index, caches and model files.")
    corpus: Path = Field(Path("corpus"), description="Default folder for `coopqa ingest`.")
    # Model server: no base URL means the embedded llama.cpp model is started in-process.
    base_url: str | None = Field(None, validation_alias=AliasChoices("COOPQA_BASE_URL", "OPENAI_BASE_URL"))
    api_key: str | None = Field(None, validation_alias=AliasChoices("COOPQA_API_KEY", "OPENAI_API_KEY"))
    model: str | None = Field(None, description="Model name sent to the server (default: the GGUF's).")
    gguf: Path | None = Field(None, description="Run this GGUF in the embedded runtime instead of the default.")
    model_cache: Path = Field(
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "coopqa" / "models",
        description="Where the default GGUF is assembled, shared by every --home.",
    )
    threads: int = Field(2, ge=1)
    n_ctx: int = Field(8192, ge=2048)
    temperature: float = 0.0
    timeout_s: float = Field(600.0, gt=0, description="Seconds one model request may take.")
    max_retries: int = Field(2, ge=0, description="Re-asks of the model when its output fails validation.")
    request_retries: int = Field(
        4, ge=0, description="Resends of one HTTP request on 429/5xx/timeouts/connection errors "
                             "(exponential backoff 0.5 s, 1 s, 2 s ... up to 8 s, with jitter; Retry-After honoured).")
    concurrency: int = Field(
        1, ge=1, description="Model requests in flight at once in batch work (summarize --all, eval run); "
                             "the embedded server gets at least this many slots.")
    llm_mode: Literal["json_schema", "md_json", "json", "tools"] = Field(
        "json_schema", description="How structured output is requested (json_schema: constrained decoding)."
    )
    parallel: int = Field(1, ge=1, description="Embedded server slots (each gets n_ctx tokens); at least concurrency.")
    cache: bool = Field(True, description="Use the on-disk LLM response cache.")
    # Vector store: embedded under --home, or a Chroma server; the SQLite manifest always stays under --home.
    chroma_url: str | None = Field(None, description="Chroma server (http://host:port) instead of the embedded one.")
    collection: str = Field("coopqa", description="Chroma collection: one per corpus on a shared server.")
    # Retrieval.
    top_k: int = Field(5, ge=1)
    # Web workspace (`coopqa serve`).
    host: str = Field("127.0.0.1", description="Address `coopqa serve` listens on.")
    port: int = Field(8000, ge=0, le=65535, description="Port of `coopqa serve` (0: any free port).")

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def models_dir(self) -> Path:
        """Model files are shared by every --home (a joined GGUF is 1.1 GB)."""
        return self.model_cache
