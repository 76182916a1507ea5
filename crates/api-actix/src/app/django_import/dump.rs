//! Reading `manage.py dumpdata` output as a stream of records, never whole:
//! Django's `json` format (one list) or `jsonl` (one record a line). A
//! thread of its own reads and parses, and hands records over a bounded
//! channel, so memory holds a few batches whatever the file's size.

use std::fmt;
use std::io::BufRead;

use serde::de::{DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde_json::Value;

/// Django's two serialisations that hold one user a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON list of records (`--format json`, Django's default).
    Json,
    /// One record a line (`--format jsonl`).
    Jsonl,
}

impl Format {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "json" => Some(Self::Json),
            "jsonl" => Some(Self::Jsonl),
            _ => None,
        }
    }
}

/// One record as read, with its place in the input (1 for the first).
#[derive(Debug)]
pub struct RawRecord {
    pub position: u64,
    pub value: Value,
}

/// What the reading thread hands over.
#[derive(Debug)]
pub enum ReadEvent {
    Record(RawRecord),
    /// The input is not (or stops being) a dump: every record before
    /// `after` records was handed over, nothing after.
    Stopped {
        after: u64,
        reason: String,
    },
}

/// Reads `input` to its end, sending each record to `send`; stops early
/// (and says why, once) on anything that is not a dump, or when `send`
/// says the receiver is gone.
pub fn read(mut input: impl BufRead, format: Option<Format>, send: impl FnMut(ReadEvent) -> bool) {
    let mut sender = Sender { send, count: 0 };
    let detected = detect(&mut input);
    let format = match (format, detected) {
        (Some(format), _) => format,
        (None, Ok(format)) => format,
        (None, Err(reason)) => {
            sender.stop(reason);
            return;
        }
    };
    let outcome = match format {
        Format::Json => read_list(input, &mut sender),
        Format::Jsonl => read_lines(input, &mut sender),
    };
    if let Err(reason) = outcome {
        sender.stop(reason);
    }
}

struct Sender<F> {
    send: F,
    count: u64,
}

impl<F: FnMut(ReadEvent) -> bool> Sender<F> {
    /// `false` once the receiver has gone.
    fn record(&mut self, value: Value) -> bool {
        self.count += 1;
        (self.send)(ReadEvent::Record(RawRecord {
            position: self.count,
            value,
        }))
    }

    fn stop(&mut self, reason: String) {
        let after = self.count;
        (self.send)(ReadEvent::Stopped { after, reason });
    }
}

/// Which format the input is in, from its first byte that is not white
/// space (after a byte-order mark): `[` for a list, `{` for lines. The mark
/// and the white space are consumed either way.
fn detect(input: &mut impl BufRead) -> Result<Format, String> {
    loop {
        let buffer = input
            .fill_buf()
            .map_err(|e| format!("the input cannot be read: {e}"))?;
        let Some(&first) = buffer.first() else {
            return Err("the input is empty: expected the output of manage.py dumpdata".into());
        };
        if buffer.starts_with(&[0xEF, 0xBB, 0xBF]) {
            input.consume(3);
            continue;
        }
        if first.is_ascii_whitespace() {
            input.consume(1);
            continue;
        }
        return match first {
            b'[' => Ok(Format::Json),
            b'{' => Ok(Format::Jsonl),
            _ => Err(format!(
                "the input is not a dump of manage.py dumpdata (json or jsonl): it starts with {:?}",
                char::from(first)
            )),
        };
    }
}

/// A list of records, element by element.
fn read_list<F: FnMut(ReadEvent) -> bool>(
    input: impl BufRead,
    sender: &mut Sender<F>,
) -> Result<(), String> {
    let mut deserializer = serde_json::Deserializer::from_reader(input);
    Records { sender }
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end())
        .map_err(|e| describe(&e))
}

struct Records<'a, F> {
    sender: &'a mut Sender<F>,
}

