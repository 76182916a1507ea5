-- The administrators' search reads its text from a stored column instead
-- of an index on an expression. The trigram index is lossy: PostgreSQL
-- checks each candidate it finds against the pattern again, and with an
-- index on lower(...) that meant lowering every candidate's text once
-- more (a search for "bulk99999" among a million "bulk…" addresses has
-- about a thousand candidates for its eleven users: most of the search's
-- time). Stored lowered, the check is a plain LIKE. The text is the same:
-- the address, a separator no search term can hold, then "first last".
-- Adding the column rewrites the table once (about ten seconds a million
-- users), holding its lock meanwhile.
ALTER TABLE users ADD COLUMN search_text text
    GENERATED ALWAYS AS (lower(email || E'\x01' || first_name || ' ' || last_name)) STORED;
CREATE INDEX users_search_text ON users USING gin (search_text gin_trgm_ops)
    WHERE erased_at IS NULL;
DROP INDEX users_search;
