"""The web chat over plain HTTP: the headers on every response, the cookie, and calm
answers to requests that do not fit (wrong method, too large, stale or forged forms)."""

from __future__ import annotations

import http.client
import re
import socket
import time
import urllib.parse
from http.cookies import SimpleCookie

from axe_selenium_python import Axe
from selenium.webdriver.remote.webdriver import WebDriver

from bot.adapters.web.guard import CSP, PERMISSIONS_POLICY
from bot.texts.catalog import Texts
from tests.web_harness import (  # noqa: F401 - fixtures
    ACCENT,
    LOGO,
    WebServer,
    browser,
    neutral,
    server,
)

# ruff: noqa: F811

Response = tuple[int, dict[str, str], str, list[str]]


def request(
    server: WebServer,
    method: str,
    path: str,
    body: str | bytes | None = None,
    headers: dict[str, str] | None = None,
    *,
    origin: bool = True,
) -> Response:
    """One request, as a browser on our own page sends it (``origin``: with the
    Origin header a browser puts on a form it posts)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        all_headers = {"Accept-Language": "en"}
        if body is not None:
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        if origin and method == "POST":
            all_headers["Origin"] = server.url
        all_headers.update(headers or {})
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        text = response.read().decode(errors="replace")
        cookies = response.headers.get_all("Set-Cookie") or []
        return response.status, dict(response.headers.items()), text, cookies
    finally:
        connection.close()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, html
    return match.group(1)


def form(**fields: str) -> str:
    return urllib.parse.urlencode(fields)


def cookie_of(response: Response) -> str:
    [cookie] = response[3]
    return SimpleCookie(cookie)["vw"].value


def visitor(server: WebServer) -> tuple[dict[str, str], str]:
    """A new visitor on the start page: their cookie (as a header) and the forms' token."""
    response = request(server, "GET", "/")
    return {"Cookie": f"vw={cookie_of(response)}"}, csrf_of(response[2])


def started(server: WebServer, headers: dict[str, str] | None = None) -> tuple[str, Response]:
    """A new conversation: the session cookie and the start's response."""
    first, token = visitor(server)
    response = request(server, "POST", "/start", form(csrf=token), {**first, **(headers or {})})
    return cookie_of(response), response


def test_every_response_carries_the_security_headers(server: WebServer):
    cookie, start = started(server)
    with_session = {"Cookie": f"vw={cookie}"}
    responses = {
        "start": request(server, "GET", "/"),
        "started": start,
        "chat": request(server, "GET", "/chat", headers=with_session),
        "help": request(server, "GET", "/help"),
        "style": request(server, "GET", "/static/style.css"),
        "script": request(server, "GET", "/static/chat.js"),
        "theme": request(server, "GET", "/static/theme.css"),
        "missing": request(server, "GET", "/no/such/page"),
        "missing static": request(server, "GET", "/static/../../secret.key"),
        "wrong method": request(server, "PUT", "/chat", "x"),
        "stale form": request(
            server, "POST", "/chat", form(csrf="0" * 32, text="hi"), with_session
        ),
    }
    for name, (_status, headers, body, _) in responses.items():
        assert headers["Content-Security-Policy"] == CSP, name
        # Our own pages tell us where a form came from; another site is told nothing.
        assert headers["Referrer-Policy"] == "same-origin", name
        assert headers["X-Content-Type-Options"] == "nosniff", name
        assert headers["Permissions-Policy"] == PERMISSIONS_POLICY, name
        assert headers["Cache-Control"] == "no-store", name
        assert "Strict-Transport-Security" not in headers, name  # plain http here
        assert "aiohttp" not in headers.get("Server", ""), name
        assert "Traceback" not in body, name
    assert "'unsafe-inline'" not in CSP and "frame-ancestors 'none'" in CSP
    assert {n: r[0] for n, r in responses.items()} == {
        "start": 200,
        "started": 303,
        "chat": 200,
        "help": 200,
        "style": 200,
        "script": 200,
        "theme": 200,
        "missing": 404,
        "missing static": 404,
        "wrong method": 405,
        "stale form": 403,
    }


