//! The readiness KPI: every `cutover check` appends one line per checklist
//! to `.cutover/checks/history.jsonl`; `cutover check --history` reports the
//! pass rate per checklist and ISO week, so the trend is visible week to week.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::result::{CheckReport, Readiness};
use super::time::{iso_week, parse_instant};

pub const HISTORY_PATH: &str = ".cutover/checks/history.jsonl";

/// The project's history file: `checks/history.jsonl` in its `.cutover/`
/// (found like every command finds it: `journal::cutover_dir`).
pub fn default_path() -> std::path::PathBuf {
    crate::journal::cutover_dir().join("checks/history.jsonl")
}

/// One line of the history file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryRecord {
    /// RFC 3339 UTC.
    pub at: String,
    pub checklist: String,
    pub path: String,
    #[serde(default)]
    pub env: Option<String>,
    pub readiness: Readiness,
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    pub waived: usize,
}

/// The records of one check run.
pub fn records(report: &CheckReport) -> Vec<HistoryRecord> {
    report
        .checklists
        .iter()
        .map(|c| HistoryRecord {
            at: report.at.clone(),
            checklist: c.name.clone(),
            path: c.path.clone(),
            env: report.env.clone(),
            readiness: c.readiness,
            passed: c.summary.passed,
            failed: c.summary.failed,
            errors: c.summary.errors,
            waived: c.summary.waived,
        })
        .collect()
}

/// Append `records` as JSON lines, in one write so that concurrent checks
/// do not interleave within a line. The file is created private (0600); a
/// symbolic link in place of it or of its directory is refused, never
/// written through.
pub fn append(path: &Path, records: &[HistoryRecord]) -> std::io::Result<()> {
    let refused = |p: &Path| {
        std::io::Error::other(format!(
            "`{}` is a symbolic link; cutover never writes through one under `.cutover/`",
            p.display()
        ))
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if crate::files::is_link(dir) {
            return Err(refused(dir));
        }
        std::fs::create_dir_all(dir)?;
    }
    let mut text = String::new();
    for r in records {
        text.push_str(&serde_json::to_string(r).map_err(std::io::Error::other)?);
        text.push('\n');
    }
    let mut file = crate::files::open_or_create(std::fs::OpenOptions::new().append(true), path)
        .map_err(|e| {
            if crate::files::is_link_error(&e, path) {
                refused(path)
            } else {
                e
            }
        })?;
    file.write_all(text.as_bytes())?;
    file.sync_data()
}

/// Parse the history file; lines that do not parse are skipped (and counted).
pub fn parse(text: &str) -> (Vec<HistoryRecord>, usize) {
    let mut skipped = 0;
    let records = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).inspect_err(|_| skipped += 1).ok())
        .collect();
    (records, skipped)
}

/// Version of `check --history --format json`'s shape. Version 1 was a
/// bare array of the weeks (before `format_version` existed).
pub const JSON_FORMAT_VERSION: u32 = 2;

/// Pass rate of one checklist in one ISO week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeekRate {
    pub checklist: String,
    /// `2026-W48`.
    pub week: String,
    pub runs: usize,
    pub ready: usize,
    pub not_ready: usize,
    pub errors: usize,
    /// `ready / runs`, 0..=1.
    pub pass_rate: f64,
}

/// Group by checklist, then by ISO week (in order).
pub fn weekly(records: &[HistoryRecord]) -> Vec<WeekRate> {
    let mut groups: BTreeMap<(String, String), WeekRate> = BTreeMap::new();
    for r in records {
        let Ok(at) = parse_instant(&r.at) else {
            continue;
        };
        let week = iso_week(at);
        let entry = groups
            .entry((r.checklist.clone(), week.clone()))
            .or_insert_with(|| WeekRate {
                checklist: r.checklist.clone(),
                week,
                runs: 0,
                ready: 0,
                not_ready: 0,
                errors: 0,
                pass_rate: 0.0,
            });
        entry.runs += 1;
        match r.readiness {
            Readiness::Ready => entry.ready += 1,
            Readiness::NotReady => entry.not_ready += 1,
            Readiness::Error => entry.errors += 1,
        }
    }
    groups
        .into_values()
        .map(|mut w| {
            w.pass_rate = w.ready as f64 / w.runs as f64;
            w
        })
        .collect()
}

