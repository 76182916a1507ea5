DROP INDEX users_search;
CREATE INDEX users_pending_queue ON users (date_joined, id)
    WHERE status = 'pending' AND awaiting_activation = FALSE;
DROP INDEX users_queue;
DROP INDEX users_by_status;
DROP TRIGGER ledger_counted_on_delete ON balance_transactions;
DROP TRIGGER ledger_counted_on_insert ON balance_transactions;
DROP FUNCTION count_deleted_entries();
DROP FUNCTION count_inserted_entries();
DROP TABLE ledger_counts;
DROP TRIGGER users_counted_on_delete ON users;
DROP TRIGGER users_counted_on_change ON users;
DROP TRIGGER users_counted_on_insert ON users;
DROP FUNCTION count_changed_user();
DROP FUNCTION count_inserted_users();
DROP TABLE user_counts;
