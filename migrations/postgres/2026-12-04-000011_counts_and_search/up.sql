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

-- Inserts are counted once per statement (an import inserts thousands of
-- rows a statement), from the statement's inserted rows.
CREATE FUNCTION count_inserted_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_counts (status, awaiting_activation, users)
        SELECT status, awaiting_activation, count(*) FROM inserted_users
        WHERE erased_at IS NULL
        GROUP BY status, awaiting_activation
        ORDER BY status, awaiting_activation
    ON CONFLICT (status, awaiting_activation)
        DO UPDATE SET users = user_counts.users + EXCLUDED.users;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_counted_on_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS inserted_users
    FOR EACH STATEMENT EXECUTE FUNCTION count_inserted_users();

-- A change of status, activation or erasure moves one user between counts
-- (the old count first, always, so two such changes never wait on each
-- other in opposite orders).
CREATE FUNCTION count_changed_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        IF OLD.erased_at IS NULL THEN
            UPDATE user_counts SET users = users - 1
                WHERE status = OLD.status AND awaiting_activation = OLD.awaiting_activation;
        END IF;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF NEW.erased_at IS NULL THEN
            INSERT INTO user_counts (status, awaiting_activation, users)
                VALUES (NEW.status, NEW.awaiting_activation, 1)
            ON CONFLICT (status, awaiting_activation)
                DO UPDATE SET users = user_counts.users + 1;
        END IF;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_counted_on_change
    AFTER UPDATE OF status, awaiting_activation, erased_at ON users
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
        OR OLD.awaiting_activation IS DISTINCT FROM NEW.awaiting_activation
        OR (OLD.erased_at IS NULL) IS DISTINCT FROM (NEW.erased_at IS NULL))
    EXECUTE FUNCTION count_changed_user();
CREATE TRIGGER users_counted_on_delete AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION count_changed_user();

-- Each user's ledger length, in a narrow table of its own: updating a
-- column of the user's row would write a new version of the whole row
-- (and of every index entry of it, the search index's thirty-odd among
-- them) for each entry, which made an import six times slower.
CREATE TABLE ledger_counts (
    user_id BIGINT PRIMARY KEY REFERENCES users (id),
    entries BIGINT NOT NULL CHECK (entries >= 0)
);
INSERT INTO ledger_counts (user_id, entries)
    SELECT user_id, count(*) FROM balance_transactions GROUP BY user_id;

CREATE FUNCTION count_inserted_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_counts (user_id, entries)
        SELECT user_id, count(*) FROM inserted_entries
        GROUP BY user_id ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET entries = ledger_counts.entries + EXCLUDED.entries;
    RETURN NULL;
END
$$;
CREATE TRIGGER ledger_counted_on_insert AFTER INSERT ON balance_transactions
    REFERENCING NEW TABLE AS inserted_entries
    FOR EACH STATEMENT EXECUTE FUNCTION count_inserted_entries();

CREATE FUNCTION count_deleted_entries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    removed RECORD;
BEGIN
    FOR removed IN
        SELECT user_id, count(*) AS entries FROM deleted_entries
        GROUP BY user_id ORDER BY user_id
    LOOP
        UPDATE ledger_counts SET entries = entries - removed.entries
            WHERE user_id = removed.user_id;
    END LOOP;
    RETURN NULL;
END
$$;
CREATE TRIGGER ledger_counted_on_delete AFTER DELETE ON balance_transactions
    REFERENCING OLD TABLE AS deleted_entries
    FOR EACH STATEMENT EXECUTE FUNCTION count_deleted_entries();

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

-- 3. The administrators' search, from a trigram index: the text searched
--    is the address, then a separator no search term can hold (terms
--    refuse control characters), then "first last" — so that a term
--    found in it is exactly a term found in the address, the first name,
--    the last name or the full name. The query repeats this expression
--    word for word, which is how PostgreSQL knows to use the index.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_search ON users
    USING gin ((lower(email || E'\x01' || first_name || ' ' || last_name)) gin_trgm_ops)
    WHERE erased_at IS NULL;
