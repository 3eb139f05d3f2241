"""`vertrouwd report`: the annual report, and the adviser's local registrations.

`report --year 2026` renders it; `report add` asks the registration questions in the
terminal for a contact outside the bot; `report activity DATE PARTICIPANTS [KIND]`
counts preventive work. On the embedded default these are the local counterparts of
`!register` and `!activity` in the adviser's Matrix room.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from bot.config import Adviser, Config
from bot.data_folder import STORE_FILE
from bot.keys.crypto import FieldCipher, read_key_file
from bot.line.register_desk import parse_activity, withdraw_activity
from bot.report.periods import quarter_of
from bot.report.register import OUTSIDE, answer, new_state, question_text
from bot.report.service import FORMATS, annual_report, rendered, texts_for
from bot.report.tallies import activity_tally, registration_tally
from bot.store import SqliteStore
from bot.store.report_advice import ADVICE_MAX_CHARS
from bot.texts.catalog import Catalog, catalog_of


@contextlib.asynccontextmanager
async def _store(config: Config) -> AsyncIterator[SqliteStore]:
    cipher = FieldCipher(read_key_file(config.key_file))
    store = await SqliteStore.open(
        config.bot.data_dir / STORE_FILE, cipher, config.storage.durability
    )
    try:
        yield store
    finally:
        await store.close()


def _format(fmt: str | None, out: Path | None) -> str:
    if fmt:
        return fmt
    suffix = out.suffix.lstrip(".").lower() if out else ""
    return suffix if suffix in FORMATS else "html"


async def write_report(
    config: Config,
    year: int,
    adviser_id: str | None,
    lang: str | None,
    fmt: str | None,
    out: Path | None,
    as_of: float | None = None,
) -> int:
    catalog = catalog_of(config)
    t = texts_for(catalog, config, lang)
    if adviser_id is not None:
        config.adviser(adviser_id)  # an unknown id is a ConfigError, named
    if not config.key_file.exists():
        print(t("report.nothing_yet"), file=sys.stderr)
        return 1
    async with _store(config) as store:
        now = time.time() if as_of is None else as_of
        report = await annual_report(store, config, t, year, adviser_id, now)
    text = rendered(report, t, _format(fmt, out))
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        print(t("report.written", path=str(out)), file=sys.stderr)
    return 0


async def write_advice(config: Config, year: int, text: str) -> int:
    """Store the adviser's observations and advice for ``year``'s report, sealed."""
    catalog = catalog_of(config)
    t = catalog.texts(config.bot.default_language)
    if not text.strip() or len(text) > ADVICE_MAX_CHARS:
        print(t("report.advice_refused", most=ADVICE_MAX_CHARS), file=sys.stderr)
        return 1
    if not config.key_file.exists():
        print(t("report.nothing_yet"), file=sys.stderr)
        return 1
    async with _store(config) as store:
        await store.set_advice(year, text, time.time())
    print(t("report.advice_saved", year=year), file=sys.stderr)
    return 0


def _adviser(config: Config, adviser_id: str | None) -> Adviser:
    return config.adviser(adviser_id) if adviser_id else config.advisers[0]


async def add_contact(config: Config, adviser_id: str | None, answers: Iterable[str]) -> int:
    """Ask the registration questions on the terminal; count the answers at the end."""
    adviser = _adviser(config, adviser_id)
    catalog: Catalog = catalog_of(config)
    t = catalog.texts(adviser.language)
    languages = [catalog.texts(lang) for lang in catalog.languages()]
    topics = config.intake.topics
    state = new_state(OUTSIDE)
    print(t("register.intro_terminal"))
    lines = iter(answers)
    while True:
        print("\n" + question_text(state, t, topics))
        text = next(lines, "stop").strip()
        turn = answer(state, text, topics, languages)
        if not turn.understood:
            print(t("register.unclear"))
            continue
        state = turn.state
        if turn.done:
            break
    now = time.time()
    tally = registration_tally(state, adviser.id, quarter_of(now, config))
    async with _store(config) as store:
        await store.add_counts(tally, None, now)
    print(t("register.done"))
    return 0


async def add_activity(
    config: Config, adviser_id: str | None, argument: str, *, withdraw: bool = False
) -> int:
    adviser = _adviser(config, adviser_id)
    catalog = catalog_of(config)
    t = catalog.texts(adviser.language)
    now = time.time()
    if withdraw:
        async with _store(config) as store:
            said = await withdraw_activity(store, config, adviser.id, argument, None, now, t)
        print(said.text, file=sys.stdout if said.acted else sys.stderr)
        return 0 if said.acted else 1
    parsed = parse_activity(argument, now, config)
    if parsed is None:
        print(t("activity.usage"), file=sys.stderr)
        return 1
    day, participants, kind = parsed
    async with _store(config) as store:
        await store.add_counts(activity_tally(day, kind, participants, adviser.id), None, now)
    quarter = f"{day.year} Q{(day.month - 1) // 3 + 1}"
    kind_text = t(f"activity.kind_{kind}")
    print(t("activity.saved", kind=kind_text, participants=participants, quarter=quarter))
    return 0
