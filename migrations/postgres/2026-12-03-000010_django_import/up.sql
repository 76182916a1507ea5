-- Users moved in from the Django service (`authusers import django`).
-- is_active is Django's: an inactive account cannot log in or reset its
-- password until an administrator enables it. last_login is kept as Django
-- had it. imported_at marks a user moved in; credentials_changed_at is set
-- by every change of password or e-mail (and by an erasure or a
-- rejection): the old service's tokens are believed only for an imported
-- user whose credentials have not changed since.
ALTER TABLE users ADD COLUMN is_active BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE users ADD COLUMN last_login TIMESTAMP;
ALTER TABLE users ADD COLUMN imported_at TIMESTAMP;
ALTER TABLE users ADD COLUMN credentials_changed_at TIMESTAMP;

-- The old service's refresh tokens exchanged for a session here, by jti:
-- each is exchanged once.
CREATE TABLE legacy_refresh_tokens (
    jti TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    exchanged_at TIMESTAMP NOT NULL
);

-- An imported balance is written to the ledger as an opening entry of its
-- own kind, so that balances still equal what the ledger sums to.
ALTER TABLE balance_transactions DROP CONSTRAINT balance_transactions_action_check;
ALTER TABLE balance_transactions ADD CONSTRAINT balance_transactions_action_check
    CHECK (action IN ('in', 'out', 'convert', 'opening'));
