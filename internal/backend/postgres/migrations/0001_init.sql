-- 0001: users, their threads, and the threads' messages.
--
-- Times are BIGINT nanoseconds since the Unix epoch, UTC (timestamptz keeps
-- only microseconds). Emails are stored lower-cased by the Go code, so the
-- plain unique index is case-insensitive in effect.

CREATE TABLE users (
    id            TEXT   NOT NULL PRIMARY KEY,
    email         TEXT   NOT NULL UNIQUE,
    password_hash BYTEA  NOT NULL,
    created_at    BIGINT NOT NULL
);

-- seq breaks ties between threads created at the same instant, in insertion
-- order, which is commit order: one writer inserts them.
CREATE TABLE threads (
    seq        BIGINT NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    id         TEXT   NOT NULL PRIMARY KEY,
    user_id    TEXT   NOT NULL REFERENCES users (id),
    title      TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

-- A user's threads, oldest first.
CREATE INDEX threads_by_user ON threads (user_id, created_at, seq);

-- Messages are listed by seq: insertion order, which is commit order since
-- one writer inserts them.
CREATE TABLE messages (
    seq        BIGINT NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         TEXT   NOT NULL UNIQUE,
    thread_id  TEXT   NOT NULL REFERENCES threads (id),
    user_id    TEXT   NOT NULL,
    role       TEXT   NOT NULL CHECK (role IN ('user', 'assistant')),
    content    TEXT   NOT NULL,
    message_id TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

-- A thread's messages in seq order.
CREATE INDEX messages_by_thread ON messages (thread_id, seq);
