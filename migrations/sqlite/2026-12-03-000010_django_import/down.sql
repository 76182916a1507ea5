CREATE TABLE balance_transactions_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id),
    action TEXT NOT NULL CHECK (action IN ('in', 'out', 'convert')),
    value_type TEXT NOT NULL CHECK (value_type IN ('real', 'virtual')),
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    bonus_cents BIGINT NOT NULL DEFAULT 0 CHECK (bonus_cents >= 0),
    real_balance_after_cents BIGINT NOT NULL CHECK (real_balance_after_cents >= 0),
    virtual_balance_after_cents BIGINT NOT NULL CHECK (virtual_balance_after_cents >= 0),
    created_at TIMESTAMP NOT NULL,
    idempotency_key TEXT
);
INSERT INTO balance_transactions_old
    SELECT id, user_id, action, value_type, amount_cents, bonus_cents,
        real_balance_after_cents, virtual_balance_after_cents, created_at, idempotency_key
    FROM balance_transactions WHERE action <> 'opening';
DROP TABLE balance_transactions;
ALTER TABLE balance_transactions_old RENAME TO balance_transactions;
CREATE INDEX balance_transactions_by_user ON balance_transactions (user_id, id);

DROP TABLE legacy_refresh_tokens;

ALTER TABLE users DROP COLUMN credentials_changed_at;
ALTER TABLE users DROP COLUMN imported_at;
ALTER TABLE users DROP COLUMN last_login;
ALTER TABLE users DROP COLUMN is_active;
