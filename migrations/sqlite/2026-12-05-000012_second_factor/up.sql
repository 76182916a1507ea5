-- A user's TOTP second factor: an enrolment waiting for its first code
-- (confirmed_at NULL; it expires ten minutes after created_at) or a factor
-- in force. The secret is sealed (AES-256-GCM, MFA_SECRET_KEY) and bound to
-- the user. last_step is the last 30-second step a code was accepted for:
-- it is moved forward only, in one statement, so that a code is accepted
-- once on every server at once.
CREATE TABLE mfa_totp (
    user_id BIGINT PRIMARY KEY REFERENCES users (id),
    sealed_secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP,
    last_step BIGINT
);

-- The recovery codes of a factor in force, as SHA-256 digests; each works
-- once (used_at).
CREATE TABLE mfa_recovery_codes (
    user_id BIGINT NOT NULL REFERENCES users (id),
    digest VARCHAR(64) NOT NULL,
    used_at TIMESTAMP,
    PRIMARY KEY (user_id, digest)
);
