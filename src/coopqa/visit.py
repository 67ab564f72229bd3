"""The visit summary: the one definition of its schema (output-contract.md, `coopqa summarize --json`).

`schemas/visit_summary.schema.json` is exported from `VisitSummary` by `coopqa schema export` (or
`export_schema()`); a test fails when the file is stale. Every list item and every non-null scalar group
carries `evidence`: ids ('<doc_id>:s<N>') of the citable sentences that prove it. Claims whose evidence did
not verify are listed in `dropped`, never emitted as facts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from coopqa.files import is_current, write_generated
from coopqa.labels import AgreementKind, AgreementStatus, CooperationArea, Language
from coopqa.settings import SCHEMAS_DIR
from coopqa.types import SCHEMA_VERSION

SCHEMA_FILE = "visit_summary.schema.json"
SentenceIds = list[str]
_EVIDENCE = Field(default_factory=list, description="Ids '<doc_id>:s<N>' of the sentences that prove this.")


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Location(_Item):
    city: str | None = None
    country: str | None = Field(None, description="English short name.")
    evidence: SentenceIds = _EVIDENCE


class Country(_Item):
    name: str = Field(description="English short name, e.g. 'Kazakhstan'.")
    evidence: SentenceIds = _EVIDENCE


class Participant(_Item):
    name: str = Field(description="English transliteration.")
    name_original: str = Field(description="The name as written in the article.")
    role: str | None = None
    organization: str | None = None
    country: str | None = Field(None, description="English short name of the side the person speaks for.")
    evidence: SentenceIds = _EVIDENCE


class Organization(_Item):
    name: str = Field(description="English name.")
    name_original: str = Field(description="The name as written in the article.")
    country: str | None = None
    evidence: SentenceIds = _EVIDENCE


class Agreement(_Item):
    kind: AgreementKind
    status: AgreementStatus
    parties: list[str] = Field(default_factory=list)
    description: str = ""
    evidence: SentenceIds = _EVIDENCE


class Area(_Item):
    area: CooperationArea
    evidence: SentenceIds = _EVIDENCE


class FollowUp(_Item):
    text: str
    evidence: SentenceIds = _EVIDENCE


class Dropped(_Item):
    field: str = Field(description="Where the claim would have gone, e.g. 'participants' or 'participants.role'.")
    value: str
    reason: str


class VisitSummary(_Item):
    """One document's visit summary; see output-contract.md."""

    schema_version: Literal[1] = SCHEMA_VERSION
    doc_id: str
    language: Language
    title: str = Field("", description="English headline.")
    date: str | None = Field(None, pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$", description="YYYY-MM-DD, YYYY-MM or YYYY.")
    date_text: str | None = Field(None, description="The date as written.")
    date_evidence: SentenceIds = _EVIDENCE
    location: Location | None = None
    countries: list[Country] = Field(default_factory=list)
    participants: list[Participant] = Field(default_factory=list)
    organizations: list[Organization] = Field(default_factory=list)
    agreements: list[Agreement] = Field(default_factory=list)
    cooperation_areas: list[Area] = Field(default_factory=list)
    follow_ups: list[FollowUp] = Field(default_factory=list)
    summary: str = Field("", description="2–3 English sentences.")
    summary_evidence: SentenceIds = _EVIDENCE
    dropped: list[Dropped] = Field(default_factory=list)
    model: str = ""
    elapsed_s: float = 0.0

    def evidence_ids(self) -> list[str]:
        """Every sentence id cited anywhere in the summary (outside `dropped`), in order, without repeats."""
        ids: list[str] = [*self.date_evidence]
        if self.location:
            ids += self.location.evidence
        for items in (self.countries, self.participants, self.organizations, self.agreements,
                      self.cooperation_areas, self.follow_ups):
            for item in items:
                ids += item.evidence
        ids += self.summary_evidence
        return list(dict.fromkeys(ids))


def json_schema() -> dict:
    """The JSON schema of the visit summary, as exported."""
    schema = VisitSummary.model_json_schema()
    schema["$id"] = "https://coopqa.invalid/schemas/" + SCHEMA_FILE
    schema["title"] = "coopqa visit summary"
    return schema


def schema_text() -> str:
    return json.dumps(json_schema(), ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def export_schema(dest: Path | None = None) -> Path:
    """Write the schema file (default schemas/visit_summary.schema.json) and return its path."""
    return write_generated(dest or SCHEMAS_DIR / SCHEMA_FILE, schema_text())


def schema_is_current(path: Path | None = None) -> bool:
    return is_current(path or SCHEMAS_DIR / SCHEMA_FILE, schema_text())