/// The KPI table for people.
pub fn human(rates: &[WeekRate]) -> String {
    use std::fmt::Write as _;
    if rates.is_empty() {
        return "no recorded check runs\n".into();
    }
    let width = rates
        .iter()
        .map(|r| r.checklist.chars().count())
        .max()
        .unwrap_or(9)
        .max(9);
    let mut out = format!(
        "{:<width$}  {:<8}  {:>4}  {:>5}  {:>9}  {:>6}  {:>9}\n",
        "CHECKLIST", "WEEK", "RUNS", "READY", "NOT READY", "ERRORS", "PASS RATE"
    );
    for r in rates {
        let _ = writeln!(
            out,
            "{:<width$}  {:<8}  {:>4}  {:>5}  {:>9}  {:>6}  {:>8.0}%",
            r.checklist,
            r.week,
            r.runs,
            r.ready,
            r.not_ready,
            r.errors,
            r.pass_rate * 100.0
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(at: &str, checklist: &str, readiness: Readiness) -> HistoryRecord {
        HistoryRecord {
            at: at.into(),
            checklist: checklist.into(),
            path: "checks/x.toml".into(),
            env: None,
            readiness,
            passed: 0,
            failed: 0,
            errors: 0,
            waived: 0,
        }
    }

    #[test]
    fn pass_rate_per_checklist_and_week() {
        let records = vec![
            record("2026-11-16T10:00:00Z", "launch", Readiness::NotReady),
            record("2026-11-17T10:00:00Z", "launch", Readiness::Ready),
            record("2026-11-18T10:00:00Z", "launch", Readiness::Error),
            record("2026-11-18T10:00:00Z", "launch", Readiness::Ready),
            record("2026-11-24T10:00:00Z", "launch", Readiness::Ready),
            record("2026-11-24T10:00:00Z", "other", Readiness::NotReady),
        ];
        let rates = weekly(&records);
        assert_eq!(rates.len(), 3);
        assert_eq!((rates[0].week.as_str(), rates[0].runs), ("2026-W47", 4));
        assert!((rates[0].pass_rate - 0.5).abs() < 1e-9);
        assert_eq!(rates[1].week, "2026-W48");
        assert!((rates[1].pass_rate - 1.0).abs() < 1e-9);
        assert_eq!(rates[2].checklist, "other");
        let table = human(&rates);
        assert!(table.contains("50%"), "{table}");
    }

    #[test]
    fn history_lines_round_trip_and_bad_lines_are_skipped() {
        let r = record("2026-11-16T10:00:00Z", "launch", Readiness::Ready);
        let text = format!("{}\n{{torn\n", serde_json::to_string(&r).expect("json"));
        let (records, skipped) = parse(&text);
        assert_eq!(records, vec![r]);
        assert_eq!(skipped, 1);
    }

    #[test]
    fn a_history_file_or_directory_linked_elsewhere_is_not_written_through() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "precious").unwrap();
        let checks = dir.path().join(".cutover/checks");
        std::fs::create_dir_all(&checks).unwrap();
        let path = checks.join("history.jsonl");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        let r = [record("2026-11-16T10:00:00Z", "launch", Readiness::Ready)];
        let e = append(&path, &r).unwrap_err().to_string();
        assert!(e.contains("is a symbolic link"), "{e}");
        std::fs::remove_file(&path).unwrap();
        std::fs::remove_dir(&checks).unwrap();
        std::os::unix::fs::symlink(dir.path(), &checks).unwrap();
        let e = append(&path, &r).unwrap_err().to_string();
        assert!(e.contains("is a symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(!dir.path().join("history.jsonl").exists());
        // A new history is private.
        let fresh = dir.path().join("fresh/history.jsonl");
        append(&fresh, &r).unwrap();
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
