//! The second factor's operations on one account: enrolment (a secret
//! waiting for its first code, then in force with ten recovery codes), a
//! code or a recovery code checked once, removal, a new set of recovery
//! codes, and the second step of a sign-in (`mfa_token`). Who may ask (the
//! password, the session) is the caller's to check; what a code proves,
//! whether it was used, and how many wrong ones an account gets are here.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::codes::{TimeStep, TotpCode, TotpSecret};
use super::ports::{
    FactorChange, MfaRandom, MfaRepository, OneTimeCodes, SealError, SecretSealer, SessionsEnding,
};
use super::recovery::{RecoveryCode, RECOVERY_CODES};
use super::verification::{verify_code, CodeRefused};
use crate::clock::Clock;
use crate::notification::{FactorChangedBy, Language, OutgoingEmail};
use crate::outbox::{MailQueued, NobodyListening};
use crate::password_reset::{ResetToken, ResetTokenSource};
use crate::sessions::{EndReason, SessionId};
use crate::storage::RepositoryError;
use crate::throttling::{admit_error_into, ClientAddress, Throttle, Throttled};
use crate::{User, UserId};

/// How long an enrolment waits for its first code.
pub const ENROLMENT_TTL: Duration = Duration::minutes(10);
/// How long a sign-in waits for its second step.
pub const CHALLENGE_TTL: Duration = Duration::minutes(5);
/// Codes one `mfa_token` takes, right or wrong; then it is dead.
pub const CHALLENGE_ATTEMPTS: u32 = 5;

/// The `mfa_token` of a sign-in waiting for its second step: 32 random
/// bytes in URL-safe base64, of which only the digest is stored, as a
/// reset link's token.
pub type MfaToken = ResetToken;

/// What `GET /auth/mfa/` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaStatus {
    /// When the factor was put in force; `None` when it is off.
    pub enabled_at: Option<DateTime<Utc>>,
    pub recovery_codes_left: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    #[error("a second factor is already on")]
    AlreadyOn,
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error("the enrolment could not be stored")]
    Repository(#[from] RepositoryError),
}

/// Why a code (or a recovery code) was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// No factor in force (for a confirmation: no enrolment waiting, or
    /// it expired).
    #[error("no second factor to check against")]
    NothingToCheck,
    #[error(transparent)]
    Refused(#[from] CodeRefused),
    /// Too many wrong codes for this account: nothing was checked.
    #[error(transparent)]
    Throttled(Throttled),
    /// The stored secret does not open (a wrong `MFA_SECRET_KEY`): never a
    /// way in.
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error("the second factor could not be read or written")]
    Repository(#[from] RepositoryError),
}

admit_error_into!(CheckError);

/// The ports the second factor works through.
#[derive(Clone)]
pub struct MfaPorts {
    pub repository: Arc<dyn MfaRepository>,
    pub sealer: Arc<dyn SecretSealer>,
    pub codes: Arc<dyn OneTimeCodes>,
    pub random: Arc<dyn MfaRandom>,
    /// The `mfa_token`s of sign-ins.
    pub tokens: Arc<dyn ResetTokenSource>,
    pub clock: Arc<dyn Clock>,
}

/// The second factor's operations.
#[derive(Clone)]
pub struct Mfa {
    ports: MfaPorts,
    /// Wrong codes per account, on every server.
    throttle: Throttle,
    mail_language: Language,
    mail_queued: Arc<dyn MailQueued>,
}

impl Mfa {
    pub fn new(ports: MfaPorts, throttle: Throttle, mail_language: Language) -> Self {
        Self {
            ports,
            throttle,
            mail_language,
            mail_queued: Arc::new(NobodyListening),
        }
    }

    /// Tells `listener` each time a notice is queued.
    pub fn with_mail_listener(mut self, listener: Arc<dyn MailQueued>) -> Self {
        self.mail_queued = listener;
        self
    }

    pub async fn status(&self, user: UserId) -> Result<MfaStatus, RepositoryError> {
        let enabled_at = self
            .ports
            .repository
            .totp(user)
            .await?
            .and_then(|stored| stored.confirmed_at);
        let recovery_codes_left = match enabled_at {
            Some(_) => self
                .ports
                .repository
                .unused_recovery_codes(user)
                .await?
                .len(),
            None => 0,
        };
        Ok(MfaStatus {
            enabled_at,
            recovery_codes_left,
        })
    }

