-- Ozvi relay, PostgreSQL schema version 1: the records of docs/API.md
-- "What is stored", as the sled store keeps them (crates/ozvi-relay/src/
-- store/mod.rs, records.rs, files.rs), plus what several relays on one
-- database must share (issue 16).
--
-- A released migration is never edited: a change is the next numbered file.
-- The relay records each applied file's SHA-256 in ozvi_schema and refuses
-- to start if one differs (src/store/postgres/migrations.rs).
--
-- Conventions, so that the database itself refuses a malformed record:
-- * ids, keys and envelopes are bytea with CHECKs on their fixed lengths
--   (mailbox and file ids 16 bytes, verifiers and keys 32);
-- * a centre id is text checked against the directory's [a-z0-9-]{1,32},
--   compared byte by byte (COLLATE "C"); sled pads it to 33 bytes only to
--   make keys sort, which SQL does not need;
-- * the sled records' u64 fields are bigint >= 0 (sequence numbers, change
--   numbers and byte counts stay far below 2^63), their u32 fields bigint
--   between 0 and 4294967295;
-- * every time is Unix seconds of a whole minute (divisible by 60): the
--   store says no more than the minute about when anything happened;
-- * the sled values' leading version byte has no column: this schema's
--   version (ozvi_schema) plays its part;
-- * envelopes (PROTOCOL.md §4.1) are checked for what the store relies on:
--   version byte 1 or 2, the kind byte of the table, at most the longest
--   envelope (76587 bytes), in a CASE because SQL does not promise to check
--   the length before it reads a byte. Their full parse is the relay's
--   before it stores one, and ozvi-audit's after.

-- Conversations and staff-only cases: one row a thread (sled `threads`).
CREATE TABLE threads (
    mailbox_id       bytea  PRIMARY KEY CHECK (octet_length(mailbox_id) = 16),
    -- SHA-256 verifier of the person's auth secret; 32 zero bytes for a
    -- staff-only case (PROTOCOL.md §4.11).
    verifier         bytea  NOT NULL CHECK (octet_length(verifier) = 32),
    centre           text   COLLATE "C" NOT NULL CHECK (centre ~ '^[a-z0-9-]{1,32}$'),
    created_at       bigint NOT NULL CHECK (created_at >= 0 AND created_at % 60 = 0),
    last_activity    bigint NOT NULL CHECK (last_activity >= 0 AND last_activity % 60 = 0),
    -- 0 if nothing of hers waits for an answer.
    unanswered_since bigint NOT NULL CHECK (unanswered_since >= 0 AND unanswered_since % 60 = 0),
    -- The change number of the thread's last change (the inbox cursor):
    -- the id of the transaction that wrote it (pg_current_xact_id()). Ids
    -- are handed out in the order transactions ask, not the order they
    -- commit, so the relay lists only changes below its snapshot's xmin,
    -- when every transaction with a smaller id has ended (src/store/
    -- postgres/store.rs); one transaction changes one thread.
    change           bigint NOT NULL CHECK (change >= 1),
    last_seq         bigint NOT NULL CHECK (last_seq >= 1),
    message_count    bigint NOT NULL CHECK (message_count BETWEEN 0 AND 4294967295),
    total_bytes      bigint NOT NULL CHECK (total_bytes >= 0),
    staff_read_seq   bigint NOT NULL CHECK (staff_read_seq >= 0),
    unread           bigint NOT NULL CHECK (unread BETWEEN 0 AND 4294967295),
    -- A case waits for no answer and counts nothing unread.
    CONSTRAINT threads_case_has_no_person CHECK (
        verifier <> '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea
        OR (unanswered_since = 0 AND unread = 0)
    ),
    -- The inbox index (sled `activity`: centre ‖ change ‖ mailbox id): a
    -- thread is listed once, under its centre and its last change, so the
    -- index is this constraint's and cannot disagree with the thread.
    CONSTRAINT threads_one_change_per_centre UNIQUE (centre, change)
);

-- Retention (inactive_since) reads threads by their last activity.
CREATE INDEX threads_by_last_activity ON threads (last_activity);

