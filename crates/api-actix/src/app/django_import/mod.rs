//! `authusers import django FILE`: moving users in from the Django service
//! this one replaces, from the output of `manage.py dumpdata`. The file is
//! read as a stream, mapped record by record, and moved in a batch a
//! transaction; every skipped record is reported with its place and pk.

mod dump;
mod record;
mod summary;

use std::collections::{HashSet, VecDeque};
use std::io::BufRead;
use std::path::PathBuf;
use std::time::Instant;

use authusers_domain::import::{ImportOutcome, ImportRun, ImportedUser};
use authusers_domain::storage::RepositoryError;

pub use dump::Format;
pub use record::{FieldFlagError, FieldNames};
pub use summary::{ImportSummary, Report};

use dump::{RawRecord, ReadEvent};
use record::{read_record, Reading};

/// Where the dump comes from.
#[derive(Debug, Clone)]
pub enum Input {
    File(PathBuf),
    /// `-`: standard input.
    Stdin,
}

/// How to read the dump.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub input: Input,
    /// `--format`; otherwise detected from the first byte.
    pub format: Option<Format>,
    /// `--model`: the user model's label (`users.user`).
    pub model: String,
    pub fields: FieldNames,
    /// Users a transaction.
    pub batch_size: usize,
}

/// The default users a transaction.
pub const DEFAULT_BATCH_SIZE: u32 = 1_000;

/// Why an import could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("the database failed after {done} record(s); run the import again to go on: {source}")]
    Repository {
        done: u64,
        #[source]
        source: RepositoryError,
    },
}

/// A user read and waiting for its batch, with its place in the input.
struct Pending {
    position: u64,
    user: ImportedUser,
}

/// What became of one batch: each user's place (position, pk) and outcome.
type BatchOutcome = Result<Vec<((u64, i64), ImportOutcome)>, RepositoryError>;

