-- Lists that cost the same at a million rows as at ten.
--
-- 1. Counts kept beside the rows they count, by triggers, in the same
--    transaction as the change that moves them: a list's `count` reads a
--    handful of rows instead of counting the table. The CHECKs make a
--    counter that drifted below zero fail loudly instead of lying.

-- Live (not erased) users per status and activation state.
CREATE TABLE user_counts (
    status TEXT NOT NULL,
    awaiting_activation BOOLEAN NOT NULL,
    users BIGINT NOT NULL CHECK (users >= 0),
    PRIMARY KEY (status, awaiting_activation)
);
INSERT INTO user_counts (status, awaiting_activation, users)
    SELECT status, awaiting_activation, count(*) FROM users
    WHERE erased_at IS NULL GROUP BY status, awaiting_activation;

CREATE TRIGGER users_counted_on_insert AFTER INSERT ON users
WHEN new.erased_at IS NULL
BEGIN
    INSERT INTO user_counts (status, awaiting_activation, users)
        VALUES (new.status, new.awaiting_activation, 1)
    ON CONFLICT (status, awaiting_activation) DO UPDATE SET users = users + 1;
END;

-- A change of status, activation or erasure moves one user between counts.
CREATE TRIGGER users_counted_on_change
AFTER UPDATE OF status, awaiting_activation, erased_at ON users
WHEN old.status IS NOT new.status
    OR old.awaiting_activation IS NOT new.awaiting_activation
    OR (old.erased_at IS NULL) IS NOT (new.erased_at IS NULL)
BEGIN
    UPDATE user_counts SET users = users - 1
        WHERE old.erased_at IS NULL
            AND status = old.status AND awaiting_activation = old.awaiting_activation;
    INSERT INTO user_counts (status, awaiting_activation, users)
        SELECT new.status, new.awaiting_activation, 1 WHERE new.erased_at IS NULL
    ON CONFLICT (status, awaiting_activation) DO UPDATE SET users = users + 1;
END;

CREATE TRIGGER users_counted_on_delete AFTER DELETE ON users
WHEN old.erased_at IS NULL
BEGIN
    UPDATE user_counts SET users = users - 1
        WHERE status = old.status AND awaiting_activation = old.awaiting_activation;
END;

-- Each user's ledger length, in a narrow table of its own (not a column
-- of the user's row, which each entry would rewrite whole).
CREATE TABLE ledger_counts (
    user_id BIGINT PRIMARY KEY REFERENCES users (id),
    entries BIGINT NOT NULL CHECK (entries >= 0)
);
INSERT INTO ledger_counts (user_id, entries)
    SELECT user_id, count(*) FROM balance_transactions WHERE true GROUP BY user_id;

CREATE TRIGGER ledger_counted_on_insert AFTER INSERT ON balance_transactions
BEGIN
    INSERT INTO ledger_counts (user_id, entries) VALUES (new.user_id, 1)
    ON CONFLICT (user_id) DO UPDATE SET entries = entries + 1;
END;
CREATE TRIGGER ledger_counted_on_delete AFTER DELETE ON balance_transactions
BEGIN
    UPDATE ledger_counts SET entries = entries - 1 WHERE user_id = old.user_id;
END;

-- 2. Keyset pages: the users list filtered by status walks this index in
--    id order instead of the whole table, and the approval queue this one
--    in its own order. The queue's old index was partial on the status,
--    which a query whose status is a bound value cannot use (SQLite never
--    did); this one is partial only on erasure, which every query states
--    as it is.
CREATE INDEX users_by_status ON users (status, id) WHERE erased_at IS NULL;
CREATE INDEX users_queue ON users (status, awaiting_activation, date_joined, id)
    WHERE erased_at IS NULL;
DROP INDEX users_pending_queue;

-- 3. The administrators' search, from an FTS5 trigram index (case-folded)
--    of each live user's address, a separator no search term can hold
--    (terms refuse control characters), and "first last". It narrows the
--    candidates; the query then checks each with the same comparison as
--    the plain scan, so the answer is the scan's. Contentless: the index
--    keeps no second copy of the text.
CREATE VIRTUAL TABLE users_search USING fts5(
    haystack, tokenize = 'trigram', content = '', contentless_delete = 1
);
INSERT INTO users_search (rowid, haystack)
    SELECT id, email || char(1) || first_name || ' ' || last_name FROM users
    WHERE erased_at IS NULL;

CREATE TRIGGER users_search_on_insert AFTER INSERT ON users
WHEN new.erased_at IS NULL
BEGIN
    INSERT INTO users_search (rowid, haystack)
        VALUES (new.id, new.email || char(1) || new.first_name || ' ' || new.last_name);
END;
CREATE TRIGGER users_search_on_change
AFTER UPDATE OF email, first_name, last_name, erased_at ON users
BEGIN
    DELETE FROM users_search WHERE rowid = old.id;
    INSERT INTO users_search (rowid, haystack)
        SELECT new.id, new.email || char(1) || new.first_name || ' ' || new.last_name
        WHERE new.erased_at IS NULL;
END;
CREATE TRIGGER users_search_on_delete AFTER DELETE ON users
BEGIN
    DELETE FROM users_search WHERE rowid = old.id;
END;
