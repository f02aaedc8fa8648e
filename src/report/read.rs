//! Streaming a journal into the report builder, one line at a time: nothing
//! but the current line is held, so memory does not grow with output.
//!
//! Tolerant like `journal::reader`: a torn last line is noted (not parsed),
//! unparseable lines are counted, unknown kinds are counted and ignored.
//! Output lines and measurements, which make up nearly all of a long journal,
//! take a typed fast path that borrows from the line instead of building a
//! `serde_json::Value` first; anything the fast path does not fit goes the
//! ordinary way through `Record::from_line`.

use std::borrow::Cow;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::Deserialize;

use super::ReportError;
use super::builder::{Builder, MeasuredCheck};
use super::model::Report;
use crate::event::Verdict;
use crate::event::{Phase, Record, Stream};
use crate::journal::JournalError;

/// Read the journal at `path` into a report.
pub fn read_report(path: &Path) -> Result<Report, ReportError> {
    let file = crate::files::open_read(path).map_err(|e| {
        if crate::files::is_link_error(&e, path) {
            JournalError::Link(path.display().to_string()).into()
        } else {
            ReportError::io("open", path, e)
        }
    })?;
    read_from(BufReader::with_capacity(1 << 16, file), path)
}

pub(crate) fn read_from(mut reader: impl BufRead, path: &Path) -> Result<Report, ReportError> {
    let shown = path.display().to_string();
    let mut buf = Vec::with_capacity(4096);
    let mut builder: Option<Builder> = None;
    let mut bad = Vec::new();
    let mut truncated_at = None;
    let mut line_no = 0usize;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| ReportError::io("read", path, e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if !buf.ends_with(b"\n") {
            // The writer always writes a line and its newline together: a line
            // without one is a write a crash cut short.
            truncated_at = Some(line_no);
            break;
        }
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        let Some(b) = builder.as_mut() else {
            builder = Some(header(text, &shown)?);
            continue;
        };
        if fast_path(b, text) {
            continue;
        }
        match Record::from_line(text) {
            Ok(r) => {
                // A vote's name declared in production says so.
                let who = r.voter();
                b.push(r.seq, &r.ts, &who, r.event);
            }
            Err(e) => {
                // Keep the first few; a file full of garbage should not fill the report.
                if bad.len() < 20 {
                    bad.push(format!("line {line_no}: {e}"));
                }
            }
        }
    }
    let builder = builder.ok_or_else(|| JournalError::NotAJournal(shown.clone()))?;
    Ok(builder.finish(truncated_at, bad))
}

fn header(text: &str, shown: &str) -> Result<Builder, ReportError> {
    let h = crate::journal::parse_header(text, Path::new(shown))?;
    Ok(Builder::new(shown, &h.run_id))
}

#[derive(Deserialize)]
struct OutputLine<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    data: OutputData<'a>,
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
struct MeasurementLine<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    data: MeasurementData<'a>,
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
    measurement: LiteMeasurement<'a>,
}

/// The fields of a `Measurement` the report uses; the rest are skipped unparsed.
#[derive(Deserialize)]
struct LiteMeasurement<'a> {
    #[serde(borrow)]
    at: Cow<'a, str>,
    #[serde(default, with = "crate::event::float_serde::option")]
    value: Option<f64>,
    #[serde(default, with = "crate::event::float_serde::option")]
    baseline: Option<f64>,
    verdict: Verdict,
}

