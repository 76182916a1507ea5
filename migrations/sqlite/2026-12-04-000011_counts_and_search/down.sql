DROP TRIGGER users_search_on_delete;
DROP TRIGGER users_search_on_change;
DROP TRIGGER users_search_on_insert;
DROP TABLE users_search;
CREATE INDEX users_pending_queue ON users (date_joined, id)
    WHERE status = 'pending' AND awaiting_activation = FALSE;
DROP INDEX users_queue;
DROP INDEX users_by_status;
DROP TRIGGER ledger_counted_on_delete;
DROP TRIGGER ledger_counted_on_insert;
DROP TABLE ledger_counts;
DROP TRIGGER users_counted_on_delete;
DROP TRIGGER users_counted_on_change;
DROP TRIGGER users_counted_on_insert;
DROP TABLE user_counts;
