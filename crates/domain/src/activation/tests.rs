use std::sync::Arc;

use chrono::Duration;

use super::*;
use crate::accounts::{MockUserRepository, RegistrationRequest};
use crate::clock::MockClock;
use crate::password_reset::{MockResetTokenSource, TOKEN_BYTES};
use crate::testing::{at, user};
use crate::throttling::{AttemptId, Counter, CounterKey, MockAttemptLog, Recording};
use crate::{PasswordHash, UserId, UserStatus};

const TEMPLATE: &str = "https://app.example.com/activate/{uid}/{token}";

fn token(byte: u8) -> ResetToken {
    ResetToken::from_bytes([byte; TOKEN_BYTES])
}

fn client() -> ClientAddress {
    ClientAddress::new([198, 51, 100, 7].into())
}

fn awaiting(id: i64) -> User {
    User {
        awaiting_activation: true,
        ..user(id, UserStatus::Pending)
    }
}

fn clock() -> MockClock {
    let mut clock = MockClock::new();
    clock.expect_now().returning(|| at(3600));
    clock
}

struct Ports {
    users: MockUserRepository,
    links: MockActivationRepository,
    tokens: MockResetTokenSource,
}

impl Ports {
    fn new() -> Self {
        Self {
            users: MockUserRepository::new(),
            links: MockActivationRepository::new(),
            tokens: MockResetTokenSource::new(),
        }
    }

    fn with_user(mut self, stored: User) -> Self {
        let by_email = stored.clone();
        self.users.expect_find_by_email().returning(move |email| {
            Ok(Some(by_email.clone()).filter(|u| u.email.canonical() == email.canonical()))
        });
        self.users
            .expect_find_by_id()
            .returning(move |id| Ok(Some(stored.clone()).filter(|u| u.id == id)));
        self
    }

    fn with_links(mut self, links: Vec<ActivationLink>) -> Self {
        self.links
            .expect_links()
            .returning(move |_, _| Ok(links.clone()));
        self
    }

    fn into_activations(self) -> Activations {
        Activations::new(
            Arc::new(self.users),
            Arc::new(self.links),
            Arc::new(self.tokens),
            Arc::new(clock()),
            Some(ActivationPolicy {
                link: ResetLinkTemplate::parse(TEMPLATE).unwrap(),
                ttl: Duration::days(3),
                language: Language::English,
            }),
        )
    }
}

fn link(id: i64, token: &ResetToken, used: bool) -> ActivationLink {
    ActivationLink {
        id,
        digest: token.digest(),
        expires_at: at(7200),
        used_at: used.then(|| at(60)),
    }
}

fn activate_request(uid: &str, token: &ResetToken) -> ActivateRequest {
    ActivateRequest {
        uid: uid.into(),
        token: token.encode(),
    }
}