/// Handle the two kinds that fill a long journal without building a `Value`.
/// Returns false when the line is something else (or not the expected shape).
fn fast_path(b: &mut Builder, text: &str) -> bool {
    // A quote inside a JSON string is always escaped, so this unescaped
    // pattern can only be a key and its value; which object it belongs to is
    // checked by deserializing the top level and comparing `type`.
    if text.contains(r#""type":"output""#) {
        if let Ok(l) = serde_json::from_str::<OutputLine<'_>>(text)
            && l.kind == "output"
        {
            b.output(&l.data.step, l.data.stream, l.data.phase, &l.data.line);
            return true;
        }
        return false;
    }
    if text.contains(r#"_measurement""#) {
        let Ok(l) = serde_json::from_str::<MeasurementLine<'_>>(text) else {
            return false;
        };
        let d = &l.data;
        let check = match (l.kind.as_ref(), &d.step, &d.gate, &d.trigger) {
            ("gate_measurement", Some(step), Some(gate), _) => MeasuredCheck::Gate { step, gate },
            ("trigger_measurement", _, _, Some(trigger)) => MeasuredCheck::Trigger { trigger },
            _ => return false,
        };
        let m = &d.measurement;
        b.measurement(check, &m.at, m.value, m.verdict, m.baseline);
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::CheckKind;

    const HEADER: &str =
        r#"{"format_version":1,"journal":"cutover-journal","run_id":"r","created":"t"}"#;

    fn line(seq: u64, kind: &str, data: &str) -> String {
        format!(
            r#"{{"seq":{seq},"ts":"2026-01-01T00:00:0{seq}.000Z","run_id":"r","actor":"a@h","type":"{kind}","data":{data}}}"#
        )
    }

    fn read(text: &str) -> Report {
        read_from(text.as_bytes(), Path::new("j")).unwrap()
    }

    #[test]
    fn output_takes_the_fast_path_and_keeps_only_the_tail() {
        let mut text = format!("{HEADER}\n");
        for i in 1..=8 {
            let data =
                format!(r#"{{"line":"l{i} \"q\"","phase":"step","step":"a","stream":"stdout"}}"#);
            text.push_str(&line(i, "output", &data));
            text.push('\n');
        }
        let r = read(&text);
        let a = &r.steps["a"];
        assert_eq!(a.output.stdout_lines, 8);
        assert_eq!(a.output.last_lines.len(), 5);
        assert_eq!(a.output.last_lines.back().unwrap(), "l8 \"q\"");
        assert_eq!(r.events, 8);
    }

    #[test]
    fn measurements_take_the_fast_path() {
        let m = r#"{"at":"2026-01-01T00:00:01.000Z","latency_ms":1.0,"query":"q","samples":[{"value":"NaN"}],"source":"p","source_kind":"prometheus","value":"NaN","verdict":"inconclusive"}"#;
        let t = r#"{"at":"2026-01-01T00:00:02.000Z","latency_ms":1.0,"query":"q","samples":[],"source":"p","source_kind":"prometheus","value":0.9,"verdict":"pass"}"#;
        let text = format!(
            "{HEADER}\n{}\n{}\n",
            line(
                1,
                "gate_measurement",
                &format!(r#"{{"step":"s","gate":"g","measurement":{m}}}"#)
            ),
            line(
                2,
                "trigger_measurement",
                &format!(r#"{{"trigger":"t","measurement":{t}}}"#)
            ),
        );
        let r = read(&text);
        assert_eq!(r.checks["s.g"].counts.inconclusive, 1);
        assert!(r.checks["s.g"].points[0].value.unwrap().is_nan());
        let t = &r.checks["t"];
        assert_eq!(t.kind, CheckKind::Trigger);
        assert_eq!(t.first_breach_value, Some(0.9));
    }

    #[test]
    fn torn_unknown_and_garbage_lines_never_fail() {
        let text = format!(
            "{HEADER}\n{}\n{{garbage\n{}\n{}",
            line(1, "hologram", r#"{"x":1}"#),
            line(2, "note", r#"{"text":"hi"}"#),
            &line(3, "note", r#"{"text":"torn"}"#)[..30],
        );
        let r = read(&text);
        assert_eq!(r.unknown_kinds["hologram"], 1);
        assert_eq!(r.bad_lines.len(), 1);
        assert_eq!(r.truncated_at, Some(5));
        assert_eq!(r.notes.len(), 1);
    }

    #[test]
    fn a_note_that_looks_like_output_is_a_note() {
        let text = format!(
            "{HEADER}\n{}\n",
            line(
                1,
                "note",
                r#"{"text":"\"type\":\"output\" and x_measurement\""}"#
            )
        );
        let r = read(&text);
        assert_eq!(r.notes.len(), 1);
        assert_eq!(r.output_lines, 0);
    }

    #[test]
    fn not_a_journal() {
        assert!(read_from("hello\n".as_bytes(), Path::new("j")).is_err());
        assert!(read_from("".as_bytes(), Path::new("j")).is_err());
    }
}
