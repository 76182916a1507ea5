//! The wall clock, the adapter behind the domain's `Clock` port.

use authusers_domain::clock::Clock;
use chrono::{DateTime, Utc};

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
