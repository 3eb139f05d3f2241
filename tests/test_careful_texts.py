"""What a person notices of the third reading of the texts: the adviser's contact
instruction, the urgent mark after a changed answer, a neutral first line on a lock
screen, the chat left in the person's app after deleting, and dates as people say them."""

from __future__ import annotations

from pathlib import Path

from bot.flows.summary import handoff_text
from bot.runtime import Runtime, open_runtime
from bot.texts.catalog import Texts
from tests.conftest import FakeClock, Person, asked, make_config
from tests.test_line import Employee, adviser_writes, sent_case

HOUR = 3600.0


async def _to_review_in_danger(person: Person) -> None:
    await person.until_topic(danger="yes")  # answered "in danger", then "the other questions first"
    for choice in ("bullying", "skip", "anonymous", "chat", "anytime", "this_week"):
        await person.pick(choice)


async def test_changing_in_danger_to_no_asks_whether_the_request_stays_urgent(
    person: Person, en: Texts
):
    await _to_review_in_danger(person)
    assert f"{en('review.label.urgent')}: {en('urgent.value_yes')}" in person.question.text
    await person.pick("change")
    await person.pick("danger")
    await person.pick("no")
    # Never dropped without a word: the person is told, and chooses.
    assert person.texts == [en("urgent.still"), asked(en, "urgent.confirm_prompt")]
    await person.pick("yes")
    assert person.texts[0] == en("urgent.kept")
    assert f"{en('review.label.danger')}: {en('danger.no')}" in person.question.text
    assert f"{en('review.label.urgent')}: {en('urgent.value_yes')}" in person.question.text
    sent = (await person.pick("send"))[0].text
    assert "not an emergency service" in sent
    await person.runtime.worker.deliver_due()
    [item] = await person.runtime.inbox.items()
    assert item.payload["urgent"] is True


async def test_an_urgent_mark_removed_by_choice_never_brings_back_the_days(
    person: Person, en: Texts
):
    await _to_review_in_danger(person)
    await person.pick("change")
    await person.pick("danger")
    await person.pick("no")
    await person.pick("no")
    assert person.texts[0] == en("urgent.removed")
    assert f"{en('review.label.urgent')}: {en('urgent.value_no')}" in person.question.text
    sent = (await person.pick("send"))[0].text
    assert "usually within" not in sent
    assert "Sanne works on Monday, Tuesday, Wednesday and Thursday" in sent
    await person.runtime.worker.deliver_due()
    [item] = await person.runtime.inbox.items()
    assert item.payload["urgent"] is False


async def test_asking_for_today_is_answered_with_the_adviser_s_hours_not_days(
    person: Person, en: Texts
):
    await person.until_topic()
    for choice in ("bullying", "skip", "anonymous", "chat", "anytime", "today"):
        await person.pick(choice)
    sent = (await person.pick("send"))[0].text
    assert "usually within" not in sent
    assert "You would like contact soon. Sanne works on" in sent


async def test_an_e_mail_address_that_is_not_safe_is_never_kept_and_another_way_is_offered(
    person: Person, en: Texts
):
    await person.until_topic()
    for choice in ("bullying", "skip", "anonymous", "email"):
        await person.pick(choice)
    await person.say("robin@example.nl")
    await person.pick("no_message")
    assert person.texts == [en("contact_safe.email_unsafe"), asked(en, "contact.prompt")]
    await person.pick("chat")
    await person.pick("anytime")
    await person.pick("this_week")
    assert "robin@example.nl" not in person.question.text
    await person.pick("send")
    await person.runtime.worker.deliver_due()
    [item] = await person.runtime.inbox.items()
    assert "robin@example.nl" not in str(item.payload)


async def test_the_adviser_reads_a_safe_voicemail_as_permission(
    person: Person, en: Texts, nl: Texts
):
    await person.until_topic()
    for choice in ("bullying", "skip", "anonymous", "phone"):
        await person.pick(choice)
    await person.say("06 12345678")
    for choice in ("message_ok", "anytime", "this_week", "send"):
        await person.pick(choice)
    await person.runtime.worker.deliver_due()
    [item] = await person.runtime.inbox.items()
    handoff = handoff_text(item.payload, en, person.runtime.config)
    assert "Contact: By phone: +31 6 12345678\nVoicemail: you may leave a voicemail" in handoff
    assert "NOT" not in handoff


async def test_a_message_from_the_adviser_starts_with_a_neutral_line(runtime: Runtime, en: Texts):
    employee = Employee(runtime, "alice")
    employee.listen()
    case_ref = await sent_case(employee)
    await adviser_writes(runtime, case_ref, "Shall we talk on Tuesday?", "$a1")
    await runtime.relay.deliver_due()
    [message] = [r.text for r in employee.relayed]
    first = message.split("\n")[0]
    # What a lock screen shows tells nobody nearby what this chat is about.
    assert first == f"New message (case {case_ref}):"
    assert "adviser" not in first.lower() and "Sanne" not in first
    assert message.endswith("Shall we talk on Tuesday?\n\nFrom: Sanne")


