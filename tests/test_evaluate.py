"""`coopqa eval`: check-labels, the retrieval eval on a tiny real index, the full run from prediction files
(the hand-computed worked example, end to end), thresholds, and live runs that cache per-item outputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from coopqa import evaluate
from coopqa.api import CoopQA
from coopqa.cli import app
from coopqa.settings import Settings
from coopqa.types import CoopqaError

ROOT = Path(__file__).resolve().parents[1]
WORKED = ROOT / "evals/fixtures/worked"
WORKED_ARGS = ("--corpus", str(WORKED / "corpus"), "--labels", str(WORKED / "labels"),
               "--retrieval", str(WORKED / "retrieval.jsonl"))


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


def approx(x: float) -> object:
    return pytest.approx(x, abs=1e-9)


# ---------------------------------------------------------------- check-labels


def test_check_labels_passes_on_seeds_and_dev() -> None:
    seeds = cli("eval", "check-labels")
    assert seeds.exit_code == 0, seeds.output
    assert "ok (seeds): 5 label files" in seeds.stdout
    dev = cli("eval", "check-labels", "--dev")
    assert dev.exit_code == 0, dev.output
    assert "ok (dev): 12 label files" in dev.stdout


def test_check_labels_reports_a_broken_label(tmp_path: Path) -> None:
    shutil.copytree(WORKED / "corpus", tmp_path / "corpus")
    shutil.copytree(WORKED / "labels", tmp_path / "labels")
    path = tmp_path / "labels" / "wk_en.json"
    label = json.loads(path.read_text(encoding="utf-8"))
    label["qa"][0]["support"] = ["Rostami met the Serbian minister in Novi Sad"]  # not in the article
    label["event"]["cooperation_areas"].append("tourism")  # not in the enum
    path.write_text(json.dumps(label, ensure_ascii=False), encoding="utf-8")
    result = cli("eval", "check-labels", "--corpus", str(tmp_path / "corpus"), "--labels", str(tmp_path / "labels"))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "event.cooperation_areas" in lines[0]  # schema first
    label["event"]["cooperation_areas"].pop()
    path.write_text(json.dumps(label, ensure_ascii=False), encoding="utf-8")
    result = cli("eval", "check-labels", "--corpus", str(tmp_path / "corpus"), "--labels", str(tmp_path / "labels"))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{path}: qa[0].support[0]: not an exact substring of the article: "
        "'Rostami met the Serbian minister in Novi Sad'"]
    assert "1 problem(s)" in result.stderr


def test_check_labels_needs_existing_paths(tmp_path: Path) -> None:
    result = cli("eval", "check-labels", "--labels", str(tmp_path / "nowhere"))
    assert isinstance(result.exception, CoopqaError) and "does not exist" in str(result.exception)


# ---------------------------------------------------------------- full run from prediction files


def test_worked_example_end_to_end_matches_hand_computation(tmp_path: Path) -> None:
    """`coopqa eval --predictions evals/fixtures/worked` reproduces the figures computed by hand in
    tests/test_scoring.py::test_worked_example_matches_hand_computation (see its docstring)."""
    result = cli("eval", *WORKED_ARGS, "--predictions", str(WORKED), "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "eval-report.json").read_text(encoding="utf-8"))
    assert (tmp_path / "eval-report.html").read_text(encoding="utf-8").startswith("<!doctype html>")
    overall, by_lang = report["overall"], report["by_language"]

    s = overall["summary"]
    expected_fields = {  # matched, predicted, labelled
        "countries": (4, 4, 4), "participants": (4, 5, 4), "organizations": (1, 1, 2), "agreements": (1, 1, 1),
        "cooperation_areas": (3, 3, 4), "date": (1, 2, 2), "location_city": (1, 2, 1),
    }
    for name, counts in expected_fields.items():
        f = s["fields"][name]
        assert (f["matched"], f["predicted"], f["labelled"]) == counts, name
    assert s["fields"]["participants"]["f1"] == approx(8 / 9)
    assert s["all_fields"]["precision"] == approx(13 / 14) and s["all_fields"]["recall"] == approx(13 / 15)
    assert s["date_accuracy"] == 0.5 and s["city_accuracy"] == 0.5
    e = overall["evidence"]
    assert (e["cited"], e["facts"]) == (21, 17)
    assert e["evidence_validity"] == approx(20 / 21) and e["citation_support"] == approx(15 / 17)
    a = overall["answers"]
    assert a["answerable"] == {"n": 6, "accuracy": approx(4 / 6), "citation_recall": approx(4 / 6),
                               "citation_precision": approx(4 / 6), "false_abstentions": 1, "unanswered": 0}
    assert a["unanswerable"] == {"n": 2, "abstention_accuracy": 0.5, "hallucinations": 1, "unanswered": 0}
    assert by_lang["en"]["answers"]["answerable"]["accuracy"] == approx(1 / 3)
    assert by_lang["en"]["answers"]["answerable"]["citation_precision"] == approx(2 / 3)
    assert by_lang["fa"]["answers"]["answerable"]["accuracy"] == 1.0
    assert by_lang["fa"]["answers"]["answerable"]["citation_recall"] == approx(2 / 3)
    r = overall["retrieval"]
    assert (r["queries"], r["recall@1"], r["recall@3"], r["recall@5"], r["mrr"]) == (
        3, approx(1 / 2), approx(5 / 6), 1.0, approx(5 / 6))
    # w1 asks in English for a Persian sentence (rank 2); w2 and w3 are English → English
    pairs = report["retrieval_breakdown"]["by_pair"]
    assert pairs["en->fa"]["mrr"] == 0.5 and pairs["en->en"]["recall@1"] == approx(3 / 4)
    assert report["retrieval_breakdown"]["cross_lingual"]["queries"] == 1
    # answers.jsonl asks fa Q1, fa Q3 and the fa unanswerable question in Persian, the rest in English
    forms = report["answers_by_question_form"]
    assert forms["native"]["answerable"] | {"citation_recall": 0, "citation_precision": 0} == {
        "n": 3, "accuracy": approx(2 / 3), "unanswered": 1, "false_abstentions": 0,
        "citation_recall": 0, "citation_precision": 0}
    assert forms["native"]["unanswerable"]["abstention_accuracy"] == 1.0
    assert forms["english"]["answerable"]["accuracy"] == approx(2 / 6)
    assert forms["english"]["answerable"]["unanswered"] == 2
    kinds = [f["kind"] for f in report["failures"]]
    assert kinds.count("hallucination") == 3 and kinds.count("omission") == 3 and kinds.count("wrong_answer") == 2
    assert report["meta"]["mode"] == "predictions" and report["notes"] == []

    # the printed table: a row per metric, overall then one column per language
    table = result.stdout.split("\n\n")[1].splitlines()
    assert table[0].split() == ["overall", "en", "fa"]
    assert next(x for x in table if x.strip().startswith("fields precision")).split()[-3:] == [
        f"{13 / 14:.3f}", f"{8 / 9:.3f}", "1.000"]
    assert next(x for x in table if x.strip().startswith("accuracy")).split()[-3:] == ["0.667", "0.333", "1.000"]
    assert "report: " in result.stdout and "eval-report.html" in result.stdout


def test_run_subcommand_equals_default_and_only_limits_sections(tmp_path: Path) -> None:
    result = cli("eval", "run", *WORKED_ARGS, "--predictions", str(WORKED), "-o", str(tmp_path),
                 "--only", "answers", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert list(report["overall"]) == ["answers"] and report["meta"]["sections"] == ["answers"]
    assert report["overall"]["answers"]["answerable"]["accuracy"] == approx(4 / 6)


def test_predictions_without_some_outputs_are_reported_not_available(tmp_path: Path) -> None:
    preds = tmp_path / "preds"
    preds.mkdir()
    shutil.copy(WORKED / "answers.jsonl", preds)
    result = cli("eval", *WORKED_ARGS, "--predictions", str(preds), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "note: summaries: not available (no summaries/ in" in result.stderr
    assert "note: retrieval: not available (no rankings.json in" in result.stderr
    report = json.loads((tmp_path / "out/eval-report.json").read_text(encoding="utf-8"))
    assert list(report["overall"]) == ["answers"]


def test_a_missing_summary_counts_as_empty(tmp_path: Path) -> None:
    preds = tmp_path / "preds"
    shutil.copytree(WORKED / "summaries", preds / "summaries")
    (preds / "summaries/wk_fa.json").unlink()
    run = evaluate.run_eval(Settings(), evaluate.eval_set(corpus=WORKED / "corpus", labels=WORKED / "labels"),
                            predictions=preds, only=["summaries"])
    s = run.report["overall"]["summary"]
    assert s["documents"] == 2 and s["fields"]["countries"]["recall"] == 0.5  # wk_fa's 2 countries omitted
    assert any("scored as empty: wk_fa" in n for n in run.notes)


# ---------------------------------------------------------------- thresholds


def test_thresholds_from_flags_set_the_exit_code(tmp_path: Path) -> None:
    base = ("eval", *WORKED_ARGS, "--predictions", str(WORKED), "-o", str(tmp_path))
    failing = cli(*base, "--min-answer-accuracy", "0.7", "--min-mrr", "0.8")  # accuracy 4/6, MRR 5/6
    assert failing.exit_code == 1
    assert "FAIL overall.answers.answerable.accuracy = 0.667 < 0.700" in failing.stderr
    assert "mrr" not in failing.stderr
    passing = cli(*base, "--min-answer-accuracy", "0.6", "--min-mrr", "0.8", "--min",
                  "by_language.fa.answers.answerable.accuracy=1")
    assert passing.exit_code == 0 and "all 3 thresholds met" in passing.stderr
    generic = cli(*base, "--min", "by_language.en.summary.fields.participants.precision=0.9")  # 2/3
    assert generic.exit_code == 1 and "participants.precision = 0.667 < 0.900" in generic.stderr


def test_thresholds_from_a_config_file(tmp_path: Path) -> None:
    config = tmp_path / "thresholds.toml"
    config.write_text('[min]\nrecall5 = 1.0\n"by_language.en.answers.answerable.accuracy" = 0.5\n\n'
                      "[min.overall.evidence]\nevidence_validity = 0.9\n", encoding="utf-8")
    base = ("eval", *WORKED_ARGS, "--predictions", str(WORKED), "-o", str(tmp_path), "--config", str(config))
    result = cli(*base)
    assert result.exit_code == 1
    assert [x for x in result.stderr.splitlines() if x.startswith("FAIL")] == [
        "FAIL by_language.en.answers.answerable.accuracy = 0.333 < 0.500"]
    # a flag overrides the file; thresholds of sections left out with --only are skipped
    assert cli(*base, "--only", "summaries,retrieval").exit_code == 0
    assert evaluate.load_thresholds(config) == {
        "overall.retrieval.recall@5": 1.0, "by_language.en.answers.answerable.accuracy": 0.5,
        "overall.evidence.evidence_validity": 0.9}


def test_a_metric_missing_from_a_section_that_ran_fails(tmp_path: Path) -> None:
    result = cli("eval", *WORKED_ARGS, "--predictions", str(WORKED), "-o", str(tmp_path),
                 "--min", "by_language.ar.answers.answerable.accuracy=0.1")
    assert result.exit_code == 1 and "by_language.ar.answers.answerable.accuracy: not in the report" in result.stderr


def test_unknown_threshold_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CoopqaError, match="unknown metric 'overall.speed'"):
        evaluate.threshold_path("overall.speed")
    bad = tmp_path / "bad.toml"
    bad.write_text('[min]\nrecall5 = "high"\n', encoding="utf-8")
    with pytest.raises(CoopqaError, match="min.recall5 must be a number"):
        evaluate.load_thresholds(bad)


# ---------------------------------------------------------------- retrieval on a real (tiny) index

TINY_EN = ("The football match in Tabriz ended in a draw after ninety minutes.\n"
           "Iran and Serbia signed a film agreement in Belgrade on Monday.\n"
           "Heavy rain fell across northern Italy on Tuesday.\n")
TINY_FA = "جشنواره فیلم کودک در اصفهان برگزار شد.\nقیمت نان در بازار تهران افزایش یافت.\n"


def _tiny(tmp_path: Path) -> tuple[Path, Path]:
    docs = tmp_path / "tiny"
    docs.mkdir()
    (docs / "a.txt").write_text(TINY_EN, encoding="utf-8")
    (docs / "b.txt").write_text(TINY_FA, encoding="utf-8")
    queries = [
        # a query that is a sentence of the corpus finds it first
        {"id": "t1", "query": "Iran and Serbia signed a film agreement in Belgrade on Monday.", "lang": "en",
         "doc_id": "a", "support": ["signed a film agreement in Belgrade"]},
        # two gold sentences, the query copies one of them: recall@1 = 1/2, reciprocal rank 1
        {"id": "t2", "query": "Heavy rain fell across northern Italy on Tuesday.", "lang": "en", "doc_id": "a",
         "support": ["football match in Tabriz", "Heavy rain fell"]},
        {"id": "t3", "query": "جشنواره فیلم کودک در اصفهان برگزار شد.", "lang": "fa", "doc_id": "b",
         "support": ["جشنواره فیلم کودک"]},
        # cross-lingual: its rank is up to the retriever; with 5 sentences in all it is in the top 5
        {"id": "t4", "query": "The price of bread rose in the Tehran bazaar.", "lang": "en", "doc_id": "b",
         "support": ["قیمت نان"]},
    ]
    path = tmp_path / "tiny.jsonl"
    path.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries), encoding="utf-8")
    return docs, path


def test_retrieval_eval_on_a_tiny_corpus(tmp_path: Path) -> None:
    docs, queries = _tiny(tmp_path)
    result = cli("eval", "retrieval", "--corpus", str(docs), "--queries", str(queries), "--json", "-k", "1,5")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    rows = {q["id"]: q for q in out["queries"]}
    assert rows["t2"]["gold"] == ["a:s1", "a:s3"]
    assert [rows[i]["first_rank"] for i in ("t1", "t2", "t3")] == [1, 1, 1]
    assert rows["t1"]["ranked"][0] == "a:s2" and rows["t2"]["ranked"][0] == "a:s3"
    assert len(rows["t4"]["ranked"]) == 5  # depth 10 > 5 sentences: everything is ranked
    rank4 = rows["t4"]["first_rank"]
    m = out["metrics"]
    assert m["overall"] == {"queries": 4, "recall@1": approx((1 + 1 / 2 + 1 + (rank4 == 1)) / 4), "recall@5": 1.0,
                            "mrr": approx((3 + 1 / rank4) / 4)}
    assert m["by_pair"]["en->en"] == {"queries": 2, "recall@1": 0.75, "recall@5": 1.0, "mrr": 1.0}
    assert m["by_pair"]["fa->fa"] == {"queries": 1, "recall@1": 1.0, "recall@5": 1.0, "mrr": 1.0}
    assert m["cross_lingual"] == m["by_pair"]["en->fa"] == {
        "queries": 1, "recall@1": float(rank4 == 1), "recall@5": 1.0, "mrr": approx(1 / rank4)}
    assert m["by_query_language"]["en"]["queries"] == 3 and list(m["by_pair"]) == ["en->en", "en->fa", "fa->fa"]
    home = Path(out["meta"]["home"])
    assert home.parent == Settings().home / "eval" and home.name.startswith("tiny-")
    assert sorted(out["meta"]["reindexed"]) == ["a", "b"]

    again = cli("eval", "retrieval", "--corpus", str(docs), "--queries", str(queries), "-v", "--min-recall5", "1",
                "--min-mrr", "0.5")
    assert again.exit_code == 0, again.output
    assert "(index unchanged)" in again.stdout and "all 2 thresholds met" in again.stderr
    lines = again.stdout.splitlines()
    assert lines[2].split() == ["n", "R@1", "R@5", "R@10", "MRR@10"]  # -k 5 is added for --min-recall5
    assert lines[3].split()[:2] == ["overall", "4"]
    assert "late t2" not in again.stdout  # t2 has a gold sentence at rank 1
    failing = cli("eval", "retrieval", "--corpus", str(docs), "--queries", str(queries), "--min-mrr", "1.01")
    assert failing.exit_code == 1 and "FAIL overall.retrieval.mrr" in failing.stderr


def test_retrieval_eval_reindexes_a_changed_corpus(tmp_path: Path) -> None:
    docs, queries = _tiny(tmp_path)
    settings = Settings()
    chosen = evaluate.eval_set(corpus=docs, retrieval=queries)
    first = evaluate.run_retrieval_eval(settings, chosen)
    (docs / "b.txt").unlink()
    second = evaluate.run_retrieval_eval(settings, chosen)
    assert sorted(first.changed) == ["a", "b"] and second.changed == ["b"]
    assert [s.id for s in second.scores] == ["t1", "t2"]
    assert second.problems == ["t3: no document 'b' in the corpus; query skipped",
                               "t4: no document 'b' in the corpus; query skipped"]


# ---------------------------------------------------------------- live runs: summarize/ask through CoopQA


def _worked_outputs() -> tuple[dict[str, dict], dict[str, dict]]:
    summaries = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (WORKED / "summaries").glob("*.json")}
    answers = [json.loads(line) for line in (WORKED / "answers.jsonl").read_text(encoding="utf-8").splitlines()]
    return summaries, {a["question"]: a for a in answers}


@pytest.fixture
def fake_system(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, list[str]]:
    """CoopQA.summarize/ask replaced by the worked example's hand-written outputs (the LLM-backed methods
    are other modules' business); every call is recorded. Prompts live in a temporary folder."""
    summaries, answers = _worked_outputs()
    calls: dict[str, list[str]] = {"summarize": [], "ask": []}

    def summarize(self: CoopQA, doc_id: str) -> dict:
        calls["summarize"].append(doc_id)
        return summaries[doc_id]

    def ask(self: CoopQA, question: str, lang: str | None = None) -> dict:
        calls["ask"].append(question)
        if question not in answers:
            raise RuntimeError("model server went away")
        return answers[question]

    monkeypatch.setattr(CoopQA, "summarize", summarize, raising=False)
    monkeypatch.setattr(CoopQA, "ask", ask, raising=False)
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "answer.md").write_text("Answer with citations.", encoding="utf-8")
    monkeypatch.setattr(evaluate, "PROMPTS_DIR", prompts)
    return calls


