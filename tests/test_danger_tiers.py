"""Two strengths of answer, wherever a person types: the learned scorer hears danger in
words no pattern lists. A high score brings the routes that fit first; a moderate one
one gentle line beside the normal answer; someone telling is never "not understood".

The phrases are chosen so that no pattern in the locale files matches them: what is
heard here is heard by the scorer (checked first, in each test)."""

from __future__ import annotations

import asyncio

import pytest

from bot.flows.danger.tiers import Strength
from bot.flows.summary import emergency_text, handoff_text
from bot.runtime import Runtime
from bot.scorer.service import ScoringService
from bot.texts.catalog import Texts
from tests.conftest import FakeClock, Person, asked
from tests.test_intake_paths import stored_answers
from tests.test_line import Employee, sent_case, thread

# No pattern fits these; the scorer's answer for each is asserted where it is used.
STRONG_VIOLENCE = "hij pakte me bij mijn arm tot het blauw werd"
GENTLE = "ik voel me zo leeg en moe de laatste tijd"
TELLING = "he keeps asking me out after work"


@pytest.fixture(autouse=True)
def unmatched_by_patterns(runtime: Runtime) -> None:
    detector = runtime.texts.current.danger_detector
    for phrase in (STRONG_VIOLENCE, GENTLE, TELLING):
        assert detector.detect(phrase) is None, phrase


def gentle_line(t: Texts) -> str:
    return t("safety.gentle")


async def test_a_first_message_the_scorer_hears_as_violence_brings_112_and_the_police_first(
    person: Person, en: Texts
):
    await person.say(STRONG_VIOLENCE)
    routes = emergency_text(en, person.runtime.config, "violence")
    assert person.texts[0] == routes
    assert routes.splitlines()[1].startswith("- 112") and "0900-8844" in routes
    assert "113" not in routes and "Klokkenluiders" not in routes  # only what fits
    assert en("danger.heard") in person.texts
    assert person.question.text == en("menu.prompt")


async def test_a_first_message_that_starts_to_tell_is_thanked_with_the_gentle_line(
    person: Person, en: Texts
):
    await person.say(GENTLE)
    assert person.texts[0] == en("intro.text", organisation="Stichting Voorbeeld")
    assert person.texts[1:] == [
        en("menu.told", option=en("menu.intake")),
        gentle_line(en),
        en("menu.prompt"),
    ]


async def test_at_the_menu_a_moderate_score_adds_one_gentle_line_and_nothing_is_cold(
    person: Person, en: Texts
):
    await person.say("hi")
    await person.say(GENTLE)
    assert person.texts == [
        en("menu.told", option=en("menu.intake")),
        gentle_line(en),
        en("menu.prompt"),
    ]
    await person.say(TELLING)  # telling, no danger: thanked, no routes, no gentle line
    assert person.texts == [en("menu.told", option=en("menu.intake")), en("menu.prompt")]


async def test_at_a_choice_question_the_scorer_brings_the_routes_and_the_urgent_offer(
    person: Person, en: Texts
):
    await person.until_topic()
    await person.say(STRONG_VIOLENCE)
    assert person.texts == [
        emergency_text(en, person.runtime.config, "violence"),
        en("danger.heard"),
        asked(en, "urgent.prompt"),
    ]


async def test_at_a_choice_question_a_moderate_score_is_thanked_with_the_gentle_line(
    person: Person, en: Texts
):
    await person.until_topic()
    await person.say(GENTLE)
    assert person.texts == [en("input.told"), gentle_line(en), asked(en, "topic.prompt")]


async def test_a_description_with_a_moderate_score_goes_on_and_reaches_the_adviser_flagged(
    person: Person, en: Texts
):
    await person.until_topic()
    await person.pick("bullying")
    await person.say(GENTLE)
    assert person.texts == [gentle_line(en), asked(en, "name.prompt")]  # the normal next
    await person.send_from_name()
    await person.runtime.worker.deliver_due()
    [item] = await person.runtime.inbox.items()
    assert item.payload["answers"]["description"] == GENTLE
    assert item.payload["answers"]["description_danger"] == "gentle"
    assert en("handoff.danger_heard_gentle") in handoff_text(
        item.payload, en, person.runtime.config
    )


async def test_in_the_open_chat_a_moderate_score_reaches_the_adviser_marked(
    runtime: Runtime, en: Texts, nl: Texts
):
    employee = Employee(runtime, "noor")
    employee.listen()
    case_ref = await sent_case(employee)
    await employee.say(GENTLE)
    assert employee.texts == [en("line.queued"), gentle_line(en)]
    [message] = await thread(runtime, case_ref)
    assert message.startswith(nl("thread.urgent", case_ref=case_ref) + "\n")


async def test_after_the_line_is_stopped_typed_words_are_still_heard(runtime: Runtime, en: Texts):
    employee = Employee(runtime, "sam")
    employee.listen()
    await sent_case(employee)
    await employee.say("/stop")
    await employee.pick("yes")
    await employee.say(GENTLE)
    assert employee.texts == [
        en("menu.told", option=en("menu.intake")),
        gentle_line(en),
        en("menu.prompt"),
    ]
    await employee.say(STRONG_VIOLENCE)
    assert employee.texts[0] == emergency_text(en, runtime.config, "violence")


def test_the_committed_weights_were_trained_on_the_corpus_as_it_is():
    """A corpus line added without training again would be a promise the model does not
    keep: `python -m bot.scorer.training` writes the weights anew."""
    from bot.scorer.model import Weights
    from bot.scorer.training import corpus_digest
    from tests.conftest import ROOT

    assert Weights.load().corpus_sha256 == corpus_digest(ROOT / "bench" / "safety_corpus")


