//! Reading a journal: tolerant of a torn last line (a crash mid-write), of
//! unparseable lines in the middle (reported, skipped) and of unknown kinds.
//! Never panics on file contents.
//!
//! The one reader: [`read_journal`] gives the records, [`fold_journal`] the
//! run's fold without keeping them. Folding, the output lines and
//! measurements that make up nearly all of a long journal take a fast path
//! that borrows from the line instead of building a whole record; anything
//! the fast path does not fit goes the ordinary way through
//! `Record::from_line`.

use std::borrow::Cow;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::Deserialize;

use super::JournalError;
use super::state::{LiteMeasurement, RunState};
use crate::event::Verdict;
use crate::event::{FORMAT_VERSION, Header, Phase, Record, Stream};

/// What a journal holds.
#[derive(Debug, Clone)]
pub struct JournalRead {
    pub header: Header,
    pub records: Vec<Record>,
    /// 1-based line number of a torn (incomplete) last line, if any.
    pub truncated_at: Option<usize>,
    /// Byte length of the complete lines: where a writer must continue.
    pub valid_len: u64,
    /// Lines in the middle that did not parse (`line N: error`).
    pub warnings: Vec<String>,
}

impl JournalRead {
    pub fn last_seq(&self) -> u64 {
        self.records.last().map_or(0, |r| r.seq)
    }

    /// "journal truncated at line N", for status and report output.
    pub fn truncation_note(&self) -> Option<String> {
        self.truncated_at
            .map(|n| format!("journal truncated at line {n}"))
    }
}

pub fn read_journal(path: &Path) -> Result<JournalRead, JournalError> {
    let file = crate::files::open_read(path).map_err(|e| JournalError::open("open", path, e))?;
    read_from(BufReader::new(file), path)
}

/// Read a journal's text (one not in a file: the shared journal's), named
/// `name` in messages.
pub fn read_text(text: &str, name: &Path) -> Result<JournalRead, JournalError> {
    read_from(text.as_bytes(), name)
}

pub(crate) fn read_from(reader: impl BufRead, path: &Path) -> Result<JournalRead, JournalError> {
    let mut stream = RecordStream::new(reader, path)?;
    let records: Vec<Record> = stream.by_ref().collect();
    if let Some(e) = stream.error.take() {
        return Err(e);
    }
    tracing::info!(journal = %path.display(), records = records.len(), "read the journal");
    Ok(JournalRead {
        header: stream.header,
        records,
        truncated_at: stream.truncated_at,
        valid_len: stream.valid_len,
        warnings: stream.warnings,
    })
}

/// Open a journal for reading one record at a time (large journals, reports):
/// memory stays flat whatever the journal's size.
pub fn stream_journal(path: &Path) -> Result<RecordStream<BufReader<std::fs::File>>, JournalError> {
    let file = crate::files::open_read(path).map_err(|e| JournalError::open("open", path, e))?;
    RecordStream::new(BufReader::new(file), path)
}

/// The header line of a journal, checked: it must say it is a cutover
/// journal, of a format version this binary reads.
pub fn parse_header(text: &str, path: &Path) -> Result<Header, JournalError> {
    let header = match serde_json::from_str::<Header>(text) {
        Ok(h) if h.journal == "cutover-journal" => h,
        _ => return Err(JournalError::NotAJournal(path.display().to_string())),
    };
    if header.format_version > FORMAT_VERSION {
        return Err(JournalError::TooNew {
            path: path.display().to_string(),
            found: header.format_version,
            supported: FORMAT_VERSION,
        });
    }
    Ok(header)
}

/// The records of a journal, in order. After the iterator ends,
/// `truncated_at`, `warnings` and `error` say how reading went.
pub struct RecordStream<R: BufRead> {
    reader: R,
    path: std::path::PathBuf,
    buf: Vec<u8>,
    line_no: usize,
    pub header: Header,
    /// 1-based line number of a torn (incomplete) last line, if any.
    pub truncated_at: Option<usize>,
    /// Byte length of the complete lines read so far.
    pub valid_len: u64,
    pub warnings: Vec<String>,
    /// A read error that ended the stream early.
    pub error: Option<JournalError>,
}

