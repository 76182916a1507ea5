-- An erased account keeps its row, so that its ledger stays under its id,
-- but loses its e-mail, names and password, and its address may register
-- again: the uniqueness of addresses covers live accounts only.
ALTER TABLE users ADD COLUMN erased_at TIMESTAMP;
DROP INDEX users_email_lower_key;
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email)) WHERE erased_at IS NULL;

-- Every request for a password-reset mail, whether or not an account has
-- the address (so that both cost the same), and the link it mailed, if any.
-- Addresses and tokens are stored only as SHA-256 digests.
CREATE TABLE password_reset_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    address_digest TEXT NOT NULL,
    user_id BIGINT REFERENCES users (id),
    token_digest TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    -- When the link was used, or revoked by a credential change.
    ended_at TIMESTAMP,
    CHECK ((token_digest IS NULL) = (expires_at IS NULL)),
    CHECK (token_digest IS NULL OR user_id IS NOT NULL)
);

-- The per-address mail limit counts recent links by address.
CREATE INDEX password_reset_requests_by_address ON password_reset_requests (address_digest, created_at);
-- A user's live links.
CREATE INDEX password_reset_requests_live ON password_reset_requests (user_id)
    WHERE token_digest IS NOT NULL AND ended_at IS NULL;
-- Forgetting old requests.
CREATE INDEX password_reset_requests_by_age ON password_reset_requests (created_at);

-- Which user a message is about, so that erasing the user erases their mail
-- too. Earlier messages are matched by address.
ALTER TABLE outbox_messages ADD COLUMN user_id BIGINT REFERENCES users (id);
UPDATE outbox_messages SET user_id =
    (SELECT users.id FROM users WHERE lower(users.email) = lower(outbox_messages.recipient));
CREATE INDEX outbox_messages_by_user ON outbox_messages (user_id) WHERE user_id IS NOT NULL;
