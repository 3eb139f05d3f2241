"""Many people at once: nobody's answers end up in someone else's intake."""

from __future__ import annotations

import asyncio

from bot.runtime import Runtime
from bot.texts.catalog import Texts
from tests.conftest import Person, asked


async def test_concurrent_conversations_do_not_mix_answers(runtime: Runtime):
    people = [Person(runtime, f"person-{i}") for i in range(40)]
    await asyncio.gather(
        *(p.full_intake(description=f"story of {p.user}", name=p.user) for p in people)
    )
    await runtime.worker.deliver_due()
    items = await runtime.inbox.items()
    assert len(items) == len(people)
    for item in items:
        answers = item.payload["answers"]
        assert answers["description"] == f"story of {answers['name']}"
    assert {item.payload["answers"]["name"] for item in items} == {p.user for p in people}
    assert len({item.payload["case_ref"] for item in items}) == len(people)


async def test_messages_of_one_person_sent_at_once_are_handled_in_order(
    runtime: Runtime, en: Texts
):
    person = Person(runtime, "quick")
    await person.until_topic()
    answers: list[list[str]] = []

    async def send(text: str) -> None:
        await person.say(text)
        answers.append(person.texts)

    await asyncio.gather(send("bullying"), send("what happened"), send("Sam"))
    assert [a[-1] for a in answers] == [
        asked(en, "description.prompt", max=1000),
        asked(en, "name.prompt"),
        asked(en, "contact.prompt"),
    ]
