use authusers_domain::accounts::Accounts;
use authusers_domain::ports::Clock;
use authusers_domain::wallet::Wallet;
use std::sync::Arc;
use tokio::sync::Notify;

use crate::auth::TokenService;

/// What every handler can reach: the domain's account and balance
/// operations and the token service. Built once at start-up, shared by all workers.
#[derive(Clone)]
pub struct AppState {
    pub accounts: Accounts,
    pub wallet: Wallet,
    pub tokens: TokenService,
    pub clock: Arc<dyn Clock>,
    /// Wakes the outbox worker when a request has queued mail.
    pub outbox_wake: Arc<Notify>,
}
