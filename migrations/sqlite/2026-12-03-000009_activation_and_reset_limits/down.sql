CREATE TABLE throttle_attempts_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    counter TEXT NOT NULL CHECK (counter IN ('login_account', 'login_address',
        'registration', 'reset_mail')),
    key_digest TEXT NOT NULL CHECK (length(key_digest) = 64),
    attempted_at TIMESTAMP NOT NULL
);
INSERT INTO throttle_attempts_old (id, counter, key_digest, attempted_at)
    SELECT id, counter, key_digest, attempted_at FROM throttle_attempts
    WHERE counter IN ('login_account', 'login_address', 'registration', 'reset_mail');
DROP TABLE throttle_attempts;
ALTER TABLE throttle_attempts_old RENAME TO throttle_attempts;
CREATE INDEX throttle_attempts_by_key ON throttle_attempts (key_digest, attempted_at);
CREATE INDEX throttle_attempts_by_age ON throttle_attempts (counter, attempted_at);

DROP TABLE activation_links;

DROP INDEX users_pending_queue;
CREATE INDEX users_pending_queue ON users (date_joined, id) WHERE status = 'pending';

ALTER TABLE users DROP COLUMN awaiting_activation;
ALTER TABLE users DROP COLUMN email_verified_at;
