DROP INDEX users_email_canonical_key;
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email)) WHERE erased_at IS NULL;
ALTER TABLE users DROP COLUMN email_canonical;
