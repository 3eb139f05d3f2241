"""`vertrouwd init`: the answers, the config, the secrets, the rooms, then `doctor`.

Every step looks at what is already there first, so a second run changes nothing and
a run that was stopped picks up where it was. A key or secret file that exists is
never written again.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import tomlkit

from bot.channels import check_channels
from bot.config import MATRIX_PASSWORD_ENV, TELEGRAM_TOKEN_ENV, Config, ConfigError
from bot.first_run import config_doc
from bot.first_run.answers import AnswerError, Answers, Ask, ask_everything, parse_adviser
from bot.keys.guard import keys_for_data
from bot.runtime import prepare_data_dir

Secret = Callable[[str], str]  # asks for a secret without showing it


def answers_from_flags(defaults: Answers, args: argparse.Namespace) -> Answers:
    answers = defaults
    if args.organisation is not None:
        answers.organisation = args.organisation
    if args.language is not None:
        answers.language = args.language
    if args.adviser:
        answers.advisers = [parse_adviser(spec, answers.language) for spec in args.adviser]
    if args.telegram_token_file is not None:
        answers.telegram_token_file = args.telegram_token_file
    if args.telegram_api_url is not None:
        answers.telegram_api_url = args.telegram_api_url.rstrip("/")
    if args.matrix_homeserver is not None:
        answers.matrix_homeserver = args.matrix_homeserver.rstrip("/")
    if args.matrix_user is not None:
        answers.matrix_user = args.matrix_user
    if args.matrix_password_file is not None:
        answers.matrix_password_file = args.matrix_password_file
    if args.matrix_dm is not None:
        answers.matrix_dm = args.matrix_dm
    if args.admin is not None:
        answers.admins = list(args.admin)
    _running_from_flags(answers, args)
    if answers.matrix and not answers.matrix_password_file:
        answers.matrix_password_file = "matrix.password"
    return answers


def _running_from_flags(answers: Answers, args: argparse.Namespace) -> None:
    """The web chat, the ops listener and the log format."""
    if args.web is not None:
        answers.web = args.web
    if args.web_public_url is not None:
        answers.web_public_url = args.web_public_url.rstrip("/")
    if args.web_port is not None:
        answers.web_port = args.web_port
    if args.web_trusted_proxy is not None:
        answers.web_trusted_proxies = [a for a in args.web_trusted_proxy if a]
    if args.ops is not None:
        answers.ops = args.ops
    if args.ops_port is not None:
        answers.ops_port = args.ops_port
    if args.log_format is not None:
        answers.log_format = args.log_format


def _write_secret(path: Path, value: str) -> None:
    """Mode 0600 from the first byte; refuses to replace a file (O_EXCL)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value.strip() + "\n")


def _ensure_secret(
    path: Path | None, env_name: str, what: str, secret: Secret | None, say: Callable[[str], None]
) -> None:
    if path is None:
        return
    if path.exists():
        say(f"{what}: {path} exists, kept as it is")
        return
    value = os.environ.get(env_name, "")
    while not value.strip() and secret is not None:
        value = secret(f"{what} (not shown): ")
    if not value.strip():
        raise AnswerError(f"{what}: {path} does not exist; create it, or set {env_name}")
    _write_secret(path, value)
    say(f"{what}: written to {path} (readable only by you)")


def _ensure_secrets(config: Config, secret: Secret | None, say: Callable[[str], None]) -> None:
    if config.key_file.exists():
        say(f"key file: {config.key_file} exists, kept as it is")
    else:
        # Never a second key beside data sealed with another (bot/keys/guard.py).
        keys_for_data(config)
        say(
            f"key file: {config.key_file} created; every command uses this one (storage.key_file)."
            " Back it up: without it nothing can be read"
        )
    if config.telegram is not None:
        token_file = config.telegram.token_file
        _ensure_secret(token_file, TELEGRAM_TOKEN_ENV, "Telegram bot token", secret, say)
    if config.matrix is not None:
        password_file = config.matrix.password_file
        _ensure_secret(password_file, MATRIX_PASSWORD_ENV, "Matrix password", secret, say)


LOCAL_INBOX_TRUTH = (
    "handoffs: the local inbox in {data_dir}. Whoever runs this server with the key file"
    " can read every adviser's requests there (`vertrouwd inbox`), not only the advisers."
    " To keep them from the server's admins, give each adviser a private Matrix room"
    " instead: run `vertrouwd init` again with a Matrix homeserver (handoff.sink ="
    ' "matrix"). See the README, "Who can read the requests".'
)


def _answers(
    doc: tomlkit.TOMLDocument, path: Path, args: argparse.Namespace, ask: Ask | None
) -> Answers:
    """Flags over the answers so far; then the questions (interactive runs). A run
    stopped during the questions leaves what was answered for the next one."""
    answers = answers_from_flags(config_doc.defaults_from(doc), args)
    if ask is None:
        return answers
    try:
        return ask_everything(ask, answers)
    except (KeyboardInterrupt, EOFError):
        config_doc.apply(doc, answers)
        config_doc.keep_partial(doc, path)
        raise


def run_init(
    path: Path,
    args: argparse.Namespace,
    ask: Ask | None,
    secret: Secret | None,
    say: Callable[[str], None] = print,
) -> int:
    """The whole set-up; ``ask`` and ``secret`` are None in a non-interactive run."""
    resumed = config_doc.resumed_from(path)
    if resumed is not None:
        say(f"going on from the answers of the run that stopped ({resumed})")
    doc = config_doc.load_document(path)
    answers = _answers(doc, path, args, ask)
    config_doc.apply(doc, answers)
    config = config_doc.save(doc, path)
    say(f"config: {path} written")
    _ensure_secrets(config, secret, say)
    if config.matrix is not None:
        from bot.first_run.matrix_rooms import set_up_matrix  # loads matrix-nio

        prepare_data_dir(config.bot.data_dir)  # the Matrix store lives there

        def made(adviser_id: str | None, room_id: str) -> None:
            config_doc.set_room(doc, adviser_id, room_id)
            config_doc.save(doc, path)  # at once: a stopped run keeps every room it made

        asyncio.run(set_up_matrix(config, tuple(answers.admins), made, say))
        config = config_doc.save(doc, path)
    if config.handoff.sink == "local":
        say(LOCAL_INBOX_TRUTH.format(data_dir=config.bot.data_dir))
    from bot.commands.doctor import doctor

    ok, report = doctor(config)
    say("")
    say(report)
    try:
        check_channels(config)  # what `vertrouwd run` checks before it starts
    except ConfigError as exc:
        ok = False
        say(f"FAIL  vertrouwd run would refuse: {exc}")
    say(
        f"Ready: start the bot with `vertrouwd run --config {path}`."
        if ok
        else "Set-up done; fix what doctor lists above, then run `vertrouwd init` again."
    )
    return 0 if ok else 1
