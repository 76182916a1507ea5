use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use authusers_domain::accounts::{HashingError, PasswordHasher};
use authusers_domain::password::MAX_PASSWORD_BYTES;
use authusers_domain::{Password, PasswordHash};

/// The longest password checked against a Django hash: Django set no
/// limit of its own, and its users may have passwords longer than bcrypt's
/// 72 bytes; past this, a candidate is refused without deriving anything
/// from it.
const MAX_DJANGO_PASSWORD_BYTES: usize = 4096;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::django::{self, StoredHash};

/// How many hashes run at once, and how many requests may wait for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingCapacity {
    /// `PASSWORD_HASHING_THREADS`: hashes running at once (default: one
    /// per core).
    pub threads: usize,
    /// `PASSWORD_HASHING_QUEUE`: requests admitted beyond those, waiting
    /// for a thread; past them, requests are refused at once. `None`: as
    /// many as the threads hash within `max_wait`, from a hash timed at
    /// start-up.
    pub queue: Option<usize>,
    /// `PASSWORD_HASHING_MAX_WAIT_MS`: the longest an admitted request
    /// waits for a thread; past it, it is refused rather than hashed late.
    pub max_wait: Duration,
}

/// The default of `PASSWORD_HASHING_MAX_WAIT_MS`: a burst of logins that
/// the threads can serve within two seconds waits for them, as it did on
/// the Django service (each such login took about a second there).
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(2);

/// The most waiting places a fitted queue gets, however fast a hash.
const MAX_FITTED_QUEUE: usize = 100_000;

impl HashingCapacity {
    /// One thread per core, and a queue sized from the hash time and
    /// [`DEFAULT_MAX_WAIT`].
    pub fn standard() -> Self {
        let threads = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            threads,
            queue: None,
            max_wait: DEFAULT_MAX_WAIT,
        }
    }

    /// `threads` threads and exactly `queue` waiting places.
    pub fn fixed(threads: usize, queue: usize) -> Self {
        Self {
            threads,
            queue: Some(queue),
            max_wait: DEFAULT_MAX_WAIT,
        }
    }

    /// The waiting places that `threads` fill within `max_wait` when one
    /// hash takes `hash_time`: past them, an admitted request would wait
    /// longer than `max_wait`. At least one per thread.
    pub fn queue_for(&self, hash_time: Duration) -> usize {
        let threads = self.threads.max(1);
        let rounds = self.max_wait.as_micros() / hash_time.as_micros().max(1);
        let rounds = usize::try_from(rounds).unwrap_or(usize::MAX);
        threads
            .saturating_mul(rounds.saturating_sub(1))
            .clamp(threads, MAX_FITTED_QUEUE)
    }
}

/// The bounded queue in front of bcrypt. A request that will hash (a
/// login, a registration, a password change) takes a place once its body
/// has arrived and parsed, before it touches the database, and holds it
/// until its answer is sent; with every place taken it is refused at once
/// (503 `overloaded`), so that a storm of logins gets quick refusals
/// instead of a wait that grows without bound, and costs nothing else. A
/// request whose client goes away gives its place back.
#[derive(Debug)]
pub struct HashingQueue {
    capacity: HashingCapacity,
    /// The waiting places in force: `PASSWORD_HASHING_QUEUE`, or the
    /// number fitted to the hash time at start-up.
    queue: AtomicUsize,
    places: Arc<Semaphore>,
    running: AtomicUsize,
    shed: AtomicU64,
    /// The latest hash's duration, in microseconds.
    last_hash_micros: AtomicU64,
}

/// A place in the queue, held by a request until it ends.
pub struct HashingPlace {
    _permit: OwnedSemaphorePermit,
}

/// Every place is taken; one is likely free after `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overloaded {
    pub retry_after: chrono::Duration,
}