impl<'de, F: FnMut(ReadEvent) -> bool> DeserializeSeed<'de> for Records<'_, F> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(ReadEvent) -> bool> Visitor<'de> for Records<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of records, as manage.py dumpdata writes")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut records: A) -> Result<(), A::Error> {
        while let Some(value) = records.next_element::<Value>()? {
            if !self.sender.record(value) {
                break;
            }
        }
        Ok(())
    }
}

/// One record a line; blank lines are passed over.
fn read_lines<F: FnMut(ReadEvent) -> bool>(
    input: impl BufRead,
    sender: &mut Sender<F>,
) -> Result<(), String> {
    for (number, line) in input.lines().enumerate() {
        let line =
            line.map_err(|e| format!("line {}: the input cannot be read: {e}", number + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(&line)
            .map_err(|e| format!("line {}: {}", number + 1, describe(&e)))?;
        if !sender.record(value) {
            break;
        }
    }
    Ok(())
}

/// serde_json's error, said for an operator.
fn describe(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let place = format!("line {} column {}", error.line(), error.column());
    match error.classify() {
        Category::Eof => format!("the input ends in the middle of a record, at {place}"),
        Category::Io => format!("the input cannot be read: {error}"),
        Category::Syntax => format!("the input is not valid JSON at {place}"),
        Category::Data => format!("the input is not a dump of manage.py dumpdata: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &str, format: Option<Format>) -> (Vec<RawRecord>, Option<(u64, String)>) {
        let mut records = Vec::new();
        let mut stopped = None;
        read(input.as_bytes(), format, |event| {
            match event {
                ReadEvent::Record(record) => records.push(record),
                ReadEvent::Stopped { after, reason } => stopped = Some((after, reason)),
            }
            true
        });
        (records, stopped)
    }

    #[test]
    fn a_list_and_lines_give_the_same_records_in_order() {
        let list = "\u{feff}\n [{\"pk\": 1}, {\"pk\": 2}]\n";
        let lines = "{\"pk\": 1}\n\n{\"pk\": 2}\n";
        for (input, format) in [(list, None), (lines, None), (list, Some(Format::Json))] {
            let (records, stopped) = read_all(input, format);
            assert!(stopped.is_none(), "{stopped:?}");
            let pks: Vec<(u64, String)> = records
                .iter()
                .map(|r| (r.position, r.value["pk"].to_string()))
                .collect();
            assert_eq!(pks, [(1, "1".to_owned()), (2, "2".to_owned())]);
        }
    }

    #[test]
    fn a_cut_off_list_hands_over_what_came_before_and_says_where() {
        let (records, stopped) = read_all("[{\"pk\": 1}, {\"pk\": 2}, {\"pk\": 3, \"fie", None);
        assert_eq!(records.len(), 2);
        let (after, reason) = stopped.unwrap();
        assert_eq!(after, 2);
        assert!(
            reason.contains("ends in the middle of a record"),
            "{reason}"
        );
        assert!(reason.contains("line 1 column"), "{reason}");
    }

    #[test]
    fn what_is_not_a_dump_is_said_so() {
        for (input, expected) in [
            ("", "empty"),
            ("hello", "starts with 'h'"),
            ("{\"hello\": \"world\"}", ""),
            ("[{\"pk\": 1}] trailing", "not valid JSON"),
            ("{\"pk\": 1}\nnot json\n", "line 2"),
        ] {
            let (_, stopped) = read_all(input, None);
            let Some((_, reason)) = stopped else {
                // A lone object is a one-line jsonl record; it is the
                // record's shape that is then refused.
                assert_eq!(input, "{\"hello\": \"world\"}");
                continue;
            };
            assert!(reason.contains(expected), "{input:?}: {reason}");
        }
        let (_, stopped) = read_all("{\"hello\": \"world\"}", Some(Format::Json));
        assert!(stopped.unwrap().1.contains("not a dump"));
    }
}
