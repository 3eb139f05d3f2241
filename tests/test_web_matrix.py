"""The web chat with the adviser in Matrix: an answer in the case's thread on the
throwaway Synapse appears in the employee's open page."""

from __future__ import annotations

import time
from pathlib import Path

from selenium.webdriver.common.by import By

from bot.texts.catalog import Texts
from tests.matrix_world import World
from tests.web_harness import (
    WebServer,
    chromium,
    do,
    receipt_code,
    start_conversation,
    wait_for,
)

# One adviser in this world: the intake does not ask which one.
STEPS = [
    ("choice", "intake"),
    ("choice", "agree"),
    ("choice", "no"),
    ("choice", "bullying"),
    ("text", "The team lead mocks my accent"),
    ("text", "Robin"),
    ("choice", "chat"),
    ("choice", "evenings"),
    ("choice", "this_week"),
    ("choice", "send"),
]


async def test_the_advisers_answer_in_the_matrix_thread_appears_in_the_open_page(
    world: World, tmp_path: Path, en: Texts
):
    web = WebServer(tmp_path, "http://127.0.0.1:9/", base=world.config_text())
    web.start()
    driver = chromium()
    try:
        driver.get(web.url + "/")
        start_conversation(driver)
        for step in STEPS:
            do(driver, step)
        assert receipt_code(driver) is not None
        room, adviser = world.room_id, world.adviser
        await adviser.until_seen(room, lambda a: len(a.text_events) >= 1)
        root = adviser.text_events[0].event_id
        sent = time.monotonic()
        await adviser.send_text(room, "Shall we talk on Tuesday, MatrixWords3?", thread_root=root)
        wait_for(driver, lambda d: "MatrixWords3" in d.find_element(By.TAG_NAME, "main").text, 15)
        seconds = time.monotonic() - sent
        print(f"the adviser's answer from the Matrix thread showed after {seconds:.2f} s")
        assert seconds < 5, seconds
        line = driver.find_element(By.CSS_SELECTOR, "section.line").text
        assert en("web.from_adviser") in line
    finally:
        driver.quit()
        web.stop()
