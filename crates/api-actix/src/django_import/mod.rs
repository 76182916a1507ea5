//! `authusers import django FILE`: moving users in from the Django service
//! this one replaces, from the output of `manage.py dumpdata`. The file is
//! read as a stream, mapped record by record, and moved in a batch a
//! transaction; every skipped record is reported with its place and pk.

mod dump;
mod record;
mod summary;

use std::io::BufRead;
use std::path::PathBuf;
use std::time::Instant;

use authusers_domain::import::{ImportOutcome, ImportRun, ImportedUser};

pub use dump::Format;
pub use record::FieldNames;
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
        source: authusers_domain::storage::RepositoryError,
    },
}

/// A user read and waiting for its batch, with its place in the input.
struct Pending {
    position: u64,
    user: ImportedUser,
}

/// Reads the whole input and moves it in through `run`, telling `report`
/// of everything skipped and everything worth a warning, and `progress`
/// of the records read so far.
pub async fn import(
    options: ImportOptions,
    mut run: ImportRun,
    report: &mut Report,
    progress: &dyn Fn(u64),
) -> Result<ImportSummary, ImportError> {
    let started = Instant::now();
    let input = open(&options.input)?;
    let batch_size = options.batch_size.max(1);
    // A few batches in flight at most: the reader waits for the importer.
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<ReadEvent>(2 * batch_size);
    let format = options.format;
    let reader = std::thread::Builder::new()
        .name("dump-reader".into())
        .spawn(move || dump::read(input, format, |event| sender.blocking_send(event).is_ok()))
        .map_err(|source| ImportError::Open {
            path: "(reader thread)".into(),
            source,
        })?;
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
                    submit(&mut run, std::mem::take(&mut batch), &mut summary, report).await?;
                    progress(summary.read);
                }
            }
            ReadEvent::Stopped { after, reason } => {
                summary.stopped = Some(format!("after record {after}: {reason}"));
            }
        }
    }
    submit(&mut run, batch, &mut summary, report).await?;
    progress(summary.read);
    // The thread ends when the input does; a panic in it is a stop.
    if reader.join().is_err() && summary.stopped.is_none() {
        summary.stopped = Some("the reader of the input failed".into());
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
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

async fn submit(
    run: &mut ImportRun,
    batch: Vec<Pending>,
    summary: &mut ImportSummary,
    report: &mut Report,
) -> Result<(), ImportError> {
    if batch.is_empty() {
        return Ok(());
    }
    let places: Vec<(u64, i64)> = batch.iter().map(|p| (p.position, p.user.id.0)).collect();
    let outcomes = run
        .submit(batch.into_iter().map(|p| p.user).collect())
        .await
        .map_err(|source| ImportError::Repository {
            done: summary.read,
            source,
        })?;
    for ((position, pk), outcome) in places.into_iter().zip(outcomes) {
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
