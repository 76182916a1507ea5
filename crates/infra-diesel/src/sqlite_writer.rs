//! SQLite's writes, serialised in the process and committed in groups.
//!
//! SQLite lets one connection write at a time. Writers that race for the
//! lock from several pool connections sleep in SQLite's busy handler and
//! wake at its next poll, not when the lock comes free: that sleep was the
//! long tail of every write. Here one thread owns the only writing
//! connection and takes writes from a queue, first come first served.
//!
//! With `synchronous = FULL` every commit waits for the disk, so a commit
//! per write would cap writes at the disk's commit rate. The thread takes
//! every write already queued (up to [`MAX_GROUP`]) into one transaction,
//! each write in a savepoint of its own (a write that fails is rolled back
//! alone), and commits once for all of them. No write is answered before
//! its group's commit returned: an acknowledged write is on the disk.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::{Connection, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use crate::error::StorageError;
use crate::queued_work;

/// The most writes committed together; bounds how long the first of them
/// waits for the last.
const MAX_GROUP: usize = 64;

/// Writes that may wait in the queue; a request beyond them waits for a
/// place. Both waits, for a place and then for its turn, are bounded by the
/// connect timeout: a write that has not started by then never runs.
const QUEUE_CAPACITY: usize = 1024;

/// A queued write. Given the writer's connection, it runs inside the
/// group's transaction; given none (the group could not begin), it does not
/// run. Either way it hands back what sends its answer once the group's
/// fate is known.
type Job = Box<dyn FnOnce(Option<&mut SqliteConnection>) -> Reply + Send>;
type Reply = Box<dyn FnOnce(Result<(), &StorageError>) + Send>;

/// Opens a writing connection with the pool's pragmas.
pub(crate) type OpenConnection = Box<dyn Fn() -> Result<SqliteConnection, StorageError> + Send>;

/// The queue of the one writing connection; the thread ends when the last
/// handle is dropped.
#[derive(Clone)]
pub(crate) struct SqliteWriter {
    jobs: mpsc::Sender<Job>,
    /// How long a write waits for a place in a full queue, then for its
    /// turn.
    queue_timeout: Duration,
    counts: Arc<GroupCounts>,
    /// Writes queued and not yet started.
    waiting: Arc<AtomicUsize>,
}

/// Writes committed, and the commits that held them: their ratio is the
/// mean group size.
#[derive(Debug, Default)]
pub(crate) struct GroupCounts {
    commits: AtomicU64,
    writes: AtomicU64,
}

/// What the writer has committed so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteGroups {
    pub commits: u64,
    pub writes: u64,
}

impl SqliteWriter {
    /// Opens the writing connection and starts its thread.
    pub(crate) fn start(
        open: OpenConnection,
        queue_timeout: Duration,
    ) -> Result<Self, StorageError> {
        let conn = open()?;
        let (jobs, queue) = mpsc::channel(QUEUE_CAPACITY);
        let counts = Arc::new(GroupCounts::default());
        let thread_counts = Arc::clone(&counts);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_groups(conn, open, queue, &thread_counts))
            .map_err(StorageError::ThreadStart)?;
        Ok(Self {
            jobs,
            queue_timeout,
            counts,
            waiting: Arc::default(),
        })
    }

    pub(crate) fn groups(&self) -> WriteGroups {
        WriteGroups {
            commits: self.counts.commits.load(Ordering::Relaxed),
            writes: self.counts.writes.load(Ordering::Relaxed),
        }
    }

    /// Runs `work` on the writing connection and answers once it is
    /// committed. `work` runs in a savepoint: when it fails, what it wrote
    /// is undone and the rest of its group still commits.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, StorageError>
    where
        F: FnOnce(&mut SqliteConnection) -> Result<T, StorageError> + Send + 'static,
        T: Send + 'static,
    {
        let (ticket, claim) = queued_work::issue(&self.waiting);
        let (answer, answered) = oneshot::channel();
        // The request's span goes with the work, as with pooled work.
        let span = tracing::Span::current();
        let job: Job = Box::new(move |conn| {
            // A write whose caller gave up waiting (or left) never runs.
            let outcome = conn
                .filter(|_| claim.start())
                .map(|conn| span.in_scope(|| conn.transaction(work)));
            Box::new(move |group| {
                let outcome = match (group, outcome) {
                    (Err(failed), _) => Err(StorageError::NotCommitted(failed.to_string())),
                    (Ok(()), Some(outcome)) => outcome,
                    // Never started: nobody waits for an answer.
                    (Ok(()), None) => return,
                };
                // The caller may have gone (its client left): nothing to do.
                let _ = answer.send(outcome);
            })
        });
        tokio::time::timeout(self.queue_timeout, self.jobs.send(job))
            .await
            .map_err(|_| StorageError::Busy(self.queue_timeout))?
            .map_err(|_| StorageError::TaskCancelled)?;
        ticket.answer(answered, self.queue_timeout).await
    }

    /// Writes queued and not yet started.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }
}

