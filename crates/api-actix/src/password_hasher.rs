use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use authusers_domain::password::MAX_PASSWORD_BYTES;
use authusers_domain::ports::{HashingError, PasswordHasher};
use authusers_domain::{Password, PasswordHash};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How many hashes run at once, and how many may wait for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingCapacity {
    /// `PASSWORD_HASHING_THREADS`: hashes running at once (default: one
    /// per core).
    pub threads: usize,
    /// `PASSWORD_HASHING_QUEUE`: hashes waiting for a thread; past them,
    /// work is refused at once.
    pub queue: usize,
}

impl HashingCapacity {
    /// One thread per core, and two waiting per thread: a request waits
    /// at most about three hashes' time.
    pub fn standard() -> Self {
        let threads = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            threads,
            queue: 2 * threads,
        }
    }
}

/// What the hashing queue is doing, for metrics.
#[derive(Debug, Default)]
pub struct HashingStats {
    waiting: AtomicUsize,
    running: AtomicUsize,
    shed: AtomicU64,
    /// The latest hash's duration, in microseconds (0 before the first).
    last_hash_micros: AtomicU64,
}

impl HashingStats {
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    pub fn running(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    /// Hashing refused because the queue was full, since start-up.
    pub fn shed(&self) -> u64 {
        self.shed.load(Ordering::Relaxed)
    }

    fn last_hash(&self) -> Duration {
        Duration::from_micros(self.last_hash_micros.load(Ordering::Relaxed))
    }
}

/// Counts one in `counter` for as long as it lives: a waiting request that
/// is cancelled is no longer counted.
struct Counted(Arc<HashingStats>, fn(&HashingStats) -> &AtomicUsize);

impl Counted {
    fn new(stats: &Arc<HashingStats>, counter: fn(&HashingStats) -> &AtomicUsize) -> Self {
        counter(stats).fetch_add(1, Ordering::Relaxed);
        Self(Arc::clone(stats), counter)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        (self.1)(&self.0).fetch_sub(1, Ordering::Relaxed);
    }
}

/// bcrypt, run on blocking threads: hashing is deliberately slow and must
/// never stall the async executor. At most `threads` hashes run at a time
/// and at most `queue` more wait their turn, without holding a thread;
/// past that, hashing is refused at once (`Overloaded`), so that a storm
/// of logins gets a quick 503 instead of a growing wait. A request
/// cancelled while it waits gives its place back; a hash that has started
/// keeps its place until it ends, because its thread is busy until then.
///
/// bcrypt keys on at most 72 bytes. The crate's non-truncating functions
/// refuse a 72-byte password (they count a terminating NUL), so the plain
/// functions are used, and the 72-byte bound is kept here and by
/// [`Password`]: nothing longer is ever hashed or compared, so nothing is
/// ever truncated.
pub struct BcryptHasher {
    cost: u32,
    capacity: HashingCapacity,
    /// Running and waiting hashes together.
    places: Arc<Semaphore>,
    /// Running hashes.
    threads: Arc<Semaphore>,
    stats: Arc<HashingStats>,
    decoy: PasswordHash,
}

fn failed(error: impl std::error::Error + Send + Sync + 'static) -> HashingError {
    HashingError::Failed(Box::new(error))
}

impl BcryptHasher {
    /// Builds the hasher and the decoy hash used to spend a verification's
    /// time on logins for unknown e-mails. Blocks for one hash: call it at
    /// start-up.
    pub fn new(cost: u32, capacity: HashingCapacity) -> Result<Self, HashingError> {
        let threads = capacity.threads.max(1);
        let capacity = HashingCapacity {
            threads,
            ..capacity
        };
        let stats = Arc::new(HashingStats::default());
        let decoy_secret = uuid::Uuid::new_v4().to_string();
        let started = Instant::now();
        let decoy = bcrypt::hash(decoy_secret, cost).map_err(failed)?;
        stats.record(started.elapsed());
        Ok(Self {
            cost,
            capacity,
            places: Arc::new(Semaphore::new(threads + capacity.queue)),
            threads: Arc::new(Semaphore::new(threads)),
            stats,
            decoy: PasswordHash::new(decoy),
        })
    }

    pub fn stats(&self) -> Arc<HashingStats> {
        Arc::clone(&self.stats)
    }

    /// When a place is likely free again: the queue drains `threads`
    /// hashes at a time. Whole seconds, at least one.
    fn overloaded(&self) -> HashingError {
        self.stats.shed.fetch_add(1, Ordering::Relaxed);
        let rounds = self.capacity.queue / self.capacity.threads + 1;
        let wait = self.stats.last_hash().saturating_mul(rounds as u32);
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        HashingError::Overloaded {
            retry_after: chrono::Duration::seconds(seconds.clamp(1, 3600) as i64),
        }
    }

