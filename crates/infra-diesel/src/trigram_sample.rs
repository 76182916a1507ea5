//! How common each trigram is among the users, estimated from a random
//! sample, so that a search asks the trigram indexes for the part of the
//! term between its common trigrams (or, on PostgreSQL, for its rarest
//! trigrams). The GIN index answers a term by reading the lists of
//! all its trigrams; the list of a common one ("com" of every ".com" address, "bul"
//! of a million "bulk…" ones) costs milliseconds to read, while two rare
//! ones already narrow the candidates to a handful, which the plain
//! comparison then checks. An estimate can only make a search slower,
//! never wrong: any trigram of the term holds for every user that matches.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use rand::Rng;

use crate::live_users::live_users;
use crate::schema::users;

/// Users read for an estimate.
const SAMPLE_SIZE: usize = 2_000;
/// How long an estimate serves before it is taken again.
const SAMPLE_LIFETIME: Duration = Duration::from_secs(600);

/// Trigram counts over a sample of users' searched text, lower-cased.
#[derive(Debug, Default)]
pub(crate) struct TrigramSample {
    counts: HashMap<String, u32>,
    /// The users the sample read.
    rows: usize,
    taken_at: Option<Instant>,
}

/// A trigram held by more than this share of the users is common: reading
/// its list costs more than the candidates it rules out save.
const COMMON_SHARE: f64 = 0.02;

/// The three-character windows of `text`.
pub(crate) fn trigrams(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut trigrams: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
    trigrams.sort();
    trigrams.dedup();
    trigrams
}

impl TrigramSample {
    pub(crate) fn is_stale(&self) -> bool {
        self.taken_at
            .is_none_or(|taken| taken.elapsed() > SAMPLE_LIFETIME)
    }

    /// A new estimate from the users' rows (addresses and names).
    pub(crate) fn from_rows(rows: &[(String, String, String)]) -> Self {
        let mut counts = HashMap::new();
        for (email, first, last) in rows {
            let text = format!("{email}\u{1}{first} {last}").to_lowercase();
            for trigram in trigrams(&text) {
                *counts.entry(trigram).or_insert(0) += 1;
            }
        }
        Self {
            counts,
            rows: rows.len(),
            taken_at: Some(Instant::now()),
        }
    }

    /// Up to `wanted` trigrams of `term` that `usable` allows, rarest first
    /// (one the sample never saw counts as rarest of all).
    pub(crate) fn rarest(
        &self,
        term: &str,
        wanted: usize,
        usable: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let mut candidates: Vec<String> =
            trigrams(term).into_iter().filter(|t| usable(t)).collect();
        candidates.sort_by_key(|trigram| self.counts.get(trigram).copied().unwrap_or(0));
        candidates.truncate(wanted);
        candidates
    }

    /// The part of `term` to ask a positional index (SQLite's FTS5) for
    /// as a phrase: `term` without the common trigrams at either end, whose
    /// long lists the phrase would otherwise read through ("bul" and "ulk"
    /// of "bulk99999" among a million "bulk…" addresses leave "k99999").
    /// The whole term when every trigram is common.
    pub(crate) fn narrowest_phrase(&self, term: &str) -> String {
        let chars: Vec<char> = term.chars().collect();
        if chars.len() < 3 || self.rows == 0 {
            return term.to_owned();
        }
        let common = |start: usize| {
            let trigram: String = chars[start..start + 3].iter().collect();
            let held = self.counts.get(&trigram).copied().unwrap_or(0);
            f64::from(held) > COMMON_SHARE * self.rows as f64
        };
        let (mut first, mut last) = (0, chars.len() - 3);
        while first < last && common(first) {
            first += 1;
        }
        while last > first && common(last) {
            last -= 1;
        }
        if first == last && common(first) {
            return term.to_owned();
        }
        chars[first..last + 3].iter().collect()
    }
}

/// A sample of users' searched text from PostgreSQL or SQLite: random ids
/// up to the largest, the live users among them.
macro_rules! sample_rows {
    ($conn:expr) => {{
        let conn = $conn;
        let largest: Option<i64> = users::table
            .select(diesel::dsl::max(users::id))
            .first(conn)?;
        let ids: Vec<i64> = match largest {
            Some(largest) if largest > 0 => {
                let mut random = rand::rng();
                (0..SAMPLE_SIZE)
                    .map(|_| random.random_range(1..=largest))
                    .collect()
            }
            _ => Vec::new(),
        };
        live_users()
            .filter(users::id.eq_any(ids))
            .select((users::email, users::first_name, users::last_name))
            .load(conn)
    }};
}

/// A sample from PostgreSQL, whose trigram index reads the whole list of
/// every trigram it is asked for.
pub(crate) fn sample_postgres(
    conn: &mut diesel::PgConnection,
) -> QueryResult<Vec<(String, String, String)>> {
    sample_rows!(conn)
}

/// A sample from SQLite, whose FTS5 index reads the lists of a phrase's
/// trigrams.
pub(crate) fn sample_sqlite(
    conn: &mut diesel::SqliteConnection,
) -> QueryResult<Vec<(String, String, String)>> {
    sample_rows!(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(email: &str) -> (String, String, String) {
        (email.to_owned(), "Ann".to_owned(), "Lee".to_owned())
    }

    #[test]
    fn the_rarest_trigrams_come_first_and_unseen_ones_before_all() {
        let rows: Vec<_> = (0..50)
            .map(|n| row(&format!("bulk{n}@example.com")))
            .chain([row("bulk99@example.com")])
            .collect();
        let sample = TrigramSample::from_rows(&rows);
        assert_eq!(sample.rarest("bulk99", 2, |_| true), vec!["k99", "lk9"]);
        assert_eq!(sample.rarest("zzzbul", 1, |_| true), vec!["zbu"]);
        let alphanumeric = |t: &str| t.chars().all(char::is_alphanumeric);
        assert_eq!(sample.rarest("@ex", 2, alphanumeric), Vec::<String>::new());
    }

    #[test]
    fn the_phrase_sheds_common_trigrams_at_either_end_only() {
        let rows: Vec<_> = (0..100)
            .map(|n| row(&format!("bulk{n}@example.com")))
            .collect();
        let sample = TrigramSample::from_rows(&rows);
        // "bul", "ulk" and "lk9" are common here; "k99" and "999" are not.
        assert_eq!(sample.narrowest_phrase("bulk99999"), "k99999");
        assert_eq!(sample.narrowest_phrase("nomatch"), "nomatch");
        // A rare trigram in the middle keeps what lies between.
        assert_eq!(sample.narrowest_phrase("bulkzz@ex"), "lkzz@e");
        // Every trigram common: the whole term.
        assert_eq!(sample.narrowest_phrase("example"), "example");
        assert_eq!(TrigramSample::default().narrowest_phrase("bulk9"), "bulk9");
    }

    #[test]
    fn a_new_estimate_serves_and_none_is_stale() {
        assert!(TrigramSample::default().is_stale());
        assert!(!TrigramSample::from_rows(&[row("a@b.c")]).is_stale());
    }
}
