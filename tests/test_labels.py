import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from coopqa.labels import (
    AGREEMENT_KINDS,
    AGREEMENT_STATUSES,
    COOPERATION_AREAS,
    Label,
    check_labels,
    load_cross_doc,
    load_labels,
    load_retrieval,
)

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = (
    "Tehran film week opens\n\n"
    "Iranian Culture Minister Reza Amini met Tunisian Culture Minister Leila Haddad in Tunis on 3 March 2024.\n"
    "The two ministers signed a memorandum of understanding on film weeks.\n"
)


def _label(**changes: object) -> dict:
    label = {
        "doc_id": "doc1", "language": "en",
        "event": {
            "date": "2024-03-03", "date_text": "3 March 2024", "location": {"city": "Tunis", "country": "Tunisia"},
            "countries": ["Iran", "Tunisia"],
            "participants": [{"name": "Reza Amini", "aliases": ["Amini"], "role": "Culture Minister",
                              "organization": None, "country": "Iran"}],
            "organizations": [], "cooperation_areas": ["film_weeks"],
            "agreements": [{"kind": "MoU", "status": "signed", "parties": ["Iran", "Tunisia"],
                            "support": "signed a memorandum of understanding"}],
        },
        "qa": [
            {"question": "Who met Leila Haddad?", "answer": "Reza Amini", "answer_aliases": ["Amini"],
             "support": ["Reza Amini met Tunisian Culture Minister Leila Haddad"]},
            {"question": "Where did they meet?", "answer": "Tunis", "support": ["in Tunis on 3 March 2024"]},
            {"question": "What did they sign?", "answer": "an MoU",
             "support": ["The two ministers signed a memorandum of understanding"]},
        ],
        "unanswerable": [{"question": "How much money was pledged?", "why": "no amount"}],
    }
    label.update(changes)
    return label


def _setup(tmp_path: Path, label: dict, article: str = ARTICLE) -> tuple[Path, Path]:
    corpus, labels = tmp_path / "corpus", tmp_path / "labels"
    corpus.mkdir()
    labels.mkdir()
    (corpus / "doc1.txt").write_text(article, encoding="utf-8")
    (labels / "doc1.json").write_text(json.dumps(label, ensure_ascii=False), encoding="utf-8")
    return labels, corpus


def test_good_label_passes(tmp_path: Path) -> None:
    assert check_labels(*_setup(tmp_path, _label())) == []


def test_support_not_in_article_is_reported_clearly(tmp_path: Path) -> None:
    label = _label()
    label["qa"][0]["support"] = ["Reza Amini welcomed Leila Haddad"]
    problems = check_labels(*_setup(tmp_path, label))
    assert len(problems) == 1
    assert "doc1.json" in problems[0] and "qa[0].support[0]" in problems[0]
    assert "not an exact substring of the article" in problems[0] and "Reza Amini welcomed" in problems[0]


def test_near_miss_support_gets_a_hint(tmp_path: Path) -> None:
    label = _label()
    label["event"]["agreements"][0]["support"] = "signed a  Memorandum of understanding"  # case and spacing
    (problem,) = check_labels(*_setup(tmp_path, label))
    assert "event.agreements[0].support[0]" in problem and "normalising" in problem


def test_content_rules(tmp_path: Path) -> None:
    label = _label(language="fa", unanswerable=[])
    label["qa"] = label["qa"][:2]
    label["event"]["countries"] = ["Tunisia"]
    problems = "\n".join(check_labels(*_setup(tmp_path, label)))
    assert "2 qa items, need 3–5" in problems
    assert "no unanswerable question" in problems
    assert "qa[0] needs question_native in 'fa'" in problems
    assert "language 'fa' but the article reads as 'en'" in problems
    assert "event.countries lacks 'Iran'" in problems
    assert "participants[0].country 'Iran' is not in event.countries" in problems


def test_schema_and_enum_errors(tmp_path: Path) -> None:
    label = _label()
    label["event"]["cooperation_areas"] = ["film_weeks", "film_festivals"]
    label["event"]["agreements"][0]["status"] = "done"
    label["event"]["date"] = "2024-13"
    label["event"]["particpants"] = []
    problems = "\n".join(check_labels(*_setup(tmp_path, label)))
    assert "event.cooperation_areas.1" in problems
    assert "event.agreements.0.status" in problems
    assert "event.date" in problems
    assert "event.particpants: Extra inputs are not permitted" in problems


def test_missing_article_and_cross_doc_and_retrieval(tmp_path: Path) -> None:
    labels, corpus = _setup(tmp_path, _label())
    (labels / "ghost.json").write_text(json.dumps(_label(doc_id="ghost")), encoding="utf-8")
    cross = tmp_path / "cross.json"
    cross.write_text(json.dumps([{"question": "q", "answer": "a", "support": [
        {"doc_id": "doc1", "text": "Leila Haddad"}, {"doc_id": "nowhere", "text": "x"}]}]), encoding="utf-8")
    retrieval = tmp_path / "retrieval.jsonl"
    retrieval.write_text(
        json.dumps({"id": "r1", "query": "q", "lang": "en", "doc_id": "doc1", "support": ["Leila Haddad"]}) + "\n"
        + json.dumps({"id": "r1", "query": "q", "lang": "en", "doc_id": "doc1", "support": ["Haddad met"]}) + "\n",
        encoding="utf-8",
    )
    problems = "\n".join(check_labels(labels, corpus, cross=cross, retrieval=retrieval))
    assert "ghost.json: no article 'ghost' in the corpus" in problems
    assert "[0].support[1]: no article 'nowhere'" in problems
    assert "retrieval.jsonl:2: duplicate id 'r1'" in problems
    assert "retrieval.jsonl:2: support[0]: not an exact substring" in problems


def test_enums_defined_once_and_used_by_models() -> None:
    assert len(COOPERATION_AREAS) == 16 and "dubbing" in COOPERATION_AREAS
    assert AGREEMENT_KINDS == ("MoU", "agreement", "contract", "protocol", "program")
    assert AGREEMENT_STATUSES == ("signed", "planned", "discussed")
    with pytest.raises(ValidationError):
        Label.model_validate(_label(language="de"))


def test_repository_labels_load_and_pass() -> None:
    labels = load_labels(ROOT / "evals/labels")
    assert labels and all(doc_id == label.doc_id for doc_id, label in labels.items())
    assert load_cross_doc(ROOT / "evals/cross_doc.json") and load_retrieval(ROOT / "evals/retrieval.jsonl")
    assert check_labels(ROOT / "evals/labels", ROOT / "corpus", ROOT / "evals/cross_doc.json",
                        ROOT / "evals/retrieval.jsonl") == []
    worked = ROOT / "evals/fixtures/worked"
    assert check_labels(worked / "labels", worked / "corpus", retrieval=worked / "retrieval.jsonl") == []
