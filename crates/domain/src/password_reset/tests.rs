use std::sync::Arc;

use chrono::Duration;
use mockall::predicate::eq;

use super::*;
use crate::accounts::{MockPasswordHasher, MockUserRepository};
use crate::clock::MockClock;
use crate::password::PasswordError;
use crate::testing::{at, user};
use crate::{PasswordHash, UserId, UserStatus};

const TEMPLATE: &str = "https://app.example.com/reset/{uid}/{token}";

fn token(byte: u8) -> ResetToken {
    ResetToken::from_bytes([byte; TOKEN_BYTES])
}

struct Ports {
    users: MockUserRepository,
    resets: MockPasswordResetRepository,
    hasher: MockPasswordHasher,
    tokens: MockResetTokenSource,
}

impl Ports {
    fn new() -> Self {
        Self {
            users: MockUserRepository::new(),
            resets: MockPasswordResetRepository::new(),
            hasher: MockPasswordHasher::new(),
            tokens: MockResetTokenSource::new(),
        }
    }

    fn with_user(mut self, stored: Option<crate::User>) -> Self {
        let by_email = stored.clone();
        self.users
            .expect_find_by_email()
            .returning(move |_| Ok(by_email.clone()));
        self.users
            .expect_find_by_id()
            .returning(move |id| Ok(stored.clone().filter(|u| u.id == id)));
        self
    }

    fn into_resets(self) -> PasswordResets {
        let mut clock = MockClock::new();
        clock.expect_now().returning(|| at(3600));
        PasswordResets::new(
            Arc::new(self.users),
            Arc::new(self.resets),
            Arc::new(self.hasher),
            Arc::new(self.tokens),
            Arc::new(clock),
            ResetPolicy {
                link: ResetLinkTemplate::parse(TEMPLATE).unwrap(),
                ttl: Duration::hours(1),
                mails_per_hour: Some(3),
                language: Language::English,
            },
        )
    }
}

fn reset_request(email: &str) -> ResetRequest {
    ResetRequest {
        email: email.into(),
        client: crate::throttling::ClientAddress::new([203, 0, 113, 9].into()),
    }
}

