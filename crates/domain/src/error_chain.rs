//! How a failure and its causes read in a log line or a stored record.

use std::error::Error;

/// `first`, then the text of `source` and of each of its own sources,
/// `: `-separated; a cause whose text the line already ends with (as
/// `#[error("...: {0}")]` over `#[from]` gives) is not repeated.
pub fn describe(first: String, source: Option<&(dyn Error + 'static)>) -> String {
    let mut text = first;
    let mut source = source;
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
