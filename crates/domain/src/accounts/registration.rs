use super::ports::{HashingError, InsertUserError, NewUser};
use crate::password::PasswordContext;
use crate::storage::RepositoryError;
use crate::throttling::{ClientAddress, Throttled};
use crate::{Email, FieldErrors, Money, Password, PersonName, User, UserStatus};

use super::Accounts;

/// What a visitor sends to register, as received, and where from.
#[derive(Debug, Clone)]
pub struct RegistrationRequest {
    pub email: String,
    pub password: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Registrations are limited per client address.
    pub client: ClientAddress,
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error(transparent)]
    Invalid(FieldErrors),
    #[error("a user with this e-mail already exists")]
    EmailTaken,
    /// The address has had its share of registrations this hour.
    #[error(transparent)]
    Throttled(Throttled),
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

crate::throttling::admit_error_into!(RegisterError);

/// A registration whose every field passed its rules.
pub(super) struct ValidRegistration {
    pub email: Email,
    pub password: Password,
    pub first_name: PersonName,
    pub last_name: PersonName,
}

impl ValidRegistration {
    pub fn parse(request: &RegistrationRequest) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let email = errors.collect("email", Email::parse(&request.email));
        let first_name = errors.collect(
            "first_name",
            PersonName::parse(request.first_name.as_deref().unwrap_or_default()),
        );
        let last_name = errors.collect(
            "last_name",
            PersonName::parse(request.last_name.as_deref().unwrap_or_default()),
        );
        let context = PasswordContext {
            email: email.as_ref(),
            first_name: first_name.as_ref(),
            last_name: last_name.as_ref(),
        };
        let password = errors.collect_each("password", Password::parse(&request.password, context));
        match (email, password, first_name, last_name) {
            (Some(email), Some(password), Some(first_name), Some(last_name)) => Ok(Self {
                email,
                password,
                first_name,
                last_name,
            }),
            _ => Err(errors),
        }
    }
}

impl Accounts {
    /// Registers a visitor as a pending user. A registration that passes
    /// the field rules counts against its address's hourly limit, one with
    /// an address already registered too: that is how addresses would be
    /// probed.
    #[tracing::instrument(name = "register", skip_all)]
    pub async fn register(&self, request: RegistrationRequest) -> Result<User, RegisterError> {
        let valid = ValidRegistration::parse(&request).map_err(RegisterError::Invalid)?;
        let Some(throttle) = &self.throttle else {
            return self.store_registration(valid).await;
        };
        let admission = throttle.admit_registration(request.client).await?;
        let outcome = self.store_registration(valid).await;
        match &outcome {
            Ok(_) | Err(RegisterError::EmailTaken) => throttle.counts(admission),
            Err(_) => throttle.withdraw(admission).await,
        }
        outcome
    }

