"""The Q&A engine: whatever a (fake) model returns, citations point only at sentences that exist and were
shown, unsupported claims are dropped, and an answer with nothing left abstains in the question's language;
plus two runs of the real embedded model (`-m llm`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from coopqa import answer as answer_mod
from coopqa.answer import ABSTAIN_TEXT, AnswerEngine, ModelAnswer
from coopqa.api import CoopQA
from coopqa.prompts import load_prompt
from coopqa.types import SCHEMA_VERSION

KARIMOV = "Azerbaijani Culture Minister Anar Karimov has visited the Iranian Film and Audiovisual Organization"
MUKHTARPUR = "Anar Karimov also met with the head of the National Library and Archives of Iran"
Q_KARIMOV = "Which Azerbaijani minister visited the Iranian Film and Audiovisual Organization?"
NOT_ANSWERED = {"claims": [{"text": "The sentences do not say.", "sources": []}], "answered": False}


class FakeLLM:
    """Same `extract`/`chat` signature as coopqa.llm.LLM; replies are dicts or callables(user_text) → dict."""

    model = "fake-model"

    def __init__(self, *replies):
        self.replies = list(replies)
        self.calls: list[list[dict]] = []
        self.last = None

    def extract(self, messages, response_model, **params):
        self.calls.append(list(messages))
        reply = self.replies[min(len(self.calls), len(self.replies)) - 1]
        data = reply(messages[-1]["content"]) if callable(reply) else reply
        return response_model.model_validate(data)

    def chat(self, messages, *, stream=False, **params):
        """Streams the next structured reply as JSON text when asked for the answer schema (chunks of 7
        characters, as tokens would come); otherwise replies with `self.chat_reply`."""
        self.calls.append(list(messages))
        if "response_format" in params:
            reply = self.replies[min(len(self.calls), len(self.replies)) - 1]
            data = reply(messages[-1]["content"]) if callable(reply) else reply
            text = json.dumps(ModelAnswer.model_validate(data).model_dump(), ensure_ascii=False)
            return (text[i:i + 7] for i in range(0, len(text), 7))
        text = self.chat_reply(messages) if callable(self.chat_reply) else self.chat_reply
        return iter([text]) if stream else text

    chat_reply = "ok"


def number_of(user_text: str, fragment: str) -> int:
    """The number under which the sentence containing `fragment` was shown (fails if it was not)."""
    for line in user_text.splitlines():
        m = re.match(r"\[(\d+)\] (.*)", line)
        if m and fragment in m.group(2):
            return int(m.group(1))
    raise AssertionError(f"not shown: {fragment!r}")


def contexts(llm: FakeLLM) -> list[str]:
    """The sentences each call showed, in call order (a second try shows the same ones)."""
    return [c[-1]["content"].split("\n\nQuestion:")[0] for c in llm.calls]


def shown_numbers(user_text: str) -> set[int]:
    return {int(m) for m in re.findall(r"^\[(\d+)\]", user_text, flags=re.M)}


def claims(*items) -> dict:
    return {"answered": True, "claims": [{"text": t, "sources": list(s)} for t, s in items]}


@pytest.fixture(scope="module")
def coop(seed_home: Path) -> CoopQA:
    return CoopQA(home=seed_home)


def ask(coop: CoopQA, question: str, *replies, **kw) -> tuple[dict, FakeLLM, AnswerEngine]:
    llm = FakeLLM(*replies)
    engine = AnswerEngine(coop, llm)
    return engine.ask(question, **kw), llm, engine


def assert_contract(result: dict, coop: CoopQA, shown_ids: set[str] | None = None) -> None:
    """Keys, marker ↔ citation consistency, and every citation a real sentence quoted verbatim."""
    assert set(result) >= {"schema_version", "question", "language", "answer", "abstained", "citations",
                           "retrieved", "model", "elapsed_s"}
    assert result["schema_version"] == SCHEMA_VERSION
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", result["answer"])}
    assert markers == {c["marker"] for c in result["citations"]}
    assert [c["marker"] for c in result["citations"]] == list(range(1, len(result["citations"]) + 1))
    for c in result["citations"]:
        doc = coop.document(c["doc_id"])
        s = doc.sentence(c["id"])
        assert s is not None and not s.boilerplate and s.text == c["text"]
        if shown_ids is not None:
            assert c["id"] in shown_ids
    if result["abstained"]:
        assert result["citations"] == [] and not markers


def shown_ids(engine: AnswerEngine) -> set[str]:
    return {s.id for s in engine.last_trace.context.shown.values()}


# ------------------------------------------------------------------------------------------ fake model


def test_supported_claim_is_cited_verbatim(coop):
    result, llm, engine = ask(coop, Q_KARIMOV, lambda u: claims(("Anar Karimov, Azerbaijan's Culture Minister.",
                                                                 [number_of(u, KARIMOV)])))
    assert_contract(result, coop, shown_ids(engine))
    assert not result["abstained"] and result["language"] == "en"
    assert result["answer"] == "Anar Karimov, Azerbaijan's Culture Minister [1]."
    assert result["citations"][0]["id"] == "002_d149433968036d4b:s3"
    assert result["model"] == "fake-model" and len(llm.calls) == 1


def test_the_context_label_article_n_in_a_claim_is_not_a_number_to_verify(coop):
    result, _, _ = ask(coop, Q_KARIMOV, lambda u: claims(
        ("Article 1 says that Anar Karimov, Azerbaijan's Culture Minister, made the visit.", [number_of(u, KARIMOV)])))
    assert result["answer"].startswith("The article says that Anar Karimov"), result["answer"]


@pytest.mark.parametrize("forged", [[0], [-1], [99], [10_000], [0, 99]])
def test_forged_citations_are_never_emitted(coop, forged):
    result, llm, engine = ask(coop, Q_KARIMOV, claims(("Anar Karimov, the Culture Minister.", forged)))
    assert_contract(result, coop, shown_ids(engine))
    assert result["abstained"] and result["answer"] == ABSTAIN_TEXT["en"]
    assert len(llm.calls) == 2  # regenerated once before abstaining


def test_forged_markers_in_claim_text_are_replaced(coop):
    def reply(u):
        return claims(("Anar Karimov [7] [42] visited [3].", [number_of(u, KARIMOV), 77]))

    result, _, engine = ask(coop, Q_KARIMOV, reply)
    assert_contract(result, coop, shown_ids(engine))
    assert result["answer"] == "Anar Karimov visited [1]."


def test_only_shown_sentences_are_citable(coop):
    """A number beyond what was shown is dropped even if a sentence exists in the corpus at that position."""
    def reply(u):
        top = max(shown_numbers(u))
        return claims(("Anar Karimov, the Culture Minister.", [top + 1, number_of(u, KARIMOV)]))

    result, _, engine = ask(coop, Q_KARIMOV, reply)
    assert_contract(result, coop, shown_ids(engine))
    assert [c["id"] for c in result["citations"]] == ["002_d149433968036d4b:s3"]


def test_unsupported_claims_are_dropped_supported_kept(coop):
    def reply(u):
        k = number_of(u, KARIMOV)
        return claims(
            ("Anar Karimov visited the Iranian Film and Audiovisual Organization.", [k]),
            ("Karimov signed a 5 million dollar deal with Brazil.", [k]),  # number and country not in the source
            ("Anar Karimov met Vladimir Putin.", [k]),  # a name the sentence does not have
            ("Karimov visited on 3 March 2019.", [k]),  # a date the sentence does not have
        )

    result, _, engine = ask(coop, Q_KARIMOV, reply)
    assert_contract(result, coop, shown_ids(engine))
    assert result["answer"] == "Anar Karimov visited the Iranian Film and Audiovisual Organization [1]."
    dropped = [c for c in engine.last_trace.checks if not c.supported]
    assert len(dropped) == 3 and all(c.reason for c in dropped)


def test_true_fact_glued_to_the_premise_is_dropped(coop):
    """A sentence that names someone but does not say he did what the question asks does not support it."""
    q = "Who met the head of the National Library and Archives of Iran?"

    def reply(u):
        return claims(("Masoud Pezeshkian met the head of the National Library and Archives of Iran.",
                       [number_of(u, "Masoud Pezeshkian") if "Pezeshkian" in u else 1]))

    result, llm, engine = ask(coop, q, reply)
    assert_contract(result, coop, shown_ids(engine))
    assert result["abstained"]


@pytest.mark.parametrize(("question", "lang"), [
    ("ما الذي ستقدمه إيران وبيلاروسيا للإنتاج السينمائي المشترك؟", "ar"),
    ("تفاهم‌نامه سینمایی ایران و قزاقستان کجا امضا خواهد شد؟", "fa"),
    ("What did Azerbaijan commit to joint films with Iran?", "en"),
])
def test_all_dropped_abstains_in_the_question_language(coop, question, lang):
    result, llm, engine = ask(coop, question, claims(("12 million dollars on 5 May 2026 (Brazil).", [1, 2])))
    assert_contract(result, coop)
    assert result["abstained"] and result["language"] == lang and result["answer"] == ABSTAIN_TEXT[lang]
    asked = contexts(llm)
    assert asked[:2] == [asked[0]] * 2 and "previous claims were not supported" in llm.calls[1][-1]["content"]
    assert len(asked) <= 3 and asked[2:] != [asked[0]]  # then the next relevant article once, if there is one


def test_one_article_at_a_time_then_the_next_relevant_one(coop):
    """A question two articles bear on is asked of the best one's sentences alone; when that answers nothing,
    of the next one's (once), and the answer cites that article."""
    visit = "official visit by Iranian President Masoud Pezeshkian"

    def reply(user):
        if visit not in user:
            return NOT_ANSWERED
        return claims(("Iranian President Masoud Pezeshkian made an official visit.", [number_of(user, visit)]))

    result, llm, engine = ask(coop, "Who met to discuss cinema cooperation between Iran and Kazakhstan?", reply)
    assert_contract(result, coop, shown_ids(engine))
    assert not result["abstained"] and len(llm.calls) == 3, result
    first, again, second = contexts(llm)  # the best article is asked again once: "read them again"
    assert again == first and load_prompt("answer_recheck") in llm.calls[1][-1]["content"]
    assert "Article 1 (Persian" in first and "Article 2" not in first  # the best article alone
    assert "Article 1 (English" in second and "Article 2" not in second and visit in second
    assert {c["doc_id"] for c in result["citations"]} == {"003_d9e8c2260bf3591a"}
    assert not any(s.doc_id != "003_d9e8c2260bf3591a" for s in engine.last_trace.context.shown.values())


