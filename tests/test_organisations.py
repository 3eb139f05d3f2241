"""A bureau with two client organisations, acme and beta, run as an admin runs them:
`vertrouwd org add|list|suspend|resume|remove`, and every other command with `--org`.
Nothing of acme (a request's words, its case reference) shows in any file, output or
log of beta; backup, restore, key rotation, erasure, retention and the report work per
organisation; removing acme erases it and leaves beta working."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from bot.config import load_config
from bot.organisations.registry import find_organisation, organisation_config
from bot.runtime import open_runtime
from tests.conftest import ROOT, FakeClock, jsonl, run_cli
from tests.faults import INTAKE, one_error_line, snapshot

CANARY = "CanaryZebra77"
# acme's request carries the canary in its description and as the person's name.
ACME_INTAKE = [
    *INTAKE[:6],
    {"text": f"{CANARY} my manager shouts at me"},
    {"text": f"Robin{CANARY}"},
    *INTAKE[8:],
]
DESCRIPTION_ASKED = "Would you like to say briefly what happened?"
CASE_REF = re.compile(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}\b")


@dataclass
class Bureau:
    root: Path
    config: Path

    @property
    def organisations(self) -> Path:
        return self.root / "data" / "organisations"

    def folder(self, organisation: str) -> Path:
        return self.organisations / organisation

    def cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return run_cli([*args, "--config", str(self.config)], stdin=stdin, timeout=120)

    def ok(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        done = self.cli(*args, stdin=stdin)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    def chat(
        self, organisation: str, user: str, messages: Sequence[dict[str, str]]
    ) -> subprocess.CompletedProcess[str]:
        return self.ok(
            "chat",
            "--org",
            organisation,
            "--jsonl",
            "--user",
            user,
            "--lang",
            "en",
            "--log-level",
            "DEBUG",
            stdin=jsonl(*messages),
        )

    def audit(self) -> list[tuple[str, str]]:
        lines = (self.organisations / "audit.jsonl").read_text().splitlines()
        return [(json.loads(line)["action"], json.loads(line)["organisation"]) for line in lines]


def write_bureau(tmp_path: Path) -> Path:
    config = tmp_path / "bureau.toml"
    config.write_text(
        '[bot]\ndata_dir = "data"\nlog_level = "DEBUG"\n'
        "[limits]\nburst_messages = 10000\n"
        "[report]\nmin_count = 1\n"
        '[bureau]\nenabled = true\nname = "Bureau Vertrouwd"\n'
        '[web]\npublic_url = "https://praat.bureau.example"\n'
    )
    return config


@pytest.fixture
def bureau(tmp_path: Path) -> Bureau:
    made = Bureau(tmp_path, write_bureau(tmp_path))
    made.ok("org", "add", "acme", "--name", "Acme BV")
    made.ok("org", "add", "beta", "--name", "Beta NV", "--host", "praat.beta.example")
    return made


def case_of(output: str) -> str:
    refs = set(CASE_REF.findall(output))
    assert len(refs) == 1, refs
    return refs.pop()


def this_year() -> str:
    return str(datetime.now().year)


def next_february() -> str:
    return f"{datetime.now().year + 1}-02-01"


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# --- the bureau admin's commands ---------------------------------------------------


def test_org_add_names_the_folder_code_and_web_address_and_each_action_is_audited(
    tmp_path: Path,
):
    bureau = Bureau(tmp_path, write_bureau(tmp_path))
    added = bureau.ok("org", "add", "acme", "--name", " Acme BV ").stdout
    folder = bureau.folder("acme")
    assert f"its folder:       {folder}" in added
    code = re.search(r"its code:\s+([A-Z2-9]{6})", added)
    assert code, added
    path = re.search(r"https://praat\.bureau\.example/([A-Za-z0-9_-]{22,})/", added)
    assert path, added  # an unguessable path on the bureau's address
    assert sorted(p.name for p in folder.iterdir()) == [
        "data",
        "organisation.toml",
        "secret.key",
        "texts",
    ]
    assert (folder / "secret.key").stat().st_mode & 0o077 == 0
    hosted = bureau.ok("org", "add", "beta", "--name", "Beta NV", "--host", "Praat.Beta.example")
    assert "its web chat:     https://praat.beta.example" in hosted.stdout

    listed = bureau.ok("org", "list").stdout.splitlines()
    assert listed[0].startswith(f"acme  active, not served now  code {code.group(1)}")
    assert listed[0].endswith(f"web /{path.group(1)}/  Acme BV")
    assert listed[1].startswith("beta  active") and "web praat.beta.example  Beta NV" in listed[1]

    assert "Suspended acme" in bureau.ok("org", "suspend", "acme").stdout
    assert bureau.ok("org", "list").stdout.startswith("acme  suspended")
    inbox = bureau.cli("inbox", "--org", "acme")  # its data stays, readable by the admin
    assert inbox.returncode == 0, inbox.stderr
    assert "Resumed acme" in bureau.ok("org", "resume", "acme").stdout
    assert bureau.ok("org", "list").stdout.startswith("acme  active")

    removed = bureau.ok("org", "remove", "beta", "--yes").stdout
    assert "Removed beta" in removed
    assert not bureau.folder("beta").exists()
    assert [line.split()[0] for line in bureau.ok("org", "list").stdout.splitlines()] == ["acme"]
    assert bureau.audit() == [
        ("added", "acme"),
        ("added", "beta"),
        ("suspended", "acme"),
        ("resumed", "acme"),
        ("removed", "beta"),
    ]


def test_org_add_without_the_bureau_s_public_address_says_where_its_web_chat_will_be(
    tmp_path: Path,
):
    config = tmp_path / "bureau.toml"
    config.write_text('[bot]\ndata_dir = "data"\n[bureau]\nenabled = true\n')
    bureau = Bureau(tmp_path, config)
    hosted = bureau.ok("org", "add", "acme", "--name", "Acme BV", "--host", "praat.acme.nl")
    assert "its web chat:     praat.acme.nl, through the proxy" in hosted.stdout
    pathed = bureau.ok("org", "add", "beta", "--name", "Beta NV").stdout
    assert re.search(r"its web chat: +/[A-Za-z0-9_-]{22,}/ on the bureau's address", pathed)


def test_org_remove_without_yes_and_without_a_terminal_is_refused_and_removes_nothing(
    bureau: Bureau,
):
    before = files_of(bureau.folder("acme"))
    refused = bureau.cli("org", "remove", "acme")
    assert refused.returncode == 2
    assert "add --yes to erase it" in one_error_line(refused)
    assert files_of(bureau.folder("acme")) == before
    assert ("removed", "acme") not in bureau.audit()


def remove_at_a_terminal(bureau: Bureau, organisation: str, typed: bytes) -> tuple[str, int]:
    """`vertrouwd org remove` in a pseudo-terminal: what it shows, and its exit code.
    Ctrl-C and Ctrl-D are pressed again when the first is not taken (a key pressed in
    the very moment the prompt appears can be missed by the line editor, as a person
    pressing it would see and do); the program is never waited for without a limit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERTROUWD_")}
    pid, fd = pty.fork()
    if pid == 0:  # the child: become the program, as from a shell
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.chdir(ROOT)
        args = ["-m", "bot", "org", "remove", organisation, "--config", str(bureau.config)]
        os.execve(sys.executable, [sys.executable, *args], env)
    screen = b""
    deadline = time.monotonic() + 60

    def read(seconds: float) -> bytes | None:
        """Output within ``seconds`` (b"" once the program has ended), else None."""
        ready = select.select([fd], [], [], max(0.0, min(seconds, deadline - time.monotonic())))
        if not ready[0]:
            return None
        try:
            return os.read(fd, 65536)
        except OSError:  # the program has ended
            return b""

    ended = False
    try:
        while b"Type its id: " not in screen:
            chunk = read(deadline - time.monotonic())
            assert chunk, f"no question in time: {screen!r}"
            screen += chunk
        os.write(fd, typed)
        while time.monotonic() < deadline:
            chunk = read(10)
            if chunk is None:
                if typed in (b"\x03", b"\x04"):
                    os.write(fd, typed)  # pressed again
                continue
            if not chunk:
                ended = True
                break
            screen += chunk
        assert ended, f"still running: {screen!r}"
    finally:
        if not ended:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return screen.decode(errors="replace"), os.waitstatus_to_exitcode(status)


