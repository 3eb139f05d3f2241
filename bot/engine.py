"""The engine: one message at a time per conversation, persisted before anyone is answered."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.config import Config
from bot.flows.answers import new_case_ref
from bot.flows.commands import word_command
from bot.flows.conversation import Conversation, LineAction, Step, StepContext, Told
from bot.flows.danger.tiers import DangerScore
from bot.flows.intake import step as intake_step
from bot.flows.repeats import already_sent
from bot.keys.crypto import UserKey, UserKeyer
from bot.line.terms import opening_timers
from bot.messages import Inbound, Reply
from bot.ops.observe import NO_OBSERVER, Observer
from bot.report.tallies import handoff_tally
from bot.store import (
    CaseRefTaken,
    ConversationRecord,
    NewHandoff,
    Store,
    StoreError,
    UnreadableRecord,
)
from bot.store.base import VersionConflict
from bot.store.line_records import (
    STOPPED,
    TO_ADVISER,
    CaseContact,
    LineStep,
    NewCase,
    RelayNote,
)
from bot.texts.catalog import Catalog, Texts
from bot.util.failures import describe_failure
from bot.util.held import Held
from bot.util.locks import KeyedLocks
from bot.util.ratelimit import FloodLimiter

log = logging.getLogger(__name__)

REPLY_TO = "reply_to"
SEEN = "seen"
SENT_FROM = "sent_from"
_SEEN_KEPT = 20
Deliver = Callable[[Sequence[Reply]], Awaitable[None]]
# Saves lost to another process or window, or case references already taken, in a row.
_ATTEMPTS = 8
# How long words told at the menu are held for the description: half an hour.
TOLD_SECONDS = 30 * 60.0


def _with_channel_fields(
    data: dict[str, Any],
    inbound: Inbound,
    stored: ConversationRecord | None,
    sent_from: str | None = None,
) -> dict[str, Any]:
    """The conversation's data plus where to reach the person, the last message ids
    handled and the question the last request was sent from, sealed with it."""
    previous = stored.data if stored is not None else {}
    address = inbound.reply_to or previous.get(REPLY_TO)
    fields = {**data, REPLY_TO: address} if address else dict(data)
    if inbound.message_id is not None:
        seen = [*previous.get(SEEN, []), inbound.message_id]
        fields[SEEN] = seen[-_SEEN_KEPT:]
    elif SEEN in previous:
        fields[SEEN] = previous[SEEN]
    if sent_from is not None or SENT_FROM in previous:
        fields[SENT_FROM] = sent_from if sent_from is not None else previous[SENT_FROM]
    return fields


def _texts_for(catalog: Catalog, record: ConversationRecord | None, hint: str | None) -> Texts:
    """The person's language where it is known, else the one their app suggests."""
    candidates = (record.lang if record else None, hint)
    lang = next((c for c in candidates if c and catalog.supports(c)), None)
    return catalog.texts(lang or catalog.default_language)


def _line_step(
    action: LineAction | None, case_ref: str | None, inbound: Inbound
) -> LineStep | None:
    if action is None or case_ref is None:
        return None
    match action.kind:
        case "message":
            values = {"urgent": True} if action.urgent else {}
            note = RelayNote(TO_ADVISER, "message", text=action.text, values=values)
            return LineStep(case_ref, (note,), address=inbound.reply_to)
        case "stop":
            return LineStep(case_ref, (RelayNote(TO_ADVISER, "stopped"),), close_as=STOPPED)
        case _:
            return LineStep(case_ref, (RelayNote(TO_ADVISER, action.kind),))


def already_handled(inbound: Inbound, stored: ConversationRecord | None) -> bool:
    return (
        inbound.message_id is not None
        and stored is not None
        and inbound.message_id in stored.data.get(SEEN, ())
    )


