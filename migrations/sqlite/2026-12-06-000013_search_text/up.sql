-- SQLite's search index (FTS5, users_search) holds its own copy of the
-- text and needs no column. Its segments are merged into one here, once:
-- a database filled before this version (by an import, say) may hold many
-- small ones, which every search reads in turn. Imports merge them when
-- they end from now on.
INSERT INTO users_search (users_search) VALUES ('optimize');
