//! The `EventSink` interface and the plain line reporter (CI logs, `--no-progress`).

use std::io::Write;

use crate::event::Record;

/// Receives every journaled record (after it is durable) and operator notices.
pub trait EventSink: Send {
    fn record(&mut self, record: &Record);
    /// A message for the operator that is not an event (hints, prompts).
    fn notice(&mut self, text: &str);
    fn finish(&mut self) {}
}

/// One line per record: `HH:MM:SS.mmm text`.
pub struct PlainReporter<W: Write + Send> {
    out: W,
}

impl<W: Write + Send> PlainReporter<W> {
    pub fn new(out: W) -> Self {
        PlainReporter { out }
    }
}

impl<W: Write + Send> EventSink for PlainReporter<W> {
    fn record(&mut self, record: &Record) {
        if let Some(text) = crate::describe::live(record) {
            let time = record.ts.get(11..23).unwrap_or(&record.ts);
            let _ = writeln!(self.out, "{time} {text}");
        }
    }

    fn notice(&mut self, text: &str) {
        let _ = writeln!(self.out, "{}", crate::text::visible(text));
    }
}