    async fn store_registration(&self, valid: ValidRegistration) -> Result<User, RegisterError> {
        let password_hash = self.hasher.hash(&valid.password).await?;
        let new_user = NewUser {
            email: valid.email,
            first_name: valid.first_name,
            last_name: valid.last_name,
            password_hash,
            status: UserStatus::Pending,
            is_admin: false,
            date_joined: self.clock.now(),
            decision: None,
            real_balance: Money::ZERO,
            virtual_balance: Money::ZERO,
            email_verified_at: None,
            awaiting_activation: self.activation.is_some(),
        };
        let user = self.users.insert(new_user).await.map_err(|e| match e {
            InsertUserError::EmailTaken => RegisterError::EmailTaken,
            InsertUserError::Repository(e) => RegisterError::Repository(e),
        })?;
        if let Some(activation) = &self.activation {
            // Should this fail, the registration stands and waits for its
            // address: resend_activation mails another link.
            activation.send_link(&user).await?;
        }
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::PasswordError;
    use crate::testing::{at, Ports};
    use crate::FieldError;
    use crate::{PasswordHash, UserId};
    use mockall::predicate::always;

    fn request() -> RegistrationRequest {
        RegistrationRequest {
            email: " Grace@Example.ORG ".into(),
            password: "compiler-nanosecond-42".into(),
            first_name: Some("Grace".into()),
            last_name: Some("Hopper".into()),
            client: ClientAddress::new([203, 0, 113, 9].into()),
        }
    }

    #[tokio::test]
    async fn stores_a_pending_user_with_a_hashed_password() {
        let mut ports = Ports::new();
        ports
            .hasher
            .expect_hash()
            .withf(|password| password.expose() == "compiler-nanosecond-42")
            .times(1)
            .returning(|_| Ok(PasswordHash::new("$2b$hash".into())));
        ports
            .users
            .expect_insert()
            .withf(|new_user| {
                new_user.email.as_str() == "Grace@example.org"
                    && new_user.status == UserStatus::Pending
                    && !new_user.is_admin
                    && new_user.password_hash.as_str() == "$2b$hash"
                    && new_user.date_joined == at(3600)
                    && new_user.decision.is_none()
                    && new_user.real_balance == Money::ZERO
            })
            .times(1)
            .returning(|new_user| Ok(new_user.into_user(UserId(10))));

        let user = ports.into_accounts().register(request()).await.unwrap();

        assert_eq!(user.status, UserStatus::Pending);
        assert_eq!(user.first_name.as_str(), "Grace");
    }

    #[tokio::test]
    async fn reports_every_invalid_field_and_stores_nothing() {
        let ports = Ports::new(); // no call to the hasher or the repository is expected
        let bad = RegistrationRequest {
            email: "not-an-email".into(),
            password: "123".into(),
            first_name: Some("x".repeat(151)),
            last_name: None,
            ..request()
        };
        let Err(RegisterError::Invalid(errors)) = ports.into_accounts().register(bad).await else {
            panic!("expected field errors");
        };
        let fields: Vec<&str> = errors.fields().keys().map(String::as_str).collect();
        assert_eq!(fields, ["email", "first_name", "password"]);
        assert!(errors.fields()["password"].len() >= 2);
    }

    #[tokio::test]
    async fn refuses_a_password_too_similar_to_the_email() {
        let ports = Ports::new();
        let similar = RegistrationRequest {
            email: "hopperfan@example.org".into(),
            password: "Hopperfan9".into(),
            first_name: None,
            last_name: None,
            ..request()
        };
        let Err(RegisterError::Invalid(errors)) = ports.into_accounts().register(similar).await
        else {
            panic!("expected field errors");
        };
        assert_eq!(
            errors.fields()["password"],
            [FieldError::Password(PasswordError::TooSimilar(
                "email address"
            ))]
        );
    }

    #[tokio::test]
    async fn a_taken_email_is_reported_as_such() {
        let mut ports = Ports::new();
        ports
            .hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("$2b$hash".into())));
        ports
            .users
            .expect_insert()
            .with(always())
            .returning(|_| Err(InsertUserError::EmailTaken));
        let result = ports.into_accounts().register(request()).await;
        assert!(matches!(result, Err(RegisterError::EmailTaken)));
    }

    mod limited {
        use super::*;
        use crate::throttling::{AttemptId, Counter, MockAttemptLog, Recording};
        use chrono::Duration;

        #[tokio::test]
        async fn a_registration_past_the_hourly_limit_is_refused_before_hashing() {
            // No expectation on hash or insert: neither may run.
            let ports = Ports::new();
            let mut log = MockAttemptLog::new();
            log.expect_record().times(1).returning(|_, _| {
                Ok(Recording::Refused(Throttled {
                    counter: Counter::Registration,
                    retry_after: Duration::seconds(60),
                }))
            });
            let result = ports
                .into_accounts_limited_by(log)
                .register(request())
                .await;
            assert!(matches!(result, Err(RegisterError::Throttled(_))));
        }

        #[tokio::test]
        async fn a_taken_address_counts_against_the_limit() {
            let mut ports = Ports::new();
            ports
                .hasher
                .expect_hash()
                .returning(|_| Ok(PasswordHash::new("$2b$hash".into())));
            ports
                .users
                .expect_insert()
                .returning(|_| Err(InsertUserError::EmailTaken));
            let mut log = MockAttemptLog::new();
            log.expect_record()
                .times(1)
                .returning(|_, _| Ok(Recording::Recorded(vec![AttemptId(5)])));
            // Nothing taken back.
            let result = ports
                .into_accounts_limited_by(log)
                .register(request())
                .await;
            assert!(matches!(result, Err(RegisterError::EmailTaken)));
        }

        #[tokio::test]
        async fn invalid_fields_are_reported_without_counting() {
            // No expectation on the attempt log.
            let ports = Ports::new();
            let bad = RegistrationRequest {
                email: "not-an-email".into(),
                ..request()
            };
            let result = ports
                .into_accounts_limited_by(MockAttemptLog::new())
                .register(bad)
                .await;
            assert!(matches!(result, Err(RegisterError::Invalid(_))));
        }
    }
}
