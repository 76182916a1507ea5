DROP INDEX outbox_messages_by_user;
ALTER TABLE outbox_messages DROP COLUMN user_id;
DROP TABLE password_reset_requests;
-- Erased rows give up their empty address before it must be unique again.
UPDATE users SET email = 'erased-' || id || '@invalid' WHERE erased_at IS NOT NULL;
DROP INDEX users_email_lower_key;
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
ALTER TABLE users DROP COLUMN erased_at;
