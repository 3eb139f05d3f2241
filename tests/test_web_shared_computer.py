"""The web chat on a shared computer: "Leave quickly" ends the visit (Back and the bare
address show the start page, with JavaScript on and off), an idle session is let go with
a calm page, and a form from another site cannot put a browser into someone else's
conversation."""

# The fixtures come from the harness; as parameters they shadow the imported names.
# ruff: noqa: F811

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from bot.texts.catalog import Texts
from tests.test_web_browser import axe_violations
from tests.test_web_http import cookie_of, csrf_of, form, request, started, visitor
from tests.web_harness import (  # noqa: F401 - fixtures
    INTAKE,
    SEND,
    NeutralSite,
    WebServer,
    browser,
    chromium,
    do,
    fresh_start,
    history_urls,
    neutral,
    server,
    start_conversation,
    type_answer,
    wait_for,
)

SHARED = "SharedCanary5521"


def told_something(driver: WebDriver) -> None:
    """A person starts, answers up to the description and types something private."""
    start_conversation(driver)
    for step in INTAKE[:5]:
        do(driver, step)
    type_answer(driver, f"{SHARED} my manager touched me")
    assert SHARED in driver.page_source


def on_start_page(driver: WebDriver, server: WebServer, en: Texts) -> bool:
    return bool(
        driver.current_url.rstrip("/") == server.url
        and driver.find_elements(By.CSS_SELECTOR, 'form[action="/start"]')
        and driver.find_element(By.TAG_NAME, "h1").text == en("web.start_title")
    )


def shows_nothing_with(server: WebServer, cookie: str) -> None:
    """Plain requests with the cookie the browser had before leaving."""
    old = {"Cookie": f"vw={cookie}"}
    status, headers, _, _ = request(server, "GET", "/chat", headers=old)
    assert status == 303 and headers["Location"] == "/"
    for path in ("/", "/help", "/events"):
        _, _, body, _ = request(server, "GET", path, headers=old)
        assert SHARED not in body, path
    _, _, start, _ = request(server, "GET", "/", headers=old)
    assert 'action="/start"' in start


def leave(driver: WebDriver, server: WebServer, neutral: NeutralSite) -> str:
    """Press "Leave quickly"; the cookie the browser had before. What the browser holds
    after it (nothing, or a new visitor's cookie) opens nothing either."""
    cookie = driver.get_cookie("vw")
    assert cookie is not None
    driver.find_element(By.ID, "quick-exit").click()
    wait_for(driver, lambda d: d.current_url == neutral.url)
    now = driver.get_cookie("vw")
    if now is not None:
        assert now["value"] != cookie["value"]
        shows_nothing_with(server, str(now["value"]))
    return str(cookie["value"])


def test_back_after_leaving_shows_the_start_page_with_javascript(
    server: WebServer, browser: WebDriver, neutral: NeutralSite, en: Texts
):
    fresh_start(browser, server)
    told_something(browser)
    old = leave(browser, server, neutral)
    browser.back()
    wait_for(browser, lambda d: on_start_page(d, server, en))
    assert SHARED not in browser.page_source
    assert axe_violations(browser) == []
    # The bare address, and the conversation's own address: the start page.
    for path in ("/", "/chat"):
        browser.get(server.url + path)
        assert on_start_page(browser, server, en), path
        assert SHARED not in browser.page_source
    shows_nothing_with(server, old)


def test_back_after_leaving_shows_nothing_without_javascript(
    server: WebServer, neutral: NeutralSite, en: Texts
):
    driver = chromium(javascript=False)
    try:
        driver.get(server.url + "/")
        told_something(driver)
        old = leave(driver, server, neutral)
        # Every page of the visit in the tab's history: Back through all of them.
        visited = [u for u in history_urls(driver) if u.startswith(server.url)]
        assert len(visited) >= 5
        for _ in visited:
            driver.back()
            wait_for(driver, lambda d: d.current_url.startswith(server.url))
            wait_for(driver, lambda d: d.execute_script("return document.readyState") == "complete")
            assert SHARED not in driver.page_source
            assert not driver.find_elements(By.ID, "replies")
        driver.get(server.url + "/")
        assert on_start_page(driver, server, en)
        shows_nothing_with(server, old)
    finally:
        driver.quit()


