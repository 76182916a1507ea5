//! The threads Diesel's blocking work runs on, off the async executor.
//!
//! Each piece of work is handed from an executor thread to one of these
//! and back. With tokio's blocking pool every hand-off woke a sleeping
//! thread (a futex call and a context switch); under load that was most of
//! the cost of a one-row read. These threads take work from one channel
//! whose receivers spin briefly before they sleep, and a sender wakes a
//! thread only when one is asleep: a thread that has just finished finds
//! the next piece of work waiting.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::error::StorageError;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads and the queue they take work from; the threads
/// end when the last handle is dropped.
#[derive(Clone)]
pub(crate) struct BlockingThreads {
    jobs: crossbeam_channel::Sender<Job>,
    /// Work queued and not yet started.
    waiting: Arc<AtomicUsize>,
}

const QUEUED: u8 = 0;
const STARTED: u8 = 1;
const ABANDONED: u8 = 2;

impl BlockingThreads {
    pub(crate) fn start(threads: usize, name: &str) -> Result<Self, StorageError> {
        let (jobs, queue) = crossbeam_channel::unbounded::<Job>();
        for n in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("{name}-{n}"))
                .spawn(move || {
                    for job in queue {
                        // A panic ends that piece of work (its caller sees
                        // a cancelled task), not the thread.
                        let _ = catch_unwind(AssertUnwindSafe(job));
                    }
                })
                .map_err(|e| StorageError::Writer(e.to_string()))?;
        }
        Ok(Self {
            jobs,
            waiting: Arc::default(),
        })
    }

    /// Work queued and not yet started.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Runs `work` on one of the threads. Work that has not started within
    /// `start_within` is dropped unstarted and answered
    /// [`StorageError::Busy`]; so is work whose caller went away first.
    pub(crate) async fn run<T, F>(&self, start_within: Duration, work: F) -> Result<T, StorageError>
    where
        F: FnOnce() -> Result<T, StorageError> + Send + 'static,
        T: Send + 'static,
    {
        let state = Arc::new(AtomicU8::new(QUEUED));
        let (answer, mut answered) = oneshot::channel();
        let queued = Queued {
            state: Arc::clone(&state),
            waiting: Arc::clone(&self.waiting),
        };
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let job_state = Arc::clone(&state);
        let waiting = Arc::clone(&self.waiting);
        let job: Job = Box::new(move || {
            if job_state
                .compare_exchange(QUEUED, STARTED, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                return;
            }
            waiting.fetch_sub(1, Ordering::Relaxed);
            let _ = answer.send(work());
        });
        self.jobs
            .send(job)
            .map_err(|_| StorageError::TaskCancelled)?;
        tokio::select! {
            outcome = &mut answered => {
                drop(queued);
                return outcome.map_err(|_| StorageError::TaskCancelled)?;
            }
            () = tokio::time::sleep(start_within) => {}
        }
        if queued.abandon() {
            return Err(StorageError::Busy(start_within));
        }
        // Started just in time: its answer comes.
        answered.await.map_err(|_| StorageError::TaskCancelled)?
    }
}

/// The caller's hold on queued work: dropped before the work starts (the
/// caller gave up, or went away), the work is abandoned and no longer
/// counted as waiting.
struct Queued {
    state: Arc<AtomicU8>,
    waiting: Arc<AtomicUsize>,
}

impl Queued {
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
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.abandon();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::*;

    #[tokio::test]
    async fn a_panic_ends_its_work_not_the_thread() {
        let threads = BlockingThreads::start(1, "test").unwrap();
        let wait = Duration::from_secs(5);
        let panicked = threads
            .run(wait, || -> Result<(), StorageError> {
                panic!("a bug in one query")
            })
            .await;
        assert!(
            matches!(panicked, Err(StorageError::TaskCancelled)),
            "{panicked:?}"
        );
        assert_eq!(threads.run(wait, || Ok(7)).await.unwrap(), 7);
    }

    #[tokio::test]
    async fn work_given_up_before_it_started_never_runs() {
        let threads = BlockingThreads::start(1, "test").unwrap();
        let holder = {
            let threads = threads.clone();
            tokio::spawn(async move {
                threads
                    .run(Duration::from_secs(5), || {
                        std::thread::sleep(Duration::from_millis(300));
                        Ok(())
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let ran = Arc::new(AtomicBool::new(false));
        let late = {
            let ran = Arc::clone(&ran);
            threads
                .run(Duration::from_millis(50), move || {
                    ran.store(true, Ordering::SeqCst);
                    Ok(())
                })
                .await
        };
        assert!(matches!(late, Err(StorageError::Busy(_))), "{late:?}");
        assert_eq!(threads.waiting(), 0);
        holder.await.unwrap().unwrap();
        // The thread is free and has passed the abandoned work by.
        threads
            .run(Duration::from_secs(5), || Ok(()))
            .await
            .unwrap();
        assert!(!ran.load(Ordering::SeqCst));
    }
}