impl<R: BufRead> RecordStream<R> {
    pub fn new(mut reader: R, path: &Path) -> Result<Self, JournalError> {
        let not_a_journal = || JournalError::NotAJournal(path.display().to_string());
        let mut buf = Vec::new();
        let mut line_no = 0;
        let mut valid_len = 0u64;
        // The header is the first non-blank, complete line.
        let header = loop {
            buf.clear();
            let n = reader
                .read_until(b'\n', &mut buf)
                .map_err(|e| JournalError::io("read", path, e))?;
            if n == 0 || !buf.ends_with(b"\n") {
                return Err(not_a_journal());
            }
            line_no += 1;
            valid_len += n as u64;
            let text = String::from_utf8_lossy(&buf);
            if text.trim().is_empty() {
                continue;
            }
            break parse_header(text.trim_end(), path)?;
        };
        Ok(RecordStream {
            reader,
            path: path.to_path_buf(),
            buf,
            line_no,
            header,
            truncated_at: None,
            valid_len,
            warnings: Vec::new(),
            error: None,
        })
    }
}

impl<R: BufRead> RecordStream<R> {
    /// The next complete, non-blank line; `None` at the end, at a torn
    /// last line (`truncated_at`) or on a read error (`error`).
    fn next_text(&mut self) -> Option<String> {
        self.next_with(str::to_string)
    }

    /// Read the next complete, non-blank line and hand it to `f`, borrowed
    /// from the read buffer (no copy); `None` at the end, at a torn last
    /// line (`truncated_at`) or on a read error (`error`).
    fn next_with<T>(&mut self, f: impl FnOnce(&str) -> T) -> Option<T> {
        loop {
            self.buf.clear();
            let n = match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(n) => n,
                Err(e) => {
                    self.error = Some(JournalError::io("read", &self.path, e));
                    return None;
                }
            };
            if n == 0 {
                return None;
            }
            self.line_no += 1;
            if !self.buf.ends_with(b"\n") {
                // A line without its newline is a write a crash cut short, even if it
                // parses: the writer always writes the newline in the same `write`.
                self.truncated_at = Some(self.line_no);
                return None;
            }
            self.valid_len += n as u64;
            let line = String::from_utf8_lossy(&self.buf);
            let line = line.trim_end_matches(['\n', '\r']);
            if !line.trim().is_empty() {
                return Some(f(line));
            }
        }
    }

    /// The record on a line; a line that does not parse is a warning.
    fn parse(&mut self, text: &str) -> Option<Record> {
        match Record::from_line(text) {
            Ok(r) => Some(r),
            Err(e) => {
                self.warn(&e);
                None
            }
        }
    }

    /// The line just read did not parse.
    fn warn(&mut self, e: &serde_json::Error) {
        self.warnings.push(format!("line {}: {e}", self.line_no));
    }
}

impl<R: BufRead> Iterator for RecordStream<R> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        loop {
            let text = self.next_text()?;
            if let Some(record) = self.parse(&text) {
                return Some(record);
            }
        }
    }
}

/// Follows a journal being appended to (`status --follow`): the records
/// written since the last look. A line a writer is still appending stays
/// until it is complete; a line that does not parse is skipped.
#[derive(Debug, Clone, Default)]
pub struct Tail {
    offset: u64,
    /// An incomplete last line (a writer mid-append): completed next time.
    partial: Vec<u8>,
}

impl From<u64> for Tail {
    /// Follow from byte `offset` on (where a first read stopped).
    fn from(offset: u64) -> Self {
        Tail {
            offset,
            partial: Vec::new(),
        }
    }
}