async def test_sending_says_once_how_to_hide_previews_on_a_phone(runtime: Runtime, en: Texts):
    on_telegram = Person(runtime, "tg", channel="telegram")
    sent = (await on_telegram.full_intake())[0].text
    assert en("sent.previews_telegram") in sent
    at_terminal = Person(runtime, "term")
    assert en("sent.previews_telegram") not in (await at_terminal.full_intake())[0].text


async def test_deleting_says_the_chat_stays_in_the_person_s_app(runtime: Runtime, nl: Texts):
    person = Person(runtime, "tg", lang="nl", channel="telegram")
    await person.say("hallo")
    await person.say("wissen")
    await person.pick("yes")
    assert person.texts == [nl("delete.done_telegram")]
    assert "staat nog wel in Telegram" in person.texts[0]


async def test_the_next_working_time_is_said_as_a_person_says_it(tmp_path: Path, nl: Texts):
    # Monday 21 September 2026, 22:13 in Amsterdam; Sanne works Monday to Thursday.
    monday_night = 1_790_000_000.0 + 6 * HOUR
    cases = [
        (monday_night, "morgen om 09:00"),
        (monday_night - 14 * HOUR, "vandaag om 09:00"),  # 08:13 the same Monday
        (monday_night + 3 * 24 * HOUR, "op maandag om 09:00"),  # Thursday night
    ]
    for number, (when, said) in enumerate(cases):
        folder = tmp_path / str(number)
        folder.mkdir()
        async with open_runtime(make_config(folder), FakeClock(when)) as rt:
            person = Person(rt, "late", lang="nl")
            sent = (await person.full_intake(danger="yes"))[0].text
            assert nl("sent.urgent_next", adviser="Sanne", next=said) in sent


async def _consent_words(
    runtime: Runtime, channel: str, lang: str, who: str = "reader"
) -> tuple[int, list[str]]:
    person = Person(runtime, f"{who}-{channel}-{lang}", lang=lang, channel=channel)
    await person.say("hi")
    *info, question = await person.pick("intake")
    assert question.text == runtime.catalog.texts(lang)("consent.prompt")
    return sum(len(r.text.split()) for r in info), [r.text for r in info]


async def test_the_consent_is_short_and_says_that_no_has_no_consequences(
    runtime: Runtime, nl: Texts, en: Texts
):
    for channel in ("terminal", "telegram", "matrix", "web"):
        for lang, t in (("nl", nl), ("en", en)):
            words, info = await _consent_words(runtime, channel, lang)
            # What a person reads before the question: 150 words at most, on every channel.
            assert words <= 150, (channel, lang, words)
            assert t("consent.free") in info[-1]
    _, said = await _consent_words(runtime, "telegram", "nl", who="second")
    assert "Telegram kan chats met bots lezen" in said[-1]


async def test_read_more_names_who_is_responsible_the_officer_and_the_authority(
    tmp_path: Path, clock: FakeClock, nl: Texts
):
    extra = '[organisation]\nname = "Stichting Test"\nprivacy_contact = "privacy@test.nl"\n'
    async with open_runtime(make_config(tmp_path, extra), clock) as rt:
        person = Person(rt, "curious", lang="nl")
        await person.say("hallo")
        await person.pick("intake")
        assert person.choice_ids() == ["agree", "disagree", "more"]
        await person.pick("more")
        details = "\n".join(person.texts[:-1])
        assert "Wie is verantwoordelijk voor je gegevens? Stichting Test." in details
        assert "functionaris gegevensbescherming: privacy@test.nl" in details
        assert "Autoriteit Persoonsgegevens" in details
        assert "Nee zeggen heeft geen gevolgen voor je werk" in details
        assert "geen verschoningsrecht" in details
        assert person.question.text == nl("consent.prompt")  # then the question again
        await person.pick("agree")
        assert person.question.text.startswith(nl("adviser.prompt"))


async def test_an_english_speaker_is_told_which_languages_each_adviser_speaks(
    person: Person, en: Texts, nl: Texts
):
    await person.say("hi")
    await person.pick("intake")
    await person.pick("agree")
    question = person.question.text
    assert "Karim speaks Dutch." in question  # before choosing
    assert "Sanne speaks" not in question  # Sanne speaks English too
    dutch = Person(person.runtime, "dutch", lang="nl")
    await dutch.say("hallo")
    await dutch.pick("intake")
    await dutch.pick("agree")
    assert "spreekt" not in dutch.question.text


async def test_with_one_adviser_the_languages_come_with_the_consent(
    tmp_path: Path, clock: FakeClock
):
    config = make_config(tmp_path, '[[advisers]]\nid = "only"\nname = "Eva"\n')
    async with open_runtime(config, clock) as rt:
        person = Person(rt, "one")
        await person.say("hi")
        replies = await person.pick("intake")
        assert "Eva speaks Dutch." in replies[0].text


