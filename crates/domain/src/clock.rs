//! The time the rules read. The wall clock is an adapter's; tests set it.

use chrono::{DateTime, Utc};

#[cfg(any(test, feature = "mocks"))]
use mockall::automock;

#[cfg_attr(any(test, feature = "mocks"), automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}
