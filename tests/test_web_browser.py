"""The web chat in real headless Chromium: intakes by clicking and by typing, the receipt
code, coming back, the adviser's answer live, erasure, no JavaScript, safety, privacy."""

# The fixtures come from the harness; as parameters they shadow the imported names.
# ruff: noqa: F811

from __future__ import annotations

import re
import time
from pathlib import Path

from axe_selenium_python import Axe
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from bot.flows.answers import CASE_REF_ALPHABET
from bot.texts.catalog import Texts
from tests.web_harness import (  # noqa: F401 - fixtures
    CANARY,
    INTAKE,
    SEND,
    VISITOR_ADDRESS,
    NeutralSite,
    WebServer,
    after,
    as_visitor,
    browser,
    chromium,
    come_back,
    do,
    fresh_start,
    history_urls,
    neutral,
    receipt_code,
    replies,
    requested_urls,
    server,
    start_conversation,
    type_answer,
    wait_for,
)

CODE = re.compile(rf"^([{CASE_REF_ALPHABET}]{{4}}-){{4}}[{CASE_REF_ALPHABET}]{{4}}$")


def axe_violations(driver: WebDriver) -> list[str]:
    axe = Axe(driver)
    axe.inject()
    result = axe.run()
    return [f"{v['id']}: {[n['target'] for n in v['nodes']]}" for v in result["violations"]]


def full_intake(driver: WebDriver, by_typing: bool = False, marker: str = "") -> str:
    start_conversation(driver)
    for step in INTAKE:
        if step == INTAKE[5] and marker:  # the description
            step = ("text", f"{step[1]} {marker}")
        do(driver, step, by_typing)
    do(driver, SEND, by_typing)
    code = receipt_code(driver)
    assert code is not None, replies(driver)
    return code


def progress_of(driver: WebDriver) -> str | None:
    """The "question 3 of 8" line above the question, if the page shows one."""
    title = driver.find_element(By.ID, "step-title")
    return None if "visually-hidden" in (title.get_attribute("class") or "") else title.text


def own_answer(driver: WebDriver) -> str | None:
    """The person's own last answer, as the bubble on the page shows it."""
    bubbles = driver.find_elements(By.CSS_SELECTOR, "#replies .msg.you p")
    return "\n".join(b.text for b in bubbles) if bubbles else None


def focused_id(driver: WebDriver) -> str | None:
    return driver.switch_to.active_element.get_attribute("id")