async def test_mydata_on_the_web_says_the_messages_are_kept_and_who_can_read_them(
    runtime: Runtime, en: Texts
):
    person = Person(runtime, "web-visitor", channel="web")
    await person.full_intake()
    await person.say("my data")  # a plain word works, as on the other channels
    overview = person.texts[0]
    assert "until 30 days after your case ends" in overview
    assert "Whoever has your receipt code can read them" in overview
    assert "deleted once delivered" not in overview
    assert "account" not in overview and "profile" not in overview
    terminal = Person(runtime, "at-terminal")
    await terminal.full_intake()
    await terminal.say("/mydata")
    assert "Messages are deleted once delivered" in terminal.texts[0]


async def test_secrecy_texts_say_a_court_can_make_the_adviser_testify(runtime: Runtime, nl: Texts):
    person = Person(runtime, "asks", lang="nl")
    await person.say("hallo")
    await person.pick("about")
    said = []
    for choice in ("role", "confidentiality", "faq"):
        said.append((await person.pick(choice))[0].text)
    role, confidentiality, _faq = said
    assert "geen verschoningsrecht" in confidentiality and "als getuige" in confidentiality
    for text in said:
        assert "rechter" in text  # wherever the law is named, a court is too
    assert "Er gebeurt niets" not in role  # no absolute about secrecy


async def test_the_whistleblower_note_names_the_outside_bodies_too(person: Person, en: Texts):
    await person.until_topic()
    await person.pick("integrity")
    note = person.texts[0]
    assert note == en("topic.whistleblower_note")
    assert "inside your organisation" in note and "Huis voor Klokkenluiders" in note
    assert "regulator" in note


def test_counts_take_the_form_the_language_uses_for_them(nl: Texts, en: Texts):
    assert "Wacht 1 seconde en" in nl("web.code_wait", seconds=1)
    assert "Wacht 5 seconden en" in nl("web.code_wait", seconds=5)
    assert "wait 1 second and" in en("web.code_wait", seconds=1)
    assert "wait 0 seconds and" in en("web.code_wait", seconds=0)
    assert "within 1 working day." in en("sent.text", case_ref="X", days=1)
    assert "binnen 1 werkdag." in nl("sent.text", case_ref="X", days=1)
    assert "binnen 2 werkdagen." in nl("sent.text", case_ref="X", days=2)
    assert "answers for 1 hour." in en("intake.way_out", hours="1")
    assert "answers for 1.5 hours." in en("intake.way_out", hours="1.5")  # CLDR: 1.5 is "other"
    unreadable = nl("faults.thread_unreadable", case_ref="X", count=1)
    assert "1 bericht in deze draad kan niet" in unreadable


async def test_a_number_where_only_one_choice_exists_is_answered_without_1_to_1(
    person: Person, en: Texts
):
    await person.until_topic()
    await person.pick("bullying")
    await person.pick("skip")
    await person.say("2")  # at the name question, whose one choice is "stay anonymous"
    assert person.texts[0] == (
        "Do you mean choice 2? There is no such choice here. Choose 1, or write it in words."
    )


async def test_with_a_chat_open_stopping_is_a_button_and_the_adviser_knows_how_to_answer(
    person: Person, en: Texts, nl: Texts
):
    await person.until_topic()
    for choice in ("bullying", "skip", "anonymous", "chat", "anytime", "this_week", "send"):
        await person.pick(choice)
    assert "stop" in person.choice_ids()
    await person.pick("stop")
    assert person.question.text.startswith(en("stop.confirm", case_ref="")[:30])
    await person.runtime.worker.deliver_due()
    [item] = await person.runtime.inbox.items()
    handoff = handoff_text(item.payload, nl, person.runtime.config)
    assert "Contact: via de chat (antwoord in deze draad)" in handoff


async def test_not_sure_whether_someone_is_in_danger_is_met_as_yes_and_kept_as_said(
    person: Person, en: Texts
):
    await person.say("hi")
    await person.pick("intake")
    await person.pick("agree")
    await person.pick("adviser-a")
    assert person.choice_ids() == ["yes", "no", "unsure"]
    await person.pick("unsure")
    assert "112" in person.texts[0] and person.texts[1] == en("danger.marked")
    assert person.question.text == asked(en, "urgent.prompt_marked")
    await person.pick("go_on")
    for choice in ("bullying", "skip", "anonymous", "chat", "anytime", "this_week"):
        await person.pick(choice)
    assert f"{en('review.label.danger')}: {en('danger.unsure')}" in person.question.text
    assert f"{en('review.label.urgent')}: {en('urgent.value_yes')}" in person.question.text


async def test_a_closed_chat_thanks_and_names_the_adviser_s_own_phone(
    tmp_path: Path, clock: FakeClock, en: Texts
):
    extra = '[[advisers]]\nid = "eva"\nname = "Eva"\nphone = "030 123 45 67"\n'
    async with open_runtime(make_config(tmp_path, extra), clock) as rt:
        employee = Employee(rt, "closed")
        employee.listen()
        case_ref = await sent_case(employee)
        case = await rt.store.case(case_ref)
        await rt.desk.in_thread(case, rt.config.adviser("eva"), "$c1", "!close")
        await rt.relay.deliver_due()
        [closed] = [r.text for r in employee.relayed]
        assert closed.startswith("Thank you for getting in touch.")
        assert closed.endswith("You can also call or e-mail Eva yourself: 030 123 45 67.")
