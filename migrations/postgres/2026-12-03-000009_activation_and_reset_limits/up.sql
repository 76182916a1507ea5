-- djoser's activation, when REGISTRATION_REQUIRES_ACTIVATION is on: a new
-- registration waits for its address to prove itself (a mailed link) before
-- it reaches the administrators' queue. email_verified_at says when an
-- address proved itself (activation, a completed password reset, or an
-- administrator made from the command line); mail to an address that has
-- not proved itself never carries what the registrant typed.
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMP;
ALTER TABLE users ADD COLUMN awaiting_activation BOOLEAN NOT NULL DEFAULT FALSE;

-- The approval queue: activated pending users, oldest first.
DROP INDEX users_pending_queue;
CREATE INDEX users_pending_queue ON users (date_joined, id)
    WHERE status = 'pending' AND awaiting_activation = FALSE;

-- Activation links: only the SHA-256 of each token is kept. A link works
-- once, until it expires.
CREATE TABLE activation_links (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    token_digest TEXT NOT NULL CHECK (length(token_digest) = 64),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX activation_links_by_user ON activation_links (user_id, expires_at);

-- Two more counters: reset_password requests per client address, and
-- activation mails per e-mail address.
ALTER TABLE throttle_attempts DROP CONSTRAINT throttle_attempts_counter_check;
ALTER TABLE throttle_attempts ADD CONSTRAINT throttle_attempts_counter_check
    CHECK (counter IN ('login_account', 'login_address', 'registration', 'reset_mail',
        'reset_address', 'activation_mail'));