class Engine:
    def __init__(
        self,
        store: Store,
        catalog: Callable[[], Catalog],
        config: Config,
        keyer: UserKeyer,
        clock: Callable[[], float],
        on_handoff: Callable[[], None],
        on_handoff_coming: Callable[[str], None] = lambda adviser_id: None,
        on_line: Callable[[], None] = lambda: None,
        hear: Callable[[Inbound], Awaitable[DangerScore | None]] | None = None,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._config = config
        self._keyer = keyer
        self._clock = clock
        self._on_handoff = on_handoff
        self._on_handoff_coming = on_handoff_coming
        self._on_line = on_line
        self._hear = hear
        # Words told at the menu before any request: in memory only, never stored.
        self._told: Held[UserKey, Told] = Held(TOLD_SECONDS)
        self._locks: KeyedLocks[UserKey] = KeyedLocks()
        self._flood = FloodLimiter(config.limits.burst_messages, config.limits.messages_per_minute)
        self.observer: Observer = NO_OBSERVER  # counts for the metrics, never content
        # Told of each /delete once its answer is sent: a channel drops what it holds.
        self.on_erased: list[Callable[[Inbound], Awaitable[None]]] = []

    async def handle(self, inbound: Inbound, deliver: Deliver) -> None:
        """Step the person's conversation with ``inbound`` and send the replies."""
        self.observer.message(inbound.channel)
        user = self._keyer(inbound.channel, inbound.user_id)
        async with self._locks.hold(user):
            allowed, warn = self._flood.check(user, self._clock())
            if not allowed:
                log.info("flood limit: message from a %s user not read", inbound.channel)
                if warn:
                    await deliver([Reply(await self._text_for(user, "input.flood"))])
                return
            await self._step(user, inbound, deliver)

    async def notice(
        self, channel: str, user_id: str, key: str, language_hint: str | None = None, **values: Any
    ) -> str:
        """A text outside the conversation (a channel's notice) in the person's language."""
        return await self._text_for(self._keyer(channel, user_id), key, language_hint, **values)

    def user_key(self, channel: str, user_id: str) -> UserKey:
        """The keyed hash that stands for this person in everything the bot keeps."""
        return self._keyer(channel, user_id)

    async def conversation_state(self, user: UserKey) -> str | None:
        """Where the person's conversation stands; None when none is kept."""
        record = await self._store.load_conversation(user)
        return record.state if record is not None else None

    async def keeps_anything(self, user: UserKey) -> bool:
        """Whether a conversation or an open line of this person is kept."""
        if await self._store.load_conversation(user) is not None:
            return True
        return await self._store.open_case(user) is not None

    async def limited_notice(
        self, channel: str, user_id: str, key: str, language_hint: str | None = None, **values: Any
    ) -> str | None:
        """A notice answering something the person sent outside a step (an edit, a
        message that could not be read): it counts against their flood limit as a
        message does. Over it, the flood warning instead, once, as for a message; then
        None, and nothing is sent."""
        user = self._keyer(channel, user_id)
        allowed, warn = self._flood.check(user, self._clock())
        if not allowed:
            log.info("flood limit: notice on %s not sent", channel)
            return await self._text_for(user, "input.flood", language_hint) if warn else None
        return await self._text_for(user, key, language_hint, **values)

    async def knows(self, channel: str, user_id: str) -> bool:
        """Whether anything is kept about this person: a conversation or an open case."""
        user = self._keyer(channel, user_id)
        return await self._store.load_conversation(user) is not None or bool(
            await self._store.open_case(user)
        )

    async def _text_for(
        self, user: UserKey, key: str, language_hint: str | None = None, **values: Any
    ) -> str:
        try:
            record = await self._store.load_conversation(user)
        except StoreError:
            record = None
        return _texts_for(self._catalog(), record, language_hint)(key, **values)

    async def _step(self, user: UserKey, inbound: Inbound, deliver: Deliver) -> None:
        now = self._clock()
        catalog = self._catalog()
        stored: ConversationRecord | None = None
        try:
            score = await self._hear(inbound) if self._hear is not None else None
            told = self._told.get(user, now)
            try:
                saved = await self._versioned_step(user, inbound, catalog, now, score, told)
            except UnreadableRecord:
                await self._unreadable_conversation(user, inbound, deliver, catalog, now)
                return
            if saved is None:
                log.info("message on %s already handled; not handled again", inbound.channel)
                return
            stored, step = saved
            if step.release_hold or step.conversation is None:
                self._told.drop(user)
            if step.hold is not None:
                self._told.put(user, step.hold, now)
        except Exception as exc:  # noqa: BLE001 - the person gets a calm answer, never a crash
            log.error("step failed on %s: %s", inbound.channel, describe_failure(exc))
            self.observer.step(ok=False)
            text = _texts_for(catalog, stored, inbound.language_hint)("input.error")
            await deliver([Reply(text)])
            return
        # What an operator needs, and nothing of where the conversation went: a state
        # name or the number of replies would show that danger was heard.
        log.info(
            "step on %s stored%s%s",
            inbound.channel,
            f", handoff {step.handoff.case_ref} queued" if step.handoff else "",
            ", conversation erased" if step.conversation is None else "",
        )
        self.observer.step(ok=True)
        if step.handoff is not None:
            self.observer.handoff_queued()
            self._on_handoff()
        if step.line is not None or step.conversation is None:
            self._on_line()
        await deliver(step.replies)
        if step.conversation is None:
            for erased in self.on_erased:
                await erased(inbound)

    async def _unreadable_conversation(
        self, user: UserKey, inbound: Inbound, deliver: Deliver, catalog: Catalog, now: float
    ) -> None:
        """The person's stored conversation cannot be opened: say so, show what can be
        read (the open line's case reference), and let /delete clear the way."""
        t = _texts_for(catalog, None, inbound.language_hint)
        typed = (inbound.text or "").strip()
        if typed.lower() == "/delete" or word_command(typed) == "delete":
            self._told.drop(user)
            await self._store.save_step(user, None, None, now)
            self._on_line()
            done = f"delete.done_{inbound.channel}"
            await deliver([Reply(t(done if t.has(done) else "delete.done"))])
            return
        parts = [t("faults.conversation_unreadable")]
        line = await self._store.open_case(user)
        if line is not None:
            closed_days = f"{self._config.retention.closed_case_days:g}"
            parts.append(t("mydata.line", case_ref=line, closed_days=closed_days))
        await deliver([Reply("\n\n".join(parts))])

    async def _versioned_step(
        self,
        user: UserKey,
        inbound: Inbound,
        catalog: Catalog,
        now: float,
        score: DangerScore | None,
        told: Told | None,
    ) -> tuple[ConversationRecord | None, Step] | None:
        """Read, step and save until a save wins (another process or window may save
        first: then the step runs again on what it saved). None: already handled."""
        # The question this message answers, where it says so (a button does).
        answered = inbound.question if inbound.choice is not None else None
        for _attempt in range(_ATTEMPTS):
            base = await self._store.load_step(user)
            stored = base.record
            if already_handled(inbound, stored):
                return None
            line = base.line.case_ref if base.line is not None else None
            # Not its state, nor how many answers: both would show what was heard.
            log.debug("conversation loaded" if stored else "new conversation")
            loaded = (
                Conversation.from_record(stored.state, stored.lang, stored.data)
                if stored is not None
                else None
            )
            asked = loaded.question_token if loaded is not None else None
            step = self._flow_step(
                loaded, stored, inbound, catalog, now, line, answered, (score, told)
            )
            record = (
                ConversationRecord(
                    step.conversation.state,
                    step.conversation.lang,
                    _with_channel_fields(
                        step.conversation.to_data(),
                        inbound,
                        stored,
                        asked if step.handoff is not None else None,
                    ),
                )
                if step.conversation is not None
                else None
            )
            handoff = (
                self._new_handoff(step, inbound, stored, now) if step.handoff is not None else None
            )
            if handoff is not None:
                self._on_handoff_coming(handoff.adviser_id)
            try:
                await self._store.save_step(
                    user, record, handoff, now, _line_step(step.line, line, inbound), base=base
                )
            except CaseRefTaken:
                log.warning("case reference collision; drawing a new one")
                continue
            except VersionConflict:
                log.info(
                    "conversation on %s saved elsewhere meanwhile; stepping again", inbound.channel
                )
                if step.handoff is not None and answered is None:
                    # This press sent the request from that question: if the other
                    # save sent it from there too, the fresh row says so.
                    answered = asked
                continue
            return stored, step
        raise StoreError(
            "the step could not be saved (changed elsewhere, or no free case reference)"
        )

    def _flow_step(
        self,
        loaded: Conversation | None,
        stored: ConversationRecord | None,
        inbound: Inbound,
        catalog: Catalog,
        now: float,
        line: str | None,
        answered: str | None,
        heard: tuple[DangerScore | None, Told | None],
    ) -> Step:
        ctx = StepContext(
            now=datetime.fromtimestamp(now, UTC),
            catalog=catalog,
            config=self._config,
            channel=inbound.channel,
            new_case_ref=new_case_ref,
            line=line,
            danger_score=heard[0],
            told=heard[1],
        )
        if loaded is not None and stored is not None:
            repeat = already_sent(loaded, answered, stored.data.get(SENT_FROM), ctx)
            if repeat is not None:
                return repeat
        # The flow mutates the conversation it is given: it is built fresh for each try.
        return intake_step(loaded, inbound, ctx)

    def _new_handoff(
        self, step: Step, inbound: Inbound, stored: ConversationRecord | None, now: float
    ) -> NewHandoff:
        """The handoff and the line it opens: where to reach the person, in which
        language, by which name, and the reminders the case starts with."""
        assert step.handoff is not None and step.conversation is not None
        payload = step.handoff.payload
        answers = payload.get("answers") or {}
        whistleblower = answers.get("topic") in self._config.aftercare.whistleblower_topics
        address = inbound.reply_to or (stored.data.get(REPLY_TO) if stored else None)
        contact = CaseContact(address, step.conversation.lang, answers.get("name"))
        case = NewCase(
            inbound.channel,
            contact,
            whistleblower,
            opening_timers(now, self._config, whistleblower),
        )
        adviser_id = step.handoff.adviser_id
        tally = handoff_tally(payload, adviser_id, inbound.channel, now, self._config)
        return NewHandoff(step.handoff.case_ref, adviser_id, payload, case, tally)