def test_org_remove_at_a_terminal_asks_for_the_organisation_s_id(bureau: Bureau):
    for typed in (b"beta\n", b"\x04", b"\x03"):  # another id, Ctrl-D, Ctrl-C
        screen, code = remove_at_a_terminal(bureau, "acme", typed)
        assert "Nothing was removed." in screen and "Traceback" not in screen, screen
        assert code == 1
        assert bureau.folder("acme").is_dir() and bureau.folder("beta").is_dir()
    screen, code = remove_at_a_terminal(bureau, "acme", b"acme\n")
    assert code == 0 and "Removed acme" in screen, screen
    assert not bureau.folder("acme").exists()


def test_org_remove_is_refused_while_a_running_bot_serves_the_organisation(bureau: Bureau):
    bureau.chat("acme", "robin", [{"text": "hello"}])  # its data folder exists
    key = bureau.folder("acme") / "secret.key"
    before = key.read_bytes()
    fd = os.open(bureau.folder("acme") / "data" / "run.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as `vertrouwd run` holds it
        assert "served now" in bureau.ok("org", "list").stdout.splitlines()[0]
        refused = bureau.cli("org", "remove", "acme", "--yes")
    finally:
        os.close(fd)
    assert refused.returncode == 2
    assert "org suspend acme" in one_error_line(refused)
    assert files_of(bureau.folder("acme"))[str(key)] == key.read_bytes() == before
    assert ("removed", "acme") not in bureau.audit()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("Acme",), "'Acme' is not a usable id"),
        (("acme bv",), "'acme bv' is not a usable id"),
        ((".adding-x",), "'.adding-x' is not a usable id"),
        (("../x",), "'../x' is not a usable id"),
        (("a" * 41,), "is not a usable id"),
        (("acme",), "organisation 'acme' exists already"),
        (("gamma", "--host", "praat.beta.example"), "served at praat.beta.example already"),
        (("gamma", "--host", "PRAAT.BETA.EXAMPLE"), "served at praat.beta.example already"),
        (("gamma", "--name", "  "), "--name must not be empty"),
    ],
)
def test_org_add_refuses_an_unusable_id_a_duplicate_or_a_duplicate_host_in_one_line(
    bureau: Bureau, args: tuple[str, ...], said: str
):
    before = sorted(p.name for p in bureau.organisations.iterdir())
    command = ["org", "add", args[0]]
    command += list(args[1:]) if "--name" in args else ["--name", "Gamma", *args[1:]]
    refused = bureau.cli(*command)
    assert refused.returncode == 2
    assert said in one_error_line(refused)
    assert sorted(p.name for p in bureau.organisations.iterdir()) == before
    assert [action for action, _ in bureau.audit()] == ["added", "added"]


