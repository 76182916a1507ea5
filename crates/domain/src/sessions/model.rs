//! A session: one login, and everything issued under it.

use std::fmt;

use chrono::{DateTime, Duration, Utc};

use crate::UserId;

/// A session's id: 128 random bits in 32 lower-case hex characters. It is
/// named in every token of the session and in the URL that ends it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// An id from 16 random bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// An id as a client sends it back; `None` unless it has exactly the
    /// form `from_bytes` writes.
    pub fn parse(raw: &str) -> Option<Self> {
        let valid = raw.len() == 32
            && raw
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.0)
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The user logged out of it (`/auth/jwt/blacklist/`).
    LoggedOut,
    /// The user ended it from the list of their sessions, or all of them.
    EndedByUser,
    /// An administrator ended the user's sessions.
    EndedByAdministrator,
    /// A refresh token of it was used twice: it may have been stolen.
    RefreshReused,
    /// The password or the e-mail changed.
    CredentialsChanged,
    /// The account was erased.
    AccountErased,
    /// The account was rejected.
    AccountRejected,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoggedOut => "logged_out",
            Self::EndedByUser => "ended_by_user",
            Self::EndedByAdministrator => "ended_by_administrator",
            Self::RefreshReused => "refresh_reused",
            Self::CredentialsChanged => "credentials_changed",
            Self::AccountErased => "account_erased",
            Self::AccountRejected => "account_rejected",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::LoggedOut,
            Self::EndedByUser,
            Self::EndedByAdministrator,
            Self::RefreshReused,
            Self::CredentialsChanged,
            Self::AccountErased,
            Self::AccountRejected,
        ]
        .into_iter()
        .find(|reason| reason.as_str() == raw)
    }
}

/// When and why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionEnd {
    pub at: DateTime<Utc>,
    pub reason: EndReason,
}

/// What a client says about itself when it logs in, as received: shown in
/// the user's list of sessions, never trusted for anything else.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub user_agent: Option<String>,
    pub address: Option<String>,
}

/// The longest user agent kept.
pub const MAX_USER_AGENT_CHARS: usize = 512;

impl ClientInfo {
    /// Keeps what can be shown safely: no control characters, a bounded
    /// length.
    pub fn new(user_agent: Option<&str>, address: Option<String>) -> Self {
        let user_agent = user_agent
            .map(|agent| {
                agent
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_USER_AGENT_CHARS)
                    .collect::<String>()
            })
            .filter(|agent| !agent.trim().is_empty());
        Self {
            user_agent,
            address,
        }
    }
}

/// How a session's user proved who they are, and when last: what a
/// token's `auth_time` and `amr` say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authentication {
    /// The sign-in, or the last second factor proved in the session.
    pub at: DateTime<Utc>,
    /// Whether a second factor was proved (`amr` is `["pwd", "otp"]`, else
    /// `["pwd"]`).
    pub second_factor: bool,
}

impl Authentication {
    /// A sign-in with the password alone, at `at`.
    pub fn password_at(at: DateTime<Utc>) -> Self {
        Self {
            at,
            second_factor: false,
        }
    }

    /// Whether a second factor was proved no longer than `window` before
    /// `now` (step-up).
    pub fn second_factor_within(&self, window: Duration, now: DateTime<Utc>) -> bool {
        self.second_factor && now - self.at <= window
    }
}

/// One login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub user: UserId,
    /// How many times its refresh token has been rotated, plus one: only a
    /// refresh token of this generation is live.
    pub generation: u32,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    /// The absolute end, whatever the refreshes.
    pub expires_at: DateTime<Utc>,
    pub client: ClientInfo,
    pub ended: Option<SessionEnd>,
    /// When a second factor was last proved in it.
    pub second_factor_at: Option<DateTime<Utc>>,
}

impl Session {
    pub fn is_open_at(&self, now: DateTime<Utc>) -> bool {
        self.ended.is_none() && now < self.expires_at
    }

    pub fn authentication(&self) -> Authentication {
        Authentication {
            at: self.second_factor_at.unwrap_or(self.created_at),
            second_factor: self.second_factor_at.is_some(),
        }
    }
}

/// What a refresh token names: its session, user and generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshClaim {
    pub session: SessionId,
    pub user: UserId,
    pub generation: u32,
}

/// What an access token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaim {
    pub session: SessionId,
    pub user: UserId,
    pub authentication: Authentication,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_hex_characters_and_parse_only_so() {
        let id = SessionId::from_bytes([0xab; 16]);
        assert_eq!(id.as_str(), "ab".repeat(16));
        assert_eq!(SessionId::parse(id.as_str()), Some(id.clone()));
        for bad in [
            String::new(),
            "AB".repeat(16),
            "ab".repeat(15),
            format!("{}0", "ab".repeat(16)),
            format!("{}g", "a".repeat(31)),
            "../../etc/passwd".into(),
        ] {
            assert_eq!(SessionId::parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn reasons_round_trip() {
        for reason in [
            EndReason::LoggedOut,
            EndReason::RefreshReused,
            EndReason::AccountErased,
        ] {
            assert_eq!(EndReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(EndReason::parse("forgotten"), None);
    }

    #[test]
    fn client_details_are_bounded_and_printable() {
        let long = "x".repeat(MAX_USER_AGENT_CHARS + 10);
        let info = ClientInfo::new(Some(&long), None);
        assert_eq!(info.user_agent.unwrap().len(), MAX_USER_AGENT_CHARS);
        let odd = ClientInfo::new(Some("Mozilla\r\n\u{0}5.0"), Some("192.0.2.1".into()));
        assert_eq!(odd.user_agent.as_deref(), Some("Mozilla5.0"));
        assert_eq!(ClientInfo::new(Some(" \t"), None).user_agent, None);
    }
}