def fits_a_phone(driver: WebDriver) -> bool:
    """No sideways scrolling at 320 CSS pixels wide."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 320, "height": 640, "deviceScaleFactor": 1, "mobile": True},
    )
    try:
        overflow = "return document.documentElement.scrollWidth > window.innerWidth"
        return driver.execute_script(overflow) is False
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def confirm_code(driver: WebDriver) -> None:
    after(driver, driver.find_element(By.CSS_SELECTOR, 'button[value="noted"]').click)


def handoff_with(server: WebServer, marker: str) -> dict:
    [item] = [i for i in server.inbox() if marker in i["handoff"]["answers"]["description"]]
    return item


def files_containing(folder: Path, needle: str) -> list[str]:
    return [p.name for p in folder.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


def test_an_intake_by_clicking_shows_progress_bubbles_and_the_code_until_confirmed(
    server: WebServer, browser: WebDriver, en: Texts
):
    fresh_start(browser, server)
    as_visitor(browser)
    states = {"start": axe_violations(browser)}
    start_conversation(browser)
    states["a choice"] = axe_violations(browser)
    progress, answers = [], []
    for step in INTAKE:
        if step == ("text", INTAKE[5][1]):
            states["free text, with progress"] = axe_violations(browser)
        do(browser, step)
        progress.append(progress_of(browser))
        answers.append(own_answer(browser))
        # The page opens on the question: a keyboard or screen reader lands there,
        # and the next Tab reaches its first button.
        wait_for(browser, lambda d: focused_id(d) == "step-title")
    browser.switch_to.active_element.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("value") == "send"
    # Two advisers, contact by e-mail: 8 questions; the address and whether a message
    # there is safe belong to question 6.
    q = [en("web.progress", number=n, total=8) for n in range(1, 9)]
    more = en("web.progress_follow_up", number=6, total=8)
    assert progress == [None, *q[:6], more, more, q[6], q[7], None]
    # The person's answers, as they pressed or typed them.
    assert answers == [
        en("menu.intake"),
        en("consent.agree"),
        "Karim",
        en("danger.no"),
        en("topic.bullying"),
        INTAKE[5][1],
        INTAKE[6][1],
        en("contact.email"),
        INTAKE[8][1],
        en("contact_safe.message_ok"),
        en("reachable.evenings"),
        en("urgency.this_week"),
    ]
    assert replies(browser).startswith(en("review.intro"))
    # Before sending: closing the window now means starting again.
    assert en("web.later_note") in browser.find_element(By.ID, "later-slot").text
    states["review"] = axe_violations(browser)
    do(browser, SEND)
    code = receipt_code(browser)
    assert code is not None and CODE.match(code), code
    wait_for(browser, lambda d: focused_id(d) == "code-title")  # the code, first
    advice = en("web.code_advice", noted=en("web.code_noted"))
    assert advice.split("\n")[0] in browser.find_element(By.TAG_NAME, "main").text
    states["sent, with the code"] = axe_violations(browser)
    assert fits_a_phone(browser)
    # It stays: through a reload too, until the person says they have written it down.
    browser.refresh()
    assert receipt_code(browser) == code
    confirm_code(browser)
    assert receipt_code(browser) is None
    states["sent, code confirmed"] = axe_violations(browser)
    browser.refresh()
    assert receipt_code(browser) is None
    assert states == {state: [] for state in states}
    # The code is in no URL asked for, nor in the tab's history; nothing came from
    # another host.
    urls = requested_urls(browser) + history_urls(browser)
    assert not [u for u in urls if code in u or code.replace("-", "") in u]
    assert not [u for u in urls if not u.startswith((server.url + "/", "about:", "data:"))]

    [handoff] = [i for i in server.inbox() if i["handoff"]["answers"]["adviser"] == "adviser-b"]
    assert handoff["handoff"]["answers"]["topic"] == "bullying"
    # The code is the person's id: the store and the inbox hold only its keyed hash.
    for needle in (code, code.replace("-", "")):
        assert files_containing(server.data_dir, needle) == []
        assert needle not in server.log()


def test_an_intake_by_typing_every_answer(server: WebServer, browser: WebDriver):
    fresh_start(browser, server)
    code = full_intake(browser, by_typing=True, marker="typed-7")
    assert CODE.match(code)
    assert handoff_with(server, "typed-7")["handoff"]["answers"]["contact_method"] == "email"


def test_coming_back_on_another_device_shows_the_adviser_live_and_delete_works(
    server: WebServer, browser: WebDriver, en: Texts
):
    fresh_start(browser, server)
    code = full_intake(browser, marker="return-3")
    case_ref = handoff_with(server, "return-3")["case_ref"]

    # The page stays open; the adviser answers from the local inbox.
    before = time.monotonic()
    server.write(case_ref, "Thank you for writing, AdviserWords1")
    log = browser.find_element(By.ID, "line-log")
    wait_for(browser, lambda d: "AdviserWords1" in log.text, 8)
    live_seconds = time.monotonic() - before
    print(f"the adviser's answer from the local inbox showed after {live_seconds:.2f} s")
    assert live_seconds < 5, live_seconds
    # It came into the live region that was on the page all along (announced).
    assert log.get_attribute("role") == "log" and log.get_attribute("aria-live") == "polite"
    # The receipt code, not yet confirmed, is still on the page after the live answer.
    assert receipt_code(browser) == code
    # Its copy button puts exactly the code on the clipboard, and says so.
    browser.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": server.url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    browser.find_element(By.ID, "copy-code").click()
    status = browser.find_element(By.ID, "copy-status")
    wait_for(browser, lambda d: status.text == en("web.code_copied"))
    copied = browser.execute_async_script("navigator.clipboard.readText().then(arguments[0])")
    assert copied == code
    # Only the person's confirmation takes it away; a later live answer does not bring
    # it back.
    confirm_code(browser)
    assert receipt_code(browser) is None
    server.write(case_ref, "One more thing from me, AdviserWords3")
    wait_for(browser, lambda d: "AdviserWords3" in d.find_element(By.ID, "line-log").text, 8)
    assert receipt_code(browser) is None

    # A fresh browser profile, another device: the code opens the same conversation.
    other = chromium()
    try:
        other.get(server.url + "/")
        come_back(other, code.lower().replace("-", " "))
        main = other.find_element(By.TAG_NAME, "main").text
        assert "AdviserWords1" in main
        assert receipt_code(other) is None
        assert axe_violations(other) == []
        type_answer(other, "One more thing, PersonWords2")
        # Passed on; the menu on screen stays, with its buttons.
        assert en("line.queued") in replies(other)
        assert other.find_elements(By.CSS_SELECTOR, 'form.choices button[value="intake"]')
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            [item] = [i for i in server.inbox() if i["case_ref"] == case_ref]
            if any("PersonWords2" in post for post in item["thread"]):
                break
            time.sleep(0.3)
        else:
            raise AssertionError("the message did not reach the adviser's thread")
        type_answer(other, "/mydata")
        assert case_ref in replies(other)
        type_answer(other, "/stop")
        assert en("stop.confirm", case_ref=case_ref) in replies(other)  # asked first
        after(other, other.find_element(By.CSS_SELECTOR, 'form.choices button[value="yes"]').click)
        assert en("line.stopped", case_ref=case_ref) in replies(other)
        type_answer(other, "/delete")
        after(other, other.find_element(By.CSS_SELECTOR, 'form.choices button[value="yes"]').click)
        assert other.current_url == server.url + "/"
        assert en("delete.done_web") in other.find_element(By.TAG_NAME, "main").text
        # Gone: the code opens nothing now, and says so calmly.
        come_back(other, code)
        assert en("web.code_wrong") in other.find_element(By.ID, "code-problem").text
        assert axe_violations(other) == []
    finally:
        other.quit()


def test_the_same_intake_works_without_javascript(server: WebServer, neutral: NeutralSite):
    driver = chromium(javascript=False)
    try:
        driver.get(server.url + "/")
        start_conversation(driver)
        shown = driver.find_element(By.TAG_NAME, "main")
        do(driver, INTAKE[0])
        # No script took the form over: the press loaded a new page.
        try:
            shown.is_displayed()
            raise AssertionError("the page was changed in place, by a script")
        except StaleElementReferenceException:
            pass
        for step in INTAKE[1:]:
            do(driver, ("text", f"{step[1]} nojs-5") if step == INTAKE[5] else step)
            # Each new page opens on its question (autofocus, no script needed).
            assert focused_id(driver) == "step-title"
        do(driver, SEND)
        code = receipt_code(driver)
        assert code is not None
        assert CODE.match(code)
        assert focused_id(driver) == "code-title"
        # Without the script there is no copy button to press; the code stays until
        # the plain confirm button is pressed.
        assert not driver.find_element(By.ID, "copy-code").is_displayed()
        driver.refresh()
        assert receipt_code(driver) == code
        confirm_code(driver)
        assert receipt_code(driver) is None
        assert handoff_with(server, "nojs-5")["handoff"]["answers"]["topic"] == "bullying"
        # Without the script the quick exit is a plain link to the neutral site.
        driver.find_element(By.ID, "quick-exit").click()
        wait_for(driver, lambda d: d.current_url == neutral.url)
    finally:
        driver.quit()


def test_continue_later_before_the_request_is_sent(
    server: WebServer, browser: WebDriver, en: Texts
):
    """ "Continue later" before a code exists: the page gives the code the request will
    have; with it, another browser goes on where the person was."""
    fresh_start(browser, server)
    start_conversation(browser)
    for step in INTAKE[:4]:
        do(browser, step)
    # At the menu, with the request waiting, the offer stands too.
    type_answer(browser, "menu")
    assert en("web.later_note") in browser.find_element(By.ID, "later-slot").text
    do(browser, ("choice", "continue"))
    question = replies(browser)
    assert progress_of(browser) == en("web.progress", number=3, total=8)
    later = browser.find_element(By.ID, "later-slot")
    assert en("web.later_note") in later.text
    after(browser, later.find_element(By.CSS_SELECTOR, 'button[value="later"]').click)
    code = receipt_code(browser)
    assert code is not None and CODE.match(code)
    wait_for(browser, lambda d: focused_id(d) == "code-title")
    main = browser.find_element(By.TAG_NAME, "main").text
    assert en("web.later_title") in main
    assert en("web.later_advice", noted="", return_title="", draft_hours="72")[:40] in main
    assert axe_violations(browser) == []
    assert fits_a_phone(browser)
    # The question on screen is still the one to answer.
    assert replies(browser) == question
    confirm_code(browser)
    assert receipt_code(browser) is None
    assert browser.find_element(By.ID, "later-slot").text == ""  # they have their code now
    assert axe_violations(browser) == []

    # The window is closed; another browser comes back with the code.
    fresh_start(browser, server)
    come_back(browser, code)
    assert question.split("\n")[0] in replies(browser)
    assert progress_of(browser) == en("web.progress", number=3, total=8)
    for step in INTAKE[4:]:
        do(browser, ("text", f"{step[1]} later-8") if step == INTAKE[5] else step)
    do(browser, SEND)
    # Sent: the same code, now the one to read the adviser's answer with.
    assert receipt_code(browser) == code
    advice = en("web.code_advice", noted=en("web.code_noted"))
    assert advice.split("\n")[0] in browser.find_element(By.TAG_NAME, "main").text
    assert handoff_with(server, "later-8")["handoff"]["answers"]["topic"] == "bullying"


def test_progress_counts_the_path_of_one_adviser_and_chat(
    tmp_path: Path, neutral: NeutralSite, en: Texts
):
    """With one adviser there is no adviser question, and contact through this chat
    asks nothing more: 7 questions, numbered 1 to 7."""
    one = WebServer(tmp_path, neutral.url, web_extra='\n[[advisers]]\nid = "anna"\nname = "Anna"\n')
    one.start()
    driver = chromium()
    try:
        driver.get(one.url + "/")
        start_conversation(driver)
        path = [
            ("choice", "intake"),
            ("choice", "agree"),
            ("choice", "no"),
            ("choice", "bullying"),
            ("text", "My manager shouts at me"),
            ("choice", "anonymous"),
            ("choice", "chat"),
            ("choice", "mornings"),
            ("choice", "no_rush"),
        ]
        progress = []
        for step in path:
            do(driver, step)
            progress.append(progress_of(driver))
        q = [en("web.progress", number=n, total=7) for n in range(1, 8)]
        assert progress == [None, *q, None]
        assert replies(driver).startswith(en("review.intro"))
        assert axe_violations(driver) == []
    finally:
        driver.quit()
        one.stop()


def test_quick_exit_replaces_the_page_and_is_reached_by_keyboard(
    server: WebServer, browser: WebDriver, neutral: NeutralSite
):
    fresh_start(browser, server)
    start_conversation(browser)
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    browser.switch_to.active_element.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("id") == "quick-exit"
    entries = len(history_urls(browser))
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for(browser, lambda d: d.current_url == neutral.url)
    # location.replace: the neutral site took the chat's place in the tab's history.
    history = history_urls(browser)
    assert len(history) == entries
    assert history[-1] == neutral.url


def test_twenty_wrong_codes_are_slowed_down_and_answered_calmly(
    server: WebServer, browser: WebDriver, en: Texts
):
    fresh_start(browser, server)
    as_visitor(browser, "203.0.113.50")
    answers = []
    for attempt in range(20):
        come_back(browser, f"ACDE-FGHJ-KMNP-QRTU-{'VWXY' if attempt % 2 else 'ACDE'}")
        answers.append(browser.find_element(By.ID, "code-problem").text)
        if attempt == 0:
            assert axe_violations(browser) == []
    wrong, waits = en("web.code_wrong"), en("web.code_wait", seconds=0).split("0")[0]
    assert answers[:3] == [wrong] * 3
    assert all(a == wrong or a.startswith(waits) for a in answers)
    # Slowed: most tries were not even looked at.
    assert sum(a.startswith(waits) for a in answers) >= 11
    as_visitor(browser, VISITOR_ADDRESS)


def test_pages_fit_320_px_and_200_percent_text_with_a_visible_focus(
    server: WebServer, browser: WebDriver
):
    fresh_start(browser, server)
    start_conversation(browser)
    overflow = "return document.documentElement.scrollWidth > window.innerWidth"
    try:
        browser.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": 320, "height": 640, "deviceScaleFactor": 1, "mobile": True},
        )
        assert browser.execute_script(overflow) is False
        browser.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": 640, "height": 800, "deviceScaleFactor": 1, "mobile": False},
        )
        browser.execute_script("document.documentElement.style.fontSize = '200%'")
        assert browser.execute_script(overflow) is False
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    first = browser.find_element(By.CSS_SELECTOR, "form.choices button")
    # A keyboard focus (focus-visible) draws a solid outline.
    first.send_keys(Keys.SHIFT + Keys.TAB)
    browser.switch_to.active_element.send_keys(Keys.TAB)
    style = browser.execute_script(
        "var s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]"
    )
    assert style == ["solid", "3px"], style


def test_the_language_follows_the_browser_and_the_switch(server: WebServer, en: Texts, nl: Texts):
    driver = chromium(lang="nl-NL,nl")
    try:
        driver.get(server.url + "/")
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "nl"
        assert driver.find_element(By.TAG_NAME, "h1").text == nl("web.start_title")
        start_conversation(driver)
        after(driver, driver.find_element(By.CSS_SELECTOR, 'footer button[value="en"]').click)
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
        assert en("language.changed") in replies(driver)
    finally:
        driver.quit()


def test_a_restart_mid_intake_shows_the_same_question_on_reload(
    server: WebServer, browser: WebDriver
):
    fresh_start(browser, server)
    start_conversation(browser)
    for step in INTAKE[:5]:
        do(browser, step)
    question = replies(browser)
    server.kill()
    server.start()
    browser.refresh()
    assert replies(browser) == question
    do(browser, INTAKE[5])
    assert replies(browser) != question


def test_no_canary_and_no_address_in_logs_or_files(server: WebServer, browser: WebDriver):
    """After all of the above (the module's last test): what people typed is sealed."""
    log = server.log()
    assert CANARY not in log and CANARY.lower() not in log
    assert VISITOR_ADDRESS not in log
    assert files_containing(server.data_dir, CANARY) == []
    assert files_containing(server.data_dir, CANARY.lower()) == []
    assert files_containing(server.data_dir, VISITOR_ADDRESS) == []
    # The only address in the log is the one the server listens on.
    addresses = [
        line for line in log.splitlines() if "127.0.0.1" in line and "listening on" not in line
    ]
    assert addresses == []