impl HashingQueue {
    pub fn new(capacity: HashingCapacity) -> Arc<Self> {
        let threads = capacity.threads.max(1);
        // Until the hash time is known, one waiting place per thread.
        let queue = capacity.queue.unwrap_or(threads);
        Arc::new(Self {
            capacity: HashingCapacity {
                threads,
                ..capacity
            },
            queue: AtomicUsize::new(queue),
            places: Arc::new(Semaphore::new(threads + queue)),
            running: AtomicUsize::new(0),
            shed: AtomicU64::new(0),
            last_hash_micros: AtomicU64::new(0),
        })
    }

    /// A place, or `Overloaded` at once.
    pub fn admit(&self) -> Result<HashingPlace, Overloaded> {
        match Arc::clone(&self.places).try_acquire_owned() {
            Ok(permit) => Ok(HashingPlace { _permit: permit }),
            Err(_) => {
                self.shed.fetch_add(1, Ordering::Relaxed);
                Err(Overloaded {
                    retry_after: self.retry_after(),
                })
            }
        }
    }

    /// Sizes a queue left to the default from one hash's time: as many
    /// waiting places as the threads serve within the longest wait. A
    /// queue set by `PASSWORD_HASHING_QUEUE` stays as set.
    fn fit_to(&self, hash_time: Duration) {
        if self.capacity.queue.is_some() {
            return;
        }
        let fitted = self.capacity.queue_for(hash_time);
        // At least one place per thread, as provisionally: only more.
        let provisional = self.queue.swap(fitted, Ordering::Relaxed);
        self.places.add_permits(fitted.saturating_sub(provisional));
        tracing::info!(
            threads = self.capacity.threads,
            queue = fitted,
            hash_ms = hash_time.as_secs_f64() * 1_000.0,
            max_wait_ms = self.capacity.max_wait.as_millis() as u64,
            "password-hashing queue sized"
        );
    }

    /// The waiting places in force.
    pub fn queue_places(&self) -> usize {
        self.queue.load(Ordering::Relaxed)
    }

    /// When a place is likely free again: the queue drains `threads`
    /// hashes at a time. Whole seconds, at least one.
    fn retry_after(&self) -> chrono::Duration {
        let rounds = self.queue_places() / self.capacity.threads + 1;
        let last = Duration::from_micros(self.last_hash_micros.load(Ordering::Relaxed));
        let wait = last.saturating_mul(u32::try_from(rounds).unwrap_or(u32::MAX));
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        chrono::Duration::seconds(i64::try_from(seconds.clamp(1, 3600)).unwrap_or(1))
    }

    /// Hashes running now.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    /// Admitted requests not hashing yet (waiting for a thread, or still
    /// before their hash): the queue's depth.
    pub fn waiting(&self) -> usize {
        let total = self.capacity.threads + self.queue_places();
        let admitted = total.saturating_sub(self.places.available_permits());
        admitted.saturating_sub(self.running())
    }

    /// Requests refused because every place was taken, since start-up.
    pub fn shed(&self) -> u64 {
        self.shed.load(Ordering::Relaxed)
    }

    fn record(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.last_hash_micros.store(micros, Ordering::Relaxed);
    }
}

/// Counts one running hash for as long as it lives.
struct Running(Arc<HashingQueue>);

