//! What the limits count: attempts, each under a key of one counter.

use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;

use chrono::Duration;
use sha2::{Digest, Sha256};

use crate::{Email, UserId};

/// The address a request comes from, as the HTTP adapter resolved it (the
/// socket's peer, or what a trusted proxy says it saw).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddress(IpAddr);

impl ClientAddress {
    /// An IPv4 address written as IPv6 (`::ffff:192.0.2.1`) is taken as the
    /// IPv4 address it is, so that one client has one address.
    pub fn new(ip: IpAddr) -> Self {
        Self(ip.to_canonical())
    }

    pub fn ip(self) -> IpAddr {
        self.0
    }

    /// What the per-address limits count by: an IPv4 address whole, an
    /// IPv6 address by its /64. A /64 is one subscriber's network, and its
    /// owner can change the lower 64 bits at will.
    pub fn network(self) -> String {
        match self.0 {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => {
                let [a, b, c, d, ..] = v6.segments();
                format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
            }
        }
    }
}

impl fmt::Display for ClientAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The counters the limits keep. Each names its own attempts; one key
/// never counts for another counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counter {
    /// Failed logins for one account from one address.
    LoginAccount,
    /// Failed logins from one address, whatever the account.
    LoginAddress,
    /// Registrations from one address.
    Registration,
    /// Password-reset mails to one e-mail address.
    ResetMail,
    /// `reset_password` requests from one address, whatever the e-mail.
    ResetAddress,
    /// Activation mails sent again to one e-mail address.
    ActivationMail,
    /// Wrong second-factor codes for one account, from anywhere.
    SecondFactor,
}

impl Counter {
    pub const ALL: [Counter; 7] = [
        Counter::LoginAccount,
        Counter::LoginAddress,
        Counter::Registration,
        Counter::ResetMail,
        Counter::ResetAddress,
        Counter::ActivationMail,
        Counter::SecondFactor,
    ];

    /// The stored name, also the `reason` of a throttled answer in metrics
    /// and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Counter::LoginAccount => "login_account",
            Counter::LoginAddress => "login_address",
            Counter::Registration => "registration",
            Counter::ResetMail => "reset_mail",
            Counter::ResetAddress => "reset_address",
            Counter::ActivationMail => "activation_mail",
            Counter::SecondFactor => "second_factor",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == stored)
    }
}

/// One key of one counter: the SHA-256 of the counter and what it counts
/// by, so that neither e-mail addresses nor client addresses are stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CounterKey {
    counter: Counter,
    digest: String,
}

impl CounterKey {
    fn of(counter: Counter, subject: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(counter.as_str().as_bytes());
        hasher.update([0]);
        hasher.update(subject.as_bytes());
        let digest = hasher
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Self { counter, digest }
    }

    /// The account as typed at login (an address that does not parse, or
    /// has no account, counts alike), from one client's network. Addresses
    /// that name the same account share a key, so that changing the case
    /// of the e-mail starts no new count.
    pub fn login_account(typed_email: &str, client: ClientAddress) -> Self {
        let account = match Email::parse(typed_email) {
            Ok(email) => email.canonical(),
            Err(_) => format!("unparsed:{}", typed_email.trim().to_lowercase()),
        };
        Self::of(
            Counter::LoginAccount,
            &format!("{account}\0{}", client.network()),
        )
    }

    pub fn login_address(client: ClientAddress) -> Self {
        Self::of(Counter::LoginAddress, &client.network())
    }

    pub fn registration(client: ClientAddress) -> Self {
        Self::of(Counter::Registration, &client.network())
    }

    pub fn reset_mail(email: &Email) -> Self {
        Self::of(Counter::ResetMail, &email.canonical())
    }

    pub fn reset_address(client: ClientAddress) -> Self {
        Self::of(Counter::ResetAddress, &client.network())
    }

    pub fn activation_mail(email: &Email) -> Self {
        Self::of(Counter::ActivationMail, &email.canonical())
    }

    /// The account whose second factor is tried, whoever tries it: codes
    /// are six digits, so the count cannot be spread over addresses.
    pub fn second_factor(user: UserId) -> Self {
        Self::of(Counter::SecondFactor, &user.0.to_string())
    }

    pub fn counter(&self) -> Counter {
        self.counter
    }

    /// 64 hexadecimal digits.
    pub fn digest(&self) -> &str {
        &self.digest
    }
}

