//! The plain line reporter (CI logs, `--no-progress`), an `EventSink`.

use std::io::Write;

use crate::engine::EventSink;
use crate::event::Record;

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
