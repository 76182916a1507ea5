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

/// One piece of work's place in a queue, seen from either side.
struct Place {
    state: Arc<AtomicU8>,
    waiting: Arc<AtomicUsize>,
}

impl Place {
    /// Moves the work out of the queue to `to` (started or abandoned), if
    /// the other side has not moved it first; then it no longer waits.
    fn leave_queue(&self, to: u8) -> bool {
        let left = self
            .state
            .compare_exchange(QUEUED, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if left {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
        }
        left
    }
}

/// The caller's hold on queued work. Dropped before the work started, it
/// abandons it.
pub(crate) struct Ticket(Place);

/// The work's side: it may start only if its caller still waits.
pub(crate) struct Claim(Place);

/// A ticket and its claim for one piece of work, counted in `waiting`
/// until it starts or is abandoned.
pub(crate) fn issue(waiting: &Arc<AtomicUsize>) -> (Ticket, Claim) {
    let state = Arc::new(AtomicU8::new(QUEUED));
    waiting.fetch_add(1, Ordering::Relaxed);
    let place = || Place {
        state: Arc::clone(&state),
        waiting: Arc::clone(waiting),
    };
    (Ticket(place()), Claim(place()))
}

impl Claim {
    /// Whether the work may run: its caller has not given up.
    pub(crate) fn start(self) -> bool {
        self.0.leave_queue(STARTED)
    }
}

impl Ticket {
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
        if self.0.leave_queue(ABANDONED) {
            return Err(StorageError::Busy(start_within));
        }
        // Started just in time: its answer comes.
        answered.await.map_err(|_| StorageError::TaskCancelled)?
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.0.leave_queue(ABANDONED);
    }
}