-- A thread's messages (sled `messages`: mailbox id ‖ seq → stored-at ‖
-- envelope): kinds 1 and 2 in a conversation, kind 4 in a case.
CREATE TABLE messages (
    mailbox_id bytea  NOT NULL REFERENCES threads ON DELETE CASCADE
                      CHECK (octet_length(mailbox_id) = 16),
    seq        bigint NOT NULL CHECK (seq >= 1),
    stored_at  bigint NOT NULL CHECK (stored_at >= 0 AND stored_at % 60 = 0),
    envelope   bytea  NOT NULL CHECK (
        CASE WHEN octet_length(envelope) BETWEEN 2 AND 76587
             THEN get_byte(envelope, 0) IN (1, 2) AND get_byte(envelope, 1) IN (1, 2, 4)
             ELSE false END
    ),
    PRIMARY KEY (mailbox_id, seq)
);

-- A thread's staff-only note (sled `notes`): one kind-3 envelope.
CREATE TABLE notes (
    mailbox_id bytea  PRIMARY KEY REFERENCES threads ON DELETE CASCADE
                      CHECK (octet_length(mailbox_id) = 16),
    stored_at  bigint NOT NULL CHECK (stored_at >= 0 AND stored_at % 60 = 0),
    envelope   bytea  NOT NULL CHECK (
        CASE WHEN octet_length(envelope) BETWEEN 2 AND 76587
             THEN get_byte(envelope, 0) IN (1, 2) AND get_byte(envelope, 1) = 3
             ELSE false END
    )
);

-- A centre's staff-only record, its reply templates (sled `centres`,
-- PROTOCOL.md §4.10): one kind-3 envelope.
CREATE TABLE centre_records (
    centre    text   COLLATE "C" PRIMARY KEY CHECK (centre ~ '^[a-z0-9-]{1,32}$'),
    stored_at bigint NOT NULL CHECK (stored_at >= 0 AND stored_at % 60 = 0),
    envelope  bytea  NOT NULL CHECK (
        CASE WHEN octet_length(envelope) BETWEEN 2 AND 76587
             THEN get_byte(envelope, 0) IN (1, 2) AND get_byte(envelope, 1) = 3
             ELSE false END
    )
);

-- The signed directory (sled `system`/`directory`): one row, the JSON bytes
-- exactly as signed.
CREATE TABLE directory (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    json     bytea   NOT NULL CHECK (octet_length(json) > 0)
);

-- Attached files' records (sled `files`: mailbox id ‖ file id). No foreign
-- key to threads: her first contact uploads before its thread exists.
CREATE TABLE files (
    mailbox_id bytea    NOT NULL CHECK (octet_length(mailbox_id) = 16),
    file_id    bytea    NOT NULL CHECK (octet_length(file_id) = 16),
    -- 0 partial, 1 complete and unclaimed, 2 claimed.
    state      smallint NOT NULL CHECK (state IN (0, 1, 2)),
    -- The seq of the message that claimed it; 0 before.
    claimed_by bigint   NOT NULL CHECK (claimed_by >= 0),
    created_at bigint   NOT NULL CHECK (created_at >= 0 AND created_at % 60 = 0),
    -- A bucket of PROTOCOL.md §12.1: 20 + chunks × 65552 bytes for 1, 2,
    -- 4 … 256 chunks.
    length     bigint   NOT NULL CHECK (length IN (
        65572, 131124, 262228, 524436, 1048852,
        2097684, 4195348, 8390676, 16781332
    )),
    -- The verifier of a first contact's upload to a mailbox without a
    -- thread, else 32 zero bytes.
    binding    bytea    NOT NULL CHECK (octet_length(binding) = 32),
    PRIMARY KEY (mailbox_id, file_id),
    -- Only a claimed file names its message.
    CONSTRAINT files_claimed_names_its_message CHECK ((state = 2) = (claimed_by <> 0))
);

-- Spent staff-request nonces (PROTOCOL.md §7.2), kept until they can no
-- longer be replayed, across relays and restarts. The key is SHA-256 of a
-- label, the staff member's key and the request's nonce (src/routes/
-- staff.rs, nonce_key): unique like the pair, but it does not say which
-- staff member made the request (the sled store keys its `nonces` tree the
-- same way). No request is verified later than its timestamp + the
-- acceptance window + the time the longest body may take, and its nonce is
-- refused until then; `refused_until` is the next whole minute after that
-- (src/store/mod.rs, nonce_expiry), so no time here needs seconds.
CREATE TABLE staff_nonces (
    nonce_key     bytea  PRIMARY KEY CHECK (octet_length(nonce_key) = 32),
    refused_until bigint NOT NULL CHECK (refused_until >= 0 AND refused_until % 60 = 0)
);