def test_not_answered_is_asked_again_once_then_abstains(coop):
    """The model's "not answered" about the best article is checked once ("read the sentences again"); other
    articles are asked once."""
    result, llm, _ = ask(coop, "Which studio will produce Azerbaijan's joint films with Iran?", NOT_ANSWERED)
    asked = contexts(llm)
    assert result["abstained"] and asked.count(asked[0]) == 2 and asked[1] == asked[0]
    assert load_prompt("answer_recheck") in llm.calls[1][-1]["content"]
    assert all(asked.count(c) == 1 for c in asked[2:])


def test_claims_that_only_say_it_is_missing_abstain(coop):
    result, _, _ = ask(coop, "On what date will Iran and Kazakhstan sign the cinema memorandum?",
                       lambda u: claims(("The article does not specify the date of the signing.", [1])))
    assert result["abstained"] and result["citations"] == []


def test_precheck_abstains_without_a_model_call(coop):
    result, llm, engine = ask(coop, "Which film festival in Brazil did Iran attend?", claims(("x", [1])))
    assert result["abstained"] and llm.calls == [] and "Brazil" in engine.last_trace.precheck
    assert result["retrieved"]


def test_precheck_names_versus_vocabulary(coop):
    """An unknown person's name abstains before any model call; capitalised vocabulary ('Central Asian')
    is no name and goes to the model."""
    result, llm, engine = ask(coop, "What did Jonathan Pemberton say about film weeks?", claims(("x", [1])))
    assert result["abstained"] and llm.calls == [] and "Pemberton" in engine.last_trace.precheck
    _, llm, engine = ask(coop, "Which Central Asian country signed a film memorandum with Iran?", NOT_ANSWERED)
    assert engine.last_trace.precheck is None and llm.calls


def test_lang_override_and_validation(coop):
    result, _, _ = ask(coop, Q_KARIMOV, NOT_ANSWERED, lang="fa")
    assert result["language"] == "fa" and result["answer"] == ABSTAIN_TEXT["fa"]
    with pytest.raises(Exception, match="auto or one of"):
        ask(coop, Q_KARIMOV, NOT_ANSWERED, lang="de")


def test_prompt_is_small_and_numbered(coop):
    _, llm, engine = ask(coop, Q_KARIMOV, NOT_ANSWERED)
    user = llm.calls[0][-1]["content"]
    numbers = sorted(shown_numbers(user))
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) <= 12
    assert len(user) < 4000 and user.rstrip().endswith("Answer in English.")
    assert "Respond" not in llm.calls[0][0]["content"] and "English" in llm.calls[0][0]["content"]


def test_wide_question_shows_each_article_its_best_sentence_under_the_countries_it_is_about(seed_copy):
    """Each relevant article is asked with its best-ranked sentence alone, under a header naming Iran and the
    partner its visit summary gives; a claim may name those countries though the sentence does not."""
    coop = CoopQA(home=seed_copy)
    q = "Which countries discussed film weeks with Iran?"
    top = next(h for h in coop.search(q, answer_mod.WIDE_CANDIDATES) if h.doc_id.startswith("002_"))
    doc = coop.document(top.doc_id)
    assert "Azerbaijan" not in top.text and "film weeks" in top.text  # the partner is named elsewhere
    (seed_copy / "summaries").mkdir()
    summary = {"schema_version": 1, "doc_id": doc.doc_id, "language": doc.language,
               "countries": [{"name": "Iran", "evidence": []}, {"name": "Azerbaijan", "evidence": []}]}
    (seed_copy / "summaries" / f"{doc.doc_id}.json").write_text(json.dumps(summary))

    def reply(user: str) -> dict:
        if top.text in user:
            return claims(("Azerbaijan discussed organising mutual film weeks with Iran.", [1]))
        return NOT_ANSWERED

    result, llm, engine = ask(coop, q, reply)
    users = [call[-1]["content"] for call in llm.calls]
    assert len(users) >= 2 and all(len(shown_numbers(u)) == 1 for u in users)
    user = next(u for u in users if top.text in u)
    assert ", about Iran and Azerbaijan" in user and "this one article only" in user
    assert result["answer"].startswith("Azerbaijan") and result["citations"][0]["id"] == top.id
    assert_contract(result, coop)
    other = answer_mod.Verifier({1: answer_mod.Shown(1, top.id, top.doc_id, top.text, "en")}, q)
    assert not other.check("Azerbaijan discussed organising mutual film weeks with Iran.", [1]).supported