async def stored_data(person: Person) -> str:
    rt = person.runtime
    record = await rt.store.load_conversation(rt.engine._keyer(person.channel, person.user))
    return "" if record is None else repr(record.data)


async def test_words_told_at_the_menu_are_offered_as_the_description_only_after_consent(
    person: Person, en: Texts
):
    told = "mijn collega zit steeds aan mijn haar en ik wil dat het ophoudt"
    await person.say("hi")
    await person.say(told)
    assert person.texts == [en("menu.told", option=en("menu.intake")), en("menu.prompt")]
    assert told not in await stored_data(person)  # held in memory, not stored
    await person.pick("intake")
    assert told not in await stored_data(person)
    await person.pick("agree")
    await person.pick("adviser-a")
    await person.pick("no")
    await person.pick("bullying")
    assert person.choice_ids() == ["use_told", "skip"]
    await person.pick("use_told")
    assert person.question.text == asked(en, "name.prompt")
    answers = await stored_answers(person)
    assert answers is not None and answers["description"] == told  # kept from consent on


async def test_held_words_are_let_go_after_half_an_hour_and_when_consent_is_refused(
    person: Person, clock: FakeClock
):
    await person.say("hi")
    await person.say("ik weet niet goed hoe ik dit moet zeggen maar het gaat niet goed")
    clock.advance(31 * 60)
    await person.until_topic()
    await person.pick("bullying")
    assert person.choice_ids() == ["skip"]  # forgotten
    other = Person(person.runtime, "bob")
    await other.say("hi")
    await other.say("er gebeurt iets op mijn werk waar ik over wil praten")
    await other.pick("intake")
    await other.pick("disagree")  # no consent: the words are let go at once
    await other.pick("intake")
    for choice in ("agree", "adviser-a", "no", "bullying"):
        await other.pick(choice)
    assert other.choice_ids() == ["skip"]


async def test_a_danger_story_told_at_the_menu_and_used_as_the_description_keeps_its_weight(
    person: Person, en: Texts
):
    await person.say("hi")
    await person.say(STRONG_VIOLENCE)
    assert person.texts[0] == emergency_text(en, person.runtime.config, "violence")
    await person.pick("intake")
    for choice in ("agree", "adviser-a", "no", "bullying"):
        await person.pick(choice)
    await person.pick("use_told")
    # The routes again, and the offer to mark the request urgent, as if typed here.
    assert person.texts[0] == emergency_text(en, person.runtime.config, "violence")
    assert person.question.text == asked(en, "urgent.prompt")
    answers = await stored_answers(person)
    assert answers is not None and answers["description_danger"] == "strong"


async def test_telling_while_a_request_waits_points_to_it_and_holds_nothing(
    person: Person, en: Texts
):
    await person.until_topic()
    await person.say("menu")
    await person.say(TELLING)
    assert person.texts == [
        en("menu.told_draft", option=en("menu.continue")),
        en("menu.prompt"),
    ]
    await person.pick("continue")
    await person.pick("bullying")
    assert person.choice_ids() == ["skip"]


async def test_the_earlier_message_chosen_by_typing_its_number_keeps_its_flag(
    person: Person, en: Texts
):
    await person.say("hi")
    await person.say(STRONG_VIOLENCE)
    await person.pick("intake")
    for choice in ("agree", "adviser-a", "no", "bullying"):
        await person.pick(choice)
    await person.say("1")  # "Use my earlier message", typed as Matrix and Telegram users do
    answers = await stored_answers(person)
    assert answers is not None and answers["description"] == STRONG_VIOLENCE
    assert answers["description_danger"] == "strong"


async def test_a_long_description_that_tells_of_danger_keeps_its_flag_when_kept(
    person: Person, en: Texts
):
    await person.until_topic()
    await person.pick("bullying")
    story = "Het rooster klopt al weken niet. " * 40 + STRONG_VIOLENCE + ". " + "En dan. " * 20
    await person.say(story)
    assert person.texts[0] == emergency_text(en, person.runtime.config, "violence")
    await person.pick("keep")
    answers = await stored_answers(person)
    assert answers is not None and answers["description"].startswith("Het rooster")
    assert answers["description_danger"] == "strong"


async def test_the_help_option_typed_as_a_first_message_brings_the_routes(
    person: Person, en: Texts
):
    await person.say(en("menu.help_now"))
    assert emergency_text(en, person.runtime.config) in person.texts
    assert en("menu.told", option=en("menu.intake")) not in person.texts


async def test_a_broken_character_neither_breaks_the_scorer_nor_goes_unheard(
    person: Person, en: Texts
):
    await person.say("hi")
    await person.say("\ud800" + GENTLE)
    assert gentle_line(en) in person.texts
    await person.say(GENTLE)
    assert gentle_line(en) in person.texts


async def test_messages_scored_at_the_same_moment_are_heard_as_each_alone():
    """Many people typing at once share one pass of the encoder: each is heard exactly
    as if they had been alone."""
    service = ScoringService()
    texts = [STRONG_VIOLENCE, GENTLE, TELLING, "the rota for next week is out"]
    try:
        alone = [await service.score(text) for text in texts]
        together = await asyncio.gather(*(service.score(text) for text in texts))
    finally:
        await service.close()
    pairs = [(one, other) for one, other in zip(alone, together, strict=True) if one and other]
    assert len(pairs) == len(texts)
    for one, other in pairs:
        assert (other.strength, other.category) == (one.strength, one.category)
        assert abs(one.probability - other.probability) < 1e-6
    assert pairs[0][0].strength is Strength.STRONG
