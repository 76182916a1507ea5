//! What a test of code built on this crate needs, behind the `mocks`
//! feature: users to start from, a fixed clock, and the mocked ports of
//! `Accounts` gathered in one builder. The crate's own tests use the same.
//!
//! `crates/domain/tests/downstream_mocks.rs` shows a test written with them,
//! as a crate that depends on this one would write it.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use crate::accounts::{Accounts, MockPasswordHasher, MockUserRepository};
use crate::clock::MockClock;
use crate::mfa::{
    Mfa, MfaPorts, MockMfaRandom, MockMfaRepository, MockOneTimeCodes, MockSecretSealer,
    RecoveryCode, SealError, SealedSecret, TotpCode, TotpSecret, TOTP_SECRET_BYTES,
};
use crate::notification::Language;
use crate::password_reset::{MockResetTokenSource, ResetToken, TOKEN_BYTES};
use crate::sessions::{NewSession, Session};
use crate::throttling::{AbuseLimits, AttemptId, MockAttemptLog, Recording, Throttle};
use crate::{Email, Money, PasswordHash, PersonName, User, UserId, UserStatus};

/// A fixed instant, `seconds` after a base in 2023: the same on every run.
pub fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + seconds, 0)
        .single()
        .expect("a valid instant")
}

/// User `id` (`user{id}@example.com`, Ada Lovelace) in `status`, with no
/// money, joined at `at(0)`; the stored hash is `hash-of-user-{id}`.
pub fn user(id: i64, status: UserStatus) -> User {
    User {
        id: UserId(id),
        email: Email::parse(&format!("user{id}@example.com")).expect("a valid address"),
        first_name: PersonName::parse("Ada").expect("a valid name"),
        last_name: PersonName::parse("Lovelace").expect("a valid name"),
        password_hash: PasswordHash::new(format!("hash-of-user-{id}")),
        status,
        is_admin: false,
        date_joined: at(0),
        decision: None,
        real_balance: Money::ZERO,
        virtual_balance: Money::ZERO,
        email_verified_at: None,
        awaiting_activation: false,
        is_active: true,
        last_login: None,
        imported_at: None,
        credentials_changed_at: None,
    }
}

/// An approved administrator.
pub fn admin(id: i64) -> User {
    User {
        is_admin: true,
        ..user(id, UserStatus::Approved)
    }
}

/// The session a repository stores for `new`: at its first generation,
/// last used when it was created, not ended.
pub fn opened(new: NewSession) -> Session {
    Session {
        id: new.id,
        user: new.user,
        generation: 1,
        created_at: new.created_at,
        last_used_at: new.created_at,
        expires_at: new.expires_at,
        client: new.client,
        ended: None,
        second_factor_at: new.second_factor.then_some(new.created_at),
    }
}

/// The mocks a test sets expectations on before building `Accounts`; a
/// port nobody expects a call on fails the test if called. The clock says
/// `at(3600)`.
pub struct Ports {
    pub users: MockUserRepository,
    pub hasher: MockPasswordHasher,
    pub clock: MockClock,
}

impl Default for Ports {
    fn default() -> Self {
        Self::new()
    }
}

impl Ports {
    pub fn new() -> Self {
        let mut clock = MockClock::new();
        clock.expect_now().returning(|| at(3600));
        Self {
            users: MockUserRepository::new(),
            hasher: MockPasswordHasher::new(),
            clock,
        }
    }

    /// Ports where `right` is the current password of user 4, as stored
    /// under the fixture's hash.
    pub fn where_password_of_user_4_is(right: &'static str) -> Self {
        let mut ports = Self::new();
        ports
            .hasher
            .expect_verify()
            .withf(|_, hash| hash.as_str() == "hash-of-user-4")
            .returning(move |candidate, _| Ok(candidate == right));
        ports
    }

    /// `Accounts` held to the contract's default limits, kept in `attempts`.
    pub fn into_accounts_limited_by(self, attempts: MockAttemptLog) -> Accounts {
        let mut clock = MockClock::new();
        clock.expect_now().returning(|| at(3600));
        let throttle = Throttle::new(Arc::new(attempts), Arc::new(clock), AbuseLimits::standard());
        self.into_accounts().with_throttle(throttle)
    }

    pub fn into_accounts(self) -> Accounts {
        Accounts::new(
            Arc::new(self.users),
            Arc::new(self.hasher),
            Arc::new(self.clock),
            Language::English,
        )
    }
}

/// A log under every limit: each attempt is recorded as attempt 1 and may
/// be taken back.
pub fn open_attempt_log() -> MockAttemptLog {
    let mut log = MockAttemptLog::new();
    log.expect_record()
        .returning(|_, _| Ok(Recording::Recorded(vec![AttemptId(1)])));
    log.expect_take_back().returning(|_| Ok(()));
    log
}

/// The second factor over `repository`, at `now`: a step's code is the
/// last six digits of its number, the sealer opens (or, with `opens` false, refuses)
/// every secret, secrets are bytes of 1, recovery codes bytes of 0, 1, 2…,
/// `mfa_token`s bytes of 9, and wrong codes count in `log`.
pub fn mfa_at(
    repository: MockMfaRepository,
    opens: bool,
    log: MockAttemptLog,
    now: DateTime<Utc>,
) -> Mfa {
    let mut codes = MockOneTimeCodes::new();
    codes.expect_code_at().returning(|_, step| {
        TotpCode::parse(&format!("{:06}", step.0 % 1_000_000)).expect("six digits")
    });
    let mut sealer = MockSecretSealer::new();
    sealer
        .expect_seal()
        .returning(|_, _| Ok(SealedSecret("sealed".into())));
    sealer.expect_open().returning(move |_, _| {
        if opens {
            Ok(TotpSecret::from_bytes([1; TOTP_SECRET_BYTES]))
        } else {
            Err(SealError::CannotOpen("another key".into()))
        }
    });
    let mut random = MockMfaRandom::new();
    random
        .expect_totp_secret()
        .returning(|| TotpSecret::from_bytes([1; TOTP_SECRET_BYTES]));
    let next = AtomicU8::new(0);
    random
        .expect_recovery_code()
        .returning(move || RecoveryCode::from_random([next.fetch_add(1, Ordering::Relaxed); 10]));
    let mut tokens = MockResetTokenSource::new();
    tokens
        .expect_new_token()
        .returning(|| ResetToken::from_bytes([9; TOKEN_BYTES]));
    let clock = || {
        let mut clock = MockClock::new();
        clock.expect_now().returning(move || now);
        Arc::new(clock)
    };
    let throttle = Throttle::new(Arc::new(log), clock(), AbuseLimits::standard());
    Mfa::new(
        MfaPorts {
            repository: Arc::new(repository),
            sealer: Arc::new(sealer),
            codes: Arc::new(codes),
            random: Arc::new(random),
            tokens: Arc::new(tokens),
            clock: clock(),
        },
        throttle,
        Language::English,
    )
}
