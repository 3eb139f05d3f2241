"""The adviser's side of the embedded default: the local inbox, read and answered here.

`vertrouwd inbox` shows each handoff with its case thread; `vertrouwd write` puts the
adviser's message (or command) in a thread, as the adviser's Matrix room would. The
running bot picks it up from the store and passes it on.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from bot.commands import Subcommands
from bot.config import Config
from bot.data_folder import STORE_FILE
from bot.flows.summary import handoff_text
from bot.keys.crypto import FieldCipher, KeyMaterial
from bot.keys.guard import existing_keys
from bot.line.desk import AdviserDesk
from bot.sinks.base import ThreadPost, ThreadText
from bot.sinks.local_inbox import InboxContents, LocalInbox
from bot.store import SqliteStore
from bot.texts.catalog import Catalog, Texts, catalog_of


def add_parser(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    inbox = commands.add_parser("inbox", parents=[common], help="read the local adviser inbox")
    inbox.add_argument("--jsonl", action="store_true", help="one JSON object per handoff")
    inbox.add_argument("--adviser", help="only this adviser's handoffs (adviser id)")
    inbox.set_defaults(entry=inbox_command)

    write = commands.add_parser(
        "write",
        parents=[common],
        help="as the adviser, write in a case's thread of the local inbox (or a !command)",
    )
    write.add_argument("case_ref", help="the case reference, e.g. ACDE-FGHJ")
    write.add_argument(
        "text",
        nargs="*",
        help="the message, or !status, !checkin 14, !close; best left out: then it is read"
        " from standard input, out of sight of other users and the shell history",
    )
    write.set_defaults(entry=write_command)


def inbox_command(config: Config, args: argparse.Namespace) -> int:
    return asyncio.run(read_inbox(config, args.adviser, args.jsonl))


def write_command(config: Config, args: argparse.Namespace) -> int:
    return asyncio.run(write_in_thread(config, args.case_ref, _adviser_text(args)))


def _adviser_text(args: argparse.Namespace) -> str:
    """The adviser's message: from standard input, unless given as arguments (which
    other users of the machine can see in the process list, and the shell keeps)."""
    # A lone "-" is an answer too (it skips a registration question), not "read stdin".
    if args.text:
        return " ".join(args.text)
    if sys.stdin.isatty():
        print("Type the message; end it with Ctrl-D on a line of its own.", file=sys.stderr)
    return sys.stdin.read().strip()


@contextlib.asynccontextmanager
async def _opened(
    config: Config, keys: KeyMaterial
) -> AsyncIterator[tuple[LocalInbox, SqliteStore]]:
    cipher = FieldCipher(keys)
    inbox = await LocalInbox.open(config.bot.data_dir, cipher)
    try:
        store = await SqliteStore.open(
            config.bot.data_dir / STORE_FILE, cipher, config.storage.durability
        )
    except BaseException:
        await inbox.close()
        raise
    try:
        yield inbox, store
    finally:
        await inbox.close()
        await store.close()


async def read_inbox(config: Config, adviser_id: str | None, as_jsonl: bool) -> int:
    catalog = catalog_of(config)
    default_texts = catalog.texts(config.bot.default_language)
    keys = existing_keys(config)
    if keys is None:  # never started: nothing sealed, nothing delivered
        print(default_texts("inbox.empty"))
        return 0
    async with _opened(config, keys) as (inbox, store):
        contents = await inbox.contents(adviser_id)
        waiting = await store.pending_count()
    items, threads = contents.items, contents.threads
    for item in items:
        texts = catalog.texts(config.adviser_language(item.adviser_id))
        rendered = handoff_text(item.payload, texts, config)
        thread = threads[item.txn_id]
        if as_jsonl:
            received = datetime.fromtimestamp(item.received_at, UTC).isoformat()
            record = {
                "case_ref": item.payload["case_ref"],
                "adviser_id": item.adviser_id,
                "urgent": item.payload["urgent"],
                "received_at": received,
                "handoff": item.payload,
                "text": rendered,
                "thread": thread,
            }
            print(json.dumps(record, ensure_ascii=False))
        else:
            print(rendered)
            for post in thread:
                print("\n  > " + post.replace("\n", "\n    "))
            print("-" * 60)
    if not items and contents.complete and not as_jsonl:
        print(default_texts("inbox.empty"))
    for line in _not_shown(contents, default_texts):
        print(line, file=sys.stderr)
    if waiting:
        print(default_texts("inbox.waiting", count=waiting), file=sys.stderr)
    return 0 if contents.complete else 1


def _not_shown(contents: InboxContents, t: Texts) -> list[str]:
    """One line for each thing the inbox holds but cannot show, and why: damage, or a
    data key the key file no longer holds."""
    lines = [t("faults.inbox_unreadable", case_ref=ref) for ref in contents.unreadable]
    lines += [
        t("faults.inbox_key_missing", case_ref=ref, version=version)
        for ref, version in contents.key_missing.items()
    ]
    lines += [
        t("faults.thread_unreadable", case_ref=ref, count=count)
        for ref, count in contents.unreadable_posts.items()
    ]
    lines += [
        t("faults.thread_key_missing", case_ref=ref, count=count, version=version)
        for ref, (count, version) in contents.posts_key_missing.items()
    ]
    if contents.kept > contents.found:
        lines.append(t("faults.inbox_gap", expected=contents.kept, found=contents.found))
    elif contents.kept != contents.found:
        lines.append(t("faults.inbox_count_damaged", found=contents.found))
    return lines


async def write_in_thread(config: Config, case_ref: str, text: str) -> int:
    """The adviser of the case writes ``text`` in its thread; prints the answer."""
    catalog: Catalog = catalog_of(config)
    default_texts = catalog.texts(config.bot.default_language)
    keys = existing_keys(config)
    if keys is None:
        print(default_texts("desk.unknown_thread"), file=sys.stderr)
        return 1
    async with _opened(config, keys) as (inbox, store):
        case = await store.case(case_ref.strip().upper())
        adviser = config.adviser(case.adviser_id) if case is not None else config.advisers[0]
        desk = AdviserDesk(store, config, lambda: catalog, time.time, lambda: None)
        # Each write is its own event, as a message in a Matrix room would be.
        event_id = f"local-{uuid.uuid4().hex}"
        answer = await desk.in_thread(case, adviser, event_id, text)
        t = catalog.texts(adviser.language)
        if case is not None and answer.acted and answer.text is None:
            # A message passed on: in the thread, as the adviser's Matrix room shows it.
            own = t("thread.from_adviser", case_ref=case.case_ref, adviser=adviser.name, text=text)
            post = ThreadPost(case.case_ref, adviser.id, "", "", ThreadText(own, False), event_id)
            await inbox.post_in_thread(post)
    print(answer.text if answer.text is not None else t("desk.passed_on"))
    return 0 if answer.acted or case is not None else 1
