"""The web chat under test: `vertrouwd run` as a real process, Debian's Chromium driven by
Selenium, and a neutral site on another port for the quick exit."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import ROOT, write_config

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CANARY = "WombatCanary4417"
# A visitor's address as a trusted proxy reports it: it must show up nowhere.
VISITOR_ADDRESS = "198.51.100.23"

# The intake, one step per entry: ("choice", id) presses a button, ("text", t) types.
INTAKE: list[tuple[str, str]] = [
    ("choice", "intake"),
    ("choice", "agree"),
    ("choice", "adviser-b"),
    ("choice", "no"),
    ("choice", "bullying"),
    ("text", f"My manager {CANARY} shouts at me in meetings"),
    ("text", f"Robin {CANARY}"),
    ("choice", "email"),
    ("text", f"{CANARY.lower()}@example.nl"),
    ("choice", "message_ok"),
    ("choice", "evenings"),
    ("choice", "this_week"),
]
SEND = ("choice", "send")
LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="9"/></svg>'
ACCENT = "#7a1f5c"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NeutralSite:
    """Where the quick exit goes: a plain page on another port."""

    def __init__(self) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = b"<!doctype html><title>Weather</title><p>Sunny."
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/weather"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class WebServer:
    """`vertrouwd run` with the web chat on, stopped and started at will."""

    def __init__(
        self, tmp_path: Path, exit_url: str, base: str | None = None, web_extra: str = ""
    ) -> None:
        """``base``: a config to add the web chat to (else the embedded default's);
        ``web_extra``: more settings under [web]."""
        self.tmp_path = tmp_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        web = (
            "[web]\nenabled = true\n"
            f"port = {self.port}\n"
            f'exit_url = "{exit_url}"\n'
            'trusted_proxies = ["127.0.0.1"]\n' + web_extra
        )
        if base is None:
            self.config = write_config(tmp_path, web)
        else:
            self.config = tmp_path / "config.toml"
            self.config.write_text(base + web)
        self.data_dir = tmp_path / "data"
        self.log_path = tmp_path / "run.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VERTROUWD_")}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--config", str(self.config)],
                stdout=log,
                stderr=log,
                cwd=ROOT,
                env=env,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/", timeout=1).close()
                return
            except OSError:
                assert self.process.poll() is None, self.log()
                time.sleep(0.1)
        raise AssertionError("the web chat did not start: " + self.log())

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VERTROUWD_")}
        return subprocess.run(
            [sys.executable, "-m", "bot", *args, "--config", str(self.config)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=60,
            check=False,
        )

    def inbox(self) -> list[dict[str, Any]]:
        result = self.cli("inbox", "--jsonl")
        assert result.returncode == 0, result.stderr
        return [json.loads(line) for line in result.stdout.splitlines()]

    def write(self, case_ref: str, text: str) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "write", "--config", str(self.config), case_ref, text],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={k: v for k, v in os.environ.items() if not k.startswith("VERTROUWD_")},
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr


def chromium(javascript: bool = True, lang: str = "en-GB,en") -> WebDriver:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("Debian's chromium and chromium-driver are not installed (./dev test does)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1000,900",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        options.add_argument(argument)
    prefs: dict[str, Any] = {"intl.accept_languages": lang}
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    options.add_experimental_option("prefs", prefs)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    return driver


@pytest.fixture(scope="module")
def neutral() -> Iterator[NeutralSite]:
    site = NeutralSite()
    yield site
    site.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, neutral: NeutralSite) -> Iterator[WebServer]:
    folder = tmp_path_factory.mktemp("web")
    (folder / "logo.svg").write_text(LOGO)
    web = WebServer(
        folder, neutral.url, web_extra=f'logo_file = "logo.svg"\naccent_colour = "{ACCENT}"\n'
    )
    web.start()
    yield web
    web.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    driver = chromium()
    yield driver
    driver.quit()


def fresh_start(driver: WebDriver, server: WebServer) -> None:
    """Another person at the same browser: no cookie, the front page."""
    driver.get("about:blank")
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    driver.get_log("performance")  # forget the requests so far
    driver.get(server.url + "/")


def as_visitor(driver: WebDriver, address: str = VISITOR_ADDRESS) -> None:
    """Requests as if through the organisation's proxy, from ``address``."""
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"X-Forwarded-For": address}})


def wait_for(driver: WebDriver, condition: Any, timeout: float = 10) -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def page_version(driver: WebDriver) -> str:
    return str(driver.find_element(By.TAG_NAME, "body").get_attribute("data-version"))


def after(driver: WebDriver, action: Any) -> None:
    """Do ``action`` and wait for the page it leads to (a reload, or the script's swap)."""
    old = driver.find_element(By.TAG_NAME, "main")
    before = page_version(driver)
    action()

    def changed(d: WebDriver) -> bool:
        try:
            return page_version(d) != before or not old.is_displayed()
        except Exception:  # noqa: BLE001 - the old page is gone: the new one is there
            return True

    wait_for(driver, changed)
    wait_for(driver, lambda d: d.execute_script("return document.readyState") == "complete")


def press(driver: WebDriver, choice: str) -> None:
    button = driver.find_element(By.CSS_SELECTOR, f'form.choices button[value="{choice}"]')
    after(driver, button.click)


def type_answer(driver: WebDriver, text: str) -> None:
    box = driver.find_element(By.ID, "text")
    box.clear()
    box.send_keys(text)
    after(driver, driver.find_element(By.CSS_SELECTOR, "form.typed button").click)


def do(driver: WebDriver, step: tuple[str, str], by_typing: bool = False) -> None:
    kind, value = step
    if kind == "text":
        type_answer(driver, value)
    elif by_typing:
        label = driver.find_element(By.CSS_SELECTOR, f'form.choices button[value="{value}"]').text
        type_answer(driver, label)
    else:
        press(driver, value)


def start_conversation(driver: WebDriver) -> None:
    after(driver, driver.find_element(By.CSS_SELECTOR, 'form[action="/start"] button').click)


def replies(driver: WebDriver) -> str:
    """What the bot (or the adviser) said in the last step: not the person's own answer
    shown back, nor the step's heading."""
    said = driver.find_elements(By.CSS_SELECTOR, "#replies .msg:not(.you)")
    return "\n".join(str(element.text) for element in said)


def receipt_code(driver: WebDriver) -> str | None:
    try:
        return str(driver.find_element(By.ID, "receipt-code").text)
    except NoSuchElementException:
        return None


def come_back(driver: WebDriver, code: str) -> None:
    box = driver.find_element(By.ID, "code")
    box.clear()
    box.send_keys(code)
    after(driver, driver.find_element(By.CSS_SELECTOR, 'form[action="/return"] button').click)


def requested_urls(driver: WebDriver) -> list[str]:
    """Every URL the browser asked for since the last call (Chrome's network log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def history_urls(driver: WebDriver) -> list[str]:
    history = driver.execute_cdp_cmd("Page.getNavigationHistory", {})
    return [entry["url"] for entry in history["entries"]]


def button(driver: WebDriver, css: str) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, css)