@pytest.mark.parametrize("question, wide", [
    ("Which countries discussed film weeks with Iran?", True),
    ("Which foreign counterparts did the head of the Cinema Organization sign MoUs with?", True),
    ("In which of the dev articles was a memorandum actually signed?", True),
    ("Which partner archives offered to restore old films?", True),
    ("Which areas of cooperation did Khazaei propose to Belarus?", False),
    ("Which foreign minister met Khazaei?", False),
    ("Which films were screened in Dushanbe?", False),
])
def test_questions_across_articles_are_told_from_questions_about_one(question, wide):
    assert answer_mod.is_wide(question) is wide


def test_a_restated_question_is_one_articles_answer_only_when_its_sentence_holds_the_topic(coop):
    """Asked of one article among several, "Iran's partners raised animation [1]" answers for that article
    when [1] holds the question's weighted terms (animation), not when it holds only the common ones."""
    q = "Which of Iran's partner countries raised animation or cartoon films?"
    on_topic = AnswerEngine(coop, FakeLLM(NOT_ANSWERED))._on_topic(q)
    cartoon = answer_mod.Shown(1, "d:s1", "d", "They discussed the production of joint cartoon films.", "en")
    visit = answer_mod.Shown(2, "d:s2", "d", "The Iranian minister visited the partner country's cinema.", "en")
    claim = "Iran's partner countries raised animation or cartoon films."
    per_article = answer_mod.Verifier({1: cartoon, 2: visit}, q, on_topic=on_topic)
    assert per_article.check(claim, [1]).supported
    assert not per_article.check(claim, [2]).supported
    assert not answer_mod.Verifier({1: cartoon, 2: visit}, q).check(claim, [1]).supported


def test_wide_question_shows_each_article_its_best_sentence_on_the_question_topic(coop):
    q = "With which countries did Iran discuss academic or university exchanges in cinema?"
    kazakh = [h for h in coop.search(q, answer_mod.WIDE_CANDIDATES) if h.doc_id.startswith("003_")]
    assert "lecturers and students" not in kazakh[0].text  # not the best hit of its article …
    _, llm, _ = ask(coop, q, NOT_ANSWERED)
    users = [call[-1]["content"] for call in llm.calls]
    assert any("lecturers and students" in u for u in users)  # … but the best one holding 'academic'


def test_wide_question_is_asked_of_each_article_and_labelled(coop):
    """Each relevant article gets its own call; an article's supported claim is kept under a label naming its
    partner country and date, and its markers point into that article; an article that does not answer
    contributes nothing."""
    fragments = {"mutual film weeks": "Organizing mutual film weeks will deepen cooperation.",
                 "film weeks are planned": "Joint Iran–Kazakhstan film weeks are planned."}

    def reply(user: str) -> dict:
        for fragment, claim in fragments.items():
            if fragment in user:
                return claims((claim, [number_of(user, fragment)]))
        return NOT_ANSWERED

    result, llm, _ = ask(coop, "Which countries discussed holding film weeks with Iran?", reply)
    assert len(llm.calls) >= 3 and not result["abstained"]
    lines = result["answer"].split("\n")
    assert len(lines) == 2, result["answer"]
    by_doc = {c["marker"]: c["doc_id"] for c in result["citations"]}
    azerbaijan = next(line for line in lines if "mutual film weeks" in line)
    kazakhstan = next(line for line in lines if "are planned" in line)
    assert azerbaijan.startswith("Azerbaijan (2022-06-24): ") and kazakhstan.startswith("Kazakhstan")
    assert by_doc[int(re.search(r"\[(\d+)\]", azerbaijan).group(1))].startswith("002_")
    assert by_doc[int(re.search(r"\[(\d+)\]", kazakhstan).group(1))].startswith("003_")
    assert_contract(result, coop)


def test_wide_question_without_summaries_names_the_partner_of_the_lead(coop):
    _, llm, engine = ask(coop, "Which countries discussed film weeks with Iran, and when?", NOT_ANSWERED)
    users = [call[-1]["content"] for call in llm.calls]
    assert len(engine.last_trace.context.docs) >= 3
    assert any(", about Iran and Belarus" in u for u in users), users


def test_verifier_accepts_transliterated_names_across_scripts():
    text = "التقى محمد خزاعي رئيس منظمة السينما في ايران مع دميتري كالتسوف"
    shown = {1: answer_mod.Shown(1, "d:s1", "d", text, "ar")}
    v = answer_mod.Verifier(shown, "Who heads Iran's Cinema Organization?")
    ok = v.check("محمد خزاعي (Mohammad Khazaei) heads Iran's Cinema Organization.", [1])
    assert ok.supported, ok.reason
    bad = v.check("Mohammad Mehdi Esmaeili heads Iran's Cinema Organization.", [1])
    assert not bad.supported and "Esmaeili" in bad.reason


def test_verifier_accepts_a_verified_summary_rendering_of_a_name_the_sentence_states():
    text = "علی اکبر طالبیمتین رایزن فرهنگی ایران در قزاقستان با رئیس مرکز سینمای ملی دیدار کرد."
    shown = {1: answer_mod.Shown(1, "d:s1", "d", text, "fa")}
    q = "Who met the head of the national cinema centre?"
    plain = answer_mod.Verifier(shown, q)
    assert not plain.check("Ali Akbar Talabimini met the head.", [1]).supported  # a poor rendering
    known = answer_mod.Verifier(shown, q, renderings={"علی اکبر طالبیمتین": "Ali Akbar Talabimini"})
    assert known.check("Ali Akbar Talabimini met the head of the national cinema centre.", [1]).supported
    assert not known.check("Ali Akbar Talabimini met the head.", [2]).supported  # not a shown sentence
    other = {1: answer_mod.Shown(1, "d:s1", "d", "رئیس مرکز سینمای ملی دیدار کرد.", "fa")}
    assert not answer_mod.Verifier(other, q, renderings={"علی اکبر طالبیمتین": "Ali Akbar Talabimini"}).check(
        "Ali Akbar Talabimini met the head of the national cinema centre.", [1]).supported  # not named there


def test_claim_citing_the_wrong_sentence_is_re_cited_to_one_of_its_article_that_states_it():
    shown = {
        1: answer_mod.Shown(1, "d:s1", "d", "The ambassador proposed a documentary series on maritime trade.", "en"),
        2: answer_mod.Shown(2, "d:s2", "d", "The ministers met in Tehran on Monday.", "en"),
        3: answer_mod.Shown(3, "d:s3", "d", "The National Library of Iran holds letters on the relations of the "
                                            "two countries in the 19th century.", "en"),
        4: answer_mod.Shown(4, "e:s1", "e", "The National Library of Iran holds letters on the relations.", "en"),
    }
    v = answer_mod.Verifier(shown, "Which Iranian institution holds 19th-century letters on the relations?")
    moved = v.check("The National Library of Iran holds them.", [1])
    assert moved.supported and moved.cited == [3] and moved.repaired == [3], moved  # not a neighbour, same article
    assert not v.check("The Oman archive holds them.", [1]).supported
    other_article = {1: shown[1], 2: answer_mod.Shown(2, "e:s1", "e", shown[4].text, "en")}
    assert not answer_mod.Verifier(other_article, v.question).check(
        "The National Library of Iran holds them.", [1]).supported  # never to another article's sentence
    yes_no = answer_mod.Verifier(shown, "Does the National Library of Iran hold letters on the relations?")
    assert not yes_no.check("Yes, the National Library of Iran holds letters on the relations.", [1]).supported