impl Running {
    fn new(queue: &Arc<HashingQueue>) -> Self {
        queue.running.fetch_add(1, Ordering::Relaxed);
        Self(Arc::clone(queue))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The threads that run bcrypt: `threads` of them, started once, taking
/// jobs in turn. They run at a lower scheduling priority than the threads
/// that serve requests (nice 10, on Linux), so that while every core hashes
/// a reading request still gets a core at once: a login storm slows logins,
/// not the rest of the API.
struct HashingThreads {
    jobs: std::sync::mpsc::Sender<Box<dyn FnOnce() + Send>>,
}

/// How much lower than the server's threads the hashing threads run.
const HASHING_NICENESS: i32 = 10;

impl HashingThreads {
    fn start(count: usize) -> std::io::Result<Self> {
        let (jobs, queue) = std::sync::mpsc::channel::<Box<dyn FnOnce() + Send>>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for n in 0..count {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("bcrypt-{n}"))
                .spawn(move || {
                    lower_this_threads_priority();
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            // A job that panics loses its answer (its caller
                            // sees the hashing fail), not this thread.
                            Ok(job) => {
                                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
                                    .is_err()
                                {
                                    tracing::error!("a password-hashing job panicked");
                                }
                            }
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(Self { jobs })
    }
}

#[cfg(target_os = "linux")]
fn lower_this_threads_priority() {
    // On Linux, PRIO_PROCESS with 0 names the calling thread, not the
    // whole process. Raising one's niceness needs no privilege.
    // SAFETY: setpriority takes plain integers and touches no memory.
    let result = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, HASHING_NICENESS) };
    if result != 0 {
        tracing::warn!(
            error = %std::io::Error::last_os_error(),
            "the hashing thread keeps the server's priority"
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority() {}

/// bcrypt, run on threads of its own: hashing is deliberately slow and must
/// never stall the async executor. At most `threads` hashes run at a time;
/// the others wait their turn without holding a thread. A hash that has
/// started runs to its end, even if its request is gone.
///
/// bcrypt keys on at most 72 bytes. The crate's non-truncating functions
/// refuse a 72-byte password (they count a terminating NUL), so the plain
/// functions are used, and the 72-byte bound is kept here and by
/// [`Password`]: nothing longer is ever hashed or compared, so nothing is
/// ever truncated.
pub struct BcryptHasher {
    cost: u32,
    queue: Arc<HashingQueue>,
    threads: HashingThreads,
    decoy: PasswordHash,
}

fn failed(error: impl std::error::Error + Send + Sync + 'static) -> HashingError {
    HashingError::Failed(Box::new(error))
}

impl BcryptHasher {
    /// Starts the hashing threads and makes the decoy hash used to spend a
    /// verification's time on logins for unknown e-mails. Blocks for one
    /// hash: call it at start-up.
    pub fn new(cost: u32, queue: Arc<HashingQueue>) -> Result<Self, HashingError> {
        let threads = HashingThreads::start(queue.capacity.threads).map_err(failed)?;
        let decoy_secret = uuid::Uuid::new_v4().to_string();
        let started = Instant::now();
        let decoy = bcrypt::hash(decoy_secret, cost).map_err(failed)?;
        let took = started.elapsed();
        queue.record(took);
        queue.fit_to(took);
        Ok(Self {
            cost,
            queue,
            threads,
            decoy: PasswordHash::new(decoy),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, bcrypt::BcryptError> + Send + 'static,
    ) -> Result<T, HashingError> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        let queue = Arc::clone(&self.queue);
        let queued_at = Instant::now();
        // The request's span goes with the job: what the hashing thread
        // logs is the request's.
        let span = tracing::Span::current();
        let job = Box::new(move || {
            let _entered = span.enter();
            // A request that waited this long is answered 503 rather than
            // hashed late: its client may be gone, and the ones behind it
            // would wait longer still.
            if queued_at.elapsed() > queue.capacity.max_wait {
                queue.shed.fetch_add(1, Ordering::Relaxed);
                let retry_after = queue.retry_after();
                let _ = done.send(Err(HashingError::Overloaded { retry_after }));
                return;
            }
            let _running = Running::new(&queue);
            let started = Instant::now();
            let result = work().map_err(failed);
            queue.record(started.elapsed());
            // The request may be gone; the hash is done either way.
            let _ = done.send(result);
        });
        self.threads
            .jobs
            .send(job)
            .map_err(|_| HashingError::Failed("the hashing threads have stopped".into()))?;
        outcome.await.map_err(failed)?
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
        let stored = StoredHash::of(hash.as_str());
        // A longer candidate than the hash's scheme keys on is another
        // password, and never matches (bcrypt would compare its first 72
        // bytes). A hash nothing can match (unusable, unknown) answers no.
        // Either still costs a verification, of the decoy.
        let candidate_fits = match stored {
            StoredHash::Bcrypt => candidate.len() <= MAX_PASSWORD_BYTES,
            StoredHash::Django(_) => candidate.len() <= MAX_DJANGO_PASSWORD_BYTES,
            StoredHash::Unusable | StoredHash::Unknown => false,
        };
        let candidate = candidate.to_owned();
        let matches = match stored {
            StoredHash::Django(_) if candidate_fits => {
                let hash = hash.as_str().to_owned();
                self.run(move || Ok(django::verify(&candidate, &hash)))
                    .await?
            }
            _ => {
                let hash = if candidate_fits { hash } else { &self.decoy };
                let hash = hash.as_str().to_owned();
                self.run(move || bcrypt::verify(candidate, &hash)).await?
            }
        };
        Ok(matches && candidate_fits)
    }

    async fn verify_decoy(&self, candidate: &str) -> Result<(), HashingError> {
        // Only the time spent matters; the answer is always "no".
        self.verify(candidate, &self.decoy.clone()).await.map(drop)
    }

    /// A bcrypt hash of another cost, or any of Django's: on a correct
    /// login the password is hashed anew with bcrypt at `BCRYPT_COST`, as
    /// Django upgrades a hash to its current hasher.
    fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        match StoredHash::of(hash.as_str()) {
            StoredHash::Bcrypt => bcrypt_cost(hash.as_str()).is_some_and(|cost| cost != self.cost),
            StoredHash::Django(_) => true,
            StoredHash::Unusable | StoredHash::Unknown => false,
        }
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
        let hasher = BcryptHasher::new(4, HashingQueue::new(HashingCapacity::standard())).unwrap();
        let hash = hasher.hash(&password("lantern-quiet-orbit")).await.unwrap();
        assert!(hash.as_str().starts_with("$2b$04$"));
        assert!(hasher.verify("lantern-quiet-orbit", &hash).await.unwrap());
        assert!(!hasher.verify("lantern-quiet-orbiT", &hash).await.unwrap());
    }

    #[tokio::test]
    async fn a_72_byte_password_hashes_and_verifies_and_73_bytes_never_match() {
        let hasher = BcryptHasher::new(4, HashingQueue::new(HashingCapacity::standard())).unwrap();
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
        let hasher = BcryptHasher::new(5, HashingQueue::new(HashingCapacity::standard())).unwrap();
        let current = hasher.hash(&password("lantern-quiet-orbit")).await.unwrap();
        assert!(!hasher.needs_rehash(&current));
        let cheaper = BcryptHasher::new(4, HashingQueue::new(HashingCapacity::standard())).unwrap();
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
        let hasher = BcryptHasher::new(4, HashingQueue::new(HashingCapacity::standard())).unwrap();
        let exact = format!("{}Q9", "lantern-".repeat(8) + "ab");
        assert_eq!(exact.len(), 68);
        let hash = hasher.hash(&password(&exact)).await.unwrap();
        let longer = format!("{exact}zzzzzzzz");
        assert!(!matches!(hasher.verify(&longer, &hash).await, Ok(true)));
    }

    #[test]
    fn past_the_running_and_waiting_places_requests_are_refused_at_once() {
        let queue = HashingQueue::new(HashingCapacity::fixed(1, 1));
        let first = queue.admit().unwrap();
        let second = queue.admit().unwrap();
        assert_eq!(queue.waiting(), 2);
        let refused = queue.admit().err().unwrap();
        assert!(refused.retry_after >= chrono::Duration::seconds(1));
        assert_eq!(queue.shed(), 1);
        // A request that ends (or is cancelled: its place is dropped with
        // it) gives its place back.
        drop(first);
        let third = queue.admit().unwrap();
        assert!(queue.admit().is_err());
        drop((second, third));
        assert_eq!(queue.waiting(), 0);
        assert_eq!(queue.shed(), 2);
    }

    #[test]
    fn a_default_queue_holds_what_the_threads_hash_within_the_longest_wait() {
        let capacity = HashingCapacity {
            threads: 2,
            queue: None,
            max_wait: Duration::from_secs(2),
        };
        // 250 ms a hash: eight rounds in two seconds, one of them running.
        assert_eq!(capacity.queue_for(Duration::from_millis(250)), 14);
        // A hash slower than the whole wait: still one place per thread.
        assert_eq!(capacity.queue_for(Duration::from_secs(3)), 2);
        assert_eq!(capacity.queue_for(Duration::ZERO), 100_000);

        let queue = HashingQueue::new(capacity);
        assert_eq!(queue.queue_places(), 2);
        queue.fit_to(Duration::from_millis(250));
        assert_eq!(queue.queue_places(), 14);
        let admitted: Vec<_> = (0..16).map(|_| queue.admit().unwrap()).collect();
        assert!(queue.admit().is_err());
        drop(admitted);

        // A queue set by PASSWORD_HASHING_QUEUE stays as set.
        let fixed = HashingQueue::new(HashingCapacity::fixed(2, 3));
        fixed.fit_to(Duration::from_millis(1));
        assert_eq!(fixed.queue_places(), 3);
    }

    #[tokio::test]
    async fn retry_after_follows_the_hash_time_and_the_queue_length() {
        let queue = HashingQueue::new(HashingCapacity::fixed(2, 4));
        queue.record(Duration::from_millis(700));
        // Three rounds of two hashes: 2.1 s, rounded up.
        assert_eq!(queue.retry_after(), chrono::Duration::seconds(3));
        queue.record(Duration::from_millis(10));
        assert_eq!(queue.retry_after(), chrono::Duration::seconds(1));
    }

    #[tokio::test]
    async fn at_most_threads_hashes_run_at_once() {
        let queue = HashingQueue::new(HashingCapacity::fixed(1, 4));
        let hasher = Arc::new(BcryptHasher::new(10, Arc::clone(&queue)).unwrap());
        let verifications: Vec<_> = (0..3)
            .map(|_| {
                let hasher = Arc::clone(&hasher);
                tokio::spawn(async move {
                    let hash = hasher.decoy.clone();
                    hasher.verify("lantern-quiet-orbit", &hash).await.unwrap()
                })
            })
            .collect();
        let mut most = 0;
        while verifications.iter().any(|v| !v.is_finished()) {
            most = most.max(queue.running());
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(most, 1);
        for verification in verifications {
            assert!(!verification.await.unwrap());
        }
    }

    #[tokio::test]
    async fn a_request_that_waited_too_long_for_a_thread_is_refused_not_hashed_late() {
        let queue = HashingQueue::new(HashingCapacity::fixed(1, 1));
        let hasher = Arc::new(BcryptHasher::new(4, Arc::clone(&queue)).unwrap());
        // Work that holds the only thread past the longest wait...
        let slow = {
            let hasher = Arc::clone(&hasher);
            tokio::spawn(async move {
                hasher
                    .run(|| {
                        std::thread::sleep(DEFAULT_MAX_WAIT + Duration::from_millis(200));
                        Ok(())
                    })
                    .await
            })
        };
        while queue.running() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // ...so the verification queued behind it is refused, not run.
        let behind = hasher.verify("lantern-quiet-orbit", &hasher.decoy).await;
        assert!(
            matches!(behind, Err(HashingError::Overloaded { retry_after }) if retry_after >= chrono::Duration::seconds(1)),
            "{behind:?}"
        );
        assert_eq!(queue.shed(), 1);
        assert!(slow.await.unwrap().is_ok());
        // The next one, with the thread free, is hashed.
        assert!(!hasher
            .verify("lantern-quiet-orbit", &hasher.decoy)
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn a_job_that_panics_fails_its_caller_and_leaves_the_thread() {
        let queue = HashingQueue::new(HashingCapacity::fixed(1, 0));
        let hasher = BcryptHasher::new(4, queue).unwrap();
        let panicked: Result<(), HashingError> = hasher.run(|| panic!("a bug")).await;
        assert!(matches!(panicked, Err(HashingError::Failed(_))));
        // The one thread still hashes.
        assert!(!hasher
            .verify("lantern-quiet-orbit", &hasher.decoy)
            .await
            .unwrap());
    }
}
