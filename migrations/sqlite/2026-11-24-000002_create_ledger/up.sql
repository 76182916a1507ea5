-- Every applied balance operation, written in the same transaction as the
-- balance change; the balances always equal what these rows sum to.
CREATE TABLE balance_transactions (
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

CREATE INDEX balance_transactions_by_user ON balance_transactions (user_id, id);

-- The answer given to each idempotency key, per user, so that a retried
-- request is answered again instead of applied again.
CREATE TABLE idempotency_keys (
    user_id BIGINT NOT NULL REFERENCES users (id),
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    outcome TEXT CHECK (outcome IN ('applied', 'insufficient_funds', 'limit_exceeded')),
    real_balance_cents BIGINT,
    virtual_balance_cents BIGINT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
