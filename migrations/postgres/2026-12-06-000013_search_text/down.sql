CREATE INDEX users_search ON users
    USING gin ((lower(email || E'\x01' || first_name || ' ' || last_name)) gin_trgm_ops)
    WHERE erased_at IS NULL;
DROP INDEX users_search_text;
ALTER TABLE users DROP COLUMN search_text;
