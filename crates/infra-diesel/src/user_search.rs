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

/// How one list request answers its search, worked out once for its page
/// and its count.
#[derive(Debug, Clone)]
pub(crate) struct SearchPlan {
    term: SearchTerm,
    /// SQLite: the FTS5 query that finds the candidates.
    index_query: Option<String>,
}

/// The search condition as each backend answers it best.
pub(crate) trait UserSearch: diesel::Connection {
    /// Readies the connection (inside the list's transaction) and works
    /// out how to answer `term`.
    fn plan_search(&mut self, term: &SearchTerm) -> QueryResult<SearchPlan>;

    fn matching(plan: &SearchPlan) -> UserCondition<Self::Backend>;
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
    fn plan_search(&mut self, term: &SearchTerm) -> QueryResult<SearchPlan> {
        // A prepared statement is soon planned once for any pattern, and
        // that plan, not knowing how rare the pattern is, walks the users
        // in id order; planned for the pattern at hand, it takes the
        // trigram index. For this transaction only.
        diesel::sql_query("SET LOCAL plan_cache_mode = force_custom_plan").execute(self)?;
        Ok(SearchPlan {
            term: term.clone(),
            index_query: None,
        })
    }

    fn matching(plan: &SearchPlan) -> UserCondition<diesel::pg::Pg> {
        let term = &plan.term;
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

/// How many live users hold a trigram, as the index counts them.
#[derive(QueryableByName)]
struct TrigramCount {
    #[diesel(sql_type = Text)]
    term: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    doc: i64,
}

/// An FTS5 phrase holding `text` literally.
fn phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// The rarest trigrams an FTS5 query asks for.
const TRIGRAMS_ASKED: usize = 2;

impl UserSearch for diesel::SqliteConnection {
    fn plan_search(&mut self, term: &SearchTerm) -> QueryResult<SearchPlan> {
        if !indexed(term) {
            return Ok(SearchPlan {
                term: term.clone(),
                index_query: None,
            });
        }
        // Every user holding the term holds each of its trigrams, so the
        // rarest two find a few candidates without reading the long lists
        // of the common ones ("bul" of a million "bulk…" addresses), which
        // the whole phrase would. The counts come from the index's own
        // vocabulary; a trigram it does not know (the index folds letters
        // its own way) is taken for a common one.
        let chars: Vec<char> = term.as_str().chars().collect();
        let mut trigrams: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
        trigrams.sort();
        trigrams.dedup();
        let mut lookup = diesel::sql_query(format!(
            "SELECT term, doc FROM users_search_vocab WHERE term IN ({})",
            vec!["?"; trigrams.len()].join(", ")
        ))
        .into_boxed();
        for trigram in &trigrams {
            lookup = lookup.bind::<Text, _>(trigram.clone());
        }
        let counts: Vec<TrigramCount> = lookup.load(self)?;
        let count_of = |trigram: &String| {
            counts
                .iter()
                .find(|count| &count.term == trigram)
                .map_or(i64::MAX, |count| count.doc)
        };
        trigrams.sort_by_key(count_of);
        let index_query = if trigrams.first().map(count_of) == Some(i64::MAX) {
            // Nothing known: the whole term as one phrase.
            phrase(term.as_str())
        } else {
            trigrams
                .iter()
                .take(TRIGRAMS_ASKED)
                .map(|trigram| phrase(trigram))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        Ok(SearchPlan {
            term: term.clone(),
            index_query: Some(index_query),
        })
    }

    fn matching(plan: &SearchPlan) -> UserCondition<diesel::sqlite::Sqlite> {
        let term = &plan.term;
        let Some(index_query) = plan.index_query.clone() else {
            return Box::new(plain_match!(term));
        };
        // The trigram index finds every row holding the term, and more:
        // rows holding its rarest trigrams elsewhere, and letters folded
        // further than SQLite's lower() folds them. The plain comparison
        // then keeps exactly the rows the scan would.
        Box::new(
            sql::<Bool>("users.id IN (SELECT rowid FROM users_search WHERE users_search MATCH ")
                .bind::<Text, _>(index_query)
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