CREATE INDEX staff_nonces_by_expiry ON staff_nonces (refused_until);

-- What admission (rate limits and proof-of-work challenges, src/admission/)
-- shares between relays. Every table of it is UNLOGGED: not written to the
-- WAL (cheap to bump on every request, not replicated, not in a base
-- backup or a WAL archive) and emptied together after a crash, which only
-- resets the current windows and makes the challenges out then unusable.
-- The relays delete every row once its time has passed (src/admission/
-- shared.rs, sweep).

-- The keys admission uses, one per period, made by whichever relay needs
-- it first (INSERT ... ON CONFLICT DO NOTHING) and read by the others:
--   kind 1: the MAC key of the proof-of-work challenges issued in one
--           600-second generation (period = issue time / 600), forgotten at
--           (period + 2) × 600, once every challenge MACed by it has
--           expired;
--   kind 2: the key of the keyed hash that stands for a client address in
--           one clock hour (period = Unix time / 3600), forgotten at the
--           hour's end with the counters it keyed, so that a stored hash
--           can no longer be linked to an address.
CREATE UNLOGGED TABLE admission_keys (
    kind      smallint NOT NULL CHECK (kind IN (1, 2)),
    period    bigint   NOT NULL CHECK (period >= 0),
    key       bytea    NOT NULL CHECK (octet_length(key) = 32),
    forget_at bigint   NOT NULL CHECK (forget_at >= 0 AND forget_at % 60 = 0),
    PRIMARY KEY (kind, period)
);

-- Spent proof-of-work challenges (single use across relays). A challenge
-- lives 600 s from its issue; its id is forgotten once every challenge of
-- its 600-second generation has expired: (issued / 600 + 2) × 600, a
-- whole minute, when its generation's key (admission_keys kind 1) goes
-- too. A crash empties both tables together, so a forgotten id's
-- challenge can no longer be verified.
CREATE UNLOGGED TABLE spent_challenges (
    challenge_id bytea  PRIMARY KEY CHECK (octet_length(challenge_id) = 16),
    forget_at    bigint NOT NULL CHECK (forget_at >= 0 AND forget_at % 60 = 0)
);

CREATE INDEX spent_challenges_by_expiry ON spent_challenges (forget_at);

-- Rate-limit counters shared by the relays. A client address is never
-- stored: `subject` is the 16-byte keyed hash that stands for it under its
-- hour's key (admission_keys kind 2), or for the per-thread post limit the
-- mailbox id.
--   scope 1: requests per address per minute;
--   scope 2: posts per thread per minute;
--   scope 3: creation challenges per address per hour;
--   scope 4: threads created per address per hour.
CREATE UNLOGGED TABLE rate_counters (
    scope        smallint NOT NULL CHECK (scope BETWEEN 1 AND 4),
    subject      bytea    NOT NULL CHECK (octet_length(subject) = 16),
    -- The window's start: a whole minute (an hour's for scopes 3 and 4).
    window_start bigint   NOT NULL CHECK (
        window_start >= 0 AND window_start % (CASE WHEN scope <= 2 THEN 60 ELSE 3600 END) = 0
    ),
    hits         bigint   NOT NULL CHECK (hits BETWEEN 0 AND 4294967295),
    PRIMARY KEY (scope, subject, window_start)
);

-- Threads created per centre per hour (the adaptive proof-of-work price,
-- src/admission/), shared by the relays: the current and the previous hour
-- are read, older ones deleted.
CREATE UNLOGGED TABLE centre_creations (
    centre     text   COLLATE "C" NOT NULL CHECK (centre ~ '^[a-z0-9-]{1,32}$'),
    hour_start bigint NOT NULL CHECK (hour_start >= 0 AND hour_start % 3600 = 0),
    created    bigint NOT NULL CHECK (created BETWEEN 0 AND 4294967295),
    PRIMARY KEY (centre, hour_start)
);
