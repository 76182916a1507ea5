//! How common each trigram is among the users, estimated from a random
//! sample, so that a search asks PostgreSQL's trigram index for the term's
//! rarest trigrams. The GIN index answers a term by reading the lists of
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
    taken_at: Option<Instant>,
}

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
}

/// A sample from PostgreSQL, whose trigram index reads the whole list of
/// every trigram it is asked for (SQLite's FTS5 skips through them itself).
pub(crate) fn sample_postgres(
    conn: &mut diesel::PgConnection,
) -> QueryResult<Vec<(String, String, String)>> {
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
    fn a_new_estimate_serves_and_none_is_stale() {
        assert!(TrigramSample::default().is_stale());
        assert!(!TrigramSample::from_rows(&[row("a@b.c")]).is_stale());
    }
}