def test_live_run_scores_like_the_predictions_and_caches_outputs(tmp_path: Path, fake_system: dict) -> None:
    chosen = evaluate.eval_set(corpus=WORKED / "corpus", labels=WORKED / "labels",
                               retrieval=WORKED / "retrieval.jsonl")
    first = evaluate.run_eval(Settings(), chosen, only=["summaries", "answers"], out_dir=tmp_path / "out")
    # every labelled question in English, and in Persian too where labelled: 4 for wk_en, 4 × 2 for wk_fa
    assert sorted(fake_system["summarize"]) == ["wk_en", "wk_fa"] and len(fake_system["ask"]) == 12
    # the worked answers.jsonl answers 8 of them; the others fail and count as unasked, the run goes on
    costs = first.report["meta"]["costs"]["answers"]
    assert (costs["cached"], costs["computed"], costs["failed"]) == (0, 8, 4)
    assert sum("RuntimeError: model server went away" in n for n in first.notes) == 4
    scored = evaluate.run_eval(Settings(), chosen, predictions=first.predictions_dir, only=["summaries", "answers"])
    reference = evaluate.run_eval(Settings(), chosen, predictions=WORKED, only=["summaries", "answers"])
    assert scored.report["overall"]["summary"] == first.report["overall"]["summary"] == \
        reference.report["overall"]["summary"]
    assert first.report["overall"]["evidence"] == reference.report["overall"]["evidence"]
    answered = first.report["overall"]["answers"]["answerable"]
    assert answered["unanswered"] == 0 and answered["accuracy"] == approx(4 / 6)  # both forms asked: pooled
    assert first.report["overall"]["answers"] == scored.report["overall"]["answers"]

    second = evaluate.run_eval(Settings(), chosen, only=["summaries", "answers"])
    assert len(fake_system["summarize"]) == 2 and len(fake_system["ask"]) == 16  # only the 4 failures again
    assert second.report["meta"]["costs"]["summaries"]["cached"] == 2
    assert second.report["overall"] == first.report["overall"]

    (evaluate.PROMPTS_DIR / "answer.md").write_text("Answer with citations, briefly.", encoding="utf-8")
    evaluate.run_eval(Settings(), chosen, only=["summaries", "answers"])
    assert len(fake_system["summarize"]) == 4 and len(fake_system["ask"]) == 28  # a prompt changed: recomputed


def test_live_run_reports_missing_methods(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(CoopQA, "summarize", raising=False)
    monkeypatch.delattr(CoopQA, "ask", raising=False)
    chosen = evaluate.eval_set(corpus=WORKED / "corpus", labels=WORKED / "labels",
                               retrieval=WORKED / "retrieval.jsonl")
    run = evaluate.run_eval(Settings(), chosen, out_dir=tmp_path)
    assert "summaries: not available (CoopQA.summarize does not exist yet)" in run.notes
    assert "answers: not available (CoopQA.ask does not exist yet)" in run.notes
    assert list(run.report["overall"]) == ["retrieval"] and run.report["overall"]["retrieval"]["queries"] == 3
    rankings = json.loads((tmp_path / "eval-report.predictions/rankings.json").read_text(encoding="utf-8"))
    assert rankings.keys() == {"w1", "w2", "w3"}


def test_the_repository_threshold_file_loads() -> None:
    mins = evaluate.load_thresholds(ROOT / "evals/thresholds.toml")
    assert mins and all(evaluate.threshold_section(path) for path in mins)
