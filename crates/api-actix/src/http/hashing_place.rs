//! The hashing queue at the HTTP edge: a request takes its place once its
//! body has arrived, and a full queue is answered 503 at once.

use std::time::Duration;

use authusers_infra_crypto::{HashingPlace, HashingQueue};

use crate::http::problem::Problem;

/// How long a refusal waits before it is answered: long enough that a
/// client retrying in a tight loop sends a few dozen requests a second per
/// connection rather than a thousand, each of which would take CPU from the
/// hashes and from every other request; short enough to be an answer "at
/// once" to anyone else. The pause holds no thread and no place.
pub const SHED_PAUSE: Duration = Duration::from_millis(20);

/// Takes a place in the hashing queue for a request whose body has arrived
/// whole and parsed, right before the work that hashes: a client still
/// sending its body holds no place, so slow bodies cannot fill the queue.
/// With every place taken, the answer is 503 `overloaded`, after a short
/// pause.
pub async fn take_place(queue: &HashingQueue) -> Result<HashingPlace, Problem> {
    match queue.admit() {
        Ok(place) => Ok(place),
        Err(overloaded) => {
            tokio::time::sleep(SHED_PAUSE).await;
            Err(Problem::overloaded(overloaded.retry_after))
        }
    }
}
