-- 0001: users, their threads, and the threads' messages.
--
-- Times are INTEGER nanoseconds since the Unix epoch, UTC. Emails are stored
-- lower-cased by the Go code; COLLATE NOCASE on top keeps the unique index
-- case-insensitive for ASCII even if a row ever arrives by another path.

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash BLOB    NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE threads (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id),
    title      TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- A user's threads, oldest first (the rowid breaks ties in insertion order).
CREATE INDEX threads_by_user ON threads (user_id, created_at);

-- seq is an alias of the rowid and so grows in commit order; unlike a bare
-- rowid it is stable across VACUUM. Messages are listed by it.
CREATE TABLE messages (
    seq        INTEGER NOT NULL PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    thread_id  TEXT    NOT NULL REFERENCES threads (id),
    user_id    TEXT    NOT NULL,
    role       TEXT    NOT NULL CHECK (role IN ('user', 'assistant')),
    content    TEXT    NOT NULL,
    message_id TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- A thread's messages in seq order: every index entry ends with the rowid.
CREATE INDEX messages_by_thread ON messages (thread_id);
