use std::sync::Arc;

use async_trait::async_trait;
use authusers_domain::password::MAX_PASSWORD_BYTES;
use authusers_domain::ports::{HashingError, PasswordHasher};
use authusers_domain::{Password, PasswordHash};
use tokio::sync::Semaphore;

/// bcrypt, run on blocking threads: hashing is deliberately slow and must
/// never stall the async executor. At most one hash per core runs at a time;
/// further requests wait their turn without holding a thread.
///
/// bcrypt keys on at most 72 bytes. The crate's non-truncating functions
/// refuse a 72-byte password (they count a terminating NUL), so the plain
/// functions are used, and the 72-byte bound is kept here and by
/// [`Password`]: nothing longer is ever hashed or compared, so nothing is
/// ever truncated.
pub struct BcryptHasher {
    cost: u32,
    permits: Arc<Semaphore>,
    decoy: PasswordHash,
}

impl BcryptHasher {
    /// Builds the hasher and the decoy hash used to spend a verification's
    /// time on logins for unknown e-mails. Blocks for one hash: call it at
    /// start-up.
    pub fn new(cost: u32) -> Result<Self, HashingError> {
        let decoy_secret = uuid::Uuid::new_v4().to_string();
        let decoy = bcrypt::hash(decoy_secret, cost).map_err(|e| HashingError(e.to_string()))?;
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Ok(Self {
            cost,
            permits: Arc::new(Semaphore::new(cores)),
            decoy: PasswordHash::new(decoy),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, bcrypt::BcryptError> + Send + 'static,
    ) -> Result<T, HashingError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashingError(e.to_string()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| HashingError(e.to_string()))?
            .map_err(|e| HashingError(e.to_string()))
    }
}

#[async_trait]
impl PasswordHasher for BcryptHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashingError> {
        let password = password.expose().to_owned();
        let cost = self.cost;
        let hash = self.run(move || bcrypt::hash(password, cost)).await?;
        Ok(PasswordHash::new(hash))
    }

    async fn verify(&self, candidate: &str, hash: &PasswordHash) -> Result<bool, HashingError> {
        // A longer candidate would be compared by its first 72 bytes: it is
        // another password, and never matches. It still costs a
        // verification.
        let candidate_fits = candidate.len() <= MAX_PASSWORD_BYTES;
        let candidate = candidate.to_owned();
        let hash = if candidate_fits { hash } else { &self.decoy };
        let hash = hash.as_str().to_owned();
        let matches = self.run(move || bcrypt::verify(candidate, &hash)).await?;
        Ok(matches && candidate_fits)
    }

    async fn verify_decoy(&self, candidate: &str) {
        // Only the time spent matters; the answer is always "no".
        let _ = self.verify(candidate, &self.decoy.clone()).await;
    }

    fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        bcrypt_cost(hash.as_str()).is_some_and(|cost| cost != self.cost)
    }

    async fn rehash(&self, candidate: &str) -> Result<PasswordHash, HashingError> {
        if candidate.len() > MAX_PASSWORD_BYTES {
            return Err(HashingError(format!(
                "a password over {MAX_PASSWORD_BYTES} bytes cannot be hashed"
            )));
        }
        let candidate = candidate.to_owned();
        let cost = self.cost;
        let hash = self.run(move || bcrypt::hash(candidate, cost)).await?;
        Ok(PasswordHash::new(hash))
    }
}

/// The cost of a bcrypt hash (`$2b$12$...`), if it is one.
fn bcrypt_cost(hash: &str) -> Option<u32> {
    let mut parts = hash.split('$');
    let (Some(""), Some(_version), Some(cost)) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    cost.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use authusers_domain::password::PasswordContext;

    fn password(raw: &str) -> Password {
        let context = PasswordContext {
            email: None,
            first_name: None,
            last_name: None,
        };
        Password::parse(raw, context).unwrap()
    }

    #[tokio::test]
    async fn verifies_what_it_hashed_and_nothing_else() {
        let hasher = BcryptHasher::new(4).unwrap();
        let hash = hasher.hash(&password("lantern-quiet-orbit")).await.unwrap();
        assert!(hash.as_str().starts_with("$2b$04$"));
        assert!(hasher.verify("lantern-quiet-orbit", &hash).await.unwrap());
        assert!(!hasher.verify("lantern-quiet-orbiT", &hash).await.unwrap());
    }

    #[tokio::test]
    async fn a_72_byte_password_hashes_and_verifies_and_73_bytes_never_match() {
        let hasher = BcryptHasher::new(4).unwrap();
        let exact = format!("{}Q9", "lantern-".repeat(8) + "abcdef");
        assert_eq!(exact.len(), 72);
        let hash = hasher.hash(&password(&exact)).await.unwrap();
        assert!(hasher.verify(&exact, &hash).await.unwrap());
        let over = format!("{exact}!");
        assert!(!hasher.verify(&over, &hash).await.unwrap());
        let shorter = &exact[..71];
        assert!(!hasher.verify(shorter, &hash).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_of_another_cost_need_rehashing() {
        let hasher = BcryptHasher::new(5).unwrap();
        let current = hasher.hash(&password("lantern-quiet-orbit")).await.unwrap();
        assert!(!hasher.needs_rehash(&current));
        let cheaper = BcryptHasher::new(4).unwrap();
        let old = cheaper
            .hash(&password("lantern-quiet-orbit"))
            .await
            .unwrap();
        assert!(hasher.needs_rehash(&old));
        let upgraded = hasher.rehash("lantern-quiet-orbit").await.unwrap();
        assert!(upgraded.as_str().starts_with("$2b$05$"));
        assert!(hasher
            .verify("lantern-quiet-orbit", &upgraded)
            .await
            .unwrap());
        assert!(!hasher.needs_rehash(&PasswordHash::new("!erased".into())));
        assert!(hasher.rehash(&"x".repeat(73)).await.is_err());
    }

    #[tokio::test]
    async fn a_long_candidate_does_not_match_its_72_byte_prefix() {
        let hasher = BcryptHasher::new(4).unwrap();
        let exact = format!("{}Q9", "lantern-".repeat(8) + "ab");
        assert_eq!(exact.len(), 68);
        let hash = hasher.hash(&password(&exact)).await.unwrap();
        let longer = format!("{exact}zzzzzzzz");
        assert!(!matches!(hasher.verify(&longer, &hash).await, Ok(true)));
    }
}