def test_a_broken_organisation_file_is_named_in_one_line_and_the_others_still_list(
    bureau: Bureau,
):
    file = bureau.folder("beta") / "organisation.toml"
    good = file.read_text()
    for broken, said, listed_unreadable in (
        (good + "[org\n", "cannot be read", True),
        (
            good.replace('status = "active"', 'status = "paused"'),
            "org.status: must be one of",
            True,
        ),
        (re.sub(r'code = "\w+"', 'code = "abc"', good), "org.code: must be 6 to 12 capitals", True),
        (good.replace("[org]", "[other]"), "has no [org] table", True),
        (good + "[bot]\nlog_level = 'INFO'\n", "sets [bot], which belongs to the bureau", True),
        (good + "[retention]\ndraft_hours = -1\n", "retention.draft_hours: must be greater", False),
    ):
        file.write_text(broken)
        refused = bureau.cli("inbox", "--org", "beta")
        assert refused.returncode == 2, refused.stdout
        line = one_error_line(refused)
        assert line.startswith(f"vertrouwd: organisation beta: {file}"), line
        assert said in line, line
        listed = bureau.ok("org", "list").stdout.splitlines()
        assert listed[0].startswith("acme  active")
        if listed_unreadable:
            assert (
                listed[1].startswith("beta  UNREADABLE: organisation beta:") and said in listed[1]
            )
        assert bureau.cli("inbox", "--org", "acme").returncode == 0
    file.unlink()
    assert f"{file} is missing" in one_error_line(bureau.cli("report", "--org", "beta"))
    assert bureau.ok("org", "list").stdout.splitlines()[1].startswith("beta  UNREADABLE")
    file.write_text("[org\n")
    # Its code and host name cannot be known, so none is given out until it is fixed.
    adding = bureau.cli("org", "add", "gamma", "--name", "Gamma BV")
    assert adding.returncode == 2 and str(file) in one_error_line(adding)
    assert not bureau.folder("gamma").exists()
    removed = bureau.ok("org", "remove", "beta", "--yes").stdout  # broken, still removable
    assert "its file could not be read to name them" in removed
    assert not bureau.folder("beta").exists()


