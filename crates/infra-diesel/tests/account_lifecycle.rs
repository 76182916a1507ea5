//! Credential changes, erasure and the user list against real databases,
//! on SQLite and on PostgreSQL, with racing writers.

use authusers_infra_diesel::test_support::at;
use std::sync::Arc;

use authusers_domain::accounts::{
    EraseOutcome, NewUser, SearchTerm, StoreEmailError, UserFilter, UserRepository,
};
use authusers_domain::balance::{BalanceChange, BalanceKind, BalanceOperation, BonusPolicy};
use authusers_domain::notification::{Language, OutgoingEmail};
use authusers_domain::outbox::{AttemptOutcome, OutboxRepository};
use authusers_domain::password_reset::{PasswordResetRepository, ResetRequestOutcome, ResetToken};
use authusers_domain::wallet::{
    ApplyBalanceError, BalanceCommand, BalanceOutcome, BalanceRepository,
};
use authusers_domain::{
    Amount, Decision, Email, PageRequest, PasswordHash, User, UserId, UserStatus,
};
use authusers_infra_diesel::test_support::{self, TestDatabase};
use authusers_infra_diesel::{
    on_both_backends, Database, DieselBalanceRepository, DieselOutboxRepository,
    DieselPasswordResetRepository, DieselUserRepository,
};
use chrono::Duration;

struct Repositories {
    database: Database,
    users: Arc<DieselUserRepository>,
    resets: DieselPasswordResetRepository,
    balances: Arc<DieselBalanceRepository>,
    outbox: DieselOutboxRepository,
}

async fn repositories(db: &TestDatabase) -> Repositories {
    let database = db.connect().await;
    Repositories {
        users: Arc::new(DieselUserRepository::new(database.clone())),
        resets: DieselPasswordResetRepository::new(database.clone()),
        balances: Arc::new(DieselBalanceRepository::new(database.clone())),
        outbox: DieselOutboxRepository::new(database.clone()),
        database,
    }
}

async fn approved(users: &DieselUserRepository, email: &str) -> User {
    users
        .insert(NewUser {
            status: UserStatus::Approved,
            ..test_support::new_user(email)
        })
        .await
        .unwrap()
}

/// Mails `user` a reset link with `token`, valid for an hour from `now`.
async fn mail_link(repos: &Repositories, user: &User, token: &ResetToken, now: i64) {
    let record = test_support::reset_request(user, token, at(now), None);
    let outcome = repos.resets.record_request(record).await.unwrap();
    assert_eq!(outcome, ResetRequestOutcome::Mailed);
}

fn deposit(user: UserId, value: &str, now: i64) -> BalanceCommand {
    let operation = BalanceOperation::Deposit {
        kind: BalanceKind::Real,
        amount: Amount::parse(value).unwrap(),
    };
    BalanceCommand {
        user,
        operation,
        change: BalanceChange::of(operation, &BonusPolicy::standard()).unwrap(),
        at: at(now),
        idempotency_key: None,
        keys_valid_since: at(now) - Duration::hours(24),
    }
}

fn withdrawal(user: UserId, value: &str, now: i64) -> BalanceCommand {
    let operation = BalanceOperation::Withdraw {
        kind: BalanceKind::Real,
        amount: Amount::parse(value).unwrap(),
    };
    BalanceCommand {
        change: BalanceChange::of(operation, &BonusPolicy::standard()).unwrap(),
        operation,
        ..deposit(user, value, now)
    }
}

async fn setting_a_password_ends_live_reset_links(db: &TestDatabase) {
    let repos = repositories(db).await;
    let ann = approved(&repos.users, "ann@example.com").await;
    mail_link(&repos, &ann, &ResetToken::from_bytes([1; 32]), 0).await;
    assert_eq!(
        repos.resets.live_links(ann.id, at(60)).await.unwrap().len(),
        1
    );

    let changed = repos
        .users
        .set_password(ann.id, PasswordHash::new("$2b$new".into()), at(120))
        .await
        .unwrap();
    assert!(changed);
    let stored = repos.users.find_by_id(ann.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash.as_str(), "$2b$new");
    assert!(repos
        .resets
        .live_links(ann.id, at(180))
        .await
        .unwrap()
        .is_empty());

    let nobody = repos
        .users
        .set_password(UserId(9_999), PasswordHash::new("$2b$x".into()), at(120))
        .await
        .unwrap();
    assert!(!nobody);
}

