"""Commands: typed with a slash, or as a plain word in Dutch or English."""

from __future__ import annotations

import re

from bot.flows.conversation import Conversation, StepContext
from bot.flows.handlers import detour
from bot.flows.machine import INTAKE_STATES, fire
from bot.flows.outcome import Outcome
from bot.flows.summary import mydata_text
from bot.texts.catalog import Texts

COMMANDS = ("start", "help", "menu", "language", "mydata", "cancel", "stop", "delete")
# A command with an argument (Telegram's deep links: "/start payload") is still the command.
SLASH_COMMAND = re.compile(r"^/([A-Za-z_]+)(@\w+)?(?:\s.*)?$", re.DOTALL)
# A whole message of one of these words acts as the command.
WORD_COMMANDS = {
    "stop": "stop",
    "stoppen": "stop",
    "cancel": "cancel",
    "annuleren": "cancel",
    "wissen": "delete",
    "delete": "delete",
    "hulp": "help",
    "help": "help",
    "menu": "menu",
    "terug": "back",
    "back": "back",
    "taal": "language",
    "language": "language",
    "mijn gegevens": "mydata",
    "mijngegevens": "mydata",
    "my data": "mydata",
    "mydata": "mydata",
    "nood": "help",
    "opnieuw": "start",
    "start": "start",
}


def word_command(text: str) -> str | None:
    return WORD_COMMANDS.get(text.strip().strip(".!?").casefold())


def run_command(name: str, conv: Conversation, ctx: StepContext, t: Texts, out: Outcome) -> None:
    match name:
        case "start" | "menu":
            if name == "start" or conv.is_new:
                out.say(t("intro.text", organisation=ctx.config.organisation.name))
            _open_menu(conv, ctx)
        case "back":
            if conv.state == "change":
                fire(conv, "back", ctx)
            else:
                _open_menu(conv, ctx)
        case "help":
            out.show_emergency(t, ctx.config)  # the routes for right now come first
            out.say(t("help.text", hours=f"{ctx.config.retention.draft_hours:g}"))
        case "language":
            if conv.state != "language":
                detour(conv, "choose_language", ctx)
        case "mydata":
            out.say(mydata_text(conv.answers, conv.last_case, t, ctx.config, ctx.line, ctx.channel))
        case "cancel":
            if conv.has_draft() or conv.state in INTAKE_STATES:
                _ask(conv, "ask_cancel", "confirm_cancel", ctx)
            else:
                out.say(t("cancel.nothing"))
        case "stop":
            # Inside a request, stopping is about the request; after it, about the chat.
            if conv.state in INTAKE_STATES:
                _ask(conv, "ask_cancel", "confirm_cancel", ctx)
            elif ctx.line is not None:
                _ask(conv, "ask_stop", "confirm_stop", ctx)
            else:
                out.say(t("line.none"))
        case "delete":
            _ask(conv, "ask_delete", "confirm_delete", ctx)


def _open_menu(conv: Conversation, ctx: StepContext) -> None:
    if conv.state in INTAKE_STATES:
        conv.draft_at = conv.state
    if conv.state != "menu":
        fire(conv, "open_menu", ctx)


def _ask(conv: Conversation, trigger: str, state: str, ctx: StepContext) -> None:
    if conv.state != state:
        detour(conv, trigger, ctx)
