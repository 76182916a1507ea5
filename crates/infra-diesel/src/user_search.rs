//! The administrators' search of users: a case-insensitive substring of the
//! address, the first name, the last name or "first last", with `%` and
//! `_` matched literally. Terms of three characters or more are answered
//! from a trigram index (PostgreSQL's `pg_trgm`, SQLite's FTS5 `trigram`);
//! shorter ones, which no trigram index can answer, by the plain
//! comparison, which scans (`docs/api.md` says so).

use authusers_domain::search_term::SearchTerm;
use diesel::dsl::sql;
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use crate::schema::users;

/// The shortest term a trigram index answers.
pub(crate) const INDEXED_SEARCH_CHARS: usize = 3;

/// A condition on a `users` row, for the connection's backend.
pub(crate) type UserCondition<DB> = Box<dyn BoxableExpression<users::table, DB, SqlType = Bool>>;

/// The search condition as each backend answers it best.
pub(crate) trait UserSearch: diesel::Connection {
    fn matching(term: &SearchTerm) -> UserCondition<Self::Backend>;
}

/// `text` as a `LIKE` pattern that matches it literally anywhere: `%`, `_`
/// and the escape character itself lose their meaning.
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

fn indexed(term: &SearchTerm) -> bool {
    term.as_str().chars().count() >= INDEXED_SEARCH_CHARS
}

/// The plain comparison, column by column: the meaning of a search, and
/// how short terms are answered.
macro_rules! plain_match {
    ($term:expr) => {{
        use $crate::schema::{lower, users};
        // The term is lower-cased already; SQLite's lower() folds ASCII
        // letters only, PostgreSQL's every letter its locale knows.
        let pattern = $crate::user_search::contains_pattern($term.as_str());
        lower(users::email)
            .like(pattern.clone())
            .escape('\\')
            .or(lower(users::first_name).like(pattern.clone()).escape('\\'))
            .or(lower(users::last_name).like(pattern.clone()).escape('\\'))
            .or(
                lower(users::first_name.concat(" ").concat(users::last_name))
                    .like(pattern)
                    .escape('\\'),
            )
    }};
}
#[cfg(feature = "test-support")]
pub(crate) use plain_match;

impl UserSearch for diesel::PgConnection {
    fn matching(term: &SearchTerm) -> UserCondition<diesel::pg::Pg> {
        if !indexed(term) {
            return Box::new(plain_match!(term));
        }
        // Word for word the expression of the `users_search` index (see
        // the migration): the address, a separator no term can hold, then
        // "first last". The GIN index rechecks what it finds, so this is
        // the whole condition.
        Box::new(
            sql::<Bool>(
                "lower(users.email || E'\\x01' || users.first_name || ' ' || users.last_name) \
                 LIKE ",
            )
            .bind::<Text, _>(contains_pattern(term.as_str()))
            .sql(" ESCAPE '\\'"),
        )
    }
}

impl UserSearch for diesel::SqliteConnection {
    fn matching(term: &SearchTerm) -> UserCondition<diesel::sqlite::Sqlite> {
        if !indexed(term) {
            return Box::new(plain_match!(term));
        }
        // The trigram index finds every row holding the term, whatever its
        // case (it folds more letters than SQLite's lower() does); the
        // plain comparison then keeps exactly the rows the scan would.
        let phrase = format!("\"{}\"", term.as_str().replace('"', "\"\""));
        Box::new(
            sql::<Bool>("users.id IN (SELECT rowid FROM users_search WHERE users_search MATCH ")
                .bind::<Text, _>(phrase)
                .sql(")")
                .and(plain_match!(term)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn search_patterns_match_literally() {
        assert_eq!(contains_pattern("ann"), "%ann%");
        assert_eq!(contains_pattern("100%_a\\b"), "%100\\%\\_a\\\\b%");
    }
}