async fn an_email_change_is_unique_notified_and_ends_links(db: &TestDatabase) {
    let repos = repositories(db).await;
    let ann = approved(&repos.users, "ann@example.com").await;
    approved(&repos.users, "bob@example.com").await;
    mail_link(&repos, &ann, &ResetToken::from_bytes([1; 32]), 0).await;
    let before = repos.database.outbox_for_tests().await.len();
    let notice = OutgoingEmail::email_changed(
        &ann,
        &Email::parse("BOB@example.com").unwrap(),
        Language::English,
    );

    let taken = repos
        .users
        .change_email(
            ann.id,
            Email::parse("BOB@example.com").unwrap(),
            &notice,
            at(60),
        )
        .await;
    assert!(matches!(taken, Err(StoreEmailError::EmailTaken)));
    // Nothing changed: the address, the links, the outbox.
    let unchanged = repos.users.find_by_id(ann.id).await.unwrap().unwrap();
    assert_eq!(unchanged.email.as_str(), "ann@example.com");
    assert_eq!(
        repos.resets.live_links(ann.id, at(60)).await.unwrap().len(),
        1
    );
    assert_eq!(repos.database.outbox_for_tests().await.len(), before);

    let new = Email::parse("ann.new@example.org").unwrap();
    let notice = OutgoingEmail::email_changed(&ann, &new, Language::English);
    repos
        .users
        .change_email(ann.id, new.clone(), &notice, at(120))
        .await
        .unwrap();
    assert_eq!(
        repos.users.find_by_email(&new).await.unwrap().map(|u| u.id),
        Some(ann.id)
    );
    let old = Email::parse("ann@example.com").unwrap();
    assert_eq!(repos.users.find_by_email(&old).await.unwrap(), None);
    assert!(repos
        .resets
        .live_links(ann.id, at(180))
        .await
        .unwrap()
        .is_empty());
    let outbox = repos.database.outbox_for_tests().await;
    let last = outbox.last().unwrap();
    assert_eq!(last.recipient, "ann@example.com");
    assert_eq!(last.subject, "Your e-mail address was changed");
    assert_eq!(last.user_id, Some(ann.id.0));

    let gone = repos
        .users
        .change_email(UserId(9_999), new, &notice, at(180))
        .await;
    assert!(matches!(gone, Err(StoreEmailError::NotFound)));
}