/// The writer thread: one transaction per group of queued writes.
fn write_groups(
    mut conn: SqliteConnection,
    open: OpenConnection,
    mut queue: mpsc::Receiver<Job>,
    counts: &GroupCounts,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while let Some(first) = queue.blocking_recv() {
        group.push(first);
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let writes = group.len() as u64;
        if commit_group(&mut conn, group.drain(..)) {
            counts.commits.fetch_add(1, Ordering::Relaxed);
            counts.writes.fetch_add(writes, Ordering::Relaxed);
        }
        if AnsiTransactionManager::is_broken_transaction_manager(&mut conn) {
            // A transaction left open or in error would fail every later
            // group: start again on a new connection.
            tracing::error!("the writing connection is in a broken state; reopening it");
            match open() {
                Ok(fresh) => conn = fresh,
                Err(error) => {
                    tracing::error!(error = %error, "reopening the writing connection failed")
                }
            }
        }
    }
}

/// Rolls back every savepoint a panicking write left open, then the group.
fn roll_back_everything(conn: &mut SqliteConnection) {
    while let Ok(Some(_)) =
        AnsiTransactionManager::transaction_manager_status_mut(conn).transaction_depth()
    {
        if let Err(error) = AnsiTransactionManager::rollback_transaction(conn) {
            // The writer thread reopens a connection left in this state.
            tracing::error!(error = %error, "rolling back a group after a panic failed");
            return;
        }
    }
}

