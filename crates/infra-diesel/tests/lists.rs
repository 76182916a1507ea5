//! Lists at scale, on both backends: the counts the triggers keep agree with
//! a full count after random concurrent changes, and the search answered
//! from the trigram indexes finds exactly the users the plain comparison
//! finds, on random data.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use authusers_domain::accounts::{NewUser, UserFilter, UserRepository};
use authusers_domain::balance::{BalanceChange, BalanceKind, BalanceOperation, BonusPolicy};
use authusers_domain::notification::{Language, OutgoingEmail};
use authusers_domain::search_term::SearchTerm;
use authusers_domain::user::DecisionRecord;
use authusers_domain::wallet::{BalanceCommand, BalanceRepository};
use authusers_domain::{Amount, Decision, PageRequest, PersonName, UserId, UserStatus};
use authusers_infra_diesel::test_support::{self, at, TestDatabase};
use authusers_infra_diesel::{on_both_backends, DieselBalanceRepository, DieselUserRepository};
use chrono::Duration;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

on_both_backends!(
    counts_agree_with_a_full_count_after_concurrent_changes,
    the_indexed_search_finds_what_the_plain_scan_finds,
);

#[derive(Debug, Clone, Copy)]
enum Change {
    Register,
    Accept(usize),
    Reject(usize),
    Erase(usize),
    Deposit(usize),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        2 => Just(Change::Register),
        2 => (0..40usize).prop_map(Change::Accept),
        1 => (0..40usize).prop_map(Change::Reject),
        1 => (0..40usize).prop_map(Change::Erase),
        4 => (0..40usize).prop_map(Change::Deposit),
    ]
}

struct Repos {
    users: DieselUserRepository,
    balances: DieselBalanceRepository,
    registered: AtomicUsize,
}

impl Repos {
    /// One change; refusals (a decided user, a balance to erase, a user
    /// gone) are part of the game.
    async fn apply(&self, change: Change) {
        let id = |n: usize| UserId(i64::try_from(n % 40).unwrap() + 1);
        match change {
            Change::Register => {
                let n = self.registered.fetch_add(1, Ordering::SeqCst);
                let email = format!("late{n}@example.com");
                self.users
                    .insert(test_support::new_user(&email))
                    .await
                    .unwrap();
            }
            Change::Accept(n) | Change::Reject(n) => {
                let Some(mut user) = self.users.find_by_id(id(n)).await.unwrap() else {
                    return;
                };
                if user.status != UserStatus::Pending {
                    return;
                }
                let decision = if matches!(change, Change::Accept(_)) {
                    user.status = UserStatus::Approved;
                    Decision::Accept
                } else {
                    user.status = UserStatus::Rejected;
                    Decision::Reject
                };
                user.decision = Some(DecisionRecord {
                    decided_by: None,
                    decided_at: at(1),
                });
                let mail = OutgoingEmail::registration_decision(&user, decision, Language::English);
                self.users.save_decision(&user, &mail).await.unwrap();
            }
            Change::Erase(n) => {
                self.users.erase(id(n), at(2)).await.unwrap();
            }
            Change::Deposit(n) => {
                let operation = BalanceOperation::Deposit {
                    kind: BalanceKind::Real,
                    amount: Amount::parse("0.01").unwrap(),
                };
                let command = BalanceCommand {
                    user: id(n),
                    operation,
                    change: BalanceChange::of(operation, &BonusPolicy::standard()).unwrap(),
                    at: at(3),
                    idempotency_key: None,
                    keys_valid_since: at(3) - Duration::hours(24),
                };
                // A user erased or never there: refused, nothing written.
                let _ = self.balances.apply(command).await;
            }
        }
    }
}

