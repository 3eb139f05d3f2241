"""The intake flow's entry point: one inbound message in, the next step out. Pure."""

from __future__ import annotations

import unicodedata
from dataclasses import replace

from bot.flows.answers import match_choice
from bot.flows.commands import COMMANDS, SLASH_COMMAND, run_command, word_command
from bot.flows.conversation import (
    AFTERCARE_QUESTION,
    Conversation,
    LineAction,
    Step,
    StepContext,
    Told,
)
from bot.flows.danger.tiers import DESCRIPTION_FLAG, NOTHING, Heard, Strength, hear
from bot.flows.handlers import HANDLERS, detour, first_part, stop_line
from bot.flows.machine import INTAKE_STATES
from bot.flows.outcome import Answer, Outcome
from bot.flows.questions import ask, free_text_limit
from bot.flows.summary import urgent
from bot.messages import Inbound, InboundKind
from bot.texts.catalog import Texts

# Bidirectional overrides can make text shown to the adviser read differently
# from what was typed; they have no place in an intake answer.
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
# Where an urgent mark can be offered: after consent, inside the request.
_NO_OFFER = ("consent", "urgent_offer", "urgent", "too_long")
# From this many words, free text where a choice was asked is someone telling.
TELLING_WORDS = 3


def clean_text(text: str) -> str:
    """NFC-normalised text without control characters (newlines and tabs stay)."""
    text = unicodedata.normalize("NFC", text)
    return "".join(
        ch
        for ch in text
        if ch in "\n\t"
        or (unicodedata.category(ch) not in ("Cc", "Cs") and ch not in _BIDI_CONTROLS)
    ).strip()


def _hear(text: str, ctx: StepContext) -> Heard:
    return hear(ctx.catalog.danger_detector.detect(text), ctx.danger_score)


def _intro(conv: Conversation, ctx: StepContext, t: Texts, out: Outcome) -> None:
    out.say(t("intro.text", organisation=ctx.config.organisation.name))
    run_command("menu", conv, ctx, t, Outcome())


def _aftercare(choice: str, ctx: StepContext, t: Texts, out: Outcome) -> None:
    """A button of an after-care check-in: it acts as long as the line is open."""
    if ctx.line is None:
        out.say(t("line.none"))
    elif choice == "talk":
        out.line = LineAction("talk_again")
        out.say(t("aftercare.talk_sent"))
    elif choice == "open":
        out.say(t("aftercare.kept_open"))
    else:
        stop_line(ctx, t, out)


def _to_adviser(text: str, ctx: StepContext, t: Texts, out: Outcome) -> None:
    """Typed at the menu while the line is open: a message for the adviser."""
    assert ctx.line is not None
    # A moderate signal reaches the adviser flagged as well: they read it first.
    out.line = LineAction("message", text, urgent=out.danger_heard or out.gentle)
    out.say(t("line.queued_urgent" if out.danger_heard else "line.queued"))


def _telling(text: str) -> bool:
    """Words enough to be someone starting to tell, not a choice typed wrong."""
    return len(text.split()) >= TELLING_WORDS


def _not_understood(conv: Conversation, text: str, t: Texts, out: Outcome) -> None:
    """Free text where a choice was asked. Only a slip gets "not understood"; someone
    telling is thanked and told where their words can go. At the menu, with no request
    waiting, the engine holds them in memory to offer at the description."""
    draft = conv.has_draft()
    if conv.state == "menu" and _telling(text) and not draft:
        out.hold = text  # in memory only, offered at the description after consent
    if out.danger_heard:
        out.comfort(t)  # heard, not misunderstood
    elif _telling(text) and conv.state == "menu":
        told = "menu.told_draft" if draft else "menu.told"
        out.say(t(told, option=t("menu.continue" if draft else "menu.intake")))
    elif _telling(text):
        out.say(t("input.told"))
    else:
        out.say(t("input.not_understood"))  # the gentle line follows, where it is due


