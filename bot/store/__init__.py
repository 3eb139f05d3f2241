"""Persistence behind a small async interface; nothing outside this package knows SQL."""

from bot.store.base import (
    CaseRefTaken,
    ConversationRecord,
    NewHandoff,
    PendingHandoff,
    Store,
    StoreError,
)
from bot.store.sqlite import SqliteStore

__all__ = [
    "CaseRefTaken",
    "ConversationRecord",
    "NewHandoff",
    "PendingHandoff",
    "SqliteStore",
    "Store",
    "StoreError",
]
