//! Reading a journal into a report: the journal's one tolerant reader folds
//! it (`journal::fold_journal`), and the report is a view of that fold.

use std::path::Path;

use super::ReportError;
use super::model::Report;

/// Read the journal at `path` into a report.
pub fn read_report(path: &Path) -> Result<Report, ReportError> {
    let folded = crate::journal::fold_journal(path)?;
    Ok(super::build::report(folded, &path.display().to_string()))
}

/// The report of a journal held as text (a run read from the shared
/// journal); `journal` names where it came from.
pub fn report_from_text(text: &str, journal: &str) -> Result<Report, ReportError> {
    let folded = crate::journal::fold_from_text(text)?;
    Ok(super::build::report(folded, journal))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::fold_from_text;

    const HEADER: &str =
        r#"{"format_version":1,"journal":"cutover-journal","run_id":"r","created":"t"}"#;

    fn line(seq: u64, kind: &str, data: &str) -> String {
        format!(
            r#"{{"seq":{seq},"ts":"2030-01-01T00:00:0{seq}.000Z","run_id":"r","actor":"a@h","type":"{kind}","data":{data}}}"#
        )
    }

    fn read(text: &str) -> Report {
        let folded = fold_from_text(text).unwrap();
        super::super::build::report(folded, "j")
    }

    #[test]
    fn output_is_counted_and_only_the_tail_kept() {
        let mut text = format!("{HEADER}\n");
        for i in 1..=8 {
            text.push_str(&line(
                i,
                "output",
                &format!(r#"{{"step":"a","stream":"stdout","phase":"step","line":"l{i}"}}"#),
            ));
            text.push('\n');
        }
        let r = read(&text);
        assert_eq!(r.output_lines, 8);
        assert_eq!(r.events, 8);
        let tail: Vec<&str> = r.steps["a"]
            .output
            .last_lines
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(tail, ["l4", "l5", "l6", "l7", "l8"]);
    }

    #[test]
    fn measurements_become_points() {
        let text = format!(
            "{HEADER}\n{}\n{}\n",
            line(
                1,
                "gate_measurement",
                r#"{"step":"a","gate":"g","measurement":{"at":"2030-01-01T00:00:01.000Z","value":0.5,"verdict":"pass","query":"q"}}"#
            ),
            line(
                2,
                "trigger_measurement",
                r#"{"trigger":"t","measurement":{"at":"2030-01-01T00:00:02.000Z","value":"NaN","verdict":"inconclusive"}}"#
            ),
        );
        let r = read(&text);
        assert_eq!(r.measurements, 2);
        assert_eq!(r.checks["a.g"].points.len(), 1);
        assert_eq!(r.checks["a.g"].last, Some(0.5));
        assert!(r.checks["t"].points[0].value.unwrap().is_nan());
    }

    #[test]
    fn torn_unknown_and_garbage_lines_never_fail() {
        let text = format!(
            "{HEADER}\n{{not json\n{}\n{}",
            line(1, "hologram_projected", r#"{"beam":[1,2]}"#),
            &line(2, "note", r#"{"text":"x"}"#)[..15]
        );
        let r = read(&text);
        assert_eq!(r.bad_lines.len(), 1);
        assert_eq!(r.unknown_kinds.get("hologram_projected"), Some(&1));
        assert_eq!(r.truncated_at, Some(4));
    }

    #[test]
    fn a_note_that_looks_like_output_is_a_note() {
        let text = format!(
            "{HEADER}\n{}\n",
            line(
                1,
                "note",
                r#"{"text":"\"type\":\"output\" and _measurement\""}"#
            )
        );
        let r = read(&text);
        assert_eq!(r.notes.len(), 1);
        assert_eq!(r.output_lines, 0);
    }

    #[test]
    fn not_a_journal() {
        assert!(fold_from_text("hello\n").is_err());
    }
}
