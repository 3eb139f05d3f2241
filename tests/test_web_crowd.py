"""The web chat under a crowd: one visitor's hundreds of live streams, slow requests and
departures do not take it down for others; new conversations are limited over everyone
and an unanswered start is not kept; aiohttp's own answers carry our headers; `vertrouwd
run` takes the open files the system allows."""

# The fixtures come from the harness; as parameters they shadow the imported names.
# ruff: noqa: F811

from __future__ import annotations

import contextlib
import os
import re
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapters.web.guard import CSP
from bot.texts.catalog import Texts
from tests.conftest import ROOT
from tests.test_web_http import cookie_of, csrf_of, form, request, started, visitor
from tests.web_harness import (  # noqa: F401 - fixtures
    INTAKE,
    SEND,
    NeutralSite,
    WebServer,
    neutral,
    server,
)

REQUEST_SECONDS = 1.5
UNANSWERED_MINUTES = 0.03  # under 2 s
MAX_CONNECTIONS = 20


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory, neutral: NeutralSite) -> Iterator[WebServer]:
    """Short timeouts, a small cap on new conversations over everyone, and starts that
    are never answered dropped soon."""
    web = WebServer(
        tmp_path_factory.mktemp("tight"),
        neutral.url,
        web_extra=(
            f"request_seconds = {REQUEST_SECONDS}\n"
            f"unanswered_start_minutes = {UNANSWERED_MINUTES}\n"
            "starts_per_minute = 5\n"
            f"max_connections = {MAX_CONNECTIONS}\n"
        ),
    )
    web.start()
    yield web
    web.stop()


def raw(server: WebServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def status_of(connection: socket.socket) -> int:
    head = b""
    while b"\r\n" not in head:
        chunk = connection.recv(4096)
        if not chunk:
            return 0  # closed without an answer
        head += chunk
    return int(head.split(b" ")[1])


def closed_within(connection: socket.socket, seconds: float, trickle: bytes = b"") -> bool:
    """Whether the server closes the connection within ``seconds`` while we send one
    byte of ``trickle`` every 0.2 s (what the server answers before closing is read)."""
    connection.settimeout(0.2)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if connection.recv(65536) == b"":
                return True
        except TimeoutError:
            pass
        except ConnectionError:
            return True
        try:
            if trickle:
                connection.send(trickle[:1])
                trickle = trickle[1:] or trickle
        except (BrokenPipeError, ConnectionError):
            return True
    return False


def one_step(server: WebServer) -> None:
    """A new visitor: the start page, a new conversation, its first question answered."""
    cookie, token = visitor(server)
    response = request(server, "POST", "/start", form(csrf=token), cookie)
    assert response[0] == 303
    first_answer(server, cookie_of(response))


def first_answer(server: WebServer, cookie: str) -> None:
    """The person with ``cookie`` answers the first question (to start a request)."""
    with_session = {"Cookie": f"vw={cookie}"}
    page = request(server, "GET", "/chat", headers=with_session)[2]
    message_id = re.search(r'name="m" value="([0-9a-f]+)"', page)
    assert message_id and 'value="intake"' in page
    fields = form(csrf=csrf_of(page), m=message_id.group(1), choice="intake")
    assert request(server, "POST", "/chat", fields, with_session)[0] == 303
    assert 'value="agree"' in request(server, "GET", "/chat", headers=with_session)[2]


def test_hundreds_of_streams_from_one_session_are_refused_and_others_go_on(server: WebServer):
    errors_before = server.log().count("ERROR")
    cookie, _ = started(server)
    ask = f"GET /events HTTP/1.1\r\nHost: x\r\nCookie: vw={cookie}\r\n\r\n".encode()
    streams = []
    try:
        for _ in range(300):
            connection = raw(server)
            connection.sendall(ask)
            streams.append(connection)
        before = time.monotonic()
        one_step(server)
        seconds = time.monotonic() - before
        print(f"a new visitor's step took {seconds:.2f} s beside 300 streams of one session")
        assert seconds < 5
        statuses = [status_of(connection) for connection in streams]
        assert statuses.count(200) <= 4
        assert statuses.count(429) >= 296
        # The refused ones are closed at once: they hold no connection.
        refused = [c for c, status in zip(streams, statuses, strict=True) if status == 429]
        assert all(closed_within(c, 5) for c in refused[:20])
    finally:
        for connection in streams:
            connection.close()
    # The person's screen changes: the pages that were open are told, and are gone.
    first_answer(server, cookie)
    deadline = time.monotonic() + 30
    while "a live page went away" not in server.log():
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.1)
    assert server.log().count("ERROR") == errors_before  # departures are no error


def test_slow_headers_and_slow_bodies_are_closed(tight: WebServer):
    with raw(tight) as slow_headers:
        slow_headers.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        assert closed_within(slow_headers, REQUEST_SECONDS + 5, b"X-Slow: aaaaaaaaaaaaaaaaaa")
    cookie, token = visitor(tight)
    with raw(tight) as slow_body:
        slow_body.sendall(
            f"POST /start HTTP/1.1\r\nHost: 127.0.0.1:{tight.port}\r\n".encode()
            + b"Content-Type: application/x-www-form-urlencoded"
            + f"\r\nOrigin: {tight.url}\r\n{'Cookie: ' + cookie['Cookie']}".encode()
            + b"\r\nContent-Length: 60000\r\n\r\ncsrf="
            + token.encode()
        )
        slow_body.settimeout(REQUEST_SECONDS + 5)
        assert status_of(slow_body) == 408
        assert closed_within(slow_body, 5, b"aaaaaaaaaa")
    # Someone at a normal pace is served meanwhile and after.
    assert request(tight, "GET", "/")[0] == 200