#[tokio::test]
async fn a_link_is_stored_only_as_its_digest_and_mailed_without_names() {
    let mut ports = Ports::new();
    ports
        .tokens
        .expect_new_token()
        .times(1)
        .returning(|| token(4));
    ports
        .links
        .expect_issue()
        .withf(|link| {
            let url = format!("https://app.example.com/activate/Mg/{}", token(4).encode());
            link.user == UserId(2)
                && link.digest == token(4).digest()
                && link.created_at == at(3600)
                && link.expires_at == at(3600) + Duration::days(3)
                && link.mail.to.as_str() == "user2@example.com"
                && link.mail.text_body.contains(&url)
                && link.mail.text_body.starts_with("Hello!\n")
                && !link.mail.text_body.contains("Ada")
        })
        .times(1)
        .returning(|_| Ok(()));
    ports
        .into_activations()
        .send_link(&awaiting(2))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_right_link_activates_the_registration() {
    let mut ports = Ports::new()
        .with_user(awaiting(2))
        .with_links(vec![link(7, &token(1), false), link(8, &token(2), false)]);
    ports
        .links
        .expect_activate()
        .withf(|link, user, when| *link == 8 && *user == UserId(2) && *when == at(3600))
        .times(1)
        .returning(|_, _, _| Ok(true));
    ports
        .into_activations()
        .activate(activate_request("Mg", &token(2)))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_bad_uid_reads_exactly_as_a_wrong_token() {
    for (uid, sent) in [
        ("OTk", token(2)),
        ("not base64!", token(2)),
        ("", token(2)),
        ("Mg", token(3)),
    ] {
        // No activate expected.
        let ports = Ports::new()
            .with_user(awaiting(2))
            .with_links(vec![link(8, &token(2), false)]);
        let result = ports
            .into_activations()
            .activate(activate_request(uid, &sent))
            .await;
        let Err(ActivateError::Invalid(errors)) = result else {
            panic!("{uid:?}: {result:?}");
        };
        assert_eq!(
            errors.fields()["token"],
            [FieldError::InvalidToken],
            "{uid}"
        );
        assert_eq!(errors.fields().len(), 1);
    }
}

#[tokio::test]
async fn a_link_followed_again_after_activation_is_stale() {
    let ports = Ports::new()
        .with_user(user(2, UserStatus::Pending))
        .with_links(vec![link(8, &token(2), true)]);
    let result = ports
        .into_activations()
        .activate(activate_request("Mg", &token(2)))
        .await;
    assert!(matches!(result, Err(ActivateError::Stale)), "{result:?}");
}

fn limited(ports: Ports, log: MockAttemptLog) -> Activations {
    let throttle = Throttle::new(
        Arc::new(log),
        Arc::new(clock()),
        crate::throttling::AbuseLimits::standard(),
    );
    ports.into_activations().with_throttle(throttle)
}

fn resend_request(email: &str) -> ResendRequest {
    ResendRequest {
        email: email.into(),
        client: client(),
    }
}

/// Expects the registration count of the client and the mail count of
/// `email`, each recorded once.
fn both_counted(log: &mut MockAttemptLog, email: &'static str) {
    log.expect_record()
        .withf(|checks, _| checks[0].key == CounterKey::registration(client()))
        .times(1)
        .returning(|_, _| Ok(Recording::Recorded(vec![AttemptId(1)])));
    log.expect_record()
        .withf(move |checks, _| {
            checks[0].key == CounterKey::activation_mail(&Email::parse(email).unwrap())
                && checks[0].limit.max.get() == 3
        })
        .times(1)
        .returning(|_, _| Ok(Recording::Recorded(vec![AttemptId(2)])));
}

#[tokio::test]
async fn resending_mails_a_new_link_to_a_registration_awaiting_activation() {
    let mut ports = Ports::new().with_user(awaiting(2));
    ports
        .tokens
        .expect_new_token()
        .times(1)
        .returning(|| token(5));
    ports
        .links
        .expect_issue()
        .withf(|link| link.user == UserId(2) && link.digest == token(5).digest())
        .times(1)
        .returning(|_| Ok(()));
    let mut log = MockAttemptLog::new();
    both_counted(&mut log, "user2@example.com");
    limited(ports, log)
        .resend(resend_request("USER2@example.com"))
        .await
        .unwrap();
}

#[tokio::test]
async fn resending_to_an_active_or_unknown_address_mails_nothing_and_answers_the_same() {
    for email in ["user2@example.com", "nobody@example.com"] {
        // No issue expected.
        let ports = Ports::new().with_user(user(2, UserStatus::Approved));
        let mut log = MockAttemptLog::new();
        let email: &'static str = if email.starts_with("user2") {
            "user2@example.com"
        } else {
            "nobody@example.com"
        };
        both_counted(&mut log, email);
        limited(ports, log)
            .resend(resend_request(email))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn past_the_hourly_mail_limit_nothing_is_mailed_yet_the_answer_is_the_same() {
    // No issue expected.
    let ports = Ports::new().with_user(awaiting(2));
    let mut log = MockAttemptLog::new();
    log.expect_record()
        .withf(|checks, _| checks[0].key.counter() == Counter::Registration)
        .times(1)
        .returning(|_, _| Ok(Recording::Recorded(vec![AttemptId(1)])));
    log.expect_record()
        .withf(|checks, _| checks[0].key.counter() == Counter::ActivationMail)
        .times(1)
        .returning(|_, _| {
            Ok(Recording::Refused(Throttled {
                counter: Counter::ActivationMail,
                retry_after: Duration::minutes(20),
            }))
        });
    limited(ports, log)
        .resend(resend_request("user2@example.com"))
        .await
        .unwrap();
}

#[tokio::test]
async fn without_activation_required_nothing_is_resent_and_links_still_work() {
    let mut ports = Ports::new()
        .with_user(awaiting(2))
        .with_links(vec![link(8, &token(2), false)]);
    ports
        .links
        .expect_activate()
        .times(1)
        .returning(|_, _, _| Ok(true));
    let activations = Activations::new(
        Arc::new(ports.users),
        Arc::new(ports.links),
        Arc::new(ports.tokens),
        Arc::new(clock()),
        None,
    );
    let result = activations
        .resend(resend_request("user2@example.com"))
        .await;
    assert!(
        matches!(result, Err(ResendError::NotRequired)),
        "{result:?}"
    );
    activations
        .activate(activate_request("Mg", &token(2)))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_registration_with_activation_required_awaits_it_and_is_mailed_a_link() {
    let mut accounts = crate::testing::Ports::new();
    accounts
        .hasher
        .expect_hash()
        .returning(|_| Ok(PasswordHash::new("$2b$hash".into())));
    accounts
        .users
        .expect_insert()
        .withf(|new_user| new_user.awaiting_activation && new_user.email_verified_at.is_none())
        .times(1)
        .returning(|new_user| Ok(new_user.into_user(UserId(12))));
    let mut ports = Ports::new();
    ports
        .tokens
        .expect_new_token()
        .times(1)
        .returning(|| token(6));
    ports
        .links
        .expect_issue()
        .withf(|link| link.user == UserId(12))
        .times(1)
        .returning(|_| Ok(()));
    let user = accounts
        .into_accounts()
        .with_activation(Arc::new(ports.into_activations()))
        .register(RegistrationRequest {
            email: "grace@example.org".into(),
            password: "compiler-nanosecond-42".into(),
            first_name: Some("Visit evil.example".into()),
            last_name: None,
            client: client(),
        })
        .await
        .unwrap();
    assert!(user.awaiting_activation);
    assert_eq!(user.status, UserStatus::Pending);
}