    /// Whether a factor is in force: a sign-in then takes a second step.
    pub async fn in_force(&self, user: UserId) -> Result<bool, RepositoryError> {
        Ok(self
            .ports
            .repository
            .totp(user)
            .await?
            .is_some_and(|stored| stored.confirmed_at.is_some()))
    }

    /// A new secret, waiting for its first code in place of any waiting
    /// one; refused while a factor is in force.
    pub async fn begin(&self, user: UserId) -> Result<TotpSecret, EnrolError> {
        let secret = self.ports.random.totp_secret();
        let sealed = self.ports.sealer.seal(user, &secret)?;
        if !self
            .ports
            .repository
            .begin_enrolment(user, sealed, self.ports.clock.now())
            .await?
        {
            return Err(EnrolError::AlreadyOn);
        }
        Ok(secret)
    }

    /// The waiting enrolment put in force by its first code; its recovery
    /// codes, to be shown once. The user's sessions but `session` (the one
    /// asking) end, as on a password change, and a notice is queued.
    pub async fn confirm(
        &self,
        user: &User,
        code: &TotpCode,
        client: ClientAddress,
        session: Option<SessionId>,
    ) -> Result<Vec<RecoveryCode>, CheckError> {
        let id = user.id;
        let now = self.ports.clock.now();
        let cut_off = now - ENROLMENT_TTL;
        let stored = match self.ports.repository.totp(id).await? {
            Some(stored) if stored.confirmed_at.is_none() && stored.created_at > cut_off => stored,
            _ => return Err(CheckError::NothingToCheck),
        };
        let secret = self.ports.sealer.open(id, &stored.sealed)?;
        let step = self
            .judged(id, client, async {
                Ok(verify_code(
                    &*self.ports.codes,
                    &secret,
                    code,
                    TimeStep::at(now),
                    None,
                )?)
            })
            .await?;
        let codes = self.new_recovery_codes();
        let digests = codes.iter().map(RecoveryCode::digest).collect();
        let change = FactorChange {
            notice: OutgoingEmail::second_factor_enabled(user, self.mail_language),
            ending: Some(SessionsEnding {
                reason: EndReason::CredentialsChanged,
                except: session,
            }),
        };
        if !self
            .ports
            .repository
            .confirm(id, cut_off, step, now, digests, change)
            .await?
        {
            return Err(CheckError::NothingToCheck);
        }
        self.mail_queued.mail_queued();
        tracing::info!(user = %id, "second factor turned on");
        Ok(codes)
    }

    /// A code of the factor in force, accepted once (on every server); a
    /// wrong or used one counts against the account's limit.
    pub async fn check_code(
        &self,
        user: UserId,
        code: &TotpCode,
        client: ClientAddress,
    ) -> Result<(), CheckError> {
        let stored = match self.ports.repository.totp(user).await? {
            Some(stored) if stored.confirmed_at.is_some() => stored,
            _ => return Err(CheckError::NothingToCheck),
        };
        let secret = self.ports.sealer.open(user, &stored.sealed)?;
        let now = TimeStep::at(self.ports.clock.now());
        self.judged(user, client, async {
            let step = verify_code(&*self.ports.codes, &secret, code, now, stored.last_step)?;
            if !self.ports.repository.accept_step(user, step).await? {
                return Err(CodeRefused::Replayed.into());
            }
            Ok(())
        })
        .await
    }

    /// A recovery code of the factor in force, accepted once; a wrong or
    /// used one counts against the account's limit.
    pub async fn use_recovery_code(
        &self,
        user: UserId,
        code: &RecoveryCode,
        client: ClientAddress,
    ) -> Result<(), CheckError> {
        if !self.in_force(user).await? {
            return Err(CheckError::NothingToCheck);
        }
        self.judged(user, client, async {
            let unused = self.ports.repository.unused_recovery_codes(user).await?;
            let Some(index) = code.find_in(&unused) else {
                return Err(CodeRefused::Wrong.into());
            };
            let digest = unused[index].clone();
            if !self
                .ports
                .repository
                .use_recovery_code(user, digest, self.ports.clock.now())
                .await?
            {
                return Err(CodeRefused::Replayed.into());
            }
            Ok(())
        })
        .await
    }