/// At most `max` attempts in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: NonZeroU32,
    pub window: Duration,
}

impl Limit {
    /// `None` when `max` is 0 (the limit is off) or the window is empty.
    pub fn new(max: u32, window: Duration) -> Option<Self> {
        let max = NonZeroU32::new(max)?;
        (window > Duration::zero()).then_some(Self { max, window })
    }
}

/// A key and the limit it is held to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub key: CounterKey,
    pub limit: Limit,
}

/// One recorded attempt, so that it can be taken back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttemptId(pub i64);

/// A refusal: a limit is reached, and lifts after `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many attempts ({}): retry after {} s", counter.as_str(), retry_after.num_seconds())]
pub struct Throttled {
    pub counter: Counter,
    pub retry_after: Duration,
}

/// The limits a deployment sets; `None` turns one off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AbuseLimits {
    /// `LOGIN_MAX_FAILURES_PER_ACCOUNT` in `LOGIN_FAILURE_WINDOW_SECONDS`.
    pub login_per_account: Option<Limit>,
    /// `LOGIN_MAX_FAILURES_PER_ADDRESS` in `LOGIN_FAILURE_WINDOW_SECONDS`.
    pub login_per_address: Option<Limit>,
    /// `REGISTRATIONS_PER_ADDRESS_PER_HOUR`; `resend_activation` counts
    /// here too, as the second half of a registration.
    pub registrations_per_address: Option<Limit>,
    /// `PASSWORD_RESETS_PER_ADDRESS_PER_HOUR`.
    pub resets_per_address: Option<Limit>,
}

/// The defaults of the contract.
pub const DEFAULT_LOGIN_FAILURE_WINDOW: Duration = Duration::seconds(900);
pub const DEFAULT_LOGIN_MAX_FAILURES_PER_ACCOUNT: u32 = 10;
pub const DEFAULT_LOGIN_MAX_FAILURES_PER_ADDRESS: u32 = 100;
pub const DEFAULT_REGISTRATIONS_PER_ADDRESS_PER_HOUR: u32 = 30;
pub const DEFAULT_PASSWORD_RESETS_PER_ADDRESS_PER_HOUR: u32 = 30;
/// The window of `PASSWORD_RESETS_PER_ADDRESS_PER_HOUR`.
pub const RESET_ADDRESS_WINDOW: Duration = Duration::hours(1);
/// Activation mails sent again to one address in an hour, at most.
pub const ACTIVATION_MAILS_PER_HOUR: u32 = 3;
/// The window of [`ACTIVATION_MAILS_PER_HOUR`].
pub const ACTIVATION_MAIL_WINDOW: Duration = Duration::hours(1);
pub const REGISTRATION_WINDOW: Duration = Duration::hours(1);
/// The window of `PASSWORD_RESET_MAILS_PER_HOUR`.
pub const RESET_MAIL_WINDOW: Duration = Duration::hours(1);
/// Wrong second-factor codes for one account in
/// [`SECOND_FACTOR_FAILURE_WINDOW`], at most: a million codes against ten
/// tries a quarter of an hour.
pub const SECOND_FACTOR_FAILURES: u32 = 10;
pub const SECOND_FACTOR_FAILURE_WINDOW: Duration = Duration::minutes(15);

impl AbuseLimits {
    pub fn standard() -> Self {
        Self::new(
            DEFAULT_LOGIN_MAX_FAILURES_PER_ACCOUNT,
            DEFAULT_LOGIN_MAX_FAILURES_PER_ADDRESS,
            DEFAULT_LOGIN_FAILURE_WINDOW,
            DEFAULT_REGISTRATIONS_PER_ADDRESS_PER_HOUR,
        )
    }

    /// The limits from the numbers a deployment configures; 0 turns one off.
    /// The reset requests per address take their default; see
    /// [`Self::with_resets_per_address`].
    pub fn new(
        login_per_account: u32,
        login_per_address: u32,
        login_window: Duration,
        registrations_per_hour: u32,
    ) -> Self {
        Self {
            login_per_account: Limit::new(login_per_account, login_window),
            login_per_address: Limit::new(login_per_address, login_window),
            registrations_per_address: Limit::new(registrations_per_hour, REGISTRATION_WINDOW),
            resets_per_address: Limit::new(
                DEFAULT_PASSWORD_RESETS_PER_ADDRESS_PER_HOUR,
                RESET_ADDRESS_WINDOW,
            ),
        }
    }