def test_the_one_cookie_is_strict_and_ends_with_the_browser(server: WebServer):
    _cookie, (_status, headers, _, [raw]) = started(server)
    assert headers["Location"] == "/chat"
    attributes = raw.lower()
    assert "httponly" in attributes and "samesite=strict" in attributes
    assert "expires" not in attributes and "max-age" not in attributes
    assert "secure" not in attributes  # plain http: the browser would drop a Secure cookie
    # Behind the organisation's https proxy: Secure, and HSTS.
    _, (_, headers, _, [raw]) = started(
        server, {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.7"}
    )
    assert "secure" in raw.lower()
    assert headers["Strict-Transport-Security"].startswith("max-age=")


def test_requests_that_do_not_fit_get_a_calm_page_and_change_nothing(server: WebServer, en: Texts):
    cookie, _ = started(server)
    with_session = {"Cookie": f"vw={cookie}"}
    _, _, page, _ = request(server, "GET", "/chat", headers=with_session)
    token = csrf_of(page)
    too_large = form(csrf=token, text="x" * 100_000)
    status, _, body, _ = request(server, "POST", "/chat", too_large, with_session)
    assert status == 413 and en("web.error_too_large") in body
    # A form from another site is refused, even with a valid token.
    status, _, body, _ = request(
        server,
        "POST",
        "/chat",
        form(csrf=token, text="hi"),
        {**with_session, "Sec-Fetch-Site": "cross-site"},
    )
    assert status == 403 and en("web.error_stale") in body
    # A forged or missing session: back to the start, nothing stepped.
    status, headers, _, _ = request(
        server, "POST", "/chat", form(csrf=token, text="hi"), {"Cookie": "vw=forged"}
    )
    assert status == 403
    status, headers, _, _ = request(server, "GET", "/chat", headers={"Cookie": "vw=forged"})
    assert status == 303 and headers["Location"] == "/"
    # The same conversation still waits at the same question.
    _, _, after, _ = request(server, "GET", "/chat", headers=with_session)
    assert re.findall(r'<div id="replies".*?</div>\s*</div>', after, re.S)[0].count("msg bot") >= 1
    assert 'value="intake"' in after


def test_an_error_page_has_no_accessibility_violations(server: WebServer, browser: WebDriver):
    browser.get(server.url + "/no/such/page")
    axe = Axe(browser)
    axe.inject()
    assert axe.run()["violations"] == []


def test_every_page_has_the_safety_links_the_privacy_line_and_the_branding(
    server: WebServer, en: Texts
):
    cookie, _ = started(server)
    pages = {
        "start": request(server, "GET", "/"),
        "chat": request(server, "GET", "/chat", headers={"Cookie": f"vw={cookie}"}),
        "help": request(server, "GET", "/help"),
        "error": request(server, "GET", "/nothing-here"),
    }
    privacy = en("web.privacy", draft_hours=72, closed_days=30)
    for name, (_, _, html, _) in pages.items():
        assert 'id="quick-exit"' in html and 'href="/help"' in html, name
        assert privacy in html, name
        assert "Stichting Voorbeeld" in html and 'src="/static/logo"' in html, name
    # The emergency routes, one tap away.
    help_page = pages["help"][2]
    assert "112" in help_page and "113" in help_page and "Veilig Thuis" in help_page
    assert "Huis voor Klokkenluiders" in help_page  # the advice desks, after the routes
    assert help_page.index("Veilig Thuis") < help_page.index("Huis voor Klokkenluiders")
    status, headers, logo, _ = request(server, "GET", "/static/logo")
    assert status == 200 and headers["Content-Type"].startswith("image/svg+xml") and logo == LOGO
    _, _, theme, _ = request(server, "GET", "/static/theme.css")
    assert f"--accent: {ACCENT}" in theme and "--on-accent: #ffffff" in theme


def test_the_footer_names_both_exceptions_and_the_real_keeping_times(
    server: WebServer, en: Texts, nl: Texts
):
    for lang, t in (("en", en), ("nl", nl)):
        _, _, html, _ = request(server, "GET", "/", headers={"Accept-Language": lang})
        footer = html[html.index("<footer") :]
        footer_text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", footer))
        assert t("web.privacy", draft_hours=72, closed_days=30) in footer_text
    _, _, html, _ = request(server, "GET", "/")
    footer = html[html.index("<footer") :]
    # Secrecy with its two exceptions, and how long each thing is kept.
    assert "except in serious danger or when the law or a court requires" in footer
    assert "an unfinished request for 72 hours" in footer
    assert "your messages with the adviser until 30 days after your case" in footer
    # No promise to delete everything, and no account to speak of.
    assert "/delete" not in footer and "everything" not in footer and "account" not in footer


def test_a_request_that_is_not_valid_http_leaves_no_address_in_the_log(server: WebServer):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(b"POST /chat HTTP/1.1\r\nHost: x\r\nContent-Length: many\r\n\r\n")
        answer = raw.recv(4096)
    assert answer.split(b" ")[1] == b"400"
    time.sleep(0.3)
    log = server.log()
    assert "Error handling request" in log
    assert [
        line for line in log.splitlines() if "127.0.0.1" in line and "listening" not in line
    ] == []


def test_a_visitor_starting_conversation_after_conversation_is_asked_to_wait(
    server: WebServer, en: Texts
):
    cookie, token = visitor(server)
    address = {**cookie, "X-Forwarded-For": "192.0.2.99"}
    statuses = [request(server, "POST", "/start", form(csrf=token), address)[0] for _ in range(32)]
    assert statuses[:30] == [303] * 30 and statuses[30:] == [429, 429]
    _, _, body, _ = request(server, "POST", "/start", form(csrf=token), address)
    assert en("web.start_wait") in body
    # Someone else is not held up.
    assert request(server, "POST", "/start", form(csrf=token), cookie)[0] == 303