    /// The factor and its recovery codes removed, proved by a code; a
    /// notice is queued.
    pub async fn remove(
        &self,
        user: &User,
        code: &TotpCode,
        client: ClientAddress,
    ) -> Result<(), CheckError> {
        self.check_code(user.id, code, client).await?;
        let change = FactorChange {
            notice: OutgoingEmail::second_factor_removed(
                user,
                FactorChangedBy::TheUser,
                self.mail_language,
            ),
            ending: None,
        };
        if !self
            .ports
            .repository
            .remove(user.id, self.ports.clock.now(), change)
            .await?
        {
            return Err(CheckError::NothingToCheck);
        }
        self.mail_queued.mail_queued();
        tracing::info!(user = %user.id, "second factor turned off");
        Ok(())
    }

    /// An administrator's removal of `user`'s factor (a lost device): the
    /// user's sessions end and a notice is queued. `false` when none was
    /// in force.
    pub async fn reset_by_administrator(&self, user: &User) -> Result<bool, RepositoryError> {
        let change = FactorChange {
            notice: OutgoingEmail::second_factor_removed(
                user,
                FactorChangedBy::AnAdministrator,
                self.mail_language,
            ),
            ending: Some(SessionsEnding {
                reason: EndReason::EndedByAdministrator,
                except: None,
            }),
        };
        let removed = self
            .ports
            .repository
            .remove(user.id, self.ports.clock.now(), change)
            .await?;
        if removed {
            self.mail_queued.mail_queued();
            tracing::info!(user = %user.id, "second factor removed by an administrator");
        }
        Ok(removed)
    }

    /// A new set of recovery codes, proved by a code; the old set is void.
    pub async fn new_recovery_code_set(
        &self,
        user: UserId,
        code: &TotpCode,
        client: ClientAddress,
    ) -> Result<Vec<RecoveryCode>, CheckError> {
        self.check_code(user, code, client).await?;
        let codes = self.new_recovery_codes();
        self.ports
            .repository
            .replace_recovery_codes(user, codes.iter().map(RecoveryCode::digest).collect())
            .await?;
        Ok(codes)
    }

    /// A sign-in's second step for `user`, whose password was just proved.
    pub async fn open_challenge(&self, user: UserId) -> Result<MfaToken, RepositoryError> {
        let token = self.ports.tokens.new_token();
        let expires_at = self.ports.clock.now() + CHALLENGE_TTL;
        self.ports
            .repository
            .open_challenge(token.digest(), user, expires_at)
            .await?;
        Ok(token)
    }

    /// Takes one attempt of a sign-in's second step: whose it is, while it
    /// is live and has attempts left.
    pub async fn take_challenge_attempt(
        &self,
        token: &MfaToken,
    ) -> Result<Option<UserId>, RepositoryError> {
        self.ports
            .repository
            .take_challenge_attempt(token.digest(), self.ports.clock.now(), CHALLENGE_ATTEMPTS)
            .await
    }

    /// Ends a sign-in's second step once it succeeded; `false` when another
    /// request ended it first.
    pub async fn finish_challenge(&self, token: &MfaToken) -> Result<bool, RepositoryError> {
        self.ports
            .repository
            .finish_challenge(token.digest(), self.ports.clock.now())
            .await
    }

    /// Forgets sign-in steps that expired: the housekeeping's work.
    pub async fn prune_challenges(&self) -> Result<u64, RepositoryError> {
        self.ports
            .repository
            .prune_challenges(self.ports.clock.now())
            .await
    }

    /// Runs `check` under the account's limit on wrong codes: a refusal
    /// counts, anything else is withdrawn.
    async fn judged<T>(
        &self,
        user: UserId,
        client: ClientAddress,
        check: impl Future<Output = Result<T, CheckError>>,
    ) -> Result<T, CheckError> {
        let admission = self.throttle.admit_second_factor(user, client).await?;
        let outcome = check.await;
        match &outcome {
            Err(CheckError::Refused(_)) => self.throttle.counts(admission),
            _ => self.throttle.withdraw(admission).await,
        }
        outcome
    }

