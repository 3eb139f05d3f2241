"""Numbered schema upgrades. Append only: a released migration never changes."""

from __future__ import annotations

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE conversations (
            user_key BLOB PRIMARY KEY,   -- HMAC of channel and platform id
            state TEXT NOT NULL,
            lang TEXT NOT NULL,
            sealed BLOB NOT NULL,        -- AES-GCM, associated data binds user_key
            updated_at REAL NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX conversations_updated_at ON conversations (updated_at);

        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            case_ref TEXT NOT NULL UNIQUE,
            owner_key BLOB,              -- the person's HMAC; cleared on delivery
            adviser_id TEXT NOT NULL,
            sealed BLOB,                 -- AES-GCM payload; cleared on delivery
            created_at REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL,
            last_error TEXT,
            delivered_at REAL,
            delivery_ref TEXT
        );
        CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL;
        CREATE INDEX outbox_owner ON outbox (owner_key) WHERE owner_key IS NOT NULL;
        """,
    ),
    (
        2,
        """
        -- Where a delivered handoff went (the adviser's room), beside its event id.
        ALTER TABLE outbox ADD COLUMN delivered_to TEXT;
        """,
    ),
    (
        3,
        """
        -- The audit log of texts changed from the admin room.
        CREATE TABLE text_changes (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            actor TEXT NOT NULL,
            lang TEXT NOT NULL,
            key TEXT NOT NULL,
            before TEXT,
            after TEXT NOT NULL
        );
        CREATE INDEX text_changes_key ON text_changes (key, lang);
        """,
    ),
)
