"""A synthetic year on the embedded default: employees send requests through the real
engine, the adviser answers and closes in the case threads (in this process, and with
`vertrouwd write` as a separate process), registers at closing, and `vertrouwd report`
shows exactly the expected figures, small counts hidden. Nothing in the statistics,
the database file or its WAL points back at a case, a person, a text or a moment."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import struct
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import html5lib
import pytest

from bot.config import Config
from bot.data_folder import STORE_FILE
from bot.runtime import Runtime, open_runtime
from bot.store.stat_records import CODE
from tests.conftest import FakeClock, Person, make_config, run_cli
from tests.test_line import user_key

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DAY = 86400.0


def at(day: str, hour: int = 10) -> float:
    """A moment in the organisation's time zone, with a fraction of a second, so that
    SQLite would store it as an 8-byte double we can look for."""
    moment = datetime.fromisoformat(day).replace(hour=hour, tzinfo=AMSTERDAM)
    return moment.timestamp() + 0.37


@dataclass(frozen=True)
class Request:
    day: str  # when it was sent
    topic: str
    urgent: bool
    answer_after: int  # calendar days until the adviser's first answer (at 15:00)


# 2025: 25 requests (9, 6, 5, 5 per quarter). Mondays, answered 0 to 3 days later; one
# on Good Friday answered on Tuesday, which is 1 working day (Easter Monday is off).
YEAR = [
    Request("2025-01-06", "bullying", False, 0),
    Request("2025-01-13", "bullying", False, 0),
    Request("2025-01-20", "bullying", True, 0),
    Request("2025-01-27", "bullying", False, 0),
    Request("2025-02-03", "discrimination", False, 1),
    Request("2025-02-10", "discrimination", False, 1),
    Request("2025-02-17", "sexual_harassment", False, 2),
    Request("2025-02-24", "aggression", False, 3),
    Request("2025-03-03", "bullying", False, 3),
    Request("2025-04-07", "bullying", False, 0),
    Request("2025-04-14", "bullying", True, 0),
    Request("2025-04-18", "discrimination", False, 4),  # Good Friday to Tuesday
    Request("2025-05-12", "sexual_harassment", False, 2),
    Request("2025-05-19", "bullying", False, 1),
    Request("2025-06-16", "aggression", False, 3),
    Request("2025-07-07", "bullying", False, 0),
    Request("2025-07-14", "discrimination", False, 1),
    Request("2025-07-21", "sexual_harassment", False, 2),
    Request("2025-08-04", "bullying", False, 0),
    Request("2025-09-08", "aggression", True, 3),
    Request("2025-10-06", "bullying", False, 0),
    Request("2025-10-13", "discrimination", False, 2),
    Request("2025-11-03", "sexual_harassment", False, 2),
    Request("2025-11-10", "bullying", False, 0),
    Request("2025-12-01", "discrimination", False, 3),
]
# 2024: seven requests in the second quarter, all about bullying, answered the same day.
LAST_YEAR = [
    Request(f"2024-05-{day:02d}", "bullying", False, 0) for day in (6, 7, 8, 13, 14, 15, 21)
]

# What the adviser registers when closing the first twelve cases of 2025, answered by
# number, in Dutch and in English: kind, routes, from whom, topics, repeated.
REGISTRATIONS = [
    ("1", "1", "1", "1", "1"),
    ("melding", "luisteren en advies, bemiddeling", "collega", "pesten", "ja"),
    ("melding", "listening", "manager", "bullying", "yes"),
    ("1", "1 3", "2", "1", "1"),
    ("Melding", "Luisteren", "een collega", "Pesten", "Ja"),
    ("melding", "listening and advice, mediation", "a manager", "bullying", "yes"),
    ("1", "1", "1", "-", "1"),
    ("melding", "listening, company doctor", "leidinggevende", "overslaan", "ja, vaker"),
    ("complaint", "support with a formal complaint, mediation", "colleague", "skip", "yes"),
    ("2", "9 1", "2", "-", "2"),
    ("klacht", "steun bij een formele klacht, bedrijfsarts, bemiddeling", "collega", "-", "nee"),
    # the twelfth goes through `vertrouwd write`, as a separate process
]
LAST_BY_CLI = ("3", "listening", "klant", "-", "-")


async def send_request(runtime: Runtime, clock: FakeClock, name: str, request: Request) -> str:
    clock.now = at(request.day)
    person = Person(runtime, name)
    await person.until_topic(danger="yes" if request.urgent else "no")
    await person.pick(request.topic)
    await person.say(f"Canary-text {name} shouted at in the canteen")
    await person.say(f"Canary-name {name}")
    await person.pick("chat")
    await person.pick("evenings")
    await person.pick("this_week")
    await person.pick("send")
    case_ref = await runtime.store.open_case(user_key(person))
    assert case_ref is not None, person.texts
    return case_ref


async def adviser(runtime: Runtime, case_ref: str, text: str, event_id: str) -> str | None:
    case = await runtime.store.case(case_ref)
    answer = await runtime.desk.in_thread(case, runtime.config.adviser("adviser-a"), event_id, text)
    return answer.text


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


def report_csv(tmp_path: Path, year: int, lang: str = "en") -> dict[tuple[str, str], list[str]]:
    done = run_cli(
        [
            "report",
            "--config",
            str(tmp_path / "config.toml"),
            "--year",
            str(year),
            "--lang",
            lang,
            "--format",
            "csv",
        ]
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0] == ["Table", "", str(year), str(year - 1), "Change"]
    return {(row[0], row[1]): row[2:] for row in rows[1:]}


async def test_a_year_through_the_engine_and_the_threads_gives_exactly_the_expected_report(
    config: Config, clock: FakeClock, tmp_path: Path, en, nl
):
    async with open_runtime(config, clock) as runtime:
        checked = await _the_year(runtime, clock, tmp_path, en, nl)
        nothing_points_back(config.bot.data_dir, checked)  # while the bot runs...
        # The counts survived the purge of every case they came from.
        assert report_csv(tmp_path, 2025) == checked.figures
    nothing_points_back(config.bot.data_dir, checked)  # ...and once it has stopped


@dataclass
class Checked:
    secrets: list[str]
    moments: list[float]
    figures: dict[tuple[str, str], list[str]]


def nothing_points_back(data_dir: Path, checked: Checked) -> None:
    for path in (data_dir / STORE_FILE, data_dir / f"{STORE_FILE}-wal"):
        data = path.read_bytes() if path.exists() else b""
        for secret in checked.secrets:
            assert secret.encode() not in data, (path.name, secret)
        for moment in checked.moments:
            assert struct.pack(">d", moment) not in data, (path.name, moment)
        assert not re.search(rb"[A-Z2-9]{4}-[A-Z2-9]{4}", data), path.name


async def _the_year(runtime: Runtime, clock: FakeClock, tmp_path: Path, en, nl) -> Checked:
    refs, names, moments = [], [], []
    for index, request in enumerate([*LAST_YEAR, *YEAR]):
        name = f"person{index:02d}"
        case_ref = await send_request(runtime, clock, name, request)
        await runtime.worker.deliver_due()
        clock.now = at(request.day, 15) + request.answer_after * DAY
        assert await adviser(runtime, case_ref, "Shall we talk?", f"$first-{index}") is None
        refs.append(case_ref)
        names.append(name)
        moments += [at(request.day), clock.now]
    this_year = refs[len(LAST_YEAR) :]

    # Closing asks the questions for the annual report in the thread.
    for number, answers in enumerate(REGISTRATIONS):
        case_ref = this_year[number]
        asked = await adviser(runtime, case_ref, "!close", f"$close-{number}")
        assert asked == "\n\n".join(
            [
                nl("desk.closed", case_ref=case_ref),
                nl("register.intro"),
                runtime.desk.registrations._question(
                    {"source": "case", "asked": 0, "answers": {}}, nl
                ),
            ]
        )
        for step, text in enumerate(answers):
            said = await adviser(runtime, case_ref, text, f"$reg-{number}-{step}")
            assert said != nl("register.unclear") and not said.startswith(nl("register.unclear")), (
                number,
                step,
                text,
            )
        assert said == nl("register.done_case")

    # The twelfth: closed and registered with `vertrouwd write`, one process each.
    config_file = str(tmp_path / "config.toml")
    twelfth = this_year[11]
    closed = run_cli(["write", "--config", config_file, twelfth, "!close"])
    assert closed.returncode == 0, closed.stderr
    assert closed.stdout.startswith(nl("desk.closed", case_ref=twelfth))
    assert "Vraag 1 van 5" in closed.stdout
    unclear = run_cli(["write", "--config", config_file, twelfth, "a walk in the park"])
    assert unclear.stdout.startswith(nl("register.unclear"))
    for text in LAST_BY_CLI:
        step = run_cli(["write", "--config", config_file, twelfth, text])
        assert step.returncode == 0, step.stderr
    assert step.stdout.strip() == nl("register.done_case")
    again = run_cli(["write", "--config", config_file, twelfth, "!register"])
    assert again.stdout.strip() == nl("register.already", case_ref=twelfth)
    # Taken back from the terminal and registered again the same way: the figures stay.
    back = run_cli(["write", "--config", config_file, twelfth, "!register withdraw"])
    assert back.returncode == 0, back.stderr
    assert back.stdout.startswith(nl("register.withdrawn", case_ref=twelfth))
    assert "Vraag 1 van 5" in back.stdout
    for text in LAST_BY_CLI:
        step = run_cli(["write", "--config", config_file, twelfth, text])
    assert step.stdout.strip() == nl("register.done_case")

    # A session on integrity for 25 people, a training for 12.
    room = runtime.config.adviser("adviser-a")
    clock.now = at("2025-11-20")
    await runtime.desk.in_room(room, "$act-1", "!activity 2025-03-12 25 voorlichting")
    await runtime.desk.in_room(room, "$act-2", "!activity 20-11-2025 12 training")
    await runtime.desk.in_room(room, "$act-2", "!activity 20-11-2025 12 training")  # replayed

    figures = report_csv(tmp_path, 2025)
    small, hidden = "< 5", "hidden"
    expected = {
        ("Contacts", "Through the bot"): ["25", "7", "+18"],
        ("Contacts", "Outside the bot"): ["0", "0", "0"],
        ("Contacts", "Total"): ["25", "7", "+18"],
        # 2024 had too few contacts for quarters: they are not given, not zero.
        ("Contacts per quarter", "Quarter 1"): ["9", "\u2013", ""],
        ("Contacts per quarter", "Quarter 2"): ["6", "\u2013", ""],
        ("Contacts per quarter", "Quarter 3"): ["5", "\u2013", ""],
        ("Contacts per quarter", "Quarter 4"): ["5", "\u2013", ""],
        ("Urgent requests (someone in danger)", "Urgent"): [small, "0", ""],
        # 22 would give the urgent ones away (25 - 22): hidden as well.
        ("Urgent requests (someone in danger)", "Not urgent"): [hidden, "7", ""],
        ("Urgent requests (someone in danger)", "Total"): ["25", "7", "+18"],
        ("Kind of contact", "Melding: an experience, to be heard or advised"): ["8", "0", "+8"],
        ("Kind of contact", "Klacht: a formal complaint, with or without my support"): [
            small,
            "0",
            "",
        ],
        ("Kind of contact", "Signal (signaal): an indirect indication"): [small, "0", ""],
        ("Kind of contact", "Total"): ["12", "0", "+12"],
        ("Routes taken", "Listening and advice"): ["10", "0", "+10"],
        ("Routes taken", "Mediation"): ["5", "0", "+5"],
        ("Routes taken", "Referral: company doctor"): [small, "0", ""],
        ("Routes taken", "Support with a formal complaint"): [small, "0", ""],
        ("Routes taken", "Referral: police"): ["0", "0", "0"],
        # One client: 12 - 6 - 5 would tell. With the 5 hidden too (at least 5), the
        # client is 0 or 1 to a reader: one more hidden cell is enough.
        ("From whom the behaviour came", "A colleague"): ["6", "0", "+6"],
        ("From whom the behaviour came", "A manager"): [hidden, "0", ""],
        ("From whom the behaviour came", "A client or outsider"): [small, "0", ""],
        ("Topics as registered by the adviser", "Bullying"): ["6", "0", "+6"],
        ("Topics as registered by the adviser", "Not answered"): ["6", "0", "+6"],
        ("Happened more than once", "Yes, more than once"): ["9", "0", "+9"],
        ("Happened more than once", "No, once"): [small, "0", ""],
        ("Happened more than once", "Not answered"): [small, "0", ""],
        ("Time to first contact (working days)", "The same working day"): ["10", "7", "+3"],
        ("Time to first contact (working days)", "1 working day"): ["5", "0", "+5"],
        ("Time to first contact (working days)", "2 working days"): ["5", "0", "+5"],
        ("Time to first contact (working days)", "3 working days"): ["5", "0", "+5"],
        ("First contact within the promised time", "Within 2 working days"): ["20", "7", "+13"],
        ("First contact within the promised time", "Later"): ["5", "0", "+5"],
        ("First contact within the promised time", "No first contact yet"): ["0", "0", "0"],
        ("Preventive work", "Information session: sessions"): ["1", "0", ""],
        ("Preventive work", "Information session: participants"): ["25", "0", ""],
        ("Preventive work", "Training: participants"): ["12", "0", ""],
    }
    topics = "Topics (as chosen in the request, or registered for a contact outside the bot)"
    expected |= {
        (topics, "Bullying"): ["12", "7", "+5"],
        (topics, "Discrimination"): ["6", "0", "+6"],
        (topics, "Sexual harassment or other crossing of boundaries"): [small, "0", ""],
        (topics, "Aggression or violence"): [small, "0", ""],
        (topics, "Something dishonest or against the rules (integrity)"): ["0", "0", "0"],
    }
    for key, value in expected.items():
        assert figures.get(key) == value, key
    rules = [line for (table, line) in figures if table == "How small numbers are hidden"]
    # A few plain sentences, no list of cells: 10 "< 5" and 2 hidden besides.
    assert rules == [
        en("report.hiding_small", min=5),
        en("report.hiding_complement"),
        en("report.hiding_counted", min=5, small=10, complement=2),
    ]
    assert all(len(rule) < 400 for rule in rules)

    # The other formats carry the same numbers.
    md = run_cli(["report", "--config", config_file, "--year", "2025", "--format", "md"])
    assert "| Niet dringend | verborgen | 7 |  |" in md.stdout  # in the default language
    assert "| Pesten | 12 | 7 | +5 |" in md.stdout
    page = run_cli(["report", "--config", config_file, "--year", "2025", "--lang", "en"])
    document = html5lib.parse(page.stdout, namespaceHTMLElements=False)
    urgent = document.find(".//section[@id='urgent']")
    cells = [[td.text or "" for td in tr] for tr in urgent.iter("tr")]
    assert cells[1:] == [
        ["Urgent", "< 5", "0", ""],
        ["Not urgent", "hidden", "7", ""],
        ["Total", "25", "7", "+18"],
    ]
    assert en("report.share_other", percent=80, days=2) in page.stdout

    # 2024 alone: too few contacts for quarters, which fold into the year.
    previous = report_csv(tmp_path, 2024)
    assert ("Contacts per quarter", "Quarter 2") not in previous
    # ...and 2023 has no counts at all: "no previous year", not a column of zeros.
    assert previous[("Contacts", "Total")] == ["7", "\u2013", ""]
    rules = [line for (table, line) in previous if table == "How small numbers are hidden"]
    assert rules[-1] == en("report.folded", year=2024, most=20)
    assert en("report.no_previous", previous=2023) in "\n".join(
        run_cli(
            ["report", "--config", config_file, "--year", "2024", "--format", "md", "--lang", "en"]
        ).stdout.splitlines()
    )

    # Every count is a code in a quarter: nothing of a case, a person or a moment.
    db = sqlite3.connect(runtime.config.bot.data_dir / STORE_FILE)
    columns = [row[1] for row in db.execute("PRAGMA table_info(statistics)")]
    assert columns == ["year", "quarter", "adviser_id", "dimension", "value", "count"]
    for year, quarter, adviser_id, dimension, value, count in db.execute(
        "SELECT * FROM statistics"
    ):
        assert year in (2024, 2025) and quarter in (1, 2, 3, 4) and count > 0
        assert adviser_id == "adviser-a" and CODE.match(dimension) and CODE.match(value)
    db.close()

    # Past every retention term the cases are gone; the counts are not.
    assert runtime.retention is not None
    clock.now = at("2027-01-01")
    await runtime.retention.purge()  # silent lines close
    clock.now = at("2027-03-01")
    await runtime.retention.purge()  # and go after their term
    assert all([await runtime.store.case(ref) is None for ref in refs])
    return Checked([*refs, *names, "Canary-text", "Canary-name"], moments, figures)