def test_the_person_asked_about_is_not_the_answer_and_an_inflected_question_is_no_answer():
    q = "Which Iranian official received Karimov at the Iranian Film and Audiovisual Organization?"
    assert not answer_mod.states_answer_type("person", ["Anar Karimov received Karimov there."], q)
    assert answer_mod.states_answer_type("person", ["Raed Faridzadeh received Karimov."], q)
    text = "Zhumagali said Kazakhstan hosts several international film festivals."
    v = answer_mod.Verifier({1: answer_mod.Shown(1, "d:s1", "d", text, "en")},
                            "Which Kazakh international film festivals did Zhumagali name?")
    assert v.check("Zhumagali named the Kazakh international film festivals.", [1]).reason == \
        "only restates the question"


def test_an_institution_named_in_another_language_is_stated_through_the_lexicon_a_city_is_not_its_country():
    """'Ministry of Culture' = «وزارة الثقافة» through the lexicon. The lexicon folds a city into its country
    (Tehran, Tripoli), so through it «ایران» would state 'Tehran': a city must be named."""
    text = "ستستضيف وزارة الثقافة الأسبوع السينمائي"
    v = answer_mod.Verifier({1: answer_mod.Shown(1, "d:s1", "d", text, "ar")}, "Who will host the film week?")
    assert v._entities_missing("The Ministry of Culture will host the film week.", text) == []
    assert v._entities_missing("The Farabi Foundation will host the film week.", text) == ["Farabi"]
    opened = "هفته فیلم ایران در دوشنبه گشایش یافت"
    v = answer_mod.Verifier({1: answer_mod.Shown(1, "d:s1", "d", opened, "fa")},
                            "In which city did the Iranian film week open?")  # nor is it "the Iranian"
    assert v._entities_missing("The Iranian film week opened in Tehran.", opened) == ["Tehran"]
    assert v._entities_missing("The Iranian film week opened.", opened) == []


def test_a_number_word_starting_a_claim_is_a_number_not_a_name():
    text = "تنص المذكرة على دبلجة عشرة أفلام إيرانية سنويا إلى العربية"
    v = answer_mod.Verifier({1: answer_mod.Shown(1, "d:s1", "d", text, "ar")}, "How many films will be dubbed?")
    assert v._entities_missing("Ten Iranian films will be dubbed into Arabic each year.", text) == []
    assert v._entities_missing("Twelve Iranian films will be dubbed into Arabic each year.", text) == ["12"]


def test_verifier_first_word_capitalised_is_not_a_name():
    text = "Anar Karimov pointed out that the organization of joint film festivals and mutual film weeks will help."
    v = answer_mod.Verifier({1: answer_mod.Shown(1, "d:s1", "d", text, "en")}, "What did Karimov propose?")
    assert v.check("Organizing joint film festivals and mutual film weeks will help.", [1]).supported
    invented = v.check("Smith proposed joint film festivals and mutual film weeks.", [1])
    assert not invented.supported and "Smith" in invented.reason


def test_verifier_a_name_with_a_short_title_is_stated_by_its_sentence():
    text = "The delegation, led by Dr. Mohammad Ali Shojaei Fard, arrived in Baghdad today."
    v = answer_mod.Verifier({1: answer_mod.Shown(1, "d:s1", "d", text, "en")},
                            "Who led the delegation that arrived in Baghdad?")
    assert v.check("Dr. Mohammad Ali Shojaei Fard", [1]).supported  # 'Dr' is no content word to look for
    assert not v.check("Dr. Mohammad Reza Ahmadi", [1]).supported


def test_english_answer_gives_arabic_script_names_with_their_summary_rendering(seed_copy):
    coop = CoopQA(home=seed_copy)
    doc = coop.document("001_0264cdd17540aec1")
    (seed_copy / "summaries").mkdir()
    summary = {"schema_version": 1, "doc_id": doc.doc_id, "language": "ar",
               "participants": [{"name": "Mohammad Khazaei", "name_original": "محمد خزاعي", "evidence": ["x:s1"]}]}
    (seed_copy / "summaries" / f"{doc.doc_id}.json").write_text(json.dumps(summary))
    result, _, _ = ask(coop, "Who heads Iran's Cinema Organization?",
                       lambda u: claims(("محمد خزاعي", [number_of(u, "التقى محمد خزاعي")])))
    assert result["answer"].startswith("محمد خزاعي (Mohammad Khazaei) [1]"), result["answer"]
    assert answer_mod.add_renderings("Mohammad Khazaei (محمد خزاعي) heads it.",
                                     {"محمد خزاعي": "Mohammad Khazaei"}) == "Mohammad Khazaei (محمد خزاعي) heads it."

    # The model is shown the rendering next to the sentence; a bare English name citing it is supported
    # (the name is stated there in Arabic script) and is given with the name as written.
    def english_name(u):
        assert "names: محمد خزاعي = Mohammad Khazaei" in u, u
        return claims(("Mohammad Khazaei", [number_of(u, "التقى محمد خزاعي")]))

    result, _, _ = ask(coop, "Who heads Iran's Cinema Organization?", english_name)
    assert result["answer"].startswith("Mohammad Khazaei (محمد خزاعي) [1]"), result["answer"]


def test_gloss_gives_dates_in_iso_form():
    line = answer_mod.gloss_line("التقى الوفد يوم الثلاثاء الرابع من شهر شباط/فبراير عام ألفين وخمسة وعشرين", "ar")
    assert "dates: 2025-02-04" in line and "key words:" in line
    assert "dates: 2024-10-12" in answer_mod.gloss_line("روز شنبه بیست و یکم مهر ماه هزار و چهارصد و سه", "fa")


def test_cut_off_reply_is_retried_and_a_dead_server_is_an_error(coop):
    from coopqa.model_files import LLMError, ModelOutputError

    def cut_off(user):
        raise ModelOutputError("the model's ModelAnswer hit max_tokens=400 before it was complete")

    result, llm, _ = ask(coop, Q_KARIMOV, cut_off, lambda u: claims(
        ("Anar Karimov visited the Iranian Film and Audiovisual Organization.", [number_of(u, "has visited")])))
    assert len(llm.calls) == 2 and not result["abstained"], result
    result, _, _ = ask(coop, Q_KARIMOV, cut_off, cut_off)
    assert result["abstained"]

    def dead(user):
        raise LLMError("cannot reach the LLM server at http://127.0.0.1:9/v1: connection refused")

    with pytest.raises(LLMError, match="cannot reach"):
        ask(coop, Q_KARIMOV, dead)


def test_cut_off_reply_keeps_its_complete_claims(coop):
    """A reply cut off at max_tokens after a complete claim is verified like any other (no second call); the
    unfinished claim is not used."""
    from coopqa.model_files import ModelOutputError

    def cut_off(user):
        n = number_of(user, "has visited")
        raise ModelOutputError("hit max_tokens", partial=(
            '{\n  "claims": [\n    {\n      "text": "Anar Karimov visited the Iranian Film and Audiovisual '
            f'Organization.",\n      "sources": [\n        {n}\n      ]\n    }},\n    {{\n      "text": "Anar Kari'))

    result, llm, _ = ask(coop, Q_KARIMOV, cut_off)
    assert len(llm.calls) == 1 and not result["abstained"], result
    assert "Karimov" in result["answer"] and len(result["citations"]) == 1
    assert answer_mod.salvage('{"claims": [{"text": "Anar Kari') is None