def _answer(conv: Conversation, inbound: Inbound, ctx: StepContext, t: Texts, out: Outcome) -> None:
    question = ask(conv, ctx)
    if inbound.choice is not None:
        outdated = inbound.question is not None and inbound.question != conv.question_token
        if outdated or inbound.choice not in {c.id for c in question.choices}:
            out.say(t("input.stale_choice"))
            return
        _choose(conv, inbound.choice, ctx, t, out)
        return
    text = clean_text(inbound.text or "")
    if not text:
        out.say(t("input.empty"))
        return
    picked = None if inbound.forwarded else match_choice(text, question.choices)
    if picked is not None:
        _choose(conv, picked, ctx, t, out)
        return
    word = None if inbound.forwarded else word_command(text)
    if word is not None:
        run_command(word, conv, ctx, t, out)
        return
    if conv.state == "menu" and ctx.line is not None:
        _to_adviser(text, ctx, t, out)
        return
    if conv.state == "danger" and out.danger_heard:
        HANDLERS["danger"](conv, Answer(choice="yes"), ctx, t, out)
        return
    _free_text(conv, text, ctx, t, out)


def _choose(conv: Conversation, choice: str, ctx: StepContext, t: Texts, out: Outcome) -> None:
    if choice == "use_told" and ctx.told is not None:
        # Consent is given by now: only from here are the held words kept, with how
        # strongly they were heard (the adviser sees it; danger brings the routes).
        told = ctx.told
        limit = ctx.config.intake.description_max_chars
        HANDLERS[conv.state](conv, Answer(text=first_part(told.text, limit)), ctx, t, out)
        out.release_hold = True
        _flag_description(conv, told.heard)
        if told.heard.strength is Strength.STRONG:
            out.danger_heard = True
            out.show_emergency(t, ctx.config, told.heard.category)
        return
    if conv.state == "consent" and choice == "disagree":
        out.release_hold = True  # no consent: what they told is let go at once
    HANDLERS[conv.state](conv, Answer(choice=choice), ctx, t, out)


def _free_text(conv: Conversation, text: str, ctx: StepContext, t: Texts, out: Outcome) -> None:
    limit = free_text_limit(conv.state, ctx.config)
    choices = ask(conv, ctx).choices
    if limit is None:
        _not_understood(conv, text, t, out)
    elif text.isdigit() and conv.state != "phone":
        # "2" where only "1" is offered: a slip, not an answer worth storing.
        out.say(t("input.number_unclear", number=text, count=len(choices)))
    elif len(text) > limit and conv.state == "description":
        # Held only as far as it can be kept: a first part, never the whole of a huge text.
        conv.pending_text, conv.pending_length = text[: limit + 1], len(text)
        detour(conv, "ask_shorten", ctx)
    elif len(text) > limit:
        out.say(t("input.answer_too_long", max=limit, length=len(text)))
    else:
        HANDLERS[conv.state](conv, Answer(text=text), ctx, t, out)


def _start_language(inbound: Inbound, ctx: StepContext) -> str:
    hint = inbound.language_hint
    return hint if hint and ctx.catalog.supports(hint) else ctx.catalog.default_language


def _may_offer_urgent(conv: Conversation, out: Outcome) -> bool:
    return (
        out.handoff is None
        and conv.state in INTAKE_STATES
        and conv.state not in _NO_OFFER
        and "consent" in conv.answers
        and not urgent(conv.answers)
    )


def _dispatch(
    conv: Conversation, inbound: Inbound, raw: str, ctx: StepContext, t: Texts, out: Outcome
) -> None:
    typed = inbound.kind is InboundKind.MESSAGE and not inbound.forwarded
    command = SLASH_COMMAND.match(raw.strip()) if typed else None
    too_long = len(raw) > ctx.config.limits.message_max_chars
    if too_long and conv.state != "description":
        out.say(t("input.too_long", max=ctx.config.limits.message_max_chars))
    elif command is not None:
        name = command.group(1).lower()
        if name in COMMANDS:
            run_command(name, conv, ctx, t, out)
        else:
            out.say(t("input.unknown_command"))
            out.say(t("help.text", hours=f"{ctx.config.retention.draft_hours:g}"))
    elif inbound.question == AFTERCARE_QUESTION and inbound.choice is not None:
        _aftercare(inbound.choice, ctx, t, out)
    elif conv.is_new and ctx.line is None:
        _intro(conv, ctx, t, out)
        first = clean_text(raw)
        # A label typed as a first message is that choice; a bare number is not (yet).
        label = typed and not first.isdigit()
        picked = match_choice(first, ask(conv, ctx).choices) if label else None
        if picked is not None:
            _choose(conv, picked, ctx, t, out)  # "Ik heb nu hulp nodig" as a first message
        elif typed and not command and _telling(first):
            out.hold = first  # in memory only, offered at the description after consent
            if not out.danger_heard:
                out.say(t("menu.told", option=t("menu.intake")))  # someone starting to tell
        if inbound.kind is InboundKind.UNSUPPORTED:
            out.say(t("input.unsupported"))
    elif inbound.kind is InboundKind.RESUME:
        out.say(t("resume.welcome_back"))
    elif inbound.kind is InboundKind.UNSUPPORTED:
        out.say(t("input.unsupported"))
    else:
        _answer(conv, inbound, ctx, t, out)


