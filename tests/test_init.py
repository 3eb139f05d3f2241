"""`vertrouwd init`: from an empty folder to a config, its secrets and rooms, then doctor.

Run as a separate process, with flags (--non-interactive) and through a pseudo-terminal
as a person would answer it; against the fake Telegram server and the throwaway Synapse.
"""

from __future__ import annotations

import asyncio
import grp
import os
import pty
import select
import signal
import socket
import stat
import sys
import time
import tomllib
import uuid
from pathlib import Path

from bot.config import load_config
from tests.conftest import ROOT, run_cli
from tests.fake_telegram import FakeTelegram
from tests.matrix_people import MatrixPerson
from tests.synapse_server import Synapse

EXAMPLE = ROOT / "config.example.toml"
ANNA = "name=Anna de Vries; profile=Interne vertrouwenspersoon; profile.en=Internal adviser"
ANNA_EXTRA = "; hours=ma-do 9:00-17:00; phone=+31 6 1234 5678; email=anna@example.nl"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERTROUWD_")}
    return env | extra


async def init(
    folder: Path, *flags: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """`vertrouwd init --non-interactive` as a process; exit code, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "init", "--non-interactive",
        "--config", str(folder / "config.toml"), *flags,
        cwd=ROOT, env=env or clean_env(), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return await process.wait(), out.decode(), err.decode()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def example_comments() -> list[str]:
    return [line for line in EXAMPLE.read_text().splitlines() if line.startswith("#")]


async def test_with_flags_it_writes_a_documented_config_and_its_secrets_once(
    tmp_path: Path, fake: FakeTelegram
):
    flags = (
        "--organisation", "Gemeente Voorbeeld", "--language", "nl",
        "--adviser", ANNA + ANNA_EXTRA, "--adviser", "name=Karim; profile=Extern",
        "--telegram-token-file", "telegram.token",
        "--telegram-api-url", f"http://127.0.0.1:{fake.port}",
    )  # fmt: skip
    code, out, err = await init(
        tmp_path, *flags, env=clean_env(VERTROUWD_TELEGRAM_TOKEN=fake.token)
    )
    assert code == 0, out + err
    assert "ok    telegram" in out and "Ready: start the bot" in out
    config_file = tmp_path / "config.toml"
    written = config_file.read_text()
    # Every comment of the documented example is still there.
    assert [c for c in example_comments() if c not in written] == []
    config = load_config(config_file, environ={})
    assert config.organisation.name == "Gemeente Voorbeeld"
    assert [(a.id, a.name) for a in config.advisers] == [
        ("anna-de-vries", "Anna de Vries"),
        ("karim", "Karim"),
    ]
    assert config.advisers[0].profile == {
        "nl": "Interne vertrouwenspersoon",
        "en": "Internal adviser",
    }
    assert config.telegram is not None and config.telegram.token() == fake.token
    # The adviser's hours as typed ("ma-do 9:00-17:00") and own contact are settings.
    anna = config.advisers[0]
    assert anna.hours.days == (0, 1, 2, 3)
    assert (anna.hours.start_minute, anna.hours.end_minute) == (9 * 60, 17 * 60)
    assert (anna.phone, anna.email) == ("+31 6 1234 5678", "anna@example.nl")
    token_file, key_file = tmp_path / "telegram.token", tmp_path / "data" / "secret.key"
    assert mode(token_file) == 0o600 and mode(key_file) == 0o600
    key = key_file.read_bytes()

    # Again: nothing changes, and a secret file that exists is never written again.
    token_file.write_text("kept by the admin\n")
    again = clean_env(VERTROUWD_TELEGRAM_TOKEN=fake.token)
    code, out, err = await init(tmp_path, *flags, env=again)
    assert code == 0, out + err
    assert config_file.read_text() == written
    assert token_file.read_text() == "kept by the admin\n" and key_file.read_bytes() == key
    assert "exists, kept as it is" in out
    # Without flags the answers so far stay as they are.
    code, out, err = await init(tmp_path, env=again)
    assert (code, config_file.read_text()) == (0, written), out + err


async def test_without_a_secret_it_says_which_and_writes_no_file(tmp_path: Path):
    code, _, err = await init(
        tmp_path, "--adviser", ANNA, "--telegram-token-file", "telegram.token"
    )
    assert code == 2
    assert "Telegram bot token: " in err and "VERTROUWD_TELEGRAM_TOKEN" in err
    assert "Traceback" not in err
    assert not (tmp_path / "telegram.token").exists()
    # What was decided so far is kept: the next run goes on from there.
    assert load_config(tmp_path / "config.toml", environ={}).advisers[0].name == "Anna de Vries"


def _rooms_of(synapse: Synapse, user_id: str, password: str) -> set[str]:
    token = synapse.request(
        "POST",
        "/_matrix/client/v3/login",
        {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user_id},
         "password": password},
    )["access_token"]  # fmt: skip
    return set(
        synapse.request("GET", "/_matrix/client/v3/joined_rooms", token=token)["joined_rooms"]
    )


async def test_against_synapse_it_makes_the_rooms_once_and_resumes_after_a_failure(
    synapse: Synapse, tmp_path: Path
):
    tag = uuid.uuid4().hex[:6]
    bot = synapse.register(f"vertrouwd{tag}", "bot-pw")
    anna = synapse.register(f"anna{tag}", "anna-pw")
    bram = synapse.register(f"bram{tag}", "bram-pw")
    admin = synapse.register(f"beheer{tag}", "admin-pw")
    env = clean_env(VERTROUWD_MATRIX_PASSWORD="bot-pw")
    matrix = ("--matrix-homeserver", synapse.url, "--matrix-user", bot, "--admin", admin)
    elsewhere = f"@bram{tag}:unreachable.invalid"
    first = ("--adviser", f"{ANNA}; matrix={anna}", "--adviser", f"name=Bram; matrix={elsewhere}")
    # The second adviser is on a server nobody can reach: the homeserver cannot invite
    # them, and the run stops there, with anna's room made.
    code, out, err = await init(tmp_path, *matrix, *first, env=env)
    assert code == 2, out + err
    assert "created the room of anna-de-vries" in out and "Traceback" not in err
    config_file = tmp_path / "config.toml"
    made = tomllib.loads(config_file.read_text())
    anna_room = made["advisers"][0]["room_id"]
    assert anna_room.startswith("!") and made["advisers"][1]["room_id"] == ""
    assert mode(tmp_path / "matrix.password") == 0o600

    fixed = ("--adviser", f"{ANNA}; matrix={anna}", "--adviser", f"name=Bram; matrix={bram}")
    code, out, err = await init(tmp_path, *matrix, *fixed, env=env)
    made = tomllib.loads(config_file.read_text())
    assert made["advisers"][0]["room_id"] == anna_room  # kept, not made again
    bram_room = made["advisers"][1]["room_id"]
    admin_room = made["admin"]["room_id"]
    assert bram_room.startswith("!") and admin_room.startswith("!")
    assert made["handoff"]["sink"] == "matrix" and made["admin"]["users"] == [admin]
    # doctor ran: the bot is logged in and cross-signed, the rooms are as the guard
    # wants them; the advisers have no verified session yet.
    assert "ok    login" in out and "ok    cross-signing" in out and "ok    admin room" in out
    assert "ok    room of bram" in out and "FAIL  devices of bram" in out and code == 1

    # A run stopped after making a room but before noting it finds the room again.
    config_file.write_text(config_file.read_text().replace(bram_room, ""))
    code, out, err = await init(tmp_path, *matrix, *fixed, env=env)
    assert "found the room of bram" in out, out + err
    assert tomllib.loads(config_file.read_text())["advisers"][1]["room_id"] == bram_room
    assert _rooms_of(synapse, bot, "bot-pw") >= {anna_room, bram_room, admin_room}

    # Once the advisers are in, doctor is content, and a further run changes nothing.
    for user, password, room in ((anna, "anna-pw", anna_room), (bram, "bram-pw", bram_room)):
        person = await MatrixPerson(synapse, user, password, tmp_path / user[1:8]).login()
        await person.cross_sign()
        await person.join(room)
        await person.close()
    before = config_file.read_text()
    rooms_before = _rooms_of(synapse, bot, "bot-pw")
    code, out, err = await init(tmp_path, *matrix, *fixed, env=env)
    assert code == 0, out + err
    assert config_file.read_text() == before
    assert _rooms_of(synapse, bot, "bot-pw") == rooms_before
    assert "created" not in out


class Terminal:
    """A person at a terminal: `vertrouwd init` on a pseudo-terminal of its own."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: becomes the program
            # As from a shell: Ctrl-C interrupts it, whatever the test process blocks
            # or ignores (a signal mask and SIG_IGN both survive exec).
            signal.pthread_sigmask(signal.SIG_SETMASK, set())
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.chdir(ROOT)
            os.execve(sys.executable, [sys.executable, "-m", "bot", *args], env)
        self.seen = ""
        self.screen = ""  # everything the program showed
        self.status: int | None = None  # its wait status, once it ended

    def expect(self, text: str, timeout: float = 60) -> None:
        while text not in self.seen:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            assert ready, f"no {text!r} on the screen; it shows:\n{self.seen}"
            try:
                chunk = os.read(self.fd, 4096).decode(errors="replace")
            except OSError:  # the program ended
                chunk = ""
            assert chunk, f"ended before {text!r}; it showed:\n{self.seen}"
            self.seen += chunk
            self.screen += chunk

    def answer(self, prompt: str, line: str) -> None:
        self.expect(prompt)
        self.seen = self.seen[self.seen.index(prompt) + len(prompt) :]
        os.write(self.fd, line.encode() + b"\n")

    def interrupt(self) -> None:
        """Ctrl-C, pressed again as a person would when the first one is not taken
        at once (seen once on a loaded machine, with the program waiting at its prompt)."""
        os.write(self.fd, b"\x03")
        for _ in range(5):
            if self._ended_within(10):
                return
            os.kill(self.pid, signal.SIGINT)

    def _ended_within(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._reaped():
                return True
            time.sleep(0.1)
        return False

    def _reaped(self) -> bool:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            self.status = status if pid else None
        return self.status is not None

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        """Wait for the end (at most ``timeout`` seconds); the exit code and the screen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 1)
            if not ready:
                if self._reaped():
                    break
                continue
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.screen += chunk.decode(errors="replace")
        else:
            os.kill(self.pid, signal.SIGKILL)
            raise AssertionError(f"still running after {timeout} s; it shows:\n{self.screen}")
        if self.status is None:
            _, self.status = os.waitpid(self.pid, 0)
        status = self.status
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status), self.screen


def _interactive_run(
    args: list[str], env: dict[str, str], answers: list[tuple[str, str]]
) -> tuple[int, str]:
    terminal = Terminal(["init", *args], env)
    for prompt, line in answers:
        terminal.answer(prompt, line)
    return terminal.finish()


WEB_PROMPT = "Web chat: an anonymous chat in the browser, no app needed; switch it on"
OPS_PROMPT = (
    "Ops listener: /healthz, /readyz and /metrics on 127.0.0.1, for monitoring; switch it on"
)
LOG_PROMPT = "Log format: text (readable lines) or json (for a log collector) [text]: "


async def test_interactively_it_asks_each_answer_and_a_secret_without_showing_it(
    tmp_path: Path, fake: FakeTelegram, unused_tcp_port_factory
):
    config = tmp_path / "config.toml"
    env = clean_env()
    web_port, ops_port = unused_tcp_port_factory(), unused_tcp_port_factory()
    answers = [
        ("Organisation name [Stichting Voorbeeld]: ", "Stichting Zorg"),
        ("Language of the bot (nl, en) [nl]: ", "en"),
        ("Telegram: file for the bot token (empty: no Telegram): ", "telegram.token"),
        ("Matrix: homeserver URL (empty: no Matrix): ", ""),
        (f"{WEB_PROMPT} [y/N]: ", "y"),
        ("e.g. https://praat.example.nl (empty: not known yet): ", "https://praat.zorg.nl/"),
        ("the port it listens on, on 127.0.0.1, behind your proxy [8080]: ", str(web_port)),
        ("whose X-Forwarded-For is believed (empty: none) [127.0.0.1]: ", ""),
        (f"{OPS_PROMPT} [y/N]: ", "y"),
        ("Ops listener: its port [9464]: ", str(ops_port)),
        (LOG_PROMPT, "json"),
        ("How many advisers [2]: ", "1"),
        ("name, as employees see it [Sanne]: ", "Fatima"),
        # Another person than the example's adviser: no profile of someone else offered,
        # and Enter at the optional Dutch one leaves it out.
        ("short profile (en): ", "External adviser"),
        ("short profile (nl, optional): ", ""),
        ("working hours, e.g. Mon-Thu 9:00-17:00 [mon tue wed thu 09:00-17:00]: ", "Tue and Thu"),
        ("own phone number for employees (optional): ", ""),
        ("own e-mail address for employees (optional): ", "fatima@example.org"),
        ("Telegram bot token (not shown): ", fake.token),
    ]  # fmt: skip
    # A flag gives an answer that is not asked: here, where the (fake) Bot API is.
    args = ["--config", str(config), "--telegram-api-url", f"http://127.0.0.1:{fake.port}"]
    code, screen = await asyncio.to_thread(_interactive_run, args, env, answers)
    assert code == 0, screen
    assert "Stichting Zorg" in screen and "ok    telegram" in screen  # the answers echo ...
    assert "ok    web chat" in screen and "Ready: start the bot" in screen
    assert fake.token not in screen  # ... but the secret typed is never shown
    text = config.read_text()
    assert (tmp_path / "telegram.token").read_text().strip() == fake.token
    assert mode(tmp_path / "telegram.token") == 0o600
    loaded = load_config(config, environ={})
    assert loaded.organisation.name == "Stichting Zorg" and loaded.bot.default_language == "en"
    assert [(a.id, a.name) for a in loaded.advisers] == [("fatima", "Fatima")]
    assert loaded.advisers[0].profile == {"en": "External adviser"}
    assert loaded.advisers[0].hours.days == (1, 3)  # "Tue and Thu", the hours kept
    assert loaded.advisers[0].hours.start_minute == 9 * 60
    assert "fatima@example.org" in text
    assert [c for c in example_comments() if c not in text] == []
    web = loaded.web
    assert web is not None and (web.public_url, web.port) == ("https://praat.zorg.nl", web_port)
    assert web.trusted_proxies == ("127.0.0.1",)
    assert loaded.ops is not None and loaded.ops.port == ops_port and loaded.log.format == "json"

    # Again, pressing Enter everywhere: each answer so far is the default, nothing
    # changes, and no secret is asked for again.
    enter = [(prompt.split(" [")[0].split(": ")[0], "") for prompt, _ in answers[:-1]]
    code, screen = await asyncio.to_thread(_interactive_run, ["--config", str(config)], env, enter)
    assert code == 0, screen
    assert config.read_text() == text
    assert "Telegram bot token: " in screen and "exists, kept as it is" in screen
    assert "(not shown)" not in screen


async def test_a_stopped_run_goes_on_where_it_stopped(tmp_path: Path, unused_tcp_port: int):
    config = tmp_path / "config.toml"
    env = clean_env()
    # Interrupted (Ctrl-C) at the web chat's question: what was answered is kept.
    terminal = Terminal(["init", "--config", str(config)], env)
    terminal.answer("Organisation name [Stichting Voorbeeld]: ", "Stichting Halverwege")
    terminal.answer("Language of the bot (nl, en) [nl]: ", "en")
    terminal.answer("Telegram: file for the bot token (empty: no Telegram): ", "")
    terminal.answer("Matrix: homeserver URL (empty: no Matrix): ", "")
    terminal.expect(WEB_PROMPT)
    terminal.interrupt()
    code, screen = terminal.finish()
    assert code == 2 and "go on where it stopped" in screen and "Traceback" not in screen
    assert not config.exists()  # nothing half-checked is taken for the config

    # The next run offers those answers; here a refused answer stops it once more.
    flags = ("--web", "--web-port", str(unused_tcp_port), "--web-trusted-proxy", "not-an-ip")
    code, out, err = await init(tmp_path, *flags)
    assert code == 2 and "web.trusted_proxies:" in err, out + err
    assert "going on from the answers of the run that stopped" in out

    # Fixed, it goes on from there: the organisation and language of the first run.
    code, out, err = await init(tmp_path, "--web-trusted-proxy", "127.0.0.1")
    assert code == 0, out + err
    loaded = load_config(config, environ={})
    assert loaded.organisation.name == "Stichting Halverwege"
    assert loaded.bot.default_language == "en"
    assert loaded.web is not None and loaded.web.port == unused_tcp_port
    assert loaded.web.trusted_proxies == ("127.0.0.1",)
    assert not (tmp_path / ".config.toml.partial").exists()  # done: nothing left over


async def test_with_the_web_chat_on_run_starts_and_without_a_channel_init_says_so(
    tmp_path: Path, unused_tcp_port: int
):
    code, out, err = await init(tmp_path, "--adviser", ANNA)
    assert code == 1, out + err
    assert "FAIL  vertrouwd run would refuse: no channel is switched on" in out
    assert "Ready" not in out
    # The local inbox: whoever runs the server with the key file can read it, and the
    # adviser's Matrix room is the way to keep it from them.
    assert "can read every adviser's requests" in out and "private Matrix room" in out

    web = ("--web", "--web-public-url", "https://praat.example.nl", "--web-port")
    code, out, err = await init(tmp_path, *web, str(unused_tcp_port))
    assert code == 0, out + err
    assert "channels: web chat" in out and "ok    web chat" in out and "Ready: start" in out
    loaded = load_config(tmp_path / "config.toml", environ={})
    assert loaded.web is not None and loaded.web.public_url == "https://praat.example.nl"


async def test_running_init_again_keeps_the_configs_group_and_mode(tmp_path: Path):
    """Security #14: after the README's chgrp and chmod 640 the service must still read it."""
    code, out, err = await init(tmp_path, "--adviser", ANNA, "--web")
    config = tmp_path / "config.toml"
    group = grp.getgrnam("nogroup").gr_gid
    os.chown(config, -1, group)
    config.chmod(0o640)
    code, out, err = await init(tmp_path, "--organisation", "Stichting Anders")
    assert code in (0, 1), out + err
    assert "Stichting Anders" in config.read_text()  # it was written again ...
    assert mode(config) == 0o640 and config.stat().st_gid == group  # ... as it was


def test_doctor_names_a_web_port_another_program_holds(tmp_path: Path):
    config = tmp_path / "config.toml"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config.write_text(f'[bot]\ndata_dir = "data"\n[web]\nenabled = true\nport = {port}\n')
        done = run_cli(["doctor", "--config", str(config)])
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"FAIL  web chat       cannot listen on 127.0.0.1:{port}: another program" in done.stdout
    assert "fix: choose another web.port, or stop that program" in done.stdout
