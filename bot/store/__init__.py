"""Persistence behind a small async interface; nothing outside this package knows SQL."""

from bot.store.base import (
    CaseRefTaken,
    ConversationRecord,
    DeliveredHandoff,
    NewHandoff,
    PendingHandoff,
    Store,
    StoreError,
    TextChange,
    UnreadableRecord,
)
from bot.store.sqlite import SqliteStore

__all__ = [
    "CaseRefTaken",
    "ConversationRecord",
    "DeliveredHandoff",
    "NewHandoff",
    "PendingHandoff",
    "SqliteStore",
    "Store",
    "StoreError",
    "TextChange",
    "UnreadableRecord",
]
