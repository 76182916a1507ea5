-- Whether two addresses are the same account is decided by one canonical
-- form, computed by the service (IDNA for the domain, then lower case), so
-- that it is the same on every backend: SQLite's lower() folds ASCII only,
-- PostgreSQL's every letter its locale knows. Existing rows get theirs when
-- `migrate` runs (the service fills the column after the SQL migrations);
-- erased accounts have none.
ALTER TABLE users ADD COLUMN email_canonical TEXT;
DROP INDEX users_email_lower_key;
CREATE UNIQUE INDEX users_email_canonical_key ON users (email_canonical);
