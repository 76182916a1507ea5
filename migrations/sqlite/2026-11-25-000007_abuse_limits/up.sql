-- The attempts the abuse limits count, shared by every server process:
-- failed logins (per account and client address, and per client address),
-- registrations (per client address) and password-reset mails (per e-mail
-- address). A key is the SHA-256 of its counter and subject, so neither
-- e-mail nor client addresses are stored. The background worker forgets
-- attempts once they are older than their limit's window. (The reset-mail
-- limit counted password_reset_requests until now; at most an hour of that
-- count starts again.)
CREATE TABLE throttle_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    counter TEXT NOT NULL CHECK (counter IN ('login_account', 'login_address',
        'registration', 'reset_mail')),
    key_digest TEXT NOT NULL CHECK (length(key_digest) = 64),
    attempted_at TIMESTAMP NOT NULL
);

-- A key's attempts in its window, newest first.
CREATE INDEX throttle_attempts_by_key ON throttle_attempts (key_digest, attempted_at);
-- Forgetting old attempts.
CREATE INDEX throttle_attempts_by_age ON throttle_attempts (counter, attempted_at);