def step(stored: Conversation | None, inbound: Inbound, ctx: StepContext) -> Step:
    """Answer one inbound message: the new conversation state and what to say."""
    conv = stored if stored is not None else Conversation.new(_start_language(inbound, ctx))
    if ctx.line is not None and conv.last_case is None:
        # The conversation expired while the line stayed open: remember the case again.
        conv.last_case = ctx.line
    t = ctx.catalog.texts(conv.lang)
    out = Outcome()
    raw = inbound.text or ""
    is_command = SLASH_COMMAND.match(raw.strip()) is not None
    heard = (
        _hear(raw, ctx)
        if inbound.kind is InboundKind.MESSAGE and raw and not is_command
        else NOTHING
    )
    if heard.strength is Strength.STRONG:
        out.danger_heard = True
        out.show_emergency(t, ctx.config, heard.category)
    out.gentle = heard.strength is Strength.GENTLE
    before = (conv.answers.get("description"), conv.pending_text)

    _dispatch(conv, inbound, raw, ctx, t, out)

    _flag_when_told(conv, before, clean_text(raw), heard)
    if out.danger_heard:
        if out.line is None or out.line.kind != "message":
            out.comfort(t)
        if _may_offer_urgent(conv, out):
            detour(conv, "offer_urgent", ctx)
    elif out.gentle:
        out.say(t("safety.gentle"))  # beside the normal answer, never instead of it
    return _finish(conv, ctx, out, heard)


def _flag_when_told(
    conv: Conversation, before: tuple[str | None, str | None], typed: str, heard: Heard
) -> None:
    """The flag follows the words it was heard in: a description typed now, or a long
    one held while they choose (choosing keep, or the words told at the menu, keep the
    flag set when they were typed; skipping the question drops it)."""
    description, pending = before
    after = conv.answers.get("description")
    if conv.pending_text is not None and conv.pending_text != pending:
        _flag_description(conv, heard)  # a long description, held while they choose
    elif after != description and (after is None or after == typed):
        _flag_description(conv, heard)


def _flag_description(conv: Conversation, heard: Heard) -> None:
    """A description that may tell of danger reaches the adviser flagged."""
    if heard.strength is Strength.NONE:
        conv.answers.pop(DESCRIPTION_FLAG, None)
    else:
        conv.answers[DESCRIPTION_FLAG] = heard.strength.name.lower()


def _finish(conv: Conversation, ctx: StepContext, out: Outcome, heard: Heard) -> Step:
    if out.erase:
        return Step(conversation=None, replies=tuple(out.notes), release_hold=True)
    if out.line is not None and out.line.kind == "message" and not conv.is_new:
        # The menu on screen stays valid: a confirmation is enough, no new question.
        return Step(conversation=conv, replies=tuple(out.notes), line=out.line)
    conv.is_new = False
    conv.turn += 1
    told = Told(out.hold, heard) if out.hold is not None else None
    if told is not None or out.release_hold:
        ctx = replace(ctx, told=told)  # the question offers what is held from now
    if out.handoff is not None:
        ctx = replace(ctx, line=out.handoff.case_ref)  # the line opens with the handoff
    elif out.line is not None and out.line.kind == "stop":
        ctx = replace(ctx, line=None)
    question = replace(ask(conv, ctx), question=conv.question_token)
    return Step(
        conversation=conv,
        replies=(*out.notes, question),
        handoff=out.handoff,
        line=out.line,
        hold=told,
        release_hold=out.release_hold or out.handoff is not None,
    )
