"""Numbered schema upgrades. Append only: a released migration never changes."""

from __future__ import annotations

from bot.store.key_record import KEY_RECORD_MIGRATION

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
    (
        4,
        """
        -- The line between adviser and employee after a handoff. A case links its
        -- reference to the person (owner_key, sealed contact) only while needed.
        CREATE TABLE cases (
            case_ref TEXT PRIMARY KEY,
            owner_key BLOB,              -- the person's HMAC; cleared on erasure or expiry
            adviser_id TEXT NOT NULL,
            channel TEXT NOT NULL,       -- telegram, matrix, terminal: not personal
            status TEXT NOT NULL,        -- open, closed, stopped, withdrawn
            whistleblower INTEGER NOT NULL,
            sealed BLOB,                 -- AES-GCM contact: reply address, language, pseudonym
            created_at REAL NOT NULL,
            delivered_at REAL,
            thread_root TEXT,            -- the handoff's event: the case's thread
            room_id TEXT,
            adviser_replied_at REAL,
            last_activity_at REAL NOT NULL,
            closed_at REAL,
            redacted_at REAL
        ) WITHOUT ROWID;
        CREATE INDEX cases_owner ON cases (owner_key) WHERE owner_key IS NOT NULL;
        CREATE INDEX cases_thread ON cases (thread_root) WHERE thread_root IS NOT NULL;

        -- Messages and notices both ways, persisted before they are sent.
        CREATE TABLE relays (
            -- Never reused: a relay's id makes its transaction id on the homeserver.
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            case_ref TEXT NOT NULL REFERENCES cases (case_ref) ON DELETE CASCADE,
            direction TEXT NOT NULL,     -- to_adviser, to_employee
            kind TEXT NOT NULL,          -- message, or the kind of notice
            sealed BLOB,                 -- AES-GCM, bound to the id; cleared on delivery
            created_at REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL,
            last_error TEXT,
            delivered_at REAL,
            delivery_ref TEXT
        );
        CREATE INDEX relays_due ON relays (next_attempt_at) WHERE delivered_at IS NULL;
        CREATE INDEX relays_case ON relays (case_ref);
        CREATE INDEX relays_event ON relays (delivery_ref) WHERE delivery_ref IS NOT NULL;

        -- Check-ins and reminders: each fires once.
        CREATE TABLE timers (
            id INTEGER PRIMARY KEY,
            case_ref TEXT NOT NULL REFERENCES cases (case_ref) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            due_at REAL NOT NULL,
            fired_at REAL
        );
        CREATE INDEX timers_due ON timers (due_at) WHERE fired_at IS NULL;
        CREATE INDEX timers_case ON timers (case_ref);

        -- The adviser's events already acted on, so a replayed sync acts on none twice.
        CREATE TABLE adviser_events (
            event_id TEXT PRIMARY KEY,
            at REAL NOT NULL
        ) WITHOUT ROWID;
        """,
    ),
    (
        10,
        """
        -- Every step names the version of the rows it read; a save on a row that changed
        -- since loses, and its step runs again on the fresh row.
        ALTER TABLE conversations ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE cases ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
        """,
    ),
    (
        11,
        """
        -- Retention finds its rows through indexes, never by reading every case.
        CREATE INDEX cases_open_activity ON cases (last_activity_at) WHERE status = 'open';
        CREATE INDEX cases_closed ON cases (closed_at) WHERE closed_at IS NOT NULL;
        CREATE INDEX adviser_events_at ON adviser_events (at);
        CREATE INDEX text_changes_at ON text_changes (at);
        """,
    ),
    KEY_RECORD_MIGRATION,
    (
        30,
        """
        -- Which associated data seals a row: 1 binds only its identity, 2 also where it
        -- is routed (the outbox's adviser; the case's adviser and channel). Rows written
        -- before are sealed again at the next start (bot/store/aad_upgrade.py).
        ALTER TABLE outbox ADD COLUMN aad INTEGER NOT NULL DEFAULT 2;
        UPDATE outbox SET aad = 1;
        ALTER TABLE cases ADD COLUMN aad INTEGER NOT NULL DEFAULT 2;
        UPDATE cases SET aad = 1;
        """,
    ),
    (
        40,
        """
        -- Counts for the annual report, apart from cases: the period (year and quarter),
        -- the adviser, what is counted and how often. Never a case reference, a person,
        -- a time finer than the quarter, or free text: the checks refuse anything but
        -- short lowercase codes. Kept when the cases they came from are purged.
        CREATE TABLE statistics (
            year INTEGER NOT NULL CHECK (year BETWEEN 2000 AND 2999),
            quarter INTEGER NOT NULL CHECK (quarter BETWEEN 1 AND 4),
            adviser_id TEXT NOT NULL,
            dimension TEXT NOT NULL CHECK (
                length(dimension) BETWEEN 1 AND 40 AND dimension NOT GLOB '*[^a-z0-9_+-]*'
            ),
            value TEXT NOT NULL CHECK (
                length(value) BETWEEN 1 AND 40 AND value NOT GLOB '*[^a-z0-9_+-]*'
            ),
            count INTEGER NOT NULL CHECK (count >= 0),
            PRIMARY KEY (year, quarter, adviser_id, dimension, value)
        ) WITHOUT ROWID;

        -- An adviser's registration while they answer its questions: the answers
        -- sealed, the row deleted in the transaction that turns them into counts.
        CREATE TABLE registrations (
            thread_key TEXT PRIMARY KEY,  -- "case:<ref>"; "room:<event>" outside the bot
            adviser_id TEXT NOT NULL,
            case_ref TEXT REFERENCES cases (case_ref) ON DELETE CASCADE,
            sealed BLOB NOT NULL,         -- AES-GCM, associated data binds thread_key
            started_at REAL NOT NULL
        ) WITHOUT ROWID;

        -- A case is registered (counted at closing) once.
        ALTER TABLE cases ADD COLUMN registered INTEGER NOT NULL DEFAULT 0;
        """,
    ),
    (
        50,
        """
        -- What the web chat shows a person: the bot's last replies and the messages on
        -- their line. Sealed; dropped with the conversation and the case's link.
        CREATE TABLE web_screens (
            user_key BLOB PRIMARY KEY,   -- the same HMAC as the person's conversation
            sealed BLOB NOT NULL,        -- AES-GCM, associated data binds user_key
            updated_at REAL NOT NULL
        ) WITHOUT ROWID;
        """,
    ),
    (
        60,
        """
        -- One row the readiness check rewrites: proof that the store takes writes.
        CREATE TABLE ops_probe (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            at REAL NOT NULL
        );
        """,
    ),
    (
        70,
        """
        -- The adviser's observations and advice for the annual report of a year,
        -- written with `vertrouwd report advice` or `!advies`: sealed, one per year.
        CREATE TABLE report_advice (
            year INTEGER PRIMARY KEY CHECK (year BETWEEN 2000 AND 2999),
            sealed BLOB NOT NULL,         -- AES-GCM, associated data binds the year
            updated_at REAL NOT NULL
        );

        -- Counts withdrawn because they were entered by mistake: what kind of entry,
        -- its period and adviser, and when. Codes only, as the counts themselves.
        CREATE TABLE count_corrections (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            adviser_id TEXT NOT NULL,
            year INTEGER NOT NULL,
            quarter INTEGER NOT NULL,
            entry TEXT NOT NULL CHECK (entry IN ('activity', 'registration'))
        );
        """,
    ),
    (
        71,
        """
        -- What a case's registration added to the counts, so that the adviser can take
        -- it back (`!register withdraw`): sealed, gone with the case or the withdrawal.
        CREATE TABLE registered_counts (
            case_ref TEXT PRIMARY KEY REFERENCES cases (case_ref) ON DELETE CASCADE,
            sealed BLOB NOT NULL,         -- AES-GCM, associated data binds case_ref
            registered_at REAL NOT NULL
        ) WITHOUT ROWID;
        """,
    ),
)
