DELETE FROM balance_transactions WHERE action = 'opening';
ALTER TABLE balance_transactions DROP CONSTRAINT balance_transactions_action_check;
ALTER TABLE balance_transactions ADD CONSTRAINT balance_transactions_action_check
    CHECK (action IN ('in', 'out', 'convert'));

DROP TABLE legacy_refresh_tokens;

ALTER TABLE users DROP COLUMN credentials_changed_at;
ALTER TABLE users DROP COLUMN imported_at;
ALTER TABLE users DROP COLUMN last_login;
ALTER TABLE users DROP COLUMN is_active;
