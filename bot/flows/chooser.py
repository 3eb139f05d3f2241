"""The bureau's own bot, before a person is linked to their organisation: it says whose
bot it is, asks for the code on the organisation's poster, and asks the person to
confirm the organisation it names before anything personal. Pure: the caller looks the
code up, hears danger, keeps what is held and stores the link.

Danger comes first: words that tell of it get the emergency routes at once, and then
the question again. A code that opens nothing (unknown, suspended, removed) always gets
the one same answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from bot.config import Config
from bot.flows.answers import match_choice
from bot.flows.commands import word_command
from bot.flows.danger.tiers import Heard, Strength
from bot.flows.summary import emergency_text
from bot.messages import Choice, Inbound, InboundKind, Reply
from bot.texts.catalog import Texts

# The token of the question "is this your organisation?": a button press carries it.
CONFIRM_QUESTION = "organisation"
YES, NO = "yes", "no"
# Typed to start over with another organisation's code, as a whole message.
SWITCH_COMMAND = "organisation"
_SWITCH_WORDS = frozenset(
    {"organisation", "organisatie", "andere organisatie", "other organisation"}
)
# What a code could be: 6 to 12 letters and digits, perhaps with spaces or dashes
# between (as on the poster: OrganisationCode). Shorter words are not taken for one.
_CODE_SHAPE = re.compile(r"^[A-Za-z0-9]{6,12}$")
_START = re.compile(r"^/start(?:@\w+)?(?:\s+(?P<payload>\S+))?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Known:
    """An organisation a code opens: one the bureau serves now."""

    id: str
    name: str


@dataclass(frozen=True)
class Choosing:
    """What is held, in memory only, for a person not linked yet."""

    lang: str
    greeted: bool = False
    pending: Known | None = None  # named, not yet confirmed


@dataclass(frozen=True)
class ChooserStep:
    replies: tuple[Reply, ...]
    held: Choosing | None  # None: forget the person
    link: Known | None = None  # confirmed: link them now
    wrong_code: bool = False  # counted by the slow-down for wrong codes


def normalised_code(text: str) -> str:
    return re.sub(r"[\s-]", "", text).upper()


def typed_code(text: str) -> str | None:
    """The code in what was typed ("/start CODE" is Telegram's link from a poster)."""
    started = _START.match(text)
    if started is not None:
        text = started.group("payload") or ""
    code = normalised_code(text)
    return code if _CODE_SHAPE.match(code) else None


def switching(text: str) -> bool:
    lowered = text.strip().strip(".!?").casefold()
    return lowered in _SWITCH_WORDS or lowered.split("@")[0] == f"/{SWITCH_COMMAND}"


def _helping(text: str) -> bool:
    return text.strip().casefold().split("@")[0] == "/help" or word_command(text) == "help"


def _deleting(text: str) -> bool:
    return text.strip().casefold().split("@")[0] == "/delete" or word_command(text) == "delete"


def confirm_question(t: Texts, organisation: Known) -> Reply:
    return Reply(
        t("bureau.chooser.confirm", organisation=organisation.name),
        (Choice(YES, t("bureau.chooser.yes")), Choice(NO, t("bureau.chooser.no"))),
        CONFIRM_QUESTION,
    )


def _question(held: Choosing, t: Texts) -> Reply:
    """The question the person is at: the confirmation, else the code."""
    if held.pending is not None:
        return confirm_question(t, held.pending)
    return Reply(t("bureau.chooser.ask"))


def choose(
    inbound: Inbound,
    held: Choosing,
    codes: Mapping[str, Known],
    heard: Heard,
    t: Texts,
    bureau: Config,
    *,
    throttled: bool,
) -> ChooserStep:
    """One message of a person not linked yet."""
    text = (inbound.text or "").strip() if inbound.kind is InboundKind.MESSAGE else ""
    if heard.strength is Strength.STRONG:
        routes = emergency_text(t, bureau, heard.category)
        replies = (Reply(routes), Reply(t("bureau.chooser.danger")), _question(held, t))
        return ChooserStep(replies, replace(held, greeted=True))
    gentle = (Reply(t("safety.gentle")),) if heard.strength is Strength.GENTLE else ()
    step = _answer(inbound, text, held, codes, t, bureau, throttled)
    return replace(step, replies=gentle + step.replies)


def _answer(
    inbound: Inbound,
    text: str,
    held: Choosing,
    codes: Mapping[str, Known],
    t: Texts,
    bureau: Config,
    throttled: bool,
) -> ChooserStep:
    if text and not inbound.forwarded and _deleting(text):
        return ChooserStep((Reply(t("bureau.chooser.forgotten")),), None)
    if text and not inbound.forwarded and switching(text):
        return ChooserStep((Reply(t("bureau.chooser.ask")),), Choosing(held.lang, greeted=True))
    if text and not inbound.forwarded and _helping(text):
        helped = (Reply(emergency_text(t, bureau)), _question(held, t))
        return ChooserStep(helped, replace(held, greeted=True))
    if held.pending is not None:
        confirmed = _confirmation(inbound, text, t)
        if confirmed == YES:
            return ChooserStep((), None, link=held.pending)
        if confirmed == NO:
            return ChooserStep((Reply(t("bureau.chooser.ask")),), Choosing(held.lang, True))
    code = typed_code(text) if text and not inbound.forwarded else None
    if code is None:
        return _greeting(held, t, bureau)
    if throttled:
        return ChooserStep((Reply(t("bureau.chooser.wait")),), replace(held, greeted=True))
    known = codes.get(code)
    if known is None:
        replies = (Reply(t("bureau.chooser.unknown")),)
        return ChooserStep(replies, Choosing(held.lang, greeted=True), wrong_code=True)
    return ChooserStep((confirm_question(t, known),), Choosing(held.lang, True, known))


def _confirmation(inbound: Inbound, text: str, t: Texts) -> str | None:
    if inbound.choice is not None:
        return inbound.choice if inbound.question == CONFIRM_QUESTION else None
    choices = (Choice(YES, t("bureau.chooser.yes")), Choice(NO, t("bureau.chooser.no")))
    return match_choice(text, choices) if text else None


def _greeting(held: Choosing, t: Texts, bureau: Config) -> ChooserStep:
    """Whose bot this is and what it needs, the first time; the question again after."""
    if held.greeted:
        return ChooserStep((_question(held, t),), held)
    intro = t("bureau.chooser.intro", bureau=bureau.bureau.name or t("bureau.chooser.unnamed"))
    return ChooserStep((Reply(intro), _question(held, t)), replace(held, greeted=True))
