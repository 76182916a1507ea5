-- djoser's activation, when REGISTRATION_REQUIRES_ACTIVATION is on: a new
-- registration waits for its address to prove itself (a mailed link) before
-- it reaches the administrators' queue. email_verified_at says when an
-- address proved itself (activation, a completed password reset, or an
-- administrator made from the command line); mail to an address that has
-- not proved itself never carries what the registrant typed.
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMP;
ALTER TABLE users ADD COLUMN awaiting_activation BOOLEAN NOT NULL DEFAULT 0;

-- The approval queue: activated pending users, oldest first.
DROP INDEX users_pending_queue;
CREATE INDEX users_pending_queue ON users (date_joined, id)
    WHERE status = 'pending' AND awaiting_activation = 0;

-- Activation links: only the SHA-256 of each token is kept. A link works
-- once, until it expires.
CREATE TABLE activation_links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id),
    token_digest TEXT NOT NULL CHECK (length(token_digest) = 64),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX activation_links_by_user ON activation_links (user_id, expires_at);

-- Two more counters: reset_password requests per client address, and
-- activation mails per e-mail address. SQLite changes a CHECK by copying
-- the table.
CREATE TABLE throttle_attempts_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    counter TEXT NOT NULL CHECK (counter IN ('login_account', 'login_address',
        'registration', 'reset_mail', 'reset_address', 'activation_mail')),
    key_digest TEXT NOT NULL CHECK (length(key_digest) = 64),
    attempted_at TIMESTAMP NOT NULL
);
INSERT INTO throttle_attempts_new (id, counter, key_digest, attempted_at)
    SELECT id, counter, key_digest, attempted_at FROM throttle_attempts;
DROP TABLE throttle_attempts;
ALTER TABLE throttle_attempts_new RENAME TO throttle_attempts;
CREATE INDEX throttle_attempts_by_key ON throttle_attempts (key_digest, attempted_at);
CREATE INDEX throttle_attempts_by_age ON throttle_attempts (counter, attempted_at);
