//! Tokens whose signature has been checked already. A client sends the same
//! access token with every request for its whole life (minutes); checking
//! an Ed25519 or ECDSA signature costs tens of microseconds, looking up a
//! digest one. Only tokens that passed every check but the clock are kept,
//! so forged tokens can never fill the cache; the clock is judged again on
//! every use, and the session on every request, as before.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

/// Enough for the tokens of many thousands of active clients; a few
/// megabytes at most.
pub const CAPACITY: usize = 16_384;

pub struct VerifiedTokens<T> {
    entries: Mutex<HashMap<[u8; 32], Arc<T>>>,
    capacity: usize,
}

impl<T> VerifiedTokens<T> {
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// What `check` made of `token`, from the cache or by checking it now.
    /// A token that fails `check` is not remembered.
    pub fn get_or_check<E>(
        &self,
        token: &str,
        check: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(found) = self.lock().get(&digest) {
            return Ok(Arc::clone(found));
        }
        let checked = Arc::new(check()?);
        let mut entries = self.lock();
        // Full: start again rather than track ages; the cache refills
        // from the tokens in use within a request each.
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(digest, Arc::clone(&checked));
        Ok(checked)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Arc<T>>> {
        // The map holds no invariant a panicking holder could break.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checked_token_is_checked_once_and_a_refused_one_every_time() {
        let cache = VerifiedTokens::new(8);
        let checks = std::cell::Cell::new(0);
        let check = |ok: bool| {
            checks.set(checks.get() + 1);
            if ok {
                Ok(7)
            } else {
                Err("refused")
            }
        };
        assert_eq!(*cache.get_or_check("good", || check(true)).unwrap(), 7);
        assert_eq!(*cache.get_or_check("good", || check(true)).unwrap(), 7);
        assert_eq!(checks.get(), 1);
        assert!(cache.get_or_check("forged", || check(false)).is_err());
        assert!(cache.get_or_check("forged", || check(false)).is_err());
        assert_eq!(checks.get(), 3);
        assert_eq!(cache.len(), 1, "refusals are never kept");
    }

    #[test]
    fn it_never_holds_more_than_its_capacity() {
        let cache = VerifiedTokens::new(4);
        for n in 0..10 {
            cache
                .get_or_check::<()>(&format!("token-{n}"), || Ok(n))
                .unwrap();
            assert!(cache.len() <= 4);
        }
    }
}
