"""A throwaway Synapse on 127.0.0.1 for the Matrix tests: SQLite, no federation.

``./dev test`` installs Synapse into ``.synapse-venv``; the tests start and stop it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SYNAPSE_PYTHON = Path(os.environ.get("SYNAPSE_VENV", ROOT / ".synapse-venv")) / "bin" / "python"
SERVER_NAME = "localhost"

_RELAXED = {"per_second": 1000, "burst_count": 1000}

_CONFIG = """\
server_name: "{server_name}"
pid_file: "{dir}/homeserver.pid"
public_baseurl: "http://127.0.0.1:{port}/"
listeners:
  - port: {port}
    bind_addresses: ["127.0.0.1"]
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: "{dir}/homeserver.db"
log_config: "{dir}/log.yaml"
media_store_path: "{dir}/media"
signing_key_path: "{dir}/signing.key"
registration_shared_secret: "{secret}"
macaroon_secret_key: "{macaroon}"
form_secret: "{form}"
report_stats: false
enable_registration: false
bcrypt_rounds: 4
trusted_key_servers: []
suppress_key_server_warning: true
federation_domain_whitelist: []
presence:
  enabled: false
url_preview_enabled: false
rc_message: {relaxed}
rc_registration: {relaxed}
rc_joins:
  local: {relaxed}
  remote: {relaxed}
rc_joins_per_room: {relaxed}
rc_invites:
  per_room: {relaxed}
  per_user: {relaxed}
  per_issuer: {relaxed}
rc_login:
  address: {relaxed}
  account: {relaxed}
  failed_attempts: {relaxed}
rc_admin_redaction: {relaxed}
rc_key_requests: {relaxed}
rc_room_creation: {relaxed}
rc_3pid_validation: {relaxed}
rc_delayed_event_mgmt: {relaxed}
"""

_LOG = """\
version: 1
formatters:
  plain:
    format: "%(asctime)s %(levelname)s %(name)s: %(message)s"
handlers:
  file:
    class: logging.FileHandler
    filename: "{dir}/homeserver.log"
    formatter: plain
root:
  level: WARNING
  handlers: [file]
disable_existing_loggers: false
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Synapse:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.secret = secrets.token_hex(16)
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)
        config = _CONFIG.format(
            server_name=SERVER_NAME,
            dir=folder,
            port=self.port,
            secret=self.secret,
            macaroon=secrets.token_hex(16),
            form=secrets.token_hex(16),
            relaxed=json.dumps(_RELAXED),
        )
        self.config_path = folder / "homeserver.yaml"
        self.config_path.write_text(config)
        (folder / "log.yaml").write_text(_LOG.format(dir=folder))
        subprocess.run(
            [
                str(SYNAPSE_PYTHON),
                "-m",
                "synapse.app.homeserver",
                "--config-path",
                str(self.config_path),
                "--generate-keys",
            ],
            check=True,
            capture_output=True,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        self.process = subprocess.Popen(
            [
                str(SYNAPSE_PYTHON),
                "-m",
                "synapse.app.homeserver",
                "--config-path",
                str(self.config_path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.folder / "homeserver.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"Synapse exited with {self.process.returncode}: {log}")
            try:
                self.request("GET", "/_matrix/client/versions")
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("Synapse did not answer in time")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def request(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"{}")

    def register(self, localpart: str, password: str, admin: bool = False) -> str:
        """Create a user through the shared-secret admin API; returns the user id."""
        nonce = self.request("GET", "/_synapse/admin/v1/register")["nonce"]
        mac_hex = hmac.new(
            self.secret.encode(),
            b"\x00".join(
                p.encode() for p in (nonce, localpart, password, "admin" if admin else "notadmin")
            ),
            hashlib.sha1,
        ).hexdigest()
        body = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac_hex,
        }
        try:
            return str(self.request("POST", "/_synapse/admin/v1/register", body)["user_id"])
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"register {localpart}: {error.read()!r}") from error

    def data_files(self) -> list[Path]:
        return [p for p in self.folder.rglob("*") if p.is_file()]