    fn take_place(&self) -> Result<OwnedSemaphorePermit, HashingError> {
        Arc::clone(&self.places)
            .try_acquire_owned()
            .map_err(|_| self.overloaded())
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, bcrypt::BcryptError> + Send + 'static,
    ) -> Result<T, HashingError> {
        let place = self.take_place()?;
        let waiting = Counted::new(&self.stats, |s| &s.waiting);
        let thread = Arc::clone(&self.threads)
            .acquire_owned()
            .await
            .map_err(failed)?;
        drop(waiting);
        let stats = Arc::clone(&self.stats);
        tokio::task::spawn_blocking(move || {
            let _held = (place, thread);
            let _running = Counted::new(&stats, |s| &s.running);
            let started = Instant::now();
            let outcome = work();
            stats.record(started.elapsed());
            outcome
        })
        .await
        .map_err(failed)?
        .map_err(failed)
    }
}

impl HashingStats {
    fn record(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.last_hash_micros.store(micros, Ordering::Relaxed);
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

    async fn verify_decoy(&self, candidate: &str) -> Result<(), HashingError> {
        // Only the time spent matters; the answer is always "no".
        self.verify(candidate, &self.decoy.clone()).await.map(drop)
    }

    fn check_capacity(&self) -> Result<(), HashingError> {
        match self.places.available_permits() {
            0 => Err(self.overloaded()),
            _ => Ok(()),
        }
    }

    fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        bcrypt_cost(hash.as_str()).is_some_and(|cost| cost != self.cost)
    }

    async fn rehash(&self, candidate: &str) -> Result<PasswordHash, HashingError> {
        if candidate.len() > MAX_PASSWORD_BYTES {
            return Err(HashingError::Failed(
                format!("a password over {MAX_PASSWORD_BYTES} bytes cannot be hashed").into(),
            ));
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
        let hasher = BcryptHasher::new(4, HashingCapacity::standard()).unwrap();
        let hash = hasher.hash(&password("lantern-quiet-orbit")).await.unwrap();
        assert!(hash.as_str().starts_with("$2b$04$"));
        assert!(hasher.verify("lantern-quiet-orbit", &hash).await.unwrap());
        assert!(!hasher.verify("lantern-quiet-orbiT", &hash).await.unwrap());
    }

    #[tokio::test]
    async fn a_72_byte_password_hashes_and_verifies_and_73_bytes_never_match() {
        let hasher = BcryptHasher::new(4, HashingCapacity::standard()).unwrap();
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
        let hasher = BcryptHasher::new(5, HashingCapacity::standard()).unwrap();
        let current = hasher.hash(&password("lantern-quiet-orbit")).await.unwrap();
        assert!(!hasher.needs_rehash(&current));
        let cheaper = BcryptHasher::new(4, HashingCapacity::standard()).unwrap();
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
        let hasher = BcryptHasher::new(4, HashingCapacity::standard()).unwrap();
        let exact = format!("{}Q9", "lantern-".repeat(8) + "ab");
        assert_eq!(exact.len(), 68);
        let hash = hasher.hash(&password(&exact)).await.unwrap();
        let longer = format!("{exact}zzzzzzzz");
        assert!(!matches!(hasher.verify(&longer, &hash).await, Ok(true)));
    }

    /// Waits until the hasher shows `running` running and `waiting` waiting.
    async fn until(stats: &HashingStats, running: usize, waiting: usize) {
        while stats.running() != running || stats.waiting() != waiting {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    fn one_thread_one_waiting() -> Arc<BcryptHasher> {
        let capacity = HashingCapacity {
            threads: 1,
            queue: 1,
        };
        Arc::new(BcryptHasher::new(11, capacity).unwrap())
    }

    fn verify_later(hasher: &Arc<BcryptHasher>) -> tokio::task::JoinHandle<bool> {
        let hasher = Arc::clone(hasher);
        tokio::spawn(async move {
            let hash = hasher.decoy.clone();
            hasher.verify("lantern-quiet-orbit", &hash).await.unwrap()
        })
    }

    #[tokio::test]
    async fn past_the_running_and_waiting_places_hashing_is_refused_at_once() {
        let hasher = one_thread_one_waiting();
        let stats = hasher.stats();
        let running = verify_later(&hasher);
        until(&stats, 1, 0).await;
        let waiting = verify_later(&hasher);
        until(&stats, 1, 1).await;

        assert!(matches!(
            hasher.check_capacity(),
            Err(HashingError::Overloaded { .. })
        ));
        let refused = hasher.verify("lantern-quiet-orbit", &hasher.decoy).await;
        let Err(HashingError::Overloaded { retry_after }) = refused else {
            panic!("expected Overloaded, got {refused:?}");
        };
        assert!(retry_after >= chrono::Duration::seconds(1));
        assert_eq!(stats.shed(), 2);

        assert!(!running.await.unwrap());
        assert!(!waiting.await.unwrap());
        assert!(hasher.check_capacity().is_ok());
        assert_eq!((stats.running(), stats.waiting()), (0, 0));
    }

    #[tokio::test]
    async fn a_cancelled_waiting_request_gives_its_place_back() {
        let hasher = one_thread_one_waiting();
        let stats = hasher.stats();
        let running = verify_later(&hasher);
        until(&stats, 1, 0).await;
        let waiting = verify_later(&hasher);
        until(&stats, 1, 1).await;
        assert!(hasher.check_capacity().is_err());

        waiting.abort();
        until(&stats, 1, 0).await;
        assert!(hasher.check_capacity().is_ok());
        let next = verify_later(&hasher);
        until(&stats, 1, 1).await;
        assert!(!running.await.unwrap());
        assert!(!next.await.unwrap());
        assert_eq!(stats.shed(), 1);
    }
}