#[tokio::test]
async fn an_approved_account_is_mailed_a_link_that_only_its_digest_is_stored_for() {
    let mut ports = Ports::new().with_user(Some(user(2, UserStatus::Approved)));
    ports
        .tokens
        .expect_new_token()
        .times(1)
        .returning(|| token(9));
    ports
        .resets
        .expect_record_request()
        .withf(|record| {
            let Some(link) = &record.link else {
                return false;
            };
            let url = format!("https://app.example.com/reset/Mg/{}", token(9).encode());
            record.address == AddressDigest::of(&Email::parse("user2@example.com").unwrap())
                && record.at == at(3600)
                && record.forget_before == at(0)
                && record.mail_limit.as_ref().is_some_and(|check| {
                    check.key == CounterKey::reset_mail(&Email::parse("USER2@example.com").unwrap())
                        && check.limit.max.get() == 3
                        && check.limit.window == chrono::Duration::hours(1)
                })
                && link.user == UserId(2)
                && link.digest == token(9).digest()
                && link.expires_at == at(7200)
                && link.mail.to.as_str() == "user2@example.com"
                && link.mail.text_body.contains(&url)
                && link.mail.html_body.contains(&url)
        })
        .times(1)
        .returning(|_| Ok(ResetRequestOutcome::Mailed));
    ports
        .into_resets()
        .request(reset_request("USER2@example.com"))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unknown_address_takes_the_same_path_without_a_link() {
    let mut ports = Ports::new().with_user(None);
    ports
        .resets
        .expect_record_request()
        .withf(|record| {
            record.link.is_none()
                && record.address == AddressDigest::of(&Email::parse("nobody@example.com").unwrap())
        })
        .times(1)
        .returning(|_| Ok(ResetRequestOutcome::NoAccount));
    ports
        .into_resets()
        .request(reset_request("nobody@example.com"))
        .await
        .unwrap();
}

#[tokio::test]
async fn pending_and_rejected_accounts_get_no_link() {
    for status in [UserStatus::Pending, UserStatus::Rejected] {
        let mut ports = Ports::new().with_user(Some(user(2, status)));
        ports
            .resets
            .expect_record_request()
            .withf(|record| record.link.is_none())
            .times(1)
            .returning(|_| Ok(ResetRequestOutcome::NoAccount));
        ports
            .into_resets()
            .request(reset_request("user2@example.com"))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn the_limit_reached_answers_like_a_mail_sent() {
    let mut ports = Ports::new().with_user(Some(user(2, UserStatus::Approved)));
    ports.tokens.expect_new_token().returning(|| token(9));
    ports
        .resets
        .expect_record_request()
        .returning(|_| Ok(ResetRequestOutcome::LimitReached));
    assert!(ports
        .into_resets()
        .request(reset_request("user2@example.com"))
        .await
        .is_ok());
}

#[tokio::test]
async fn a_malformed_address_is_a_field_error_and_touches_nothing() {
    let ports = Ports::new();
    let result = ports
        .into_resets()
        .request(reset_request("not an email"))
        .await;
    let Err(RequestResetError::Invalid(errors)) = result else {
        panic!("expected field errors");
    };
    assert!(errors.fields().contains_key("email"));
}

fn confirm_request(uid: &str, token: &ResetToken, password: &str) -> ConfirmResetRequest {
    ConfirmResetRequest {
        uid: uid.into(),
        token: token.encode(),
        new_password: password.into(),
        re_new_password: None,
    }
}

fn with_live_links(mut ports: Ports, links: Vec<(i64, ResetToken)>) -> Ports {
    ports
        .resets
        .expect_live_links()
        .with(eq(UserId(2)), eq(at(3600)))
        .returning(move |_, _| {
            Ok(links
                .iter()
                .map(|(id, token)| LiveResetLink {
                    id: *id,
                    digest: token.digest(),
                })
                .collect())
        });
    ports
}

fn field_errors(result: Result<(), ConfirmResetError>) -> FieldErrors {
    match result {
        Err(ConfirmResetError::Invalid(errors)) => errors,
        other => panic!("expected field errors, got {other:?}"),
    }
}

#[tokio::test]
async fn a_live_link_sets_the_new_password_once() {
    let ports = Ports::new().with_user(Some(user(2, UserStatus::Approved)));
    let mut ports = with_live_links(ports, vec![(11, token(1)), (12, token(2))]);
    ports
        .hasher
        .expect_hash()
        .withf(|p| p.expose() == "quartz-lantern-61")
        .times(1)
        .returning(|_| Ok(PasswordHash::new("$2b$new".into())));
    ports
        .resets
        .expect_reset_password()
        .withf(|link, user, hash, when| {
            *link == 12 && *user == UserId(2) && hash.as_str() == "$2b$new" && *when == at(3600)
        })
        .times(1)
        .returning(|_, _, _, _| Ok(true));
    ports
        .into_resets()
        .confirm(confirm_request("Mg", &token(2), "quartz-lantern-61"))
        .await
        .unwrap();
}

#[tokio::test]
async fn malformed_and_unknown_uids_read_as_a_wrong_token() {
    for uid in ["", "Mg==", "MDI", "not base64!", "OTk"] {
        let ports = Ports::new().with_user(Some(user(2, UserStatus::Approved)));
        let errors = field_errors(
            ports
                .into_resets()
                .confirm(confirm_request(uid, &token(2), "quartz-lantern-61"))
                .await,
        );
        assert_eq!(
            errors.fields()["token"],
            [FieldError::InvalidToken],
            "{uid:?}"
        );
        assert!(!errors.fields().contains_key("uid"), "{uid:?}");
    }
}

#[tokio::test]
async fn a_wrong_malformed_used_or_expired_token_is_a_token_error() {
    // A token no live link has (used, revoked and expired links are not live).
    let ports = Ports::new().with_user(Some(user(2, UserStatus::Approved)));
    let ports = with_live_links(ports, vec![(11, token(1))]);
    let errors = field_errors(
        ports
            .into_resets()
            .confirm(confirm_request("Mg", &token(3), "quartz-lantern-61"))
            .await,
    );
    assert_eq!(errors.fields()["token"], [FieldError::InvalidToken]);

    let ports = Ports::new().with_user(Some(user(2, UserStatus::Approved)));
    let mut malformed = confirm_request("Mg", &token(1), "quartz-lantern-61");
    malformed.token.push('=');
    let errors = field_errors(ports.into_resets().confirm(malformed).await);
    assert_eq!(errors.fields()["token"], [FieldError::InvalidToken]);
}

#[tokio::test]
async fn a_weak_new_password_keeps_the_link_live() {
    let ports = Ports::new().with_user(Some(user(2, UserStatus::Approved)));
    let ports = with_live_links(ports, vec![(11, token(1))]);
    // No hash and no reset_password call are expected.
    let errors = field_errors(
        ports
            .into_resets()
            .confirm(confirm_request("Mg", &token(1), "Lovelace2"))
            .await,
    );
    assert_eq!(
        errors.fields()["new_password"],
        [FieldError::Password(PasswordError::TooSimilar("last name"))]
    );
}

#[tokio::test]
async fn a_mismatched_retype_is_refused() {
    let ports = Ports::new().with_user(Some(user(2, UserStatus::Approved)));
    let ports = with_live_links(ports, vec![(11, token(1))]);
    let mut request = confirm_request("Mg", &token(1), "quartz-lantern-61");
    request.re_new_password = Some("quartz-lantern-16".into());
    let errors = field_errors(ports.into_resets().confirm(request).await);
    assert_eq!(
        errors.fields()[FieldErrors::WHOLE_REQUEST],
        [FieldError::Mismatch(Retyped::Password)]
    );
}

#[tokio::test]
async fn losing_a_race_for_the_link_is_a_token_error() {
    let ports = Ports::new().with_user(Some(user(2, UserStatus::Approved)));
    let mut ports = with_live_links(ports, vec![(11, token(1))]);
    ports
        .hasher
        .expect_hash()
        .returning(|_| Ok(PasswordHash::new("$2b$new".into())));
    ports
        .resets
        .expect_reset_password()
        .returning(|_, _, _, _| Ok(false));
    let errors = field_errors(
        ports
            .into_resets()
            .confirm(confirm_request("Mg", &token(1), "quartz-lantern-61"))
            .await,
    );
    assert_eq!(errors.fields()["token"], [FieldError::InvalidToken]);
}

#[tokio::test]
async fn a_user_who_is_not_approved_has_no_working_link() {
    let ports = Ports::new().with_user(Some(user(2, UserStatus::Pending)));
    let errors = field_errors(
        ports
            .into_resets()
            .confirm(confirm_request("Mg", &token(1), "quartz-lantern-61"))
            .await,
    );
    assert_eq!(errors.fields()["token"], [FieldError::InvalidToken]);
}

#[tokio::test]
async fn checking_a_link_uses_nothing_up() {
    let ports = Ports::new().with_user(Some(user(2, UserStatus::Approved)));
    let ports = with_live_links(ports, vec![(11, token(1))]);
    let resets = ports.into_resets();
    assert_eq!(
        resets
            .check_link("Mg", &token(1).encode())
            .await
            .unwrap()
            .id,
        UserId(2)
    );
    let bad = resets
        .check_link("Mg", &token(2).encode())
        .await
        .unwrap_err();
    assert!(bad.is_bad_link());
}