def test_connections_over_the_cap_are_closed_at_once(tight: WebServer):
    crowd = [raw(tight) for _ in range(2 * MAX_CONNECTIONS)]
    try:
        for connection in crowd:
            with contextlib.suppress(ConnectionError):  # already closed by the server
                connection.sendall(b"GET /help HTTP/1.1\r\nHost: x\r\n\r\n")
        statuses = []
        for connection in crowd:
            try:
                statuses.append(status_of(connection))
            except ConnectionError:
                statuses.append(0)
        assert statuses.count(200) <= MAX_CONNECTIONS
        assert statuses.count(0) >= MAX_CONNECTIONS  # closed without an answer
    finally:
        for connection in crowd:
            connection.close()
    assert "too many connections (web.max_connections)" in tight.log()
    # Once they are gone, everyone is served again.
    deadline = time.monotonic() + 30
    while True:
        try:
            if request(tight, "GET", "/")[0] == 200:
                break
        except ConnectionError:
            pass
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_aiohttps_own_answers_carry_our_headers_and_no_version(server: WebServer):
    with raw(server) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\x01: <echo>\r\n\r\n")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.decode(errors="replace").partition("\r\n\r\n")
    lines = head.split("\r\n")
    assert lines[0].split(" ")[1] == "400"
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert headers["server"] == "vertrouwd"
    assert headers["content-security-policy"] == CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"
    assert "aiohttp" not in answer.decode(errors="replace").lower()
    assert "<echo>" not in body and "Bad Header" not in body


def test_a_start_never_answered_is_not_kept(tight: WebServer):
    silent, _ = started(tight)
    answered, _ = started(tight)
    with_answer = {"Cookie": f"vw={answered}"}
    page = request(tight, "GET", "/chat", headers=with_answer)[2]
    message_id = re.search(r'name="m" value="([0-9a-f]+)"', page)
    assert message_id
    fields = form(csrf=csrf_of(page), m=message_id.group(1), choice="intake")
    assert request(tight, "POST", "/chat", fields, with_answer)[0] == 303
    deadline = time.monotonic() + 30
    while request(tight, "GET", "/chat", headers={"Cookie": f"vw={silent}"})[0] == 200:
        assert time.monotonic() < deadline, "the unanswered start was kept"
        time.sleep(0.5)
    # The one that was answered is still there.
    assert request(tight, "GET", "/chat", headers=with_answer)[0] == 200
    assert "never answered dropped" in tight.log()


def test_new_conversations_are_limited_over_all_visitors_together(tight: WebServer, en: Texts):
    answers = []
    for i in range(14):  # each from its own address, each within its own limit
        cookie, token = visitor(tight)
        headers = {**cookie, "X-Forwarded-For": f"192.0.2.{100 + i}"}
        answers.append(request(tight, "POST", "/start", form(csrf=token), headers))
    statuses = [status for status, *_ in answers]
    # At most twice the minute's number at once (the test before started two).
    accepted = statuses.count(303)
    assert 6 <= accepted <= 10 and statuses == [303] * accepted + [503] * (14 - accepted)
    assert en("web.start_busy") in answers[-1][2]
    assert "web.start_busy" not in tight.log() and "new conversations come faster" in tight.log()


def limits_of(pid: int) -> tuple[int, int]:
    """The process's open-file limits (soft, hard), as the kernel has them."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no open-file limit in /proc")


@pytest.mark.parametrize(("soft", "hard"), [(256, 4096), (256, 256)])
def test_run_raises_its_open_file_limit_where_allowed_and_says_when_it_cannot(
    tmp_path: Path, neutral: NeutralSite, soft: int, hard: int
):
    web = WebServer(tmp_path, neutral.url)

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    env = {k: v for k, v in os.environ.items() if not k.startswith("VERTROUWD_")}
    with web.log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(web.config)],
            stdout=log,
            stderr=log,
            cwd=ROOT,
            env=env,
            preexec_fn=low_limit,
        )
    web.process = process
    try:
        deadline = time.monotonic() + 30
        while "web chat listening" not in web.log():
            assert process.poll() is None and time.monotonic() < deadline, web.log()
            time.sleep(0.1)
        assert limits_of(process.pid) == (hard, hard)  # as far as the hard limit allows
        lines = [line for line in web.log().splitlines() if "open-file limit" in line]
        assert f"the open-file limit is {hard}" in lines[0]  # said once
        if hard - 128 < 1000:  # web.max_connections is more than the files allow
            assert len(lines) == 2 and f"at most {hard - 128} connections" in lines[1]
        else:
            assert len(lines) == 1
        assert request(web, "GET", "/")[0] == 200
    finally:
        web.stop()