/// Reads the whole input and moves it in through `run`, telling `report`
/// of everything skipped and everything worth a warning, and `progress`
/// of the records read so far. Three stages work at once: a thread reads
/// and parses, this task maps records to users, and a task moves each
/// batch in while the next one is mapped.
pub async fn import(
    options: ImportOptions,
    run: ImportRun,
    report: &mut Report,
    progress: &dyn Fn(u64),
) -> Result<ImportSummary, ImportError> {
    let started = Instant::now();
    let input = open(&options.input)?;
    let batch_size = options.batch_size.max(1);
    // A few batches in flight at most: each stage waits for the next.
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<ReadEvent>(batch_size);
    let format = options.format;
    let reader = std::thread::Builder::new()
        .name("dump-reader".into())
        .spawn(move || dump::read(input, format, |event| sender.blocking_send(event).is_ok()))
        .map_err(|source| ImportError::Open {
            path: "(reader thread)".into(),
            source,
        })?;
    let (batches, to_submit) = tokio::sync::mpsc::channel::<Vec<Pending>>(1);
    let (outcomes, mut submitted) = tokio::sync::mpsc::unbounded_channel::<BatchOutcome>();
    let submitter = tokio::spawn(store_batches(run, to_submit, outcomes));
    let mut summary = ImportSummary::default();
    let mut batch: Vec<Pending> = Vec::with_capacity(batch_size);
    while let Some(event) = receiver.recv().await {
        match event {
            ReadEvent::Record(raw) => {
                summary.read += 1;
                if let Some(pending) = read_one(&options, raw, &mut summary, report) {
                    batch.push(pending);
                }
                if batch.len() >= batch_size {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
                    if batches.send(full).await.is_err() {
                        break;
                    }
                    while let Ok(outcome) = submitted.try_recv() {
                        tally(outcome, &mut summary, report)?;
                    }
                    progress(summary.read);
                }
            }
            ReadEvent::Stopped { after, reason } => {
                summary.stopped = Some(format!("after record {after}: {reason}"));
            }
        }
    }
    if !batch.is_empty() {
        // The submitter is gone only after a failure, which tally reports.
        let _ = batches.send(batch).await;
    }
    drop(batches);
    let finished = submitter.await;
    while let Some(outcome) = submitted.recv().await {
        tally(outcome, &mut summary, report)?;
    }
    if finished.is_err() {
        return Err(ImportError::Repository {
            done: summary.read,
            source: RepositoryError::failed("the task that moves batches in failed"),
        });
    }
    progress(summary.read);
    // The thread ends when the input does; a panic in it is a stop.
    if reader.join().is_err() && summary.stopped.is_none() {
        summary.stopped = Some("the reader of the input failed".into());
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Batches stored at once, at most: a database with cores to spare writes
/// one while the other commits.
const BATCHES_IN_FLIGHT: usize = 2;

/// A batch on its way into the database: its ids, its users' places, and
/// the task storing it.
struct InFlight {
    ids: HashSet<i64>,
    places: Vec<(u64, i64)>,
    task: tokio::task::JoinHandle<Result<Vec<ImportOutcome>, RepositoryError>>,
}

impl InFlight {
    async fn outcome(self) -> BatchOutcome {
        let stored = self
            .task
            .await
            .map_err(|e| RepositoryError::failed(format!("storing a batch stopped: {e}")))??;
        Ok(self.places.into_iter().zip(stored).collect())
    }
}

/// Admits each batch in order and stores up to [`BATCHES_IN_FLIGHT`] at
/// once, handing the outcomes over in order. A batch that shares an id with
/// one in flight waits for it (their addresses differ by admission), so
/// that the later one sees the earlier one stored.
async fn store_batches(
    mut run: ImportRun,
    mut batches: tokio::sync::mpsc::Receiver<Vec<Pending>>,
    outcomes: tokio::sync::mpsc::UnboundedSender<BatchOutcome>,
) {
    let mut in_flight: VecDeque<InFlight> = VecDeque::new();
    while let Some(batch) = batches.recv().await {
        let places: Vec<(u64, i64)> = batch.iter().map(|p| (p.position, p.user.id.0)).collect();
        let admitted = run.admit(batch.into_iter().map(|p| p.user).collect());
        let ids: HashSet<i64> = admitted.ids().map(|id| id.0).collect();
        while in_flight.len() >= BATCHES_IN_FLIGHT
            || in_flight.iter().any(|other| !other.ids.is_disjoint(&ids))
        {
            let Some(oldest) = in_flight.pop_front() else {
                break;
            };
            let outcome = oldest.outcome().await;
            let failed = outcome.is_err();
            if outcomes.send(outcome).is_err() || failed {
                return;
            }
        }
        let importer = run.importer().clone();
        in_flight.push_back(InFlight {
            ids,
            places,
            task: tokio::spawn(async move { importer.store(admitted).await }),
        });
    }
    for batch in in_flight {
        let outcome = batch.outcome().await;
        let failed = outcome.is_err();
        if outcomes.send(outcome).is_err() || failed {
            return;
        }
    }
}

/// Counts one batch's outcomes and reports its conflicts.
fn tally(
    outcome: BatchOutcome,
    summary: &mut ImportSummary,
    report: &mut Report,
) -> Result<(), ImportError> {
    let outcomes = outcome.map_err(|source| ImportError::Repository {
        done: summary.read,
        source,
    })?;
    for ((position, pk), outcome) in outcomes {
        match outcome {
            ImportOutcome::Imported => summary.imported += 1,
            ImportOutcome::Unchanged => summary.unchanged += 1,
            ImportOutcome::Conflict(conflict) => {
                summary.skip(conflict.reason());
                report.skipped(position, Some(pk), conflict.reason(), &conflict.to_string());
            }
        }
    }
    Ok(())
}

fn open(input: &Input) -> Result<Box<dyn BufRead + Send>, ImportError> {
    match input {
        Input::Stdin => Ok(Box::new(std::io::BufReader::with_capacity(
            1 << 16,
            std::io::stdin(),
        ))),
        Input::File(path) => std::fs::File::open(path)
            .map(|file| Box::new(std::io::BufReader::with_capacity(1 << 16, file)) as Box<_>)
            .map_err(|source| ImportError::Open {
                path: path.display().to_string(),
                source,
            }),
    }
}

/// Maps one record; a user to move in, or `None` with the record counted.
fn read_one(
    options: &ImportOptions,
    raw: RawRecord,
    summary: &mut ImportSummary,
    report: &mut Report,
) -> Option<Pending> {
    match read_record(&raw.value, &options.model, &options.fields) {
        Reading::OtherModel => {
            summary.other_models += 1;
            None
        }
        Reading::Skipped { pk, reason } => {
            summary.skip(reason.code());
            report.skipped(raw.position, pk, reason.code(), &reason.to_string());
            None
        }
        Reading::User(mapped) => {
            for warning in &mapped.warnings {
                summary.warnings += 1;
                report.warning(raw.position, mapped.user.id.0, warning);
            }
            Some(Pending {
                position: raw.position,
                user: mapped.user,
            })
        }
    }
}
