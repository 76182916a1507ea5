//! The second factor's operations on one account: enrolment (a secret
//! waiting for its first code, then in force with ten recovery codes), a
//! code or a recovery code checked once, removal, and a new set of
//! recovery codes. Who may ask (the password, the session) is the
//! caller's to check; what a code proves and whether it was used is here.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::codes::{TimeStep, TotpCode, TotpSecret};
use super::ports::{MfaRandom, MfaRepository, OneTimeCodes, SealError, SecretSealer};
use super::recovery::{RecoveryCode, RECOVERY_CODES};
use super::verification::{verify_code, CodeRefused};
use crate::clock::Clock;
use crate::storage::RepositoryError;
use crate::UserId;

/// How long an enrolment waits for its first code.
pub const ENROLMENT_TTL: Duration = Duration::minutes(10);

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
    /// The stored secret does not open (a wrong `MFA_SECRET_KEY`): never a
    /// way in.
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error("the second factor could not be read or written")]
    Repository(#[from] RepositoryError),
}

/// The second factor's operations.
#[derive(Clone)]
pub struct Mfa {
    repository: Arc<dyn MfaRepository>,
    sealer: Arc<dyn SecretSealer>,
    codes: Arc<dyn OneTimeCodes>,
    random: Arc<dyn MfaRandom>,
    clock: Arc<dyn Clock>,
}

