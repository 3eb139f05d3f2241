"""What the bot says must be safe and true: danger heard wherever a person types,
no promise the adviser cannot keep, and a way out at every step."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import Config
from bot.flows.danger.patterns import CATEGORIES
from bot.flows.summary import emergency_text, handoff_text
from bot.runtime import Runtime, open_runtime
from bot.texts.catalog import Texts
from tests.conftest import FakeClock, Person, asked, make_config
from tests.test_line import Employee, sent_case, thread

HOUR = 3600.0
CASE_REF = re.compile(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}\b")

# A fixed sample of the corpus in bench/safety_corpus/, as people in distress write.
DANGER_NL = [
    "ik wil dood",
    "ik wil er eigenlijk niet meer zijn",
    "ik wil niet meer leven",
    "ik zie het niet meer zitten",
    "hij bedreigt me",
    "Ik ben bang en durf niet naar huis",
]
DANGER_EN = ["I want to die", "I don't want to live", "he follows me home every night"]
NOT_DANGER = ["ik ben niet in gevaar", "I am not in danger", "my boss keeps shouting at me"]


def routes_for_a_kind(text: str, en: Texts, config: Config) -> bool:
    """The emergency routes that fit one kind of danger (suicide: 113 and 112, …)."""
    return text in {emergency_text(en, config, kind) for kind in CATEGORIES}


def heard(person: Person, en: Texts) -> bool:
    """The answer shows the emergency routes and a warm line, never "not understood"."""
    texts = person.texts
    return (
        routes_for_a_kind(texts[0], en, person.runtime.config)
        and en("danger.heard") in texts
        and en("input.not_understood") not in texts
    )


@pytest.mark.parametrize("phrase", DANGER_NL + DANGER_EN)
async def test_danger_at_the_menu_is_heard_not_misunderstood(
    person: Person, en: Texts, phrase: str
):
    await person.say("hi")
    await person.say(phrase)
    assert heard(person, en), person.texts
    assert person.question.text == en("menu.prompt")  # then the question of now again


async def test_danger_in_the_very_first_message_brings_the_routes_before_anything(
    person: Person, en: Texts
):
    await person.say("ik wil dood")
    assert person.texts[0] == emergency_text(en, person.runtime.config, "suicide")
    assert "113" in person.texts[0].splitlines()[1]  # the suicide line first
    assert en("danger.heard") in person.texts
    assert person.question.text == en("menu.prompt")


@pytest.mark.parametrize("phrase", NOT_DANGER)
async def test_plain_negations_and_work_conflict_are_not_danger(
    person: Person, en: Texts, phrase: str
):
    await person.say("hi")
    await person.say(phrase)
    # Someone starting to tell is thanked, never "not understood", and no routes.
    assert person.texts == [en("menu.told", option=en("menu.intake")), en("menu.prompt")]
    await person.say("4x")  # a slip: "not understood", which still says where help is
    assert person.texts == [en("input.not_understood"), en("menu.prompt")]
    assert "112" in person.texts[0]


async def test_danger_before_consent_is_heard_and_the_short_question_comes_again(
    person: Person, en: Texts
):
    await person.say("hi")
    await person.pick("intake")
    await person.say("hij bedreigt me")
    assert heard(person, en)
    assert person.question.text == en("consent.prompt")  # not the whole consent again
    await person.say("blablabla")
    assert person.texts == [en("input.not_understood"), en("consent.prompt")]


async def test_danger_typed_at_a_choice_offers_to_mark_the_request_urgent(
    person: Person, en: Texts
):
    await person.until_topic()
    await person.say("he threatens to hit me")
    assert heard(person, en)
    assert person.question.text == asked(en, "urgent.prompt")
    assert person.choice_ids() == ["send_now", "mark", "not_now"]
    await person.pick("mark")
    assert person.texts == [en("urgent.marked"), asked(en, "topic.prompt")]
    await person.pick("bullying")
    await person.pick("skip")
    await person.pick("anonymous")
    await person.pick("chat")
    await person.pick("anytime")
    await person.pick("today")
    # The mark makes it urgent; their own answer to "in danger" stays theirs.
    assert f"{en('review.label.danger')}: {en('danger.no')}" in person.question.text
    assert f"{en('review.label.urgent')}: {en('urgent.value_yes')}" in person.question.text


async def test_danger_in_a_description_is_stored_and_can_be_sent_at_once_as_urgent(
    person: Person, en: Texts
):
    await person.until_topic()
    await person.pick("aggression")
    await person.say("Hij bedreigt me en ik ben bang en durf niet naar huis")
    assert heard(person, en)
    assert person.question.text == asked(en, "urgent.prompt")
    replies = await person.pick("send_now")
    sent = replies[0].text
    assert sent.startswith(en("sent.urgent", case_ref=CASE_REF.search(sent).group()))  # type: ignore[union-attr]
    assert "usually within" not in sent
    await person.runtime.worker.deliver_due()
    [item] = await person.runtime.inbox.items()
    assert item.payload["urgent"] is True
    assert item.payload["answers"]["description"].startswith("Hij bedreigt me")
    assert "name" not in item.payload["answers"]  # sent with what there was


async def test_danger_in_the_open_chat_reaches_the_adviser_marked_urgent(
    runtime: Runtime, en: Texts, nl: Texts
):
    employee = Employee(runtime, "noor")
    employee.listen()
    case_ref = await sent_case(employee)
    await employee.say("ik wil er eigenlijk niet meer zijn")
    assert routes_for_a_kind(employee.texts[0], en, runtime.config)
    assert employee.texts[1] == en("line.queued_urgent")
    assert en("input.not_understood") not in employee.texts
    [message] = await thread(runtime, case_ref)
    assert message.startswith(nl("thread.urgent", case_ref=case_ref) + "\n")
    assert message.endswith("ik wil er eigenlijk niet meer zijn")


async def test_an_urgent_request_says_the_adviser_is_no_emergency_service_and_when_they_work(
    tmp_path: Path, en: Texts
):
    clock = FakeClock(1_790_000_000.0 + 6 * HOUR)  # Monday 21 September, 22:13 in Amsterdam
    async with open_runtime(make_config(tmp_path), clock) as rt:
        person = Person(rt, "late")
        await person.full_intake(danger="yes")
        sent = person.replies[0].text
        assert "not an emergency service" in sent
        assert "Sanne works on Monday, Tuesday, Wednesday and Thursday, from 09:00 to 17:00" in sent
        # Said as a person says it: the next morning is "tomorrow".
        assert "Sanne is not working right now, and starts again tomorrow at 09:00." in sent
        assert en("sent.urgent_safety") in sent


async def test_the_urgent_mark_is_called_sent_only_once_something_is_sent(
    person: Person, en: Texts
):
    await person.say("hi")
    await person.pick("intake")
    await person.pick("agree")
    await person.pick("adviser-a")
    await person.pick("yes")
    said = " ".join(person.texts).lower()
    assert "nothing has been sent yet" in said
    assert "has been sent" not in said.replace("nothing has been sent yet", "")


async def test_the_consent_comes_in_short_messages_with_what_the_law_asks(
    person: Person, en: Texts
):
    await person.say("hi")
    replies = await person.pick("intake")
    *info, question = replies
    assert question.text == en("consent.prompt")  # the question in its own message
    assert len(info) == 2 and all(len(r.text.split()) < 110 for r in info)
    said = "\n".join(r.text for r in info)
    for needed in ("health", "consent", "serious danger", "court", "encrypted", "type delete"):
        assert needed in said
    assert "Telegram" not in said  # only on Telegram
    assert "no consequences for your work" in said
    # "Read more" shows the details, then the question again; the anonymous count and
    # that the adviser's copy stays are said there.
    await person.pick("more")
    *details, again = person.replies
    assert again.text == en("consent.prompt")
    more = "\n".join(r.text for r in details)
    assert "special category" in more and "count numbers" in more
    assert en("consent.more_withdraw") in more


async def test_one_adviser_set_ups_get_texts_that_fit_one_adviser(
    tmp_path: Path, clock: FakeClock, en: Texts
):
    config = make_config(tmp_path, '[[advisers]]\nid = "only"\nname = "Eva"\n')
    async with open_runtime(config, clock) as rt:
        person = Person(rt, "one")
        await person.say("hi")
        replies = await person.pick("intake")
        said = " ".join(r.text for r in replies)
        assert en("consent.who_one", adviser="Eva", organisation="Stichting Voorbeeld") in said
        assert "which adviser you choose" not in said
        await person.say("/menu")
        await person.pick("about")
        await person.pick("faq")
        assert en("about.faq_distrust_one") in person.texts[0]
        assert "the other adviser" not in person.texts[0]


async def test_refusing_consent_shows_the_adviser_s_own_phone_and_e_mail(
    tmp_path: Path, clock: FakeClock, en: Texts
):
    advisers = (
        '[[advisers]]\nid = "eva"\nname = "Eva"\nphone = "030 123 45 67"\n'
        'email = "eva@voorbeeld.nl"\n'
    )
    async with open_runtime(make_config(tmp_path, advisers), clock) as rt:
        person = Person(rt, "nobot")
        await person.say("hi")
        await person.pick("intake")
        await person.pick("disagree")
        assert person.texts[1].startswith(en("other_ways.direct"))
        assert "- Eva: 030 123 45 67, eva@voorbeeld.nl" in person.texts[1]


async def test_where_contact_details_are_asked_the_bot_says_they_identify_you(
    person: Person, en: Texts, nl: Texts
):
    await person.until_topic()
    for step in ("bullying", "skip", "anonymous", "phone"):
        await person.pick(step)
    assert "shows who you are" in person.question.text
    await person.say("06 12345678")
    assert person.question.text == asked(en, "contact_safe.prompt_phone")
    await person.pick("no_message")
    await person.pick("anytime")
    await person.pick("this_week")
    review = person.question.text
    voicemail = "Leave a voicemail: No, do not leave a voicemail"
    assert f"Contact: By phone: +31 6 12345678\n{voicemail}" in review
    await person.pick("send")
    await person.runtime.worker.deliver_due()
    [item] = await person.runtime.inbox.items()
    assert item.payload["answers"]["contact_safe"] == "no_message"
    # The adviser reads an instruction, not a bare "no" without its question.
    handoff = handoff_text(item.payload, nl, person.runtime.config)
    assert "Voicemail: Spreek GEEN bericht in en stuur geen sms" in handoff
    await person.say("/mydata")
    assert "+31 6 12345678" not in person.texts[0]  # sent: the bot kept no copy


@pytest.mark.parametrize(
    ("word", "asks"),
    [("stop", "cancel.confirm"), ("stoppen", "cancel.confirm"), ("wissen", "delete.confirm")],
)
async def test_plain_words_work_like_the_commands_and_ask_first(
    person: Person, en: Texts, word: str, asks: str
):
    await person.until_topic()
    await person.pick("bullying")
    await person.say(word)
    assert person.texts[0].startswith(en(asks, hours="72")[:30])
    await person.pick("no")
    assert person.question.text == asked(en, "description.prompt", max=1000)


async def test_menu_and_terug_keep_the_answers(person: Person, en: Texts):
    await person.until_topic()
    await person.pick("bullying")
    await person.say("menu")
    assert person.question.text == en("menu.prompt")
    assert person.choice_ids()[0] == "continue"
    await person.pick("continue")
    await person.say("Every week")
    for _ in ("name", "contact", "reachable", "urgency"):
        await person.pick(person.choice_ids()[0])
    await person.pick("change")
    await person.say("terug")
    assert person.question.text.startswith(en("review.intro"))


async def test_every_question_of_the_intake_shows_how_to_stop_pause_or_erase(
    person: Person, en: Texts
):
    await person.until_topic()
    way_out = en("intake.way_out", hours="72")
    assert person.question.text.endswith(way_out)
    assert "72 hours" in way_out


async def test_a_bare_number_at_a_free_text_question_is_asked_about_not_stored(
    person: Person, en: Texts
):
    await person.until_topic()
    await person.pick("bullying")
    await person.say("2")
    assert person.texts == [
        en("input.number_unclear", number="2", count=1),
        asked(en, "description.prompt", max=1000),
    ]
    await person.say("1")  # the one option: skip
    assert person.question.text == asked(en, "name.prompt")


async def test_choosing_integrity_says_talking_is_not_reporting(person: Person, en: Texts):
    await person.until_topic()
    await person.pick("integrity")
    assert person.texts[0] == en("topic.whistleblower_note")


async def test_delete_says_the_adviser_is_told_only_when_something_was_sent(
    runtime: Runtime, en: Texts
):
    fresh = Person(runtime, "fresh")
    await fresh.say("/delete")
    assert fresh.question.text == en("delete.confirm")
    employee = Employee(runtime, "sender")
    employee.listen()
    case_ref = await sent_case(employee)
    await employee.say("wissen")
    assert employee.question.text == (
        f"{en('delete.confirm')}\n\n{en('delete.confirm_sent_line', case_ref=case_ref)}"
    )
    # With the chat open, the way to ask the adviser to delete too is said before erasing.
    assert "Write that here in the chat first" in employee.question.text


async def test_the_shortest_path_from_consent_to_sent_is_at_most_ten_messages(
    person: Person, en: Texts
):
    await person.say("hi")
    await person.pick("intake")
    count = 0
    for choice in ("agree", "adviser-a", "no", "bullying", "skip", "anonymous", "chat"):
        count += len(await person.pick(choice))
    for choice in ("anytime", "no_rush", "send"):
        count += len(await person.pick(choice))
    sent = person.replies[0].text
    assert CASE_REF.search(sent), sent
    assert count - 1 <= 10  # up to and including "sent"; the menu after it not counted
