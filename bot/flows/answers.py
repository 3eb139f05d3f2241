"""Reading what a person answered: choices typed as number or label, phone, e-mail."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from bot.messages import Choice

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: a reference read aloud or copied by hand stays right.
CASE_REF_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
PHONE_DEFAULT_REGION = "NL"
PHONE_MAX_CHARS = 40
EMAIL_MAX_CHARS = 254


def new_case_ref() -> str:
    chars = "".join(secrets.choice(CASE_REF_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def _normalise(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip(".)!").strip()


def match_choice(text: str, choices: Sequence[Choice]) -> str | None:
    """The id of the choice meant by ``text``: its number, or its label, any case."""
    wanted = _normalise(text)
    if not wanted:
        return None
    if wanted.isdigit():
        index = int(wanted) - 1
        return choices[index].id if 0 <= index < len(choices) else None
    for choice in choices:
        if _normalise(choice.label) == wanted:
            return choice.id
    return None


def parse_phone(text: str) -> str | None:
    """A valid phone number in international format, or None."""
    if len(text) > PHONE_MAX_CHARS:
        return None
    try:
        number = phonenumbers.parse(text, PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL))


def parse_email(text: str) -> str | None:
    """A syntactically valid, normalised e-mail address, or None (no network lookup)."""
    if len(text) > EMAIL_MAX_CHARS:
        return None
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return None
    return str(result.normalized)
