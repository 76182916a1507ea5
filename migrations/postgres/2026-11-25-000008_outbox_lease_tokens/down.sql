ALTER TABLE outbox_messages DROP COLUMN lease_token;
