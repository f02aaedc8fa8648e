//! Reading a journal: tolerant of a torn last line (a crash mid-write), of
//! unparseable lines in the middle (reported, skipped) and of unknown kinds.
//! Never panics on file contents.

use std::io::{BufRead, BufReader};
use std::path::Path;

use super::JournalError;
use crate::event::{FORMAT_VERSION, Header, Record};

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
    let file = std::fs::File::open(path).map_err(|e| JournalError::io("open", path, e))?;
    read_from(BufReader::new(file), path)
}

pub(crate) fn read_from(
    mut reader: impl BufRead,
    path: &Path,
) -> Result<JournalRead, JournalError> {
    let mut buf = Vec::new();
    let mut header: Option<Header> = None;
    let mut records = Vec::new();
    let mut warnings = Vec::new();
    let mut truncated_at = None;
    let mut valid_len = 0u64;
    let mut line_no = 0usize;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| JournalError::io("read", path, e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let complete = buf.ends_with(b"\n");
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim_end_matches(['\n', '\r']);
        if !complete {
            // A line without its newline is a write the crash cut short, even if it parses:
            // the writer always writes the newline in the same `write`.
            truncated_at = Some(line_no);
            break;
        }
        valid_len += n as u64;
        if text.trim().is_empty() {
            continue;
        }
        if header.is_none() {
            match serde_json::from_str::<Header>(text) {
                Ok(h) if h.journal == "cutover-journal" => {
                    if h.format_version > FORMAT_VERSION {
                        return Err(JournalError::TooNew {
                            path: path.display().to_string(),
                            found: h.format_version,
                            supported: FORMAT_VERSION,
                        });
                    }
                    header = Some(h);
                    continue;
                }
                _ => return Err(JournalError::NotAJournal(path.display().to_string())),
            }
        }
        match Record::from_line(text) {
            Ok(r) => records.push(r),
            Err(e) => warnings.push(format!("line {line_no}: {e}")),
        }
    }
    let header = header.ok_or_else(|| JournalError::NotAJournal(path.display().to_string()))?;
    Ok(JournalRead {
        header,
        records,
        truncated_at,
        valid_len,
        warnings,
    })
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
}