impl Tail {
    pub fn read(&mut self, path: &Path) -> Result<Vec<Record>, JournalError> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file =
            crate::files::open_read(path).map_err(|e| JournalError::open("open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| JournalError::io("stat", path, e))?
            .len();
        if len <= self.offset {
            return Ok(Vec::new());
        }
        file.seek(SeekFrom::Start(self.offset))
            .map_err(|e| JournalError::io("seek", path, e))?;
        let mut bytes = Vec::new();
        file.take(len - self.offset)
            .read_to_end(&mut bytes)
            .map_err(|e| JournalError::io("read", path, e))?;
        self.offset = len;
        self.partial.extend_from_slice(&bytes);
        let Some(end) = self.partial.iter().rposition(|b| *b == b'\n') else {
            return Ok(Vec::new());
        };
        let complete: Vec<u8> = self.partial.drain(..=end).collect();
        Ok(String::from_utf8_lossy(&complete)
            .lines()
            .filter_map(|l| Record::from_line(l).ok())
            .collect())
    }
}

/// A journal folded: the run's state and how reading went.
#[derive(Debug, Clone)]
pub struct Folded {
    pub header: Header,
    pub state: RunState,
    /// 1-based line number of a torn (incomplete) last line, if any.
    pub truncated_at: Option<usize>,
    /// Lines in the middle that did not parse (`line N: error`).
    pub warnings: Vec<String>,
}

/// Read the journal at `path` into its fold, one line at a time: nothing
/// but the current line is held, so memory does not grow with output.
pub fn fold_journal(path: &Path) -> Result<Folded, JournalError> {
    let file = crate::files::open_read(path).map_err(|e| JournalError::open("open", path, e))?;
    fold_from(BufReader::with_capacity(1 << 16, file), path)
}

/// The fold of a journal's text (tests, and journals not in a file).
pub fn fold_from_text(text: &str) -> Result<Folded, JournalError> {
    fold_from(text.as_bytes(), Path::new("journal"))
}

pub(crate) fn fold_from(reader: impl BufRead, path: &Path) -> Result<Folded, JournalError> {
    let mut stream = RecordStream::new(reader, path)?;
    let mut state = RunState::default();
    // Output lines and measurements take the fast path; anything else is
    // parsed whole, its error (if any) kept for after the line's borrow.
    while let Some(parsed) =
        stream.next_with(|text| (!fast_path(&mut state, text)).then(|| Record::from_line(text)))
    {
        match parsed {
            Some(Ok(record)) => state.apply(&record),
            Some(Err(e)) => stream.warn(&e),
            None => {}
        }
    }
    if let Some(e) = stream.error.take() {
        return Err(e);
    }
    tracing::info!(journal = %path.display(), run = %stream.header.run_id, warnings = stream.warnings.len(), "read the journal");
    Ok(Folded {
        header: stream.header,
        state,
        truncated_at: stream.truncated_at,
        warnings: stream.warnings,
    })
}

#[derive(Deserialize)]
struct Envelope<'a, D> {
    seq: u64,
    #[serde(borrow)]
    ts: Cow<'a, str>,
    #[serde(borrow)]
    run_id: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    data: D,
}

#[derive(Deserialize)]
struct OutputData<'a> {
    #[serde(borrow)]
    step: Cow<'a, str>,
    stream: Stream,
    phase: Phase,
    #[serde(borrow)]
    line: Cow<'a, str>,
}

#[derive(Deserialize)]
struct MeasurementData<'a> {
    #[serde(default, borrow)]
    step: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    gate: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    trigger: Option<Cow<'a, str>>,
    #[serde(borrow)]
    measurement: Measured<'a>,
}

/// The fields of a `Measurement` the fold uses; the rest are skipped unparsed.
#[derive(Deserialize)]
struct Measured<'a> {
    #[serde(borrow)]
    at: Cow<'a, str>,
    #[serde(default, with = "crate::event::float_serde::option")]
    value: Option<f64>,
    #[serde(default, with = "crate::event::float_serde::option")]
    baseline: Option<f64>,
    verdict: Verdict,
    #[serde(default, borrow)]
    condition: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    detail: Option<Cow<'a, str>>,
}

