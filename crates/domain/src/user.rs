use std::fmt;

use chrono::{DateTime, Utc};

use crate::{Email, Money, PasswordHash, PersonName};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(pub i64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a registration stands. `Approved` and `Rejected` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserStatus {
    Pending,
    Approved,
    Rejected,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(Self::Pending),
            "approved" => Some(Self::Approved),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// An administrator's answer to a pending registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    Accept,
    Reject,
}

impl Decision {
    pub fn resulting_status(self) -> UserStatus {
        match self {
            Self::Accept => UserStatus::Approved,
            Self::Reject => UserStatus::Rejected,
        }
    }
}

/// Who settled a registration, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecisionRecord {
    pub decided_by: Option<UserId>,
    pub decided_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub password_hash: PasswordHash,
    pub status: UserStatus,
    pub is_admin: bool,
    pub date_joined: DateTime<Utc>,
    pub decision: Option<DecisionRecord>,
    pub real_balance: Money,
    pub virtual_balance: Money,
    /// When the address proved itself: an activation link or a password
    /// reset link followed, or an administrator made from the command
    /// line. Until then, mail to it never carries what the registrant typed.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// A registration made with activation required, whose address has not
    /// been confirmed yet: no administrator sees or decides it until then.
    pub awaiting_activation: bool,
    /// Django's `is_active`: an inactive account cannot log in or reset its
    /// password until an administrator enables it. Only users moved in
    /// from Django start inactive.
    pub is_active: bool,
    /// The last login Django recorded, for users moved in from it.
    pub last_login: Option<DateTime<Utc>>,
    /// When the user was moved in from the Django service, if they were.
    pub imported_at: Option<DateTime<Utc>>,
    /// When the password or e-mail last changed (or the account was
    /// rejected or erased): credentials issued before then, the old
    /// service's tokens among them, no longer count.
    pub credentials_changed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionRefused {
    #[error("only an administrator can decide on a registration")]
    NotAnAdministrator,
    #[error("this registration was already {}", .0.as_str())]
    AlreadyDecided(UserStatus),
    #[error("this registration's address is not confirmed yet")]
    NotActivated,
}

impl User {
    /// The approval state machine: an administrator moves a pending user to
    /// approved or rejected, once.
    pub fn decide(
        &mut self,
        administrator: &User,
        decision: Decision,
        now: DateTime<Utc>,
    ) -> Result<(), DecisionRefused> {
        if !administrator.may_decide() {
            return Err(DecisionRefused::NotAnAdministrator);
        }
        if self.status != UserStatus::Pending {
            return Err(DecisionRefused::AlreadyDecided(self.status));
        }
        if self.awaiting_activation {
            return Err(DecisionRefused::NotActivated);
        }
        self.status = decision.resulting_status();
        self.decision = Some(DecisionRecord {
            decided_by: Some(administrator.id),
            decided_at: now,
        });
        Ok(())
    }

    pub fn may_decide(&self) -> bool {
        self.is_admin && self.status == UserStatus::Approved
    }

    pub fn is_approved(&self) -> bool {
        self.status == UserStatus::Approved
    }

    /// Whether the user may hold a session: approved, and not made
    /// inactive.
    pub fn may_sign_in(&self) -> bool {
        self.is_approved() && self.is_active
    }

    /// Whether the old service's tokens of this user may still be believed:
    /// an approved, active user moved in from it whose password and e-mail
    /// have not changed since.
    pub fn may_use_legacy_tokens(&self) -> bool {
        self.may_sign_in() && self.imported_at.is_some() && self.credentials_changed_at.is_none()
    }

    /// Whether the address has proved it reaches this user.
    pub fn address_proven(&self) -> bool {
        self.email_verified_at.is_some()
    }

    /// Whether either balance is above zero: such an account cannot be
    /// erased, or money would vanish with it.
    pub fn holds_money(&self) -> bool {
        self.real_balance != Money::ZERO || self.virtual_balance != Money::ZERO
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{admin, at, user};

    #[test]
    fn an_administrator_accepts_a_pending_user() {
        let mut pending = user(2, UserStatus::Pending);
        pending.decide(&admin(1), Decision::Accept, at(60)).unwrap();
        assert_eq!(pending.status, UserStatus::Approved);
        assert_eq!(
            pending.decision,
            Some(DecisionRecord {
                decided_by: Some(UserId(1)),
                decided_at: at(60)
            })
        );
    }

    #[test]
    fn an_administrator_rejects_a_pending_user() {
        let mut pending = user(2, UserStatus::Pending);
        pending.decide(&admin(1), Decision::Reject, at(60)).unwrap();
        assert_eq!(pending.status, UserStatus::Rejected);
    }

    #[test]
    fn a_second_decision_is_refused_and_changes_nothing() {
        for first in [Decision::Accept, Decision::Reject] {
            let mut target = user(2, UserStatus::Pending);
            target.decide(&admin(1), first, at(60)).unwrap();
            let settled = target.clone();
            for second in [Decision::Accept, Decision::Reject] {
                let refused = target.decide(&admin(3), second, at(120));
                assert_eq!(
                    refused,
                    Err(DecisionRefused::AlreadyDecided(first.resulting_status()))
                );
                assert_eq!(target, settled);
            }
        }
    }

    #[test]
    fn only_an_administrator_decides() {
        let mut target = user(2, UserStatus::Pending);
        let refused = target.decide(&user(3, UserStatus::Approved), Decision::Accept, at(1));
        assert_eq!(refused, Err(DecisionRefused::NotAnAdministrator));
        assert_eq!(target.status, UserStatus::Pending);
    }

    #[test]
    fn an_administrator_who_is_not_approved_cannot_decide() {
        let mut target = user(2, UserStatus::Pending);
        let not_approved = User {
            is_admin: true,
            ..user(3, UserStatus::Rejected)
        };
        let refused = target.decide(&not_approved, Decision::Accept, at(1));
        assert_eq!(refused, Err(DecisionRefused::NotAnAdministrator));
    }

    #[test]
    fn a_registration_awaiting_activation_cannot_be_decided() {
        let mut target = User {
            awaiting_activation: true,
            ..user(2, UserStatus::Pending)
        };
        let unchanged = target.clone();
        for decision in [Decision::Accept, Decision::Reject] {
            let refused = target.decide(&admin(1), decision, at(1));
            assert_eq!(refused, Err(DecisionRefused::NotActivated));
            assert_eq!(target, unchanged);
        }
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for status in [
            UserStatus::Pending,
            UserStatus::Approved,
            UserStatus::Rejected,
        ] {
            assert_eq!(UserStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(UserStatus::parse("archived"), None);
    }
}
