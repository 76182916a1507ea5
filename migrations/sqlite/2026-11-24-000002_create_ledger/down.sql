DROP TABLE idempotency_keys;
DROP TABLE balance_transactions;
