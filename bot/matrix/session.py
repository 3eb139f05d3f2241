"""The bot's Matrix session: nio with encryption, a stable device, a cross-signed identity."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from nio import AsyncClient, AsyncClientConfig, LoginResponse, SyncError, SyncResponse
from nio.crypto import ENCRYPTION_ENABLED

from bot.config import Config, MatrixSettings
from bot.keys.crypto import FieldCipher
from bot.keys.guard import keys_for_data
from bot.matrix.errors import (
    EncryptionUnavailable,
    HomeserverUnreachable,
    LoginFailed,
    MatrixHttpError,
)
from bot.matrix.http import NETWORK_ERRORS, MatrixHttp
from bot.matrix.identity import CrossSigningKeys, ensure_cross_signed
from bot.matrix.state import MatrixState
from bot.ops.logs import withhold_details

log = logging.getLogger(__name__)
withhold_details("nio")  # nio is imported above: all of its loggers exist now

STORE_DIR = "matrix-store"
# Room timelines up to this long per sync: what a person wrote while the bot was away.
_SYNC_FILTER = {"room": {"timeline": {"limit": 100}}}
SyncListener = Callable[[SyncResponse, bool], Awaitable[None]]
Closing = Callable[[], Awaitable[None]]


def require_encryption() -> None:
    if not ENCRYPTION_ENABLED:
        raise EncryptionUnavailable(
            "matrix-nio has no end-to-end encryption support; install matrix-nio[e2e]"
        )


class MatrixSession:
    def __init__(
        self,
        settings: MatrixSettings,
        data_dir: Path,
        cipher: FieldCipher,
        *,
        moves_sync_token: bool = True,
    ) -> None:
        require_encryption()
        self.settings = settings
        self._data_dir = data_dir
        self._cipher = cipher
        # False for one organisation's command on its bureau's account: the account's
        # syncs also bring the other organisations' rooms, which it does not handle.
        self._moves_sync_token = moves_sync_token
        self.state = MatrixState.load(data_dir, cipher)
        self.client: AsyncClient | None = None
        self.http: MatrixHttp | None = None
        self.identity_status = ""
        # Called with each sync's response before its token is saved; the flag says
        # whether the sync started without a token (old history, not new messages).
        self.listeners: list[SyncListener] = []
        # Run before the client closes (the handoff sink drops keys it shared ahead).
        self.closing: list[Closing] = []
        self._open_lock = asyncio.Lock()
        self._sync_lock = asyncio.Lock()

    @classmethod
    def of_account(cls, config: Config, cipher: FieldCipher | None = None) -> MatrixSession:
        """The session of ``config``'s Matrix account. An organisation of a bureau
        borrows the bureau's (its device and state, sealed with the bureau's key) and
        leaves the saved sync position to the bureau's own process. ``cipher``: the
        config's own, when the caller has it open already."""
        account = config.matrix_account
        assert account.matrix is not None, "only called with [matrix] configured"
        borrowed = account is not config
        if borrowed:
            account.bot.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if cipher is None or borrowed:
            cipher = FieldCipher(keys_for_data(account))
        return cls(account.matrix, account.bot.data_dir, cipher, moves_sync_token=not borrowed)

    @property
    def ready(self) -> bool:
        return self.client is not None and self.client.logged_in and bool(self.identity_status)

    def save_state(self) -> None:
        self.state.save(self._data_dir, self._cipher)

    def _new_client(self) -> AsyncClient:
        store = self._data_dir / STORE_DIR
        store.mkdir(mode=0o700, exist_ok=True)
        config = AsyncClientConfig(
            encryption_enabled=True,
            # The token is kept in our state instead, saved only once the channel has
            # handled what a sync brought (nio would save it before).
            store_sync_tokens=False,
            pickle_key=self.state.pickle_key,
            max_timeouts=1,
            max_limit_exceeded=3,
            request_timeout=self.settings.request_timeout_seconds,
            max_timeout_retry_wait_time=2,
        )
        return AsyncClient(
            self.settings.homeserver,
            self.settings.user_id,
            device_id=self.state.device_id or "",
            store_path=str(store),
            config=config,
        )

    async def open(self) -> None:
        """Log in (once; later starts restore the same device), sync, cross-sign."""
        async with self._open_lock:
            if not self.ready:
                await self._open()

    def open_read_only(self) -> None:
        """The stored login, for plain reads of the API only (room state, keys): no
        sync, no encryption store, nothing saved. For `doctor` while the bot runs."""
        if not (self.state.access_token and self.state.device_id):
            raise LoginFailed("no stored login")
        client = AsyncClient(
            self.settings.homeserver,
            self.settings.user_id,
            device_id=self.state.device_id,
            config=AsyncClientConfig(
                encryption_enabled=False,
                max_timeouts=1,
                request_timeout=self.settings.request_timeout_seconds,
            ),
        )
        client.access_token = self.state.access_token
        self.client, self.http = client, MatrixHttp(client)

    async def _open(self) -> None:
        if self.client is None:
            self.client = self._new_client()
            self.http = MatrixHttp(self.client)
        client, http = self.client, self.http
        assert http is not None
        if not client.logged_in:
            if self.state.device_id and not self._store_file().exists():
                # The device's keys are gone with its store: it can never decrypt or be
                # trusted again. Start a new device; the identity below signs it.
                log.warning(
                    "matrix store of device %s is missing; logging in as a new device",
                    self.state.device_id,
                )
                self.state.device_id = self.state.access_token = None
                client.device_id = ""
            if self.state.access_token and self.state.device_id:
                client.restore_login(
                    self.settings.user_id, self.state.device_id, self.state.access_token
                )
            else:
                await self._login(client)
        self._store_private()
        try:
            await self.sync()
        except MatrixHttpError as error:
            if error.errcode != "M_UNKNOWN_TOKEN":
                raise
            # The token was revoked: log in again on a fresh client, asking for the
            # same device id so that its keys and store stay valid.
            log.warning("matrix access token no longer valid; logging in again")
            self.state.access_token = None
            await client.close()
            self.client = client = self._new_client()
            self.http = http = MatrixHttp(client)
            await self._login(client)
            # Ending a session deletes the device's keys on the server; the same
            # device id comes back empty, so its keys are published again.
            client.olm.account.shared = False
            await self.sync()  # its key maintenance uploads the device keys where needed
        if self.state.cross_signing is None:
            self.state.cross_signing = CrossSigningKeys.generate().to_dict()
            self.save_state()  # before the upload, so a crash cannot orphan the identity
        keys = CrossSigningKeys.from_dict(self.state.cross_signing)
        assert client.olm is not None
        self.identity_status = await ensure_cross_signed(
            http,
            self.settings.user_id,
            client.device_id,
            keys,
            self.settings.password,
            dict(client.olm.account.identity_keys),
        )
        log.info("matrix session ready on device %s (%s)", client.device_id, self.identity_status)

    def _store_private(self) -> None:
        """nio creates its store with the process's umask: 0644 when the bot is not
        started by `vertrouwd` itself (or was, before it set one). Owner-only, always."""
        for path in (self._data_dir / STORE_DIR).iterdir():
            if path.is_file() and not path.is_symlink():
                path.chmod(0o600)

    def _store_file(self) -> Path:
        # matrix-nio names its store database after the user and the device.
        return self._data_dir / STORE_DIR / f"{self.settings.user_id}_{self.state.device_id}.db"

    async def _login(self, client: AsyncClient) -> None:
        try:
            response = await client.login(
                self.settings.password(), device_name=self.settings.device_name
            )
        except NETWORK_ERRORS as exc:
            raise HomeserverUnreachable(type(exc).__name__) from exc
        if not isinstance(response, LoginResponse):
            if getattr(response, "status_code", None) in ("M_FORBIDDEN", "M_USER_DEACTIVATED"):
                raise LoginFailed(str(response.status_code))
            raise HomeserverUnreachable(f"login: {getattr(response, 'status_code', '?')}")
        self.state.device_id = response.device_id
        self.state.access_token = response.access_token
        self.save_state()
        log.info("matrix login as device %s", response.device_id)

    async def sync(self, timeout_ms: int = 0) -> None:
        """One sync (waiting up to ``timeout_ms`` for news), handed to the listeners."""
        async with self._sync_lock:
            await self._sync(timeout_ms)

    async def _sync(self, timeout_ms: int) -> None:
        client = self.client
        assert client is not None
        since = client.next_batch or self.state.sync_token
        try:
            response = await client.sync(
                timeout=timeout_ms,
                since=since,
                full_state=not client.next_batch,
                sync_filter=_SYNC_FILTER,
            )
        except NETWORK_ERRORS as exc:
            raise HomeserverUnreachable(type(exc).__name__) from exc
        if isinstance(response, SyncError):
            if response.status_code == "M_UNKNOWN_TOKEN":
                raise MatrixHttpError(401, "M_UNKNOWN_TOKEN", {})
            raise HomeserverUnreachable(f"sync: {response.status_code}")
        try:
            await self._maintain_keys(client)
            for listener in self.listeners:
                await listener(response, since is None)
        except BaseException:
            # Not handled completely: the next sync fetches the same events again (the
            # engine skips messages it has handled already).
            client.next_batch = since
            raise
        # Only a session whose syncs a channel handles moves the saved token on: a
        # `doctor` or `matrix setup` run must not skip messages for the bot.
        moved = response.next_batch != self.state.sync_token
        if self.listeners and self._moves_sync_token and moved:
            self.state.sync_token = response.next_batch
            self.save_state()

    @staticmethod
    async def _maintain_keys(client: AsyncClient) -> None:
        """What nio's sync_forever does after a sync: keys up to date, key requests out."""
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        await client.send_to_device_messages()

    async def close(self) -> None:
        for closing in self.closing:
            await closing()
        if self.client is not None:
            await self.client.close()
            self.client = None
            self.http = None
            self.identity_status = ""