impl Mfa {
    pub fn new(
        repository: Arc<dyn MfaRepository>,
        sealer: Arc<dyn SecretSealer>,
        codes: Arc<dyn OneTimeCodes>,
        random: Arc<dyn MfaRandom>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            repository,
            sealer,
            codes,
            random,
            clock,
        }
    }

    pub async fn status(&self, user: UserId) -> Result<MfaStatus, RepositoryError> {
        let enabled_at = self
            .repository
            .totp(user)
            .await?
            .and_then(|stored| stored.confirmed_at);
        let recovery_codes_left = match enabled_at {
            Some(_) => self.repository.unused_recovery_codes(user).await?.len(),
            None => 0,
        };
        Ok(MfaStatus {
            enabled_at,
            recovery_codes_left,
        })
    }

    /// A new secret, waiting for its first code in place of any waiting
    /// one; refused while a factor is in force.
    pub async fn begin(&self, user: UserId) -> Result<TotpSecret, EnrolError> {
        let secret = self.random.totp_secret();
        let sealed = self.sealer.seal(user, &secret)?;
        if !self
            .repository
            .begin_enrolment(user, sealed, self.clock.now())
            .await?
        {
            return Err(EnrolError::AlreadyOn);
        }
        Ok(secret)
    }

    /// The waiting enrolment put in force by its first code; its recovery
    /// codes, to be shown once.
    pub async fn confirm(
        &self,
        user: UserId,
        code: &TotpCode,
    ) -> Result<Vec<RecoveryCode>, CheckError> {
        let now = self.clock.now();
        let cut_off = now - ENROLMENT_TTL;
        let stored = match self.repository.totp(user).await? {
            Some(stored) if stored.confirmed_at.is_none() && stored.created_at > cut_off => stored,
            _ => return Err(CheckError::NothingToCheck),
        };
        let secret = self.sealer.open(user, &stored.sealed)?;
        let step = verify_code(&*self.codes, &secret, code, TimeStep::at(now), None)?;
        let codes = self.new_recovery_codes();
        let digests = codes.iter().map(RecoveryCode::digest).collect();
        if !self
            .repository
            .confirm(user, cut_off, step, now, digests)
            .await?
        {
            return Err(CheckError::NothingToCheck);
        }
        Ok(codes)
    }

    /// A code of the factor in force, accepted once (on every server).
    pub async fn check_code(&self, user: UserId, code: &TotpCode) -> Result<(), CheckError> {
        let stored = match self.repository.totp(user).await? {
            Some(stored) if stored.confirmed_at.is_some() => stored,
            _ => return Err(CheckError::NothingToCheck),
        };
        let secret = self.sealer.open(user, &stored.sealed)?;
        let now = TimeStep::at(self.clock.now());
        let step = verify_code(&*self.codes, &secret, code, now, stored.last_step)?;
        if !self.repository.accept_step(user, step).await? {
            return Err(CodeRefused::Replayed.into());
        }
        Ok(())
    }

    /// A recovery code of the factor in force, accepted once.
    pub async fn use_recovery_code(
        &self,
        user: UserId,
        code: &RecoveryCode,
    ) -> Result<(), CheckError> {
        let in_force = self
            .repository
            .totp(user)
            .await?
            .is_some_and(|stored| stored.confirmed_at.is_some());
        if !in_force {
            return Err(CheckError::NothingToCheck);
        }
        let unused = self.repository.unused_recovery_codes(user).await?;
        let Some(index) = code.find_in(&unused) else {
            return Err(CodeRefused::Wrong.into());
        };
        let digest = unused[index].clone();
        if !self
            .repository
            .use_recovery_code(user, digest, self.clock.now())
            .await?
        {
            return Err(CodeRefused::Replayed.into());
        }
        Ok(())
    }

    /// The factor and its recovery codes removed, proved by a code.
    pub async fn remove(&self, user: UserId, code: &TotpCode) -> Result<(), CheckError> {
        self.check_code(user, code).await?;
        if !self.repository.remove(user).await? {
            return Err(CheckError::NothingToCheck);
        }
        Ok(())
    }

    /// A new set of recovery codes, proved by a code; the old set is void.
    pub async fn new_recovery_code_set(
        &self,
        user: UserId,
        code: &TotpCode,
    ) -> Result<Vec<RecoveryCode>, CheckError> {
        self.check_code(user, code).await?;
        let codes = self.new_recovery_codes();
        self.repository
            .replace_recovery_codes(user, codes.iter().map(RecoveryCode::digest).collect())
            .await?;
        Ok(codes)
    }

    fn new_recovery_codes(&self) -> Vec<RecoveryCode> {
        (0..RECOVERY_CODES)
            .map(|_| self.random.recovery_code())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU8, Ordering};

    use chrono::TimeZone;

    use super::*;
    use crate::clock::MockClock;
    use crate::mfa::ports::{MockMfaRandom, MockMfaRepository, MockOneTimeCodes, MockSecretSealer};
    use crate::mfa::{SealedSecret, StoredTotp, TOTP_SECRET_BYTES};

    const USER: UserId = UserId(7);
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

    /// The service over `repository`: codes that are their step's number,
    /// a sealer that opens (or, with `opens` false, refuses), the clock at
    /// step 1 000.
    fn mfa(repository: MockMfaRepository, opens: bool) -> Mfa {
        let mut codes = MockOneTimeCodes::new();
        codes
            .expect_code_at()
            .returning(|_, step| TotpCode::parse(&format!("{:06}", step.0)).unwrap());
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
        random.expect_recovery_code().returning(move || {
            RecoveryCode::from_random([next.fetch_add(1, Ordering::Relaxed); 10])
        });
        let mut clock = MockClock::new();
        clock.expect_now().returning(now);
        Mfa::new(
            Arc::new(repository),
            Arc::new(sealer),
            Arc::new(codes),
            Arc::new(random),
            Arc::new(clock),
        )
    }

    #[tokio::test]
    async fn a_waiting_enrolment_is_put_in_force_by_its_first_code_with_ten_recovery_codes() {
        let mut repository = MockMfaRepository::new();
        repository
            .expect_totp()
            .returning(|_| Ok(Some(stored(Duration::minutes(9), false, None))));
        repository
            .expect_confirm()
            .withf(|user, cut_off, step, at, digests| {
                *user == USER
                    && *cut_off == now() - ENROLMENT_TTL
                    && *step == TimeStep(1_001)
                    && *at == now()
                    && digests.len() == RECOVERY_CODES
            })
            .times(1)
            .returning(|_, _, _, _, _| Ok(true));
        let codes = mfa(repository, true)
            .confirm(USER, &code(1_001))
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
            let refused = mfa(repository, true).confirm(USER, &code(1_000)).await;
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
        let wrong = mfa(repository, true).confirm(USER, &code(1_002)).await;
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
            .check_code(USER, &code(1_000))
            .await
            .is_ok());

        // Another server took the same step a moment before.
        let mut repository = MockMfaRepository::new();
        repository
            .expect_totp()
            .returning(|_| Ok(Some(stored(Duration::days(1), true, Some(998)))));
        repository.expect_accept_step().returning(|_, _| Ok(false));
        let raced = mfa(repository, true).check_code(USER, &code(1_000)).await;
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
            let refused = mfa(repository, true).check_code(USER, &code(offered)).await;
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
        let refused = mfa(repository, false).check_code(USER, &code(1_000)).await;
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
        assert!(service.use_recovery_code(USER, &mine).await.is_ok());
        let other = service
            .use_recovery_code(USER, &RecoveryCode::from_random([5; 10]))
            .await;
        assert!(
            matches!(other, Err(CheckError::Refused(CodeRefused::Wrong))),
            "{other:?}"
        );
    }
}
