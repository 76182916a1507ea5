//! Work handed to a thread through a queue, with a deadline to start: the
//! caller holds a [`Ticket`], the work a [`Claim`]. Whichever moves first
//! wins: the work starts (and its caller waits for the answer), or the
//! caller gives up, or goes away, and the work never runs.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::error::StorageError;

const QUEUED: u8 = 0;
const STARTED: u8 = 1;
const ABANDONED: u8 = 2;

/// The caller's hold on queued work. Dropped before the work started, it
/// abandons it.
pub(crate) struct Ticket {
    state: Arc<AtomicU8>,
    waiting: Arc<AtomicUsize>,
}

/// The work's side: it may start only if its caller still waits.
pub(crate) struct Claim {
    state: Arc<AtomicU8>,
    waiting: Arc<AtomicUsize>,
}

/// A ticket and its claim for one piece of work, counted in `waiting`
/// until it starts or is abandoned.
pub(crate) fn issue(waiting: &Arc<AtomicUsize>) -> (Ticket, Claim) {
    let state = Arc::new(AtomicU8::new(QUEUED));
    waiting.fetch_add(1, Ordering::Relaxed);
    (
        Ticket {
            state: Arc::clone(&state),
            waiting: Arc::clone(waiting),
        },
        Claim {
            state,
            waiting: Arc::clone(waiting),
        },
    )
}

impl Claim {
    /// Whether the work may run: its caller has not given up.
    pub(crate) fn start(self) -> bool {
        let started = self
            .state
            .compare_exchange(QUEUED, STARTED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if started {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
        }
        started
    }
}

impl Ticket {
    /// Whether the work was still queued, and is now abandoned.
    fn abandon(&self) -> bool {
        let abandoned = self
            .state
            .compare_exchange(QUEUED, ABANDONED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if abandoned {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
        }
        abandoned
    }

    /// The work's answer; [`StorageError::Busy`] if it has not started
    /// within `start_within` (it then never runs).
    pub(crate) async fn answer<T>(
        self,
        mut answered: oneshot::Receiver<Result<T, StorageError>>,
        start_within: Duration,
    ) -> Result<T, StorageError> {
        tokio::select! {
            outcome = &mut answered => {
                return outcome.map_err(|_| StorageError::TaskCancelled)?;
            }
            () = tokio::time::sleep(start_within) => {}
        }
        if self.abandon() {
            return Err(StorageError::Busy(start_within));
        }
        // Started just in time: its answer comes.
        answered.await.map_err(|_| StorageError::TaskCancelled)?
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.abandon();
    }
}