def test_cli_ask_json_and_text(seed_copy, monkeypatch):
    from coopqa import cli

    monkeypatch.setattr("coopqa.llm.LLM", lambda settings=None: FakeLLM(
        lambda u: claims(("Anar Karimov, the Culture Minister.", [number_of(u, KARIMOV)]))))
    runner = CliRunner()
    out = runner.invoke(cli.app, ["--home", str(seed_copy), "ask", Q_KARIMOV, "--json", "-k", "8"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["citations"][0]["id"] == "002_d149433968036d4b:s3" and data["answer"].endswith("[1].")
    out = runner.invoke(cli.app, ["--home", str(seed_copy), "ask", Q_KARIMOV, "--lang", "auto"])
    assert out.exit_code == 0, out.output
    assert "Anar Karimov, the Culture Minister [1]." in out.stdout
    assert "[1] 002_d149433968036d4b:s3" in out.stdout and KARIMOV in out.stdout
    out = runner.invoke(cli.app, ["--home", str(seed_copy), "ask", Q_KARIMOV, "--lang", "de"])
    assert out.exit_code != 0


def test_model_answer_schema_is_bounded():
    schema = ModelAnswer.model_json_schema()
    assert schema["properties"]["claims"]["maxItems"] <= 6 and schema["properties"]["claims"]["minItems"] == 1
    assert list(schema["properties"]) == ["claims", "answered"] and set(schema["required"]) == {"claims", "answered"}
    claim = schema["$defs"]["Claim"]["properties"]
    assert claim["text"]["maxLength"] <= 400 and claim["sources"]["maxItems"] <= 4


# ------------------------------------------------------------------------------------------ real model


def _real_coop(tmp_path: Path, seed_home: Path) -> CoopQA:
    import shutil

    from test_llm import _real_settings

    home = tmp_path / "qa-home"
    shutil.copytree(seed_home, home)
    settings = _real_settings(tmp_path).model_copy(update={"home": home, "cache": False, "n_ctx": 4096})
    return CoopQA(settings)


@pytest.mark.llm
def test_real_model_answers_english_question_from_persian_article(tmp_path, seed_home):
    """Names only the Persian article gives, asked in English: answered with a citation to the Persian
    sentence (the context holds only that article, so the model copies its names)."""
    coop = _real_coop(tmp_path, seed_home)
    result = coop.ask("Who is the head of Kazakhstan's state cinema support centre, and which Iranian "
                      "official did he meet?")
    assert_contract(result, coop)
    assert not result["abstained"], result
    persian = [c for c in result["citations"] if c["doc_id"] == "004_5723fadb1fb4905d"]
    assert persian, result
    from coopqa.citations import name_in

    assert any(name_in(result["answer"], n) for n in ("Talebi Matin", "Zhumagali", "طالبیمتین", "ژوماگالی"))


@pytest.mark.llm
def test_real_model_answers_what_was_agreed_from_persian_article(tmp_path, seed_home):
    """Same Persian-only meeting, asked about its content rather than the names: an English answer citing
    the Persian article's sentences."""
    coop = _real_coop(tmp_path, seed_home)
    result = coop.ask("What did Iran's cultural counsellor in Kazakhstan and the head of Kazakhstan's state "
                      "cinema support centre agree to do?")
    assert_contract(result, coop)
    assert not result["abstained"] and result["language"] == "en", result
    assert result["citations"] and all(c["doc_id"] == "004_5723fadb1fb4905d" for c in result["citations"]), result


@pytest.mark.llm
def test_real_model_abstains_on_absent_topic(tmp_path, seed_home):
    coop = _real_coop(tmp_path, seed_home)
    for q in ("Which Iranian films were shown at a film festival in Brazil?",
              "Which Azerbaijani actors will star in the joint films with Iran?"):  # asked of the model
        result = coop.ask(q)
        assert_contract(result, coop)
        assert result["abstained"], result


def test_numbers_are_checked_as_digits_or_words_in_any_language():
    shown = {1: answer_mod.Shown(1, "d:s1", "d", "سيتم دبلجة عشرة أفلام إيرانية وثلاث عشرة حلقة سنويا", "ar")}
    v = answer_mod.Verifier(shown, "How many Iranian films will be dubbed?")
    assert v._entities_missing("10 Iranian films a year, and 13 episodes", shown[1].text) == []
    assert v._entities_missing("ten films", shown[1].text) == []
    assert v._entities_missing("12 films", shown[1].text) == ["12"]
    assert v._entities_missing("The two sides agreed on one plan", shown[1].text) == []  # everyday words


def test_who_question_needs_a_person(coop):
    q = "Which official visited the Iranian Film and Audiovisual Organization?"
    result, llm, engine = ask(coop, q, lambda u: claims(
        ("The Azerbaijani Culture Minister made the visit.", [number_of(u, KARIMOV)]))
        if KARIMOV in u else NOT_ANSWERED)
    assert result["abstained"] and any("asks for a person" in c.reason for c in engine.last_trace.checks)
    assert contexts(llm).count(contexts(llm)[0]) == 1  # a supported answer of the wrong kind is not asked again


@pytest.mark.parametrize("claim, person", [
    ("Iran's Documentary and Experimental Film Center (DEFC) will direct the series.", False),
    ("The Farabi Cinema Foundation will direct it.", False),
    ("DEFC will direct it.", False),
    ("The two Iranian trainers will hold the workshop in San Antonio de los Baños in May.", False),
    ("Salam bin Khalfan Harithi will direct it.", True),
    ("Anar Karimov will direct it.", True),
    ("Mohammad Khazaei and the Farabi Cinema Foundation will direct it.", True),
])
def test_an_institution_or_an_acronym_is_no_person(claim, person):
    assert answer_mod.states_answer_type("person", [claim], "Who will direct the joint series?") is person


@pytest.mark.parametrize("question", [
    "How much funding did Azerbaijan commit to joint films with Iran?",
    "How many ministers visited the Iranian Film and Audiovisual Organization?",
    "في أي تاريخ التقى خزاعي السفير البيلاروسي؟",
])
def test_no_model_call_when_no_sentence_shown_states_the_amount_count_or_date_asked(coop, question):
    result, llm, engine = ask(coop, question, claims(("Iran committed 12 million dollars on 5 May 2022.", [1])))
    assert result["abstained"] and llm.calls == []
    assert any(c.text == "(context)" for c in engine.last_trace.checks)


def test_a_date_question_is_asked_when_a_sentence_shown_states_a_date(coop):
    result, llm, _ = ask(coop, "On what date was the Iran-Kazakhstan film memorandum signed?", NOT_ANSWERED)
    assert result["abstained"] and llm.calls


@pytest.mark.parametrize(("question", "kind"), [
    ("How many films?", "number"), ("What budget was agreed for the film?", "money"),
    ("كم فيلما إيرانيا سيدبلج سنويا؟", "number"), ("ما حجم التمويل؟", "money"), ("چند نفر شرکت کردند؟", "number"),
    ("بودجه کارگاه چقدر بود؟", "money"), ("How much funding will Iran commit?", "money"),
    ("أي دورة حضرها الوفد وبكم فيلما؟", "number"), ("On what date did the delegation arrive?", "date"),
    ("في أي تاريخ التقى خزاعي السفير؟", "date"), ("رئیس فیلمخانه چه روزی دیدار کرد؟", "date"),
    ("Which country's ambassador met Khazaei?", "country"), ("سفير أي دولة التقى رئيس منظمة السينما؟", "country"),
    ("In which year was the MoU signed?", "date"), ("في أي عام وقعت المذكرة؟", "date"),
    ("Who heads Uzbekkino?", "person"), ("Which Iranian official received Karimov?", "person"),
    ("Whom did the ambassador meet?", "person"), ("Who is the head of Uzbekkino?", "person"),
    ("من هو رئيس منظمة السينما؟", "person"), ("من وقع المذكرة عن الجانب السوري؟", "person"),
    ("رئیس ازبک‌کینو کیست؟", "person"), ("نام دو مدرس ایرانی چیست؟", "person"),
    ("What are the names of the two Iranian trainers?", "person"),
    ("Which Iranian festival will the delegation attend?", "title"), ("What are the titles of the films?", "title"),
    ("إلى أي مهرجان إيراني سيدعى صناع الأفلام؟", "title"), ("نخستین فیلم‌های ایرانی که دوبله می‌شوند کدامند؟", "title"),
    ("ما الأفلام السورية التي ستعرض في دور السينما الإيرانية؟", "title"),
    ("ما الفيلم المشترك الذي بحثه الجانبان؟", None),
    ("When is the MoU expected to be signed?", "time"), ("متى عقد اللقاء في بيروت؟", "time"),
    ("تفاهم‌نامه چه زمانی قرار است امضا شود؟", "time"), ("Until when does the film week run?", "time"),
    ("Where and when will the committee meet?", None), ("أين ومتى ستجتمع اللجنة؟", None),
    ("دوره دوم کجا و چه زمانی برگزار می‌شود؟", None), ("What did Karimov say when he visited Tehran?", None),
    ("Who is Israfil Kaliji?", None), ("من هو خزاعي؟", None),
    ("Which areas of cooperation did Khazaei propose?", None), ("Which kinds of films does the MoU cover?", None),
    ("What did the festival director offer?", None), ("هفته فیلم ایران در کدام شهر گشایش یافت؟", None),
])
def test_answer_type_of_questions(question, kind):
    assert answer_mod.answer_type(question) == kind


def test_answer_types_are_checked():
    ok = answer_mod.states_answer_type
    assert ok("date", ["The delegation arrived on 12 March 2024."], "q") and ok("date", ["in 2025"], "q")
    assert not ok("date", ["The delegation arrived in Baghdad today."], "q")
    assert ok("country", ["Belarus's ambassador Dmitry Kaltsov."], "Which country's ambassador met Iran's head?")
    assert not ok("country", ["Iran's ambassador."], "Which country's ambassador met Iran's head?")
    assert ok("number", ["ten films"], "q") and not ok("number", ["on 12 May 2024"], "q")
    assert not ok("number", ["The two governments aim to fund it."], "q")
    assert ok("person", ["Abbas Salehi and Aida Balayeva."], "Who signed the Iran–Kazakhstan MoU?")
    assert ok("person", ["Azerbaijani Culture Minister Anar Karimov."], "Which Azerbaijani minister visited Iran?")
    assert answer_mod._latin_names("Azerbaijani Culture Minister Anar Karimov met Iran's Alirza Mukhtarpur") == [
        "Anar Karimov", "Alirza Mukhtarpur"]
    assert ok("person", ["محمد خزاعي (Mohammad Khazaei)."], "Who heads Iran's Cinema Organization?")
    assert not ok("person", ["Iran and Kazakhstan signed it."], "Who signed the Iran–Kazakhstan MoU?")
    assert not ok("person", ["Karimov met the head of the library."], "Whom did Karimov meet?")


def test_a_when_question_needs_a_time_of_any_precision_in_any_language():
    """A date, a month, a season, a relative time or a moment of the event answer "when"; a place does not."""
    ok = answer_mod.states_answer_type
    for claim in ["on 4 February 2025", "in the spring", "في الربيع المقبل", "ظرف دو ماه آینده",
                  "during the Uzbek delegation's visit", "on the sidelines of the opening ceremony", "next year"]:
        assert ok("time", [claim], "When?"), claim
    for claim in ["في مقر الوزارة في بيروت", "The MoU was signed by Sadeghi-Nia at the ministry's headquarters."]:
        assert not ok("time", [claim], "When?"), claim


def test_amounts_titles_and_native_names_are_checked():
    """An amount needs a currency, a count is no duration, a title is quoted or a capitalised name (or in
    Arabic script a name after «مهرجان»), and an Arabic-script answer to a "who" question names one of the
    context's people (by their last two words) — when the context knows any."""
    ok = answer_mod.states_answer_type
    assert ok("money", ["a budget of 10 million dollars"], "q") and ok("money", ["بودجه ۵ میلیارد تومان بود"], "q")
    assert not ok("money", ["۳۰ فیلمساز در کارگاه شرکت کردند"], "q") and not ok("money", ["ten films a year"], "q")
    assert not ok("number", ["a five-day workshop for young Cuban filmmakers"], "How many filmmakers attended?")
    assert ok("number", ["a five-day workshop"], "How many days did it last?")
    assert ok("number", ["کارگاه سه روزه با حضور ۳۰ فیلمساز"], "چند نفر شرکت کردند؟")
    q = "Which festival will the delegation attend?"
    assert ok("title", ["The delegation will attend the Fajr Film Festival."], q)
    assert ok("title", ["It opened with «Children of Heaven»."], q)
    assert not ok("title", ["The Chinese delegation will attend an upcoming Iranian film festival in Tehran."], q)
    films = "Which Iranian films from the 1960s will be restored?"
    assert not ok("title", ["Gosfilmofond holds 40 Iranian titles with the National Film Archive of Iran."], films)
    assert ok("title", ["The Night Bus will be restored with the National Film Archive of Iran."], films)
    assert ok("title", ["سيدعى صناع أفلام تونسيون إلى مهرجان فجر السينمائي الدولي"], "إلى أي مهرجان إيراني؟")
    assert not ok("title", ["الفنون في المسابقة الرسمية هي قصيران"], "ما عنوانا الفيلمين الإيرانيين القصيرين؟")
    people = ["جوزيف عيد", "حميد رضا صادقي نيا"]
    q = "من هو المسؤول الإيراني الرفيع المتوقع أن يزور بيروت؟"
    assert not ok("person", ["المسؤول المتوقع أن يزور بيروت هو رفيع عيد"], q, people)
    assert ok("person", ["وقع المذكرة صادقي نيا"], q, people) and ok("person", ["وقعها فلان"], q, [])
    assert ok("person", ["تفاهم‌نامه را عباس صالحی امضا کرد"], "چه کسی تفاهم‌نامه را امضا کرد؟", ["Abbas Salehi"])


def test_amounts_need_their_units_in_the_cited_sentence():
    """«عشرة أفلام» states the number 10 but no amount: "10 million dollars" is not stated there."""
    text = "تنص المذكرة على دبلجة عشرة أفلام إيرانية سنويا إلى العربية"
    v = answer_mod.Verifier({1: answer_mod.Shown(1, "d:s1", "d", text, "ar")}, "What is the budget?")
    assert v._entities_missing("The budget is 10 million dollars.", text) == ["dollar", "million"]
    assert v._entities_missing("It dubs ten films a year.", text) == []
    assert v._entities_missing("$2 million", "a budget of two million US dollars") == []


def test_a_claimed_year_must_be_stated():
    """«December 11» does not state "December 11, 2022"; a full date in any script and calendar does."""
    v = answer_mod.Verifier({}, "When was the MoU signed?")
    assert v._entities_missing("It was signed on December 11, 2022.", "signed on December 11, during a visit") == [
        "December 11, 2022"]
    assert v._entities_missing("It was signed on December 11, 2024.", "signed on December 11, 2024 in Astana") == []
    assert v._entities_missing("They met on 12 October 2024.", "روز شنبه بیست و یکم مهر ماه هزار و چهارصد و سه") == []


def test_a_day_and_month_without_a_year_are_that_day_in_the_articles_year_in_any_calendar():
    """«تا ۱۹ آبان» in an article of 2024 is 9 November: "until 19 October" (the day number kept, the month
    misread) is not stated; "until 9 November" is. Without the article's year neither can be checked."""
    text = "این هفته فیلم تا ۱۹ آبان ادامه دارد"
    v = answer_mod.Verifier({1: answer_mod.Shown(1, "d:s1", "d", text, "fa")}, "Until when does the film week run?",
                            year=2024)
    assert v._entities_missing("The film week runs until 19 October.", text) == ["19 October"]
    assert v._entities_missing("The film week runs until 9 November.", text) == []
    assert not v.check("The film week runs until 19 October.", [1]).supported
    assert answer_mod.Verifier({}, "Until when?")._entities_missing("until 19 October", text) == []


COUNSELLOR_MET = "علی اکبر طالبیمتین رایزن فرهنگی ایران در قزاقستان و کورمانبیک ژوماگالی"
MOU_SIGNED = "The memorandum of understanding, signed in the Kazakh capital"


def test_article_about_something_else_is_not_shown(coop):
    """The other Kazakhstan article (retrieved for the shared words) holds few of the question's weighted
    terms, so the model sees only the Persian article, whose sentence, named as written and transliterated,
    answers; a citation of the unshown article is never emitted."""
    q = "Whom did Iran's cultural counsellor in Kazakhstan meet?"

    def reply(u):
        assert MOU_SIGNED not in u and not re.search(r"^Article 2", u, flags=re.M), u
        return claims(
            ("علی اکبر طالبیمتین (Ali Akbar Talebi Matin) met کورمانبیک ژوماگالی (Kurmanbek Zhumagali), head of "
             "Kazakhstan's state cinema support centre.", [number_of(u, COUNSELLOR_MET)]),
            ("Pezeshkian attended the talks.", [99]),
        )

    result, _, engine = ask(coop, q, reply)
    assert "003_d9e8c2260bf3591a" in {h.split(":")[0] for h in result["retrieved"]}  # retrieved, not shown
    assert_contract(result, coop, shown_ids(engine))
    assert [c["id"] for c in result["citations"]] == ["004_5723fadb1fb4905d:s5"], engine.last_trace.checks


def test_claim_that_only_restates_the_question_is_dropped():
    text = ("طرفین توافق کردند که در آینده نزدیک، با امضای تفاهمنامهای رسمی، "
            "چشم انداز همکاریهای سینمایی دو کشور مشخص شود.")
    shown = {1: answer_mod.Shown(1, "d:s1", "d", text, "fa")}
    q = "طرفین برای رسمی کردن همکاری‌های سینمایی بر چه چیزی توافق کردند؟"
    v = answer_mod.Verifier(shown, q)
    assert v.check("طرفین برای رسمی کردن همکاری‌های سینمایی بر چه چیزی توافق کردند؟", [1]).reason == \
        "only restates the question"
    assert v.check("طرفین توافق کردند با امضای تفاهمنامهای رسمی همکاری را مشخص کنند.", [1]).supported
    yes_no = answer_mod.Verifier(shown, "Have the sides agreed?")
    assert yes_no.check("The sides agreed.", [1]).reason != "only restates the question"


def test_citations_completed_with_the_sentence_that_carries_the_rest_and_pruned_of_idle_ones():
    sents = ["The agreement covers joint production of feature films and animation.",
             "It also provides for dubbing and distribution of films in regional markets.",
             "The minister thanked the hosts for their hospitality."]
    shown = {i + 1: answer_mod.Shown(i + 1, f"d:s{i + 1}", "d", t, "en") for i, t in enumerate(sents)}
    v = answer_mod.Verifier(shown, "What does the agreement cover?")
    c = v.check("It covers joint production of feature films and animation, dubbing and distribution.", [1])
    assert c.supported and c.cited == [1, 2]
    c = v.check("It covers joint production of feature films and animation.", [1, 3])
    assert c.supported and c.cited == [1]


def test_a_negative_fact_is_an_answer_but_a_silent_source_is_not():
    """"No date has been set" answers "Has a date been set?"; "No date is mentioned" says the sentences are
    silent (the model's "not answered" in disguise) and is dropped."""
    assert not answer_mod.is_negative("No date has been set for the signing.")
    assert answer_mod.is_negative("No specific date was given.") and answer_mod.is_negative("No mention of a budget.")
    assert answer_mod.is_negative("The sentences do not say.") and answer_mod.is_negative("لم يذكر الخبر ذلك")
    # The same in Arabic and Persian: «no date has been set» answers; the sources not specifying it does not.
    assert not answer_mod.is_negative("لم يحدد موعد لتوقيع المذكرة.")
    assert not answer_mod.is_negative("زمانی برای امضای تفاهم‌نامه مشخص نشده است.")
    for silent in ("لم تحدد المصادر موعد التوقيع.", "در متن زمان مشخص نشده است.", *answer_mod.ABSTAIN_TEXT.values()):
        assert answer_mod.is_negative(silent), silent


def test_a_claim_that_only_restates_the_question_needs_its_words_stated():
    """"Yes, a date has been set" adds nothing to the question: a sentence in another script that is merely
    similar (here: identical vectors) does not support it; a claim with content of its own may still pass on
    similarity."""
    import numpy as np

    text = "واتفق الطرفان على توقيع المذكرة في الربيع المقبل من دون تحديد موعد"
    shown = {1: answer_mod.Shown(1, "d:s1", "d", text, "ar")}

    def same(texts):
        return np.ones((len(texts), 4), dtype=np.float32) / 2.0

    v = answer_mod.Verifier(shown, "Has a date been set to sign the MoU?", same, same)
    assert not v.check("Yes, a date has been set to sign the MoU.", [1]).supported
    assert v.check("The sides agreed to sign it next spring.", [1]).supported


def test_a_yes_or_no_that_restates_the_question_must_match_the_sentences_polarity():
    shown = {1: answer_mod.Shown(1, "d:s1", "d", "The two sides agreed to sign the MoU later, without setting a "
                                 "date.", "en"),
             2: answer_mod.Shown(2, "d:s2", "d", "No date has been set for the signing.", "en"),
             3: answer_mod.Shown(3, "e:s1", "e", "The memorandum was signed in Astana on Monday.", "en")}
    v = answer_mod.Verifier(shown, "Has a date been set to sign the MoU?")
    assert not v.check("Yes, a date has been set to sign the MoU.", [1]).supported
    assert v.check("No date has been set for the signing.", [2]).supported
    v = answer_mod.Verifier(shown, "Was the memorandum signed?")
    assert v.check("Yes, the memorandum was signed.", [3]).supported
    assert not v.check("No, the memorandum was not signed.", [3]).supported


def test_a_sentence_that_says_more_than_one_shown_is_shown_one_that_says_less_is_not():
    """A headline shown first does not hide the lead that repeats it with the date and the names; the lead
    shown first hides the headline, which adds nothing."""
    from coopqa.search import Hit
    from coopqa.types import Document, Sentence

    title = "Head of Iran's film archive meets Armenian cinema centre director in Yerevan"
    lead = ("Yerevan – The head of Iran's film archive met Hasmik Avakian, the Armenian cinema centre director, "
            "in Yerevan on Saturday 12 October 2024 at the invitation of the centre.")
    other = "The two sides agreed to exchange digital copies of documentaries."
    texts, start, sentences = [title, lead, other], 0, []
    for n, t in enumerate(texts, 1):
        sentences.append(Sentence(id=f"d:s{n}", start=start, end=start + len(t), text=t))
        start += len(t) + 1
    doc = Document(doc_id="d", text=" ".join(texts), language="en", sentences=sentences)
    builder = answer_mod.ContextBuilder(lambda doc_id: doc if doc_id == "d" else None)

    def shown(order: list[int]) -> list[str]:
        hits = [Hit(f"d:s{n}", "d", 1.0, texts[n - 1], "en") for n in order]
        return [s.id for s in builder.build(hits, one_article=True).shown.values()]

    assert shown([1, 2, 3]) == ["d:s1", "d:s2", "d:s3"]
    assert shown([2, 1, 3]) == ["d:s2", "d:s3"]


def test_a_quoted_title_must_be_named_by_the_cited_sentence():
    """«نخستین فیلم سینمای قزاقستان و ایران» holds the words 'Kazakh' and 'cinema' but no film called 'Kazakh
    Cinema'; a title the sentence gives, in its own script or transliterated, is stated."""
    text = "طالبیمتین از تولید مشترک نخستین فیلم سینمای قزاقستان و ایران با عنوان «سفر به آلماتی» خبر داد"
    v = answer_mod.Verifier({1: answer_mod.Shown(1, "d:s1", "d", text, "fa")}, "Which film will be co-produced?")
    assert v._entities_missing("The first co-production will be the film 'Kazakh Cinema'.", text) == [
        "Kazakh Cinema"]
    assert v._entities_missing("The first co-production is «سفر به آلماتی».", text) == []
    assert v._entities_missing("Iran's first co-production with Kazakhstan's cinema was announced.", text) == []


@pytest.mark.parametrize(("question", "side"), [
    ("Which senior Iranian official is expected to visit Beirut?", "IR"),
    ("Who signed the MoU for the Syrian side?", "SY"),
    ("من وقع مذكرة التفاهم عن الجانب السوري؟", "SY"), ("أي مسؤول إيراني رفيع يتوقع أن يزور بيروت؟", "IR"),
    ("کدام مقام ایرانی با رئیس مرکز دیدار کرد؟", "IR"), ("Which Azerbaijani minister visited Tehran?", "AZ"),
    ("Whom did the Syrian cinema chief meet?", None), ("Who heads Kazakhstan's State Centre?", None),
    ("Which official met Karimov?", None),
])
def test_the_side_a_person_question_asks_for(question, side):
    assert answer_mod.asked_side(question) == side


def test_a_person_of_another_side_does_not_answer_which_iranian_official(tmp_path):
    """The verified summary says who is on which side: «جوزيف عيد» is the Lebanese host, so he is no answer to
    "which Iranian official"; a claim naming no known person is not judged by side."""
    (tmp_path / "summaries").mkdir()
    summary = {"doc_id": "d", "participants": [
        {"name": "Joseph Eid", "name_original": "جوزيف عيد", "country": "Lebanon"},
        {"name": "Hamid Reza Sadeghi Nia", "name_original": "حميد رضا صادقي نيا", "country": "Iran"},
        {"name": "Nobody Known", "country": None}]}
    (tmp_path / "summaries" / "d.json").write_text(json.dumps(summary), encoding="utf-8")
    people = answer_mod.ContextBuilder(lambda _: None, tmp_path).people(["d"])
    assert people == {"Joseph Eid": "LB", "جوزيف عيد": "LB", "Hamid Reza Sadeghi Nia": "IR", "حميد رضا صادقي نيا": "IR"}
    assert answer_mod.on_another_side("Joseph Eid (جوزيف عيد) is expected to visit Beirut.", "IR", people)
    assert not answer_mod.on_another_side("حميد رضا صادقي نيا وجوزيف عيد", "IR", people)
    assert not answer_mod.on_another_side("Hamid Reza Sadeghi Nia will visit Beirut.", "IR", people)
    assert not answer_mod.on_another_side("A senior official will visit Beirut.", "IR", people)


def test_an_article_that_never_names_the_people_asked_about_is_not_asked(coop):
    """Karimov (the Azerbaijan article) and the Basirah Institute (the Iraq article) are each named in the
    corpus, but no article names both: no article can say what Karimov signed with Basirah, so none is asked
    (a small model would attribute one article's agreement to the other's people)."""
    question = "What did Anar Karimov sign with the Basirah Institute?"
    result, llm, engine = ask(coop, question, claims(("Karimov signed a film agreement.", [1])))
    assert engine.last_trace.precheck is None  # each is named somewhere
    assert result["abstained"] and not llm.calls
    result, llm, _ = ask(coop, "What did Anar Karimov propose?", NOT_ANSWERED)
    assert llm.calls and all("Karimov" in c for c in contexts(llm))


COUNSELLOR_SENTENCE = "کورمانبیک ژوماگالی رئیس مرکز دولتی حمایت از سینمای ملی قزاقستان"


def test_the_title_after_a_name_tells_whether_it_is_whom_the_question_describes():
    sentence = "علی اکبر طالبیمتین رایزن فرهنگی ایران در قزاقستان و " + COUNSELLOR_SENTENCE + " دیدار کردند"
    q = "Whom did Iran's cultural counsellor in Kazakhstan meet?"
    assert answer_mod.described_as_asked("علی اکبر طالبیمتین", sentence, q)
    assert not answer_mod.described_as_asked("کورمانبیک ژوماگالی", sentence, q)
    english = "Anar Karimov, Azerbaijan's Minister of Culture, met Alirza Mukhtarpur, head of the National Library."
    q = "Whom did Azerbaijan's culture minister meet?"
    assert answer_mod.described_as_asked("Anar Karimov", english, q)
    assert not answer_mod.described_as_asked("Alirza Mukhtarpur", english, q)


@pytest.mark.parametrize(("claim", "abstains"), [
    ("علی اکبر طالبیمتین رایزن فرهنگی ایران در قزاقستان دیدار کرد", True),
    ("با " + COUNSELLOR_SENTENCE + " دیدار کرد", False),
])
def test_whom_the_counsellor_met_is_not_the_counsellor(seed_copy, claim, abstains):
    """Asked whom Iran's counsellor met, the model names the counsellor (the first name of the sentence): that
    claim names whom the question asks about (a person of the visit summary, by the title the sentence gives
    him), and the answer abstains rather than try another article."""
    (seed_copy / "summaries").mkdir(exist_ok=True)
    summary = {"doc_id": "004_5723fadb1fb4905d", "participants": [
        {"name": "Ali Akbar Talebi Matin", "name_original": "علی اکبر طالبیمتین", "country": "Iran"},
        {"name": "Kurmanbek Zhumagali", "name_original": "کورمانبیک ژوماگالی", "country": "Kazakhstan"}]}
    (seed_copy / "summaries" / "004_5723fadb1fb4905d.json").write_text(json.dumps(summary), encoding="utf-8")
    question = "رایزن فرهنگی ایران در قزاقستان با چه کسی دیدار کرد؟"
    reply = lambda user: claims((claim, [number_of(user, "کورمانبیک ژوماگالی")]))  # noqa: E731
    result, llm, engine = ask(CoopQA(home=seed_copy), question, reply)
    assert result["abstained"] is abstains and len(llm.calls) == 1
    if abstains:
        assert engine.last_trace.checks[-1].reason == "it names whom the question asks about"