async fn of_racing_email_changes_to_one_address_exactly_one_wins(db: &TestDatabase) {
    let repos = repositories(db).await;
    let mut contenders = Vec::new();
    for i in 0..8 {
        contenders.push(approved(&repos.users, &format!("user{i}@example.com")).await);
    }
    let tasks: Vec<_> = contenders
        .into_iter()
        .enumerate()
        .map(|(i, user)| {
            let users = Arc::clone(&repos.users);
            let target = if i % 2 == 0 {
                "prize@example.com"
            } else {
                "PRIZE@example.com"
            };
            tokio::spawn(async move {
                let email = Email::parse(target).unwrap();
                let notice = OutgoingEmail::email_changed(&user, &email, Language::English);
                users.change_email(user.id, email, &notice, at(1)).await
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => won += 1,
            Err(StoreEmailError::EmailTaken) => {}
            Err(other) => panic!("unexpected: {other}"),
        }
    }
    assert_eq!(won, 1);
}

async fn erasure_refuses_money_and_otherwise_erases_the_person_not_the_books(db: &TestDatabase) {
    let repos = repositories(db).await;
    let ann = repos
        .users
        .insert(test_support::new_user("Ann@example.com"))
        .await
        .unwrap();

    // Money in: refused; money out again.
    repos
        .balances
        .apply(deposit(ann.id, "10.00", 1))
        .await
        .unwrap();
    assert_eq!(
        repos.users.erase(ann.id, at(2)).await.unwrap(),
        EraseOutcome::BalanceNotEmpty
    );
    assert!(repos.users.find_by_id(ann.id).await.unwrap().is_some());
    repos
        .balances
        .apply(withdrawal(ann.id, "10.00", 3))
        .await
        .unwrap();
    // A decision mail sent, a reset mail waiting, a live link.
    let sent = OutgoingEmail::registration_decision(&ann, Decision::Accept, Language::English);
    let decided = User {
        status: UserStatus::Approved,
        decision: Some(authusers_domain::user::DecisionRecord {
            decided_by: None,
            decided_at: at(4),
        }),
        ..ann.clone()
    };
    assert!(repos.users.save_decision(&decided, &sent).await.unwrap());
    let claimed = repos.outbox.claim_due(at(5), at(6), 10).await.unwrap();
    repos
        .outbox
        .record_attempt(
            claimed[0].id,
            &claimed[0].lease,
            1,
            at(5),
            &AttemptOutcome::Sent,
        )
        .await
        .unwrap();
    mail_link(&repos, &ann, &ResetToken::from_bytes([1; 32]), 10).await;

    let outcome = repos.users.erase(ann.id, at(20)).await.unwrap();
    assert_eq!(outcome, EraseOutcome::Erased);
    assert_eq!(repos.users.find_by_id(ann.id).await.unwrap(), None);
    let address = Email::parse("ann@example.com").unwrap();
    assert_eq!(repos.users.find_by_email(&address).await.unwrap(), None);
    assert!(repos
        .resets
        .live_links(ann.id, at(30))
        .await
        .unwrap()
        .is_empty());
    // The ledger stays under the id.
    let ledger = repos
        .balances
        .ledger(ann.id, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(ledger.total, 2);
    // Money can no longer reach the erased account.
    let late = repos.balances.apply(deposit(ann.id, "1.00", 30)).await;
    assert!(matches!(late, Err(ApplyBalanceError::UserNotFound)));
    // The mail about Ann: the sent one keeps no address or text, the
    // waiting one is gone.
    let about_ann: Vec<_> = repos
        .database
        .outbox_for_tests()
        .await
        .into_iter()
        .filter(|m| m.user_id == Some(ann.id.0))
        .collect();
    assert_eq!(about_ann.len(), 1, "{about_ann:?}");
    assert_eq!(about_ann[0].status, "sent");
    assert_eq!(about_ann[0].recipient, "");
    assert_eq!(about_ann[0].text_body, "");
    // The address is free again, under a new id.
    let again = approved(&repos.users, "ANN@example.com").await;
    assert_ne!(again.id, ann.id);
    // Erasing twice finds nobody.
    assert_eq!(
        repos.users.erase(ann.id, at(40)).await.unwrap(),
        EraseOutcome::NotFound
    );
}

/// Deposits racing an erasure: either the erasure wins and no deposit
/// lands, or a deposit wins and nothing is erased. Money never ends up in
/// an erased account.
async fn erasure_racing_deposits_never_swallows_money(db: &TestDatabase) {
    let repos = repositories(db).await;
    for round in 0..6 {
        let user = approved(&repos.users, &format!("racer{round}@example.com")).await;
        let erase = {
            let users = Arc::clone(&repos.users);
            tokio::spawn(async move { users.erase(user.id, at(1)).await.unwrap() })
        };
        let deposits: Vec<_> = (0..5)
            .map(|i| {
                let balances = Arc::clone(&repos.balances);
                tokio::spawn(async move { balances.apply(deposit(user.id, "1.00", i)).await })
            })
            .collect();
        let erased = erase.await.unwrap() == EraseOutcome::Erased;
        let mut landed = 0;
        for deposit in deposits {
            match deposit.await.unwrap() {
                Ok(recorded) => {
                    assert!(matches!(recorded.outcome, BalanceOutcome::Applied(_)));
                    landed += 1;
                }
                Err(ApplyBalanceError::UserNotFound) => {}
                Err(other) => panic!("unexpected: {other}"),
            }
        }
        let ledger = repos
            .balances
            .ledger(user.id, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(ledger.total, landed);
        if erased {
            assert_eq!(
                landed, 0,
                "round {round}: money went into an erased account"
            );
        } else {
            assert!(
                landed > 0,
                "round {round}: nothing was erased and nothing landed"
            );
            let balances = repos.balances.balances(user.id).await.unwrap().unwrap();
            assert_eq!(balances.real.minor_units(), 100 * landed as i64);
        }
    }
}

async fn lists_users_by_filter(db: &TestDatabase) {
    let repos = repositories(db).await;
    let ann = approved(&repos.users, "ann@example.com").await;
    let mut bob = test_support::new_user("bob@example.com");
    bob.first_name = authusers_domain::PersonName::parse("Bob").unwrap();
    bob.last_name = authusers_domain::PersonName::parse("Percent%Under_score").unwrap();
    let bob = repos.users.insert(bob).await.unwrap();
    let carol = approved(&repos.users, "carol@example.com").await;
    repos.users.erase(carol.id, at(1)).await.unwrap();

    let list = |filter: UserFilter| {
        let users = Arc::clone(&repos.users);
        async move {
            let page = users.list(filter, PageRequest::default()).await.unwrap();
            (
                page.total,
                page.items.iter().map(|u| u.id).collect::<Vec<_>>(),
            )
        }
    };
    let search = |raw: &str| SearchTerm::parse(raw).unwrap();
    assert_eq!(list(UserFilter::default()).await, (2, vec![ann.id, bob.id]));
    let pending = UserFilter {
        status: Some(UserStatus::Pending),
        ..Default::default()
    };
    assert_eq!(list(pending).await, (1, vec![bob.id]));
    for (term, expected) in [
        ("ANN@", vec![ann.id]),
        ("example", vec![ann.id, bob.id]),
        ("bob percent", vec![bob.id]),
        ("%", vec![bob.id]),
        ("t_s", vec![]),
        ("_", vec![bob.id]),
        ("carol", vec![]),
    ] {
        let filter = UserFilter {
            search: search(term),
            ..Default::default()
        };
        assert_eq!(list(filter).await.1, expected, "{term}");
    }
    let only_ann = UserFilter {
        only: Some(ann.id),
        search: search("example"),
        ..Default::default()
    };
    assert_eq!(list(only_ann).await, (1, vec![ann.id]));
    let page = repos
        .users
        .list(
            UserFilter::default(),
            PageRequest::new(Some(1), Some(1)).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!((page.total, page.items[0].id), (2, bob.id));
}

async fn the_migration_links_earlier_mail_to_its_user_and_reverts(db: &TestDatabase) {
    let repos = repositories(db).await;
    let ann = approved(&repos.users, "Ann@Example.com").await;
    repos
        .users
        .erase(approved(&repos.users, "gone@example.com").await.id, at(1))
        .await
        .unwrap();
    repos
        .database
        .revert_migrations_through_for_tests("20261125000004")
        .await;
    repos
        .database
        .execute_for_tests(
            "INSERT INTO outbox_messages (message_id, recipient, subject, text_body, html_body, \
             next_attempt_at, created_at) VALUES ('<old@authusers>', 'ann@example.com', 'Old', \
             'Hello', '<p>Hello</p>', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        )
        .await;
    assert!(!repos.database.migrate().await.unwrap().is_empty());
    let outbox = repos.database.outbox_for_tests().await;
    assert_eq!(outbox[0].user_id, Some(ann.id.0));
}

/// Rows written before the canonical column existed get theirs from the
/// domain's rules when `migrate` runs: IDNA for the domain, then lower case.
/// Two rows that turn out to be one address: the first keeps it, the other
/// is left without one (it cannot log in) and the migration still ends.
async fn the_canonical_address_of_earlier_rows_is_filled_by_migrate(db: &TestDatabase) {
    let repos = repositories(db).await;
    repos
        .database
        .revert_migrations_through_for_tests("20261125000005")
        .await;
    let insert = |email: &str| {
        format!(
            "INSERT INTO users (email, password_hash, status, date_joined) \
             VALUES ('{email}', '$2b$04$x', 'approved', '2026-01-01 00:00:00')"
        )
    };
    repos
        .database
        .execute_for_tests(&insert("Dora@bücher.example"))
        .await;
    repos
        .database
        .execute_for_tests(&insert("Eve@Example.COM"))
        .await;
    repos
        .database
        .execute_for_tests(&insert("dora@xn--bcher-kva.example"))
        .await;
    assert!(!repos.database.migrate().await.unwrap().is_empty());

    let find = |raw: &'static str| {
        let users = Arc::clone(&repos.users);
        async move {
            users
                .find_by_email(&Email::parse(raw).unwrap())
                .await
                .unwrap()
        }
    };
    let dora = find("DORA@BÜCHER.EXAMPLE").await.expect("the first Dora");
    assert_eq!(
        dora.email.as_str(),
        "Dora@bücher.example",
        "stored as it was"
    );
    assert!(find("eve@example.com").await.is_some());
    // The second Dora has no canonical address: a new registration of it
    // is refused all the same, by the first.
    let again = repos
        .users
        .insert(test_support::new_user("dora@bücher.example"))
        .await;
    assert!(matches!(
        again,
        Err(authusers_domain::accounts::InsertUserError::EmailTaken)
    ));
    // Running it again changes nothing.
    assert!(repos.database.migrate().await.unwrap().is_empty());
}

on_both_backends!(
    the_canonical_address_of_earlier_rows_is_filled_by_migrate,
    an_old_style_name_is_read_as_stored,
    setting_a_password_ends_live_reset_links,
    an_email_change_is_unique_notified_and_ends_links,
    of_racing_email_changes_to_one_address_exactly_one_wins,
    erasure_refuses_money_and_otherwise_erases_the_person_not_the_books,
    erasure_racing_deposits_never_swallows_money,
    lists_users_by_filter,
    the_migration_links_earlier_mail_to_its_user_and_reverts,
);

/// A row written before a rule was tightened is read as it was stored.
async fn an_old_style_name_is_read_as_stored(db: &TestDatabase) {
    let repos = repositories(db).await;
    let ann = approved(&repos.users, "ann@example.com").await;
    repos
        .database
        .execute_for_tests(&format!(
            "UPDATE users SET first_name = 'Ann\u{202E}eeL' WHERE id = {}",
            ann.id.0
        ))
        .await;
    let stored = repos.users.find_by_id(ann.id).await.unwrap().unwrap();
    assert_eq!(stored.first_name.as_str(), "Ann\u{202E}eeL");
}