def test_without_a_bureau_org_and_dash_dash_org_are_refused_in_one_line(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text('[bot]\ndata_dir = "data"\n')
    for command in (["org", "add", "acme", "--name", "Acme"], ["org", "list"]):
        refused = run_cli([*command, "--config", str(config)])
        assert refused.returncode == 2
        assert "set [bureau] enabled = true" in one_error_line(refused)
    for command in (["inbox"], ["chat", "--jsonl"], ["report", "--year", "2026"]):
        refused = run_cli([*command, "--org", "acme", "--config", str(config)], stdin="")
        assert refused.returncode == 2
        assert "this config serves one organisation" in one_error_line(refused)
    assert not (tmp_path / "data").exists()


def test_an_organisations_folder_that_is_a_file_is_named_with_its_setting(tmp_path: Path):
    config = tmp_path / "bureau.toml"
    config.write_text(
        '[bot]\ndata_dir = "data"\n[bureau]\nenabled = true\norganisations_dir = "x"\n'
    )
    (tmp_path / "x").write_text("")
    for command in (["org", "add", "acme", "--name", "Acme"], ["org", "list"]):
        refused = run_cli([*command, "--config", str(config)])
        assert refused.returncode == 2
        assert f"bureau.organisations_dir: {tmp_path / 'x'} is a file" in one_error_line(refused)


def test_run_with_org_and_an_unknown_org_are_refused(bureau: Bureau):
    run = bureau.cli("run", "--org", "acme")
    assert run.returncode == 2
    assert "`vertrouwd run` serves every organisation" in one_error_line(run)
    for unknown in ("gamma", "../acme", ".", "audit.jsonl"):
        refused = bureau.cli("inbox", "--org", unknown)
        assert refused.returncode == 2
        assert f"no organisation {unknown!r}" in one_error_line(refused)


def test_a_bureau_s_config_alone_names_no_organisation_for_a_command_about_one(
    bureau: Bureau,
):
    for command in (
        ["chat", "--jsonl"],
        ["inbox"],
        ["write", "ACDE-FGHJ", "!status"],
        ["report", "--year", "2026"],
        ["poster", "--out", "poster.svg"],
        ["matrix", "setup", "--adviser", "adviser-a"],
    ):
        refused = bureau.cli(*command)
        assert refused.returncode == 2
        assert f"{command[0]}: this config is a bureau's; name the organisation with --org ID" in (
            one_error_line(refused)
        )
    assert not (bureau.root / "data" / "vertrouwd.sqlite3").exists()
    init = run_cli(["init", "--org", "acme", "--config", str(bureau.root / "new.toml")])
    assert init.returncode == 2 and "`vertrouwd org add` adds an organisation" in init.stderr
    assert not (bureau.root / "new.toml").exists()


def test_each_organisation_s_poster_carries_its_own_name_and_address(bureau: Bureau):
    bureau.config.write_text(
        bureau.config.read_text().replace("[web]\n", "[web]\nenabled = true\n")
    )
    acme_path = re.search(
        r'web_path = "([^"]+)"', (bureau.folder("acme") / "organisation.toml").read_text()
    )
    assert acme_path
    posters = {}
    for organisation in ("acme", "beta"):
        out = bureau.root / f"{organisation}.svg"
        bureau.ok("poster", "--org", organisation, "--out", str(out))
        posters[organisation] = out.read_text()
    assert "Acme BV" in posters["acme"] and "Beta NV" not in posters["acme"]
    assert f"https://praat.bureau.example/{acme_path.group(1)}" in posters["acme"]
    assert "Beta NV" in posters["beta"] and "Acme BV" not in posters["beta"]
    assert "https://praat.beta.example" in posters["beta"]
    assert acme_path.group(1) not in posters["beta"]


# --- nothing crosses -------------------------------------------------------------------


def test_a_request_in_acme_shows_nowhere_in_beta(bureau: Bureau):
    sent = bureau.chat("acme", "robin", ACME_INTAKE)
    ref = case_of(sent.stdout)
    assert CANARY not in sent.stderr  # never in a log, not even acme's
    kim = bureau.chat("beta", "kim", INTAKE)  # beta has a request of its own
    beta_ref = case_of(kim.stdout)
    assert beta_ref != ref

    inbox_acme = bureau.ok("inbox", "--org", "acme").stdout
    assert CANARY in inbox_acme and ref in inbox_acme and beta_ref not in inbox_acme

    outputs = [kim]
    outputs.append(bureau.ok("inbox", "--org", "beta", "--log-level", "DEBUG"))
    outputs.append(bureau.ok("inbox", "--org", "beta", "--jsonl"))
    outputs.append(bureau.ok("write", beta_ref, "!status", "--org", "beta"))
    beta_report = bureau.ok(
        "report", "--org", "beta", "--year", this_year(), "--as-of", next_february(),
        "--lang", "en", "--format", "md", "--log-level", "DEBUG",
    )  # fmt: skip
    outputs.append(beta_report)
    acme_report = bureau.ok(
        "report", "--org", "acme", "--year", this_year(), "--as-of", next_february(),
        "--lang", "en", "--format", "md",
    )  # fmt: skip
    assert "Acme BV" in acme_report.stdout and "Beta NV" in beta_report.stdout
    assert "Acme" not in beta_report.stdout
    through_bot = re.compile(r"^\| Through the bot \| (\d+) \|", re.MULTILINE)
    assert through_bot.findall(acme_report.stdout)[:1] == ["1"]
    assert through_bot.findall(beta_report.stdout)[:1] == ["1"]  # kim's alone
    outputs.append(bureau.ok("backup", "--org", "beta", str(bureau.root / "beta-backup")))
    outputs.append(bureau.ok("doctor", "--org", "beta", "--log-level", "DEBUG"))
    outputs.append(bureau.ok("texts", "check", "--org", "beta"))
    outputs.append(bureau.chat("beta", "robin", [{"text": "/mydata"}]))  # the same user name
    for output in outputs:
        for seen in (CANARY, ref):
            assert seen not in output.stdout and seen not in output.stderr, output.args

    beta_files = files_of(bureau.folder("beta")) | files_of(bureau.root / "beta-backup")
    for name, content in beta_files.items():
        for seen in (CANARY, ref, "Acme"):
            assert seen.encode() not in content, (name, seen)
    acme_key = (bureau.folder("acme") / "secret.key").read_bytes()
    assert all(acme_key not in content for content in beta_files.values())


# --- backup, restore, keys, erasure, retention, per organisation -----------------------


def test_backup_and_restore_of_one_organisation_touch_nothing_of_the_other(bureau: Bureau):
    ref = case_of(bureau.chat("acme", "robin", ACME_INTAKE).stdout)
    bureau.chat("beta", "kim", INTAKE)
    backup = bureau.root / "acme-backup"
    made = bureau.ok("backup", "--org", "acme", str(backup)).stdout
    assert str(bureau.folder("acme") / "secret.key") in made
    assert "secret.key" not in snapshot(backup)
    bureau.chat("acme", "sam", [{"text": "hello"}])  # acme moved on since
    beta_before = snapshot(bureau.folder("beta"))

    fd = os.open(bureau.folder("acme") / "data" / "run.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as the bureau's `run` holds it
        busy = bureau.cli("restore", "--org", "acme", str(backup), "--force")
    finally:
        os.close(fd)
    assert busy.returncode == 2
    assert "`vertrouwd org suspend acme` first, and `org resume acme` after" in (
        one_error_line(busy)
    )
    restored = bureau.ok("restore", "--org", "acme", str(backup), "--force")
    assert str(bureau.folder("acme") / "data") in restored.stdout
    assert ref in bureau.ok("inbox", "--org", "acme").stdout
    assert snapshot(bureau.folder("beta")) == beta_before

    wrong = bureau.cli("restore", "--org", "beta", str(backup), "--force")
    assert wrong.returncode == 2
    assert "was not made with the key file in use" in one_error_line(wrong)
    assert snapshot(bureau.folder("beta")) == beta_before
    assert ref not in bureau.ok("inbox", "--org", "beta").stdout


def test_key_rotation_of_one_organisation_leaves_the_other_s_key_as_it_was(bureau: Bureau):
    acme_ref = case_of(bureau.chat("acme", "robin", ACME_INTAKE).stdout)
    beta_ref = case_of(bureau.chat("beta", "kim", INTAKE).stdout)
    acme_key = bureau.folder("acme") / "secret.key"
    beta_key = bureau.folder("beta") / "secret.key"
    acme_before, beta_before = acme_key.read_bytes(), beta_key.read_bytes()

    rotated = bureau.ok("keys", "rotate", "--org", "acme")
    assert "only version 2 is left" in rotated.stdout
    assert acme_key.read_bytes() != acme_before
    assert beta_key.read_bytes() == beta_before
    assert [p.name for p in bureau.folder("beta").iterdir() if "retired" in p.name] == []
    assert CANARY in bureau.ok("inbox", "--org", "acme").stdout
    assert beta_ref in bureau.ok("inbox", "--org", "beta").stdout
    assert acme_ref in bureau.chat("acme", "robin", [{"text": "/mydata"}]).stdout
    assert beta_ref in bureau.chat("beta", "kim", [{"text": "/mydata"}]).stdout


def test_delete_in_one_organisation_leaves_the_same_user_name_in_the_other(bureau: Bureau):
    acme_ref = case_of(bureau.chat("acme", "robin", ACME_INTAKE).stdout)
    beta_ref = case_of(bureau.chat("beta", "robin", INTAKE).stdout)
    bureau.chat("acme", "robin", [{"text": "/delete"}, {"choice": "yes"}])
    assert acme_ref not in bureau.chat("acme", "robin", [{"text": "/mydata"}]).stdout
    assert beta_ref in bureau.chat("beta", "robin", [{"text": "/mydata"}]).stdout


def test_retention_in_one_organisation_purges_its_drafts_only(bureau: Bureau):
    # acme keeps unsent answers for an hour; beta keeps the bureau's 72 hours.
    (bureau.folder("acme") / "organisation.toml").open("a").write("[retention]\ndraft_hours = 1\n")
    for organisation in ("acme", "beta"):
        bureau.chat(organisation, "robin", INTAKE[:5])  # up to the topic: a draft

    async def purge_acme_two_hours_later() -> None:
        config = load_config(bureau.config, environ={})
        acme = organisation_config(bureau.config, find_organisation(config, "acme"), environ={})
        async with open_runtime(acme, FakeClock(time.time() + 2 * 3600)) as runtime:
            assert runtime.retention is not None
            await runtime.retention.purge()

    asyncio.run(purge_acme_two_hours_later())
    topic = {"choice": "bullying"}
    assert DESCRIPTION_ASKED not in bureau.chat("acme", "robin", [topic]).stdout  # anew
    assert DESCRIPTION_ASKED in bureau.chat("beta", "robin", [topic]).stdout  # goes on


# --- removing an organisation ----------------------------------------------------------


def test_removing_acme_erases_its_folder_says_what_remains_and_beta_goes_on(bureau: Bureau):
    bureau.chat("acme", "robin", ACME_INTAKE)
    bureau.chat("beta", "kim", INTAKE[:5])  # beta's person is in the middle of a request
    beta_before = snapshot(bureau.folder("beta"))

    removed = bureau.ok("org", "remove", "acme", "--yes").stdout
    assert "Removed acme" in removed
    assert "What remains:" in removed and "backups made of it" in removed
    assert "nothing else: it had no Matrix rooms" in removed  # the local inbox
    assert "the line in the organisations' audit log" in removed
    assert not bureau.folder("acme").exists()
    leftovers = [p for p in bureau.root.rglob("*") if "acme" in p.name]
    assert leftovers == []
    for content in files_of(bureau.root).values():
        assert CANARY.encode() not in content
    assert snapshot(bureau.folder("beta")) == beta_before
    gone = bureau.cli("inbox", "--org", "acme")
    assert gone.returncode == 2 and "no organisation 'acme'" in one_error_line(gone)

    went_on = bureau.chat("beta", "kim", [{"choice": "bullying"}])
    assert DESCRIPTION_ASKED in went_on.stdout
    assert [line.split()[0] for line in bureau.ok("org", "list").stdout.splitlines()] == ["beta"]


def served_now(bureau: Bureau) -> dict[str, bool]:
    listed = bureau.ok("org", "list").stdout.splitlines()
    return {line.split()[0]: ", served now" in line for line in listed}


def until(condition: Callable[[], bool], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the running bot did not get there in time"


def test_the_running_bureau_lets_go_of_a_suspended_organisation_so_it_can_be_removed(
    bureau: Bureau,
):
    log = (bureau.root / "run.log").open("w")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERTROUWD_")}
    running = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--config", str(bureau.config)],
        stdout=log,
        stderr=log,
        cwd=ROOT,
        env=env,
    )
    try:
        until(lambda: served_now(bureau) == {"acme": True, "beta": True})
        refused = bureau.cli("org", "remove", "acme", "--yes")
        assert refused.returncode == 2
        assert "`vertrouwd org suspend acme` first" in one_error_line(refused)
        assert bureau.folder("acme").exists()

        bureau.ok("org", "suspend", "acme")
        until(lambda: served_now(bureau) == {"acme": False, "beta": True})
        bureau.ok("org", "remove", "acme", "--yes")
        assert not bureau.folder("acme").exists()
        bureau.ok("org", "add", "gamma", "--name", "Gamma BV")
        until(lambda: served_now(bureau) == {"beta": True, "gamma": True})
    finally:
        running.terminate()
        assert running.wait(timeout=60) == 0
        log.close()
    logged = (bureau.root / "run.log").read_text()
    assert "organisation acme no longer served" in logged
    assert "Traceback" not in logged


def test_removing_an_organisation_names_the_matrix_rooms_its_advisers_keep(tmp_path: Path):
    config = write_bureau(tmp_path)
    config.write_text(
        config.read_text()
        + '[handoff]\nsink = "matrix"\n[matrix]\nhomeserver = "http://127.0.0.1:9"\n'
        'user_id = "@bureau-bot:hs"\n'
        '[[advisers]]\nid = "kees"\nname = "Kees"\nmatrix_user_id = "@kees:hs"\n'
    )
    bureau = Bureau(tmp_path, config)
    bureau.ok("org", "add", "acme", "--name", "Acme BV")
    (bureau.folder("acme") / "organisation.toml").open("a").write(
        '[[advisers]]\nid = "anna"\nname = "Anna Jansen"\nmatrix_user_id = "@anna:hs"\n'
        'room_id = "!acme-anna:hs"\n'
    )
    removed = bureau.ok("org", "remove", "acme", "--yes").stdout
    assert "the advisers' own copies of its handoffs and threads in Matrix" in removed
    assert "    Anna Jansen: !acme-anna:hs" in removed
    assert not bureau.folder("acme").exists()


# --- texts ------------------------------------------------------------------------------


def test_texts_check_for_an_organisation_checks_its_edited_texts_and_names_a_broken_file(
    bureau: Bureau,
):
    texts = bureau.folder("acme") / "texts"
    clean = bureau.ok("texts", "check", "--org", "acme").stdout
    assert f"with the edited texts in {texts}" in clean
    (texts / "en.toml").write_text('[intake]\nway_out = "Back within {minutes}"\n')
    (texts / "nl.toml").write_text("[intake\n")
    broken = bureau.cli("texts", "check", "--org", "acme")
    assert broken.returncode == 1
    lines = broken.stderr.splitlines()
    assert any(
        line.startswith(f"{texts / 'en.toml'}: intake.way_out: placeholders differ")
        for line in lines
    ), lines
    assert any(line.startswith(f"{texts / 'nl.toml'}: not valid TOML") for line in lines), lines
    assert bureau.ok("texts", "check", "--org", "beta").returncode == 0  # beta's are its own
    chat = bureau.cli("chat", "--org", "acme", "--jsonl")
    assert chat.returncode == 2 and str(texts / "nl.toml") in one_error_line(chat)


def test_doctor_of_the_bureau_names_an_organisation_whose_settings_cannot_be_used(
    bureau: Bureau,
):
    healthy = bureau.cli("doctor")
    assert "organisations  2 active, 0 suspended" in healthy.stdout, healthy.stdout
    file = bureau.folder("beta") / "organisation.toml"
    # Its [org] table reads (org list shows it), but the bot could not serve it.
    file.write_text(file.read_text() + "[retention]\ndraft_hours = -1\n")
    said = bureau.cli("doctor")
    assert said.returncode == 1, said.stdout + said.stderr
    line = next(x for x in said.stdout.splitlines() if "organisations" in x)
    assert line.startswith("FAIL  organisations  1 active, 0 suspended"), line
    assert "organisation beta:" in line and "retention.draft_hours" in line, line
    assert "Traceback" not in said.stdout + said.stderr
