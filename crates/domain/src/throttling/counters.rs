use std::sync::atomic::{AtomicU64, Ordering};

use super::model::Counter;

/// Refused attempts by counter since the process started, for metrics.
#[derive(Debug, Default)]
pub struct ThrottleCounters {
    login_account: AtomicU64,
    login_address: AtomicU64,
    registration: AtomicU64,
    reset_mail: AtomicU64,
    reset_address: AtomicU64,
    activation_mail: AtomicU64,
    second_factor: AtomicU64,
}

impl ThrottleCounters {
    fn cell(&self, counter: Counter) -> &AtomicU64 {
        match counter {
            Counter::LoginAccount => &self.login_account,
            Counter::LoginAddress => &self.login_address,
            Counter::Registration => &self.registration,
            Counter::ResetMail => &self.reset_mail,
            Counter::ResetAddress => &self.reset_address,
            Counter::ActivationMail => &self.activation_mail,
            Counter::SecondFactor => &self.second_factor,
        }
    }

    pub fn count(&self, counter: Counter) {
        self.cell(counter).fetch_add(1, Ordering::Relaxed);
    }

    pub fn refused(&self, counter: Counter) -> u64 {
        self.cell(counter).load(Ordering::Relaxed)
    }
}