    /// At most `per_hour` `reset_password` requests from one address in
    /// any hour; 0 turns the limit off.
    pub fn with_resets_per_address(mut self, per_hour: u32) -> Self {
        self.resets_per_address = Limit::new(per_hour, RESET_ADDRESS_WINDOW);
        self
    }

    /// How long an attempt of `counter` matters; older ones can go. `None`
    /// for a limit that is off. (The reset-mail limit is the reset
    /// policy's; its window is always the hour.)
    pub fn window_of(&self, counter: Counter) -> Option<Duration> {
        match counter {
            Counter::LoginAccount => self.login_per_account.map(|l| l.window),
            Counter::LoginAddress => self.login_per_address.map(|l| l.window),
            Counter::Registration => self.registrations_per_address.map(|l| l.window),
            Counter::ResetMail => Some(RESET_MAIL_WINDOW),
            Counter::ResetAddress => self.resets_per_address.map(|l| l.window),
            Counter::ActivationMail => Some(ACTIVATION_MAIL_WINDOW),
            Counter::SecondFactor => Some(SECOND_FACTOR_FAILURE_WINDOW),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(a: u8, b: u8, c: u8, d: u8) -> ClientAddress {
        ClientAddress::new(IpAddr::V4(Ipv4Addr::new(a, b, c, d)))
    }

    fn v6(raw: &str) -> ClientAddress {
        ClientAddress::new(raw.parse::<Ipv6Addr>().unwrap().into())
    }

    #[test]
    fn an_ipv4_address_written_as_ipv6_is_the_same_client() {
        assert_eq!(v6("::ffff:192.0.2.1"), v4(192, 0, 2, 1));
        assert_eq!(v6("::ffff:192.0.2.1").network(), "192.0.2.1");
    }

    #[test]
    fn ipv6_clients_count_by_their_64_bit_network() {
        let one = v6("2001:db8:1:2:aaaa::1");
        let other_host = v6("2001:db8:1:2:ffff:ffff:ffff:ffff");
        let other_network = v6("2001:db8:1:3::1");
        assert_eq!(one.network(), "2001:db8:1:2::/64");
        assert_eq!(
            CounterKey::login_address(one),
            CounterKey::login_address(other_host)
        );
        assert_ne!(
            CounterKey::login_address(one),
            CounterKey::login_address(other_network)
        );
    }

    #[test]
    fn an_account_typed_in_another_case_has_the_same_key() {
        let client = v4(203, 0, 113, 7);
        let a = CounterKey::login_account("Ann@Example.com", client);
        let b = CounterKey::login_account(" ann@EXAMPLE.COM ", client);
        assert_eq!(a, b);
        assert_eq!(a.digest().len(), 64);
        assert!(!a.digest().contains("ann"));
    }

    #[test]
    fn keys_differ_by_account_by_network_and_by_counter() {
        let here = v4(203, 0, 113, 7);
        let there = v4(203, 0, 113, 8);
        let ann = CounterKey::login_account("ann@example.com", here);
        assert_ne!(ann, CounterKey::login_account("bob@example.com", here));
        assert_ne!(ann, CounterKey::login_account("ann@example.com", there));
        assert_ne!(
            CounterKey::login_address(here).digest(),
            CounterKey::registration(here).digest()
        );
    }

    #[test]
    fn an_unparsed_login_name_still_has_a_key_of_its_own() {
        let here = v4(203, 0, 113, 7);
        let a = CounterKey::login_account("not an address", here);
        let b = CounterKey::login_account("NOT AN ADDRESS", here);
        assert_eq!(a, b);
        assert_ne!(a, CounterKey::login_account("another", here));
    }

    #[test]
    fn a_limit_of_zero_is_off() {
        assert_eq!(Limit::new(0, Duration::seconds(900)), None);
        assert_eq!(Limit::new(10, Duration::zero()), None);
        let limits = AbuseLimits::new(0, 100, Duration::seconds(60), 0);
        assert_eq!(limits.login_per_account, None);
        assert_eq!(limits.registrations_per_address, None);
        assert_eq!(limits.login_per_address.unwrap().max.get(), 100);
    }

    #[test]
    fn counters_read_back_from_their_stored_names() {
        for counter in Counter::ALL {
            assert_eq!(Counter::parse(counter.as_str()), Some(counter));
        }
        assert_eq!(Counter::parse("login"), None);
    }
}
