"""A local stand-in for Telegram's Bot API, for tests: Telegram is not reachable here.

It speaks the real HTTP API (form or JSON bodies, ``{"ok": ..., "result": ...}``
answers, 400 with a description for bad parameters, 429 with ``retry_after``) for
the methods a bot uses, and lets a test cause updates the way a person would.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from tests.telegram_html import BadRequest, Conflict, Forbidden, visible_text

BOT_ID = 7_000_000_001
TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
WEBHOOK_PORTS = (443, 80, 88, 8443)
LATE_SECONDS = 5.5  # python-telegram-bot's default read timeout is 5 s
_NOT_BY_DEFAULT = ("chat_member", "message_reaction", "message_reaction_count")
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


@dataclass
class Person:
    id: int
    first_name: str
    language_code: str | None = "nl"

    def as_user(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.language_code:
            user["language_code"] = self.language_code
        return user


@dataclass
class FakeTelegram:
    token: str = "123456:TEST-token"
    updates: list[dict[str, Any]] = field(default_factory=list)
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)  # sent by the bot
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    throttled: dict[str, int] = field(default_factory=dict)  # method -> retry_after
    left_chats: list[int] = field(default_factory=list)
    commands: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    answered_callbacks: list[dict[str, Any]] = field(default_factory=list)
    webhook: dict[str, Any] | None = None
    webhook_statuses: list[int] = field(default_factory=list)
    blocked_by: set[int] = field(default_factory=set)  # people who blocked the bot
    muted_in: set[int] = field(default_factory=set)  # groups where the bot may not write
    unknown_chats: set[int] = field(default_factory=set)  # "chat not found"
    # method -> what happens to its next calls, in order: None (it works), an HTTP
    # status (refused before it is done: 429 with retry_after 1, else "Bad Gateway"), or
    # "drop" (it is done, but the connection breaks before the answer arrives), or
    # "late" (it is done, and the answer comes after the bot's read timeout of 5 s).
    failures: dict[str, list[int | str | None]] = field(default_factory=dict)
    slow_chats: dict[int, float] = field(default_factory=dict)  # chat id -> seconds a send takes
    # A self-hosted Bot API server (--local) takes any webhook URL; Telegram's own
    # takes only HTTPS on ports 443, 80, 88 and 8443.
    local_server: bool = False
    # The update types the bot asked for (getUpdates or setWebhook); Telegram remembers
    # them, and by default sends every type except chat_member and reactions.
    allowed_updates: list[str] | None = None
    # Other bots at the same address, each with its own token, updates and chats (a
    # bureau's organisation with a bot of its own); they need no start of their own.
    other_bots: dict[str, FakeTelegram] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._new_update = asyncio.Event()
        self._webhook_wake = asyncio.Event()
        self._sent_to: dict[int, int] = {}
        self._waiters: dict[int, asyncio.Event] = {}
        self._pusher: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- the server ---------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._pusher = asyncio.create_task(self._push_to_webhook())
        return self.base_url

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def stop(self) -> None:
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
        if self._runner is not None:
            await self._runner.cleanup()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            body = await request.json()
            return dict(body) if isinstance(body, dict) else {}
        form = await request.post() if request.method == "POST" else request.query
        params: dict[str, Any] = {}
        for key, value in form.items():
            text = str(value)
            try:
                params[key] = json.loads(text) if text[:1] in "[{" else text
            except json.JSONDecodeError:
                params[key] = text
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        other = self.other_bots.get(request.match_info["token"])
        if other is not None:
            return await other._handle(request)
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append((method, params))
        failing = self.failures.get(method)
        failure = failing.pop(0) if failing else None
        if failure == 429:
            self.throttled[method] = 1
        elif isinstance(failure, int):
            return web.json_response(
                {"ok": False, "error_code": failure, "description": "Bad Gateway"},
                status=failure,
            )
        retry_after = self.throttled.pop(method, None)
        if retry_after is not None:
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {retry_after}",
                    "parameters": {"retry_after": retry_after},
                },
                status=429,
            )
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        try:
            result = await handler(params)
            if failure == "drop":
                assert request.transport is not None
                request.transport.close()  # done, but the answer never arrives
            elif failure == "late":
                await asyncio.sleep(LATE_SECONDS)
        except BadRequest as error:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": str(error)}, status=400
            )
        except Forbidden as error:
            return web.json_response(
                {"ok": False, "error_code": 403, "description": str(error)}, status=403
            )
        except Conflict as error:
            return web.json_response(
                {"ok": False, "error_code": 409, "description": str(error)}, status=409
            )
        return web.json_response({"ok": True, "result": result})

    # -- the API methods ------------------------------------------------------------

    async def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Vertrouwd",
            "username": "vertrouwd_test_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url", ""))
        secret = params.get("secret_token")
        if not self.local_server:
            if not url.startswith("https://"):
                raise BadRequest(
                    "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
                )
            port = urlsplit(url).port or 443
            if port not in WEBHOOK_PORTS:
                raise BadRequest(
                    "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443"
                    " or 8443"
                )
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise BadRequest("Bad Request: secret token contains unallowed characters")
        self._remember_allowed(params)
        self.webhook = {"url": url, "secret_token": secret}
        self._webhook_wake.set()
        return True

    async def _push_to_webhook(self) -> None:
        """Telegram's side of a webhook: POST each update, drop it once answered 200."""
        async with aiohttp.ClientSession() as session:
            while True:
                hook = self.webhook
                if hook is None or not self.updates:
                    self._webhook_wake.clear()
                    self._new_update.clear()
                    waits = [
                        asyncio.create_task(e.wait())
                        for e in (self._new_update, self._webhook_wake)
                    ]
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                    for waiting in waits:
                        waiting.cancel()
                    continue
                update = self.updates[0]
                if not self._wanted(update):
                    self.updates.pop(0)
                    continue
                headers = {}
                if hook["secret_token"]:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
                try:
                    async with session.post(hook["url"], json=update, headers=headers) as answer:
                        delivered = answer.status == 200
                        self.webhook_statuses.append(answer.status)
                except aiohttp.ClientError:
                    delivered = False
                if delivered and self.updates and self.updates[0] is update:
                    self.updates.pop(0)
                elif not delivered:
                    await asyncio.sleep(0.05)

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise Conflict(
                "Conflict: can't use getUpdates method while webhook is active;"
                " use deleteWebhook to delete the webhook first"
            )
        self._remember_allowed(params)
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        # Updates before the offset are confirmed, and those of types the bot did not
        # ask for are never sent: Telegram forgets both.
        self.updates = [u for u in self.updates if u["update_id"] >= offset and self._wanted(u)]
        deadline = time.monotonic() + timeout
        while not self.updates and time.monotonic() < deadline:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())
            except TimeoutError:
                break
        limit = int(params.get("limit") or 100)
        return [u for u in self.updates if self._wanted(u)][:limit]

    def _remember_allowed(self, params: dict[str, Any]) -> None:
        allowed = params.get("allowed_updates")
        if isinstance(allowed, str):
            allowed = json.loads(allowed)
        if allowed is not None:
            self.allowed_updates = list(allowed)

    def _wanted(self, update: dict[str, Any]) -> bool:
        kind = next(k for k in update if k != "update_id")
        if not self.allowed_updates:
            return kind not in _NOT_BY_DEFAULT
        return kind in self.allowed_updates

    def _check_markup(self, markup: Any) -> None:
        if not markup:
            return
        if not isinstance(markup, dict):
            raise BadRequest("Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                actions = [k for k in button if k in _BUTTON_ACTIONS]
                if not str(button.get("text", "")).strip() or len(actions) != 1:
                    raise BadRequest(
                        "Bad Request: text buttons are unallowed in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
                    raise BadRequest("Bad Request: BUTTON_DATA_INVALID")

    def _check_text(self, params: dict[str, Any]) -> str:
        """The text as a client shows it: Telegram turns markup into entities."""
        text = str(params.get("text", ""))
        shown = visible_text(text, params.get("parse_mode"))
        if not shown.strip():
            raise BadRequest("Bad Request: message text is empty")
        if len(shown) > TEXT_LIMIT:
            raise BadRequest("Bad Request: message is too long")
        return shown

    async def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        if "chat_id" not in params:
            raise BadRequest("Bad Request: chat_id is empty")
        text = self._check_text(params)
        self._check_markup(params.get("reply_markup"))
        chat_id = int(params["chat_id"])
        if chat_id in self.unknown_chats:
            raise BadRequest("Bad Request: chat not found")
        if chat_id in self.blocked_by:
            raise Forbidden("Forbidden: bot was blocked by the user")
        if chat_id in self.muted_in:
            raise BadRequest("Bad Request: not enough rights to send text messages to the chat")
        if chat_id in self.slow_chats:
            await asyncio.sleep(self.slow_chats[chat_id])
        message_id = next(self._message_ids)
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Vertrouwd"},
            "text": text,
        }
        if params.get("message_thread_id"):
            message["message_thread_id"] = int(params["message_thread_id"])
            message["is_topic_message"] = True
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self.messages[message_id] = {**message, "parse_mode": params.get("parse_mode")}
        self._sent_to[chat_id] = self._sent_to.get(chat_id, 0) + 1
        waiting = self._waiters.pop(chat_id, None)
        if waiting is not None:
            waiting.set()
        return message

    def _sent(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self.messages.get(int(params.get("message_id") or 0))
        if message is None or message["chat"]["id"] != int(params.get("chat_id") or 0):
            raise BadRequest("Bad Request: message to edit not found")
        return message

    async def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._sent(params)
        text = self._check_text(params)
        if text == message["text"] and params.get("reply_markup") == message.get("reply_markup"):
            raise BadRequest("Bad Request: message is not modified")
        message["text"] = text
        self._check_markup(params.get("reply_markup"))
        message["reply_markup"] = params.get("reply_markup") or None
        return {k: v for k, v in message.items() if k != "parse_mode" and v is not None}

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._sent(params)
        self._check_markup(params.get("reply_markup"))
        if (params.get("reply_markup") or None) == message.get("reply_markup"):
            raise BadRequest("Bad Request: message is not modified")
        message["reply_markup"] = params.get("reply_markup") or None
        return {k: v for k, v in message.items() if k != "parse_mode" and v is not None}

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        if not params.get("callback_query_id"):
            raise BadRequest("Bad Request: query is too old or query ID is invalid")
        self.answered_callbacks.append(params)
        return True

    async def _api_sendChatAction(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise BadRequest("Bad Request: commands must be a list of at most 100")
        for command in commands:
            if not _COMMAND.match(str(command.get("command", ""))):
                raise BadRequest("Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise BadRequest("Bad Request: command description is empty or too long")
        self.commands[str(params.get("language_code") or "")] = commands
        return True

    async def _api_leaveChat(self, params: dict[str, Any]) -> bool:
        self.left_chats.append(int(params["chat_id"]))
        return True

    # -- what people do ---------------------------------------------------------

    def _push(self, update: dict[str, Any]) -> dict[str, Any]:
        update["update_id"] = next(self._ids)
        self.updates.append(update)
        self._new_update.set()
        return update

    def _message(self, person: Person, **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": person.id, "type": "private", "first_name": person.first_name},
            "from": person.as_user(),
            **content,
        }

    def send_text(
        self, person: Person, text: str, thread_id: int | None = None, **extra: Any
    ) -> dict[str, Any]:
        """A typed message; in a topic of the private chat when ``thread_id`` is set."""
        entities = []
        if text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        message = self._message(person, text=text, **extra)
        if entities:
            message["entities"] = entities
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        return self._push({"message": message})

    def forward(self, person: Person, text: str) -> dict[str, Any]:
        """The person forwards someone else's message into the chat."""
        origin = {
            "type": "user",
            "date": int(time.time()) - 3600,
            "sender_user": {"id": 5_000_000_999, "is_bot": False, "first_name": "Colleague"},
        }
        return self.send_text(person, text, forward_origin=origin)

    def share_live_location(self, person: Person, moves: int) -> list[dict[str, Any]]:
        """A live location: the message, then one edit per new position."""
        spot = {"latitude": 52.37, "longitude": 4.89, "live_period": 900}
        first = self._push({"message": self._message(person, location=spot)})
        edits = []
        for step in range(1, moves + 1):
            moved = {**spot, "latitude": 52.37 + step / 1000}
            edited = {**first["message"], "location": moved, "edit_date": int(time.time())}
            edits.append(self._push({"edited_message": edited}))
        return [first, *edits]

    def push_raw(self, update: dict[str, Any]) -> dict[str, Any]:
        """Any update as given (a new field shape, a type the bot did not ask for)."""
        return self._push(update)

    def send_photo(self, person: Person) -> dict[str, Any]:
        photo = [{"file_id": "photo-1", "file_unique_id": "p1", "width": 90, "height": 90}]
        return self._push({"message": self._message(person, photo=photo)})

    def send_media(self, person: Person, kind: str) -> dict[str, Any]:
        """A sticker, voice note, document, location or contact, as Telegram shapes them."""
        shapes: dict[str, Any] = {
            "sticker": {
                "file_id": "st-1",
                "file_unique_id": "s1",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
            },
            "voice": {"file_id": "vo-1", "file_unique_id": "v1", "duration": 3},
            "document": {"file_id": "do-1", "file_unique_id": "d1", "file_name": "x.pdf"},
            "location": {"latitude": 52.37, "longitude": 4.89},
            "contact": {"phone_number": "+31612345678", "first_name": "Someone"},
        }
        return self._push({"message": self._message(person, **{kind: shapes[kind]})})

    def edit(self, person: Person, update: dict[str, Any], new_text: str) -> dict[str, Any]:
        """The person edits a message they sent earlier."""
        edited = {**update["message"], "text": new_text, "edit_date": int(time.time())}
        return self._push({"edited_message": edited})

    def press(self, person: Person, message_id: int, data: str) -> dict[str, Any]:
        message = self.messages[message_id]
        query = {
            "id": f"cbq-{next(self._ids)}",
            "from": person.as_user(),
            "chat_instance": f"ci-{person.id}",
            "data": data,
            "message": {k: v for k, v in message.items() if k != "parse_mode" and v is not None},
        }
        return self._push({"callback_query": query})

    def add_to_channel(self, person: Person, channel_id: int) -> dict[str, Any]:
        """The person makes the bot an administrator of their channel."""
        bot = {"id": BOT_ID, "is_bot": True, "first_name": "Vertrouwd"}
        administrator = {
            "status": "administrator",
            "user": bot,
            "can_be_edited": False,
            "is_anonymous": False,
            "can_manage_chat": True,
            "can_delete_messages": True,
            "can_manage_video_chats": False,
            "can_restrict_members": True,
            "can_promote_members": False,
            "can_change_info": True,
            "can_invite_users": True,
            "can_post_stories": False,
            "can_edit_stories": False,
            "can_delete_stories": False,
            "can_post_messages": True,
        }
        return self._push(
            {
                "my_chat_member": {
                    "chat": {"id": channel_id, "type": "channel", "title": "News"},
                    "from": person.as_user(),
                    "date": int(time.time()),
                    "old_chat_member": {"status": "left", "user": bot},
                    "new_chat_member": administrator,
                }
            }
        )

    def add_to_group(self, person: Person, group_id: int) -> dict[str, Any]:
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": group_id, "type": "group", "title": "Team"},
            "from": person.as_user(),
            "new_chat_members": [{"id": BOT_ID, "is_bot": True, "first_name": "Vertrouwd"}],
        }
        bot = {"id": BOT_ID, "is_bot": True, "first_name": "Vertrouwd"}
        # Telegram tells the bot twice: its own membership changed, and a service message.
        self._push(
            {
                "my_chat_member": {
                    "chat": message["chat"],
                    "from": person.as_user(),
                    "date": message["date"],
                    "old_chat_member": {"status": "left", "user": bot},
                    "new_chat_member": {"status": "member", "user": bot},
                }
            }
        )
        return self._push({"message": message})

    def sent_count(self, chat_id: int) -> int:
        return self._sent_to.get(chat_id, 0)

    async def wait_for_message(self, chat_id: int, more_than: int) -> None:
        """Until the bot has sent more than ``more_than`` messages to the chat."""
        while self.sent_count(chat_id) <= more_than:
            waiting = self._waiters.setdefault(chat_id, asyncio.Event())
            await waiting.wait()

    def bot_messages_to(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.messages.values() if m["chat"]["id"] == chat_id]