    fn new_recovery_codes(&self) -> Vec<RecoveryCode> {
        (0..RECOVERY_CODES)
            .map(|_| self.ports.random.recovery_code())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::mfa::ports::MockMfaRepository;
    use crate::mfa::{SealedSecret, StoredTotp};
    use crate::password_reset::TOKEN_BYTES;
    use crate::testing::open_attempt_log;
    use crate::throttling::{AttemptId, Counter, MockAttemptLog, Recording};
    use crate::UserStatus;

    const USER: UserId = UserId(7);
    fn client() -> ClientAddress {
        ClientAddress::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
    }

    fn the_user() -> User {
        crate::testing::user(USER.0, UserStatus::Approved)
    }

    /// Now: step 1 000.
    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(30_000, 0).unwrap()
    }
    const NOW: TimeStep = TimeStep(1_000);

    fn code(step: i64) -> TotpCode {
        TotpCode::parse(&format!("{step:06}")).unwrap()
    }

    fn stored(created_ago: Duration, confirmed: bool, last_step: Option<i64>) -> StoredTotp {
        StoredTotp {
            sealed: SealedSecret("sealed".into()),
            created_at: now() - created_ago,
            confirmed_at: confirmed.then(now),
            last_step: last_step.map(TimeStep),
        }
    }

    /// The service over `repository` (see [`crate::testing::mfa_at`]), no
    /// limit reached.
    fn mfa(repository: MockMfaRepository, opens: bool) -> Mfa {
        limited_by(repository, opens, open_attempt_log())
    }

    /// As [`mfa`], with wrong codes counted in `log`.
    fn limited_by(repository: MockMfaRepository, opens: bool, log: MockAttemptLog) -> Mfa {
        crate::testing::mfa_at(repository, opens, log, now())
    }

    #[tokio::test]
    async fn a_waiting_enrolment_is_put_in_force_by_its_first_code_with_ten_recovery_codes() {
        let mut repository = MockMfaRepository::new();
        repository
            .expect_totp()
            .returning(|_| Ok(Some(stored(Duration::minutes(9), false, None))));
        let asking = SessionId::from_bytes([3; 16]);
        let kept = asking.clone();
        repository
            .expect_confirm()
            .withf(move |user, cut_off, step, at, digests, change| {
                *user == USER
                    && *cut_off == now() - ENROLMENT_TTL
                    && *step == TimeStep(1_001)
                    && *at == now()
                    && digests.len() == RECOVERY_CODES
                    && change.notice.to == the_user().email
                    && change.ending
                        == Some(SessionsEnding {
                            reason: EndReason::CredentialsChanged,
                            except: Some(kept.clone()),
                        })
            })
            .times(1)
            .returning(|_, _, _, _, _, _| Ok(true));
        let codes = mfa(repository, true)
            .confirm(&the_user(), &code(1_001), client(), Some(asking))
            .await
            .unwrap();
        let mut shown: Vec<String> = codes.iter().map(RecoveryCode::display).collect();
        shown.sort();
        shown.dedup();
        assert_eq!(shown.len(), RECOVERY_CODES);
    }

    #[tokio::test]
    async fn an_expired_or_absent_enrolment_or_a_wrong_first_code_puts_nothing_in_force() {
        for found in [Some(stored(Duration::minutes(11), false, None)), None] {
            let mut repository = MockMfaRepository::new();
            repository.expect_totp().return_once(move |_| Ok(found));
            repository.expect_confirm().never();
            let refused = mfa(repository, true)
                .confirm(&the_user(), &code(1_000), client(), None)
                .await;
            assert!(
                matches!(refused, Err(CheckError::NothingToCheck)),
                "{refused:?}"
            );
        }
        let mut repository = MockMfaRepository::new();
        repository
            .expect_totp()
            .returning(|_| Ok(Some(stored(Duration::minutes(1), false, None))));
        repository.expect_confirm().never();
        let wrong = mfa(repository, true)
            .confirm(&the_user(), &code(1_002), client(), None)
            .await;
        assert!(
            matches!(wrong, Err(CheckError::Refused(CodeRefused::Wrong))),
            "{wrong:?}"
        );
    }

