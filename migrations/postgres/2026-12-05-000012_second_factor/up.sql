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

-- A sign-in waiting for its second step: the SHA-256 of its mfa_token, the
-- account whose password was just proved, and the codes tried against it
-- (five at most, right or wrong). It works once, for five minutes, and a
-- credential change ends it.
CREATE TABLE mfa_challenges (
    token_digest VARCHAR(64) PRIMARY KEY CHECK (length(token_digest) = 64),
    user_id BIGINT NOT NULL REFERENCES users (id),
    expires_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    used_at TIMESTAMP
);
CREATE INDEX mfa_challenges_by_user ON mfa_challenges (user_id);
CREATE INDEX mfa_challenges_by_expiry ON mfa_challenges (expires_at);

-- When a second factor was last proved in a session (the sign-in's second
-- step, or a step-up): what its tokens' amr and auth_time say.
ALTER TABLE sessions ADD COLUMN second_factor_at TIMESTAMP;

-- One more counter: wrong second-factor codes per account.
ALTER TABLE throttle_attempts DROP CONSTRAINT throttle_attempts_counter_check;
ALTER TABLE throttle_attempts ADD CONSTRAINT throttle_attempts_counter_check
    CHECK (counter IN ('login_account', 'login_address', 'registration', 'reset_mail',
        'reset_address', 'activation_mail', 'second_factor'));