def test_leaving_ends_the_session_on_the_server(server: WebServer):
    cookie, _ = started(server)
    with_session = {"Cookie": f"vw={cookie}"}
    assert request(server, "GET", "/chat", headers=with_session)[0] == 200
    status, headers, _, cookies = request(server, "GET", "/leave", headers=with_session)
    assert status == 303 and headers["Location"].endswith("/weather")
    assert headers["Clear-Site-Data"] == '"cache"'
    [gone] = cookies
    assert gone.startswith("vw=") and "max-age=0" in gone.lower()
    # A copy of the old cookie opens nothing any more: coming back needs the code.
    status, headers, _, _ = request(server, "GET", "/chat", headers=with_session)
    assert status == 303 and headers["Location"] == "/"
    assert request(server, "GET", "/events", headers=with_session)[0] == 403
    # Its forms are out of date, and nothing is taken from them.
    token = csrf_of(request(server, "GET", "/", headers=with_session)[2])
    status, _, body, _ = request(
        server, "POST", "/chat", form(csrf=token, text="still me?"), with_session
    )
    assert status == 403 and "still me?" not in body


# -- idle sessions ----------------------------------------------------------------------

IDLE_SECONDS = 4


@pytest.fixture(scope="module")
def idle_server(
    tmp_path_factory: pytest.TempPathFactory, neutral: NeutralSite
) -> Iterator[WebServer]:
    web = WebServer(
        tmp_path_factory.mktemp("idle"),
        neutral.url,
        web_extra=f"idle_minutes = {IDLE_SECONDS / 60}\n",
    )
    web.start()
    yield web
    web.stop()


def idle_notice(driver: WebDriver) -> str:
    notices = driver.find_elements(By.CSS_SELECTOR, ".notice[role=status]")
    return str(notices[0].text) if notices else ""


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_an_open_page_left_alone_goes_to_a_calm_page_that_says_how_to_come_back(
    idle_server: WebServer, javascript: bool, en: Texts
):
    driver = chromium(javascript=javascript)
    try:
        driver.get(idle_server.url + "/")
        told_something(driver)
        expected = en("web.idle_ended", minutes=f"{IDLE_SECONDS / 60:g}").split("\n")[0]
        # Nobody touches the page: it goes by itself (the script's timer, or without
        # JavaScript the page's refresh).
        wait_for(driver, lambda d: expected in idle_notice(d), timeout=30)
        assert on_start_page(driver, idle_server, en)
        assert SHARED not in driver.page_source
        assert driver.find_element(By.ID, "code").is_displayed()  # the way back
        if javascript:  # axe runs as a script: the page is the same without
            assert axe_violations(driver) == []
        # Said once: a reload shows the plain start page.
        driver.refresh()
        assert idle_notice(driver) == ""
    finally:
        driver.quit()


def test_an_idle_session_opens_nothing_and_what_is_typed_then_is_not_taken(
    idle_server: WebServer, en: Texts
):
    cookie, _ = started(idle_server)
    with_session = {"Cookie": f"vw={cookie}"}
    _, _, page, _ = request(idle_server, "GET", "/chat", headers=with_session)
    token = csrf_of(page)
    # Each request the person makes keeps the session (it gets a new cookie) ...
    for _ in range(3):
        time.sleep(IDLE_SECONDS / 2)  # the person takes their time between steps
        response = request(idle_server, "GET", "/chat", headers=with_session)
        assert response[0] == 200
        with_session = {"Cookie": f"vw={cookie_of(response)}"}
    # ... until none comes for longer than the setting.
    deadline = time.monotonic() + 30
    while request(idle_server, "GET", "/help", headers=with_session)[2].count('href="/chat"'):
        assert time.monotonic() < deadline, "the session was not let go"
        time.sleep(0.5)
    status, headers, _, cookies = request(
        idle_server, "POST", "/chat", form(csrf=token, text="hello?"), with_session
    )
    assert status == 303 and headers["Location"] == "/"
    notice = en("web.idle_ended", minutes=f"{IDLE_SECONDS / 60:g}").split("\n")[0]
    _, _, start, _ = request(idle_server, "GET", "/", headers={"Cookie": cookies[0].split(";")[0]})
    assert notice in start


def test_live_updates_do_not_keep_an_unattended_page_open(idle_server: WebServer):
    """The adviser writing to a page nobody watches (the script fetches each new message
    with ?live=1) must not keep the visit alive on a shared computer."""
    cookie, _ = started(idle_server)
    with_session = {"Cookie": f"vw={cookie}"}
    deadline = time.monotonic() + 30
    while request(idle_server, "GET", "/help", headers=with_session)[2].count('href="/chat"'):
        assert time.monotonic() < deadline, "live updates kept the visit open"
        response = request(idle_server, "GET", "/chat?live=1", headers=with_session)
        renewed = [c for c in response[3] if c.startswith("vw=")]
        if renewed:  # a browser takes whatever cookie the page sends
            with_session = {"Cookie": renewed[0].split(";")[0]}
        time.sleep(0.5)


