-- Users moved in from the Django service (`authusers import django`).
-- is_active is Django's: an inactive account cannot log in or reset its
-- password until an administrator enables it. last_login is kept as Django
-- had it. imported_at marks a user moved in; credentials_changed_at is set
-- by every change of password or e-mail (and by an erasure or a
-- rejection): the old service's tokens are believed only for an imported
-- user whose credentials have not changed since.
ALTER TABLE users ADD COLUMN is_active BOOLEAN NOT NULL DEFAULT 1;
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
-- own kind, so that balances still equal what the ledger sums to. SQLite
-- changes a CHECK by copying the table.
CREATE TABLE balance_transactions_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id),
    action TEXT NOT NULL CHECK (action IN ('in', 'out', 'convert', 'opening')),
    value_type TEXT NOT NULL CHECK (value_type IN ('real', 'virtual')),
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    bonus_cents BIGINT NOT NULL DEFAULT 0 CHECK (bonus_cents >= 0),
    real_balance_after_cents BIGINT NOT NULL CHECK (real_balance_after_cents >= 0),
    virtual_balance_after_cents BIGINT NOT NULL CHECK (virtual_balance_after_cents >= 0),
    created_at TIMESTAMP NOT NULL,
    idempotency_key TEXT
);
INSERT INTO balance_transactions_new
    SELECT id, user_id, action, value_type, amount_cents, bonus_cents,
        real_balance_after_cents, virtual_balance_after_cents, created_at, idempotency_key
    FROM balance_transactions;
DROP TABLE balance_transactions;
ALTER TABLE balance_transactions_new RENAME TO balance_transactions;
CREATE INDEX balance_transactions_by_user ON balance_transactions (user_id, id);
