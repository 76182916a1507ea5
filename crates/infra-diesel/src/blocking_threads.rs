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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::error::StorageError;
use crate::queued_work;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads and the queue they take work from; the threads
/// end when the last handle is dropped.
#[derive(Clone)]
pub(crate) struct BlockingThreads {
    jobs: crossbeam_channel::Sender<Job>,
    /// Work queued and not yet started.
    waiting: Arc<AtomicUsize>,
}

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
                .map_err(StorageError::ThreadStart)?;
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
        let (ticket, claim) = queued_work::issue(&self.waiting);
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move || {
            if claim.start() {
                let _ = answer.send(work());
            }
        });
        self.jobs
            .send(job)
            .map_err(|_| StorageError::TaskCancelled)?;
        ticket.answer(answered, start_within).await
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