    #[tokio::test]
    async fn a_code_is_accepted_once_and_its_step_is_recorded_first() {
        let mut repository = MockMfaRepository::new();
        repository
            .expect_totp()
            .returning(|_| Ok(Some(stored(Duration::days(1), true, Some(998)))));
        repository
            .expect_accept_step()
            .withf(|user, step| *user == USER && *step == NOW)
            .times(1)
            .returning(|_, _| Ok(true));
        assert!(mfa(repository, true)
            .check_code(USER, &code(1_000), client())
            .await
            .is_ok());

        // Another server took the same step a moment before.
        let mut repository = MockMfaRepository::new();
        repository
            .expect_totp()
            .returning(|_| Ok(Some(stored(Duration::days(1), true, Some(998)))));
        repository.expect_accept_step().returning(|_, _| Ok(false));
        let raced = mfa(repository, true)
            .check_code(USER, &code(1_000), client())
            .await;
        assert!(
            matches!(raced, Err(CheckError::Refused(CodeRefused::Replayed))),
            "{raced:?}"
        );

        // A step accepted already, or a wrong code: refused before storage.
        for (offered, refusal) in [(999, CodeRefused::Replayed), (1_005, CodeRefused::Wrong)] {
            let mut repository = MockMfaRepository::new();
            repository
                .expect_totp()
                .returning(|_| Ok(Some(stored(Duration::days(1), true, Some(999)))));
            repository.expect_accept_step().never();
            let refused = mfa(repository, true)
                .check_code(USER, &code(offered), client())
                .await;
            assert!(
                matches!(refused, Err(CheckError::Refused(r)) if r == refusal),
                "{offered}: {refused:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_secret_that_does_not_open_is_an_error_never_a_pass() {
        let mut repository = MockMfaRepository::new();
        repository
            .expect_totp()
            .returning(|_| Ok(Some(stored(Duration::days(1), true, None))));
        repository.expect_accept_step().never();
        let refused = mfa(repository, false)
            .check_code(USER, &code(1_000), client())
            .await;
        assert!(matches!(refused, Err(CheckError::Seal(_))), "{refused:?}");
    }

    #[tokio::test]
    async fn no_enrolment_begins_while_a_factor_is_in_force() {
        let mut repository = MockMfaRepository::new();
        repository
            .expect_begin_enrolment()
            .returning(|_, _, _| Ok(false));
        let refused = mfa(repository, true).begin(USER).await;
        assert!(matches!(refused, Err(EnrolError::AlreadyOn)), "{refused:?}");
    }

    #[tokio::test]
    async fn a_recovery_code_is_its_own_digest_used_once() {
        let mine = RecoveryCode::from_random([4; 10]);
        let digest = mine.digest();
        let mut repository = MockMfaRepository::new();
        repository
            .expect_totp()
            .returning(|_| Ok(Some(stored(Duration::days(1), true, None))));
        let unused = vec![RecoveryCode::from_random([3; 10]).digest(), digest.clone()];
        repository
            .expect_unused_recovery_codes()
            .returning(move |_| Ok(unused.clone()));
        repository
            .expect_use_recovery_code()
            .withf(move |user, used, _| *user == USER && *used == digest)
            .times(1)
            .returning(|_, _, _| Ok(true));
        let service = mfa(repository, true);
        assert!(service
            .use_recovery_code(USER, &mine, client())
            .await
            .is_ok());
        let other = service
            .use_recovery_code(USER, &RecoveryCode::from_random([5; 10]), client())
            .await;
        assert!(
            matches!(other, Err(CheckError::Refused(CodeRefused::Wrong))),
            "{other:?}"
        );
    }

    #[tokio::test]
    async fn wrong_codes_count_against_the_account_and_right_ones_are_withdrawn() {
        let mut log = MockAttemptLog::new();
        log.expect_record()
            .withf(|checks, _| {
                checks.len() == 1
                    && checks[0].key.counter() == Counter::SecondFactor
                    && checks[0].limit.max.get() == 10
            })
            .times(2)
            .returning(|_, _| Ok(Recording::Recorded(vec![AttemptId(1)])));
        // Only the right code's attempt is taken back.
        log.expect_take_back()
            .withf(|attempts| *attempts == vec![AttemptId(1)])
            .times(1)
            .returning(|_| Ok(()));
        let mut repository = MockMfaRepository::new();
        repository
            .expect_totp()
            .returning(|_| Ok(Some(stored(Duration::days(1), true, None))));
        repository.expect_accept_step().returning(|_, _| Ok(true));
        let service = limited_by(repository, true, log);
        let wrong = service.check_code(USER, &code(1_005), client()).await;
        assert!(matches!(wrong, Err(CheckError::Refused(_))), "{wrong:?}");
        assert!(service
            .check_code(USER, &code(1_000), client())
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn an_account_at_its_limit_is_refused_before_any_code_is_checked() {
        let mut log = MockAttemptLog::new();
        log.expect_record().returning(|_, _| {
            Ok(Recording::Refused(Throttled {
                counter: Counter::SecondFactor,
                retry_after: Duration::seconds(600),
            }))
        });
        let mut repository = MockMfaRepository::new();
        repository
            .expect_totp()
            .returning(|_| Ok(Some(stored(Duration::days(1), true, None))));
        repository.expect_accept_step().never();
        repository.expect_unused_recovery_codes().never();
        let service = limited_by(repository, true, log);
        let refused = service.check_code(USER, &code(1_000), client()).await;
        assert!(
            matches!(refused, Err(CheckError::Throttled(t)) if t.retry_after == Duration::seconds(600)),
            "{refused:?}"
        );
        let refused = service
            .use_recovery_code(USER, &RecoveryCode::from_random([4; 10]), client())
            .await;
        assert!(
            matches!(refused, Err(CheckError::Throttled(_))),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn a_sign_in_step_lives_five_minutes_under_its_tokens_digest_with_five_attempts() {
        let token = MfaToken::from_bytes([9; TOKEN_BYTES]);
        let digest = token.digest();
        let mut repository = MockMfaRepository::new();
        let stored_digest = digest.clone();
        repository
            .expect_open_challenge()
            .withf(move |stored, user, expires_at| {
                *stored == stored_digest && *user == USER && *expires_at == now() + CHALLENGE_TTL
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        repository
            .expect_take_challenge_attempt()
            .withf(move |taken, at, attempts| *taken == digest && *at == now() && *attempts == 5)
            .times(1)
            .returning(|_, _, _| Ok(Some(USER)));
        let service = mfa(repository, true);
        let opened = service.open_challenge(USER).await.unwrap();
        assert_eq!(opened.encode(), token.encode());
        assert_eq!(
            service.take_challenge_attempt(&token).await.unwrap(),
            Some(USER)
        );
    }

    #[tokio::test]
    async fn an_administrators_reset_ends_every_session_and_tells_the_user() {
        let mut repository = MockMfaRepository::new();
        repository
            .expect_remove()
            .withf(|user, at, change| {
                *user == USER
                    && *at == now()
                    && change.notice.to == the_user().email
                    && change.notice.text_body.contains("administrator")
                    && change.ending
                        == Some(SessionsEnding {
                            reason: EndReason::EndedByAdministrator,
                            except: None,
                        })
            })
            .times(1)
            .returning(|_, _, _| Ok(true));
        assert!(mfa(repository, true)
            .reset_by_administrator(&the_user())
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn a_removal_takes_a_code_and_ends_no_session() {
        let mut repository = MockMfaRepository::new();
        repository
            .expect_totp()
            .returning(|_| Ok(Some(stored(Duration::days(1), true, None))));
        repository.expect_accept_step().returning(|_, _| Ok(true));
        repository
            .expect_remove()
            .withf(|user, _, change| *user == USER && change.ending.is_none())
            .times(1)
            .returning(|_, _, _| Ok(true));
        let service = mfa(repository, true);
        service
            .remove(&the_user(), &code(1_000), client())
            .await
            .unwrap();
    }
}
