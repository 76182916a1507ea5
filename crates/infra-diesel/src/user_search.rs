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

use std::sync::{Mutex, PoisonError};

use crate::schema::users;
use crate::trigram_sample::{sample_postgres, sample_sqlite, trigrams, TrigramSample};

/// The shortest term a trigram index answers.
pub(crate) const INDEXED_SEARCH_CHARS: usize = 3;

/// A condition on a `users` row, for the connection's backend.
pub(crate) type UserCondition<DB> = Box<dyn BoxableExpression<users::table, DB, SqlType = Bool>>;

/// How one list request answers its search, worked out once for its page
/// and its count.
#[derive(Debug, Clone)]
pub(crate) struct SearchPlan {
    term: SearchTerm,
    /// What the index is asked for: the part of the term between its
    /// common trigrams (on PostgreSQL, when it holds a trigram of letters
    /// and digits, which `pg_trgm` indexes; else the term's rarest such
    /// trigrams, or none); none for a short term.
    trigrams: Vec<String>,
}

/// How many of a term's trigrams the index is asked for.
const TRIGRAMS_ASKED: usize = 2;

/// `rarest` of the sample, taken again first when it has grown stale.
fn from_sample<C>(
    conn: &mut C,
    sample: &Mutex<TrigramSample>,
    take: impl FnOnce(&mut C) -> QueryResult<Vec<(String, String, String)>>,
    rarest: impl FnOnce(&TrigramSample) -> Vec<String>,
) -> QueryResult<Vec<String>> {
    let stale = sample
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .is_stale();
    if stale {
        let fresh = TrigramSample::from_rows(&take(conn)?);
        *sample.lock().unwrap_or_else(PoisonError::into_inner) = fresh;
    }
    Ok(rarest(
        &sample.lock().unwrap_or_else(PoisonError::into_inner),
    ))
}

/// The search condition as each backend answers it best.
pub(crate) trait UserSearch: diesel::Connection {
    /// Works out how to answer `term`.
    fn plan_search(
        &mut self,
        term: &SearchTerm,
        sample: &Mutex<TrigramSample>,
    ) -> QueryResult<SearchPlan>;

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
    fn plan_search(
        &mut self,
        term: &SearchTerm,
        sample: &Mutex<TrigramSample>,
    ) -> QueryResult<SearchPlan> {
        // No plan_cache_mode to set: the indexed condition is raw SQL,
        // which Diesel never keeps prepared, so PostgreSQL plans each
        // indexed search for its own pattern (a plan kept for any pattern
        // would walk the users in id order instead of taking the trigram
        // index). A short term's kept plan walks them in id order, as its
        // bounded scan should.
        let trigrams = if indexed(term) {
            // pg_trgm indexes the trigrams of words: letters and digits.
            let of_a_word = |t: &str| t.chars().all(char::is_alphanumeric);
            from_sample(self, sample, sample_postgres, |sample| {
                // The part of the term between its common trigrams: the
                // index reads only short lists, and its own recheck of that
                // part already rules out most candidates (1 119 for
                // "k99999" of "bulk99999", of which 11 hold it), each
                // with one comparison. A part with no trigram of a word
                // would have the index read everything: then the rarest
                // trigrams of words, or none.
                let narrowest = sample.narrowest_phrase(term.as_str());
                if trigrams(&narrowest).iter().any(|t| of_a_word(t)) {
                    vec![narrowest]
                } else {
                    sample.rarest(term.as_str(), TRIGRAMS_ASKED, of_a_word)
                }
            })?
        } else {
            Vec::new()
        };
        Ok(SearchPlan {
            term: term.clone(),
            trigrams,
        })
    }

    fn matching(plan: &SearchPlan) -> UserCondition<diesel::pg::Pg> {
        let term = &plan.term;
        if !indexed(term) {
            return Box::new(plain_match!(term));
        }
        if let [first, rest @ ..] = plan.trigrams.as_slice() {
            // The index finds the users holding those parts of the term;
            // the plain comparison (which the index does not answer) keeps
            // those holding the term.
            let mut condition = indexed_text_contains(first);
            for trigram in rest {
                condition = Box::new(condition.and(indexed_text_contains(trigram)));
            }
            return Box::new(condition.and(plain_match!(term)));
        }
        // The GIN index rechecks what it finds, so this is the whole
        // condition.
        indexed_text_contains(term.as_str())
    }
}

/// The searched text contains `text`: `search_text`, the column the
/// `users_search_text` trigram index holds (the address, a separator no
/// term can hold, then "first last", lowered; see the migrations), which
/// the schema leaves out as only PostgreSQL has it.
fn indexed_text_contains(text: &str) -> UserCondition<diesel::pg::Pg> {
    Box::new(
        sql::<Bool>("users.search_text LIKE ")
            .bind::<Text, _>(contains_pattern(text))
            .sql(" ESCAPE '\\'"),
    )
}

/// An FTS5 phrase holding `text` literally.
fn phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

impl UserSearch for diesel::SqliteConnection {
    fn plan_search(
        &mut self,
        term: &SearchTerm,
        sample: &Mutex<TrigramSample>,
    ) -> QueryResult<SearchPlan> {
        // FTS5 answers a phrase by reading the lists of its trigrams, with
        // their positions: given "bulk99999" among a million "bulk…", it
        // read a million-long list twice (10 ms p50). Asked for the part
        // of the term between its common trigrams ("k99999"), it reads
        // short lists, and the phrase still narrows to the users holding
        // that part, which the plain comparison then checks.
        let phrase = if indexed(term) {
            from_sample(self, sample, sample_sqlite, |sample| {
                vec![sample.narrowest_phrase(term.as_str())]
            })?
        } else {
            Vec::new()
        };
        Ok(SearchPlan {
            term: term.clone(),
            trigrams: phrase,
        })
    }

    fn matching(plan: &SearchPlan) -> UserCondition<diesel::sqlite::Sqlite> {
        let term = &plan.term;
        if !indexed(term) {
            return Box::new(plain_match!(term));
        }
        let index_query = phrase(plan.trigrams.first().map_or(term.as_str(), String::as_str));
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
    use super::{contains_pattern, SearchPlan, UserSearch};
    use authusers_domain::search_term::SearchTerm;
    use diesel::pg::Pg;
    use diesel::prelude::*;
    use diesel::query_builder::QueryFragment;

    use crate::schema::users;

    fn pg_search_is_kept_prepared(term: &str, trigrams: &[&str]) -> bool {
        let plan = SearchPlan {
            term: SearchTerm::parse(term).unwrap().unwrap(),
            trigrams: trigrams.iter().map(|t| (*t).to_owned()).collect(),
        };
        let query = users::table
            .filter(<diesel::PgConnection as UserSearch>::matching(&plan))
            .select(users::id)
            .into_boxed::<Pg>();
        QueryFragment::<Pg>::is_safe_to_cache_prepared(&query, &Pg).unwrap()
    }

    #[test]
    fn postgres_plans_every_indexed_search_for_its_own_pattern() {
        // A statement Diesel keeps prepared would soon get one generic plan
        // for every pattern; these are sent unnamed, planned each time.
        assert!(!pg_search_is_kept_prepared("bulk99999", &["k99999"]));
        assert!(!pg_search_is_kept_prepared("bulk99999", &[]));
        // A short term's plan may be kept: it walks the users in id order.
        assert!(pg_search_is_kept_prepared("ab", &[]));
    }

    #[test]
    fn search_patterns_match_literally() {
        assert_eq!(contains_pattern("ann"), "%ann%");
        assert_eq!(contains_pattern("100%_a\\b"), "%100\\%\\_a\\\\b%");
    }
}
