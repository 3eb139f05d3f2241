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

from bot.config import MATRIX_PASSWORD_ENV, TELEGRAM_TOKEN_ENV, Config
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
    if answers.matrix and not answers.matrix_password_file:
        answers.matrix_password_file = "matrix.password"
    return answers


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


def run_init(
    path: Path,
    args: argparse.Namespace,
    ask: Ask | None,
    secret: Secret | None,
    say: Callable[[str], None] = print,
) -> int:
    """The whole set-up; ``ask`` and ``secret`` are None in a non-interactive run."""
    doc = config_doc.load_document(path)
    answers = answers_from_flags(config_doc.defaults_from(doc), args)
    if ask is not None:
        answers = ask_everything(ask, answers)
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
    from bot.commands.doctor import doctor

    ok, report = doctor(config)
    say("")
    say(report)
    say(
        f"Ready: start the bot with `vertrouwd run --config {path}`."
        if ok
        else "Set-up done; fix what doctor lists above, then run `vertrouwd init` again."
    )
    return 0 if ok else 1
