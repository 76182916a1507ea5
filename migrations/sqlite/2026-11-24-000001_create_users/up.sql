CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    is_admin BOOLEAN NOT NULL DEFAULT 0,
    date_joined TIMESTAMP NOT NULL,
    decided_by BIGINT REFERENCES users (id),
    decided_at TIMESTAMP,
    real_balance_cents BIGINT NOT NULL DEFAULT 0 CHECK (real_balance_cents >= 0),
    virtual_balance_cents BIGINT NOT NULL DEFAULT 0 CHECK (virtual_balance_cents >= 0)
);

-- One account per address, whatever its case: the database itself refuses
-- the loser of two racing registrations.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- The approval queue: pending users, oldest first.
CREATE INDEX users_pending_queue ON users (date_joined, id) WHERE status = 'pending';