# -- forms from other sites (login CSRF) ------------------------------------------------


def test_a_form_is_taken_only_from_our_own_page_in_the_same_browser(server: WebServer):
    mine, my_token = visitor(server)
    other, other_token = visitor(server)
    start = form(csrf=my_token)
    # Another visitor's token (the attacker's own) is no good in this browser.
    assert request(server, "POST", "/start", form(csrf=other_token), mine)[0] == 403
    assert request(server, "POST", "/start", start)[0] == 403  # no cookie: no token
    # An old browser without Fetch Metadata: the Origin or Referer decides.
    foreign: list[dict[str, str]] = [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
        {"Origin": "null", "Referer": "https://evil.example/"},
        {},  # nothing at all: refused, a cross-site form in such a browser looks so
    ]
    for headers in foreign:
        status, _, _, cookies = request(
            server, "POST", "/start", start, {**mine, **headers}, origin=False
        )
        assert (status, cookies) == (403, []), headers
    # A current browser: cross-site is refused whatever else it says.
    headers = {"Sec-Fetch-Site": "cross-site", "Origin": server.url}
    assert request(server, "POST", "/start", start, {**mine, **headers}, origin=False)[0] == 403
    # Our own page, as different browsers say so.
    for headers in (
        {"Origin": server.url},
        {"Referer": server.url + "/"},
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "same-origin", "Origin": "null", "Referer": server.url + "/"},
    ):
        status, response_headers, _, _ = request(
            server, "POST", "/start", start, {**mine, **headers}, origin=False
        )
        assert (status, response_headers.get("Location")) == (303, "/chat"), headers
    assert other  # the other visitor was never let in
    # A proxy that passes on another Host than the address in the browser: the admin is
    # told what to set, once.
    behind_proxy = {"Sec-Fetch-Site": "same-origin", "Origin": "https://praat.example.nl"}
    for _ in range(2):
        status, *_ = request(server, "POST", "/start", start, {**mine, **behind_proxy})
        assert status == 403
    assert server.log().count("(set public_url)") == 1


def test_the_pages_tell_only_our_own_server_where_a_form_came_from(server: WebServer):
    _, headers, page, _ = request(server, "GET", "/")
    assert headers["Referrer-Policy"] == "same-origin"
    assert '<meta name="referrer" content="same-origin">' in page
    assert re.search(r'id="quick-exit"[^>]*rel="noreferrer"', page)


# -- what is shown as "messages with your adviser" --------------------------------------


class HttpVisitor:
    """A person in the web chat over plain HTTP, one form at a time."""

    def __init__(self, server: WebServer) -> None:
        self.server = server
        cookie, _ = started(server)
        self.headers = {"Cookie": f"vw={cookie}"}

    def page(self) -> str:
        return request(self.server, "GET", "/chat", headers=self.headers)[2]

    def do(self, step: tuple[str, str]) -> str:
        page = self.page()
        fields = {"csrf": csrf_of(page)}
        fields["m"] = re.findall(r'name="m" value="([0-9a-f]+)"', page)[0]
        kind, value = step
        if kind == "choice":
            assert f'value="{value}"' in page, (value, page)
            question = re.search(r'name="question" value="([^"]+)"', page)
            fields |= {"choice": value, **({"question": question.group(1)} if question else {})}
        else:
            fields["text"] = value
        assert request(self.server, "POST", "/chat", form(**fields), self.headers)[0] == 303
        return self.page()

    @staticmethod
    def line(page: str) -> str:
        """The part of the page under "Messages with your adviser"."""
        match = re.search(r'<ol class="messages">(.*?)</ol>', page, re.S)
        assert match, page
        return match.group(1)


def test_a_second_requests_answers_are_not_shown_as_messages_with_the_adviser(
    server: WebServer,
):
    person = HttpVisitor(server)
    for step in INTAKE:
        person.do(step)
    assert 'id="receipt-code"' in person.do(SEND)
    # A message to the adviser: passed on, and shown as one.
    page = person.do(("text", "A message for my adviser, RelayedWords8"))
    assert "RelayedWords8" in HttpVisitor.line(page)
    # A new, separate request: its answers go with that request, not to the line.
    page = person.do(("choice", "intake"))
    for kind, value in INTAKE[1:]:
        if kind == "choice" and f'value="{value}"' not in page:
            continue  # a question the second request does not ask again
        text = f"{value} SecondIntake9" if kind == "text" else value
        page = person.do((kind, text))
    assert "SecondIntake9" not in HttpVisitor.line(page)
    assert "SecondIntake9" not in HttpVisitor.line(person.page())
    assert "RelayedWords8" in HttpVisitor.line(page)
