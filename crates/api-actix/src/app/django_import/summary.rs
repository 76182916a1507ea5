//! What an import did: the summary line, and the report of every record
//! skipped (on standard error, and as JSON Lines in `--report FILE`).

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::json;

/// Counts of one run.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ImportSummary {
    /// Records read, of every model.
    pub read: u64,
    pub imported: u64,
    pub unchanged: u64,
    /// Records of other models, passed over.
    pub other_models: u64,
    /// Skipped records, by reason.
    pub skipped: BTreeMap<&'static str, u64>,
    pub warnings: u64,
    /// Why the input ended before its end, if it did.
    pub stopped: Option<String>,
    pub seconds: f64,
}

impl ImportSummary {
    pub fn skip(&mut self, reason: &'static str) {
        *self.skipped.entry(reason).or_default() += 1;
    }

    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// One line: `read 17, imported 15, unchanged 0, skipped 1
    /// (invalid_balance 1), other models 1, warnings 1, 0.42 s`.
    pub fn line(&self, dry_run: bool) -> String {
        let reasons = if self.skipped.is_empty() {
            String::new()
        } else {
            let each: Vec<String> = self
                .skipped
                .iter()
                .map(|(reason, count)| format!("{reason} {count}"))
                .collect();
            format!(" ({})", each.join(", "))
        };
        let imported = if dry_run { "would import" } else { "imported" };
        let mut line = format!(
            "read {}, {imported} {}, unchanged {}, skipped {}{reasons}, other models {}, warnings {}, {:.2} s",
            self.read,
            self.imported,
            self.unchanged,
            self.skipped_total(),
            self.other_models,
            self.warnings,
            self.seconds,
        );
        if self.read > 0 && self.imported == 0 && self.skipped.is_empty() && self.stopped.is_none()
        {
            line.push_str(": nothing to change");
        }
        line
    }
}

/// Where skipped records and warnings are told: standard error always,
/// and a JSON Lines file when asked for.
pub struct Report {
    file: Option<Box<dyn Write + Send>>,
    stderr: Box<dyn Write + Send>,
}

impl Report {
    pub fn new(file: Option<Box<dyn Write + Send>>, stderr: Box<dyn Write + Send>) -> Self {
        Self { file, stderr }
    }

    pub fn skipped(&mut self, position: u64, pk: Option<i64>, reason: &str, detail: &str) {
        let pk_text = pk.map_or_else(|| "-".to_owned(), |pk| pk.to_string());
        let _ = writeln!(
            self.stderr,
            "authusers: record {position} (pk {pk_text}): skipped, {reason}: {detail}"
        );
        self.line(json!({"position": position, "pk": pk, "reason": reason, "detail": detail}));
    }

    pub fn warning(&mut self, position: u64, pk: i64, detail: &str) {
        let _ = writeln!(
            self.stderr,
            "authusers: record {position} (pk {pk}): warning: {detail}"
        );
        self.line(json!({"position": position, "pk": pk, "warning": detail}));
    }

    fn line(&mut self, value: serde_json::Value) {
        if let Some(file) = &mut self.file {
            let _ = writeln!(file, "{value}");
        }
    }

    /// Writes what is buffered; an error here means the report is
    /// incomplete.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.stderr.flush()?;
        match &mut self.file {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}