async fn counts_agree_with_a_full_count_after_concurrent_changes(db: &TestDatabase) {
    let database = db.connect().await;
    let repos = Arc::new(Repos {
        users: DieselUserRepository::new(database.clone()),
        balances: DieselBalanceRepository::new(database),
        registered: AtomicUsize::new(0),
    });
    for n in 0..30 {
        let status = if n % 3 == 0 {
            UserStatus::Pending
        } else {
            UserStatus::Approved
        };
        let user = NewUser {
            status,
            awaiting_activation: n % 10 == 9,
            ..test_support::new_user(&format!("user{n}@example.com"))
        };
        repos.users.insert(user).await.unwrap();
    }
    let mut runner = TestRunner::deterministic();
    for round in 0..4 {
        // Four writers at once, each with its own random changes.
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let changes = proptest::collection::vec(change(), 30)
                    .new_tree(&mut runner)
                    .unwrap()
                    .current();
                let repos = repos.clone();
                tokio::spawn(async move {
                    for change in changes {
                        repos.apply(change).await;
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }

        let live = "FROM users WHERE erased_at IS NULL";
        let everyone = repos
            .users
            .list(UserFilter::default(), PageRequest::default());
        assert_eq!(
            everyone.await.unwrap().total,
            u64::try_from(db.number(&format!("SELECT count(*) AS value {live}")).await).unwrap(),
            "round {round}: all users"
        );
        for status in [
            UserStatus::Pending,
            UserStatus::Approved,
            UserStatus::Rejected,
        ] {
            let filter = UserFilter {
                status: Some(status),
                ..UserFilter::default()
            };
            let counted = repos
                .users
                .list(filter, PageRequest::default())
                .await
                .unwrap();
            let sql = format!(
                "SELECT count(*) AS value {live} AND status = '{}'",
                status.as_str()
            );
            assert_eq!(
                counted.total,
                u64::try_from(db.number(&sql).await).unwrap(),
                "round {round}: {status:?}"
            );
        }
        let queue = repos
            .users
            .list_pending(PageRequest::default())
            .await
            .unwrap();
        let sql = format!(
            "SELECT count(*) AS value {live} AND status = 'pending' AND awaiting_activation = FALSE"
        );
        assert_eq!(queue.total, u64::try_from(db.number(&sql).await).unwrap());
        for id in 1..=40 {
            let ledger = repos
                .balances
                .ledger(UserId(id), PageRequest::default())
                .await
                .unwrap();
            let sql =
                format!("SELECT count(*) AS value FROM balance_transactions WHERE user_id = {id}");
            assert_eq!(
                ledger.total,
                u64::try_from(db.number(&sql).await).unwrap(),
                "round {round}: the ledger of user {id}"
            );
        }
    }
    let entries = db
        .number("SELECT count(*) AS value FROM balance_transactions")
        .await;
    assert!(entries > 20, "the changes reached the ledger: {entries}");
}

/// Text for addresses and names: letters of both cases (some whose lower
/// case only PostgreSQL and the trigram index know), digits, and what a
/// LIKE pattern or an FTS5 query would read as syntax.
fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => proptest::char::range('a', 'c'),
            2 => proptest::char::range('A', 'C'),
            3 => proptest::sample::select(vec!['é', 'É', 'ß', 'İ', 'K', 'Ω', 'ω']),
            1 => proptest::sample::select(vec!['%', '_', '\\', '"', '\'', '*', '-', ' ', '.']),
        ],
        1..=max,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn person() -> impl Strategy<Value = (String, String, String)> {
    ("[a-e]{1,6}", text(8), text(8))
}

async fn the_indexed_search_finds_what_the_plain_scan_finds(db: &TestDatabase) {
    let users = DieselUserRepository::new(db.connect().await);
    let mut runner = TestRunner::deterministic();
    let people = proptest::collection::vec(person(), 120)
        .new_tree(&mut runner)
        .unwrap()
        .current();
    let mut haystacks = Vec::new();
    for (n, (local, first, last)) in people.into_iter().enumerate() {
        let (Ok(first), Ok(last)) = (PersonName::parse(&first), PersonName::parse(&last)) else {
            continue;
        };
        let user = NewUser {
            first_name: first.clone(),
            last_name: last.clone(),
            ..test_support::new_user(&format!("{local}{n}@Ex{}.example", n % 7))
        };
        let stored = users.insert(user).await.unwrap();
        haystacks.push(format!(
            "{} {} {}",
            stored.email.as_str(),
            first.as_str(),
            last.as_str()
        ));
        if n % 17 == 0 {
            // Erased users are found by neither.
            users.erase(stored.id, at(1)).await.unwrap();
        }
    }
    assert!(
        haystacks.len() > 60,
        "most names parse: {}",
        haystacks.len()
    );

    // Terms cut from the data (so that many hit), with their case changed
    // at random, and terms made up (most miss).
    let cut = (0..haystacks.len(), 0..40usize, 1..8usize, any::<bool>());
    let terms = proptest::collection::vec(
        prop_oneof![cut.prop_map(Some), text(6).prop_map(|_| None)],
        200,
    )
    .new_tree(&mut runner)
    .unwrap()
    .current();
    let made_up = proptest::collection::vec(text(6), 200)
        .new_tree(&mut runner)
        .unwrap()
        .current();
    let mut indexed = 0;
    for (n, term) in terms.into_iter().enumerate() {
        let raw = match term {
            Some((which, start, len, upper)) => {
                let chars: Vec<char> = haystacks[which].chars().collect();
                let start = start % chars.len();
                let cut: String = chars[start..(start + len).min(chars.len())]
                    .iter()
                    .collect();
                if upper {
                    cut.to_uppercase()
                } else {
                    cut
                }
            }
            None => made_up[n].clone(),
        };
        let Ok(Some(term)) = SearchTerm::parse(&raw) else {
            continue;
        };
        if term.as_str().chars().count() >= 3 {
            indexed += 1;
        }
        let filter = UserFilter {
            search: Some(term.clone()),
            ..UserFilter::default()
        };
        let page = users
            .list(filter, PageRequest::new(Some(500), None).unwrap())
            .await
            .unwrap();
        let found: Vec<i64> = page.items.iter().map(|user| user.id.0).collect();
        let expected = db.plain_search_ids(&term).await;
        assert_eq!(found, expected, "the term {raw:?} ({:?})", term.as_str());
        assert_eq!(
            page.total,
            u64::try_from(expected.len()).unwrap(),
            "{raw:?}"
        );
    }
    assert!(indexed > 100, "most terms go through the index: {indexed}");
}