/// Runs and commits one group; whether it was committed.
fn commit_group(conn: &mut SqliteConnection, group: impl Iterator<Item = Job>) -> bool {
    if let Err(error) = AnsiTransactionManager::begin_transaction_sql(conn, "BEGIN IMMEDIATE") {
        let error = StorageError::Query(error);
        tracing::error!(error = %error, "could not begin a group of writes");
        for job in group {
            job(None)(Err(&error));
        }
        return false;
    }
    let mut replies = Vec::with_capacity(MAX_GROUP);
    let mut panicked = false;
    for job in group {
        match catch_unwind(AssertUnwindSafe(|| job(Some(&mut *conn)))) {
            Ok(reply) => replies.push(reply),
            // That job's caller sees a cancelled task; the group is not
            // committed, since the panic may have left it half-written.
            Err(_) => panicked = true,
        }
    }
    let committed = if panicked {
        roll_back_everything(conn);
        Err(StorageError::NotCommitted(
            "another write of its group panicked".into(),
        ))
    } else {
        // A failed COMMIT is rolled back by Diesel.
        AnsiTransactionManager::commit_transaction(conn).map_err(StorageError::Query)
    };
    if let Err(error) = &committed {
        tracing::error!(error = %error, writes = replies.len(), "a group of writes was not committed");
    }
    for reply in replies {
        reply(committed.as_ref().map(|_| ()));
    }
    committed.is_ok()
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc as std_mpsc;

    use diesel::connection::SimpleConnection;
    use diesel::sql_types::BigInt;
    use diesel::{QueryableByName, RunQueryDsl};

    use super::*;

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    /// A writer on a new database file with one table, and a path to read
    /// it from another connection.
    fn writer() -> (SqliteWriter, String) {
        writer_waiting_at_most(Duration::from_secs(5))
    }

    fn writer_waiting_at_most(wait: Duration) -> (SqliteWriter, String) {
        let path = std::env::temp_dir()
            .join(format!("authusers-writer-{}.db", uuid::Uuid::new_v4()))
            .display()
            .to_string();
        let mut setup = SqliteConnection::establish(&path).unwrap();
        setup
            .batch_execute(
                "PRAGMA journal_mode = WAL; \
                 CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL UNIQUE);",
            )
            .unwrap();
        let open_path = path.clone();
        let open: OpenConnection = Box::new(move || Ok(SqliteConnection::establish(&open_path)?));
        (SqliteWriter::start(open, wait).unwrap(), path)
    }

    fn insert(conn: &mut SqliteConnection, v: i64) -> Result<(), StorageError> {
        diesel::sql_query(format!("INSERT INTO t (v) VALUES ({v})")).execute(conn)?;
        Ok(())
    }

    /// The values stored, as another connection sees them.
    fn stored(path: &str) -> Vec<i64> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = BigInt)]
            v: i64,
        }
        let mut conn = SqliteConnection::establish(path).unwrap();
        let rows: Vec<Row> = diesel::sql_query("SELECT v FROM t ORDER BY v")
            .load(&mut conn)
            .unwrap();
        rows.into_iter().map(|row| row.v).collect()
    }

    /// Holds the writer thread inside a write until the returned sender
    /// is used, so that the writes sent meanwhile queue up as one group.
    async fn hold_the_writer(
        writer: &SqliteWriter,
    ) -> (std_mpsc::Sender<()>, tokio::task::JoinHandle<()>) {
        let (started, has_started) = std_mpsc::channel();
        let (release, released) = std_mpsc::channel::<()>();
        let holder = {
            let writer = writer.clone();
            tokio::spawn(async move {
                writer
                    .write(move |conn| {
                        started.send(()).unwrap();
                        released.recv().unwrap();
                        insert(conn, 0)
                    })
                    .await
                    .unwrap();
            })
        };
        tokio::task::spawn_blocking(move || has_started.recv().unwrap())
            .await
            .unwrap();
        (release, holder)
    }

    /// Runs `write` once for each of `values`, all queued behind a held
    /// writer before it is let go, so that they run as one group; their
    /// answers, in the order of `values`.
    async fn as_one_group<F>(
        writer: &SqliteWriter,
        values: std::ops::RangeInclusive<i64>,
        write: F,
    ) -> Vec<Result<i64, StorageError>>
    where
        F: Fn(&mut SqliteConnection, i64) -> Result<i64, StorageError> + Clone + Send + 'static,
    {
        let (release, holder) = hold_the_writer(writer).await;
        let writes: Vec<_> = values
            .map(|v| {
                let (writer, write) = (writer.clone(), write.clone());
                tokio::spawn(async move { writer.write(move |conn| write(conn, v)).await })
            })
            .collect();
        while QUEUE_CAPACITY - writer.jobs.capacity() < writes.len() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        release.send(()).unwrap();
        holder.await.unwrap();
        let mut answers = Vec::new();
        for write in writes {
            answers.push(write.await.unwrap());
        }
        answers
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_writes_commit_together_and_a_failing_one_is_undone_alone() {
        let (writer, path) = writer();
        let answers = as_one_group(&writer, 1..=10, |conn, v| {
            insert(conn, v)?;
            if v == 5 {
                // Wrote, then failed: what it wrote must go.
                return Err(StorageError::CorruptRow("refused".into()));
            }
            Ok(v)
        })
        .await;
        let mut answered = Vec::new();
        for answer in answers {
            match answer {
                Ok(v) => answered.push(v),
                Err(error) => assert!(matches!(error, StorageError::CorruptRow(_)), "{error}"),
            }
        }
        answered.sort_unstable();
        assert_eq!(answered, vec![1, 2, 3, 4, 6, 7, 8, 9, 10]);
        // Every answered write is visible to another connection, the
        // failed one's row is not.
        assert_eq!(stored(&path), vec![0, 1, 2, 3, 4, 6, 7, 8, 9, 10]);
        // The holder alone, then the ten queued behind it in one commit.
        assert_eq!(
            writer.groups(),
            WriteGroups {
                commits: 2,
                writes: 11
            }
        );
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_write_keeps_its_whole_group_out_and_the_writer_goes_on() {
        let (writer, path) = writer();
        let answers = as_one_group(&writer, 1..=3, |conn, v| {
            insert(conn, v)?;
            assert_ne!(v, 2, "a bug in one write");
            Ok(v)
        })
        .await;
        for refused in answers {
            assert!(
                matches!(
                    refused,
                    Err(StorageError::NotCommitted(_) | StorageError::TaskCancelled)
                ),
                "{refused:?}"
            );
        }
        assert_eq!(stored(&path), vec![0]);
        writer.write(|conn| insert(conn, 4)).await.unwrap();
        assert_eq!(stored(&path), vec![0, 4]);
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_that_cannot_start_in_time_is_refused_and_never_runs() {
        let (writer, path) = writer_waiting_at_most(Duration::from_millis(200));
        let (release, holder) = hold_the_writer(&writer).await;
        let late = writer.write(|conn| insert(conn, 1)).await;
        assert!(matches!(late, Err(StorageError::Busy(_))), "{late:?}");
        assert_eq!(writer.waiting(), 0);
        release.send(()).unwrap();
        holder.await.unwrap();
        writer.write(|conn| insert(conn, 2)).await.unwrap();
        assert_eq!(stored(&path), vec![0, 2]);
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn a_group_that_cannot_begin_is_answered_not_committed() {
        let (writer, path) = writer();
        // Another process holds the write lock past the busy timeout (0 on
        // this writer's connection, which sets no pragmas).
        let mut other = SqliteConnection::establish(&path).unwrap();
        other.batch_execute("BEGIN IMMEDIATE").unwrap();
        let refused = writer.write(|conn| insert(conn, 1)).await;
        assert!(
            matches!(refused, Err(StorageError::NotCommitted(_))),
            "{refused:?}"
        );
        other.batch_execute("ROLLBACK").unwrap();
        writer.write(|conn| insert(conn, 2)).await.unwrap();
        let counted: Vec<Count> = diesel::sql_query("SELECT count(*) AS n FROM t")
            .load(&mut other)
            .unwrap();
        assert_eq!(counted[0].n, 1);
        let _ = std::fs::remove_file(path);
    }
}
