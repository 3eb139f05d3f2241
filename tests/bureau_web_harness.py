"""A bureau's web chat under test: `vertrouwd run` serving several organisations on one
port (some by their path, some by their host name), and a plain HTTP visitor."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import time
import tomllib
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, run_cli
from tests.web_harness import free_port


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def cookies(self) -> list[str]:
        return [v for k, v in self.headers if k.lower() == "set-cookie"]

    def without_date(self) -> tuple[int, list[tuple[str, str]], bytes]:
        return self.status, [(k, v) for k, v in self.headers if k.lower() != "date"], self.body


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, html
    return match.group(1)


def without_csrf(html: str) -> str:
    return re.sub(r'name="csrf" value="[0-9a-f]+"', 'name="csrf" value=""', html)


class BureauServer:
    """`vertrouwd run` for a bureau: its config, its organisations (`org add`), its log."""

    def __init__(self, tmp_path: Path, exit_url: str) -> None:
        self.tmp_path = tmp_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = tmp_path / "bureau.toml"
        self.config.write_text(
            '[bot]\ndata_dir = "data"\nlog_level = "DEBUG"\ntexts_reload_seconds = 0.5\n'
            "[limits]\nburst_messages = 10000\n"
            '[bureau]\nenabled = true\nname = "Bureau Vertrouwd"\n'
            f"[web]\nenabled = true\nport = {self.port}\n"
            f'public_url = "{self.url}"\nexit_url = "{exit_url}"\n'
            'trusted_proxies = ["127.0.0.1"]\n'
        )
        self.organisations_dir = tmp_path / "data" / "organisations"
        self.log_path = tmp_path / "run.log"
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli([*args, "--config", str(self.config)])

    def add(self, organisation_id: str, name: str, host: str = "") -> str:
        """Adds an organisation; its web path."""
        result = self.cli("org", "add", organisation_id, "--name", name, "--host", host)
        assert result.returncode == 0, result.stderr
        return self.entry(organisation_id)["web_path"]

    def entry(self, organisation_id: str) -> dict[str, Any]:
        text = (self.organisations_dir / organisation_id / "organisation.toml").read_text()
        org: dict[str, Any] = tomllib.loads(text)["org"]
        return org

    def folder(self, organisation_id: str) -> Path:
        return self.organisations_dir / organisation_id

    def start(self, ready: Callable[[], bool]) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VERTROUWD_")}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--config", str(self.config)],
                stdout=log,
                stderr=log,
                cwd=ROOT,
                env=env,
            )
        self.wait_until(ready, 30, "the bureau's web chat did not start")

    def wait_until(self, condition: Callable[[], bool], seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if condition():
                    return
            except OSError:
                pass
            assert self.process is None or self.process.poll() is None, self.log()
            time.sleep(0.1)
        raise AssertionError(f"{what}: {self.log()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def inbox(self, organisation_id: str) -> list[dict[str, Any]]:
        result = self.cli("inbox", "--jsonl", "--org", organisation_id)
        assert result.returncode == 0, result.stderr
        return [json.loads(line) for line in result.stdout.splitlines()]

    def write(self, organisation_id: str, case_ref: str, text: str) -> None:
        result = self.cli("write", "--org", organisation_id, case_ref, text)
        assert result.returncode == 0, result.stderr

    # -- HTTP ------------------------------------------------------------------------

    def ask(
        self,
        method: str,
        path: str,
        *,
        host: str | None = None,
        headers: dict[str, str] | None = None,
        body: str | None = None,
        connection: http.client.HTTPConnection | None = None,
    ) -> Answer:
        own = connection is None
        conn = connection or http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            sent = {"Accept-Language": "en", **(headers or {})}
            if host is not None:
                sent["Host"] = host
            if body is not None:
                sent["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            return Answer(response.status, list(response.headers.items()), response.read())
        finally:
            if own:
                conn.close()


@dataclass
class Visitor:
    """One browser at one organisation's pages (``root``: "/<web_path>/", or "/" on
    its ``host``), following the chat's forms by plain HTTP."""

    server: BureauServer
    root: str
    host: str | None = None
    cookie: str = ""
    csrf: str = ""
    pages: list[str] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return f"http://{self.host}" if self.host else self.server.url

    def _keep(self, answer: Answer) -> Answer:
        for value in answer.cookies():
            morsel = SimpleCookie(value)["vw"]
            self.cookie = morsel.value
        if b'name="csrf"' in answer.body:
            self.csrf = csrf_of(answer.text)
        if answer.status == 200:
            self.pages.append(answer.text)
        return answer

    def get(self, page: str = "") -> Answer:
        headers = {"Cookie": f"vw={self.cookie}"} if self.cookie else {}
        return self._keep(self.server.ask("GET", self.root + page, host=self.host, headers=headers))

    def post(self, page: str, follow: bool = True, **fields: str) -> Answer:
        headers = {"Origin": self.origin, "Cookie": f"vw={self.cookie}"}
        body = urllib.parse.urlencode({"csrf": self.csrf, **fields})
        answer = self._keep(
            self.server.ask("POST", self.root + page, host=self.host, headers=headers, body=body)
        )
        if follow and answer.status == 303:
            location = answer.header("Location") or ""
            assert location.startswith(self.root), location
            return self.get(location.removeprefix(self.root))
        return answer
