CREATE TABLE throttle_attempts_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    counter TEXT NOT NULL CHECK (counter IN ('login_account', 'login_address',
        'registration', 'reset_mail', 'reset_address', 'activation_mail')),
    key_digest TEXT NOT NULL CHECK (length(key_digest) = 64),
    attempted_at TIMESTAMP NOT NULL
);
INSERT INTO throttle_attempts_old (id, counter, key_digest, attempted_at)
    SELECT id, counter, key_digest, attempted_at FROM throttle_attempts
    WHERE counter <> 'second_factor';
DROP TABLE throttle_attempts;
ALTER TABLE throttle_attempts_old RENAME TO throttle_attempts;
CREATE INDEX throttle_attempts_by_key ON throttle_attempts (key_digest, attempted_at);
CREATE INDEX throttle_attempts_by_age ON throttle_attempts (counter, attempted_at);
ALTER TABLE sessions DROP COLUMN second_factor_at;
DROP TABLE mfa_challenges;
DROP TABLE mfa_recovery_codes;
DROP TABLE mfa_totp;