/// Fold the two kinds that fill a long journal without building a record.
/// Returns false when the line is something else (or not the expected shape).
fn fast_path(state: &mut RunState, text: &str) -> bool {
    // A quote inside a JSON string is always escaped, so this unescaped
    // pattern can only be a key and its value; which object it belongs to is
    // checked by deserializing the top level and comparing `type`.
    if text.contains(r#""type":"output""#) {
        let Ok(l) = serde_json::from_str::<Envelope<'_, OutputData<'_>>>(text) else {
            return false;
        };
        if l.kind != "output" {
            return false;
        }
        let d = &l.data;
        state.apply_output(l.seq, &l.ts, &l.run_id, &d.step, d.stream, d.phase, &d.line);
        return true;
    }
    if text.contains(r#"_measurement""#) {
        let Ok(l) = serde_json::from_str::<Envelope<'_, MeasurementData<'_>>>(text) else {
            return false;
        };
        let d = &l.data;
        let m = &d.measurement;
        let lite = LiteMeasurement {
            step: d.step.as_deref(),
            gate: d.gate.as_deref(),
            trigger: d.trigger.as_deref(),
            at: &m.at,
            value: m.value,
            baseline: m.baseline,
            verdict: m.verdict,
            condition: m.condition.as_deref(),
            detail: m.detail.as_deref(),
        };
        let fits = match l.kind.as_ref() {
            "gate_measurement" => lite.step.is_some() && lite.gate.is_some(),
            "trigger_measurement" => lite.trigger.is_some(),
            _ => false,
        };
        if fits {
            state.apply_measurement(l.seq, &l.ts, &l.run_id, &lite);
        }
        return fits;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        r#"{"format_version":1,"journal":"cutover-journal","run_id":"r","created":"t"}"#;

    fn line(seq: u64) -> String {
        format!(
            r#"{{"seq":{seq},"ts":"t","run_id":"r","actor":"a","type":"note","data":{{"text":"n{seq}"}}}}"#
        )
    }

    fn read(text: &str) -> JournalRead {
        read_from(text.as_bytes(), Path::new("j")).unwrap()
    }

    #[test]
    fn reads_complete_lines() {
        let text = format!("{HEADER}\n{}\n{}\n", line(1), line(2));
        let j = read(&text);
        assert_eq!(j.records.len(), 2);
        assert_eq!(j.truncated_at, None);
        assert_eq!(j.valid_len, text.len() as u64);
    }

    #[test]
    fn torn_last_line_is_reported_not_parsed() {
        let good = format!("{HEADER}\n{}\n", line(1));
        let torn = format!("{good}{}", &line(2)[..20]);
        let j = read(&torn);
        assert_eq!(j.records.len(), 1);
        assert_eq!(j.truncated_at, Some(3));
        assert_eq!(j.truncation_note().unwrap(), "journal truncated at line 3");
        assert_eq!(j.valid_len, good.len() as u64);
    }

    #[test]
    fn garbage_in_the_middle_is_a_warning() {
        let j = read(&format!("{HEADER}\n{{not json\n{}\n", line(1)));
        assert_eq!(j.records.len(), 1);
        assert_eq!(j.warnings.len(), 1);
    }

    #[test]
    fn not_a_journal() {
        assert!(read_from("hello\n".as_bytes(), Path::new("j")).is_err());
        assert!(read_from("".as_bytes(), Path::new("j")).is_err());
    }

    #[test]
    fn a_tail_waits_for_a_line_to_be_complete() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let first = format!("{}\n", line(1));
        let second = line(2);
        let (head, rest) = second.split_at(10);
        std::fs::write(&path, format!("{first}{head}")).unwrap();
        let mut tail = Tail::default();
        let got = tail.read(&path).unwrap();
        assert_eq!(got.len(), 1);
        assert!(tail.read(&path).unwrap().is_empty(), "nothing new");
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        writeln!(f, "{rest}").unwrap();
        let got = tail.read(&path).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].seq, 2);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_bytes(tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000)) {
            let _ = read_from(&tail[..], Path::new("j"));
            let mut with_header = format!("{HEADER}\n{}\n", line(1)).into_bytes();
            with_header.extend_from_slice(&tail);
            let j = read_from(&with_header[..], Path::new("j")).unwrap();
            proptest::prop_assert!(!j.records.is_empty());
        }
    }
}
