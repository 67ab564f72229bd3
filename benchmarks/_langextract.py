"""LangExtract (`langextract`, OpenAI-compatible provider) on coopqa's llama.cpp server, for bench_summarize.

LangExtract gets the article's full text, the instructions in benchmarks/langextract_prompt.md and one
made-up English example (its names and countries occur in no corpus or dev article), with its defaults
otherwise (1000-character chunks, one pass, JSON-schema output derived from the example). Its extractions
become a summary in the contract's shape, so the same scorers apply: `english_name` attributes give
countries and participants (mentions of one country or person merged, as the scorer would match them: a
surname alone after the full name is the same person), `area` attributes the cooperation areas (values
outside the enum dropped), the first valid `iso` attribute the date; each extraction's character span maps
to the sentence that contains it, its evidence.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from coopqa.citations import canonical_country
from coopqa.labels import COOPERATION_AREAS
from coopqa.llm import embedded_server
from coopqa.settings import Settings
from coopqa.translit import names_match
from coopqa.types import Document

PROMPT = Path(__file__).with_name("langextract_prompt.md")
_ISO = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
EXAMPLE_TEXT = (
    "Lisbon, 12 May 2024 - Ali Rezaei, head of the Iranian Film Institute, met Portugal's Deputy Minister of "
    "Culture Elena Ortiz to discuss joint film production and a Portuguese film week in Iran. The two sides "
    "also agreed to exchange film students between their universities."
)


def examples() -> list[Any]:
    import langextract as lx

    def x(cls: str, text: str, **attrs: str) -> Any:
        return lx.data.Extraction(extraction_class=cls, extraction_text=text, attributes=attrs)

    return [lx.data.ExampleData(text=EXAMPLE_TEXT, extractions=[
        x("date", "12 May 2024", iso="2024-05-12"),
        x("participant", "Ali Rezaei", english_name="Ali Rezaei"),
        x("country", "Portugal", english_name="Portugal"),
        x("participant", "Elena Ortiz", english_name="Elena Ortiz"),
        x("cooperation_area", "joint film production", area="co_production"),
        x("cooperation_area", "film week", area="film_weeks"),
        x("country", "Iran", english_name="Iran"),
        x("cooperation_area", "exchange film students between their universities", area="academic_exchange"),
    ])]


@dataclass
class Calls:
    """What the server returned for one article's requests (read from each HTTP response)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llama_ms: float = 0.0
    hit_max_tokens: int = 0
    finish_reasons: list[str] = field(default_factory=list)

    def record(self, response: httpx.Response) -> None:
        if not response.url.path.endswith("/chat/completions"):
            return
        response.read()
        try:
            body = response.json()
        except ValueError:
            return
        self.calls += 1
        usage, timings = body.get("usage") or {}, body.get("timings") or {}
        self.prompt_tokens += usage.get("prompt_tokens") or 0
        self.completion_tokens += usage.get("completion_tokens") or 0
        self.llama_ms += float(timings.get("prompt_ms") or 0) + float(timings.get("predicted_ms") or 0)
        reason = ((body.get("choices") or [{}])[0]).get("finish_reason") or ""
        self.finish_reasons.append(reason)
        self.hit_max_tokens += reason == "length"


class LangExtract:
    """One LangExtract model bound to the embedded server of `settings`, a per-request timeout and max_tokens."""

    def __init__(self, settings: Settings, *, timeout: float, max_tokens: int) -> None:
        import langextract as lx
        import openai
        from langextract import factory

        server = embedded_server(settings)  # the same process-wide server coopqa's LLM uses
        self.calls = Calls()
        self.examples = examples()
        self.prompt = PROMPT.read_text(encoding="utf-8")
        config = factory.ModelConfig(model_id=server.model, provider="OpenAILanguageModel", provider_kwargs={
            "base_url": server.base_url, "api_key": server.api_key, "temperature": settings.temperature,
            "max_workers": 1, "max_output_tokens": max_tokens})
        self.model = factory.create_model(config, examples=self.examples, use_schema_constraints=True)
        # LangExtract's client has no timeout and retries twice: replace it with a bounded one that records
        # every response's usage and llama.cpp timings.
        self.model._client = openai.OpenAI(
            base_url=server.base_url, api_key=server.api_key, timeout=timeout, max_retries=0,
            http_client=httpx.Client(timeout=timeout, event_hooks={"response": [self.calls.record]}))
        self._lx = lx

    def extract(self, doc: Document) -> tuple[dict, Calls, float]:
        """(summary in the contract's shape, the calls made, wall seconds) for one document."""
        self.calls.__init__()
        started = time.perf_counter()
        annotated = self._lx.extract(doc.text, prompt_description=self.prompt, examples=self.examples,
                                     model=self.model, use_schema_constraints=False, max_workers=1,
                                     batch_length=1, show_progress=False)
        wall = time.perf_counter() - started
        return to_summary(annotated.extractions or [], doc), self.calls, wall


def _sentence_of(doc: Document, pos: int | None) -> list[str]:
    if pos is None:
        return []
    return [s.id for s in doc.sentences if s.start <= pos < s.end][:1]


def _attr(attrs: dict, name: str) -> str:
    value = attrs.get(name)
    return str(value[0] if isinstance(value, list) and value else value or "").strip()


def to_summary(extractions: list[Any], doc: Document) -> dict:
    """LangExtract's extractions as a summary dict the coopqa scorers read."""
    out: dict[str, Any] = {"doc_id": doc.doc_id, "countries": [], "participants": [], "cooperation_areas": [],
                           "organizations": [], "agreements": [], "date": None, "location": {}, "dropped": []}
    seen: set[tuple[str, str]] = set()
    for e in extractions:
        attrs = e.attributes or {}
        pos = e.char_interval.start_pos if e.char_interval else None
        evidence = _sentence_of(doc, pos)
        cls, text = e.extraction_class, (e.extraction_text or "").strip()

        if cls == "country":
            name = _attr(attrs, "english_name") or text
            if ("c", canonical_country(name)) not in seen:
                seen.add(("c", canonical_country(name)))
                out["countries"].append({"name": name, "evidence": evidence})
        elif cls == "participant":
            name = _attr(attrs, "english_name") or text
            if not any(names_match(name, p["name"]) for p in out["participants"]):
                out["participants"].append({"name": name, "name_original": text, "evidence": evidence})
        elif cls == "cooperation_area":
            area = _attr(attrs, "area")
            if area not in COOPERATION_AREAS:
                out["dropped"].append({"field": "cooperation_areas", "value": area, "reason": "not in the enum"})
            elif ("a", area) not in seen:
                seen.add(("a", area))
                out["cooperation_areas"].append({"area": area, "evidence": evidence})
        elif cls == "date" and out["date"] is None and _ISO.match(_attr(attrs, "iso")):
            out["date"], out["date_evidence"] = _attr(attrs, "iso"), evidence
    return out

