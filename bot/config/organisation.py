"""The organisation, its advisers and the routes it points people to:
``[organisation]``, ``[[advisers]]``, ``[[emergency_routes]]``, ``[[referral_resources]]``."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from bot.config.base import Id, LanguageTexts, MaybeMatrixUserId, Section, Text

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Annotated[
    Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    Meta(description="one of mon, tue, wed, thu, fri, sat, sun"),
]
HoursSpan = Annotated[
    str,
    Meta(
        pattern=r"^([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)$",
        description='a span like "09:00-17:00"',
    ),
]


class OrganisationSettings(Section, frozen=True):
    name: str = "Stichting Voorbeeld"
    contact_within_working_days: Annotated[int, Meta(ge=1, le=60)] = 2
    # How many people work there, for the annual report's contacts per 100 employees;
    # 0: not said, and the report leaves that figure out.
    headcount: Annotated[int, Meta(ge=0, le=10_000_000)] = 0
    # An IANA time zone; checked against the zone database when the config loads.
    timezone: str = "Europe/Amsterdam"
    # "nl": the Dutch national holidays are no working days; "none": only weekends.
    public_holidays: Literal["nl", "none"] = "nl"
    days_off: frozenset[datetime.date] = frozenset()
    # How employees reach the data protection officer (or whoever handles privacy):
    # an e-mail address, phone number or web page; said behind the consent's "read more".
    privacy_contact: str = ""


@dataclass(frozen=True)
class WorkingHours:
    """When an adviser works: weekdays (0 is Monday) and a time span, in the
    organisation's time zone. Public holidays and days off come from the calendar."""

    days: tuple[int, ...] = (0, 1, 2, 3, 4)
    start_minute: int = 9 * 60
    end_minute: int = 17 * 60


def _minute(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


class Adviser(Section, frozen=True):
    id: Id
    name: Text
    language: str = "nl"
    # The languages the adviser speaks with employees (language codes); empty: only
    # `language`. Someone who chats in another language is told before choosing.
    languages: tuple[str, ...] = ()
    profile: dict[str, str] = msgspec.field(default_factory=dict)
    matrix_user_id: MaybeMatrixUserId = ""
    room_id: str = ""
    working_days: Annotated[frozenset[Weekday], Meta(min_length=1)] = frozenset(
        ("mon", "tue", "wed", "thu", "fri")
    )
    working_hours: HoursSpan = "09:00-17:00"
    # The adviser's own ways in, for people who want no bot; optional.
    phone: str = ""
    email: str = ""

    @property
    def speaks(self) -> tuple[str, ...]:
        """The languages the adviser speaks with employees."""
        return self.languages or (self.language,)

    @property
    def hours(self) -> WorkingHours:
        start, end = self.working_hours.split("-")
        return WorkingHours(
            tuple(sorted(WEEKDAYS.index(day) for day in self.working_days)),
            _minute(start),
            _minute(end),
        )


class Resource(Section, frozen=True):
    """An emergency route or a referral resource, as the admin describes it."""

    name: Text
    description: LanguageTexts  # per language code

    def describe(self, lang: str, default_language: str) -> str:
        return self.description.get(lang) or self.description.get(default_language) or ""


# The kinds of danger, in order of precedence (a message that fits several gets the first):
# the patterns (bot/flows/danger/patterns.py) and the routes' `danger` lists use these.
DangerKind = Annotated[
    Literal[
        "suicide",
        "self_harm",
        "sexual_violence",
        "domestic_violence",
        "violence",
        "threat",
        "stalking",
        "unsafe",
    ],
    Meta(
        description="one of suicide, self_harm, sexual_violence, domestic_violence,"
        " violence, threat, stalking, unsafe"
    ),
]


class EmergencyRoute(Resource, frozen=True):
    """A route for right now. Where someone's words tell of a kind of danger, only the
    routes listed for that kind are shown (in this order); a route without kinds is
    shown for every kind."""

    danger: tuple[DangerKind, ...] = ()


Advisers = Annotated[
    tuple[Adviser, ...], Meta(min_length=1, description="at least one [[advisers]] entry")
]
EmergencyRoutes = Annotated[
    tuple[EmergencyRoute, ...],
    Meta(min_length=1, description="at least one [[emergency_routes]] entry"),
]
