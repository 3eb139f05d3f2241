"""Every path of the intake, driven through the real engine, store and inbox."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.flows.answers import CASE_REF_ALPHABET
from bot.flows.summary import emergency_text, referrals_text
from bot.messages import Inbound, Reply
from bot.runtime import open_runtime
from bot.texts.catalog import Texts
from tests.conftest import FakeClock, Person, asked, make_config

CASE_REF = re.compile(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}\b")


async def inbox_payloads(person: Person) -> list[dict[str, Any]]:
    await person.runtime.worker.deliver_due()
    return [item.payload for item in await person.runtime.inbox.items()]


async def stored_answers(person: Person) -> dict[str, Any] | None:
    rt = person.runtime
    user = rt.engine._keyer(person.channel, person.user)  # the same keyed hash the bot uses
    record = await rt.store.load_conversation(user)
    return None if record is None else record.data["answers"]


async def test_first_message_introduces_the_bot_and_shows_the_menu(person: Person, en: Texts):
    await person.say("hi")
    assert person.texts[0] == en("intro.text", organisation="Stichting Voorbeeld")
    assert person.question.text == en("menu.prompt")
    assert person.choice_ids() == ["intake", "help_now", "about", "language", "delete"]


async def test_full_intake_reaches_the_adviser_inbox_with_every_answer(person: Person, en: Texts):
    replies = await person.full_intake(description="Shouting in meetings", name="Robin")
    match = CASE_REF.search(replies[0].text)
    assert match, replies[0].text
    case_ref = match.group()
    assert set(case_ref.replace("-", "")) <= set(CASE_REF_ALPHABET)
    assert replies[0].text == f"{en('sent.text', case_ref=case_ref, days=2)}\n\n{en('sent.after')}"
    assert person.question.text == en("menu.line_open", case_ref=case_ref)

    [payload] = await inbox_payloads(person)
    assert payload["case_ref"] == case_ref
    assert payload["urgent"] is False
    assert payload["answers"] == {
        "adviser": "adviser-a",
        "danger": False,
        "topic": "bullying",
        "description": "Shouting in meetings",
        "name": "Robin",
        "contact_method": "email",
        "contact_detail": "robin@example.nl",
        "contact_safe": "message_ok",
        "reachable": {"choice": "evenings"},
        "urgency": "this_week",
    }
    assert payload["consent"]["version"].startswith("en-")
    assert payload["channel"] == "terminal"
    # The bot keeps nothing of the sent intake in the conversation.
    assert await stored_answers(person) == {}


async def test_single_adviser_skips_the_adviser_question(
    tmp_path: Path, clock: FakeClock, en: Texts
):
    config = make_config(tmp_path, '[[advisers]]\nid = "only"\nname = "Eva"\n')
    async with open_runtime(config, clock) as rt:
        person = Person(rt, "bob")
        await person.say("hi")
        await person.pick("intake")
        await person.pick("agree")
        assert person.question.text == asked(en, "danger.prompt")
        await person.pick("no")
        await person.pick("other")
        await person.pick("skip")
        await person.pick("anonymous")
        await person.pick("chat")
        assert person.question.text == asked(en, "reachable.prompt")
        await person.say("after 5 pm")
        await person.pick("no_rush")
        assert f"{en('review.label.adviser')}: Eva" in person.question.text
        await person.pick("change")
        assert "adviser" not in person.choice_ids()  # nothing to choose between
        await person.pick("back")
        await person.pick("send")
        [payload] = await inbox_payloads(person)
        assert payload["answers"]["adviser"] == "only"
        assert payload["answers"]["description"] is None
        assert payload["answers"]["name"] is None
        assert payload["answers"]["reachable"] == {"text": "after 5 pm"}


async def test_typed_answers_by_number_or_label_in_any_case(person: Person, en: Texts):
    await person.say("hello")
    await person.say("1")  # contact the adviser
    assert person.texts[0].startswith(en("consent.intro"))
    assert person.question.text == en("consent.prompt")
    await person.say("yes, i CONSENT")
    assert person.question.text.startswith(en("adviser.prompt"))
    await person.say("karim")
    await person.say("2.")  # No
    assert person.question.text == asked(en, "topic.prompt")
    await person.say("  DISCRIMINATION ")
    assert person.question.text == asked(en, "description.prompt", max=1000)
    answers = await stored_answers(person)
    assert answers is not None
    assert {"adviser": "adviser-b", "danger": False, "topic": "discrimination"}.items() <= (
        answers.items()
    )


async def test_unexpected_text_gets_a_gentle_reask_of_the_same_question(person: Person, en: Texts):
    await person.until_topic()
    for text in ("banana", "9", "0", "???"):
        await person.say(text)
        assert person.texts == [en("input.not_understood"), asked(en, "topic.prompt")]
    await person.say("")
    assert person.texts == [en("input.empty"), asked(en, "topic.prompt")]
    await person.say("\x00\x07\x1b")
    assert person.texts == [en("input.empty"), asked(en, "topic.prompt")]


async def test_danger_yes_shows_emergency_routes_first_and_marks_the_intake_urgent(
    runtime, en: Texts
):
    calm = Person(runtime, "calm")
    await calm.full_intake()
    person = Person(runtime, "in-danger")
    await person.say("hello")
    await person.pick("intake")
    await person.pick("agree")
    await person.pick("adviser-a")
    await person.pick("yes")
    assert person.texts[:2] == [emergency_text(en, person.runtime.config), en("danger.marked")]
    assert "112" in person.texts[0] and "113" in person.texts[0]
    # Offered to send at once; nothing is called sent yet.
    assert person.question.text == asked(en, "urgent.prompt_marked")
    await person.pick("go_on")
    assert person.question.text == asked(en, "topic.prompt")
    await person.pick("aggression")
    await person.pick("skip")
    await person.pick("anonymous")
    await person.pick("phone")
    await person.say("06 12345678")
    await person.pick("no_message")
    await person.pick("anytime")
    await person.pick("today")
    assert f"{en('review.label.danger')}: {en('danger.yes')}" in person.question.text
    replies = await person.pick("send")
    assert replies[0].text.startswith(en("sent.urgent", case_ref=replies[0].text[49:58])[:40])
    assert "usually within" not in replies[0].text  # never days after someone is in danger
    payloads = await inbox_payloads(person)
    assert [p["urgent"] for p in payloads] == [True, False]  # urgent first
    assert payloads[0]["answers"]["contact_detail"] == "+31 6 12345678"
    assert payloads[0]["answers"]["contact_safe"] == "no_message"


async def test_menu_help_now_shows_the_emergency_routes(person: Person, en: Texts):
    await person.say("hi")
    await person.pick("help_now")
    config = person.runtime.config
    assert person.texts == [
        emergency_text(en, config),  # every route for right now, no advice desk among them
        referrals_text(en, config),
        en("menu.prompt"),
    ]
    assert "Klokkenluiders" not in person.texts[0] and "Klokkenluiders" in person.texts[1]


async def test_the_organisation_s_own_routes_are_shown_in_the_person_s_language(
    tmp_path: Path, clock: FakeClock, nl: Texts
):
    routes = (
        "[[emergency_routes]]\nname = '112'\ndescription = { nl = 'bij direct gevaar' }\n"
        "[[emergency_routes]]\nname = 'Bedrijfsopvangteam'\n"
        "description = { nl = 'bel 020-1234567, dag en nacht', en = 'call 020-1234567' }\n"
    )
    async with open_runtime(make_config(tmp_path, routes), clock) as rt:
        person = Person(rt, "dutch", lang="nl")
        await person.say("hallo")
        await person.pick("help_now")
        assert person.texts[0] == (
            f"{nl('emergency.title')}\n- 112: bij direct gevaar.\n"
            "- Bedrijfsopvangteam: bel 020-1234567, dag en nacht."
        )
        assert person.texts[1].startswith(
            f"{nl('emergency.referrals_title')}\n- Huis voor Klokkenluiders: "
        )
        assert "Veilig Thuis" not in person.texts[0]  # the default routes are replaced
        english = Person(rt, "english", lang="en")
        await english.say("hello")
        await english.pick("help_now")
        assert "- 112: bij direct gevaar." in english.texts[0]  # no English given: Dutch
        assert "- Bedrijfsopvangteam: call 020-1234567." in english.texts[0]


async def test_words_about_danger_anywhere_bring_up_the_emergency_routes(person: Person, en: Texts):
    await person.until_topic()
    await person.pick("other")
    await person.say("Sometimes I think about suicide")
    assert person.texts == [
        emergency_text(en, person.runtime.config, "suicide"),
        en("danger.heard"),
        asked(en, "urgent.prompt"),
    ]
    await person.pick("not_now")
    assert person.question.text == asked(en, "name.prompt")


async def test_consent_refused_stores_nothing_and_still_offers_information(
    person: Person, en: Texts
):
    await person.say("hi")
    await person.pick("intake")
    await person.pick("disagree")
    assert person.texts[0] == en("consent.refused")
    assert person.texts[1].startswith(en("other_ways.unknown"))
    assert person.texts[2] == en("menu.prompt")
    assert {"about", "help_now"} <= set(person.choice_ids())
    assert await stored_answers(person) == {}
    await person.pick("about")
    await person.pick("confidentiality")
    assert person.texts[0] == en("about.confidentiality")
    await person.pick("menu")
    await person.pick("help_now")
    assert person.texts[0] == emergency_text(en, person.runtime.config)


async def test_about_explains_role_and_faq(person: Person, en: Texts):
    await person.say("hi")
    await person.pick("about")
    await person.pick("role")
    assert person.texts == [en("about.role"), en("about.prompt")]
    await person.say("frequently asked questions")
    assert person.texts[0] == f"{en('about.faq')}\n\n{en('about.faq_distrust_several')}"
    await person.pick("intake")
    assert person.choice_ids() == ["agree", "disagree", "more"]


async def test_change_one_answer_at_review_then_send(person: Person, en: Texts):
    await person.until_topic()
    await person.pick("bullying")
    await person.say("first version")
    await person.say("Robin")
    await person.pick("chat")
    await person.pick("mornings")
    await person.pick("today")
    assert person.question.text.startswith(en("review.intro"))

    await person.pick("change")
    assert "description" in person.choice_ids() and "back" in person.choice_ids()
    await person.pick("topic")
    assert person.question.text == asked(en, "topic.prompt")
    await person.pick("conflict")
    assert person.question.text.startswith(en("review.intro"))
    assert f"{en('review.label.topic')}: {en('topic.conflict')}" in person.question.text

    # Changing the way of contact asks for the matching detail, then returns to review.
    await person.pick("change")
    await person.pick("contact")
    await person.pick("email")
    assert person.question.text == asked(en, "email.prompt")
    await person.say("not an address")
    assert person.texts == [en("email.invalid"), asked(en, "email.prompt")]
    await person.say("Robin@Example.NL")
    assert person.question.text == asked(en, "contact_safe.prompt_email")
    # An address that is not safe to write to is no way of contact: another way at once.
    await person.pick("no_message")
    assert person.texts == [en("contact_safe.email_unsafe"), asked(en, "contact.prompt")]
    await person.pick("email")
    await person.say("Robin@Example.NL")
    await person.pick("message_ok")
    assert person.question.text.startswith(en("review.intro"))
    assert "Robin@example.nl" in person.question.text

    await person.pick("change")
    await person.pick("back")
    assert person.question.text.startswith(en("review.intro"))
    await person.pick("send")
    [payload] = await inbox_payloads(person)
    assert payload["answers"]["topic"] == "conflict"
    assert payload["answers"]["description"] == "first version"
    assert payload["answers"]["contact_method"] == "email"
    assert payload["answers"]["contact_detail"] == "Robin@example.nl"
    assert payload["answers"]["urgency"] == "today"


async def test_cancel_at_review_drops_the_intake(person: Person, en: Texts):
    await person.until_topic()
    for step in ("bullying", "skip", "anonymous", "chat", "anytime", "no_rush"):
        await person.pick(step)
    await person.pick("cancel")
    assert person.texts == [en("cancel.confirm", hours="72")]  # asked first
    assert await stored_answers(person) != {}
    await person.pick("yes")
    assert person.texts == [en("cancel.done"), en("menu.prompt")]
    assert person.choice_ids()[0] == "intake"
    assert await stored_answers(person) == {}
    assert await inbox_payloads(person) == []


async def test_cancel_command_mid_intake_drops_the_answers(person: Person, en: Texts):
    await person.until_topic()
    await person.pick("integrity")
    await person.say("/cancel")
    await person.pick("no")
    assert person.texts == [en("cancel.kept"), asked(en, "description.prompt", max=1000)]
    await person.say("/cancel")
    await person.pick("yes")
    assert person.texts == [en("cancel.done"), en("menu.prompt")]
    assert await stored_answers(person) == {}
    await person.say("/cancel")
    assert person.texts == [en("cancel.nothing"), en("menu.prompt")]


async def test_menu_mid_intake_keeps_the_answers_and_continues_at_the_same_question(
    person: Person, en: Texts
):
    await person.until_topic()
    await person.pick("bullying")
    await person.say("/menu")
    assert person.question.text == en("menu.prompt")
    assert person.choice_ids()[0] == "continue"
    await person.pick("continue")
    assert person.question.text == asked(en, "description.prompt", max=1000)
    assert (await stored_answers(person))["topic"] == "bullying"


async def test_language_switch_mid_intake_asks_the_same_question_in_the_new_language(
    person: Person, en: Texts, nl: Texts
):
    await person.until_topic()
    await person.say("/language")
    assert person.question.text == en("language.prompt")
    assert {c.label for c in person.question.choices} == {"English", "Nederlands"}
    await person.say("nederlands")
    assert person.texts == [nl("language.changed"), asked(nl, "topic.prompt")]
    await person.say("pesten")
    assert person.question.text.startswith(nl("description.prompt", max=1000)[:20])


async def test_help_and_unknown_commands_reask_the_question(person: Person, en: Texts):
    await person.until_topic()
    await person.say("/help")
    help_text = en("help.text", hours="72")
    routes = emergency_text(en, person.runtime.config)  # the routes for right now first
    assert person.texts == [routes, help_text, asked(en, "topic.prompt")]
    await person.say("hulp")  # the Dutch word works as well as the slash command
    assert person.texts == [routes, help_text, asked(en, "topic.prompt")]
    await person.say("/frobnicate")
    assert person.texts == [en("input.unknown_command"), help_text, asked(en, "topic.prompt")]


async def test_start_mid_intake_introduces_again_and_offers_to_continue(person: Person, en: Texts):
    await person.until_topic()
    await person.say("/start")
    assert person.texts[0] == en("intro.text", organisation="Stichting Voorbeeld")
    assert person.choice_ids()[0] == "continue"


async def test_delete_asks_to_confirm_then_erases_everything(person: Person, en: Texts):
    await person.until_topic()
    await person.pick("bullying")
    await person.say("/delete")
    assert person.question.text == en("delete.confirm")
    await person.pick("no")
    assert person.texts == [en("delete.kept"), asked(en, "description.prompt", max=1000)]
    assert (await stored_answers(person))["topic"] == "bullying"

    await person.say("/delete")
    await person.say("yes, delete everything")
    assert person.texts == [en("delete.done")]
    assert await stored_answers(person) is None
    await person.say("hello again")
    assert person.texts[0] == en("intro.text", organisation="Stichting Voorbeeld")


async def test_phone_number_is_checked_with_a_friendly_reask(person: Person, en: Texts):
    await person.until_topic()
    for step in ("bullying", "skip", "anonymous", "phone"):
        await person.pick(step)
    for wrong in ("12", "call me", "+31 6 1234"):
        await person.say(wrong)
        assert person.texts == [en("phone.invalid"), asked(en, "phone.prompt")]
    await person.pick("other_way")
    assert person.question.text == asked(en, "contact.prompt")
    await person.pick("phone")
    await person.say("+44 20 7946 0958")
    assert person.question.text == asked(en, "contact_safe.prompt_phone")
    await person.pick("message_ok")
    assert person.question.text == asked(en, "reachable.prompt")
    assert (await stored_answers(person))["contact_detail"] == "+44 20 7946 0958"


async def test_too_long_answers_are_refused_calmly_and_the_question_stays(
    person: Person, en: Texts
):
    await person.until_topic()
    await person.pick("bullying")
    # A too-long description is not thrown away: keep its first part, or shorten it.
    await person.say("x" * 1001)
    assert person.texts == [asked(en, "too_long.prompt", length=1001, max=1000)]
    assert person.choice_ids() == ["keep", "shorten"]
    await person.pick("shorten")
    assert person.texts == [en("too_long.shorten_hint"), asked(en, "description.prompt", max=1000)]
    await person.say("y" * 5000)
    assert person.texts == [asked(en, "too_long.prompt", length=5000, max=1000)]
    # While the person decides, only a first part is held, never the whole text.
    rt = person.runtime
    held = await rt.store.load_conversation(rt.engine._keyer(person.channel, person.user))
    assert held is not None and len(held.data["pending_text"]) <= 1001
    await person.pick("keep")
    assert person.texts == [en("too_long.kept"), asked(en, "name.prompt")]
    kept = (await stored_answers(person))["description"]
    assert kept.startswith("y" * 900) and len(kept) <= 1000
    # Other answers are short by nature: a calm refusal, the question stays.
    await person.say("z" * 81)
    assert person.texts == [
        en("input.answer_too_long", max=80, length=81),
        asked(en, "name.prompt"),
    ]


async def test_control_characters_are_removed_from_answers(person: Person):
    await person.until_topic()
    await person.pick("bullying")
    await person.say("line one\x00\x1b[31m\u202eevil\nline two")
    assert (await stored_answers(person))["description"] == "line one[31mevil\nline two"


async def test_a_button_from_an_earlier_question_is_not_acted_on(person: Person, en: Texts):
    await person.until_topic()
    await person.pick("agree")  # the consent button, pressed again later
    assert person.texts == [en("input.stale_choice"), asked(en, "topic.prompt")]


async def test_a_yes_button_on_an_older_identical_question_is_not_acted_on(
    person: Person, en: Texts
):
    await person.say("hello")
    await person.say("/delete")
    old_confirmation = person.question.question
    await person.say("no")  # typed, so the first confirmation's buttons stay on screen
    await person.say("/delete")
    assert person.choice_ids() == ["yes", "no"]
    await person.pick("yes", question=old_confirmation)
    assert person.texts == [en("input.stale_choice"), en("delete.confirm")]
    assert await stored_answers(person) is not None  # nothing was erased


async def test_a_message_replayed_by_its_channel_is_handled_once(person: Person, en: Texts):
    await person.say("hello")
    replayed = Inbound("terminal", person.user, text="1", message_id="m-7")
    got: list[Reply] = []

    async def deliver(replies: Sequence[Reply]) -> None:
        got.extend(replies)

    await person.runtime.engine.handle(replayed, deliver)
    assert got[-1].text == en("consent.prompt")
    got.clear()
    await person.runtime.engine.handle(replayed, deliver)  # as after a crash mid-sync
    assert got == []
    user = person.runtime.engine._keyer("terminal", person.user)  # the bot's own keyed hash
    record = await person.runtime.store.load_conversation(user)
    assert record is not None and record.state == "consent"  # "1" did not also agree


async def test_mydata_shows_everything_held_and_nothing_else(person: Person, en: Texts):
    await person.until_topic()
    await person.pick("bullying")
    await person.say("My manager shouts at me")
    await person.say("/mydata")
    [shown, question] = person.replies
    assert shown.text.startswith(en("mydata.intro"))
    assert "Language: English" in shown.text
    assert "You gave your consent on " in shown.text
    assert "My manager shouts at me" in shown.text and "Bullying" in shown.text
    assert question.text == asked(en, "name.prompt")  # the intake goes on where it was

    await person.send_from_name()
    await person.say("/mydata")
    after = person.replies[0].text
    assert en("mydata.no_answers") in after
    assert "My manager" not in after and "robin@example.nl" not in after
    user = person.runtime.engine._keyer(person.channel, person.user)
    record = await person.runtime.store.load_conversation(user)
    assert record is not None and en("mydata.sent", case_ref=record.data["last_case"]) in after


async def test_media_gets_a_calm_reply_and_nothing_is_stored(person: Person, en: Texts):
    await person.until_topic()
    before = await stored_answers(person)
    await person.send_media()
    assert person.texts == [en("input.unsupported"), asked(en, "topic.prompt")]
    assert await stored_answers(person) == before


async def test_flood_of_messages_gets_one_calm_notice(tmp_path: Path, clock: FakeClock, en: Texts):
    config = make_config(tmp_path, fast=False)  # burst 15, then 30 a minute
    async with open_runtime(config, clock) as rt:
        person = Person(rt, "flooder")
        answered = [await person.say(f"message {i}") for i in range(19)]
        notices = [r for r in answered if r and r[0].text == en("input.flood")]
        silent = [r for r in answered if not r]
        assert len(notices) == 1
        assert len(silent) == 3
        clock.advance(4)  # two tokens back
        await person.say("1")
        assert person.question.choices  # answered normally again


async def test_idle_unsent_intakes_are_purged_after_the_retention_time(
    person: Person, clock: FakeClock, en: Texts
):
    await person.until_topic()
    await person.pick("bullying")
    store = person.runtime.store
    clock.advance(71 * 3600)
    assert await store.purge_idle_conversations(clock() - 72 * 3600) == 0
    clock.advance(2 * 3600)
    assert await store.purge_idle_conversations(clock() - 72 * 3600) == 1
    assert await stored_answers(person) is None
    await person.say("hello?")
    assert person.texts[0] == en("intro.text", organisation="Stichting Voorbeeld")


async def test_the_running_bot_purges_expired_intakes_on_its_own(tmp_path: Path, en: Texts):
    config = make_config(tmp_path)
    clock = FakeClock()
    async with open_runtime(config, clock) as rt:
        person = Person(rt, "forgetful")
        await person.until_topic()
        await person.pick("bullying")
    clock.advance(73 * 3600)
    async with open_runtime(config, clock) as rt:
        for _ in range(100):
            if await rt.store.conversation_count() == 0:
                break
            await asyncio.sleep(0.01)
        assert await rt.store.conversation_count() == 0


async def test_an_unreadable_conversation_gets_a_calm_answer_not_a_crash(
    person: Person, en: Texts, caplog
):
    await person.until_topic()
    with sqlite3.connect(person.runtime.config.bot.data_dir / "vertrouwd.sqlite3") as raw:
        # Whatever writes a row raises its version: the bot's copy loses at the save,
        # and the row is read again from the file.
        raw.execute("UPDATE conversations SET sealed = X'0001deadbeef', version = version + 1")
    await person.pick("bullying")
    # Said as it is, in English (the language of the talk), with the way out (/delete).
    assert person.texts == [en("faults.conversation_unreadable")]
    assert "a stored conversation cannot be read (DecryptionError)" in caplog.text
