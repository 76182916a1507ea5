-- One row per login. Every token names its session; an ended or expired
-- session grants nothing, on every process at once. Ended and expired rows
-- are forgotten by the background worker after SESSION_RETENTION_SECONDS.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    -- The live refresh token's generation; an older one is a reuse.
    generation BIGINT NOT NULL DEFAULT 1 CHECK (generation >= 1),
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    user_agent TEXT,
    client_address TEXT,
    ended_at TIMESTAMP,
    end_reason TEXT CHECK (end_reason IN ('logged_out', 'ended_by_user',
        'ended_by_administrator', 'refresh_reused', 'credentials_changed',
        'account_erased', 'account_rejected')),
    CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);

-- A user's open sessions (their list; ending them all).
CREATE INDEX sessions_open_by_user ON sessions (user_id) WHERE ended_at IS NULL;
-- Forgetting old rows.
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_end ON sessions (ended_at) WHERE ended_at IS NOT NULL;
