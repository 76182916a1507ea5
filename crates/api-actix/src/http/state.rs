use std::sync::Arc;

use authusers_domain::accounts::Accounts;
use authusers_domain::activation::Activations;
use authusers_domain::clock::Clock;
use authusers_domain::mfa::{Mfa, StepUp};
use authusers_domain::notification::Language;
use authusers_domain::outbox::{DeliveryCounters, Mailroom, OutboxRepository};
use authusers_domain::pagination::CursorSeal;
use authusers_domain::password_reset::PasswordResets;
use authusers_domain::sessions::{LegacyTokenVerifier, SessionTokens, Sessions, SignIn};
use authusers_domain::wallet::Wallet;

use authusers_domain::throttling::ThrottleCounters;

use crate::http::draining::Draining;
use crate::http::metrics::Metrics;
use crate::http::public_url::PublicUrl;
use crate::http::storage_health::StorageHealth;
use authusers_infra_crypto::HashingQueue;

/// The second factor's rules that the adapter applies: step-up before
/// money leaves, and the administrators' rule.
#[derive(Debug, Clone)]
pub struct MfaPolicy {
    /// When set, an `out` above its amount, by an account with a second
    /// factor, needs one proved within its window.
    pub step_up: Option<StepUp>,
    /// An administrator without a second factor reaches only its
    /// enrolment and their profile.
    pub required_for_admins: bool,
}

/// What every handler can reach: the domain's account and balance
/// operations, the token service, and what health and metrics read. Built
/// once at start-up, shared by all workers.
#[derive(Clone)]
pub struct AppState {
    pub accounts: Accounts,
    pub resets: PasswordResets,
    /// djoser's activation (links work even with it turned off since).
    pub activations: Activations,
    pub sessions: Sessions,
    /// The one login sequence, for the API and the console alike.
    pub sign_in: SignIn,
    /// The second factor: enrolment, codes, recovery codes.
    pub mfa: Mfa,
    /// Who must have a second factor, and when a fresh one is asked for.
    pub mfa_policy: MfaPolicy,
    pub wallet: Wallet,
    /// The outbox as administrators see it (the console).
    pub mailroom: Mailroom,
    pub tokens: Arc<dyn SessionTokens>,
    /// Seals the lists' page cursors.
    pub cursors: Arc<dyn CursorSeal>,
    /// The old service's tokens, while their bridge is open.
    pub legacy_tokens: Option<Arc<dyn LegacyTokenVerifier>>,
    pub clock: Arc<dyn Clock>,
    /// The language of the pages the service serves itself, as of its mail.
    pub language: Language,
    /// The base of absolute links (`PUBLIC_URL`), if configured.
    pub public_url: Option<PublicUrl>,
    /// What readiness and the metrics read of the storage.
    pub storage: Arc<dyn StorageHealth>,
    pub outbox: Arc<dyn OutboxRepository>,
    pub delivery_counters: Arc<DeliveryCounters>,
    pub metrics: Arc<Metrics>,
    /// Refused attempts, by limit, for metrics.
    pub throttle_counters: Arc<ThrottleCounters>,
    /// The password-hashing queue: requests that hash take a place in it.
    pub hashing: Arc<HashingQueue>,
    /// Set when the server has been told to stop and is draining.
    pub draining: Arc<Draining>,
}
